"""The chapter adversarial_spheres: profiles, experiment, claims and plots."""
