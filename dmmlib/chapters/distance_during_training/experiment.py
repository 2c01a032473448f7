"""The distance from test images to the evolving decision boundary during training (DMM §6, figure 6).

A classifier is trained from scratch; at log-spaced iterations (iteration 0, before the
first update, included) it is put in eval mode and measured on a fixed set of test images:

- the minimal L2 distance to the decision boundary (DeepFool, :func:`boundary_distance`)
  and whether the attack found a boundary point (its success);
- the minimal perturbation ``r = x_boundary - x`` split into its part in the local tangent
  space of the autoencoder at each image (``||P_T r||``) and the rest (``||r - P_T r||``),
  and ``||P_R r||`` for a random subspace R of the same dimension k (the control);
- the fraction ``||P_T g|| / ||g||`` of the input gradient g of the predicted class's margin
  (the direction DeepFool starts along) in the tangent space, and ``||P_R g|| / ||g||``;
- test accuracy on a separate set of test images.

A network with batch norm is measured with its batch-norm statistics *recalibrated*: a copy
whose running means and variances are recomputed, with no weight update, on
:data:`BN_CALIBRATION_IMAGES` fixed training images (:func:`recalibrated`). In eval mode the
running statistics are otherwise a moving average that, at iteration 0 and early in
training, is still near its default (mean 0, variance 1) rather than the data's, and the
distance measured through them is an artifact of those statistics. The plain eval-mode
distance, accuracy and attack success are recorded beside it (``*_eval``) to show that
artifact; for a network without batch norm the two are the same measurement.

Distances are L2 norms of [0,1]-scaled pixels. A random subspace of dimension k in R^n holds
a fraction of about sqrt(k/n) of a vector's norm (0.143 for MNIST, 0.204 for CIFAR-10).
"""
from __future__ import annotations

import copy
import math
from typing import Any, Callable, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from dmmlib.progress import progress as tqdm

from dmmlib import parallel, zoo
from dmmlib.attacks.deepfool import boundary_distance, margin
from dmmlib.cache import cached
from dmmlib.data.cifar10 import load_cifar10
from dmmlib.data.mnist import load_mnist
from dmmlib.device import get_device, seed_everything
from dmmlib.evaluate import accuracy
from dmmlib.manifold import coordinates, local_manifold
from dmmlib.models.mlp import MnistMLP
from dmmlib.models.cifar_convnet import CifarConvNet
from dmmlib.subspaces import random_subspace

DATASETS = ("mnist", "cifar")
SETTINGS = ("main", "alt")
OPTIMIZERS = ("sgd", "adam")
CIFAR_ARCHS = ("small_cnn", "resnet50")
PER_IMAGE = ("distance", "converged", "r_on", "r_off", "r_rand", "g_tan", "g_rand", "distance_eval", "converged_eval")
#: the training images (the first of the run's training set) batch norm is recalibrated on
BN_CALIBRATION_IMAGES = 512


# -- checkpoints and settings --------------------------------------------------------------


def log_checkpoints(total_steps: int, n: int) -> list[int]:
    """``n`` or fewer distinct iterations in [0, total_steps]: 0, then log-spaced from 1 to
    ``total_steps`` (both included), ascending."""
    if not (isinstance(total_steps, int) and total_steps >= 1 and isinstance(n, int) and n >= 2):
        raise ValueError(f"need total_steps >= 1 and n >= 2 ints, got {total_steps!r}, {n!r}")
    steps = np.unique(np.round(np.logspace(0, math.log10(total_steps), n - 1)).astype(int))
    return [0] + [int(s) for s in steps if 1 <= s <= total_steps]


MIN_CHECKPOINTS = 4  # a continuous two-segment fit (dmmlib.changepoint.hinge_fit) needs 4 points
FULL_TRAIN_SIZES = {"mnist": 60000, "cifar": 50000}  # *_train_size 0: all of them (at most; fewer offline)


def check_params(P: Mapping[str, Any]) -> None:
    """Raise one ``ValueError`` for a string knob with an unknown value, or for settings that
    give fewer checkpoints than the two-phase fit needs (before any work)."""
    for ds in DATASETS:
        if P[f"{ds}_alt_optimizer"] not in OPTIMIZERS:
            raise ValueError(f"{ds}_alt_optimizer must be one of {OPTIMIZERS}, got {P[f'{ds}_alt_optimizer']!r}")
    if P["cifar_arch"] not in CIFAR_ARCHS:
        raise ValueError(f"cifar_arch must be one of {CIFAR_ARCHS}, got {P['cifar_arch']!r}")
    for ds, full in FULL_TRAIN_SIZES.items():  # the two-phase fit needs 4 distinct checkpoints per run
        n = P[f"{ds}_train_size"] or full
        total = math.ceil(n / P[f"{ds}_batch_size"]) * P[f"{ds}_epochs"]
        marks = log_checkpoints(total, P["checkpoints"])
        if len(marks) < MIN_CHECKPOINTS:
            raise ValueError(f"{ds}: {total} training steps and checkpoints={P['checkpoints']} give {len(marks)} "
                             f"distinct checkpoints; the two-phase fit needs {MIN_CHECKPOINTS}: raise checkpoints "
                             f"or {ds}_epochs")


def training_settings(P: Mapping[str, Any], dataset: str, setting: str) -> dict:
    """The optimiser settings of ``dataset`` ('mnist' | 'cifar') under ``setting`` ('main' |
    'alt'): the main optimiser is SGD (with the profile's momentum); 'alt' swaps in
    ``<ds>_alt_optimizer`` with ``<ds>_alt_lr`` (momentum 0 when it is SGD)."""
    if dataset not in DATASETS or setting not in SETTINGS:
        raise ValueError(f"dataset must be in {DATASETS} and setting in {SETTINGS}, got {dataset!r}, {setting!r}")
    p = dataset + "_"
    out = {"optimizer": "sgd", "lr": P[p + "lr"], "momentum": P[p + "momentum"],
           "weight_decay": P[p + "weight_decay"], "batch_size": P[p + "batch_size"], "epochs": P[p + "epochs"]}
    if setting == "alt":
        out.update(optimizer=P[p + "alt_optimizer"], lr=P[p + "alt_lr"], momentum=0.0)
    return out


def build_model(dataset: str, arch: str = "small_cnn", width: int = 16) -> nn.Module:
    """A freshly initialised classifier (seed torch first): the MLP of appendix G.1 for
    'mnist'; for 'cifar' the small convnet (:class:`CifarConvNet` of ``width``) or
    torchvision's ResNet-50 with 10 classes."""
    if dataset == "mnist":
        return MnistMLP()
    if arch == "small_cnn":
        return CifarConvNet(width=width)
    if arch == "resnet50":
        from torchvision.models import resnet50

        return resnet50(weights=None, num_classes=10)
    raise ValueError(f"unknown arch {arch!r}; allowed: {CIFAR_ARCHS}")


# -- the data and the local manifolds ------------------------------------------------------


def task_data(P: Mapping[str, Any], dataset: str) -> dict:
    """Training images and labels (a seeded subset of ``<ds>_train_size``, 0 = all), the fixed
    test images whose boundary distance is tracked (``<ds>_images``, the first of a seeded
    permutation of the test set) and the disjoint ``accuracy_images`` test images that
    measure accuracy. Images (N, C, H, W) in [0, 1]."""
    load = load_mnist if dataset == "mnist" else load_cifar10
    train, test = load("train"), load("test")
    size = P[f"{dataset}_train_size"]
    g = torch.Generator().manual_seed(12345)
    keep = torch.randperm(len(train.y), generator=g)[:size] if 0 < size < len(train.y) else torch.arange(len(train.y))
    order = torch.randperm(len(test.y), generator=g)
    n_dist, n_acc = P[f"{dataset}_images"], P["accuracy_images"]
    if n_dist + n_acc > len(order):
        raise ValueError(f"{dataset}_images + accuracy_images = {n_dist + n_acc} exceeds the {len(order)} test images")
    dist_idx, acc_idx = order[:n_dist], order[n_dist : n_dist + n_acc]
    return {"x_train": train.x[keep], "y_train": train.y[keep], "x_dist": test.x[dist_idx], "y_dist": test.y[dist_idx],
            "x_acc": test.x[acc_idx], "y_acc": test.y[acc_idx],
            "source": f"{train.source}; {test.source}", "n_train": int(len(keep))}


def autoencoder(profile: str, dataset: str) -> nn.Module:
    """The book's shared autoencoder of ``dataset`` (:mod:`dmmlib.zoo`) under ``profile``."""
    return zoo.mnist_autoencoder(profile) if dataset == "mnist" else zoo.cifar_autoencoder(profile)


def tangent_bases(ae: nn.Module, x: torch.Tensor, *, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(tangent, random): the orthonormal basis (B, n, k) of the autoencoder's tangent space at
    each image of x (B, ...) (the decoder's Jacobian at the code, appendix D.2) and one random
    k-dimensional subspace (n, k) of the image space (the control), both float32 on the CPU."""
    dev = next(ae.parameters()).device
    _, basis = local_manifold(ae.encode, ae.decode, x.to(dev), chunk_size=256)
    n, k = basis.shape[1:]
    rand = random_subspace(n, k, generator=torch.Generator().manual_seed(seed))
    return basis.cpu().float(), rand


# -- one checkpoint -------------------------------------------------------------------------


def measure(model: nn.Module, x: torch.Tensor, basis: torch.Tensor, rand: torch.Tensor,
            x_acc: torch.Tensor, y_acc: torch.Tensor, *, max_iter: int, candidates: int) -> dict:
    """Measure ``model`` (eval mode) at one checkpoint.

    x (B, ...): the tracked test images; basis (B, n, k) their tangent spaces; rand (n, k) the
    random control subspace; x_acc, y_acc: the accuracy images. Returns numpy arrays (B,) for
    the keys of ``PER_IMAGE`` (``distance``: inf where DeepFool failed; ``r_*`` are 0 there;
    ``g_*`` nan where the gradient vanishes) and the float ``accuracy`` in [0, 1].
    """
    dev = next(model.parameters()).device
    x = x.to(dev)
    bd = boundary_distance(model, x, max_iter=max_iter, candidates=candidates, batch_size=256)
    r = (bd.x_boundary - x).cpu()
    basis_, rand_ = basis, rand
    r_norm = r.flatten(1).norm(dim=1)
    r_on = coordinates(r, basis_).norm(dim=1)
    r_off = (r_norm.pow(2) - r_on.pow(2)).clamp_min(0).sqrt()
    r_rand = coordinates(r, rand_).norm(dim=1)
    g = margin_gradient(model, x).cpu()
    g_norm = g.flatten(1).norm(dim=1)
    safe = torch.where(g_norm > 0, g_norm, torch.full_like(g_norm, float("nan")))
    g_tan = coordinates(g, basis_).norm(dim=1) / safe
    g_rand = coordinates(g, rand_).norm(dim=1) / safe
    out = {"distance": bd.distance.cpu(), "converged": bd.converged.cpu(), "r_on": r_on, "r_off": r_off,
           "r_rand": r_rand, "g_tan": g_tan, "g_rand": g_rand}
    out = {k: v.detach().numpy() for k, v in out.items()}
    out["accuracy"] = accuracy(model, x_acc, y_acc)
    return out


def has_batch_norm(model: nn.Module) -> bool:
    """Whether ``model`` has a batch-norm layer."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def recalibrated(model: nn.Module, x: torch.Tensor, *, batch_size: int = 256) -> nn.Module:
    """A copy of ``model`` in eval mode whose batch-norm running statistics are the mean and
    variance of each layer's input over the images x (N, ...) (a cumulative average over the
    batches), every weight unchanged; ``model`` itself when it has no batch norm. Only the
    batch-norm layers see x in train mode (dropout stays off)."""
    if not has_batch_norm(model):
        return model
    twin = copy.deepcopy(model).eval()
    dev = next(twin.parameters()).device
    for m in twin.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration batches
            m.train()
    with torch.no_grad():
        for xb in x.split(batch_size):
            twin(xb.to(dev))
    return twin.eval()


def measure_checkpoint(model: nn.Module, x_calib: torch.Tensor, x: torch.Tensor, basis: torch.Tensor,
                       rand: torch.Tensor, x_acc: torch.Tensor, y_acc: torch.Tensor, *, max_iter: int,
                       candidates: int) -> dict:
    """:func:`measure` on ``model`` with its batch norm recalibrated on x_calib (N, ...)
    (:func:`recalibrated`), plus ``distance_eval``, ``converged_eval`` (B,) and
    ``accuracy_eval`` measured in plain eval mode (the running statistics of training); for a
    network without batch norm these equal the recalibrated ones (measured once)."""
    out = measure(recalibrated(model, x_calib), x, basis, rand, x_acc, y_acc, max_iter=max_iter,
                  candidates=candidates)
    if not has_batch_norm(model):
        out.update(distance_eval=out["distance"], converged_eval=out["converged"], accuracy_eval=out["accuracy"])
        return out
    dev = next(model.parameters()).device
    bd = boundary_distance(model, x.to(dev), max_iter=max_iter, candidates=candidates, batch_size=256)
    out.update(distance_eval=bd.distance.cpu().numpy(), converged_eval=bd.converged.cpu().numpy(),
               accuracy_eval=accuracy(model, x_acc, y_acc))
    return out


def margin_gradient(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Input gradient (B, ...) of the predicted class's margin f_label - max_{j != label} f_j."""
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        logits = model(x)
        m = margin(logits, logits.argmax(1).detach())
        (g,) = torch.autograd.grad(m.sum(), x)
    return g.detach()


# -- one training run ------------------------------------------------------------------------


def train_measured(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, epochs: int, lr: float, optimizer: str,
                   momentum: float, weight_decay: float, batch_size: int, seed: int, checkpoints: int,
                   measure_fn: Callable[[nn.Module], dict], progress: bool = True) -> dict:
    """Train ``model`` with cross-entropy on x (N, ...), y (N,) and call ``measure_fn(model)``
    (model in eval mode) at ``log_checkpoints(total steps, checkpoints)``.

    Returns ``{"steps": (S,) int, "epochs": (S,) float (steps / steps per epoch),
    "steps_per_epoch": int, "total_steps": int, "train_loss": (S,) mean loss of the last
    50 minibatches before each checkpoint (nan at 0), <key>: (S, ...) stacked measurements}``.
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    dev = get_device()
    model.to(dev)
    gen = seed_everything(seed)
    opt = (torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
           if optimizer == "sgd" else torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay))
    n = len(y)
    per_epoch = math.ceil(n / batch_size)
    total = per_epoch * epochs
    marks = log_checkpoints(total, checkpoints)
    records, losses, recent = [], [], []

    def record():
        model.eval()
        records.append(measure_fn(model))
        losses.append(float(np.mean(recent[-50:])) if recent else float("nan"))
        model.train()

    model.train()
    step, next_mark = 0, 0
    bar = tqdm(total=total, desc=f"training {type(model).__name__} (seed {seed})", disable=not progress)
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        for start in range(0, n, batch_size):
            if next_mark < len(marks) and marks[next_mark] == step:
                record()
                next_mark += 1
            idx = order[start : start + batch_size]
            loss = F.cross_entropy(model(x[idx].to(dev)), y[idx].to(dev))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            recent.append(loss.item())
            step += 1
            bar.update(1)
    bar.close()
    if next_mark < len(marks):  # the last checkpoint, after the final update
        record()
    model.eval()
    out = {k: np.stack([r[k] for r in records]) for k in records[0]}
    out.update(steps=np.asarray(marks), epochs=np.asarray(marks) / per_epoch, steps_per_epoch=per_epoch,
               total_steps=total, train_loss=np.asarray(losses))
    return out


def run_one(P: Mapping[str, Any], dataset: str, setting: str, seed: int, data: dict, bases: tuple,
            ae_id: dict, progress: bool = True) -> dict:
    """One seeded training run of ``dataset`` under ``setting``, measured; cached by every
    setting that shapes it (the data, the autoencoder's identity, the tracked images)."""
    cfg = {"dataset": dataset, "setting": setting, "seed": seed, "arch": P["cifar_arch"] if dataset == "cifar" else "mlp",
           "width": P["cifar_width"] if dataset == "cifar" else 0,
           **training_settings(P, dataset, setting), "checkpoints": P["checkpoints"],
           "n_train": data["n_train"], "train_size": P[f"{dataset}_train_size"], "images": P[f"{dataset}_images"],
           "accuracy_images": P["accuracy_images"], "max_iter": P["deepfool_max_iter"],
           "candidates": P["deepfool_candidates"], "source": data["source"], "autoencoder": ae_id,
           "bn_calibration_images": BN_CALIBRATION_IMAGES}
    basis, rand = bases

    def compute() -> dict:
        s = training_settings(P, dataset, setting)
        seed_everything(seed)
        model = build_model(dataset, P["cifar_arch"], P["cifar_width"])
        x_calib = data["x_train"][:BN_CALIBRATION_IMAGES]
        fn = lambda m: measure_checkpoint(m, x_calib, data["x_dist"], basis, rand, data["x_acc"],  # noqa: E731
                                          data["y_acc"], max_iter=P["deepfool_max_iter"],
                                          candidates=P["deepfool_candidates"])
        return train_measured(model, data["x_train"], data["y_train"], seed=seed, checkpoints=P["checkpoints"],
                              measure_fn=fn, progress=progress, **s)

    return cached("distance_during_training_run", cfg, compute)


def _run_unit(context: tuple, unit: tuple[str, int]) -> dict:
    """:func:`run_one` of ``unit`` = (setting, seed), ``context`` = (P, dataset, data, bases,
    ae_id, progress): one unit of :func:`run_all` for :func:`dmmlib.parallel.map`."""
    P, dataset, data, bases, ae_id, progress = context
    setting, seed = unit
    return run_one(P, dataset, setting, seed, data, bases, ae_id, progress)


def run_all(P: Mapping[str, Any], *, progress: bool = True) -> dict:
    """Every run of the chapter: ``{dataset: {"runs": {setting: [run per seed]}, "k": int,
    "n": int, "settings": {setting: dict}, "n_train": int, "source": str, "y_dist": array}}``."""
    check_params(P)
    out = {}
    for ds in DATASETS:
        data = task_data(P, ds)
        ae = autoencoder(P["profile"], ds)
        ae_id = {k: v for k, v in getattr(ae, "zoo_info", {}).items() if k != "history"}
        bases = cached("distance_during_training_bases", {"dataset": ds, "images": P[f"{ds}_images"],
                                                          "source": data["source"], "autoencoder": ae_id},
                       lambda: tangent_bases(ae, data["x_dist"]))
        units = [(st, s) for st in SETTINGS for s in range(P["seeds"])]  # independent: a loop, or tasks on Ray
        done = parallel.map(_run_unit, units, context=(P, ds, data, bases, ae_id, progress))
        runs = {st: [r for (unit_st, _), r in zip(units, done) if unit_st == st] for st in SETTINGS}
        n, k = bases[0].shape[1:]
        out[ds] = {"runs": runs, "k": int(k), "n": int(n), "n_train": data["n_train"], "source": data["source"],
                   "settings": {st: training_settings(P, ds, st) for st in SETTINGS}, "y_dist": data["y_dist"].numpy()}
    return out


# -- summaries of a run ----------------------------------------------------------------------


def mean_finite(a: np.ndarray, axis: int = -1) -> np.ndarray:
    """Mean over ``axis`` of the finite entries (nan where none is finite)."""
    a = np.asarray(a, dtype=float)
    ok = np.isfinite(a)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, a, 0).sum(axis) / ok.sum(axis)


def curves(run: dict) -> dict:
    """Per-checkpoint means over the tracked images of one run, arrays (S,): ``distance``
    (over the images DeepFool succeeded on), ``success``, ``accuracy`` (batch norm
    recalibrated), ``distance_eval``, ``success_eval``, ``accuracy_eval`` (plain eval mode), ``r_on``, ``r_off``
    (means over successes), ``r_tan_frac`` = ||P_T r|| / ||r|| and ``r_rand_frac`` (means
    over successes), ``g_tan``, ``g_rand``; with ``steps`` and ``epochs``."""
    ok = run["converged"]
    d = np.where(ok, run["distance"], np.nan)
    norm = np.where(ok & (run["distance"] > 0), np.hypot(run["r_on"], run["r_off"]), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):  # 0/0 (no perturbation recorded): nan, dropped below
        r_tan_frac, r_rand_frac = run["r_on"] / norm, run["r_rand"] / norm
    ok_eval = run.get("converged_eval", ok)  # absent: a network without batch norm, measured once
    d_eval, acc_eval = run.get("distance_eval", run["distance"]), run.get("accuracy_eval", run["accuracy"])
    return {"steps": run["steps"], "epochs": run["epochs"], "distance": mean_finite(d), "success": ok.mean(1),
            "accuracy": np.asarray(run["accuracy"], dtype=float),
            "distance_eval": mean_finite(np.where(ok_eval, d_eval, np.nan)),
            "success_eval": ok_eval.mean(1), "accuracy_eval": np.asarray(acc_eval, dtype=float),
            "r_on": mean_finite(np.where(ok, run["r_on"], np.nan)), "r_off": mean_finite(np.where(ok, run["r_off"], np.nan)),
            "r_tan_frac": mean_finite(r_tan_frac), "r_rand_frac": mean_finite(r_rand_frac),
            "g_tan": mean_finite(run["g_tan"]), "g_rand": mean_finite(run["g_rand"])}
