"""Figures of the chapter "Is it just redundant dimensions?".

Inputs are the settings of :func:`.experiment.run` (arrays over seeds S, ambient dimensions N and
points B) and the claims of :mod:`.claims`. Distances are L2 norms: synthetic, in R^n (the
manifold's embedding is isometric, so the units do not change with n); MNIST, in the 28 x 28
metric (an upsampled norm divided by the factor r).
"""
from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import NullFormatter

from dmmlib.chapters.redundant_dimensions.claims import PREDICTIONS, QUANTITIES, SETTINGS, per_n

MODE_STYLE = {"free": ("tab:red", "unconstrained"), "on": ("tab:green", "on-manifold"),
              "off": ("tab:blue", "off-manifold")}


def _band(ax, ns, q, color, label) -> bool:
    """Mean over seeds of the per-seed medians ``q`` (S, N) with the seeds' min-max band; cells with no
    finite value (every attack failed) are left out. Returns whether anything was drawn."""
    q = np.where(np.isfinite(q) & (q > 0), q, np.nan)
    if not np.isfinite(q).any():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-nan column: a gap in the line
        mean, lo, hi = np.nanmean(q, 0), np.nanmin(q, 0), np.nanmax(q, 0)
    ax.plot(ns, mean, "o-", color=color, label=label, ms=4)
    ax.fill_between(ns, lo, hi, color=color, alpha=0.2, lw=0)
    return True


def _legend(ax) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)


def scaling_figure(settings: dict) -> plt.Figure:
    """3 x C grid (C = settings, e.g. flat, curved, MNIST): the minimal distances (free, on, off) against
    n; the on / unconstrained ratio; the off-manifold share of the margin gradient with a random
    direction's sqrt((n - k) / n). Log-log for the distances; the ratios on a linear scale."""
    names = list(settings)
    fig, axes = plt.subplots(3, len(names), figsize=(max(4.2 * len(names), 5.5), 10), squeeze=False)
    for j, name in enumerate(names):
        s = settings[name]
        ns, k = np.asarray(s["ns"]), s["k"]
        unit = "28 x 28 metric" if name == "mnist" else "L2 in R^n"
        ax = axes[0, j]
        drawn = [_band(ax, ns, per_n(s, mode), color, label) for mode, (color, label) in MODE_STYLE.items()]
        free = per_n(s, "free")
        if drawn[0] and np.isfinite(free[:, 0]).any():
            free0 = np.mean(free[np.isfinite(free[:, 0]), 0])
            ax.plot(ns, free0 * (ns / ns[0]) ** -0.5, "k--", lw=1, label="n^(-1/2) (Gilmer, d = n)")
        ax.set(xscale="log", yscale="log" if any(drawn) else "linear", title=SETTINGS[name],
               xlabel="ambient dimension n", ylabel=f"median minimal distance ({unit})")
        _legend(ax)
        ax = axes[1, j]
        _band(ax, ns, per_n(s, "gap"), "tab:purple", "on / unconstrained")
        ax.axhline(1, color="grey", lw=0.8)
        ax.set(xscale="log", xlabel="ambient dimension n", ylabel="median ratio of distances (on / unconstrained)")
        _legend(ax)
        ax = axes[2, j]
        with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            share = np.asarray(s["g_off"]) / np.hypot(np.asarray(s["g_off"]), np.asarray(s["g_on"]))
            share = np.nanmedian(share, axis=-1)
        _band(ax, ns, share, "tab:orange", "off-manifold share of the gradient")
        ax.plot(ns, np.sqrt((ns - k) / ns), "k:", label="random direction, sqrt((n-k)/n)")
        ax.set(xscale="log", ylim=(0, 1.02), xlabel="ambient dimension n", ylabel="||g_off|| / ||g|| (median)")
        _legend(ax)
        for ax in axes[:, j]:  # one labelled tick per measured n
            ax.set_xticks(ns)
            ax.set_xticklabels([str(int(n)) for n in ns], fontsize=7)
            ax.xaxis.set_minor_formatter(NullFormatter())
    fig.tight_layout()
    return fig


def exponent_figure(claims) -> plt.Figure:
    """The fitted exponent of each quantity (rows) and setting (colours) with its interval over seeds,
    beside each model's predicted exponent (grey markers; a sign prediction as an arrow)."""
    by = {c.id.split(".", 1)[1]: c for c in claims}
    names = [n for n in SETTINGS if any(k.startswith(n + "_") for k in by)]
    quantities = list(QUANTITIES)
    fig, ax = plt.subplots(figsize=(8, 0.9 * len(quantities) + 2.5))
    colors = {"linear": "tab:blue", "curved": "tab:orange", "mnist": "tab:green"}
    markers = {"Gilmer, d = n": "v", "Gilmer, d = k": "^", "linear (Tanay)": "s", "random direction": "D"}
    seen = set()
    for i, q in enumerate(quantities):
        for j, name in enumerate(names):
            c = by.get(f"{name}_{q}")
            if c is None:
                continue
            y = i + (j - (len(names) - 1) / 2) * 0.22
            e = c.ours
            if not np.isfinite(e.value):  # no exponent (every attack failed at some n): nothing to draw
                continue
            lo, hi = (e.lo, e.hi) if e.defined else (e.value, e.value)
            ax.errorbar([e.value], [y], xerr=[[e.value - lo], [hi - e.value]], fmt="o", color=colors[name],
                        capsize=3, label=SETTINGS[name] if name not in seen else None)
            seen.add(name)
        for m, (model, pred) in enumerate(PREDICTIONS[q].items()):
            if isinstance(pred, float):
                ax.scatter([pred], [i + 0.3 + 0.07 * m], marker=markers.get(model, "x"), color="grey", s=30,
                           label=f"prediction: {model}" if model not in seen else None)
                seen.add(model)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(range(len(quantities)))
    ax.set_yticklabels([QUANTITIES[q].replace(" (per point)", "") for q in quantities], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("exponent beta in quantity ~ n^beta (mean over seeds, 95 % t interval)")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3)
    fig.tight_layout()
    return fig
