"""The chapter on_off_manifold: profiles, experiment, claims and plots."""
