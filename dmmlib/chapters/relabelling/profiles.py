"""Knobs of the chapter relabelling and their values under each profile.

The chapter "Training on adversarial examples with the wrong labels" (DMM section 5.2,
figure 4; Ilyas et al. 2019). Distances and eps are L2 norms: cube units for the
synthetic manifolds, [0,1]-scaled pixels for MNIST and CIFAR-10.
"""

# quick: the default, sized for a 2-core CPU
QUICK = {
    "seeds": 3,
    # synthetic manifolds of the first chapter (appendix C network), trained in the first
    # chapter's reading of appendix C (clinging_dimpling QUICK: lr 0.02, output weights uniform
    # on [-1, 1], inputs centred to [-1, 1]; full batch, mean loss, weight decay 0.01)
    "synth_width": 4000,
    "synth_epochs": 200,
    "synth_lr": 0.02,
    "synth_weight_decay": 0.01,
    "synth_out_init": "uniform",
    "synth_centre_inputs": True,
    "n_line": 10,
    "per_cell": 10,
    "synth_eps": 0.1,
    "synth_eps_sweep": [0.02, 0.05, 0.1, 0.2, 0.3],
    "synth_grid": 150,
    # MNIST: the appendix G.1 MLP as N1 and N2
    "mnist_train_size": 10000,
    "mnist_epochs": 20,
    "mnist_lr": 0.01,
    "mnist_eps": 4.0,
    "mnist_eps_sweep": [0.5, 1.0, 2.0, 3.0, 4.0],
    # CIFAR-10 (issue 24): N1 and N2 of one architecture, the small convnet (depth 0: trained
    # here on the clean subset), on 10,000 training images; eps 1.0, where 10 targeted PGD steps
    # reach their target on >= 90 % of the images of this network (at eps 0.5, Ilyas et al.'s
    # budget for ResNet-50s, about 70 %: measured, see the page). A pretrained CIFAR ResNet as N1
    # (depth 20 or 56) and a CIFAR ResNet of cifar_n2_depth as N2 are the paper profile's.
    "cifar_seeds": 1,
    "cifar_train_size": 10000,
    "cifar_epochs": 10,
    "cifar_lr": 0.001,
    "cifar_eps": 1.0,
    "cifar_width": 8,
    "cifar_n1_depth": 0,
    "cifar_n2_depth": 0,
    "cifar_attack_steps": 10,
    # MNIST and the synthetic sets
    "attack_steps": 10,
    # the minimal-norm attack (FMN) that measures every network's robustness
    "fmn_steps": 100,
    "test_size": 10000,
    "geometry_points": 100,
}

# smoke: exercises the code in seconds (tests); overrides of QUICK
SMOKE = {
    "seeds": 2,
    "synth_width": 500,
    "synth_epochs": 60,
    "per_cell": 4,
    "synth_eps_sweep": [0.05, 0.2],
    "synth_grid": 40,
    "mnist_train_size": 1000,
    "mnist_epochs": 3,
    "mnist_eps_sweep": [1.0, 3.0],
    "cifar_seeds": 1,
    "cifar_train_size": 200,
    "cifar_epochs": 2,
    "cifar_width": 4,
    "attack_steps": 3,
    "cifar_attack_steps": 3,
    "fmn_steps": 20,
    "test_size": 500,
    "geometry_points": 20,
}

# paper: Ilyas et al.'s scale for a GPU: all training images, 100 PGD steps, and the deepest
# CIFAR ResNet we have weights for (ResNet-56, 93.4 %) as N1 with a ResNet-56 trained from
# scratch as N2 (Ilyas et al. used ResNet-50s); overrides of QUICK
PAPER = {
    "seeds": 5,
    "synth_eps_sweep": [0.01, 0.02, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4],
    "synth_grid": 300,
    "mnist_train_size": 60000,
    "mnist_epochs": 30,
    "mnist_eps_sweep": [0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0],
    "cifar_seeds": 5,
    "cifar_train_size": 50000,
    "cifar_epochs": 60,
    "cifar_eps": 0.5,
    "cifar_width": 64,
    "cifar_n1_depth": 56,
    "cifar_n2_depth": 56,
    "geometry_points": 1000,
    "attack_steps": 100,
    "cifar_attack_steps": 100,
    "fmn_steps": 200,
}

# the valid range (inclusive) of every number a knob holds (lists and dicts: each element)
RANGES = {
    "seeds": (1, 50),
    "synth_width": (2, 100000),
    "synth_epochs": (1, 20000),
    "synth_lr": (1e-6, 10.0),
    "synth_weight_decay": (0.0, 1.0),
    "n_line": (4, 1000),
    "per_cell": (1, 1000),
    "synth_eps": (1e-4, 1.0),
    "synth_eps_sweep": (1e-4, 1.0),
    "synth_grid": (10, 2000),
    "mnist_train_size": (100, 60000),
    "mnist_epochs": (1, 500),
    "mnist_lr": (1e-6, 10.0),
    "mnist_eps": (0.01, 28.0),
    "mnist_eps_sweep": (0.01, 28.0),
    "cifar_seeds": (1, 50),
    "cifar_train_size": (100, 50000),
    "cifar_epochs": (1, 500),
    "cifar_lr": (1e-6, 10.0),
    "cifar_eps": (0.01, 55.0),
    "cifar_width": (4, 512),
    "cifar_n1_depth": (0, 56),
    "cifar_n2_depth": (0, 110),
    "attack_steps": (1, 10000),
    "cifar_attack_steps": (1, 10000),
    "fmn_steps": (1, 10000),
    "test_size": (100, 10000),
    "geometry_points": (10, 10000),
}

# tools/dry_run.py: the paper's networks (ResNet-56 for N1 and N2), attack and batch sizes on a
# few hundred images: targeted PGD over all 50,000 CIFAR-10 training images did not finish in
# 25 minutes on one CPU thread, so the dry run cuts the training sets (loops over batches).
DRY_RUN = {"mnist_train_size": 1000, "cifar_train_size": 500}
# An iteration of these loops runs over a training set the dry run cuts (DRY_RUN): the estimate
# counts it in iterations of the cut set's size (tools/dry_run.py, scaled_loops).
DRY_RUN_LOOPS_OVER = {"mnist_epochs": "mnist_train_size", "cifar_epochs": "cifar_train_size",
                      "attack_steps": "mnist_train_size", "cifar_attack_steps": "cifar_train_size"}
# Work that grows in proportion to these knobs: the boundary geometry (DeepFool from every
# geometry point, for N1, each N2 and the reference network: with the paper's ResNet-56 of
# width 64 and 1,000 points it had not finished after 38 minutes on a shared CPU thread) and
# the test-set evaluations. The dry runs use these values and twice them; the estimate
# extrapolates to the paper's.
DRY_RUN_SCALED = {"geometry_points": 20, "test_size": 200}

# allowed values, constraints between knobs and the data files the chapter reads:
# checked by dmmlib.params.validate before any work
CHOICES = {"synth_out_init": ("uniform", "sign"), "cifar_n1_depth": (0, 20, 56), "cifar_n2_depth": (0, 20, 32, 44, 56, 110)}
DATA = lambda P: ["mnist", "cifar10"] + ([f"cifar10_resnet{P['cifar_n1_depth']}"] if P["cifar_n1_depth"] else [])

# what each knob means (one line, with its units): shown beside the values on the chapter's page
DOCS = {
    "seeds": "seeds of the synthetic and MNIST runs (N1, the relabelled sets, N2): the intervals are over them",
    "synth_width": "hidden units of the synthetic manifolds' one-hidden-layer network (appendix C)",
    "synth_epochs": "full-batch training epochs of the synthetic networks",
    "synth_lr": "learning rate of the synthetic networks' SGD",
    "synth_weight_decay": "weight decay (L2 penalty) of the synthetic networks' SGD",
    "synth_out_init": "the synthetic networks' fixed output weights: \"uniform\" on [-1, 1] or \"sign\" in {-1, +1}",
    "synth_centre_inputs": "the synthetic networks see 2x - 1 (inputs centred to [-1, 1]) instead of x in [0, 1]",
    "n_line": "training points on the line (1-D manifold in the square)",
    "per_cell": "training (and test) points per cell of the 4 x 4 chessboard",
    "synth_eps": "L2 radius of the targeted PGD that relabels the synthetic points, in cube units",
    "synth_eps_sweep": "radii of the synthetic eps sweep, in cube units",
    "synth_grid": "grid points per axis of the synthetic networks' logit maps",
    "mnist_train_size": "MNIST training digits relabelled per seed (seeded subsample)",
    "mnist_epochs": "training epochs of the MNIST MLPs (N1, N2 and the controls)",
    "mnist_lr": "learning rate of the MNIST MLPs",
    "mnist_eps": "L2 radius of the targeted PGD on MNIST, in [0, 1] pixel units",
    "mnist_eps_sweep": "radii of the MNIST eps sweep, in [0, 1] pixel units",
    "cifar_seeds": "seeds of the CIFAR-10 networks trained on the relabelled sets (N2, the controls, the clean twin); N1 and the relabelled sets are made once (seed 0). With one seed the intervals are over the test images only",
    "cifar_train_size": "CIFAR-10 training images relabelled per seed (seeded subsample)",
    "cifar_epochs": "training epochs of the CIFAR-10 networks trained here (N1 at depth 0, N2, the controls, the clean twin)",
    "cifar_lr": "learning rate (Adam, batch 128) of the CIFAR-10 networks trained here (N1 at depth 0, N2, the controls, the clean twin)",
    "cifar_eps": "L2 radius of the targeted PGD on CIFAR-10, in [0, 1] pixel units",
    "cifar_width": "channels of the small convnet's first stage (N1 when cifar_n1_depth is 0, N2 when cifar_n2_depth is 0)",
    "cifar_n1_depth": "N1 on CIFAR-10: 0 for the small convnet trained here on the clean subset, else the pretrained CIFAR ResNet of this depth (20 or 56)",
    "cifar_n2_depth": "N2 on CIFAR-10: 0 for the small convnet, else a CIFAR ResNet of this depth trained from scratch",
    "attack_steps": "steps of the targeted PGD that relabels every training input (synthetic sets and MNIST)",
    "cifar_attack_steps": "steps of the targeted PGD that relabels every CIFAR-10 training image",
    "fmn_steps": "steps (forward-backward passes per image) of the minimal-norm attack (FMN) that measures each network's robustness",
    "test_size": "clean test images on which N2 is tested (fixed subsample)",
    "geometry_points": "test points at which the gradients and boundaries of N1 and N2 are compared",
}
