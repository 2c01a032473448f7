"""Knobs of the chapter boundary_tilting and their values under each profile.

the chapter "Boundary tilting" (Tanay's article; DMM appendix A). lambda multiplies
||w||^2 and the hinge is a class-balanced mean (dmmlib/tilting.py).
"""

# quick: the default, sized for a 2-core CPU
QUICK = {'digits': [2, 3],
 'seeds': 3,
 'test_share': 0.5,
 'n_train_per_class': 0,
 'lambda_min': 0.0001,
 'lambda_max': 100.0,
 'n_lambdas': 13,
 'max_iters': 2500,
 'tol': 0.0002,
 'toy_points': 300,
 'toy_tilt_deg': 88.0,
 'dmm_points': 500,
 'plane_points': 600}

# smoke: exercises the code in seconds (tests); overrides of QUICK
SMOKE = {'seeds': 1,
 'n_train_per_class': 150,
 'n_lambdas': 5,
 'max_iters': 300,
 'tol': 0.001,
 'toy_points': 100,
 'dmm_points': 32,
 'plane_points': 200}

# paper: the paper's settings, for a GPU; overrides of QUICK
PAPER = {'seeds': 5,
 'lambda_min': 1e-05,
 'n_lambdas': 29,
 'max_iters': 20000,
 'tol': 1e-06,
 'toy_points': 500,
 'dmm_points': 2000,
 'plane_points': 1000}

# the valid range (inclusive) of every number a knob holds (lists and dicts: each element)
RANGES = {'digits': (1, 30),
 'seeds': (1, 50),
 'test_share': (0.0005, 50.0),
 'n_train_per_class': (0, 1500),
 'lambda_min': (1e-08, 0.01),
 'lambda_max': (0.1, 10000.0),
 'n_lambdas': (1, 290),
 'max_iters': (1, 200000),
 'tol': (9.999999999999999e-10, 0.1),
 'toy_points': (1, 5000),
 'toy_tilt_deg': (0.088, 8800.0),
 'dmm_points': (1, 20000),
 'plane_points': (1, 10000)}
