"""The chapter local_manifolds: profiles, experiment, claims and plots."""
