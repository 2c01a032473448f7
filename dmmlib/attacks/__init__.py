"""Adversarial attacks and distances to the decision boundary, one file each. Import from the submodules."""
