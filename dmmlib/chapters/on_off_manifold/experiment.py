"""Adversarial perturbations on and off an autoencoder's local image manifold (section 7,
appendices E.2, E.3 and F of the Dimpled Manifold paper), with control subspaces.

For correctly classified test images x, with the autoencoder's code c = E(x), its
reconstruction x' = D(c) and the decoder's tangent space M at c (a k-dimensional subspace
of the n-dimensional image space, orthonormal basis (n, k)):

- table 1 (E.2): a multi-step L2 PGD perturbation d (margin loss, greedy), its norm ratio
  R(d, M) = ||d|| / ||Proj_M d|| and the on-manifold relative effect E (evaluated at x', as
  the paper writes it);
- table 2 (E.3): the L2 distance of the adversarial examples found by unconstrained PGD and
  by PGD whose gradient steps are projected on / off M (appendix F).

The same measures are computed for control subspaces of the same k ("random": a uniformly
random subspace per image; "pca": the top-k principal directions of training images;
"other": the tangent space of another test image), for the tangent space computed the other
way (exact Jacobian vs the paper's finite differences: "tangent_fd" or "tangent_jvp"), and
with the attack started at x' instead of x ("recon/..."; M is the tangent space *at x'*, so
there the local linear manifold passes through the attacked point).

:func:`experiment` returns per-image records: a flat dict ``{key: tensor (N, ...)}``; the
table functions turn records into pandas tables with bootstrap intervals. Distances are L2
norms of [0,1]-scaled pixels.
"""
from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path
from typing import Any, Callable, Mapping, NamedTuple

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from dmmlib.attacks.pgd import pgd
from dmmlib.evaluate import as_logits
from dmmlib.cache import cached
from dmmlib.data.paths import MissingDataError
from dmmlib.device import seed_everything
from dmmlib.manifold import local_tangent_basis, norm_ratio, project_onto, relative_effect
from dmmlib.models.normalized import Normalized  # noqa: F401  (re-exported as oom.Normalized)
from dmmlib.stats import bootstrap_ci, paired_test, success_rate
from dmmlib.subspaces import expected_random_ratio, other_image_subspace, pca_subspace, random_subspace

DATASETS = ("mnist", "cifar10", "imagenet")
CONTROLS = ("random", "pca", "other")
CIFAR_CLASSES = (0, 1)  # airplane, automobile: the autoencoder's classes (appendix D.3)
IMAGENET_CLASSES = (1, 2)  # goldfish, great white shark

# the paper's numbers (tables 1 and 2, appendix G), printed beside ours
PAPER_TABLE1 = {  # sqrt(n/k), mean R(d, M), on-manifold relative effect E
    "mnist": (7.0, 3.68, 0.08), "cifar10": (4.89, 5.59, 0.04), "imagenet": (6.48, 5.5, 0.02)}
PAPER_TABLE2 = {  # mean L2 distance: unconstrained, on-manifold, off-manifold PGD
    "mnist": (1.01, 3.68, 1.05), "cifar10": (0.3, 1.87, 0.305), "imagenet": (0.149, 0.849, 0.152)}
PAPER_TABLE2_PCT = {"mnist": (364, 103), "cifar10": (623, 101), "imagenet": (570, 102)}  # as printed
PAPER_ACCURACY = {"mnist": 0.98, "cifar10": 0.93}
PAPER_AE_ERROR = {"mnist": 2.1, "cifar10": 7.88, "imagenet": 38.7601}  # mean ||x - D(E(x))||
_CODE = ("dmmlib.chapters.on_off_manifold.experiment", "dmmlib.attacks.pgd", "dmmlib.manifold", "dmmlib.subspaces")


class Setup(NamedTuple):
    """A dataset's classifier (images in [0, 1] -> logits), autoencoder (``encode``/``decode``),
    test images x (N, C, H, W) and labels y (N,) of the evaluated classes, the training
    images used for the PCA control, class names and a description of the sources."""

    dataset: str
    classifier: nn.Module
    autoencoder: nn.Module
    x: Tensor
    y: Tensor
    train_x: Tensor
    class_names: tuple[str, ...]
    info: dict


# -- models and data ------------------------------------------------------------------------


def load_setup(dataset: str, P: Mapping[str, Any]) -> Setup:
    """The models and test images of ``dataset`` ("mnist", "cifar10" or "imagenet") under the
    chapter's resolved parameters ``P``. ImageNet raises :class:`MissingDataError` saying what
    is missing (see :func:`imagenet_missing`)."""
    from dmmlib import zoo

    if dataset == "mnist":
        from dmmlib.data.mnist import load_mnist

        test, train = load_mnist("test"), load_mnist("train")
        clf, ae = zoo.mnist_classifier(P["models_profile"]), zoo.mnist_autoencoder(P["models_profile"])
        names = tuple(str(i) for i in range(10))
        return Setup(dataset, clf, ae, test.x, test.y, train.x, names, {"test": test.source, "train": train.source})
    if dataset == "cifar10":
        from dmmlib.data.cifar10 import CLASSES, load_cifar10

        test, train = load_cifar10("test", CIFAR_CLASSES), load_cifar10("train", CIFAR_CLASSES)
        clf, ae = zoo.cifar_classifier(P["cifar_depth"]), zoo.cifar_autoencoder(P["models_profile"])
        return Setup(dataset, clf, ae, test.x, test.y, train.x, CLASSES, {"test": test.source, "train": train.source})
    if dataset == "imagenet":
        return _imagenet_setup(P)
    raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}")


def _imagenet_setup(P: Mapping[str, Any]) -> Setup:
    """Test images: the ``val`` split of the ImageNet folder (the folder itself when it has no
    split folders); training images (for the PCA control; the autoencoder is trained on them
    too, see :func:`dmmlib.zoo.imagenet_autoencoder`): the ``train`` split, the first
    ceil(pca_size / 2) files of each class by name (pca_size 0: all)."""
    from dmmlib import zoo
    from dmmlib.data.imagenet import load_imagenet_pair

    root = P["imagenet_path"] or os.environ.get("DMM_IMAGENET") or None
    if imagenet_missing(root or "", weights=False):  # say everything that is missing, weights too
        raise MissingDataError("ImageNet experiment not run: " + "; ".join(imagenet_missing(root or "")))
    try:
        clf = zoo.imagenet_classifier()
    except MissingDataError as err:
        raise MissingDataError(f"ImageNet experiment not run: {err}") from err
    test = load_imagenet_pair(root, "val")
    train = load_imagenet_pair(root, "train", per_class=math.ceil(P["pca_size"] / 2) if P["pca_size"] > 0 else None)
    ae = zoo.imagenet_autoencoder(P["models_profile"], root=root)
    names = {1: "goldfish", 2: "great white shark"}
    class_names = tuple(names.get(i, str(i)) for i in range(1000))
    info = {"test": test.source, "train": train.source, "classifier": clf.zoo_info["source"]}
    if not any((Path(root) / split).is_dir() for split in ("val", "train")):
        info["warning"] = f"{root} has no val/train split folders: the test images also trained the autoencoder and PCA"
    return Setup("imagenet", clf, ae, test.x, test.y, train.x, class_names, info)


def imagenet_missing(path: str, *, weights: bool = True) -> list[str]:
    """What the ImageNet rows lack on this machine (empty list: everything is there): an
    ImageNet folder (``path``, else ``$DMM_IMAGENET``) whose ``val`` split (test images) and
    ``train`` split (autoencoder and PCA) hold the goldfish (n01443537) and great white shark
    (n01484850) class folders with images (a folder without split folders serves as both), and,
    with ``weights``, a local ResNet-50 weight file found as :func:`dmmlib.zoo.find_resnet50_weights`
    finds it (:func:`dmmlib.zoo.imagenet_classifier` can still download it when online)."""
    from dmmlib import zoo
    from dmmlib.data.imagenet import PAIR

    missing = []
    root = path or os.environ.get("DMM_IMAGENET", "")
    if not root:
        missing.append("no ImageNet folder (set the parameter imagenet_path or $DMM_IMAGENET)")
    elif not Path(root).is_dir():
        missing.append(f"the ImageNet folder {root} does not exist")
    else:
        for split, use in (("val", "test images"), ("train", "autoencoder and PCA training images")):
            base = Path(root) / split if (Path(root) / split).is_dir() else Path(root)
            absent = [w for w in PAIR if not _has_images(base / w)]
            if absent:
                missing.append(f"no images of class folder(s) {', '.join(absent)} under {base} ({split} split: {use})")
    if weights:
        try:
            zoo.find_resnet50_weights()
        except MissingDataError as err:
            missing.append(f"{err} (torchvision can download them when online)")
    return missing


def _has_images(folder: Path) -> bool:
    from dmmlib.data.imagenet import _EXTENSIONS

    return folder.is_dir() and any(p.suffix.lower() in _EXTENSIONS for p in folder.iterdir())


def predict(model: Callable[[Tensor], Tensor], x: Tensor, batch_size: int = 256) -> Tensor:
    """Predicted labels (N,) of images x (N, ...), in batches, on the model's device."""
    device = _device_of(model)
    out = []
    with torch.no_grad():
        for xb in x.split(batch_size):
            out.append(as_logits(model, xb.to(device)).argmax(1).cpu())
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.long)


def test_accuracy(setup: Setup) -> float:
    """:func:`accuracy` of the setup's classifier on its test images, cached by model fingerprint."""
    params = {"dataset": setup.dataset, "test": setup.info.get("test"), "model": model_fingerprint(setup.classifier)}
    return cached("on_off_accuracy", params, lambda: accuracy(setup.classifier, setup.x, setup.y), code=("dmmlib.chapters.on_off_manifold.experiment",))


def accuracy(model: Callable[[Tensor], Tensor], x: Tensor, y: Tensor, batch_size: int = 256) -> float:
    """Share of images x (N, ...) whose predicted label equals y (N,)."""
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y must be non-empty with equal lengths, got {len(x)} and {len(y)}")
    return float((predict(model, x, batch_size) == y.cpu()).float().mean())


def select_correct(model, x: Tensor, y: Tensor, n: int, seed: int, *, batch_size: int = 256) -> Tensor:
    """Indices (n,) of correctly classified images: the ``seed``-th block of n in a fixed random
    order (seed 0 takes the first n correct images, seed 1 the next n, ...), so seeds draw
    disjoint images. Raises ValueError if there are not enough correct images."""
    if n < 1 or seed < 0:
        raise ValueError(f"need n >= 1 and seed >= 0, got n={n}, seed={seed}")
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(12345))
    need, found = (seed + 1) * n, []
    for chunk in order.split(max(batch_size, need)):
        ok = predict(model, x[chunk], batch_size) == y[chunk]
        found.append(chunk[ok])
        if sum(len(f) for f in found) >= need:
            break
    found = torch.cat(found)
    if len(found) < need:
        raise ValueError(f"only {len(found)} correctly classified images, need {need} (n={n}, seed={seed})")
    return found[seed * n : need]


def pca_basis(setup: Setup, k: int, size: int, seed: int = 0) -> Tensor:
    """Top-k principal directions (n, k) of ``size`` training images (0: all), cached."""
    data = setup.train_x
    if 0 < size < len(data):
        data = data[torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:size]]
    params = {"dataset": setup.dataset, "train": setup.info.get("train"), "n": len(data), "k": k, "seed": seed}
    return cached("on_off_pca", params, lambda: pca_subspace(data, k), code=("dmmlib.subspaces", "dmmlib.chapters.on_off_manifold.experiment"))


def model_fingerprint(model: nn.Module) -> str:
    """SHA-256 (hex, 16 chars) of a model's parameters and buffers: a cache key part."""
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


# -- the experiment ---------------------------------------------------------------------------


def attack_settings(P: Mapping[str, Any], dataset: str) -> dict:
    """The attack and basis settings of ``dataset`` from the chapter's parameters ``P``."""
    return {
        "t1_eps": P["t1_eps"][dataset], "t1_step": P["t1_step"][dataset], "t1_steps": P["t1_steps"],
        "t2_eps": P["t2_eps"][dataset], "t2_step": P["t2_step"][dataset], "t2_steps": P["t2_steps"],
        "on_step_factor": P["on_step_factor"], "basis_method": P["basis_method"], "fd_eps": P["fd_eps"],
        "controls": list(P["controls"]), "compare_fd": P["compare_fd"], "compare_recon": P["compare_recon"],
        "batch_size": P["batch_size"][dataset],
    }


def experiment(
    classifier: Callable[[Tensor], Tensor],
    autoencoder: nn.Module,
    x: Tensor,
    y: Tensor,
    cfg: Mapping[str, Any],
    *,
    pca: Tensor | None = None,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, Tensor]:
    """Tables 1 and 2 and their controls for images x (N, C, H, W) in [0, 1] with labels y (N,).

    Args:
        classifier: images -> logits (eval mode). autoencoder: has ``encode`` (N, ...) -> (N, k)
            and ``decode`` (N, k) -> (N, ...).
        x, y: correctly classified images and their labels.
        cfg: :func:`attack_settings` (eps, step sizes and step counts of tables 1 and 2;
            basis_method, fd_eps, controls, compare_fd, compare_recon, batch_size).
        pca: (n, k) PCA basis, required when "pca" is among the controls.
        seed: fixes the random control subspaces.

    Returns:
        Per-image records (all on the CPU, first dimension N): "label", "ae_error" (||x - x'||),
        "t1/..." (table 1: "d", "d_on", "success", "target", "d_norm", "R/<space>", "E/<space>",
        "E_at_x/tangent"), "t2/..." ("none/dist", "none/success", "<on|off>/<space>/dist" and
        "/success", example deltas "none/d", "on/tangent/d", "off/tangent/d"), and with
        compare_recon "recon/..." (the same for the attack at x', "recon/valid": x' correctly
        classified). <space> is "tangent", a control, or "tangent_fd"/"tangent_jvp".
    """
    _check_inputs(x, y, cfg, pca)
    seed_everything(seed)
    gen = torch.Generator().manual_seed(seed)
    device = _device_of(classifier)
    n_chunks = max(1, math.ceil(len(x) / cfg["batch_size"]))
    chunks = [c for c in torch.arange(len(x)).tensor_split(n_chunks) if len(c)]
    parts = []
    for idx in tqdm(chunks, desc="on/off-manifold experiment", disable=not progress):
        xb, yb = x[idx].to(device), y[idx].to(device)
        parts.append({k: v.cpu() for k, v in _chunk(classifier, autoencoder, xb, yb, cfg, pca, gen).items()})
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}


def _chunk(model, ae, x, y, cfg, pca, gen) -> dict[str, Tensor]:
    rec: dict[str, Tensor] = {"label": y}
    with torch.no_grad():
        codes = ae.encode(x)
        xr = ae.decode(codes).reshape(x.shape).clamp(0, 1)
    rec["ae_error"] = (x - xr).flatten(1).norm(dim=1)
    bases = _bases(ae, codes, x, cfg, pca, gen)
    rec.update(_table1(model, x, y, xr, bases, cfg, "t1"))
    rec.update(_table2(model, x, y, bases, cfg, "t2"))
    if cfg["compare_recon"]:
        with torch.no_grad():
            valid = as_logits(model, xr).argmax(1) == y
        rec["recon/valid"] = valid
        tangent = {"tangent": bases["tangent"]}
        rec.update(_table1(model, xr, y, xr, tangent, cfg, "recon/t1", with_images=False))
        rec.update(_table2(model, xr, y, tangent, cfg, "recon/t2", with_images=False))
    return rec


def _bases(ae, codes, x, cfg, pca, gen) -> dict[str, Tensor]:
    """{space: (b, n, k) orthonormal basis} for the tangent space and the controls."""
    b, n = x.shape[0], x[0].numel()
    method, alt = cfg["basis_method"], ("fd" if cfg["basis_method"] != "fd" else "jvp")
    U = local_tangent_basis(ae.decode, codes, method=method, fd_eps=cfg["fd_eps"])
    k = U.shape[2]
    bases = {"tangent": U}
    for name in cfg["controls"]:
        if name == "random":
            bases[name] = random_subspace(n, k, batch=b, generator=gen, dtype=x.dtype, device=x.device)
        elif name == "pca":
            bases[name] = pca.to(x).unsqueeze(0).expand(b, n, k)
        elif name == "other":
            bases[name] = other_image_subspace(U)
    if cfg["compare_fd"]:
        bases[f"tangent_{alt}"] = local_tangent_basis(ae.decode, codes, method=alt, fd_eps=cfg["fd_eps"])
    return bases


def _table1(model, x, y, x_eval, bases, cfg, prefix, with_images=True) -> dict[str, Tensor]:
    """Unconstrained L2 PGD at x (table-1 settings); R and E (at x_eval) for every basis."""
    r = pgd(model, x, y, norm="l2", eps=cfg["t1_eps"], step_size=cfg["t1_step"], steps=cfg["t1_steps"], loss="margin")
    d = r.delta
    with torch.no_grad():
        target = as_logits(model, x + d).argmax(1)
    target = torch.where(r.success, target, _runner_up(model, x, y))
    out = {f"{prefix}/success": r.success, f"{prefix}/target": target, f"{prefix}/d_norm": d.flatten(1).norm(dim=1)}
    for name, U in bases.items():
        out[f"{prefix}/R/{name}"] = norm_ratio(d, U)
        out[f"{prefix}/E/{name}"] = relative_effect(model, x_eval, d, U, y, target)
    if with_images:
        out[f"{prefix}/E_at_x/tangent"] = relative_effect(model, x, d, bases["tangent"], y, target)
        out[f"{prefix}/d"] = d
        out[f"{prefix}/d_on"] = project_onto(d, bases["tangent"])
    return out


def _table2(model, x, y, bases, cfg, prefix, with_images=True) -> dict[str, Tensor]:
    """Unconstrained, on-manifold and off-manifold L2 PGD (table-2 settings) for every basis."""
    common = dict(norm="l2", eps=cfg["t2_eps"], steps=cfg["t2_steps"], loss="margin")
    out = {}
    r = pgd(model, x, y, step_size=cfg["t2_step"], **common)
    out.update(_dist(prefix + "/none", r, with_images))
    for name, U in bases.items():
        on = pgd(model, x, y, step_size=cfg["t2_step"] * cfg["on_step_factor"], basis=U, basis_mode="on", **common)
        off = pgd(model, x, y, step_size=cfg["t2_step"], basis=U, basis_mode="off", **common)
        keep_images = with_images and name == "tangent"
        out.update(_dist(f"{prefix}/on/{name}", on, keep_images))
        out.update(_dist(f"{prefix}/off/{name}", off, keep_images))
        # how far the [0, 1] clamp took the constrained iterates out of / into the subspace
        out[f"{prefix}/on/{name}/R"] = norm_ratio(on.delta, U)
        out[f"{prefix}/off/{name}/R"] = norm_ratio(off.delta, U)
    return out


def _dist(key: str, r, with_images: bool) -> dict[str, Tensor]:
    out = {f"{key}/dist": r.delta.flatten(1).norm(dim=1), f"{key}/success": r.success}
    if with_images:
        out[f"{key}/d"] = r.delta
    return out


def _runner_up(model, x, y) -> Tensor:
    """The highest-scoring wrong class at x (the target of E when an attack failed)."""
    with torch.no_grad():
        z = as_logits(model, x).scatter(1, y[:, None], -math.inf)
    return z.argmax(1)


def run_dataset(setup: Setup, P: Mapping[str, Any], seed: int, *, progress: bool = True) -> dict[str, Tensor]:
    """:func:`experiment` on ``P["n_images"][dataset]`` correctly classified images of seed
    ``seed`` (disjoint across seeds), cached; the records also hold "index" (into setup.x)."""
    cfg = attack_settings(P, setup.dataset)
    n = P["n_images"][setup.dataset]
    params = {
        "dataset": setup.dataset, "seed": seed, "n": n, "cfg": cfg, "pca_size": P["pca_size"], "info": setup.info,
        "classifier": model_fingerprint(setup.classifier), "autoencoder": model_fingerprint(setup.autoencoder),
    }

    def compute() -> dict[str, Tensor]:
        idx = select_correct(setup.classifier, setup.x, setup.y, n, seed)
        k = setup.autoencoder.latent_dim if hasattr(setup.autoencoder, "latent_dim") else None
        pca = pca_basis(setup, k, P["pca_size"]) if "pca" in cfg["controls"] else None
        rec = experiment(setup.classifier, setup.autoencoder, setup.x[idx], setup.y[idx], cfg, pca=pca, seed=seed,
                         progress=progress)
        rec["index"] = idx
        rec["seed"] = torch.full((len(idx),), seed)
        return rec

    return cached("on_off_manifold", params, compute, code=_CODE + ("dmmlib.stats",))


def run_seeds(setup: Setup, P: Mapping[str, Any], *, progress: bool = True) -> dict[str, Tensor]:
    """:func:`run_dataset` for seeds 0 .. P["seeds"]-1, concatenated."""
    parts = [run_dataset(setup, P, s, progress=progress) for s in range(P["seeds"])]
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}


# -- extra measurements for the figures --------------------------------------------------------


def logits_along_line(model: Callable[[Tensor], Tensor], x0: Tensor, x1: Tensor, steps: int = 100) -> Tensor:
    """Logits f((1 - t) x0 + t x1) for t = 0, 1/steps, ..., 1: (B, steps + 1, C) for x0, x1 (B, ...)."""
    if x0.shape != x1.shape:
        raise ValueError(f"x0 and x1 must have the same shape, got {tuple(x0.shape)} and {tuple(x1.shape)}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    t = torch.linspace(0, 1, steps + 1, dtype=x0.dtype, device=x0.device).view(1, -1, *([1] * (x0.dim() - 1)))
    pts = (1 - t) * x0.unsqueeze(1) + t * x1.unsqueeze(1)  # (B, T, ...)
    with torch.no_grad():
        z = as_logits(model, pts.flatten(0, 1))
    return z.view(x0.shape[0], steps + 1, -1)


def l2_and_linf(model, x: Tensor, y: Tensor, *, eps_l2: float, step_l2: float, eps_linf: float, steps: int):
    """Greedy margin-loss PGD in L2 (eps_l2, step_l2) and in L-inf (eps_linf, step eps_linf / 10)
    at the same images (appendix H): returns (delta_l2, delta_linf, success_l2, success_linf)."""
    a = pgd(model, x, y, norm="l2", eps=eps_l2, step_size=step_l2, steps=steps)
    b = pgd(model, x, y, norm="linf", eps=eps_linf, step_size=eps_linf / 10, steps=steps)
    return a.delta, b.delta, a.success, b.success


# -- tables -----------------------------------------------------------------------------------


def spaces(records: Mapping[str, Tensor]) -> list[str]:
    """The subspaces in ``records`` ("tangent" first), from the keys "t1/R/<space>"."""
    names = [k.split("/")[2] for k in records if k.startswith("t1/R/")]
    return sorted(names, key=lambda s: (s != "tangent", s.startswith("tangent"), s))


def _np(t: Tensor) -> np.ndarray:
    return t.detach().cpu().double().numpy() if t.is_floating_point() else t.detach().cpu().numpy()


def _ci(values: np.ndarray, n_boot: int, seed: int = 0) -> tuple[float, float, float, int]:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return (float("nan"),) * 3 + (0,)
    if values.size == 1:
        return float(values[0]), float("nan"), float("nan"), 1
    ci = bootstrap_ci(values, n_boot=n_boot, seed=seed)
    return ci.estimate, ci.lo, ci.hi, ci.n


def _seed_means(values: np.ndarray, seeds: np.ndarray) -> list[float]:
    ok = np.isfinite(values)
    return [float(values[ok & (seeds == s)].mean()) if (ok & (seeds == s)).any() else float("nan") for s in np.unique(seeds)]


def table1(records: Mapping[str, Tensor], dataset: str, n: int, k: int, *, n_boot: int = 2000, prefix: str = "t1") -> pd.DataFrame:
    """Table 1 for every subspace: mean R(d, M) and mean E with 95 % bootstrap intervals over the
    images whose attack succeeded, per-seed means, and the paper's values (tangent row).

    ``n``, ``k``: image and manifold dimensions (for sqrt(n/k) and the exact E[R] of a random vector).
    """
    ok = _np(records[f"{prefix}/success"]).astype(bool)
    if prefix.startswith("recon"):
        ok &= _np(records["recon/valid"]).astype(bool)
    seeds = _np(records["seed"]) if "seed" in records else np.zeros(len(ok), dtype=int)
    paper = PAPER_TABLE1.get(dataset, (float("nan"),) * 3)
    rows = []
    for space in [s for s in spaces(records) if f"{prefix}/R/{s}" in records]:
        R = _np(records[f"{prefix}/R/{space}"])[ok]
        E = _np(records[f"{prefix}/E/{space}"])[ok]
        r, rlo, rhi, nr = _ci(R, n_boot)
        e, elo, ehi, _ = _ci(E, n_boot)
        rows.append({
            "space": space, "images": int(nr), "sqrt(n/k)": math.sqrt(n / k), "E[R] random": expected_random_ratio(n, k),
            "R mean": r, "R lo": rlo, "R hi": rhi, "R median": float(np.median(R)) if R.size else float("nan"),
            "R per seed": _seed_means(R, seeds[ok]), "E mean": e, "E lo": elo, "E hi": ehi,
            "E per seed": _seed_means(E, seeds[ok]),
            "paper R": paper[1] if space == "tangent" else float("nan"),
            "paper E": paper[2] if space == "tangent" else float("nan"),
        })
    return pd.DataFrame(rows)


def table2(records: Mapping[str, Tensor], dataset: str, *, n_boot: int = 2000, prefix: str = "t2") -> pd.DataFrame:
    """Table 2 for every subspace: mean distance (over successful attacks, 95 % bootstrap
    interval) of unconstrained, on- and off-manifold PGD, their success rates (Clopper-Pearson),
    and on/off as a percentage of unconstrained (ratio of mean distances over the images where
    both attacks succeeded, paired bootstrap interval); the paper's values in the tangent row."""
    valid = _np(records["recon/valid"]).astype(bool) if prefix.startswith("recon") else None
    base_ok = _np(records[f"{prefix}/none/success"]).astype(bool)
    base = _np(records[f"{prefix}/none/dist"])
    if valid is not None:
        base_ok &= valid
    paper = PAPER_TABLE2.get(dataset, (float("nan"),) * 3)
    rows = []
    b, blo, bhi, bn = _ci(base[base_ok], n_boot)
    for space in [s for s in spaces(records) if f"{prefix}/on/{s}/dist" in records]:
        row = {"space": space, "none mean": b, "none lo": blo, "none hi": bhi, "none success": _rate(base_ok, valid)}
        for mode in ("on", "off"):
            ok = _np(records[f"{prefix}/{mode}/{space}/success"]).astype(bool)
            if valid is not None:
                ok &= valid
            dist = _np(records[f"{prefix}/{mode}/{space}/dist"])
            m, lo, hi, nm = _ci(dist[ok], n_boot)
            both = ok & base_ok
            pct = (bootstrap_ci(dist[both], base[both], statistic=lambda a, c: a.mean(1) / c.mean(1), n_boot=n_boot)
                   if both.sum() >= 2 else None)
            row.update({
                f"{mode} mean": m, f"{mode} lo": lo, f"{mode} hi": hi, f"{mode} success": _rate(ok, valid),
                f"{mode} % of none": 100 * pct.estimate if pct else float("nan"),
                f"{mode} % lo": 100 * pct.lo if pct else float("nan"), f"{mode} % hi": 100 * pct.hi if pct else float("nan"),
                f"{mode} pairs": int(both.sum()),
            })
        row.update({
            "images": int(len(base) if valid is None else valid.sum()),
            "paper none": paper[0] if space == "tangent" else float("nan"),
            "paper on": paper[1] if space == "tangent" else float("nan"),
            "paper off": paper[2] if space == "tangent" else float("nan"),
        })
        rows.append(row)
    return pd.DataFrame(rows)


def _rate(ok: np.ndarray, valid: np.ndarray | None) -> tuple[float, float, float, int]:
    s = ok[valid] if valid is not None else ok
    if s.size == 0:
        return (float("nan"), float("nan"), float("nan"), 0)
    r = success_rate(s.astype(bool))
    return (r.estimate, r.lo, r.hi, r.n)


def compare_spaces(records: Mapping[str, Tensor], reference: str = "tangent", *, n_boot: int = 2000) -> pd.DataFrame:
    """Paired, per-image comparison of ``reference`` with every other subspace: R and E of table 1
    (images whose table-1 attack succeeded) and the on/off-manifold distances of table 2 (images
    where both attacks succeeded). Wilcoxon signed-rank p-value (two-sided) and the paired
    bootstrap 95 % interval of the mean difference (reference minus other)."""
    ok1 = _np(records["t1/success"]).astype(bool)
    rows = []
    for other in [s for s in spaces(records) if s != reference]:
        for label, key_a, key_b, ok in (
            ("R (table 1)", f"t1/R/{reference}", f"t1/R/{other}", ok1),
            ("E (table 1)", f"t1/E/{reference}", f"t1/E/{other}", ok1),
            ("on-manifold distance", f"t2/on/{reference}/dist", f"t2/on/{other}/dist", None),
            ("off-manifold distance", f"t2/off/{reference}/dist", f"t2/off/{other}/dist", None),
        ):
            if key_a not in records or key_b not in records:
                continue
            a, b = _np(records[key_a]), _np(records[key_b])
            if ok is None:
                mode = "on" if label.startswith("on") else "off"
                ok = (_np(records[f"t2/{mode}/{reference}/success"]).astype(bool)
                      & _np(records[f"t2/{mode}/{other}/success"]).astype(bool))
            mask = ok & np.isfinite(a) & np.isfinite(b)
            row = {"control": other, "quantity": label, "pairs": int(mask.sum()),
                   f"{reference} mean": float(a[mask].mean()) if mask.any() else float("nan"),
                   "control mean": float(b[mask].mean()) if mask.any() else float("nan")}
            if mask.sum() >= 2:
                t = paired_test(a[mask], b[mask], n_boot=n_boot)
                row.update({"diff mean": t.mean_diff, "diff lo": t.lo, "diff hi": t.hi, "wilcoxon p": t.p_value})
            else:
                row.update({"diff mean": float("nan"), "diff lo": float("nan"), "diff hi": float("nan"), "wilcoxon p": float("nan")})
            rows.append(row)
    return pd.DataFrame(rows)


def compare_recon(records: Mapping[str, Tensor], *, n_boot: int = 2000) -> pd.DataFrame:
    """Attack at x versus at x' = D(E(x)) (tangent space at c = E(x) in both): mean R, E and
    table-2 distances on the images where x' is correctly classified and both attacks
    succeeded, with Wilcoxon p-values (x minus x')."""
    valid = _np(records["recon/valid"]).astype(bool)
    rows = []
    for label, key, succ in (
        ("R (table 1)", "t1/R/tangent", "t1/success"),
        ("E (table 1)", "t1/E/tangent", "t1/success"),
        ("||d|| (table 1)", "t1/d_norm", "t1/success"),
        ("unconstrained distance", "t2/none/dist", "t2/none/success"),
        ("on-manifold distance", "t2/on/tangent/dist", "t2/on/tangent/success"),
        ("off-manifold distance", "t2/off/tangent/dist", "t2/off/tangent/success"),
    ):
        a, b = _np(records[key]), _np(records["recon/" + key])
        mask = valid & _np(records[succ]).astype(bool) & _np(records["recon/" + succ]).astype(bool)
        mask &= np.isfinite(a) & np.isfinite(b)
        row = {"quantity": label, "pairs": int(mask.sum()),
               "at x": float(a[mask].mean()) if mask.any() else float("nan"),
               "at x'": float(b[mask].mean()) if mask.any() else float("nan")}
        t = paired_test(a[mask], b[mask], n_boot=n_boot) if mask.sum() >= 2 else None
        row.update({"diff lo": t.lo if t else float("nan"), "diff hi": t.hi if t else float("nan"),
                    "wilcoxon p": t.p_value if t else float("nan")})
        rows.append(row)
    return pd.DataFrame(rows)


# -- validation --------------------------------------------------------------------------------


def _device_of(model) -> torch.device:
    """The device of a module's first parameter; the CPU for parameter-free callables."""
    if isinstance(model, nn.Module):
        for p in model.parameters():
            return p.device
    return torch.device("cpu")


def _check_inputs(x: Tensor, y: Tensor, cfg: Mapping[str, Any], pca: Tensor | None) -> None:
    if not isinstance(x, Tensor) or x.dim() < 2 or len(x) == 0:
        raise ValueError(f"x must be a non-empty image batch (N, ...), got {tuple(getattr(x, 'shape', ()))}")
    if not isinstance(y, Tensor) or y.shape != (len(x),):
        raise ValueError(f"y must have shape ({len(x)},), got {tuple(getattr(y, 'shape', ()))}")
    missing = {"t1_eps", "t1_step", "t1_steps", "t2_eps", "t2_step", "t2_steps", "on_step_factor", "basis_method",
               "fd_eps", "controls", "compare_fd", "compare_recon", "batch_size"} - set(cfg)
    if missing:
        raise ValueError(f"cfg lacks {sorted(missing)}; build it with attack_settings(P, dataset)")
    unknown = set(cfg["controls"]) - set(CONTROLS)
    if unknown:
        raise ValueError(f"unknown control(s) {sorted(unknown)}; allowed: {CONTROLS}")
    if "pca" in cfg["controls"] and pca is None:
        raise ValueError("the 'pca' control needs pca=(n, k) basis (pca_basis)")
    if "other" in cfg["controls"] and min(len(x), cfg["batch_size"]) < 2:
        raise ValueError("the 'other' control needs at least 2 images per batch")


# -- the chapter's summary tables ---------------------------------------------------------------


def _fmt(m: float, lo: float, hi: float, digits: int = 2, scale: float = 1.0, unit: str = "") -> str:
    if not np.isfinite(m):
        return "n/a"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{m * scale:.{digits}f}{unit}"
    return f"{m * scale:.{digits}f}{unit} [{lo * scale:.{digits}f}, {hi * scale:.{digits}f}]"


def _rate_str(r) -> str:
    m, lo, hi, n = r
    return "n/a" if n == 0 else f"{100 * m:.0f} % [{100 * lo:.0f}, {100 * hi:.0f}] of {n}"


def summary_table1(tables: Mapping[str, pd.DataFrame], not_run: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Table 1 as the paper prints it, ours beside the paper's: one row per dataset (tangent
    space), with 95 % bootstrap intervals; datasets in ``not_run`` get their reason."""
    rows = []
    for ds, t in tables.items():
        r = t[t.space == "tangent"].iloc[0]
        rows.append({"dataset": ds, "sqrt(n/k)": f"{r['sqrt(n/k)']:.2f} (paper {PAPER_TABLE1[ds][0]})",
                     "R(d, M) ours [95 % CI]": _fmt(r["R mean"], r["R lo"], r["R hi"]), "R paper": PAPER_TABLE1[ds][1],
                     "E ours [95 % CI]": _fmt(r["E mean"], r["E lo"], r["E hi"], 1, 100, " %"),
                     "E paper": f"{100 * PAPER_TABLE1[ds][2]:.0f} %", "images": int(r["images"]),
                     "R per seed": ", ".join(f"{v:.2f}" for v in r["R per seed"]),
                     "E per seed": ", ".join(f"{100 * v:.1f} %" for v in r["E per seed"])})
    for ds, why in (not_run or {}).items():
        rows.append({"dataset": ds, "sqrt(n/k)": f"(paper {PAPER_TABLE1[ds][0]})", "R(d, M) ours [95 % CI]": f"not run: {why}",
                     "R paper": PAPER_TABLE1[ds][1], "E ours [95 % CI]": "not run",
                     "E paper": f"{100 * PAPER_TABLE1[ds][2]:.0f} %", "images": 0, "R per seed": "", "E per seed": ""})
    return pd.DataFrame(rows).set_index("dataset")


def summary_table2(tables: Mapping[str, pd.DataFrame], not_run: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Table 2 as the paper prints it, ours beside the paper's (tangent space): mean distances
    with 95 % bootstrap intervals, percentages of the unconstrained distance, success rates."""
    rows = []
    for ds, t in tables.items():
        r = t[t.space == "tangent"].iloc[0]
        p = PAPER_TABLE2[ds]
        rows.append({
            "dataset": ds, "unconstrained": _fmt(r["none mean"], r["none lo"], r["none hi"], 3), "paper": p[0],
            "on-manifold": _fmt(r["on mean"], r["on lo"], r["on hi"], 3),
            "on % of unconstr.": _fmt(r["on % of none"], r["on % lo"], r["on % hi"], 0, 1, " %"),
            "paper on": f"{p[1]} ({PAPER_TABLE2_PCT[ds][0]} %)",
            "off-manifold": _fmt(r["off mean"], r["off lo"], r["off hi"], 3),
            "off % of unconstr.": _fmt(r["off % of none"], r["off % lo"], r["off % hi"], 0, 1, " %"),
            "paper off": f"{p[2]} ({PAPER_TABLE2_PCT[ds][1]} %)",
            "success (unconstr. / on / off)": " / ".join(_rate_str(r[f"{m} success"]) for m in ("none", "on", "off")),
        })
    for ds, why in (not_run or {}).items():
        p = PAPER_TABLE2[ds]
        rows.append({"dataset": ds, "unconstrained": f"not run: {why}", "paper": p[0], "on-manifold": "not run",
                     "on % of unconstr.": "", "paper on": f"{p[1]} ({PAPER_TABLE2_PCT[ds][0]} %)", "off-manifold": "not run",
                     "off % of unconstr.": "", "paper off": f"{p[2]} ({PAPER_TABLE2_PCT[ds][1]} %)",
                     "success (unconstr. / on / off)": ""})
    return pd.DataFrame(rows).set_index("dataset")


def controls_table(t1: pd.DataFrame, t2: pd.DataFrame) -> pd.DataFrame:
    """Tables 1 and 2 side by side for every subspace of one dataset (formatted strings)."""
    rows = []
    for _, a in t1.iterrows():
        b = t2[t2.space == a["space"]]
        row = {"subspace": a["space"], "R [95 % CI]": _fmt(a["R mean"], a["R lo"], a["R hi"]),
               "R median": f"{a['R median']:.2f}", "E [95 % CI]": _fmt(a["E mean"], a["E lo"], a["E hi"], 1, 100, " %")}
        if len(b):
            b = b.iloc[0]
            row.update({"on-manifold distance": _fmt(b["on mean"], b["on lo"], b["on hi"], 3),
                        "on success": _rate_str(b["on success"]),
                        "off-manifold distance": _fmt(b["off mean"], b["off lo"], b["off hi"], 3),
                        "off success": _rate_str(b["off success"])})
        rows.append(row)
    return pd.DataFrame(rows).set_index("subspace")


def verdict(p: float, diff: float, alpha: float = 0.05) -> str:
    """"higher than" / "lower than" (p < alpha, by the sign of the mean difference) or
    "not significantly different from" (p >= alpha or undefined)."""
    if not np.isfinite(p) or p >= alpha:
        return "not significantly different from"
    return "higher than" if diff > 0 else "lower than"


def controls_verdict(dataset: str, t1: pd.DataFrame, t2: pd.DataFrame, comparison: pd.DataFrame, alpha: float = 0.05) -> str:
    """One sentence per control subspace: how its R, E and on-manifold PGD distance compare with
    the tangent space's (paired Wilcoxon test at level ``alpha``), numbers included."""
    a = t1.set_index("space")
    b = t2.set_index("space")
    c = comparison.set_index(["control", "quantity"])
    out = []
    for space in [s for s in a.index if s != "tangent"]:
        parts = []
        for q, label, col, fmt in (("R (table 1)", "R", "R mean", "{:.2f}"), ("E (table 1)", "E", "E mean", "{:.1%}"),
                                   ("on-manifold distance", "the on-manifold PGD distance", None, "{:.3f}")):
            if (space, q) not in c.index:
                continue
            row = c.loc[(space, q)]
            val = a.loc[space, col] if col else b.loc[space, "on mean"] if space in b.index else float("nan")
            ref = a.loc["tangent", col] if col else b.loc["tangent", "on mean"]
            word = verdict(row["wilcoxon p"], -row["diff mean"], alpha)  # control minus tangent
            parts.append(f"{label} = {fmt.format(val)} is {word} the tangent space's {fmt.format(ref)} "
                         f"(p = {row['wilcoxon p']:.2g}, {int(row['pairs'])} pairs)")
        out.append(f"**{space}**: " + "; ".join(parts) + ".")
    return f"{dataset}: " + " ".join(out)
