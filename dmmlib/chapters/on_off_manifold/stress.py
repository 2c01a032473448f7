"""Stress test of the autoencoder tangent space (issue 11, item 8): how R(d, M), E and the
on/off-manifold minimal-norm distances move with the latent dimension k of the autoencoder
(:func:`run`) and with its training, i.e. its quality (:func:`run_quality`). The manifold known
exactly (FONTS) is in :mod:`dmmlib.chapters.on_off_manifold.known_manifold`.

- k sweep: for each k in ``stress_latent_dims`` an MNIST autoencoder of the zoo's architecture
  with a k-dimensional code is trained (seed 0, ``stress_ae_epochs`` epochs, otherwise the
  shared models' settings; cached by the zoo). The autoencoder at k = 16 is trained the same
  way (not the chapter's), so only k varies.
- quality sweep: at the zoo's k (16), autoencoders trained for each of
  ``stress_quality_epochs`` epochs, seeds 0 .. ``stress_quality_seeds`` - 1 (the zoo's seeds,
  so an epoch count equal to the shared models' is the chapter's own autoencoder, and one
  equal to ``stress_ae_epochs`` is the k sweep's k = 16 one: both come from the cache).

Both use model unit 0's standard classifier on the same ``stress_n_images`` test images:
:func:`dmmlib.chapters.on_off_manifold.robust.measure` gives the unconstrained minimal-norm
perturbation d, R(d, M), R(d, random), E at x and the minimal-norm distances unconstrained /
on M / off M / on a random subspace of the same k (one measurement per autoencoder,
:func:`measure_autoencoder`, cached), and the reconstruction error ||x - D(E(x))||.
Distances are L2 norms of [0,1]-scaled pixels.
"""
from __future__ import annotations

import warnings
from typing import Any, Mapping

import numpy as np
import torch
from torch import Tensor, nn

from dmmlib.cache import cached, model_fingerprint
from dmmlib.chapters.on_off_manifold.experiment import Setup, load_setup, select_correct
from dmmlib.chapters.on_off_manifold.intervals import mean, ratio_of_means
from dmmlib.chapters.on_off_manifold.robust import measure
from dmmlib.claims import Estimate
from dmmlib.manifold import local_tangent_basis
from dmmlib.progress import progress as tqdm
from dmmlib.stats import hierarchical_bootstrap
from dmmlib.subspaces import expected_random_ratio, random_subspace


def measure_autoencoder(setup: Setup, ae: nn.Module, P: Mapping[str, Any]) -> dict[str, Tensor]:
    """Per-image records (N = ``stress_n_images``) of :func:`measure` with ``setup``'s classifier,
    the tangent space of ``ae`` and a random subspace of its k (seeded by k), plus "ae_error"
    (N,) = ||x - D(E(x))||; cached by both models' fingerprints and the settings."""
    k, n = int(ae.latent_dim), P["stress_n_images"]
    mn = {"steps": P["mn_steps"], "step_size": P["mn_step"]["mnist"]}
    key = {"k": k, "n": n, "mn": mn, "basis_method": P["basis_method"], "fd_eps": P["fd_eps"],
           "info": setup.info, "classifier": model_fingerprint(setup.classifier), "autoencoder": model_fingerprint(ae)}

    def compute() -> dict[str, Tensor]:
        idx = select_correct(setup.classifier, setup.x, setup.y, n, 0)
        dev = next(setup.classifier.parameters()).device
        x, y = setup.x[idx].to(dev), setup.y[idx].to(dev)
        with torch.no_grad():
            codes = ae.encode(x)
            xr = ae.decode(codes).reshape(x.shape).clamp(0, 1)
        bases = {"tangent": local_tangent_basis(ae.decode, codes, method=P["basis_method"], fd_eps=P["fd_eps"]),
                 "random": random_subspace(x[0].numel(), k, batch=len(x), generator=torch.Generator().manual_seed(k),
                                           dtype=x.dtype, device=x.device)}
        rec = {q: v.detach().cpu() for q, v in measure(setup.classifier, x, y, bases, mn).items()}
        rec["ae_error"] = (x - xr).flatten(1).norm(dim=1).cpu()
        return rec

    return cached("on_off_stress_k", key, compute)


def run(P: Mapping[str, Any], *, progress: bool = True) -> dict[int, dict[str, Tensor]]:
    """{k: records of :func:`measure_autoencoder`} for every k of ``stress_latent_dims``."""
    from dmmlib import zoo

    setup = load_setup("mnist", P, 0)
    out = {}
    for k in tqdm(P["stress_latent_dims"], desc="stress test in k", disable=not progress):
        ae = zoo.mnist_autoencoder(P["models_profile"], seed=0, mnist_ae_latent_dim=int(k),
                                   mnist_ae_epochs=P["stress_ae_epochs"])
        out[int(k)] = measure_autoencoder(setup, ae, P)
    return out


def run_quality(P: Mapping[str, Any], *, progress: bool = True) -> tuple[dict[int, dict[str, Tensor]], dict]:
    """The quality sweep: ({epochs: records of every autoencoder seed, concatenated, with "unit"
    (N,) = the autoencoder's seed}, {"k": the code size, "train_mse": {epochs: [final training
    MSE per pixel of each seed]}})."""
    from dmmlib import zoo

    setup = load_setup("mnist", P, 0)
    out, train_mse, k = {}, {}, None
    runs = [(int(e), s) for e in P["stress_quality_epochs"] for s in range(P["stress_quality_seeds"])]
    parts: dict[int, list] = {}
    for e, s in tqdm(runs, desc="stress test in training epochs", disable=not progress):
        ae = zoo.mnist_autoencoder(P["models_profile"], seed=s, mnist_ae_epochs=e)
        k = int(ae.latent_dim)
        rec = measure_autoencoder(setup, ae, P)
        parts.setdefault(e, []).append({**rec, "unit": torch.full((len(rec["ae_error"]),), s)})
        train_mse.setdefault(e, []).append(float(ae.zoo_info["history"]["loss"][-1]))
    for e, recs in parts.items():
        out[e] = {q: torch.cat([r[q] for r in recs]) for q in recs[0]}
    return out, {"k": k, "train_mse": train_mse}


def summarize_one(r: Mapping[str, Tensor], k: int, n_pixels: int = 784, *, n_boot: int = 2000) -> dict:
    """{"expected_R", "R", "R_random", "E", "on_ratio", "off_ratio", "on_random_ratio", "ae_error",
    "units", "images", "per_unit"} for one set of records: Estimates over autoencoders (the records'
    "unit", absent: one) and images (two-level bootstrap); ratios are of means over the images where
    both attacks succeeded; "per_unit": {"R", "ae_error", "on_ratio", "off_ratio", "on_random_ratio":
    the value of each autoencoder alone, in the order of its seed}."""
    a = {q: v.double().numpy() if v.is_floating_point() else v.numpy() for q, v in r.items()}
    units = a["unit"] if "unit" in a else np.zeros(len(a["ae_error"]), dtype=int)
    n_units = len(np.unique(units))
    of = f"images, 1 classifier, {n_units} autoencoder{'s' if n_units != 1 else ''}"
    ok = a["mn/none/success"].astype(bool)

    per_unit: dict[str, tuple] = {}

    def est(stat, arrays, mask, name=None) -> Estimate:
        h = hierarchical_bootstrap(stat, [x[mask] for x in arrays], units[mask], n_boot=n_boot)
        if name:
            per_unit[name] = h.per_unit
        return Estimate(h.estimate, h.lo, h.hi, h.n, of, "")

    res = {"expected_R": expected_random_ratio(n_pixels, k), "units": n_units, "images": int(len(units)),
           "per_unit": per_unit,
           "R": est(mean, [a["R/tangent"]], ok, "R"), "R_random": est(mean, [a["R/random"]], ok),
           "E": est(mean, [a["E/tangent"]], ok), "ae_error": est(mean, [a["ae_error"]], np.ones_like(ok), "ae_error")}
    for name, key in (("on_ratio", "on/tangent"), ("off_ratio", "off/tangent"), ("on_random_ratio", "on/random")):
        m = ok & a[f"mn/{key}/success"].astype(bool)
        res[name] = est(ratio_of_means, [a[f"mn/{key}/dist"], a["mn/none/dist"]], m, name)
    return res


def summarize(records: Mapping[int, Mapping[str, Tensor]], n_pixels: int = 784, *, n_boot: int = 2000) -> dict:
    """The k sweep: {k: :func:`summarize_one`}."""
    return {k: summarize_one(r, k, n_pixels, n_boot=n_boot) for k, r in records.items()}


def summarize_quality(records: Mapping[int, Mapping[str, Tensor]], k: int, n_pixels: int = 784, *,
                      n_boot: int = 2000) -> dict:
    """The quality sweep: {epochs: :func:`summarize_one`} (every autoencoder has code size k)."""
    return {e: summarize_one(r, k, n_pixels, n_boot=n_boot) for e, r in records.items()}


#: the quantities whose movement with the autoencoder's training :func:`quality_change` measures:
#: table 1's R(d, M) and E, and table 2's on- and off-manifold distances relative to the unconstrained one
STABILITY_QUANTITIES = ("R", "E", "on_ratio", "off_ratio")


def quality_change(results: Mapping[int, Mapping[str, Any]]) -> tuple[float, dict[str, float]]:
    """How much the estimates still move with the autoencoder's training: for each quantity of
    :data:`STABILITY_QUANTITIES`, |v(E) - v(E')| / |v(E)| between the two longest trainings
    E > E' of the quality sweep (``results`` of :func:`summarize_quality`); returns (the largest,
    {quantity: its change}). nan (all) with fewer than two epoch counts."""
    epochs = sorted(results)
    if len(epochs) < 2:
        return float("nan"), {q: float("nan") for q in STABILITY_QUANTITIES}
    last, prev = results[epochs[-1]], results[epochs[-2]]
    changes = {}
    for q in STABILITY_QUANTITIES:
        a, b = float(last[q].value), float(prev[q].value)
        changes[q] = abs(a - b) / abs(a) if a != 0 and np.isfinite(a) and np.isfinite(b) else float("nan")
    values = list(changes.values())
    return (float("nan") if any(v != v for v in values) else max(values)), changes


def table(results: Mapping[int, Mapping[str, Any]], index: str = "k"):
    """A DataFrame, one row per key of ``results`` (k, or training epochs: name it ``index``);
    with several autoencoders per row, also R(d, M), on M / unconstrained and the reconstruction
    error of each autoencoder alone."""
    import pandas as pd

    rows = []
    for key, r in sorted(results.items()):
        row = {index: key, "E[R] random": f"{r['expected_R']:.3g}", "R(d, M)": r["R"].text(),
               "R(d, random)": r["R_random"].text(), "E at x": r["E"].text(),
               "on M / unconstrained": r["on_ratio"].text(), "off M / unconstrained": r["off_ratio"].text(),
               "on random / unconstrained": r["on_random_ratio"].text(), "||x - D(E(x))||": r["ae_error"].text()}
        if r.get("units", 1) > 1:
            for q, name in (("R", "R(d, M)"), ("on_ratio", "on M / unconstrained"), ("ae_error", "||x - D(E(x))||")):
                row[f"{name} per seed"] = ", ".join(f"{v:.3g}" for v in r["per_unit"][q])
        rows.append(row)
    return pd.DataFrame(rows)


def quality_figure(results: Mapping[int, Mapping[str, Any]], *, on_far: float = 2.0):
    """Three panels against the autoencoder's training epochs (log axis): R(d, M) with the random
    subspace's R and a random vector's E[R]; the minimal-norm distances on / off M and on the random
    subspace relative to the unconstrained one, with the on-far threshold ``on_far``; and the
    reconstruction error. Points are means, bars 95 % intervals."""
    import matplotlib.pyplot as plt

    ep = sorted(results)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), constrained_layout=True)

    def line(ax, key, label, **kw):
        e = [results[x][key] for x in ep]
        v = np.array([q.value for q in e])
        err = np.array([[q.value - q.lo for q in e], [q.hi - q.value for q in e]])
        ax.errorbar(ep, v, yerr=np.nan_to_num(err), marker="o", capsize=3, label=label, **kw)

    line(axes[0], "R", "R(d, M), tangent space")
    line(axes[0], "R_random", "R(d, S), random subspace")
    axes[0].plot(ep, [results[x]["expected_R"] for x in ep], "k--", label="E[R] of a random vector")
    axes[0].set_ylabel("norm ratio R = ||d|| / ||Proj d||")
    line(axes[1], "on_ratio", "on M")
    line(axes[1], "off_ratio", "off M")
    line(axes[1], "on_random_ratio", "on a random subspace")
    axes[1].axhline(on_far, color="k", ls=":", label=f"'much further' threshold ({on_far:g})")
    axes[1].set_ylabel("minimal-norm distance / unconstrained")
    line(axes[2], "ae_error", "test digits", color="C3")
    axes[2].set_ylabel("reconstruction error ||x - D(E(x))||\n(L2, [0,1] pixels)")
    for ax, title in zip(axes, ("(a) table 1's R", "(b) table 2's distances", "(c) autoencoder quality")):
        ax.set_xscale("log")
        ax.set_xticks(ep, [str(x) for x in ep])
        ax.minorticks_off()
        ax.set_xlabel("autoencoder training epochs")
        ax.set_title(title)
        ax.legend(fontsize=8)
    return fig


def sweep(records: Mapping[int, Mapping[str, Tensor]], *, n_boot: int = 2000, seed: int = 0) -> dict:
    """One paired comparison across a whole sweep (issue 23: one trend claim per sweep, not one
    claim per setting), from the records of :func:`run` or :func:`run_quality` ({setting: records};
    every setting holds the same test images, in the same order, for each autoencoder seed "unit").

    Per row (image, autoencoder seed) and setting: log R(d, M) and log R(d, random) of the
    unconstrained minimal-norm perturbation (nan where that attack failed). Per image, both are
    averaged over the settings and seeds where it succeeded; the estimate is the paired
    difference mean(log R(d, M)) - mean(log R(d, random)) over images (bootstrap over images):
    above 0, d avoids the tangent space more than a random subspace of the same k across the sweep.

    Returns a dict: ``cmp`` (that :class:`Estimate`), ``ratio`` (exp of it and of its bounds: the
    geometric-mean ratio), ``slope`` (Estimate: least-squares slope of the per-setting mean log
    ratio against log(setting), bootstrap over images: the trend), ``per_setting`` ({setting:
    {"log ratio", "ratio", "on_ratio", "on_random_ratio", "success", "on_success", "on_random_success"}}),
    ``success_min`` (the lowest unconstrained success rate over the settings), ``settings``,
    ``seeds``, ``images``.
    """
    from dmmlib.claims import compare

    settings = sorted(records)
    if not settings:
        raise ValueError("sweep needs at least one setting")

    def a(r, q):
        v = r[q]
        return v.double().numpy() if v.is_floating_point() else v.numpy()

    first = records[settings[0]]
    units = a(first, "unit") if "unit" in first else np.zeros(len(first["ae_error"]), dtype=int)
    seeds = np.unique(units)
    n_img = len(units) // len(seeds)
    logs_t, logs_r, per = [], [], {}
    for s in settings:
        r = records[s]
        if len(r["ae_error"]) != len(units):
            raise ValueError(f"setting {s} has {len(r['ae_error'])} rows, the first {len(units)}: not the same images")
        ok = a(r, "mn/none/success").astype(bool)
        lt = np.where(ok, np.log(a(r, "R/tangent")), np.nan)
        lr = np.where(ok, np.log(a(r, "R/random")), np.nan)
        logs_t.append(lt.reshape(len(seeds), n_img))
        logs_r.append(lr.reshape(len(seeds), n_img))
        row = {"log ratio": float(np.nanmean(lt - lr)) if ok.any() else float("nan"), "success": float(ok.mean())}
        row["ratio"] = float(np.exp(row["log ratio"]))
        none = a(r, "mn/none/dist")
        for name, key in (("on_ratio", "on/tangent"), ("on_random_ratio", "on/random")):
            both = ok & a(r, f"mn/{key}/success").astype(bool)
            row[name] = ratio_of_means(a(r, f"mn/{key}/dist")[both], none[both]) if both.any() else float("nan")
            row[name.replace("ratio", "success")] = float(a(r, f"mn/{key}/success").astype(bool).mean())
        per[s] = row
    Lt, Lr = np.stack(logs_t), np.stack(logs_r)  # (settings, seeds, images)
    with warnings.catch_warnings():  # an image whose attacks all failed: nan, dropped by compare
        warnings.simplefilter("ignore", RuntimeWarning)
        img_t = np.nanmean(Lt.reshape(-1, n_img), axis=0)
        img_r = np.nanmean(Lr.reshape(-1, n_img), axis=0)
        per_image = np.nanmean(Lt - Lr, axis=1)  # (settings, images), over seeds
    of = f"images, each over {len(settings)} settings x {len(seeds)} autoencoder seed{'s' if len(seeds) != 1 else ''}"
    cmp = compare(img_t, img_r, statistic="difference", n_of=of, unit="log ratio", n_boot=n_boot, seed=seed)
    slope = _slope(settings, per_image, n_boot=n_boot, seed=seed, n_of=of)
    return {"cmp": cmp, "ratio": tuple(float(np.exp(v)) for v in (cmp.value, cmp.lo, cmp.hi)), "slope": slope,
            "per_setting": per, "success_min": min(p["success"] for p in per.values()), "settings": settings,
            "seeds": int(len(seeds)), "images": int(n_img)}


def _slope(settings, D: np.ndarray, *, n_boot: int, seed: int, n_of: str) -> Estimate:
    """Least-squares slope of the per-setting mean of ``D`` (settings, images; nan: no value)
    against log(setting), with a percentile bootstrap over images; nan for fewer than 2 settings."""
    x = np.log(np.asarray(settings, dtype=np.float64))
    if len(x) < 2:
        return Estimate(float("nan"), float("nan"), float("nan"), D.shape[1], n_of, "per log setting")
    xc = x - x.mean()

    def fit(M):  # M: (..., settings)
        return (M - M.mean(-1, keepdims=True)) @ xc / (xc @ xc)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value = float(fit(np.nanmean(D, axis=1)))
        idx = np.random.default_rng(seed).integers(0, D.shape[1], size=(n_boot, D.shape[1]))
        boots = fit(np.nanmean(D[:, idx], axis=2).T)
    boots = boots[np.isfinite(boots)]
    lo, hi = (np.percentile(boots, [2.5, 97.5]) if len(boots) else (float("nan"), float("nan")))
    return Estimate(value, float(lo), float(hi), int(D.shape[1]), n_of, "per log setting")
