"""A manifold known exactly (issue 11, item 8): are the autoencoder's tangent spaces, and the
conclusions of tables 1 and 2 drawn from them, reliable?

FONTS images (:mod:`dmmlib.data.fonts`) are ``dec(font, letter, a)`` for a known differentiable
decoder, so the true tangent space at an image is known exactly: the span of the decoder's
Jacobian in the 5 affine parameters ``a`` (:func:`dmmlib.data.fonts.tangent`), a 5-dimensional
subspace of the 784-dimensional image space. On one fixed draw of ``known_train_size`` FONTS
training images we train, for each model unit u < ``known_models``, a classifier of the MNIST
architecture (784-256-256-10, seed u) on the letters and an autoencoder of the MNIST
architecture with a ``known_latent_dim`` = k dimensional code (seed u), both cached. Each unit
takes its own block of ``known_n_images`` correctly classified test images (one fixed draw of
``known_test_size``; the models and data: :mod:`known_models`) and measures, per image x:

- how much of the true tangent space T (orthonormal, 784 x 5) lies in the autoencoder's
  tangent space M at E(x) (orthonormal, 784 x k, :func:`dmmlib.manifold.local_tangent_basis`):
  the mean squared cosine of the principal angles ``||M^T T||_F^2 / 5`` (:func:`captured_share`),
  1 when T lies in M, ``k / n`` in expectation for a random k-dimensional subspace (the
  control); and the same share for each affine direction (a column of the Jacobian) alone;
- tables 1 and 2's measures (:func:`measure`) on both tangent spaces, each with a random
  subspace of its own dimension as the control: the unconstrained minimal-norm perturbation d
  (Fast Minimum-Norm), R(d, S), the on-S relative effect E at x, and the minimal-norm distances
  on S (and off S for the two tangent spaces) relative to the unconstrained one.

Records are per image (first dimension N), with the model unit in "unit"; :func:`summarize`
gives Estimates with two-level (model unit, image) bootstrap intervals, so they cover the
training of the classifier and of the autoencoder as well as the draw of images.
Distances are L2 norms of [0,1]-scaled pixels.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch
from torch import Tensor, nn

from dmmlib.attacks.minimal_norm import fmn_l2
from dmmlib.cache import cached, model_fingerprint
from dmmlib.chapters.on_off_manifold.experiment import select_correct
from dmmlib.chapters.on_off_manifold.intervals import mean, paired, ratio_of_means, share
from dmmlib.chapters.on_off_manifold.known_models import autoencoder, classifier, fonts_sets, settings
from dmmlib.claims import Estimate
from dmmlib.data.fonts import PARAM_NAMES, tangent
from dmmlib.evaluate import accuracy, as_logits
from dmmlib.manifold import local_tangent_basis, norm_ratio, orthonormal_basis, relative_effect
from dmmlib.progress import progress as tqdm
from dmmlib.stats import hierarchical_bootstrap
from dmmlib.subspaces import expected_random_ratio, random_subspace

TANGENTS = ("true", "est")  # the two tangent spaces: attacked on and off
SPACES = {"true": "true tangent (5-d)", "random_true": "random 5-d subspace",
          "est": "autoencoder tangent (k-d)", "random_est": "random k-d subspace"}


def captured_share(basis: Tensor, vectors: Tensor) -> Tensor:
    """Share of each vector's squared norm inside span(basis): ``||U^T v||^2 / ||v||^2``, (B, m).

    basis (B, n, k) orthonormal; vectors (B, n, m). For orthonormal vectors T (n, m) the mean over
    the m columns is ``||U^T T||_F^2 / m``, the mean squared cosine of the principal angles between
    span(T) and span(U) (m <= k): 1 when span(T) lies in span(U), k / n in expectation for a
    uniformly random span(U). nan for a zero vector.
    """
    if basis.dim() != 3 or vectors.dim() != 3 or basis.shape[:2] != vectors.shape[:2]:
        raise ValueError(f"basis (B, n, k) and vectors (B, n, m) must share B and n, got {tuple(basis.shape)} "
                         f"and {tuple(vectors.shape)}")
    inside = (basis.transpose(1, 2) @ vectors).pow(2).sum(1)
    return inside / vectors.pow(2).sum(1)


def measure(model: nn.Module, x: Tensor, y: Tensor, bases: Mapping[str, Tensor], mn: Mapping[str, Any]) -> dict:
    """For one classifier and images x (B, 1, 28, 28) with labels y (B,): the unconstrained
    minimal-norm perturbation d, and for every subspace S of ``bases`` ({name: (B, n, k_S)}
    orthonormal) R(d, S), E at x (target: the class at x + d) and the minimal-norm distance on S;
    for the tangent spaces (:data:`TANGENTS`) also off S. Returns {quantity: (B,) tensor}:
    "mn/none/dist|success", "R/<S>", "E/<S>", "mn/on/<S>/dist|success", "mn/off/<S>/dist|success"."""
    r = fmn_l2(model, x, y, **mn)
    d = r.delta
    with torch.no_grad():
        target = as_logits(model, x + d).argmax(1)
    out = {"mn/none/dist": d.flatten(1).norm(dim=1), "mn/none/success": r.success}
    for s, U in bases.items():
        out[f"R/{s}"] = norm_ratio(d, U)
        out[f"E/{s}"] = relative_effect(model, x, d, U, y, target)
        for mode in ("on", "off") if s in TANGENTS else ("on",):
            a = fmn_l2(model, x, y, basis=U, basis_mode=mode, **mn)
            out[f"mn/{mode}/{s}/dist"], out[f"mn/{mode}/{s}/success"] = a.delta.flatten(1).norm(dim=1), a.success
    return {q: v.detach().cpu() for q, v in out.items()}


def run_unit(P: Mapping[str, Any], unit: int, *, progress: bool = True) -> dict[str, Tensor]:
    """Model unit ``unit`` (classifier and autoencoder of seed ``unit``) on its block of
    ``known_n_images`` correctly classified FONTS test images; cached."""
    cfg = settings(P)
    clf, ae = classifier(cfg, unit, progress=progress), autoencoder(cfg, unit, progress=progress)
    n, k = P["known_n_images"], cfg["known_latent_dim"]
    mn = {"steps": P["mn_steps"], "step_size": P["mn_step"]["mnist"]}
    key = {**cfg, "unit": unit, "n": n, "mn": mn, "basis_method": P["basis_method"], "fd_eps": P["fd_eps"],
           "classifier": model_fingerprint(clf), "autoencoder": model_fingerprint(ae)}

    def compute() -> dict[str, Tensor]:
        dec, _, test = fonts_sets(cfg)
        idx = select_correct(clf, test.x, test.y, n, unit)
        dev = next(clf.parameters()).device
        x, y = test.x[idx].to(dev), test.y[idx].to(dev)
        jac = tangent(dec.to(dev), test.font[idx].to(dev), y, test.params[idx].to(dev))  # (n, 784, 5)
        with torch.no_grad():
            codes = ae.encode(x)
            xr = ae.decode(codes).reshape(x.shape)
        gen = torch.Generator().manual_seed(1000 + unit)
        bases = {"true": orthonormal_basis(jac),
                 "random_true": random_subspace(784, jac.shape[2], batch=n, generator=gen, dtype=x.dtype, device=dev),
                 "est": local_tangent_basis(ae.decode, codes, method=P["basis_method"], fd_eps=P["fd_eps"]),
                 "random_est": random_subspace(784, k, batch=n, generator=gen, dtype=x.dtype, device=dev)}
        rec = {"index": idx, "unit": torch.full((n,), unit), "label": y.cpu(),
               "ae_error": (x - xr).flatten(1).norm(dim=1).cpu()}
        for s in ("est", "random_est"):
            rec[f"contain/{s}"] = captured_share(bases[s], bases["true"]).mean(1).cpu()
            rec[f"param_share/{s}"] = captured_share(bases[s], jac).cpu()  # (n, 5): each affine direction
        rec.update(measure(clf, x, y, bases, mn))
        return rec

    return cached("on_off_known", key, compute)


def run(P: Mapping[str, Any], *, progress: bool = True) -> tuple[dict[str, Tensor], list[dict]]:
    """Every unit of ``known_models``: the concatenated records and, per unit, the classifier's
    test accuracy (on the whole test pool) and the autoencoder's final training MSE per pixel."""
    cfg = settings(P)
    _, _, test = fonts_sets(cfg)
    parts, info = [], []
    for u in tqdm(range(P["known_models"]), desc="FONTS (known manifold)", disable=not progress):
        parts.append(run_unit(P, u, progress=False))
        clf, ae = classifier(cfg, u, progress=False), autoencoder(cfg, u, progress=False)
        info.append({"unit": u, "classifier seed": u, "autoencoder seed": u,
                     "test accuracy (%)": 100 * accuracy(clf, test.x, test.y),
                     "training MSE per pixel (last epoch)": ae.zoo_info["history"]["loss"][-1]})
    return {q: torch.cat([p[q] for p in parts]) for q in parts[0]}, info


def summarize(records: Mapping[str, Tensor], k: int, n_pixels: int = 784, *, n_boot: int = 2000) -> dict:
    """Estimates (interval over model units, then images) of the records of :func:`run`:

    - ``contain`` / ``contain_random``: mean squared cosine of the principal angles between the
      true tangent space and the autoencoder's / a random k-subspace (``expected_contain`` = k/n);
      ``param_share`` / ``param_share_random``: {affine parameter: the same share for its direction};
    - {space: Estimate} for ``R``, ``E`` (over images whose unconstrained attack succeeded),
      ``on_ratio``, ``off_ratio`` (minimal-norm distance on / off S over the unconstrained one, ratio
      of means over the images where both succeeded) and ``on_success`` (share of images whose
      on-S attack succeeded); ``expected_R`` and ``sqrt_nk``: {space: value for a random vector};
    - ``off_success`` ({tangent: share}), ``none_success`` (the unconstrained attack's), ``inv_R2``
      ({tangent: mean 1 / R^2}) and ``cmp``: paired comparisons (:func:`dmmlib.claims.compare`) of each
      tangent space with the random subspace of its dimension: "R/<s>" (ratio of mean R), "E/<s>"
      (difference of mean E), "on/<s>" (ratio of mean on-S minimal-norm distances, images where both
      on-attacks succeeded);
    - ``ae_error``, ``units``, ``images``, ``k``, ``dims`` ({space: dimension}).
    """
    a = {q: v.double().numpy() if v.is_floating_point() else v.numpy() for q, v in records.items()}
    units = a["unit"]
    n_units = len(np.unique(units))
    of = f"images, {n_units} model unit{'s' if n_units != 1 else ''}"
    all_rows = np.ones(len(units), dtype=bool)

    def est(stat, arrays, mask) -> Estimate:
        h = hierarchical_bootstrap(stat, [x[mask] for x in arrays], units[mask], n_boot=n_boot)
        return Estimate(h.estimate, h.lo, h.hi, h.n, of, "")

    m = len(PARAM_NAMES)
    dims = {"true": m, "random_true": m, "est": k, "random_est": k}
    ok = a["mn/none/success"].astype(bool)
    out = {"units": n_units, "images": int(len(units)), "k": k, "dims": dims, "expected_contain": k / n_pixels,
           "contain": est(mean, [a["contain/est"]], all_rows),
           "contain_random": est(mean, [a["contain/random_est"]], all_rows),
           "param_share": {p: est(mean, [a["param_share/est"][:, i]], all_rows) for i, p in enumerate(PARAM_NAMES)},
           "param_share_random": {p: est(mean, [a["param_share/random_est"][:, i]], all_rows)
                                  for i, p in enumerate(PARAM_NAMES)},
           "ae_error": est(mean, [a["ae_error"]], all_rows),
           "unconstrained": est(mean, [a["mn/none/dist"]], ok),
           "expected_R": {s: expected_random_ratio(n_pixels, d) for s, d in dims.items()},
           "sqrt_nk": {s: float(np.sqrt(n_pixels / d)) for s, d in dims.items()},
           "R": {}, "E": {}, "on_ratio": {}, "off_ratio": {}, "on_success": {}}
    for s in SPACES:
        out["R"][s] = est(mean, [a[f"R/{s}"]], ok)
        out["E"][s] = est(mean, [a[f"E/{s}"]], ok)
        for mode in ("on", "off") if s in TANGENTS else ("on",):
            both = ok & a[f"mn/{mode}/{s}/success"].astype(bool)
            out[f"{mode}_ratio"][s] = est(ratio_of_means, [a[f"mn/{mode}/{s}/dist"], a["mn/none/dist"]], both)
        out["on_success"][s] = est(share, [a[f"mn/on/{s}/success"].astype(float)], ok)
    out["off_success"] = {s: est(share, [a[f"mn/off/{s}/success"].astype(float)], ok) for s in TANGENTS}
    out["none_success"] = est(share, [ok.astype(float)], all_rows)
    out["inv_R2"] = {s: est(mean, [1.0 / a[f"R/{s}"] ** 2], ok) for s in TANGENTS}
    out["cmp"] = {}
    for s in TANGENTS:  # paired with the random subspace of the same dimension, same images and units
        c = f"random_{s}"
        out["cmp"][f"R/{s}"] = paired(a[f"R/{s}"][ok], a[f"R/{c}"][ok], statistic="ratio", units=units[ok],
                                       n_of=of, n_boot=n_boot)
        out["cmp"][f"E/{s}"] = paired(a[f"E/{s}"][ok], a[f"E/{c}"][ok], statistic="difference", units=units[ok],
                                       n_of=of, n_boot=n_boot)
        both = a[f"mn/on/{s}/success"].astype(bool) & a[f"mn/on/{c}/success"].astype(bool)
        out["cmp"][f"on/{s}"] = paired(a[f"mn/on/{s}/dist"][both], a[f"mn/on/{c}/dist"][both], statistic="ratio",
                                        units=units[both], n_of=of, n_boot=n_boot)
    return out


def per_unit_table(records: Mapping[str, Tensor], info: list[dict]):
    """A DataFrame, one row per model unit: ``info`` (from :func:`run`) and the unit's own means
    of the main measures (containment; R, and the on-S distance ratio over the images where both
    attacks succeeded, on the true and the autoencoder's tangent space), to show how far the
    training of the networks alone moves them."""
    import pandas as pd

    a = {q: v.double().numpy() if v.is_floating_point() else v.numpy() for q, v in records.items()}
    rows = []
    for row in info:
        u = a["unit"] == row["unit"]
        ok = u & a["mn/none/success"].astype(bool)
        out = {**row, "images": int(u.sum()), "share of the true tangent inside": mean(a["contain/est"][u])}
        for s in TANGENTS:
            both = ok & a[f"mn/on/{s}/success"].astype(bool)
            out[f"R(d, {s})"] = mean(a[f"R/{s}"][ok])
            out[f"on {s} / unconstrained"] = ratio_of_means(a[f"mn/on/{s}/dist"][both], a["mn/none/dist"][both])
        rows.append(out)
    return pd.DataFrame(rows)


def table(r: Mapping[str, Any]):
    """A DataFrame: one row per measure, one column per subspace (true tangent, its random control,
    the autoencoder's tangent, its random control), values as "mean [95 % interval]"."""
    import pandas as pd

    from dmmlib.report import fmt_number

    def cell(e: Estimate | None) -> str:
        return e.text() if e is not None else "—"

    rows = [("dimension", {s: str(d) for s, d in r["dims"].items()}),
            ("share of the true tangent inside (mean cos²)",
             {"true": "1", "est": cell(r["contain"]), "random_est": cell(r["contain_random"]),
              "random_true": "—"}),
            ("E[R] of a random vector", {s: fmt_number(v) for s, v in r["expected_R"].items()}),
            ("R(d, S)", {s: cell(e) for s, e in r["R"].items()}),
            ("E at x", {s: cell(e) for s, e in r["E"].items()}),
            ("minimal-norm distance on S / unconstrained", {s: cell(e) for s, e in r["on_ratio"].items()}),
            ("minimal-norm distance off S / unconstrained", {s: cell(r["off_ratio"].get(s)) for s in SPACES}),
            ("on-S attack success (share)", {s: cell(e) for s, e in r["on_success"].items()})]
    return pd.DataFrame([{"measure": name, **{SPACES[s]: vals.get(s, "—") for s in SPACES}} for name, vals in rows])


def figure(r: Mapping[str, Any], *, on_far: float = 2.0, off_close: float = 1.2):
    """(a) the share of each affine direction of the true tangent space inside the autoencoder's
    tangent space and inside a random subspace of the same k (k/n dashed); (b) table 2's
    minimal-norm distance ratios on and off each subspace, with the claims' thresholds."""
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 3.8), constrained_layout=True)

    def bars(ax, xs, ests, width, label, color):
        v = np.array([e.value for e in ests])
        err = np.nan_to_num(np.array([[e.value - e.lo for e in ests], [e.hi - e.value for e in ests]]))
        ax.bar(xs, v, width, yerr=err, capsize=3, label=label, color=color)

    pos = np.arange(len(PARAM_NAMES))
    bars(a1, pos - 0.2, [r["param_share"][p] for p in PARAM_NAMES], 0.4, f"autoencoder tangent (k = {r['k']})", "C0")
    bars(a1, pos + 0.2, [r["param_share_random"][p] for p in PARAM_NAMES], 0.4, "random subspace (same k)", "C7")
    a1.axhline(r["expected_contain"], color="k", ls="--", label=f"k / n = {r['expected_contain']:.3g}")
    a1.set_xticks(pos, list(PARAM_NAMES))
    a1.set_ylim(0, 1)
    a1.set_xlabel("direction of the true tangent space (affine parameter)")
    a1.set_ylabel("share of its squared norm inside\nthe subspace, ||U^T v||² / ||v||²")
    a1.set_title("(a) is the true tangent inside the estimated one?")
    a1.legend(fontsize=8)
    names = list(SPACES)
    pos = np.arange(len(names))
    bars(a2, pos - 0.2, [r["on_ratio"][s] for s in names], 0.4, "on S", "C1")
    offs = [s for s in names if s in r["off_ratio"]]
    bars(a2, np.array([names.index(s) for s in offs]) + 0.2, [r["off_ratio"][s] for s in offs], 0.4, "off S", "C2")
    a2.axhline(on_far, color="k", ls=":", label=f"'much further' ({on_far:g})")
    a2.axhline(off_close, color="k", ls="--", label=f"'about as close' ({off_close:g})")
    a2.set_xticks(pos, [SPACES[s].replace(" (", "\n(") for s in names], fontsize=8)
    a2.set_xlabel("subspace S")
    a2.set_yscale("log")
    a2.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    a2.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    a2.set_ylabel("minimal-norm distance / unconstrained")
    a2.set_title("(b) table 2 on each subspace S")
    a2.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig
