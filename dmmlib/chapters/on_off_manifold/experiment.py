"""Adversarial perturbations on and off an autoencoder's local image manifold (section 7,
appendices E.2, E.3 and F of the Dimpled Manifold paper), with control subspaces.

For correctly classified test images x, with the autoencoder's code c = E(x), its
reconstruction x' = D(c) and the decoder's tangent space M at c (a k-dimensional subspace
of the n-dimensional image space, orthonormal basis (n, k)):

- table 1 (E.2): a multi-step L2 PGD perturbation d (margin loss, greedy), its norm ratio
  R(d, M) = ||d|| / ||Proj_M d|| and the on-manifold relative effect E, evaluated at x
  (the attacked image: our primary value) and at x' (as the paper writes it), and whether
  x + Proj_M d alone changes the class;
- table 2 (E.3): the L2 distance of the adversarial examples found by unconstrained PGD and
  by PGD whose gradient steps are projected on / off M (appendix F), the on-manifold run
  repeated with the on-manifold step multiplied by each of ``step_factors`` (the paper's
  10 among them), and a box-free variant (the [0, 1] clamp never binds, so "on-manifold"
  stays in M; see :func:`box_free_pgd`); with ``min_norm`` the step-size-free distances of
  the Fast Minimum-Norm attack (:func:`dmmlib.attacks.minimal_norm.fmn_l2`): unconstrained,
  on and off M, and on a random subspace.

The same measures are computed for control subspaces of the same k ("random": a uniformly
random subspace per image; "pca": the top-k principal directions of training images;
"other": the tangent space of another test image; "dct": the k lowest-frequency DCT
images), for the tangent space computed the other way (exact Jacobian vs the paper's finite
differences: "tangent_fd" or "tangent_jvp"), and with the attack started at x' instead of x
("recon/..."; M is the tangent space *at x'*).

Model variance: the chapter runs several *model units* per dataset (:func:`load_setup`'s
``unit``): MNIST unit u uses the classifier trained with seed u and the autoencoder trained
with seed u mod ``autoencoders``; CIFAR-10 keeps the pretrained ResNet and varies the
autoencoder. Each unit attacks its own block of images.

:func:`experiment` returns per-image records: a flat dict ``{key: tensor (N, ...)}``; the
chapter's :mod:`tables` turn them into tables with intervals over models and images.
Distances are L2 norms of [0,1]-scaled pixels.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Callable, Mapping, NamedTuple

import torch
from torch import Tensor, nn
from dmmlib.progress import progress as tqdm

from dmmlib.attacks.minimal_norm import fmn_l2
from dmmlib.attacks.pgd import pgd
from dmmlib.cache import cached, model_fingerprint
from dmmlib.data.imagenet import IMAGE_EXTENSIONS
from dmmlib.data.paths import MissingDataError
from dmmlib.device import seed_everything
from dmmlib.evaluate import accuracy, as_logits, model_device, predict
from dmmlib.manifold import local_tangent_basis, norm_ratio, project_onto, relative_effect
from dmmlib.subspaces import dct_subspace, other_image_subspace, pca_subspace, random_subspace

DATASETS = ("mnist", "cifar10", "imagenet")
CONTROLS = ("random", "pca", "other", "dct")
CIFAR_CLASSES = (0, 1)  # airplane, automobile: the autoencoder's classes (appendix D.3)
IMAGENET_CLASSES = (1, 2)  # goldfish, great white shark

BOX_FREE_SCALE = 100.0  # box-free PGD shrinks images by this factor around 0.5 (see box_free_pgd)

# the paper's numbers (tables 1 and 2, appendix G), printed beside ours
PAPER_TABLE1 = {  # sqrt(n/k), mean R(d, M), on-manifold relative effect E
    "mnist": (7.0, 3.68, 0.08), "cifar10": (4.89, 5.59, 0.04), "imagenet": (6.48, 5.5, 0.02)}
PAPER_TABLE2 = {  # mean L2 distance: unconstrained, on-manifold, off-manifold PGD
    "mnist": (1.01, 3.68, 1.05), "cifar10": (0.3, 1.87, 0.305), "imagenet": (0.149, 0.849, 0.152)}
PAPER_TABLE2_PCT = {"mnist": (364, 103), "cifar10": (623, 101), "imagenet": (570, 102)}  # as printed
PAPER_ACCURACY = {"mnist": 0.98, "cifar10": 0.93}
PAPER_AE_ERROR = {"mnist": 2.1, "cifar10": 7.88, "imagenet": 38.7601}  # mean ||x - D(E(x))||


class Setup(NamedTuple):
    """A dataset's classifier (images in [0, 1] -> logits), autoencoder (``encode``/``decode``),
    test images x (N, C, H, W) and labels y (N,) of the evaluated classes, the training
    images used for the PCA control, class names, a description of the sources (with the
    model seeds) and the model unit."""

    dataset: str
    classifier: nn.Module
    autoencoder: nn.Module
    x: Tensor
    y: Tensor
    train_x: Tensor
    class_names: tuple[str, ...]
    info: dict
    unit: int = 0


# -- models and data ------------------------------------------------------------------------


def unit_seeds(dataset: str, unit: int, P: Mapping[str, Any]) -> tuple[int | None, int]:
    """(classifier seed, autoencoder seed) of model unit ``unit``: MNIST trains a classifier per
    unit (seed ``unit``) and cycles through ``P["autoencoders"][dataset]`` autoencoders; CIFAR-10
    and ImageNet keep their pretrained classifier (None) and vary the autoencoder."""
    if unit < 0 or unit >= P["models"][dataset]:
        raise ValueError(f"unit must be in [0, {P['models'][dataset]}) for {dataset}, got {unit}")
    ae_seed = unit % P["autoencoders"][dataset]
    return (unit if dataset == "mnist" else None), ae_seed


def load_setup(dataset: str, P: Mapping[str, Any], unit: int = 0) -> Setup:
    """The models (of model ``unit``, see :func:`unit_seeds`) and test images of ``dataset``
    ("mnist", "cifar10" or "imagenet") under the chapter's resolved parameters ``P``. ImageNet
    raises :class:`MissingDataError` saying what is missing (see :func:`imagenet_missing`)."""
    from dmmlib import zoo

    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}")
    clf_seed, ae_seed = unit_seeds(dataset, unit, P)
    seeds = {"classifier seed": clf_seed, "autoencoder seed": ae_seed}
    if dataset == "mnist":
        from dmmlib.data.mnist import load_mnist

        test, train = load_mnist("test"), load_mnist("train")
        clf = zoo.mnist_classifier(P["models_profile"], seed=clf_seed)
        ae = zoo.mnist_autoencoder(P["models_profile"], seed=ae_seed)
        names = tuple(str(i) for i in range(10))
        return Setup(dataset, clf, ae, test.x, test.y, train.x, names,
                     {"test": test.source, "train": train.source, **seeds}, unit)
    if dataset == "cifar10":
        from dmmlib.data.cifar10 import CLASSES, load_cifar10

        test, train = load_cifar10("test", CIFAR_CLASSES), load_cifar10("train", CIFAR_CLASSES)
        clf, ae = zoo.cifar_classifier(P["cifar_depth"]), zoo.cifar_autoencoder(P["models_profile"], seed=ae_seed)
        return Setup(dataset, clf, ae, test.x, test.y, train.x, CLASSES,
                     {"test": test.source, "train": train.source, **seeds}, unit)
    return _imagenet_setup(P, ae_seed, unit)


def _imagenet_setup(P: Mapping[str, Any], ae_seed: int, unit: int) -> Setup:
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
    ae = zoo.imagenet_autoencoder(P["models_profile"], root=root, seed=ae_seed)
    names = {1: "goldfish", 2: "great white shark"}
    class_names = tuple(names.get(i, str(i)) for i in range(1000))
    info = {"test": test.source, "train": train.source, "classifier": clf.zoo_info["source"],
            "classifier seed": None, "autoencoder seed": ae_seed}
    if not any((Path(root) / split).is_dir() for split in ("val", "train")):
        info["warning"] = f"{root} has no val/train split folders: the test images also trained the autoencoder and PCA"
    return Setup("imagenet", clf, ae, test.x, test.y, train.x, class_names, info, unit)


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
    return folder.is_dir() and any(p.suffix.lower() in IMAGE_EXTENSIONS for p in folder.iterdir())


def test_accuracy(setup: Setup) -> float:
    """:func:`dmmlib.evaluate.accuracy` of the setup's classifier on its test images, cached by
    model fingerprint."""
    params = {"dataset": setup.dataset, "test": setup.info.get("test"), "model": model_fingerprint(setup.classifier)}
    return cached("on_off_accuracy", params, lambda: accuracy(setup.classifier, setup.x, setup.y),
                  code=("dmmlib.chapters.on_off_manifold.experiment",))


def select_correct(model, x: Tensor, y: Tensor, n: int, seed: int, *, batch_size: int = 256) -> Tensor:
    """Indices (n,) of correctly classified images: the ``seed``-th block of n in a fixed random
    order (seed 0 takes the first n correct images, seed 1 the next n, ...), so seeds draw
    disjoint images. Raises ValueError if there are not enough correct images."""
    if n < 1 or seed < 0:
        raise ValueError(f"need n >= 1 and seed >= 0, got n={n}, seed={seed}")
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(12345))
    need, found = (seed + 1) * n, []
    for chunk in order.split(max(batch_size, need)):
        ok = predict(model, x[chunk], batch_size=batch_size) == y[chunk]
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
    return cached("on_off_pca", params, lambda: pca_subspace(data, k), code=("dmmlib.chapters.on_off_manifold.experiment",))


# -- the experiment ---------------------------------------------------------------------------

_CFG_KEYS = {"t1_eps", "t1_step", "t1_steps", "t2_eps", "t2_step", "t2_steps", "on_step_factor", "step_factors",
             "box_free", "min_norm", "mn_steps", "mn_step", "basis_method", "fd_eps", "controls", "compare_fd", "compare_recon", "batch_size"}


def attack_settings(P: Mapping[str, Any], dataset: str) -> dict:
    """The attack and basis settings of ``dataset`` from the chapter's parameters ``P``. The
    "other" control (another image's tangent space) needs two images per batch: where the data
    set's batch_size is 1 (ImageNet, whose tangent bases take 2.2 GB per image) it is left out."""
    controls = [c for c in P["controls"] if c != "other" or P["batch_size"][dataset] >= 2]
    return {
        "t1_eps": P["t1_eps"][dataset], "t1_step": P["t1_step"][dataset], "t1_steps": P["t1_steps"],
        "t2_eps": P["t2_eps"][dataset], "t2_step": P["t2_step"][dataset], "t2_steps": P["t2_steps"],
        "on_step_factor": P["on_step_factor"], "step_factors": [float(f) for f in P["step_factors"]],
        "box_free": P["box_free"], "min_norm": P["min_norm"], "mn_steps": P["mn_steps"], "mn_step": P["mn_step"][dataset],
        "basis_method": P["basis_method"], "fd_eps": P["fd_eps"],
        "controls": controls, "compare_fd": P["compare_fd"], "compare_recon": P["compare_recon"],
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
        cfg: :func:`attack_settings` (eps, step sizes and step counts of tables 1 and 2,
            on_step_factor, step_factors, box_free, basis_method, fd_eps, controls, compare_fd,
            compare_recon, batch_size).
        pca: (n, k) PCA basis, required when "pca" is among the controls.
        seed: fixes the random control subspaces.

    Returns:
        Per-image records (all on the CPU, first dimension N): "label", "ae_error" (||x - x'||),
        "xr_valid" (x' = D(E(x)) is classified correctly), "t1/..." (table 1: "d", "d_on",
        "success", "target", "d_norm", "R/<space>", "E/<space>" (at x), "E_xr/<space>" (at x'),
        "flip_on" and "flip_on_xr" (x + Proj_M d, x' + Proj_M d classified other than y)),
        "t2/..." ("none/dist" and "/success", "<on|off>/<space>/dist", "/success" and "/R"
        (the norm ratio of the final perturbation: the clamp can move it out of the subspace),
        "onf/<factor>/tangent/..." (the on-manifold attack at each step factor), with box_free
        "boxfree/<on|off>/tangent/...", with min_norm "mn/none/..." and "mn/<on|off>/<space>/...",
        example deltas "none/d", "on/tangent/d", "off/tangent/d"),
        and with compare_recon "recon/..." (table 1 and 2 for the attack at x'). <space> is
        "tangent", a control, or "tangent_fd"/"tangent_jvp".
    """
    _check_inputs(x, y, cfg, pca)
    seed_everything(seed)
    gen = torch.Generator().manual_seed(seed)
    device = model_device(classifier)
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
        rec["xr_valid"] = as_logits(model, xr).argmax(1) == y
    rec["ae_error"] = (x - xr).flatten(1).norm(dim=1)
    bases = _bases(ae, codes, x, cfg, pca, gen)
    rec.update(_table1(model, x, y, xr, bases, cfg, "t1"))
    rec.update(_table2(model, x, y, bases, cfg, "t2"))
    if cfg["compare_recon"]:
        tangent = {"tangent": bases["tangent"]}
        rec.update(_table1(model, xr, y, xr, tangent, cfg, "recon/t1", with_images=False))
        rec.update(_table2(model, xr, y, tangent, cfg, "recon/t2", with_images=False, extras=False))
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
        elif name == "dct":
            bases[name] = dct_subspace(tuple(x.shape[1:]), k, dtype=x.dtype).to(x.device).unsqueeze(0).expand(b, n, k)
    if cfg["compare_fd"]:
        bases[f"tangent_{alt}"] = local_tangent_basis(ae.decode, codes, method=alt, fd_eps=cfg["fd_eps"])
    return bases


def _table1(model, x, y, x_eval, bases, cfg, prefix, with_images=True) -> dict[str, Tensor]:
    """Unconstrained L2 PGD at x (table-1 settings); R, E at x and E at x_eval for every basis."""
    r = pgd(model, x, y, norm="l2", eps=cfg["t1_eps"], step_size=cfg["t1_step"], steps=cfg["t1_steps"], loss="margin")
    d = r.delta
    with torch.no_grad():
        target = as_logits(model, x + d).argmax(1)
    target = torch.where(r.success, target, _runner_up(model, x, y))
    out = {f"{prefix}/success": r.success, f"{prefix}/target": target, f"{prefix}/d_norm": d.flatten(1).norm(dim=1)}
    for name, U in bases.items():
        out[f"{prefix}/R/{name}"] = norm_ratio(d, U)
        out[f"{prefix}/E/{name}"] = relative_effect(model, x, d, U, y, target)
        out[f"{prefix}/E_xr/{name}"] = relative_effect(model, x_eval, d, U, y, target)
    d_on = project_onto(d, bases["tangent"])
    with torch.no_grad():
        out[f"{prefix}/flip_on"] = as_logits(model, (x + d_on).clamp(0, 1)).argmax(1) != y
        out[f"{prefix}/flip_on_xr"] = as_logits(model, (x_eval + d_on).clamp(0, 1)).argmax(1) != y
    if with_images:
        out[f"{prefix}/d"] = d
        out[f"{prefix}/d_on"] = d_on
    return out


def _table2(model, x, y, bases, cfg, prefix, with_images=True, extras=True) -> dict[str, Tensor]:
    """Unconstrained, on-manifold and off-manifold L2 PGD (table-2 settings) for every basis;
    with ``extras`` the step-factor sweep and the box-free variant on the tangent space."""
    common = dict(norm="l2", eps=cfg["t2_eps"], steps=cfg["t2_steps"], loss="margin")
    out = {}
    r = pgd(model, x, y, step_size=cfg["t2_step"], **common)
    out.update(_dist(prefix + "/none", r, with_images))
    for name, U in bases.items():
        on = pgd(model, x, y, step_size=cfg["t2_step"] * cfg["on_step_factor"], basis=U, basis_mode="on", **common)
        off = pgd(model, x, y, step_size=cfg["t2_step"], basis=U, basis_mode="off", **common)
        keep_images = with_images and name == "tangent"
        out.update(_dist(f"{prefix}/on/{name}", on, keep_images, U))
        out.update(_dist(f"{prefix}/off/{name}", off, keep_images, U))
    if not extras:
        return out
    U = bases["tangent"]
    for factor in cfg["step_factors"]:
        if factor == cfg["on_step_factor"]:  # the main run: the same attack, copy it
            for part in ("dist", "success", "R"):
                out[f"{prefix}/onf/{factor:g}/tangent/{part}"] = out[f"{prefix}/on/tangent/{part}"]
            continue
        on = pgd(model, x, y, step_size=cfg["t2_step"] * factor, basis=U, basis_mode="on", **common)
        out.update(_dist(f"{prefix}/onf/{factor:g}/tangent", on, False, U))
    if cfg["box_free"]:
        for mode in ("on", "off"):
            factor = cfg["on_step_factor"] if mode == "on" else 1.0
            r = box_free_pgd(model, x, y, eps=cfg["t2_eps"], step_size=cfg["t2_step"] * factor, steps=cfg["t2_steps"],
                             basis=U, basis_mode=mode)
            out.update(_dist(f"{prefix}/boxfree/{mode}/tangent", r, False, U))
    if cfg["min_norm"]:
        mn = dict(steps=cfg["mn_steps"], step_size=cfg["mn_step"])
        out.update(_dist(f"{prefix}/mn/none", fmn_l2(model, x, y, **mn), False))
        runs = [("on", "tangent"), ("off", "tangent")] + [("on", c) for c in ("random",) if c in bases]
        for mode, name in runs:
            r = fmn_l2(model, x, y, basis=bases[name], basis_mode=mode, **mn)
            out.update(_dist(f"{prefix}/mn/{mode}/{name}", r, False, bases[name]))
    return out


def box_free_pgd(model, x: Tensor, y: Tensor, *, eps: float, step_size: float, steps: int, basis: Tensor,
                 basis_mode: str, scale: float = BOX_FREE_SCALE):
    """Greedy margin-loss L2 PGD on or off ``basis`` without the [0, 1] clamp: the iterates may
    leave the pixel box, so an on-manifold perturbation stays in span(basis) (the projected steps
    and the rescaling onto the eps-ball keep it there).

    Done with :func:`dmmlib.attacks.pgd.pgd` in shrunk coordinates z = 0.5 + (x - 0.5) / scale, in
    which the clamp cannot bind while every pixel moves by less than 0.5 (scale - 1), i.e. by
    less than 49.5 for scale 100 (far beyond any eps used here); the model sees
    0.5 + (z - 0.5) scale. Returns the :class:`~dmmlib.attacks.pgd.AttackResult` in x units."""
    if scale <= 1:
        raise ValueError(f"scale must be > 1, got {scale}")
    z = 0.5 + (x - 0.5) / scale

    def shrunk(v: Tensor) -> Tensor:
        return model(0.5 + (v - 0.5) * scale)

    r = pgd(shrunk, z, y, norm="l2", eps=eps / scale, step_size=step_size / scale, steps=steps, loss="margin",
            basis=basis, basis_mode=basis_mode)
    return r._replace(delta=r.delta * scale)


def _dist(key: str, r, with_images: bool, basis: Tensor | None = None) -> dict[str, Tensor]:
    out = {f"{key}/dist": r.delta.flatten(1).norm(dim=1), f"{key}/success": r.success}
    if basis is not None:  # how far the [0, 1] clamp took the iterates out of / into the subspace
        out[f"{key}/R"] = norm_ratio(r.delta, basis)
    if with_images:
        out[f"{key}/d"] = r.delta
    return out


def _runner_up(model, x, y) -> Tensor:
    """The highest-scoring wrong class at x (the target of E when an attack failed)."""
    with torch.no_grad():
        z = as_logits(model, x).scatter(1, y[:, None], -math.inf)
    return z.argmax(1)


def run_unit(setup: Setup, P: Mapping[str, Any], *, progress: bool = True) -> dict[str, Tensor]:
    """:func:`experiment` on ``P["n_images"][dataset]`` correctly classified images of the
    setup's model unit (unit u takes the u-th block of correct images), cached; the records
    also hold "index" (into setup.x) and "unit"."""
    cfg = attack_settings(P, setup.dataset)
    n, unit = P["n_images"][setup.dataset], setup.unit
    params = {
        "dataset": setup.dataset, "unit": unit, "n": n, "cfg": cfg, "pca_size": P["pca_size"], "info": setup.info,
        "classifier": model_fingerprint(setup.classifier), "autoencoder": model_fingerprint(setup.autoencoder),
    }

    def compute() -> dict[str, Tensor]:
        idx = select_correct(setup.classifier, setup.x, setup.y, n, unit)
        k = setup.autoencoder.latent_dim
        pca = pca_basis(setup, k, P["pca_size"]) if "pca" in cfg["controls"] else None
        rec = experiment(setup.classifier, setup.autoencoder, setup.x[idx], setup.y[idx], cfg, pca=pca, seed=unit,
                         progress=progress)
        rec["index"] = idx
        rec["unit"] = torch.full((len(idx),), unit)
        return rec

    return cached("on_off_manifold", params, compute)


def run_dataset(dataset: str, P: Mapping[str, Any], *, progress: bool = True) -> tuple[list[Setup], dict[str, Tensor]]:
    """Every model unit of ``dataset`` (``P["models"][dataset]`` of them): their setups and
    their :func:`run_unit` records, concatenated (the "unit" record says whose)."""
    setups = [load_setup(dataset, P, u) for u in range(P["models"][dataset])]
    parts = [run_unit(s, P, progress=progress) for s in setups]
    return setups, {k: torch.cat([p[k] for p in parts]) for k in parts[0]}


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




# -- validation --------------------------------------------------------------------------------


def _check_inputs(x: Tensor, y: Tensor, cfg: Mapping[str, Any], pca: Tensor | None) -> None:
    if not isinstance(x, Tensor) or x.dim() < 2 or len(x) == 0:
        raise ValueError(f"x must be a non-empty image batch (N, ...), got {tuple(getattr(x, 'shape', ()))}")
    if not isinstance(y, Tensor) or y.shape != (len(x),):
        raise ValueError(f"y must have shape ({len(x)},), got {tuple(getattr(y, 'shape', ()))}")
    missing = _CFG_KEYS - set(cfg)
    if missing:
        raise ValueError(f"cfg lacks {sorted(missing)}; build it with attack_settings(P, dataset)")
    unknown = set(cfg["controls"]) - set(CONTROLS)
    if unknown:
        raise ValueError(f"unknown control(s) {sorted(unknown)}; allowed: {CONTROLS}")
    if "pca" in cfg["controls"] and pca is None:
        raise ValueError("the 'pca' control needs pca=(n, k) basis (pca_basis)")
    if "other" in cfg["controls"] and min(len(x), cfg["batch_size"]) < 2:
        raise ValueError("the 'other' control needs at least 2 images per batch")
    if "dct" in cfg["controls"] and x.dim() != 4:
        raise ValueError(f"the 'dct' control needs images (N, C, H, W), got {tuple(x.shape)}")
