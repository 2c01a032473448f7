"""The chapter relabelling: Ilyas et al.'s experiment (DMM section 5.2): profiles, experiment, claims and plots."""
