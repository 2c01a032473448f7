"""Does classifying D(E(x)) instead of x defend? Minimal adversarial distances and detection.

For test images x that both the plain classifier f and the defended one g(x) = f(clamp(D(E(x))))
classify correctly (:mod:`defence`), with the autoencoder's tangent space M at E(x) (the decoder's
Jacobian, :func:`dmmlib.manifold.local_tangent_basis`, as the on/off chapter builds it), per image:

- ``plain``: the minimal L2 distance of f (:func:`dmmlib.attacks.minimal_norm.fmn_l2`);
- ``on``: the same within M (``basis_mode="on"``), the on-manifold distance of the on/off
  chapter's tables 1-2, with the same kernel;
- ``transfer``: the non-adaptive attack: f's adversarial example fed to g: does it still fool?
- ``adaptive``: the minimal distance of g, attacked end to end through the autoencoder;
- gradient-masking check: g attacked again with ``check_step_factor`` times the passes
  (``long``), and from ``restarts`` random starts (:func:`attacks.restart_fmn`); ``best`` is the
  smallest adversarial distance of g any of them (or the transfer) found;
- detection: the reconstruction error ||z - D(E(z))|| of the clean image, of f's adversarial
  example, of g's adaptive one and of the penalised attack (:func:`attacks.penalised_sweep`,
  warm-started at the adaptive example, over several weights) that also minimises it;
- the norm ratio R(delta, M) = ||delta|| / ||Proj_M delta|| of the plain and adaptive perturbations.

Distances are L2 norms of [0,1]-scaled pixels; ``inf`` marks a failed attack (censored, counted).
"""
from __future__ import annotations

import math
from typing import Any, Mapping, NamedTuple

import torch
from torch import Tensor, nn

from dmmlib.attacks.minimal_norm import fmn_l2
from dmmlib.cache import cached, model_fingerprint
from dmmlib.chapters.manifold_projection.attacks import penalised_sweep, restart_fmn
from dmmlib.chapters.manifold_projection.defence import Projected, reconstruction_error, select_correct
from dmmlib.device import get_device, seed_everything
from dmmlib.evaluate import accuracy, predict
from dmmlib.manifold import local_tangent_basis, norm_ratio
from dmmlib.progress import progress as tqdm

DATASETS = ("mnist", "cifar10")
CIFAR_CLASSES = (0, 1)  # airplane, automobile: the classes the CIFAR autoencoder is trained on (App. D.3)
CHUNK = 100  # images attacked at once (bounds the memory of the tangent bases)
_CODE = ("dmmlib.chapters.manifold_projection.experiment", "dmmlib.chapters.manifold_projection.attacks",
         "dmmlib.chapters.manifold_projection.defence", "dmmlib.attacks.minimal_norm", "dmmlib.manifold")


class Unit(NamedTuple):
    """One model unit: the plain classifier, the autoencoder, the defended classifier, the test
    images x (N, C, H, W) in [0, 1] and labels y (N,) they are evaluated on, and a description."""

    dataset: str
    unit: int
    classifier: nn.Module
    autoencoder: nn.Module
    defended: Projected
    x: Tensor
    y: Tensor
    info: dict


def load_unit(dataset: str, P: Mapping[str, Any], unit: int = 0) -> Unit:
    """The shared models of model ``unit`` of ``dataset`` (MNIST: classifier and autoencoder of
    seed ``unit``; CIFAR-10: the pretrained ResNet and the autoencoder of seed ``unit``) under the
    resolved parameters ``P``, and the test images (CIFAR-10: airplane and automobile)."""
    from dmmlib import zoo

    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}")
    if not 0 <= unit < P["models"][dataset]:
        raise ValueError(f"unit must be in [0, {P['models'][dataset]}) for {dataset}, got {unit}")
    if dataset == "mnist":
        from dmmlib.data.mnist import load_mnist

        test = load_mnist("test")
        clf = zoo.mnist_classifier(P["models_profile"], seed=unit)
        ae = zoo.mnist_autoencoder(P["models_profile"], seed=unit)
        info = {"test": test.source, "classifier": f"MNIST MLP, seed {unit}", "autoencoder seed": unit}
    else:
        from dmmlib.data.cifar10 import load_cifar10

        test = load_cifar10("test", CIFAR_CLASSES)
        clf = zoo.cifar_classifier(P["cifar_depth"])
        ae = zoo.cifar_autoencoder(P["models_profile"], seed=unit)
        info = {"test": test.source, "classifier": f"pretrained ResNet-{P['cifar_depth']}", "autoencoder seed": unit}
    return Unit(dataset, unit, clf, ae, Projected(clf, ae).eval(), test.x, test.y, info)


def attack_settings(P: Mapping[str, Any], dataset: str) -> dict:
    """The attack settings of ``dataset`` from the chapter's parameters ``P``."""
    return {"mn_steps": P["mn_steps"], "mn_step": P["mn_step"][dataset], "check_step_factor": P["check_step_factor"],
            "restarts": P["restarts"], "restart_radius": P["restart_radius"], "penalties": [float(v) for v in P["penalties"]],
            "penalty_steps": P["penalty_steps"], "penalty_radius": P["penalty_radius"]}


_CFG_KEYS = set(attack_settings({"mn_steps": 1, "mn_step": {"d": 1}, "check_step_factor": 2, "restarts": 1,
                                 "restart_radius": 1, "penalties": [1.0], "penalty_steps": 1, "penalty_radius": 1},
                                "d"))


def measure(defended: Projected, x: Tensor, y: Tensor, cfg: Mapping[str, Any], *, seed: int = 0,
            progress: bool = False) -> dict[str, Tensor]:
    """Every per-image measurement of the chapter (see the module docstring) for images x
    (N, C, H, W) in [0, 1] with labels y (N,), both classified correctly by ``defended`` and by
    ``defended.classifier``; cfg: :func:`attack_settings`; seed fixes the random restarts.

    Returns ``{key: tensor (N, ...)}`` on the CPU: "dist/<attack>" (N,) minimal distances (inf:
    failed) for plain, on, adaptive, long, best and penalised, "dist/restarts" (restarts, N)
    transposed to (N, restarts), "transfer_fools" (N,) bool, "recon/<which>" (N,) reconstruction
    errors (clean, plain, adaptive, penalised; nan where the attack failed), "R/<plain|adaptive>"
    (N,) norm ratios against M, and "x_adv/<plain|adaptive|penalised>" (N, C, H, W).
    """
    _check(defended, x, y, cfg)
    seed_everything(seed)
    gen = torch.Generator().manual_seed(seed)
    dev = get_device()
    parts = []
    chunks = list(torch.arange(len(x)).split(CHUNK))
    for idx in tqdm(chunks, desc="projection defence", disable=not progress):
        parts.append(_chunk(defended, x[idx].to(dev), y[idx].to(dev), cfg, gen))
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}


def _chunk(g: Projected, x: Tensor, y: Tensor, cfg: Mapping[str, Any], gen: torch.Generator) -> dict[str, Tensor]:
    f, ae = g.classifier, g.autoencoder
    mn = dict(steps=cfg["mn_steps"], step_size=cfg["mn_step"])
    with torch.no_grad():
        codes = ae.encode(x)
    U = local_tangent_basis(ae.decode, codes)  # (b, n, k): the on/off chapter's tangent space
    plain = fmn_l2(f, x, y, **mn)
    on = fmn_l2(f, x, y, basis=U, basis_mode="on", **mn)
    with torch.no_grad():
        fools = plain.success & (g(plain.x_adv).argmax(1) != y)
    transfer = torch.where(fools, plain.norm, torch.full_like(plain.norm, math.inf))
    adaptive = fmn_l2(g, x, y, **mn)
    long = fmn_l2(g, x, y, steps=cfg["mn_steps"] * cfg["check_step_factor"], step_size=cfg["mn_step"])
    # random starts at a share of the image's adaptive distance (its plain one where that failed)
    scale = torch.where(adaptive.success, adaptive.norm, torch.where(plain.success, plain.norm, torch.ones_like(plain.norm)))
    restarts = restart_fmn(g, x, y, cfg["restart_radius"] * scale, restarts=cfg["restarts"], generator=gen, **mn).to(x.device)
    best = torch.stack([adaptive.norm, long.norm, transfer, *restarts]).amin(dim=0)
    pen = penalised_sweep(g, x, y, cfg["penalty_radius"] * scale, penalties=cfg["penalties"],
                          steps=cfg["penalty_steps"], start=torch.where(adaptive.success.view(-1, *[1] * (x.dim() - 1)),
                                                                         adaptive.delta, torch.zeros_like(x)))
    nan = torch.full_like(plain.norm, math.nan)
    rec = lambda z, ok: torch.where(ok, reconstruction_error(ae, z).to(x.device), nan)  # noqa: E731
    out = {
        "label": y,
        "dist/plain": plain.norm, "dist/on": on.norm, "dist/adaptive": adaptive.norm, "dist/long": long.norm,
        "dist/best": best, "dist/penalised": pen.norm, "dist/transfer": transfer, "dist/restarts": restarts.T,
        "transfer_fools": fools,
        "recon/clean": reconstruction_error(ae, x).to(x.device), "recon/plain": rec(plain.x_adv, plain.success),
        "recon/adaptive": rec(adaptive.x_adv, adaptive.success), "recon/penalised": pen.recon_error,
        "R/plain": torch.where(plain.success, norm_ratio(plain.delta, U), nan),
        "R/adaptive": torch.where(adaptive.success, norm_ratio(adaptive.delta, U), nan),
        "x_adv/plain": plain.x_adv, "x_adv/adaptive": adaptive.x_adv, "x_adv/penalised": pen.x_adv,
    }
    return {k: v.detach().cpu() for k, v in out.items()}


def run_unit(u: Unit, P: Mapping[str, Any], *, progress: bool = True) -> dict[str, Any]:
    """:func:`measure` on ``P["n_images"][dataset]`` images of the unit (block ``unit`` of the
    images both classifiers get right), and the unit's setup checks, cached:
    ``{"records": {...}, "accuracy", "defended_accuracy" (shares of the test images),
    "ae_error" (mean ||x - D(E(x))|| over the test images), "index", "unit"}``."""
    cfg = attack_settings(P, u.dataset)
    n = P["n_images"][u.dataset]
    key = {"dataset": u.dataset, "unit": u.unit, "n": n, "cfg": cfg, "info": u.info,
           "classifier": model_fingerprint(u.classifier), "autoencoder": model_fingerprint(u.autoencoder)}

    def compute() -> dict[str, Any]:
        idx = select_correct([u.classifier, u.defended], u.x, u.y, n, u.unit)
        rec = measure(u.defended, u.x[idx], u.y[idx], cfg, seed=u.unit, progress=progress)
        rec["index"] = idx
        rec["unit"] = torch.full((len(idx),), u.unit)
        return {"records": rec, "accuracy": accuracy(u.classifier, u.x, u.y),
                "defended_accuracy": accuracy(u.defended, u.x, u.y),
                "ae_error": float(reconstruction_error(u.autoencoder, u.x).mean())}

    return cached("manifold_projection", key, compute, code=_CODE)


def run(P: Mapping[str, Any], *, progress: bool = True) -> dict[str, dict[str, Any]]:
    """Every unit of every data set of ``P["datasets"]``: ``{dataset: {"records": concatenated
    records (the "unit" record says whose), "accuracy", "defended_accuracy", "ae_error" (per unit,
    lists), "ae_history" (the autoencoders' training losses), "units", "images", "info"}}``."""
    out = {}
    for ds in P["datasets"]:
        units = [load_unit(ds, P, u) for u in range(P["models"][ds])]
        runs = [run_unit(u, P, progress=progress) for u in units]
        recs = {k: torch.cat([r["records"][k] for r in runs]) for k in runs[0]["records"]}
        out[ds] = {"records": recs, "accuracy": [r["accuracy"] for r in runs],
                   "defended_accuracy": [r["defended_accuracy"] for r in runs],
                   "ae_error": [r["ae_error"] for r in runs],
                   "ae_history": [u.autoencoder.zoo_info.get("history", {}).get("loss", []) for u in units],
                   "units": len(units), "images": len(recs["label"]), "info": [u.info for u in units],
                   "x": torch.cat([u.x[r["records"]["index"]] for u, r in zip(units, runs)])}
    return out


def _check(defended, x, y, cfg) -> None:
    if not isinstance(defended, Projected):
        raise TypeError(f"defended must be a Projected classifier, got {type(defended).__name__}")
    if not isinstance(x, Tensor) or x.dim() != 4 or len(x) == 0:
        raise ValueError(f"x must be a non-empty image batch (N, C, H, W), got {tuple(getattr(x, 'shape', ()))}")
    if not isinstance(y, Tensor) or y.shape != (len(x),):
        raise ValueError(f"y must have shape ({len(x)},), got {tuple(getattr(y, 'shape', ()))}")
    missing = _CFG_KEYS - set(cfg)
    if missing:
        raise ValueError(f"cfg lacks {sorted(missing)}; build it with attack_settings(P, dataset)")
