"""Knobs of the chapter two_layer_subspace and their values under each profile.

The chapter "Two-layer ReLU networks on a linear subspace" (Melamed, Yehudai and Vardi 2023).
Data on a k-dimensional subspace of R^n (||x|| about 1), two-layer ReLU networks of width
``width`` trained by full-batch gradient descent until every training point has margin
``target_margin`` (as the authors' code stops), then attacked on ``n_test`` test points.
Settings: the base (n_base, k_base, init_base, no weight decay) and four sweeps, each moving one
knob from the base: the initialisation scale, the weight decay, n, k. Every setting trains
``seeds`` networks (seeds 0, 1, ...: the intervals are over them). Training is cheap (tens of
steps); quick's cost is the attacks, one call per network and mode.
"""

# quick: the default, sized for a 2-core CPU
QUICK = {'seeds': 5,
 'n_base': 200,
 'k_base': 10,
 'init_base': 1.0,
 'init_scales': [0.1, 0.3, 1.0, 3.0],
 'weight_decays': [0.001, 0.003, 0.01, 0.03],
 'n_values': [20, 200, 2000],
 'k_values': [2, 10, 50],
 'width': 100,
 'n_train': 200,
 'n_test': 100,
 'label_margin': 0.1,
 'lr': 0.5,
 'max_steps': 3000,
 'target_margin': 0.3,
 'attack_steps': 200,
 'attack_step': 0.5}

# smoke: exercises the code in seconds (tests); overrides of QUICK
SMOKE = {'seeds': 2,
 'init_scales': [0.3, 3.0],
 'weight_decays': [0.001, 0.03],
 'n_values': [20, 200],
 'k_values': [2, 10],
 'width': 50,
 'n_train': 100,
 'n_test': 30,
 'max_steps': 1000,
 'attack_steps': 60}

# paper: the larger sweeps, for a GPU; overrides of QUICK. max_steps stays quick's 3,000: training stops at
# the target margin after tens of steps (quick: at most 88), and the dry run counts max_steps as a loop.
# The weight decay stops at 0.03: at 0.05 (lr 0.5) two of three networks of quick's size never reached the
# target margin in 3,000 steps, and the trend would be not tested.
PAPER = {'seeds': 20,
 'n_base': 1000,
 'k_base': 10,
 'init_scales': [0.03, 0.1, 0.3, 1.0, 3.0, 10.0],
 'weight_decays': [0.0003, 0.001, 0.003, 0.01, 0.03],
 'n_values': [20, 100, 1000, 5000],
 'k_values': [2, 5, 10, 50, 200],
 'width': 1000,
 'n_train': 1000,
 'n_test': 500,
 'attack_steps': 500}

# the valid range (inclusive) of every number a knob holds (lists: each element)
RANGES = {'seeds': (1, 100),
 'n_base': (3, 20000),
 'k_base': (1, 5000),
 'init_base': (1e-4, 100.0),
 'init_scales': (1e-4, 100.0),
 'weight_decays': (1e-6, 1.0),
 'n_values': (3, 20000),
 'k_values': (1, 5000),
 'width': (1, 10000),
 'n_train': (2, 100000),
 'n_test': (1, 10000),
 'label_margin': (0.0, 10.0),
 'lr': (1e-5, 100.0),
 'max_steps': (1, 1000000),
 'target_margin': (1e-4, 100.0),
 'attack_steps': (1, 100000),
 'attack_step': (1e-4, 100.0)}

CONSTRAINTS = [
    ("k_base < n_base", lambda P: P["k_base"] < P["n_base"]),
    ("every k in k_values below n_base", lambda P: all(k < P["n_base"] for k in P["k_values"])),
    ("k_base below every n in n_values", lambda P: all(P["k_base"] < n for n in P["n_values"])),
    ("at least two initialisation scales, two weight decays, two n and two k (a slope needs two points)",
     lambda P: min(len(set(P[key])) for key in ("init_scales", "weight_decays", "n_values", "k_values")) >= 2),
]

# the dry run: the paper's sizes, its loops (seeds, steps) cut by tools/dry_run.py
DRY_RUN = {}

# what each knob means (one line, with its units): shown beside the values on the chapter's page
DOCS = {
    "seeds": "networks per setting (seeds 0, 1, ...: data, subspace and initial weights); the intervals are over them",
    "n_base": "ambient dimension n of the base setting",
    "k_base": "dimension k of the data subspace in the base setting",
    "init_base": "initialisation scale s of the base setting (1: fan-in initialisation N(0, 1/fan_in) of both layers)",
    "init_scales": "initialisation scales of the init sweep (n_base, k_base, no weight decay)",
    "weight_decays": "weight decays (L2 coefficient per step, on every parameter) of the weight-decay sweep",
    "n_values": "ambient dimensions of the n sweep (k_base, init_base, no weight decay)",
    "k_values": "subspace dimensions of the k sweep (n_base, init_base, no weight decay)",
    "width": "hidden ReLU units m of each two-layer network",
    "n_train": "training points per network (on the subspace, ||x|| about 1)",
    "n_test": "held-out test points per network at which gradients and minimal perturbations are measured",
    "label_margin": "each class is moved this far from the true boundary within the subspace (L2 units of x)",
    "lr": "learning rate of full-batch gradient descent",
    "max_steps": "most gradient steps; training stops earlier once every training point has the target margin",
    "target_margin": "training stops when every training point has (2y - 1) N(x) at least this (the authors' code: 0.3)",
    "attack_steps": "most steps of each minimal-norm attack (FMN, free / on / off the subspace)",
    "attack_step": "initial step of the minimal-norm attack, in L2 units of x",
}
