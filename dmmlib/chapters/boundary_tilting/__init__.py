"""The chapter boundary_tilting: profiles, experiment, claims and plots."""
