"""Knobs of the chapter on_off_manifold and their values under each profile.

chapter "Adversarial examples on and off the image manifold" (section 7, appendices B, E-H).
models: model units per dataset (MNIST unit u: classifier seed u, autoencoder seed
u mod autoencoders; CIFAR-10/ImageNet: the pretrained classifier, autoencoder seed
u mod autoencoders); n_images: correctly classified test images per dataset and model unit
(each unit attacks its own block); t1_*: the multi-step L2 PGD of table 1 (appendix F:
margin loss, greedy); t2_*: the unconstrained / on / off PGD of table 2 (the on-manifold
step is t2_step x on_step_factor, the paper's 10; step_factors: the on-manifold attack
repeated at these factors); min_norm: the Fast Minimum-Norm attack (mn_steps passes,
initial step mn_step) for step-size-free distances; box_free: also run the on/off attacks without the [0, 1] clamp;
basis_method: "jvp" (exact Jacobian) or "fd" (the paper's finite differences, step fd_eps);
controls: subspaces of the same k compared with the autoencoder's tangent space; pca_size:
training images for the PCA control; imagenet_path: a folder with the goldfish/great-white-
shark classes ("" = none); batch_size: images whose tangent bases are held at once (an
ImageNet basis, 150528 x 3584 float32, is 2.2 GB); robust: the robust-model comparison (issue 11,
item 9, :mod:`robust`): robust_models MNIST units (classifier seed u, its autoencoder) each get an
L2-adversarially trained classifier (PGD radius robust_eps, robust_pgd_steps steps, robust_epochs
epochs of Adam at robust_lr on robust_train_size training digits, 0 = all), compared with the
standard one on robust_n_images test images per unit; stress: the latent-dimension stress test
(issue 11, item 8, :mod:`stress`): MNIST autoencoders with the codes of stress_latent_dims, trained
stress_ae_epochs epochs (seed 0), with model unit 0's classifier on stress_n_images test images;
the quality sweep (same classifier and images) trains the zoo's k = 16 autoencoder for each of
stress_quality_epochs epochs, seeds 0 .. stress_quality_seeds - 1 (epoch counts equal to the shared
models' or to stress_ae_epochs reuse those cached autoencoders); known: the manifold known exactly
(:mod:`known_manifold`): FONTS letters (known_n_fonts fonts, one draw of known_train_size training
images, a test pool of known_test_size), known_models units each with an MNIST-architecture
classifier (known_clf_epochs epochs of Adam) and autoencoder (code size known_latent_dim,
known_ae_epochs epochs of Adam) of seed u, on known_n_images correctly classified test images per
unit: the true tangent (5 affine parameters) against the autoencoder's.
"""

# quick: the default, sized for a 2-core CPU
QUICK = {'datasets': ['mnist', 'cifar10', 'imagenet'],
 'models': {'mnist': 3, 'cifar10': 2, 'imagenet': 1},
 'autoencoders': {'mnist': 2, 'cifar10': 2, 'imagenet': 1},
 'n_images': {'mnist': 100, 'cifar10': 100, 'imagenet': 10},
 'batch_size': {'mnist': 100, 'cifar10': 50, 'imagenet': 1},
 'models_profile': 'quick',
 'cifar_depth': 20,
 't1_eps': {'mnist': 2.0, 'cifar10': 0.5, 'imagenet': 2.0},
 't1_step': {'mnist': 0.04, 'cifar10': 0.04, 'imagenet': 0.8},
 't1_steps': 50,
 't2_eps': {'mnist': 10.0, 'cifar10': 3.0, 'imagenet': 5.0},
 't2_step': {'mnist': 0.02, 'cifar10': 0.12, 'imagenet': 0.01},
 't2_steps': 200,
 'on_step_factor': 10.0,
 'step_factors': [1.0, 3.0, 10.0],
 'box_free': True,
 'min_norm': True,
 'mn_steps': 100,
 'mn_step': {'mnist': 1.0, 'cifar10': 0.5, 'imagenet': 0.5},
 'basis_method': 'jvp',
 'fd_eps': 0.001,
 'controls': ['random', 'pca', 'other', 'dct'],
 'compare_fd': True,
 'compare_recon': False,
 'pca_size': 2000,
 'n_boot': 2000,
 'n_show': 3,
 'linf_eps': {'mnist': 0.3, 'cifar10': 0.03137, 'imagenet': 0.01569},
 'imagenet_path': '',
 'robust': True,
 'robust_models': 2,
 'robust_n_images': 200,
 'robust_eps': 1.5,
 'robust_pgd_steps': 5,
 'robust_epochs': 3,
 'robust_lr': 0.001,
 'robust_train_size': 0,
 'stress': True,
 'stress_latent_dims': [4, 8, 16, 32],
 'stress_ae_epochs': 1,
 'stress_n_images': 200,
 'stress_quality_epochs': [1, 3, 15, 60],
 'stress_quality_seeds': 2,
 'known': True,
 'known_models': 2,
 'known_n_fonts': 21,
 'known_train_size': 10000,
 'known_test_size': 1000,
 'known_n_images': 100,
 'known_latent_dim': 16,
 'known_clf_epochs': 5,
 'known_ae_epochs': 10}

# smoke: exercises the code in seconds (tests); overrides of QUICK
SMOKE = {'models': {'mnist': 2, 'cifar10': 1, 'imagenet': 1},
 'autoencoders': {'mnist': 1, 'cifar10': 1, 'imagenet': 1},
 'n_images': {'mnist': 8, 'cifar10': 3, 'imagenet': 2},
 'batch_size': {'mnist': 64, 'cifar10': 64, 'imagenet': 1},
 'models_profile': 'smoke',
 't1_step': {'mnist': 0.3, 'cifar10': 0.1, 'imagenet': 0.8},
 't1_steps': 10,
 't2_step': {'mnist': 0.2, 'cifar10': 0.12, 'imagenet': 0.01},
 't2_steps': 20,
 'mn_steps': 20,
 'pca_size': 500,
 'n_boot': 200,
 'n_show': 1,
 'robust_n_images': 8,
 'robust_epochs': 1,
 'robust_pgd_steps': 2,
 'robust_train_size': 2000,
 'stress_latent_dims': [4, 16],
 'stress_n_images': 8,
 'stress_quality_epochs': [1, 2],
 'known_n_fonts': 4,
 'known_train_size': 600,
 'known_test_size': 200,
 'known_n_images': 8,
 'known_clf_epochs': 2,
 'known_ae_epochs': 2}

# paper: the paper's settings, for a GPU; overrides of QUICK
PAPER = {'models': {'mnist': 3, 'cifar10': 3, 'imagenet': 1},
 'autoencoders': {'mnist': 3, 'cifar10': 3, 'imagenet': 1},
 'n_images': {'mnist': 1000, 'cifar10': 500, 'imagenet': 100},
 'batch_size': {'mnist': 100, 'cifar10': 100, 'imagenet': 1},
 'models_profile': 'paper',
 't2_steps': 1000,
 'mn_steps': 1000,
 'pca_size': 0,
 'n_boot': 10000,
 'n_show': 4,
 'robust_models': 2,
 'robust_n_images': 1000,
 'robust_pgd_steps': 10,
 'robust_epochs': 20,
 'stress_latent_dims': [4, 8, 16, 32, 64],
 'stress_ae_epochs': 50,
 'stress_n_images': 1000,
 'stress_quality_epochs': [10, 100, 1000],
 'stress_quality_seeds': 3,
 'known_models': 3,
 'known_train_size': 50000,
 'known_test_size': 5000,
 'known_n_images': 1000,
 'known_clf_epochs': 20,
 'known_ae_epochs': 100}

# the valid range (inclusive) of every number a knob holds (lists and dicts: each element)
RANGES = {'models': (1, 20),
 'autoencoders': (1, 20),
 'n_images': (1, 10000),
 'batch_size': (1, 1000),
 'cifar_depth': (20, 56),
 't1_eps': (0.001, 100.0),
 't1_step': (0.0001, 10.0),
 't1_steps': (1, 1000),
 't2_eps': (0.001, 100.0),
 't2_step': (0.0001, 10.0),
 't2_steps': (1, 10000),
 'on_step_factor': (0.1, 100.0),
 'step_factors': (0.1, 100.0),
 'mn_steps': (1, 10000),
 'mn_step': (0.001, 10.0),
 'fd_eps': (1e-06, 0.1),
 'pca_size': (0, 60000),
 'n_boot': (100, 100000),
 'n_show': (1, 40),
 'linf_eps': (1e-05, 1.0),
 'robust_models': (1, 20),
 'robust_n_images': (1, 5000),
 'robust_eps': (0.01, 10.0),
 'robust_pgd_steps': (1, 100),
 'robust_epochs': (1, 200),
 'robust_lr': (1e-06, 1.0),
 'robust_train_size': (0, 60000),
 'stress_latent_dims': (1, 784),
 'stress_ae_epochs': (1, 10000),
 'stress_n_images': (1, 5000),
 'stress_quality_epochs': (1, 10000),
 'stress_quality_seeds': (1, 20),
 'known_models': (1, 20),
 'known_n_fonts': (1, 21),
 'known_train_size': (100, 200000),
 'known_test_size': (10, 100000),
 'known_n_images': (1, 5000),
 'known_latent_dim': (2, 784),
 'known_clf_epochs': (1, 1000),
 'known_ae_epochs': (1, 10000)}

# tools/dry_run.py: the paper's sizes (k = 3584 for ImageNet, its autoencoder's width, the
# batch sizes), but one ImageNet image: its exact tangent basis (150,528 x 3,584) alone takes
# about ten minutes on one CPU thread.
DRY_RUN = {"n_images": {**PAPER.get("n_images", QUICK["n_images"]), "imagenet": 1}}
# Work that grows in proportion to these knobs: the attacked images of every model unit and
# study (their tangent bases: the dry run with all 500 CIFAR-10 images per unit had not left
# the first bases after an hour on a shared CPU thread). The dry runs use these values and
# twice them; the estimate extrapolates to the paper's. ImageNet stays at one image in both,
# so its other 99 images (about ten minutes each on one thread) are not in the estimate.
DRY_RUN_SCALED = {"n_images": {"mnist": 10, "cifar10": 5}, "robust_n_images": 10, "stress_n_images": 10,
                  "known_n_images": 10}

# allowed values, constraints between knobs and the data files the chapter reads:
# checked by dmmlib.params.validate before any work
CHOICES = {"datasets": ("mnist", "cifar10", "imagenet"), "controls": ("random", "pca", "other", "dct"),
           "basis_method": ("jvp", "fd"), "models_profile": ("smoke", "quick", "paper"), "cifar_depth": (20, 56)}
CONSTRAINTS = [
    ("datasets: at least one, each once", lambda P: 0 < len(P["datasets"]) == len(set(P["datasets"]))),
    ("controls: each once", lambda P: len(P["controls"]) == len(set(P["controls"]))),
]
# MNIST: its units, and the robust, stress and known-manifold studies; ImageNet: DMM_IMAGENET, checked by the chapter
DATA = lambda P: ["mnist", *(["cifar10_airplane_automobile", f"cifar10_resnet{P['cifar_depth']}"]
                             if "cifar10" in P["datasets"] else [])]

# what each knob means (one line, with its units): shown beside the values on the chapter's page.
# Distances and radii are L2 norms of [0,1]-scaled pixels (linf_eps: L-inf).
DOCS = {
    "datasets": "the data sets measured (mnist, cifar10, imagenet; ImageNet runs where imagenet_path or DMM_IMAGENET "
                "and ResNet-50 weights (DMM_RESNET50_WEIGHTS) are present)",
    "models": "model units per data set (MNIST unit u: classifier seed u; CIFAR-10/ImageNet: the pretrained classifier)",
    "autoencoders": "autoencoders per data set: unit u uses autoencoder seed u mod this",
    "n_images": "correctly classified test images attacked per data set and model unit",
    "batch_size": "images whose tangent bases are held at once, per data set",
    "models_profile": "the profile of the shared trained models (classifiers, autoencoders) the units use",
    "cifar_depth": "depth of the pretrained CIFAR-10 ResNet (20 or 56)",
    "t1_eps": "table 1's multi-step L2 PGD (appendix F: margin loss, greedy): radius, per data set",
    "t1_step": "table 1's PGD step, per data set",
    "t1_steps": "table 1's PGD steps",
    "t2_eps": "table 2's unconstrained / on-manifold / off-manifold PGD: radius, per data set",
    "t2_step": "table 2's PGD step, per data set (the on-manifold step is this times on_step_factor)",
    "t2_steps": "table 2's PGD steps",
    "on_step_factor": "factor on the on-manifold PGD step (the paper's 10)",
    "step_factors": "the on-manifold attack repeated at these step factors (does its distance depend on the step?)",
    "box_free": "also run the on/off-manifold attacks without the [0, 1] clamp (box-free PGD)",
    "min_norm": "also measure step-size-free distances with the Fast Minimum-Norm attack (unconstrained, on, off, random)",
    "mn_steps": "Fast Minimum-Norm attack: passes",
    "mn_step": "Fast Minimum-Norm attack: initial step, per data set",
    "basis_method": "how the tangent space is computed: \"jvp\" (exact Jacobian) or \"fd\" (the paper's finite differences)",
    "fd_eps": "finite-difference step in the autoencoder's code, in code units (basis_method \"fd\")",
    "controls": "control subspaces of the same dimension k: random, pca (top-k of training images), other (another "
                "image's tangent space), dct (lowest frequencies)",
    "compare_fd": "also compute the tangent space the other way (fd vs jvp) and compare",
    "compare_recon": "also run the attacks from the reconstruction x' = D(E(x)), as the paper writes it",
    "pca_size": "training images for the PCA control (0: all)",
    "n_boot": "bootstrap resamples of the intervals",
    "n_show": "images shown in the figures",
    "linf_eps": "L-inf PGD radius of the L2-against-L-inf figure, per data set ([0, 1] pixels; 0.3, 8/255, 4/255)",
    "imagenet_path": "folder with the goldfish and great-white-shark ImageNet classes (empty: none)",
    "robust": "run the robust-model comparison (L2-adversarially trained MNIST classifiers)",
    "robust_models": "MNIST units given a robust classifier (classifier seed u, its autoencoder)",
    "robust_n_images": "test images per unit compared between the robust and the standard classifier",
    "robust_eps": "PGD radius of the adversarial training",
    "robust_pgd_steps": "PGD steps of the adversarial training",
    "robust_epochs": "epochs of Adam of the adversarial training",
    "robust_lr": "learning rate of the adversarial training's Adam",
    "robust_train_size": "MNIST training digits of the adversarial training (0: all)",
    "stress": "run the latent-dimension stress test (MNIST autoencoders of other code sizes k and training lengths)",
    "stress_latent_dims": "code sizes k of the stress test's MNIST autoencoders",
    "stress_ae_epochs": "training epochs of those autoencoders (seed 0)",
    "stress_n_images": "test images of the stress test (model unit 0's classifier)",
    "stress_quality_epochs": "quality sweep: training epochs of the k = 16 autoencoder",
    "stress_quality_seeds": "quality sweep: autoencoder seeds per training length",
    "known": "run the known-manifold study (FONTS letters: the true tangent space against the autoencoder's)",
    "known_models": "known manifold: units, each a classifier and an autoencoder of seed u",
    "known_n_fonts": "known manifold: fonts of the FONTS letters (of 21)",
    "known_train_size": "known manifold: training images (one draw)",
    "known_test_size": "known manifold: test pool",
    "known_n_images": "known manifold: correctly classified test images attacked per unit",
    "known_latent_dim": "known manifold: the autoencoder's code size",
    "known_clf_epochs": "known manifold: training epochs of each classifier (Adam)",
    "known_ae_epochs": "known manifold: training epochs of each autoencoder (Adam)",
}
