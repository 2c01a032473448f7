"""Figures of the chapter "Two-layer ReLU networks on a linear subspace".

Inputs are the results of :func:`experiment.run`; distances and gradient norms are Euclidean
(L2) norms in R^n (the data have ``||x||`` about 1). Every summary over seeds is the mean of
the networks' medians over their test points, with a 95 % Student-t interval over the seeds.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import ticker

from dmmlib.chapters.two_layer_subspace.claims import GRADIENT_SHARE, net_median
from dmmlib.stats import seed_interval

MODES = {"d_off": ("orthogonal to the subspace", "tab:red", "o"),
         "d_on": ("within the subspace", "tab:blue", "s"),
         "d_free": ("unconstrained", "tab:gray", "^")}


def summary(per_network) -> np.ndarray:
    """(G, S) per-network values -> (G, 3): mean over seeds, interval low, high (t, 95 %)."""
    rows = []
    for v in np.asarray(per_network, dtype=np.float64):
        ci = seed_interval(v[np.isfinite(v)]) if np.isfinite(v).sum() else None
        rows.append((ci.estimate, ci.lo, ci.hi) if ci else (np.nan,) * 3)
    out = np.asarray(rows, dtype=np.float64)
    out[:, 1] = np.where(np.isfinite(out[:, 1]), out[:, 1], out[:, 0])  # one seed: no bar
    out[:, 2] = np.where(np.isfinite(out[:, 2]), out[:, 2], out[:, 0])
    return out


def _plain_log_x(ax, x):
    """A logarithmic x axis with ticks at the sweep's values, written plainly (0.1, 0.3, 1)."""
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(ticker.FixedLocator(sorted(set(float(v) for v in x))))
    ax.xaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
    ax.xaxis.set_minor_locator(ticker.NullLocator())


def _plain_log_y(ax):
    ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(ticker.NullFormatter())


def _errorbar(ax, x, per_network, label, color, marker, logy=True, clip=None):
    s = summary(per_network)
    if clip is not None:
        s[:, 1:] = np.clip(s[:, 1:], *clip)
    ax.errorbar(x, s[:, 0], yerr=[s[:, 0] - s[:, 1], s[:, 2] - s[:, 0]], color=color, marker=marker, ms=5,
                capsize=3, label=label)
    finite = s[np.isfinite(s)]
    if logy and (finite > 0).any():  # a run whose attacks found nothing (a dry run) stays linear
        ax.set_yscale("log")
        _plain_log_y(ax)


def _sweep(results, name):
    idx = list(results["index"][name])
    return idx, [tuple(results["settings"][g]) for g in idx]


def distance_histogram(results):
    """The base setting's minimal flipping perturbations, every attacked point of every
    network pooled: one histogram per attack (free, on, off), with the median ||x||."""
    g = results["index"]["base"]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    finite = [np.asarray(results[k])[g] for k in MODES]
    allv = np.concatenate([v[np.isfinite(v)] for v in finite])
    allv = allv[allv > 0]
    if allv.size == 0:  # no perturbation found anywhere (a dry run's untrained networks)
        ax.text(0.5, 0.5, "no flipping perturbation found", ha="center", transform=ax.transAxes)
        ax.set_xlabel("minimal flipping perturbation (L2 norm in R^n)")
        ax.set_ylabel("test points (all networks)")
        return fig
    bins = np.geomspace(max(allv.min(), 1e-3), allv.max() * 1.05, 40)
    for key, v in zip(MODES, finite):
        label, color, _ = MODES[key]
        v = v[np.isfinite(v)]
        ax.hist(v, bins=bins, histtype="step", lw=1.8, color=color,
                label=f"{label} (median {np.median(v):.3g})" if v.size else label)
    xn = float(np.median(np.asarray(results["x_norm"])[g]))
    ax.axvline(xn, color="k", ls="--", lw=1, label=f"median data norm ||x|| = {xn:.3g}")
    ax.set_xscale("log")
    ax.set_xlabel("minimal flipping perturbation (L2 norm in R^n)")
    ax.set_ylabel("test points (all networks)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def trends(results):
    """2 x 2 panels: top, the minimal flipping perturbations (off, on, free) against the
    initialisation scale (left) and the weight decay (right), log-log; bottom, the test accuracy
    of the same networks (the accuracy cost)."""
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.4), sharex="col", gridspec_kw={"height_ratios": [2.2, 1]})
    for col, (name, pos, xlabel) in enumerate((("init", 2, "initialisation scale s (x fan-in init.)"),
                                                ("wd", 3, "weight decay (L2 coefficient)"))):
        idx, settings = _sweep(results, name)
        x = np.array([s[pos] for s in settings])
        order = np.argsort(x)
        ax = axes[0, col]
        for key, (label, color, marker) in MODES.items():
            per = net_median(np.asarray(results[key])[idx])
            _errorbar(ax, x[order], per[order], label, color, marker)
        _plain_log_x(ax, x)
        ax.set_ylabel("minimal flipping perturbation (L2)")
        ax.legend(fontsize=8)
        acc = 100 * np.asarray(results["acc_test"], dtype=np.float64)[idx]
        ax = axes[1, col]
        _errorbar(ax, x[order], acc[order], "test accuracy", "k", "o", logy=False, clip=(0.0, 100.0))
        _plain_log_x(ax, x)
        ax.set_ylabel("test accuracy (%)")
        ax.set_xlabel(xlabel)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def gradients(results):
    """The orthogonal/parallel ratio of the input gradient (mean over test points, per network)
    against a random direction's, over the init sweep (left) and the weight-decay sweep
    (right); the claim's threshold (a tenth of the random ratio) dotted."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, (name, pos, xlabel) in zip(axes, (("init", 2, "initialisation scale s (x fan-in init.)"),
                                              ("wd", 3, "weight decay (L2 coefficient)"))):
        idx, settings = _sweep(results, name)
        x = np.array([s[pos] for s in settings])
        order = np.argsort(x)
        ratio = np.nanmean(np.asarray(results["g_perp"])[idx] / np.asarray(results["g_par"])[idx], axis=-1)
        rand = np.nanmean(np.asarray(results["r_rand"])[idx], axis=-1)
        _errorbar(ax, x[order], ratio[order], "trained network's gradient", "tab:red", "o")
        _errorbar(ax, x[order], rand[order], "Gaussian random direction", "tab:gray", "s")
        ax.plot(x[order], GRADIENT_SHARE * summary(rand[order])[:, 0], ":", color="tab:gray",
                label=f"{GRADIENT_SHARE:g} x random (the claim's threshold)")
        _plain_log_x(ax, x)
        ax.set_xlabel(xlabel)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("||grad orthogonal|| / ||grad within||")
    fig.tight_layout()
    return fig


def dimensions(results):
    """The minimal flipping perturbations against the ambient dimension n (k fixed, left) and the
    subspace dimension k (n fixed, right), log-log."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, (name, pos, xlabel) in zip(axes, (("n", 0, "ambient dimension n"), ("k", 1, "subspace dimension k"))):
        idx, settings = _sweep(results, name)
        x = np.array([s[pos] for s in settings], dtype=np.float64)
        order = np.argsort(x)
        for key, (label, color, marker) in MODES.items():
            per = net_median(np.asarray(results[key])[idx])
            _errorbar(ax, x[order], per[order], label, color, marker)
        _plain_log_x(ax, x)
        ax.set_xlabel(xlabel)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("minimal flipping perturbation (L2)")
    fig.tight_layout()
    return fig


def settings_frame(results, *, detail: bool = False):
    """One row per setting (sweep, n, k, init, wd): the mean over seeds of the networks' steps
    to the target margin, test accuracy (%), orthogonal/parallel gradient ratio and its random
    control, and the median minimal perturbations (off, on, free); ``detail`` adds the seed
    intervals and the attacks' success rates. A pandas DataFrame for :func:`dmmlib.report.html_table`."""
    import pandas as pd

    from dmmlib.report import fmt_interval

    index = results["index"]
    member = {}
    for name in ("base", "init", "wd", "n", "k"):
        for g in np.atleast_1d(index[name]):
            member.setdefault(int(g), []).append(name)
    rows = []
    for g, s in enumerate(results["settings"]):
        ratio = np.nanmean(np.asarray(results["g_perp"])[g] / np.asarray(results["g_par"])[g], axis=-1)
        row = {"sweeps": ", ".join(member.get(g, [])), "n": int(s[0]), "k": int(s[1]), "init scale": float(s[2]),
               "weight decay": float(s[3]),
               "steps": float(np.mean(results["steps"][g])),
               "test acc. (%)": float(100 * np.mean(results["acc_test"][g])),
               "grad ratio": float(np.mean(ratio)),
               "random ratio": float(np.mean(np.nanmean(np.asarray(results["r_rand"])[g], axis=-1)))}
        for key, name in (("d_off", "d off"), ("d_on", "d on"), ("d_free", "d free")):
            per = net_median(np.asarray(results[key])[g])
            row[name] = float(np.mean(per))
            if detail:
                ci = seed_interval(per)
                row[name + " [95 %]"] = fmt_interval(ci.estimate, ci.lo, ci.hi)
                v = np.asarray(results[key])[g]
                attacked = ~np.isnan(v)
                row[name.replace("d ", "success ") + " (%)"] = float(100 * np.isfinite(v[attacked]).mean()) \
                    if attacked.any() else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)
