"""Each chapter's knobs and the values the profiles give them: the one place they live.

A chapter's notebook has a papermill ``parameters`` cell that sets ``profile`` and every
knob to ``None`` ("take the profile's value"); its next cell calls
:func:`from_namespace` to get the resolved values. An explicitly passed value overrides
the profile. Profiles:

- ``smoke``: exercises the code in seconds, for tests; its numbers mean nothing.
- ``quick``: the default; shows the phenomenon on a 2-core CPU in minutes, with several
  seeds and the statistics to judge it.
- ``paper``: the paper's settings, for people with a GPU.

The type of a knob is the type of its ``quick`` value (an ``int`` is accepted where a
``float`` is expected; a list's elements are checked against its first element).
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

PROFILE_NAMES = ("smoke", "quick", "paper")

# chapter name -> profile -> knob -> value. Every profile of a chapter has the same knobs.
PROFILES: dict[str, dict[str, dict[str, Any]]] = {}

_CLING_QUICK = {
    "seeds": 3,  # seeds 0 .. seeds-1: initialisation (and cluster draw) of each run
    "epochs": 200,  # appendix C
    "width": 4000,  # hidden units, appendix C
    "lr": 0.002,  # appendix C says 0.02; with this model 0.02 oscillates (the chapter shows it), see lr_paper
    "lr_paper": 0.02,  # the paper's learning rate, run once per dataset as a contrast
    "weight_decay": 0.01,  # appendix C
    "batch_size": 0,  # 0: full batch
    "n_line": 10,  # points on the line y = 0.5, labels alternating
    "cells": 4,  # chessboard cells per side
    "per_cell": 10,  # points per chessboard cell
    "cluster_std": 0.03,  # std of a chessboard cluster (input units)
    "eval_points": 14,  # log-spaced epochs at which the boundary is measured
    "n_grid": 20,  # manifold grid points per axis for the clinging distance
    "max_iter": 50,  # DeepFool steps at most
    "cling_fraction": 0.9,  # clinging ends when the distance has made this fraction of its drop
    "fig_epochs": [0, 3, 10, 50, 200],  # epochs drawn in figures 5a/5b
    "grid_2d": 150,  # grid side for 2D boundaries
    "surface_grid": 36,  # grid side for 3D height surfaces
    "anim_grid": 60,  # grid side for the animation frames
    "anim_every": 1,  # animation frame every this many epochs (1: all)
    "adv_eps": 0.05,  # single-step L2 PGD radius for adversarial training (input units)
}
PROFILES["clinging_dimpling"] = {
    # the chapter "Clinging and dimpling" (sections 5.1, 6; appendices C, E.1)
    "smoke": {**_CLING_QUICK, "seeds": 1, "epochs": 20, "width": 500, "per_cell": 4, "eval_points": 5, "n_grid": 8,
              "max_iter": 20, "fig_epochs": [0, 5, 20], "grid_2d": 60, "surface_grid": 15, "anim_grid": 30,
              "anim_every": 5},
    "quick": _CLING_QUICK,
    "paper": {**_CLING_QUICK, "seeds": 5, "eval_points": 30, "n_grid": 40, "max_iter": 100, "grid_2d": 300,
              "surface_grid": 60, "anim_grid": 120},
}

PROFILES["shared_models"] = {
    # the trained models every natural-image chapter shares (dmmlib/zoo.py; appendix G).
    # *_train_size 0 = all available training images (MNIST: 60,000 with torchvision's files,
    # else the 5,000 offline digits; CIFAR-10: the 10,000 airplane+automobile images).
    # paper: G.1's SGD (no momentum stated) and Adam settings; quick: shorter CPU runs (SGD
    # with momentum 0.9 makes up for 12x fewer MNIST steps).
    # ImageNet autoencoder (goldfish + great white shark, the user's ImageNet train split;
    # imagenet_train_per_class 0 = all, about 1,300 per class): paper = G.3 (Adam, 325 epochs,
    # lr 1e-4, batch 32, k = 3584) with width 64 (VGG16's 512 x 7 x 7 bottom, our choice: G.3
    # gives no width); quick keeps k = 3584 (table 1's sqrt(n/k)) but width 16, 300 images per
    # class, 10 epochs and lr 1e-3 (our choice: about 25 min on one CPU thread, 0.25 s per image
    # and epoch); smoke: a toy for tests (k = 8, 8 images, 1 epoch).
    "smoke": {
        "mnist_train_size": 1000, "mnist_clf_epochs": 10, "mnist_clf_lr": 0.05, "mnist_clf_momentum": 0.9,
        "mnist_clf_weight_decay": 1e-4, "mnist_clf_batch_size": 200, "mnist_ae_epochs": 2, "mnist_ae_lr": 1e-3,
        "mnist_ae_batch_size": 144, "mnist_ae_latent_dim": 16, "cifar_train_size": 256, "cifar_ae_epochs": 1,
        "cifar_ae_lr": 1e-3, "cifar_ae_batch_size": 32, "cifar_ae_latent_dim": 128, "cifar_ae_width": 8,
        "imagenet_train_per_class": 4, "imagenet_ae_epochs": 1, "imagenet_ae_lr": 1e-3, "imagenet_ae_batch_size": 4,
        "imagenet_ae_latent_dim": 8, "imagenet_ae_width": 4, "seed": 0,
    },
    "quick": {
        "mnist_train_size": 0, "mnist_clf_epochs": 100, "mnist_clf_lr": 0.01, "mnist_clf_momentum": 0.9,
        "mnist_clf_weight_decay": 1e-4, "mnist_clf_batch_size": 200, "mnist_ae_epochs": 100, "mnist_ae_lr": 1e-3,
        "mnist_ae_batch_size": 144, "mnist_ae_latent_dim": 16, "cifar_train_size": 0, "cifar_ae_epochs": 8,
        "cifar_ae_lr": 1e-3, "cifar_ae_batch_size": 32, "cifar_ae_latent_dim": 128, "cifar_ae_width": 32,
        "imagenet_train_per_class": 300, "imagenet_ae_epochs": 10, "imagenet_ae_lr": 1e-3, "imagenet_ae_batch_size": 32,
        "imagenet_ae_latent_dim": 3584, "imagenet_ae_width": 16, "seed": 0,
    },
    "paper": {
        "mnist_train_size": 0, "mnist_clf_epochs": 40, "mnist_clf_lr": 0.01, "mnist_clf_momentum": 0.0,
        "mnist_clf_weight_decay": 1e-4, "mnist_clf_batch_size": 200, "mnist_ae_epochs": 1000, "mnist_ae_lr": 1e-3,
        "mnist_ae_batch_size": 144, "mnist_ae_latent_dim": 16, "cifar_train_size": 0, "cifar_ae_epochs": 400,
        "cifar_ae_lr": 1e-3, "cifar_ae_batch_size": 32, "cifar_ae_latent_dim": 128, "cifar_ae_width": 64,
        "imagenet_train_per_class": 0, "imagenet_ae_epochs": 325, "imagenet_ae_lr": 1e-4, "imagenet_ae_batch_size": 32,
        "imagenet_ae_latent_dim": 3584, "imagenet_ae_width": 64, "seed": 0,
    },
}

PROFILES["local_manifolds"] = {
    # chapter "Local image manifolds" (section 7, appendices D, G, I). n_test: test images for
    # reconstruction and accuracy (0 = all: 10,000 MNIST, 2,000 CIFAR airplane+automobile);
    # n_tangent / n_tangent_cifar: MNIST / CIFAR test images per seed at which tangent spaces
    # are compared (CIFAR's float64 Jacobians take seconds per image on a CPU); fd_eps: the
    # finite-difference steps (code units); n_random: random vectors per image (appendix I).
    "smoke": {"seeds": 1, "n_test": 200, "n_tangent": 2, "n_tangent_cifar": 1, "fd_eps": [1e-3, 1e-1], "n_random": 20, "n_show": 4},
    "quick": {"seeds": 3, "n_test": 0, "n_tangent": 10, "n_tangent_cifar": 4, "fd_eps": [1e-4, 1e-3, 1e-2, 1e-1, 1.0], "n_random": 200, "n_show": 8},
    "paper": {"seeds": 5, "n_test": 0, "n_tangent": 40, "n_tangent_cifar": 20, "fd_eps": [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0], "n_random": 1000, "n_show": 8},
}

PROFILES["on_off_manifold"] = {
    # chapter "Adversarial examples on and off the image manifold" (section 7, appendices B, E-H).
    # n_images: correctly classified test images per dataset and seed (seed s draws its own
    # disjoint images, random subspaces and image pairing); t1_*: the multi-step L2 PGD of table 1
    # (appendix F: margin loss, greedy); t2_*: the unconstrained / on / off PGD of table 2 (the
    # on-manifold step is t2_step x on_step_factor); basis_method: "jvp" (exact Jacobian) or
    # "fd" (the paper's finite differences, step fd_eps); controls: subspaces of the same k
    # compared with the autoencoder's tangent space; pca_size: training images for the PCA
    # control; imagenet_path: a folder with the goldfish/great-white-shark classes ("" = none);
    # batch_size: images whose tangent bases are held at once (an ImageNet basis, 150528 x 3584
    # float32, is 2.2 GB).
    "smoke": {
        "datasets": ["mnist", "cifar10", "imagenet"], "n_images": {"mnist": 8, "cifar10": 3, "imagenet": 2},
        "seeds": 1, "batch_size": {"mnist": 64, "cifar10": 64, "imagenet": 1}, "models_profile": "smoke", "cifar_depth": 20,
        "t1_eps": {"mnist": 2.0, "cifar10": 0.5, "imagenet": 2.0}, "t1_step": {"mnist": 0.3, "cifar10": 0.1, "imagenet": 0.8},
        "t1_steps": 10,
        "t2_eps": {"mnist": 10.0, "cifar10": 3.0, "imagenet": 5.0}, "t2_step": {"mnist": 0.2, "cifar10": 0.12, "imagenet": 0.01},
        "t2_steps": 20, "on_step_factor": 10.0,
        "basis_method": "jvp", "fd_eps": 1e-3, "controls": ["random", "pca", "other"], "compare_fd": True,
        "compare_recon": True, "pca_size": 500, "n_boot": 500, "n_show": 1,
        "linf_eps": {"mnist": 0.3, "cifar10": 0.03137, "imagenet": 0.01569}, "imagenet_path": "",
    },
    "quick": {
        "datasets": ["mnist", "cifar10", "imagenet"], "n_images": {"mnist": 100, "cifar10": 16, "imagenet": 10},
        "seeds": 3, "batch_size": {"mnist": 64, "cifar10": 64, "imagenet": 1}, "models_profile": "quick", "cifar_depth": 20,
        "t1_eps": {"mnist": 2.0, "cifar10": 0.5, "imagenet": 2.0}, "t1_step": {"mnist": 0.04, "cifar10": 0.04, "imagenet": 0.8},
        "t1_steps": 50,
        "t2_eps": {"mnist": 10.0, "cifar10": 3.0, "imagenet": 5.0}, "t2_step": {"mnist": 0.02, "cifar10": 0.12, "imagenet": 0.01},
        "t2_steps": 200, "on_step_factor": 10.0,
        "basis_method": "jvp", "fd_eps": 1e-3, "controls": ["random", "pca", "other"], "compare_fd": True,
        "compare_recon": True, "pca_size": 2000, "n_boot": 2000, "n_show": 3,
        "linf_eps": {"mnist": 0.3, "cifar10": 0.03137, "imagenet": 0.01569}, "imagenet_path": "",
    },
    "paper": {
        "datasets": ["mnist", "cifar10", "imagenet"], "n_images": {"mnist": 1000, "cifar10": 500, "imagenet": 100},
        "seeds": 3, "batch_size": {"mnist": 100, "cifar10": 100, "imagenet": 1}, "models_profile": "paper", "cifar_depth": 20,
        "t1_eps": {"mnist": 2.0, "cifar10": 0.5, "imagenet": 2.0}, "t1_step": {"mnist": 0.04, "cifar10": 0.04, "imagenet": 0.8},
        "t1_steps": 50,
        "t2_eps": {"mnist": 10.0, "cifar10": 3.0, "imagenet": 5.0}, "t2_step": {"mnist": 0.02, "cifar10": 0.12, "imagenet": 0.01},
        "t2_steps": 1000, "on_step_factor": 10.0,
        "basis_method": "jvp", "fd_eps": 1e-3, "controls": ["random", "pca", "other"], "compare_fd": True,
        "compare_recon": True, "pca_size": 0, "n_boot": 10000, "n_show": 4,
        "linf_eps": {"mnist": 0.3, "cifar10": 0.03137, "imagenet": 0.01569}, "imagenet_path": "",
    },
}

PROFILES["boundary_tilting"] = {
    # the chapter "Boundary tilting" (Tanay's article; DMM appendix A). lambda multiplies
    # ||w||^2 and the hinge is a class-balanced mean (dmmlib/tilting.py).
    "smoke": {"digits": [2, 3], "seeds": 1, "test_share": 0.5, "n_train_per_class": 150,
              "lambda_min": 1e-4, "lambda_max": 100.0, "n_lambdas": 5, "max_iters": 300, "tol": 1e-3,
              "toy_points": 100, "toy_tilt_deg": 88.0, "dmm_points": 32, "plane_points": 200},
    "quick": {"digits": [2, 3], "seeds": 3, "test_share": 0.5, "n_train_per_class": 0,
              "lambda_min": 1e-4, "lambda_max": 100.0, "n_lambdas": 13, "max_iters": 2500, "tol": 2e-4,
              "toy_points": 300, "toy_tilt_deg": 88.0, "dmm_points": 500, "plane_points": 600},
    "paper": {"digits": [2, 3], "seeds": 5, "test_share": 0.5, "n_train_per_class": 0,
              "lambda_min": 1e-5, "lambda_max": 100.0, "n_lambdas": 29, "max_iters": 20000, "tol": 1e-6,
              "toy_points": 500, "toy_tilt_deg": 88.0, "dmm_points": 2000, "plane_points": 1000},
}

PROFILES["adversarial_spheres"] = {
    # Gilmer et al. (2018), "Adversarial Spheres". N = 0 means online training (N = infinity).
    # quick: d = 100 instead of 500, ReLU 2 x 256 instead of 2 x 1000, quadratic h = 200
    # instead of 1000, thousands of steps instead of a million (quadratic lr 1e-2, and 3e-3 from
    # the perfect start, to make up).
    "smoke": {
        "seeds": 1, "d": 16, "R": 1.3, "batch_size": 50,
        "relu_hidden": 32, "relu_depth": 2, "relu_steps": 150, "relu_lr": 1e-3,
        "quad_hidden": 24, "quad_steps": 150, "quad_lr": 1e-2, "quad_N": 1000,
        "perfect_steps": 100, "perfect_lr": 1e-3, "perfect_N": 1000,
        "eval_samples": 20_000, "quad_samples": 100_000,
        "attack_points": 16, "attack_steps": 60, "attack_step": 0.03, "worst_steps": 60,
        "slice_grid": 41, "norm_grid": 9, "norm_samples": 500, "reach_points": 4,
        "tradeoff_N": [1000, 0], "tradeoff_checkpoints": 3, "tradeoff_eval": 5_000, "tradeoff_points": 10,
        "fig4_dims": [100, 1000], "fig4_errors": [1e-2, 1e-6],
    },
    "quick": {
        "seeds": 3, "d": 100, "R": 1.3, "batch_size": 50,
        "relu_hidden": 256, "relu_depth": 2, "relu_steps": 4000, "relu_lr": 1e-4,
        "quad_hidden": 200, "quad_steps": 3000, "quad_lr": 1e-2, "quad_N": 10_000,
        "perfect_steps": 2000, "perfect_lr": 3e-3, "perfect_N": 100_000,
        "eval_samples": 200_000, "quad_samples": 1_000_000,
        "attack_points": 100, "attack_steps": 400, "attack_step": 0.005, "worst_steps": 400,
        "slice_grid": 121, "norm_grid": 25, "norm_samples": 2000, "reach_points": 20,
        "tradeoff_N": [1000, 10_000, 0], "tradeoff_checkpoints": 7, "tradeoff_eval": 50_000, "tradeoff_points": 50,
        "fig4_dims": [100, 300, 1000, 3000, 10_000], "fig4_errors": [1e-2, 1e-6, 1e-10, 1e-14],
    },
    "paper": {
        "seeds": 3, "d": 500, "R": 1.3, "batch_size": 50,
        "relu_hidden": 1000, "relu_depth": 2, "relu_steps": 1_000_000, "relu_lr": 1e-4,
        "quad_hidden": 1000, "quad_steps": 1_000_000, "quad_lr": 1e-4, "quad_N": 1_000_000,
        "perfect_steps": 10_000, "perfect_lr": 1e-4, "perfect_N": 1_000_000,
        "eval_samples": 10_000_000, "quad_samples": 10_000_000,
        "attack_points": 100, "attack_steps": 1000, "attack_step": 0.001, "worst_steps": 1000,
        "slice_grid": 201, "norm_grid": 49, "norm_samples": 10_000, "reach_points": 50,
        "tradeoff_N": [1000, 5000, 10_000, 100_000, 0], "tradeoff_checkpoints": 10, "tradeoff_eval": 100_000,
        "tradeoff_points": 100,
        "fig4_dims": [100, 300, 1000, 3000, 10_000], "fig4_errors": [1e-2, 1e-6, 1e-10, 1e-14],
    },
}

# -- chapters add their block above this line ------------------------------------------


class ParameterError(ValueError):
    """An unknown chapter, profile or knob, or a value of the wrong type."""


def knobs(chapter: str) -> tuple[str, ...]:
    """The knob names of ``chapter`` (without ``profile``)."""
    return tuple(_chapter(chapter)["quick"])


def resolve(chapter: str, profile: str = "quick", **overrides: Any) -> Mapping[str, Any]:
    """The values of ``chapter``'s knobs under ``profile``, with ``overrides`` applied.

    ``None`` in ``overrides`` means "the profile's value". Returns a read-only mapping that
    also holds ``profile``. Raises :class:`ParameterError` naming the unknown profile or
    knob and the allowed values, or the knob whose value has the wrong type.
    """
    table = _chapter(chapter)
    if profile not in PROFILE_NAMES:
        raise ParameterError(
            f"unknown profile {profile!r} for chapter {chapter!r}; allowed: {', '.join(PROFILE_NAMES)}"
        )
    values = dict(table[profile])
    unknown = sorted(set(overrides) - set(values))
    if unknown:
        raise ParameterError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for chapter {chapter!r}; "
            f"allowed: profile, {', '.join(sorted(values))}"
        )
    for name, value in overrides.items():
        if value is not None:
            values[name] = _checked(chapter, name, value, table["quick"][name])
    values["profile"] = profile
    return MappingProxyType(values)


def from_namespace(chapter: str, namespace: Mapping[str, Any]) -> Mapping[str, Any]:
    """:func:`resolve` with ``profile`` and the knobs read from a notebook's ``globals()``."""
    profile = namespace.get("profile", "quick")
    return resolve(chapter, profile, **{k: namespace[k] for k in knobs(chapter) if k in namespace})


def parse_assignment(text: str) -> tuple[str, Any]:
    """``"name=value"`` from the command line -> ``(name, value)``; the value is a Python literal
    (``3``, ``0.02``, ``[1, 2]``, ``True``) or, failing that, a string."""
    import ast

    if "=" not in text:
        raise ParameterError(f"expected name=value, got {text!r}")
    name, raw = text.split("=", 1)
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return name.strip(), value


def _chapter(chapter: str) -> dict[str, dict[str, Any]]:
    if chapter not in PROFILES:
        raise ParameterError(f"unknown chapter {chapter!r}; known: {', '.join(sorted(PROFILES))}")
    return PROFILES[chapter]


def _checked(chapter: str, name: str, value: Any, example: Any) -> Any:
    def ok(v: Any, ex: Any) -> bool:
        if isinstance(ex, bool) or isinstance(v, bool):
            return isinstance(v, bool) and isinstance(ex, bool)
        if isinstance(ex, float):
            return isinstance(v, (int, float))
        if isinstance(ex, (list, tuple)):
            return isinstance(v, (list, tuple)) and (not ex or all(ok(e, ex[0]) for e in v))
        return isinstance(v, type(ex))

    if not ok(value, example):
        raise ParameterError(
            f"parameter {name!r} of chapter {chapter!r} must be of type {_type_name(example)} "
            f"(e.g. {example!r}), got {value!r} of type {type(value).__name__}"
        )
    if isinstance(example, float):
        return float(value)
    if isinstance(example, tuple):
        return tuple(value)
    return value


def _type_name(example: Any) -> str:
    if isinstance(example, (list, tuple)) and example:
        return f"{type(example).__name__} of {type(example[0]).__name__}"
    return type(example).__name__
