"""Knobs of the chapter leaving_the_manifold and their values under each profile.

the chapter "Do adversarial examples leave the manifold?" (Stutz's article; DMM section 2).
FONTS: our FONTS-like data (dmmlib/data/fonts.py: 21 offline fonts x letters A-J x a
5-parameter affine warp). MNIST: the manifold approximated by the affine hull of the
``knn`` nearest training digits. eps is the L-inf radius of PGD (the article's 0.3).
"""

# quick: the default, sized for a 2-core CPU
QUICK = {
    "seeds": 3,                 # training seeds of the FONTS classifiers (and data draws)
    "n_fonts": 21,              # fonts used (of dmmlib.data.fonts.FONT_FILES)
    "n_train": 2000,            # FONTS training images per seed (few: generalisation matters)
    "n_test": 600,              # FONTS test images (one fixed draw)
    "epochs": 15,
    "lr": 0.001,                # Adam
    "batch_size": 100,
    "adv_steps": 5,             # on-manifold adversarial training: signed steps in z per batch
    "z_step": 0.2,              # step of the z-search, as a share of each parameter's range
    "eval_steps": 20,           # on-manifold attack for evaluation: steps ...
    "eval_restarts": 4,         # ... and restarts (the first from the image's own code)
    "n_attack": 100,            # FONTS test images attacked and projected per seed
    "n_check": 100,             # FONTS test images projected by the search alone (a check)
    "eps": 0.3,                 # L-inf PGD radius (the article's)
    "pgd_steps": 100,
    "pgd_step_size": 0.01,
    "proj_top_k": 8,            # projection: manifold pieces (font, letter) refined per image
    "proj_restarts": 1,         # projection: starts per piece (the best grid point, then random)
    "proj_steps": 100,          # projection: Adam steps in z
    "proj_lr": 0.03,            # projection: Adam step in units of each parameter's range
    "mnist_seeds": 2,           # MNIST classifiers (seeds)
    "mnist_train_size": 0,      # 0: every training digit available
    "mnist_epochs": 2,
    "knn": 50,                  # neighbours spanning the approximate manifold (the article's 50)
    "n_mnist": 200,             # MNIST test digits attacked per seed
    "on_eps": 3.0,              # MNIST on-manifold attack: L2 radius inside the kNN subspace
    "on_steps": 100,
    "on_step_size": 0.1,
}

# smoke: exercises the code in seconds (tests); overrides of QUICK
SMOKE = {
    "seeds": 2,
    "n_fonts": 4,
    "n_train": 300,
    "n_test": 120,
    "epochs": 2,
    "adv_steps": 2,
    "eval_steps": 5,
    "eval_restarts": 2,
    "n_attack": 24,
    "n_check": 16,
    "pgd_steps": 40,
    "pgd_step_size": 0.02,
    "proj_top_k": 2,
    "proj_steps": 40,
    "mnist_seeds": 1,
    "mnist_train_size": 2000,
    "mnist_epochs": 1,
    "n_mnist": 24,
    "on_steps": 40,
}

# paper: closer to Stutz et al. (2019), for a GPU; overrides of QUICK
PAPER = {
    "seeds": 5,
    "n_train": 10000,
    "n_test": 5000,
    "epochs": 30,
    "adv_steps": 10,
    "eval_steps": 50,
    "eval_restarts": 8,
    "n_attack": 1000,
    "n_check": 1000,
    "pgd_steps": 200,
    "pgd_step_size": 0.005,
    "proj_top_k": 16,
    "proj_restarts": 2,
    "proj_steps": 300,
    "mnist_seeds": 5,
    "mnist_epochs": 20,
    "n_mnist": 1000,
    "on_steps": 200,
}

# the valid range (inclusive) of every number a knob holds
RANGES = {
    "seeds": (1, 50),
    "n_fonts": (1, 21),
    "n_train": (10, 1_000_000),
    "n_test": (10, 100_000),
    "epochs": (1, 1000),
    "lr": (1e-6, 1.0),
    "batch_size": (1, 10_000),
    "adv_steps": (1, 1000),
    "z_step": (1e-4, 1.0),
    "eval_steps": (1, 10_000),
    "eval_restarts": (1, 100),
    "n_attack": (4, 100_000),
    "n_check": (4, 100_000),
    "eps": (1e-4, 1.0),
    "pgd_steps": (1, 10_000),
    "pgd_step_size": (1e-5, 1.0),
    "proj_top_k": (1, 210),
    "proj_restarts": (1, 100),
    "proj_steps": (1, 100_000),
    "proj_lr": (1e-5, 1.0),
    "mnist_seeds": (1, 50),
    "mnist_train_size": (0, 60_000),
    "mnist_epochs": (1, 1000),
    "knn": (2, 784),
    "n_mnist": (4, 10_000),
    "on_eps": (1e-3, 28.0),
    "on_steps": (1, 10_000),
    "on_step_size": (1e-5, 28.0),
}

# allowed values, constraints between knobs and the data files the chapter reads:
# checked by dmmlib.params.validate before any work
DATA = ["mnist"]

# what each knob means (one line, with its units): shown beside the values on the chapter's page
DOCS = {
    "seeds": "training seeds (and data draws) of the FONTS classifiers: the intervals are over them",
    "n_fonts": "fonts of the FONTS-like data used (of the 21 offline fonts; letters A-J, 5-parameter affine warp)",
    "n_train": "FONTS training images per seed (few, so that generalisation matters)",
    "n_test": "FONTS test images (one fixed draw)",
    "epochs": "epochs of Adam for each FONTS classifier (clean, on-manifold adversarial, random augmentation)",
    "lr": "learning rate of the FONTS classifiers' Adam",
    "batch_size": "images per Adam step of the FONTS classifiers",
    "adv_steps": "on-manifold adversarial training: signed steps in the code z per batch",
    "z_step": "step of the search in z, as a share of each warp parameter's range",
    "eval_steps": "steps of the on-manifold attack used for evaluation ...",
    "eval_restarts": "... and its restarts (the first from the image's own code)",
    "n_attack": "FONTS test images attacked (PGD) and projected onto the manifold, per seed",
    "n_check": "FONTS test images projected by the search alone, a check of the projection",
    "eps": "L-inf radius of PGD, in [0, 1] pixel units (the article's 0.3), on FONTS and MNIST",
    "pgd_steps": "PGD steps",
    "pgd_step_size": "PGD step, in [0, 1] pixel units",
    "proj_top_k": "projection onto the manifold: pieces (font, letter) refined per image",
    "proj_restarts": "projection: starts per piece (the best grid point, then random ones)",
    "proj_steps": "projection: Adam steps in z",
    "proj_lr": "projection: Adam step, in units of each warp parameter's range",
    "mnist_seeds": "MNIST classifiers (seeds 0, 1, ...)",
    "mnist_train_size": "MNIST training digits, seeded subsample (0: every training digit available)",
    "mnist_epochs": "training epochs of each MNIST classifier (Adam, lr 1e-3, batches of 128)",
    "knn": "nearest training digits whose affine hull approximates the MNIST manifold locally (the article's 50)",
    "n_mnist": "MNIST test digits attacked per seed",
    "on_eps": "MNIST on-manifold attack: L2 radius inside the kNN subspace, in [0, 1] pixel units",
    "on_steps": "steps of the MNIST on-manifold attack",
    "on_step_size": "step of the MNIST on-manifold attack, L2 in [0, 1] pixel units",
}
