"""Knobs of the chapter manifold_projection and their values under each profile.

chapter "Does projecting onto the manifold defend?" (issue 27, question 2; the reading notes, seed
002). The defended classifier is f(clamp(D(E(x)))): the shared classifier applied to the shared
autoencoder's reconstruction (dmmlib.zoo). models: model units per data set (MNIST unit u: the
classifier of seed u and the autoencoder of seed u; CIFAR-10: the pretrained ResNet and the
autoencoder of seed u); n_images: test images per unit that both the plain and the defended
classifier classify correctly (CIFAR-10: of the autoencoder's classes, airplane and automobile).
Minimal distances: the Fast Minimum-Norm attack (dmmlib.attacks.minimal_norm.fmn_l2, mn_steps passes,
initial step mn_step) on the plain classifier, on the plain classifier within the autoencoder's
tangent space (the on-manifold distance of the on/off chapter's tables 1-2), and end to end on the
defended classifier (adaptive). Gradient-masking check: the adaptive attack again with
check_step_factor x mn_steps passes, and restarts runs from a random point at restart_radius x the
image's adaptive distance. Detection: the reconstruction error ||x - D(E(x))|| of the adversarial
against the clean images, for the attacks above and a penalised attack (penalty_steps L2 steps within
penalty_radius x the image's adaptive distance, minimising the defended margin plus a weight of penalties x the
squared reconstruction error, the best point of the weights kept).
"""

# quick: the default, sized for a 2-core CPU
QUICK = {'datasets': ['mnist', 'cifar10'],
 'models': {'mnist': 2, 'cifar10': 1},
 'n_images': {'mnist': 30, 'cifar10': 20},
 'models_profile': 'quick',
 'cifar_depth': 20,
 'mn_steps': 100,
 'mn_step': {'mnist': 1.0, 'cifar10': 0.5},
 'check_step_factor': 3,
 'restarts': 2,
 'restart_radius': 0.5,
 'penalties': [0.3, 1.0, 3.0, 10.0],
 'penalty_steps': 100,
 'penalty_radius': 2.0,
 'n_boot': 2000,
 'n_show': 3}

# smoke: exercises the code in seconds (tests); overrides of QUICK
SMOKE = {'models': {'mnist': 1, 'cifar10': 1},
 'n_images': {'mnist': 6, 'cifar10': 3},
 'models_profile': 'smoke',
 'mn_steps': 20,
 'check_step_factor': 2,
 'restarts': 1,
 'penalty_steps': 20,
 'n_boot': 200,
 'n_show': 2}

# paper: the larger sweep, for a GPU; overrides of QUICK
PAPER = {'models': {'mnist': 3, 'cifar10': 3},
 'n_images': {'mnist': 500, 'cifar10': 200},
 'models_profile': 'paper',
 'mn_steps': 1000,
 'check_step_factor': 3,
 'restarts': 5,
 'penalty_steps': 1000,
 'n_boot': 10000,
 'n_show': 4}

# the valid range (inclusive) of every number a knob holds (lists and dicts: each element)
RANGES = {'models': (1, 20),
 'n_images': (1, 10000),
 'cifar_depth': (20, 56),
 'mn_steps': (1, 10000),
 'mn_step': (0.001, 10.0),
 'check_step_factor': (2, 20),
 'restarts': (1, 50),
 'restart_radius': (0.01, 2.0),
 'penalties': (0.0, 1000.0),
 'penalty_steps': (1, 10000),
 'penalty_radius': (1.0, 10.0),
 'n_boot': (100, 100000),
 'n_show': (1, 10)}

# allowed values, constraints between knobs and the data files the chapter reads:
# checked by dmmlib.params.validate before any work
CHOICES = {"datasets": ("mnist", "cifar10"), "models_profile": ("smoke", "quick", "paper"), "cifar_depth": (20, 56)}
CONSTRAINTS = [
    ("datasets: at least one, each once", lambda P: 0 < len(P["datasets"]) == len(set(P["datasets"]))),
    ("n_show: at most the images of one unit", lambda P: all(P["n_show"] <= P["n_images"][d] for d in P["datasets"])),
]
DATA = lambda P: [*(["mnist"] if "mnist" in P["datasets"] else []),  # noqa: E731
                  *(["cifar10_airplane_automobile", f"cifar10_resnet{P['cifar_depth']}"]
                    if "cifar10" in P["datasets"] else [])]

# tools/dry_run.py: the paper's sizes; the attacked images are the work that grows in proportion
# (every attack is per image): the dry runs use these values and twice them, and the estimate
# extrapolates to the paper's.
DRY_RUN_SCALED = {"n_images": {"mnist": 8, "cifar10": 4}}

# what each knob means (one line, with its units): shown beside the values on the chapter's page.
# Distances and radii are L2 norms of [0,1]-scaled pixels.
DOCS = {
    "datasets": "the data sets measured (mnist, cifar10)",
    "models": "model units per data set (MNIST unit u: classifier and autoencoder of seed u; CIFAR-10: the "
              "pretrained ResNet and the autoencoder of seed u)",
    "n_images": "test images per data set and unit that the plain and the defended classifier both classify correctly",
    "models_profile": "the profile of the shared trained models (classifiers, autoencoders) the units use",
    "cifar_depth": "depth of the pretrained CIFAR-10 ResNet (20 or 56)",
    "mn_steps": "Fast Minimum-Norm attack: passes (every minimal distance of the chapter)",
    "mn_step": "Fast Minimum-Norm attack: initial step, per data set (L2 of [0,1] pixels)",
    "check_step_factor": "gradient-masking check: the adaptive attack again with this many times mn_steps",
    "restarts": "gradient-masking check: adaptive attacks from random starting points",
    "restart_radius": "gradient-masking check: distance of a random start from x, as a share of the image's "
                      "adaptive distance",
    "penalties": "penalised attack: the weights of the squared reconstruction error ||z - D(E(z))||^2 against the "
                 "defended classifier's margin (logit units per squared L2 pixel distance), one run each, the best "
                 "point per image kept",
    "penalty_steps": "penalised attack: L2 gradient steps",
    "penalty_radius": "penalised attack: its L2 radius, as a multiple of the image's adaptive distance",
    "n_boot": "bootstrap resamples of the intervals",
    "n_show": "images shown in the figure of examples",
}
