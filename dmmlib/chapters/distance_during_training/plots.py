"""Figures of the chapter distance_during_training (like DMM figure 6) and its Jupyter widget.

Every function takes ``results`` from :func:`..experiment.run_all` (and the per-seed
summaries of :func:`..claims.per_seed` where changepoints are drawn) and returns a
matplotlib Figure. Distances are L2 norms of [0,1]-scaled pixels.
"""
from __future__ import annotations

from typing import Any, Mapping

import matplotlib.pyplot as plt
import numpy as np

from dmmlib.chapters.distance_during_training.experiment import curves

COLORS = {"main": "tab:blue", "alt": "tab:orange"}
TITLES = {"mnist": "MNIST, MLP (appendix G.1)", "cifar": "CIFAR-10, convnet"}


def _setting_label(res: Mapping[str, Any], setting: str) -> str:
    s = res["settings"][setting]
    return f"{s['optimizer'].upper()} lr {s['lr']:g}" + (f", momentum {s['momentum']:g}" if s["momentum"] else "")


def _stack(runs, key: str) -> tuple[np.ndarray, np.ndarray]:
    """(x (S,), values (seeds, S)) of ``key`` from :func:`curves` of each run; x = iteration + 1."""
    cs = [curves(r) for r in runs]
    return cs[0]["steps"] + 1.0, np.stack([c[key] for c in cs])


def distance_curves(results: Mapping[str, Any], seeds: Mapping[str, Any], *, arch: str = "convnet") -> plt.Figure:
    """Row 1: mean boundary distance against iteration + 1 (log scale), per setting: the mean
    over seeds (line), the range over seeds (band), each seed (thin lines) and each seed's
    hinge-fit break (triangles); for a network with batch norm, dashed: the mean distance measured
    in plain eval mode, through the running statistics instead of recalibrated ones (the
    artifact the claims avoid). Row 2: test accuracy (solid) and the attack's success rate (dotted)."""
    fig, axes = plt.subplots(2, len(results), figsize=(5.6 * len(results), 6.6), sharex="col", squeeze=False)
    for col, (ds, res) in enumerate(results.items()):
        ax, ax2 = axes[0, col], axes[1, col]
        for setting, runs in res["runs"].items():
            color, label = COLORS[setting], _setting_label(res, setting)
            x, d = _stack(runs, "distance")
            ax.plot(x, d.T, color=color, lw=0.6, alpha=0.45)
            ax.fill_between(x, np.nanmin(d, 0), np.nanmax(d, 0), color=color, alpha=0.15)
            ax.plot(x, np.nanmean(d, 0), color=color, lw=2, label=f"{label} (mean of {len(runs)} seeds)")
            _, d_eval = _stack(runs, "distance_eval")
            if not np.allclose(d_eval, d, equal_nan=True):  # batch norm: the plain eval-mode curve, an artifact
                ax.plot(x, np.nanmean(d_eval, 0), color=color, lw=1.2, ls="--",
                        label=f"{label}, plain eval mode (running statistics: artifact)")
            for row, run_d in zip(seeds[ds][setting], d):
                j = int(np.argmin(np.abs(x - 1 - row["cp_step"])))
                ax.plot(x[j], run_d[j], marker="v", color=color, ms=7, mec="k", mew=0.6, ls="none")
            _, acc = _stack(runs, "accuracy")
            _, succ = _stack(runs, "success")
            ax2.plot(x, 100 * np.nanmean(acc, 0), color=color, lw=2, label=f"test accuracy, {label}")
            ax2.plot(x, 100 * np.nanmean(succ, 0), color=color, lw=1.2, ls=":", label=f"DeepFool success, {label}")
        ax.plot([], [], marker="v", color="grey", mec="k", ls="none", label="break of the hinge fit (one per seed)")
        ax.set_xscale("log")
        ax.set_ylabel("mean distance to the boundary\n(L2, [0,1]-scaled pixels)")
        ax.set_title(TITLES.get(ds, ds).replace("convnet", arch))
        ax.legend(fontsize=8)
        ax2.set_xscale("log")
        ax2.set_ylim(0, 105)
        ax2.set_xlabel("training iteration + 1 (log scale)")
        ax2.set_ylabel("% of test images")
        ax2.legend(fontsize=7, loc="center left")
    fig.tight_layout()
    return fig


def distance_by_epoch(results: Mapping[str, Any], *, arch: str = "convnet") -> plt.Figure:
    """The paper's view (figure 6): mean boundary distance against the epoch on a linear axis,
    mean over seeds with the range over seeds, per setting."""
    fig, axes = plt.subplots(1, len(results), figsize=(5.6 * len(results), 3.4), squeeze=False)
    for ax, (ds, res) in zip(axes[0], results.items()):
        for setting, runs in res["runs"].items():
            cs = [curves(r) for r in runs]
            x, d = cs[0]["epochs"], np.stack([c["distance"] for c in cs])
            ax.fill_between(x, np.nanmin(d, 0), np.nanmax(d, 0), color=COLORS[setting], alpha=0.15)
            ax.plot(x, np.nanmean(d, 0), color=COLORS[setting], lw=2, marker=".", label=_setting_label(res, setting))
        ax.set_xlabel("epoch")
        ax.set_ylabel("mean distance to the boundary\n(L2, [0,1]-scaled pixels)")
        ax.set_title(TITLES.get(ds, ds).replace("convnet", arch))
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def tangent_curves(results: Mapping[str, Any], *, setting: str = "main", arch: str = "convnet") -> plt.Figure:
    """Row 1: the minimal perturbation's parts on (||P_T r||) and off (||r - P_T r||) the
    autoencoder's tangent space, and ||P_R r|| for a random subspace of the same k. Row 2: the
    fraction of the input gradient's norm in the tangent space and in the random subspace,
    with sqrt(k/n) (a random vector's expected share). Means over seeds, range as a band."""
    fig, axes = plt.subplots(2, len(results), figsize=(5.6 * len(results), 6.6), sharex="col", squeeze=False)
    for col, (ds, res) in enumerate(results.items()):
        runs = res["runs"][setting]
        ax, ax2 = axes[0, col], axes[1, col]
        for key, color, label in (("r_off", "tab:red", "off the tangent space ||r - P_T r||"),
                                  ("r_on", "tab:green", "on the tangent space ||P_T r||")):
            x, v = _stack(runs, key)
            ax.fill_between(x, np.nanmin(v, 0), np.nanmax(v, 0), color=color, alpha=0.15)
            ax.plot(x, np.nanmean(v, 0), color=color, lw=2, label=label)
        cs = [curves(r) for r in runs]
        rand_part = np.stack([c["r_rand_frac"] * np.hypot(c["r_on"], c["r_off"]) for c in cs])
        ax.plot(x, np.nanmean(rand_part, 0), color="grey", lw=1.5, ls="--", label="in a random k-subspace (control)")
        ax.set_xscale("log")
        ax.set_ylabel("mean norm of the part\n(L2, [0,1]-scaled pixels)")
        ax.set_title(f"{TITLES.get(ds, ds).replace('convnet', arch)}: minimal perturbation r")
        ax.legend(fontsize=8)
        for key, color, label in (("g_tan", "tab:green", "tangent space of the autoencoder"),
                                  ("g_rand", "grey", "random subspace, same k (control)")):
            x, v = _stack(runs, key)
            ax2.fill_between(x, np.nanmin(v, 0), np.nanmax(v, 0), color=color, alpha=0.15)
            ax2.plot(x, np.nanmean(v, 0), color=color, lw=2, label=label)
        ax2.axhline(np.sqrt(res["k"] / res["n"]), color="k", lw=0.8, ls=":", label=f"sqrt(k/n), k = {res['k']}")
        ax2.set_xscale("log")
        ax2.set_ylim(0, 1)
        ax2.set_xlabel("training iteration + 1 (log scale)")
        ax2.set_ylabel("||P g|| / ||g|| of the input gradient")
        ax2.legend(fontsize=8)
    fig.tight_layout()
    return fig


def distance_histograms(results: Mapping[str, Any], dataset: str, setting: str = "main", seed: int = 0,
                        checkpoints: tuple[int, ...] | None = None) -> plt.Figure:
    """Histograms of the per-image boundary distances of one run at a few checkpoints
    (default: the first, the middle and the last)."""
    run = results[dataset]["runs"][setting][seed]
    steps = run["steps"]
    idx = checkpoints if checkpoints is not None else (0, len(steps) // 2, len(steps) - 1)
    d = run["distance"]
    finite = d[np.isfinite(d)]
    bins = np.linspace(0, float(finite.max()) if finite.size else 1.0, 30)
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for j in idx:
        v = d[j][np.isfinite(d[j])]
        ax.hist(v, bins=bins, alpha=0.5, label=f"iteration {steps[j]} (epoch {run['epochs'][j]:.2g}), n = {len(v)}")
    ax.set_xlabel("distance to the boundary (L2, [0,1]-scaled pixels)")
    ax.set_ylabel("test images")
    ax.set_title(f"{TITLES.get(dataset, dataset)}, {setting} optimiser, seed {seed}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def histogram_widget(results: Mapping[str, Any]):
    """An ipywidgets panel: choose dataset, setting, seed and checkpoint; shows the histogram of
    the per-image boundary distances there beside the one at iteration 0 (for Jupyter only)."""
    import ipywidgets as w
    from IPython.display import display

    ds0 = next(iter(results))
    dataset = w.Dropdown(options=list(results), value=ds0, description="dataset")
    setting = w.Dropdown(options=list(results[ds0]["runs"]), value="main", description="optimiser")
    seed = w.IntSlider(0, 0, len(results[ds0]["runs"]["main"]) - 1, description="seed", continuous_update=False)
    n_ck = len(results[ds0]["runs"]["main"][0]["steps"])
    ck = w.IntSlider(n_ck - 1, 0, n_ck - 1, description="checkpoint", continuous_update=False)
    out = w.Output()

    def draw(*_):
        with out:
            out.clear_output(wait=True)
            fig = distance_histograms(results, dataset.value, setting.value, seed.value, (0, ck.value))
            display(fig)
            plt.close(fig)

    for c in (dataset, setting, seed, ck):
        c.observe(draw, names="value")
    draw()
    return w.VBox([w.HBox([dataset, setting]), w.HBox([seed, ck]), out])
