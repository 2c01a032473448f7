"""Knobs of the chapter boundary_tilting and their values under each profile.

the chapter "Boundary tilting" (Tanay's article; DMM appendix A). lambda multiplies
||w||^2 and the hinge is a class-balanced mean (experiment.py).

With the full MNIST training set present, quick trains each seed's SVMs on a seeded
subsample of n_train_per_class = 1000 digits per class (of about 6,000): the batched dual
solver holds an (N, N) Gram matrix and iterates over all lambdas at once, and the whole
chapter must run in about 3 minutes on 2 CPU cores. paper uses every digit (0).
mlp_models: how many of the book's shared MNIST MLPs (seeds 0, 1, ...; the same ones the
local-manifolds chapter trains) the tilt of a non-linear classifier is measured on: quick 3,
so that the interval covers training variance.
"""

# quick: the default, sized for a 2-core CPU
QUICK = {'digits': [2, 3],
 'seeds': 3,
 'test_share': 0.5,
 'n_train_per_class': 1000,
 'lambda_min': 0.0001,
 'lambda_max': 100.0,
 'n_lambdas': 13,
 'max_iters': 2500,
 'tol': 0.0002,
 'toy_points': 300,
 'toy_tilt_deg': 88.0,
 'dmm_points': 500,
 'mlp_models': 3,
 'plane_points': 600}

# smoke: exercises the code in seconds (tests); overrides of QUICK
SMOKE = {'seeds': 1,
 'n_train_per_class': 150,
 'n_lambdas': 5,
 'max_iters': 300,
 'tol': 0.001,
 'toy_points': 100,
 'dmm_points': 32,
 'mlp_models': 2,
 'plane_points': 200}

# paper: the paper's settings, for a GPU; overrides of QUICK
PAPER = {'seeds': 5,
 'n_train_per_class': 0,
 'lambda_min': 1e-05,
 'n_lambdas': 29,
 'max_iters': 20000,
 'tol': 1e-06,
 'toy_points': 500,
 'dmm_points': 2000,
 'mlp_models': 5,
 'plane_points': 1000}

# the valid range (inclusive) of every number a knob holds (lists and dicts: each element)
RANGES = {'digits': (0, 9),
 'seeds': (1, 50),
 'test_share': (0.05, 0.95),        # only used with the 5,000-digit offline subset
 'n_train_per_class': (0, 7000),    # 0: every training digit of the smaller class
 'lambda_min': (1e-08, 10.0),
 'lambda_max': (1e-06, 10000.0),
 'n_lambdas': (3, 200),             # an intermediate lambda needs both ends and one between
 'max_iters': (1, 200000),
 'tol': (1e-12, 0.1),
 'toy_points': (10, 5000),          # per class
 'toy_tilt_deg': (0.0, 89.9),       # the toy boundary's tilt must stay below 90 degrees
 'dmm_points': (10, 2000),          # held-out test digits of the pair (about 2,000 for 2 vs 3)
 'mlp_models': (1, 20),             # MNIST MLPs (the shared models' seeds 0, 1, ...) whose tilt is measured
 'plane_points': (10, 10000)}

# allowed values, constraints between knobs and the data files the chapter reads:
# checked by dmmlib.params.validate before any work
CONSTRAINTS = [
    ("digits: exactly two distinct digits", lambda P: len(P["digits"]) == 2 and P["digits"][0] != P["digits"][1]),
    ("lambda_min < lambda_max", lambda P: P["lambda_min"] < P["lambda_max"]),
]
DATA = ["mnist"]

# what each knob means (one line, with its units): shown beside the values on the chapter's page
DOCS = {
    "digits": "the two MNIST digits of the binary problem (first: label -1, second: +1)",
    "seeds": "train/test splits, each with its own SVM sweep (seeds 0, 1, ...): the intervals are over them",
    "test_share": "share of the pair's official test digits held out as the test split (only with the 5,000-digit "
                  "offline MNIST subset; the full training set uses every test digit)",
    "n_train_per_class": "training digits drawn per class, seeded (0: every training digit of the smaller class)",
    "lambda_min": "smallest L2 regularisation lambda of the SVM sweep (lambda multiplies ||w||^2; the hinge is a "
                  "class-balanced mean)",
    "lambda_max": "largest lambda of the SVM sweep",
    "n_lambdas": "lambdas of the sweep, log-spaced from lambda_min to lambda_max",
    "max_iters": "most iterations of the batched dual SVM solver, per lambda",
    "tol": "the solver stops a lambda when its relative duality gap (J - D) / J falls below this",
    "toy_points": "points per class of the toy problem (figure 3)",
    "toy_tilt_deg": "tilt of the toy boundary from the centroid direction, in degrees",
    "dmm_points": "held-out test digits of the pair on which the MNIST MLPs' gradient tilt is measured",
    "mlp_models": "shared MNIST MLPs (seeds 0, 1, ...) whose gradient tilt is measured",
    "plane_points": "training digits (seeded subsample) drawn in the tilting plane of the figures",
}
