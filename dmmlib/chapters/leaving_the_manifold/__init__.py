"""The chapter leaving_the_manifold (Stutz's article; DMM section 2): profiles, projection onto
known and approximated manifolds, on-manifold attacks and training, experiment, claims, plots."""
