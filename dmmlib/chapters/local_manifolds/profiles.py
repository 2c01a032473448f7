"""Knobs of the chapter local_manifolds and their values under each profile.

chapter "Local image manifolds" (section 7, appendices D, G, I). models / autoencoders:
how many MNIST classifiers / autoencoders per data set (seeds 0, 1, ...; the same models the
on/off-manifold chapter uses; tangent spaces are studied on the seed-0 autoencoder); n_test: test images for
reconstruction and accuracy (0 = all: 10,000 MNIST, 2,000 CIFAR airplane+automobile);
n_tangent / n_tangent_cifar: MNIST / CIFAR test images per seed at which tangent spaces
are compared (CIFAR's float64 Jacobians take seconds per image on a CPU); fd_eps: the
finite-difference steps (code units); n_random: random vectors per image (appendix I).
"""

# quick: the default, sized for a 2-core CPU
QUICK = {'seeds': 3,
 'models': 5,
 'autoencoders': 2,
 'n_test': 0,
 'n_tangent': 10,
 'n_tangent_cifar': 4,
 'fd_eps': [0.0001, 0.001, 0.01, 0.1, 1.0],
 'n_random': 200,
 'n_show': 8}

# smoke: exercises the code in seconds (tests); overrides of QUICK
SMOKE = {'seeds': 1,
 'models': 2,
 'autoencoders': 1,
 'n_test': 200,
 'n_tangent': 2,
 'n_tangent_cifar': 1,
 'fd_eps': [0.001, 0.1],
 'n_random': 20,
 'n_show': 4}

# paper: the paper's settings, for a GPU; overrides of QUICK
PAPER = {'seeds': 5,
 'n_tangent': 40,
 'n_tangent_cifar': 20,
 'fd_eps': [1e-05, 0.0001, 0.001, 0.01, 0.1, 1.0],
 'n_random': 1000}

# the valid range (inclusive) of every number a knob holds (lists and dicts: each element)
RANGES = {'seeds': (1, 50),
 'models': (1, 20),
 'autoencoders': (1, 20),
 'n_test': (0, 10000),
 'n_tangent': (1, 400),
 'n_tangent_cifar': (1, 200),
 'fd_eps': (1e-08, 100.0),
 'n_random': (1, 10000),
 'n_show': (1, 80)}

# allowed values, constraints between knobs and the data files the chapter reads:
# checked by dmmlib.params.validate before any work
CONSTRAINTS = [("n_show <= n_test (n_test 0: all)", lambda P: P["n_test"] == 0 or P["n_show"] <= P["n_test"])]
DATA = ["mnist", "cifar10", "cifar10_resnet20"]

# what each knob means (one line, with its units): shown beside the values on the chapter's page
DOCS = {
    "seeds": "draws of test images at which tangent spaces are compared (seeds 0, 1, ...): the intervals are over them",
    "models": "shared MNIST classifiers (seeds 0, 1, ...) whose test accuracy is measured",
    "autoencoders": "shared MNIST and CIFAR-10 autoencoders per data set (seeds 0, 1, ...); tangent spaces are "
                    "studied on seed 0's",
    "n_test": "test images for reconstruction error and accuracy (0: all: 10,000 MNIST, 2,000 CIFAR-10 "
              "airplanes and automobiles)",
    "n_tangent": "MNIST test images per seed at which the exact and finite-difference tangent spaces are compared",
    "n_tangent_cifar": "CIFAR-10 test images per seed for the same comparison (float64 Jacobians: seconds each on a CPU)",
    "fd_eps": "finite-difference steps of the paper's construction, decode(c + eps e_i), in code (latent) units",
    "n_random": "random Gaussian vectors per image for the ratio ||r|| / ||Proj_M r|| (appendix I)",
    "n_show": "test images shown with their reconstructions in the figure",
}
