"""Knobs of the chapter clinging_dimpling and their values under each profile.

The chapter "Clinging and dimpling" (sections 3, 5.1, 6; appendix C).
"""

# quick: the default, sized for a 2-core CPU
QUICK = {
    "seeds": 5,                 # training seeds of the main runs (line, chessboard, adversarial chessboard)
    "epochs": 200,              # appendix C
    "width": 4000,              # appendix C
    "lr": 0.02,                 # appendix C
    "lr_paper": 0.02,           # the rate the readings of appendix C are tried at
    "weight_decay": 0.01,       # appendix C
    "batch_size": 0,            # 0: full batch (appendix C gives none)
    "out_init": "uniform",      # output weights: "uniform" on [-1, 1] or "sign" {-1, +1}
    "centre_inputs": True,      # the network sees 2x - 1 (inputs centred to [-1, 1])
    "n_line": 10,
    "cells": 4,
    "per_cell": 10,
    "per_cell_test": 25,        # held-out chessboard points per cell
    "cluster_std": 0.03,
    "probe_line": 61,           # probe points along the line (data region and beyond)
    "probe_plane": 11,          # probe points per axis of the plane
    "beyond": 0.1,              # how far beyond the data region the probe reaches (cube units)
    "deltas": [0.01, 0.02, 0.05, 0.1],  # distances for "share of the manifold within delta"
    "measure_every": 5,         # measure every this many epochs ...
    "dense_until": 20,          # ... and every epoch up to this one
    "max_iter": 50,             # DeepFool steps
    "adv_eps": 0.02,            # L2 radius of adversarial training and of the robustness test (< cluster spread)
    "attack_steps": 10,         # PGD steps of the robustness test
    "pressure_until": 20,       # figure 2: epochs (from initialisation) over which the boundary's displacement is measured
    "lr_seeds": 2,              # seeds per reading of appendix C
    "stress_widths": [500, 2000, 8000],
    "stress_lrs": {"sgd": [0.005, 0.02], "momentum": [0.001, 0.005], "adam": [0.0003, 0.003]},
    "stress_seeds": 1,
    "stress_every": 5,
    "stress_probe": 7,
    "fig_epochs": [0, 3, 10, 50, 200],
    "grid_2d": 150,
    "surface_grid": 36,
    "anim_grid": 60,
    "anim_every": 2,
}

# smoke: exercises the code in seconds (tests); overrides of QUICK
SMOKE = {
    "seeds": 2,
    "epochs": 20,
    "width": 300,
    "per_cell": 4,
    "per_cell_test": 4,
    "probe_line": 15,
    "probe_plane": 7,
    "measure_every": 5,
    "dense_until": 5,
    "max_iter": 20,
    "attack_steps": 2,
    "pressure_until": 4,
    "lr_seeds": 1,
    "stress_widths": [100, 300],
    "stress_lrs": {"sgd": [0.02], "momentum": [0.005], "adam": [0.003]},
    "stress_every": 5,
    "stress_probe": 5,
    "fig_epochs": [0, 5, 20],
    "grid_2d": 60,
    "surface_grid": 15,
    "anim_grid": 30,
    "anim_every": 5,
}

# paper: the paper's settings, for a GPU; overrides of QUICK
PAPER = {
    "seeds": 10,
    "probe_line": 201,
    "probe_plane": 41,
    "measure_every": 1,
    "dense_until": 200,
    "max_iter": 100,
    "lr_seeds": 5,
    "stress_widths": [500, 4000, 16000],
    "stress_seeds": 3,
    "stress_every": 1,
    "stress_probe": 17,
    "grid_2d": 300,
    "surface_grid": 60,
    "anim_grid": 120,
    "anim_every": 1,
}

# the valid range (inclusive) of every number a knob holds (lists and dicts: each element)
RANGES = {
    "seeds": (1, 50),
    "epochs": (1, 5000),
    "width": (1, 100_000),
    "lr": (1e-6, 10.0),
    "lr_paper": (1e-6, 10.0),
    "weight_decay": (0.0, 1.0),
    "batch_size": (0, 100_000),
    "n_line": (2, 1000),
    "cells": (2, 40),
    "per_cell": (1, 1000),
    "per_cell_test": (1, 1000),
    "cluster_std": (0.0, 0.5),
    "probe_line": (3, 10_000),
    "probe_plane": (3, 1000),
    "beyond": (0.0, 0.5),
    "deltas": (1e-6, 1.0),
    "measure_every": (1, 5000),
    "dense_until": (0, 5000),
    "max_iter": (1, 10_000),
    "adv_eps": (1e-4, 1.0),
    "attack_steps": (1, 1000),
    "pressure_until": (1, 5000),
    "lr_seeds": (1, 50),
    "stress_widths": (1, 100_000),
    "stress_lrs": (1e-6, 10.0),
    "stress_seeds": (1, 50),
    "stress_every": (1, 5000),
    "stress_probe": (3, 1000),
    "fig_epochs": (0, 5000),
    "grid_2d": (2, 3000),
    "surface_grid": (2, 600),
    "anim_grid": (2, 1200),
    "anim_every": (1, 5000),
}

# allowed values, constraints between knobs and the data files the chapter reads:
# checked by dmmlib.params.validate before any work
CHOICES = {"out_init": ("uniform", "sign")}

# what each knob means (one line, with its units): shown beside the values on the chapter's page
DOCS = {
    "seeds": "training seeds of the main runs (line, chessboard, adversarially and noise-trained chessboard, figure 2's displacements): the intervals are over them",
    "epochs": "training epochs of every run (appendix C: 200)",
    "width": "hidden units of the one-hidden-layer ReLU network (appendix C: 4,000)",
    "lr": "learning rate of the chapter's reading of appendix C",
    "lr_paper": "appendix C's learning rate, at which every reading of appendix C is tried",
    "weight_decay": "weight decay (L2 penalty) of the SGD (appendix C: 0.01)",
    "batch_size": "points per SGD step (0: full batch; appendix C gives none)",
    "out_init": "the fixed output weights: \"uniform\" on [-1, 1] or \"sign\" in {-1, +1}",
    "centre_inputs": "the network sees 2x - 1 (inputs centred to [-1, 1]) instead of x in [0, 1]",
    "n_line": "training points on the line (1-D manifold in the square), labels alternating",
    "cells": "cells per side of the chessboard (2-D manifold in the cube)",
    "per_cell": "training points per chessboard cell",
    "per_cell_test": "held-out chessboard points per cell (clean and robust test accuracy)",
    "cluster_std": "standard deviation of each chessboard cell's Gaussian cluster, in cube units",
    "probe_line": "probe points along the line, over the data region and beyond, where the boundary's distance is measured",
    "probe_plane": "probe points per axis of the chessboard's plane",
    "beyond": "how far beyond the data region the probes reach, in cube units",
    "deltas": "distances (cube units) for the share of the manifold that the boundary comes within",
    "measure_every": "measure the boundary every this many epochs ...",
    "dense_until": "... and at every epoch up to this one",
    "max_iter": "most DeepFool steps when measuring a probe point's distance to the boundary",
    "adv_eps": "L2 radius (cube units) of adversarial training, of the random-noise training (appendix A) and of the robustness test's PGD",
    "attack_steps": "PGD steps of the robustness test (step: adv_eps / 4)",
    "pressure_until": "figure 2: the boundary's displacement at the misclassified training points is measured between consecutive epochs up to this one",
    "lr_seeds": "seeds per reading of appendix C in the learning-rate study",
    "stress_widths": "hidden widths of the stress test",
    "stress_lrs": "learning rates per optimiser (SGD, SGD with momentum, Adam) of the stress test",
    "stress_seeds": "seeds per width, optimiser and learning rate of the stress test",
    "stress_every": "the stress test measures the boundary every this many epochs (and every epoch up to dense_until)",
    "stress_probe": "probe points per axis of the stress test (over the data region only)",
    "fig_epochs": "epochs drawn in the figures (plus the first and the last)",
    "grid_2d": "grid points per axis of the 2-D boundary figures",
    "surface_grid": "grid points per axis of the 3-D boundary surfaces",
    "anim_grid": "grid points per axis of the animation's frames",
    "anim_every": "epochs between the animation's frames",
}
