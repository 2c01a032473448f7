"""Appendix B.1 of the Dimpled Manifold paper, measured (issue 26, items 5 and 6).

The paper shows, image by image (figures 7, 9-17), that for a PGD perturbation d of an image x
"the image created by the off-manifold projection x + (d - Proj_M(d)) is almost adversarial",
"the on-manifold projection x + Proj_M(d) barely changes the output logits", and that the
on-manifold part is "visually meaningful, trying to modify x into an image with the
characteristic features of the target class". This module turns the three sentences into
per-image numbers, on the table-1 perturbations the chapter already computed (records
"t1/d", "t1/d_on", "t1/target" of :func:`experiment.run_unit`), with a random k-dimensional
subspace S (drawn per image) in place of M as the control:

- the logit margin m(z) = f_y(z) - max_{j != y} f_j(z) (y the true class; m < 0: misclassified)
  at x, at x + d, and at x + part for part in {on-M, off-M, on-S, off-S} (the on part Proj(d),
  the off part d - Proj(d); every image clamped to [0, 1] as the chapter's figures do);
- the share of d's margin drop that a part achieves alone, (m(x) - m(x + part)) / (m(x) - m(x + d)),
  and the relative change of the whole logit vector, ||f(x + part) - f(x)|| / ||f(x + d) - f(x)||;
- "visually meaningful", tested on a classifier g trained separately (not the one attacked):
  the gain of g's target margin g_t - g_y per unit L2 norm of the change actually applied,
  ((g_t - g_y)(x + part) - (g_t - g_y)(x)) / ||clamp(x + part) - x||, for the on-M, off-M and
  on-S parts (t: the class the attack reached, or the runner-up when it failed).

Margins and logit changes are in logit units; norms are L2 norms of [0,1]-scaled pixels.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import numpy as np
import torch
from torch import Tensor

from dmmlib.cache import cached
from dmmlib.evaluate import as_logits, model_device
from dmmlib.manifold import project_onto
from dmmlib.subspaces import random_subspace

#: the perturbed images measured: name -> which part of d is added to x
PARTS = ("d", "on", "off", "on_rand", "off_rand")
#: the parts whose transfer to the separately trained classifier is measured
TRANSFER_PARTS = ("on", "off", "on_rand")
RANDOM_SEED = 26_000  # the random subspaces S of this module (other than the chapter's table-1 ones)


def margin(logits: Tensor, y: Tensor) -> Tensor:
    """f_y - max_{j != y} f_j: (N,) for logits (N, C) and labels y (N,) (logit units; < 0: misclassified)."""
    if logits.dim() != 2 or y.shape != (logits.shape[0],):
        raise ValueError(f"logits must be (N, C) and y (N,), got {tuple(logits.shape)} and {tuple(y.shape)}")
    own = logits.gather(1, y[:, None])[:, 0]
    return own - logits.scatter(1, y[:, None], -math.inf).max(1).values


def target_margin(logits: Tensor, y: Tensor, target: Tensor) -> Tensor:
    """f_t - f_y: (N,) for logits (N, C), true classes y (N,) and target classes t (N,)."""
    return logits.gather(1, target[:, None])[:, 0] - logits.gather(1, y[:, None])[:, 0]


def parts(d: Tensor, d_on: Tensor, basis: Tensor) -> dict[str, Tensor]:
    """The perturbations of :data:`PARTS` for d and d_on = Proj_M(d) (N, ...) and a control basis
    (N, n, k) (orthonormal columns): {"d", "on", "off", "on_rand", "off_rand"}, each (N, ...)."""
    if d.shape != d_on.shape:
        raise ValueError(f"d and d_on must have one shape, got {tuple(d.shape)} and {tuple(d_on.shape)}")
    if basis.dim() != 3 or basis.shape[0] != d.shape[0] or basis.shape[1] != d[0].numel():
        raise ValueError(f"basis must be (N, n, k) = ({d.shape[0]}, {d[0].numel()}, k), got {tuple(basis.shape)}")
    on_rand = project_onto(d, basis)
    return {"d": d, "on": d_on, "off": d - d_on, "on_rand": on_rand, "off_rand": d - on_rand}


def measure(
    classifier: Callable[[Tensor], Tensor],
    x: Tensor,
    y: Tensor,
    target: Tensor,
    d: Tensor,
    d_on: Tensor,
    k: int,
    *,
    other: Callable[[Tensor], Tensor] | None = None,
    batch_size: int = 100,
    seed: int = RANDOM_SEED,
) -> dict[str, Tensor]:
    """The appendix-B.1 numbers of images x (N, C, H, W) in [0, 1] with labels y (N,), the
    classes t (N,) their attack aimed at, the perturbations d (N, C, H, W) and d_on = Proj_M(d).

    A random k-dimensional subspace S (drawn per image, seeded by ``seed``) is the control for M.
    ``other``: a separately trained classifier for the transfer test (None: not measured).
    Works in chunks of ``batch_size`` images (the random bases: batch_size x n x k floats).

    Returns (all on the CPU, first dimension N): "m/x" and "m/<part>" (the logit margin at x and
    at clamp(x + part) for part in :data:`PARTS`), "drop/<part>" (share of d's margin drop),
    "change/<part>" (relative change of the logit vector), "norm/<part>" (L2 norm of the change
    actually applied), and with ``other``: "g/correct" (g classifies x as y), "g/shift/<part>"
    (the gain of g's target margin per unit L2, for :data:`TRANSFER_PARTS`) and "g/gain/<part>"
    (the same gain, not divided by the norm).
    """
    _check(x, y, target, d, d_on, k, batch_size)
    gen = torch.Generator().manual_seed(seed)
    device = model_device(classifier)
    n = x[0].numel()
    chunks = []
    for idx in torch.arange(len(x)).split(batch_size):
        xb, yb, tb = x[idx].to(device), y[idx].to(device), target[idx].to(device)
        U = random_subspace(n, k, batch=len(idx), generator=gen, dtype=x.dtype).to(device)
        chunks.append({key: v.cpu() for key, v in
                       _chunk(classifier, other, xb, yb, tb, parts(d[idx].to(device), d_on[idx].to(device), U)).items()})
    return {key: torch.cat([c[key] for c in chunks]) for key in chunks[0]}


def _chunk(model, other, x, y, target, ps: Mapping[str, Tensor]) -> dict[str, Tensor]:
    imgs = {name: (x + p).clamp(0, 1) for name, p in ps.items()}
    with torch.no_grad():
        f0 = as_logits(model, x)
        f = {name: as_logits(model, z) for name, z in imgs.items()}
    m0 = margin(f0, y)
    drop_d = m0 - margin(f["d"], y)
    change_d = (f["d"] - f0).norm(dim=1)
    out = {"m/x": m0}
    for name, z in imgs.items():
        m = margin(f[name], y)
        out[f"m/{name}"] = m
        out[f"drop/{name}"] = (m0 - m) / drop_d
        out[f"change/{name}"] = (f[name] - f0).norm(dim=1) / change_d
        out[f"norm/{name}"] = (z - x).flatten(1).norm(dim=1)
    if other is not None:
        with torch.no_grad():
            g0 = as_logits(other, x)
            out["g/correct"] = g0.argmax(1) == y
            base = target_margin(g0, y, target)
            for name in TRANSFER_PARTS:
                gain = target_margin(as_logits(other, imgs[name]), y, target) - base
                out[f"g/gain/{name}"] = gain
                out[f"g/shift/{name}"] = gain / out[f"norm/{name}"].clamp_min(1e-12)
    return out


def _check(x, y, target, d, d_on, k, batch_size) -> None:
    if not isinstance(x, Tensor) or x.dim() < 2 or len(x) == 0:
        raise ValueError(f"x must be a non-empty batch (N, ...), got {tuple(getattr(x, 'shape', ()))}")
    for name, t in (("y", y), ("target", target)):
        if not isinstance(t, Tensor) or t.shape != (len(x),):
            raise ValueError(f"{name} must have shape ({len(x)},), got {tuple(getattr(t, 'shape', ()))}")
    for name, t in (("d", d), ("d_on", d_on)):
        if not isinstance(t, Tensor) or t.shape != x.shape:
            raise ValueError(f"{name} must have the shape of x {tuple(x.shape)}, got {tuple(getattr(t, 'shape', ()))}")
    if not 1 <= k < x[0].numel():
        raise ValueError(f"k must be in [1, n) = [1, {x[0].numel()}), got {k}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")


# -- the chapter's run -------------------------------------------------------------------------


def other_classifier(setup, P: Mapping[str, Any]):
    """A classifier of ``setup``'s data set trained separately from the one its unit attacked,
    and a description, or (None, why) where the data set has none: MNIST unit u takes the
    classifier of seed (u + 1) mod models (seed u + 1 when there is one unit), CIFAR-10 the other
    pretrained ResNet (56 when the chapter attacks the ResNet-20, else 20); ImageNet has one
    pretrained ResNet-50 only."""
    from dmmlib import zoo

    if setup.dataset == "mnist":
        m = P["models"]["mnist"]
        seed = (setup.unit + 1) % m if m > 1 else setup.unit + 1
        return zoo.mnist_classifier(P["models_profile"], seed=seed), f"MNIST classifier of seed {seed}"
    if setup.dataset == "cifar10":
        depth = 56 if P["cifar_depth"] == 20 else 20
        return zoo.cifar_classifier(depth), f"pretrained CIFAR-10 ResNet-{depth}"
    return None, "one pretrained ResNet-50 only: no separately trained ImageNet classifier"


def run_unit(setup, rec: Mapping[str, Tensor], P: Mapping[str, Any], other=None) -> dict[str, Tensor]:
    """:func:`measure` on the records ``rec`` of one model unit (:func:`experiment.run_unit`),
    with ``other`` (:func:`other_classifier`'s model or None), cached; adds "unit" and "success"
    (the table-1 attack succeeded)."""
    from dmmlib.cache import model_fingerprint

    k = setup.autoencoder.latent_dim
    params = {"dataset": setup.dataset, "unit": setup.unit, "n": len(rec["index"]), "k": k,
              "classifier": model_fingerprint(setup.classifier),
              "other": model_fingerprint(other) if other is not None else None,
              "d": float(rec["t1/d"].double().sum()), "d_on": float(rec["t1/d_on"].double().sum()),
              "index": rec["index"].tolist(), "batch_size": P["batch_size"][setup.dataset]}

    def compute() -> dict[str, Tensor]:
        x, y = setup.x[rec["index"]], rec["label"]
        out = measure(setup.classifier, x, y, rec["t1/target"], rec["t1/d"], rec["t1/d_on"], k, other=other,
                      batch_size=P["batch_size"][setup.dataset], seed=RANDOM_SEED + setup.unit)
        out["success"] = rec["t1/success"].clone()
        out["unit"] = torch.full((len(y),), setup.unit)
        return out

    return cached("on_off_b1", params, compute)


def run_dataset(setups, records: Mapping[str, Tensor], P: Mapping[str, Any]) -> tuple[dict[str, Tensor], dict]:
    """:func:`run_unit` for every model unit of one data set (``setups`` and the concatenated
    ``records`` of :func:`experiment.run_dataset`): the concatenated B.1 records and an info dict
    ("other": what the separately trained classifier is, "other_accuracy": its mean test
    accuracy over the units, a share, nan without one)."""
    from dmmlib.chapters.on_off_manifold.experiment import test_accuracy

    parts_, accs, what = [], [], ""
    for s in setups:
        rec = {key: v[records["unit"] == s.unit] for key, v in records.items()
               if key in ("index", "label", "t1/target", "t1/d", "t1/d_on", "t1/success")}
        other, what = other_classifier(s, P)
        if other is not None:
            accs.append(test_accuracy(s._replace(classifier=other)))
        parts_.append(run_unit(s, rec, P, other))
    keys = set.intersection(*(set(p) for p in parts_))
    out = {key: torch.cat([p[key] for p in parts_]) for key in sorted(keys)}
    return out, {"other": what, "other_accuracy": float(np.mean(accs)) if accs else math.nan}


# -- summary -------------------------------------------------------------------------------------


def summarize(b1: Mapping[str, Tensor], *, n_boot: int = 2000) -> dict:
    """From :func:`run_dataset`'s records to estimates over the images whose table-1 attack
    succeeded (hierarchical bootstrap: model units, then images): "margin" {"x" | part: mean
    margin}, "flip" {part: share of images misclassified}, "drop" {part: mean margin-drop share},
    "change" {part: mean relative logit change}, "shift" {part: mean gain of g's target margin per
    unit L2} (with a separately trained classifier), "cmp" (the paired comparisons the claims
    judge: "off_drop" drop off-M - drop off-S, "on_change" change on-M - change on-S, "shift_off"
    shift on-M - shift off-M, "shift_rand" shift on-M - shift on-S), "g_correct" (share of x that
    g classifies correctly), "units", "images" (attacked) and "n" (successful)."""
    from dmmlib.chapters.on_off_manifold.intervals import mean, paired
    from dmmlib.claims import Estimate
    from dmmlib.stats import hierarchical_bootstrap

    units = b1["unit"].numpy()
    ok = b1["success"].numpy().astype(bool)
    n_units = len(np.unique(units))
    of = f"images, {n_units} model{'s' if n_units != 1 else ''}"

    def arr(key):
        return b1[key].detach().double().numpy()[ok]

    def est(a) -> Estimate:
        if len(a) == 0:
            return Estimate(math.nan, math.nan, math.nan, 0, of)
        h = hierarchical_bootstrap(mean, [a], units[ok], n_boot=n_boot)
        return Estimate(h.estimate, h.lo, h.hi, h.n, of)

    out: dict = {"units": n_units, "images": int(len(units)), "n": int(ok.sum())}
    out["margin"] = {"x": est(arr("m/x")), **{p: est(arr(f"m/{p}")) for p in PARTS}}
    out["flip"] = {p: est((arr(f"m/{p}") < 0).astype(float)) for p in PARTS}
    out["drop"] = {p: est(arr(f"drop/{p}")) for p in PARTS if p != "d"}
    out["change"] = {p: est(arr(f"change/{p}")) for p in PARTS if p != "d"}
    u = units[ok]
    cmp = {"off_drop": paired(arr("drop/off"), arr("drop/off_rand"), statistic="difference", units=u, n_of=of,
                              n_boot=n_boot),
           "on_change": paired(arr("change/on"), arr("change/on_rand"), statistic="difference", units=u, n_of=of,
                               n_boot=n_boot)}
    if "g/shift/on" in b1:
        out["shift"] = {p: est(arr(f"g/shift/{p}")) for p in TRANSFER_PARTS}
        out["gain"] = {p: est(arr(f"g/gain/{p}")) for p in TRANSFER_PARTS}
        out["g_correct"] = est(arr("g/correct").astype(float))
        cmp["shift_off"] = paired(arr("g/shift/on"), arr("g/shift/off"), statistic="difference", units=u, n_of=of,
                                  n_boot=n_boot)
        cmp["shift_rand"] = paired(arr("g/shift/on"), arr("g/shift/on_rand"), statistic="difference", units=u,
                                   n_of=of, n_boot=n_boot)
    out["cmp"] = cmp
    return out


# -- the page's table ------------------------------------------------------------------------------

COLUMNS = {"d": "x + d", "on": "x + Proj_M d", "off": "x + (d - Proj_M d)", "on_rand": "x + Proj_S d",
           "off_rand": "x + (d - Proj_S d)"}


def table(b1: Mapping[str, Mapping[str, Any]]):
    """A DataFrame for the page: per data set in ``b1`` (:func:`summarize` results) and quantity
    (mean logit margin, share misclassified, share of d's margin drop, relative logit change and,
    with a separately trained classifier, its target-margin gain per unit L2), the value at x + d
    and at x plus each part of d, as "mean [95 % interval]"."""
    import pandas as pd

    from dmmlib.report import fmt_interval

    def cell(e):
        return "—" if e is None else fmt_interval(e.value, e.lo, e.hi)

    names = {"mnist": "MNIST", "cifar10": "CIFAR-10", "imagenet": "ImageNet"}
    rows = []
    for ds, b in b1.items():
        quantities = [("logit margin f_y - max_(j != y) f_j (at x: " + cell(b["margin"]["x"]) + ")", b["margin"]),
                      ("share misclassified", b["flip"]), ("share of d's margin drop", b["drop"]),
                      ("relative logit change ||f(.) - f(x)|| / ||f(x + d) - f(x)||", b["change"])]
        if "shift" in b:
            quantities.append((f"gain of g_t - g_y per unit L2, g = {b['other']}", b["shift"]))
        for what, group in quantities:
            row = {"data set": names.get(ds, ds), "quantity": what}
            for p, col in COLUMNS.items():
                row[col] = cell(group[p]) if p in group else "1 (by definition)" if p == "d" and group in (
                    b["drop"], b["change"]) else "—"
            rows.append(row)
    return pd.DataFrame(rows, columns=["data set", "quantity", *COLUMNS.values()])
