"""Knobs of the chapter clinging_dimpling and their values under each profile.

The chapter "Clinging and dimpling" (sections 5.1, 6; appendices C, E.1).
"""

# quick: the default, sized for a 2-core CPU
QUICK = {'seeds': 3,
 'epochs': 200,
 'width': 4000,
 'lr': 0.002,
 'lr_paper': 0.02,
 'weight_decay': 0.01,
 'batch_size': 0,
 'n_line': 10,
 'cells': 4,
 'per_cell': 10,
 'cluster_std': 0.03,
 'eval_points': 14,
 'n_grid': 20,
 'max_iter': 50,
 'cling_fraction': 0.9,
 'fig_epochs': [0, 3, 10, 50, 200],
 'grid_2d': 150,
 'surface_grid': 36,
 'anim_grid': 60,
 'anim_every': 1,
 'adv_eps': 0.05}

# smoke: exercises the code in seconds (tests); overrides of QUICK
SMOKE = {'seeds': 1,
 'epochs': 20,
 'width': 500,
 'per_cell': 4,
 'eval_points': 5,
 'n_grid': 8,
 'max_iter': 20,
 'fig_epochs': [0, 5, 20],
 'grid_2d': 60,
 'surface_grid': 15,
 'anim_grid': 30,
 'anim_every': 5}

# paper: the paper's settings, for a GPU; overrides of QUICK
PAPER = {'seeds': 5,
 'eval_points': 30,
 'n_grid': 40,
 'max_iter': 100,
 'grid_2d': 300,
 'surface_grid': 60,
 'anim_grid': 120}

# the valid range (inclusive) of every number a knob holds (lists and dicts: each element)
RANGES = {'seeds': (1, 50),
 'epochs': (1, 2000),
 'width': (1, 40000),
 'lr': (2e-06, 0.2),
 'lr_paper': (2e-05, 2.0),
 'weight_decay': (1e-05, 1.0),
 'batch_size': (0, 10),
 'n_line': (1, 100),
 'cells': (1, 40),
 'per_cell': (1, 100),
 'cluster_std': (2.9999999999999997e-05, 3.0),
 'eval_points': (1, 300),
 'n_grid': (1, 400),
 'max_iter': (1, 1000),
 'cling_fraction': (0.0009, 90.0),
 'fig_epochs': (0, 2000),
 'grid_2d': (1, 3000),
 'surface_grid': (1, 600),
 'anim_grid': (1, 1200),
 'anim_every': (1, 50),
 'adv_eps': (5e-05, 5.0)}
