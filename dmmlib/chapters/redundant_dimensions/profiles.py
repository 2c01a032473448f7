"""Knobs of the chapter redundant_dimensions and their values under each profile.

The chapter "Is it just redundant dimensions?" (issue 27, question 1; the reading notes ask
whether the DMM's story is "SVM-like", k << n alone). A fixed k-dimensional data manifold
is embedded in a growing ambient dimension n and a classifier is trained per n:

- synthetic: a k-dimensional manifold (flat, or curved by a sinusoid into k more
  directions) embedded isometrically in R^n by a random rotation (seeded), for each n of
  ``ns``; an MLP (two hidden ReLU layers of ``width``) trained per n and seed;
- MNIST: the 28 x 28 digits embedded in (28 r)^2 pixels for each factor r of
  ``mnist_factors``, by nearest-neighbour upsampling or by padding with constant (zero)
  pixels; an MLP (two hidden layers of ``mnist_width``) trained per factor and seed on
  ``mnist_train_size`` digits.

quick is sized to about 3 minutes on one CPU thread: five ambient dimensions from 16 to
4096, five seeds (the exponents' intervals are over them), factors 1, 2, 3 for MNIST
(n = 784, 3136, 7056). paper: n = 10 ... 10^4 and factors up to 4 (112 x 112), ten seeds.
"""

# quick: the default, sized for a 2-core CPU
QUICK = {
    "seeds": 5,
    "ns": [16, 64, 256, 1024, 4096],
    "k": 4,
    "geometries": ["linear", "curved"],
    "curvature": 0.5,
    "train_points": 1000,
    "test_points": 100,
    "width": 64,
    "epochs": 30,
    "lr": 0.001,
    "attack_steps": 100,
    "mnist_factors": [1, 2, 3],
    "mnist_embedding": "upsample",
    "mnist_train_size": 10000,
    "mnist_epochs": 10,
    "mnist_width": 64,
    "mnist_images": 60,
    "models_profile": "quick",
}

# smoke: exercises the code in seconds (tests); overrides of QUICK
SMOKE = {
    "seeds": 2,
    "ns": [16, 64, 256],
    "train_points": 300,
    "test_points": 24,
    "epochs": 10,
    "attack_steps": 30,
    "mnist_factors": [1, 2],
    "mnist_train_size": 1000,
    "mnist_epochs": 2,
    "mnist_width": 32,
    "mnist_images": 16,
    "models_profile": "smoke",
}

# paper: the larger sweeps, for a GPU; overrides of QUICK
PAPER = {
    "seeds": 10,
    "ns": [10, 32, 100, 316, 1000, 3162, 10000],
    "train_points": 5000,
    "test_points": 500,
    "epochs": 100,
    "attack_steps": 300,
    "mnist_factors": [1, 2, 3, 4],
    "mnist_train_size": 0,
    "mnist_epochs": 20,
    "mnist_width": 256,
    "mnist_images": 500,
    "models_profile": "paper",
}

# the valid range (inclusive) of every number a knob holds (lists and dicts: each element)
RANGES = {
    "seeds": (1, 50),
    "ns": (2, 20000),
    "k": (1, 64),
    "curvature": (0.0, 2.0),
    "train_points": (20, 100000),
    "test_points": (4, 10000),
    "width": (2, 4096),
    "epochs": (1, 10000),
    "lr": (1e-06, 1.0),
    "attack_steps": (1, 10000),
    "mnist_factors": (1, 4),
    "mnist_train_size": (0, 60000),
    "mnist_epochs": (1, 1000),
    "mnist_width": (2, 4096),
    "mnist_images": (4, 10000),
}

CHOICES = {
    "geometries": ("linear", "curved"),
    "mnist_embedding": ("upsample", "pad"),
    "models_profile": ("smoke", "quick", "paper"),
}

CONSTRAINTS = [
    ("ns: at least two distinct ambient dimensions, increasing",
     lambda P: len(P["ns"]) >= 2 and all(a < b for a, b in zip(P["ns"], P["ns"][1:]))),
    ("ns: every n at least 2 k (the curved manifold bends into k directions of its own)",
     lambda P: min(P["ns"]) >= 2 * P["k"]),
    ("mnist_factors: at least two distinct factors, increasing",
     lambda P: len(P["mnist_factors"]) >= 2 and all(a < b for a, b in zip(P["mnist_factors"], P["mnist_factors"][1:]))),
    ("geometries: at least one, no repeats", lambda P: 0 < len(P["geometries"]) == len(set(P["geometries"]))),
]
DATA = ["mnist"]

# tools/dry_run.py: the paper's widths, dimensions and image counts; loops (seeds, epochs,
# attack steps) are cut by the dry run itself. The training set of MNIST is cut (an epoch runs
# over it), and the estimate counts the MNIST epochs in epochs of the cut set.
DRY_RUN = {"mnist_train_size": 2000}
DRY_RUN_LOOPS_OVER = {"mnist_epochs": "mnist_train_size"}

# what each knob means (one line, with its units): shown beside the values on the chapter's page
DOCS = {
    "seeds": "independent runs (data draw, embedding rotation, initialisation, batch order; seeds 0, 1, ...): "
             "the exponents' intervals are over them",
    "ns": "ambient dimensions n of the synthetic setting (the manifold's dimension stays k)",
    "k": "intrinsic dimension of the synthetic manifold",
    "geometries": "synthetic manifolds: linear (a flat k-dimensional subspace) and/or curved (a sinusoidal "
                  "k-dimensional surface bending into k more directions)",
    "curvature": "amplitude a of the curved manifold's bend a sin(pi u_j), in units of the manifold's coordinates",
    "train_points": "training points per synthetic classifier",
    "test_points": "held-out synthetic points attacked and measured per classifier",
    "width": "hidden units per layer of the synthetic MLP (two hidden ReLU layers)",
    "epochs": "Adam epochs of each synthetic MLP",
    "lr": "Adam learning rate of every MLP (synthetic and MNIST)",
    "attack_steps": "most steps of each minimal-norm attack (FMN, free / on / off the manifold)",
    "mnist_factors": "MNIST embedding factors r: the digits become (28 r) x (28 r) images, n = (28 r)^2",
    "mnist_embedding": "upsample (nearest neighbour, each pixel an r x r block) or pad (the 28 x 28 digit centred "
                       "on a zero background)",
    "mnist_train_size": "MNIST training digits per classifier, seeded subset (0: all)",
    "mnist_epochs": "Adam epochs of each MNIST MLP",
    "mnist_width": "hidden units per layer of the MNIST MLP (two hidden ReLU layers)",
    "mnist_images": "MNIST test digits attacked and measured per classifier (the same digits for every r and seed)",
    "models_profile": "the profile of the shared MNIST autoencoder whose tangent spaces give the on-manifold basis",
}
