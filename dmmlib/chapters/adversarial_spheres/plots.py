"""Figures of the chapter "Adversarial spheres" (Gilmer et al. 2018, figures 1-5) and a widget.

Every function takes computed arrays and returns a matplotlib Figure (or an ipywidget);
distances and norms are L2 in R^d.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import animation
from matplotlib.colors import ListedColormap
from matplotlib.patches import Circle, Patch
from matplotlib.lines import Line2D

from dmmlib.chapters.adversarial_spheres.theory import cap_mean_distance, cap_mean_distance_gaussian

_CMAP = ListedColormap(["#a6dba0", "#ffffff"])  # green: predicted inner sphere


def _draw_slice(ax, sl: dict, R: float, title: str):
    a = np.asarray(sl["a"])
    ext = [a[0], a[-1], a[0], a[-1]]
    im = ax.imshow(np.asarray(sl["outer"], dtype=float), origin="lower", extent=ext, cmap=_CMAP, vmin=0, vmax=1)
    for r, style in ((1.0, "k-"), (R, "k-"), ((1 + R) / 2, "r--")):
        ax.add_patch(Circle((0, 0), r, fill=False, color=style[0], ls=style[1:], lw=1.2))
    ax.set_title(title)
    ax.set_xlabel("coordinate along first direction (L2)")
    ax.set_aspect("equal")
    return im


def _slice_legend(fig):
    handles = [Patch(color="#a6dba0", label="classified inner"), Line2D([], [], color="k", label="data spheres (r = 1, R)"),
               Line2D([], [], color="r", ls="--", label="max-margin boundary")]
    fig.legend(handles=handles, loc="lower center", ncol=3, frameon=False)


def plot_slices(slices: list[dict], titles: list[str], R: float = 1.3) -> plt.Figure:
    """Figure 1: 2-D slices through the origin; green where the net predicts the inner sphere."""
    fig, axes = plt.subplots(1, len(slices), figsize=(4.2 * len(slices), 4.6), squeeze=False)
    for ax, sl, title in zip(axes[0], slices, titles):
        _draw_slice(ax, sl, R, title)
    axes[0, 0].set_ylabel("coordinate along second direction (L2)")
    _slice_legend(fig)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def animate_slices(slices: list[dict], angles_deg, R: float = 1.3) -> animation.FuncAnimation:
    """Slices whose second direction turns from random (0 deg) to adversarial (90 deg)."""
    fig, ax = plt.subplots(figsize=(4.6, 4.8))
    im = _draw_slice(ax, slices[0], R, "")
    ax.set_ylabel("coordinate along second direction (L2)")
    _slice_legend(fig)
    fig.tight_layout(rect=(0, 0.08, 1, 1))

    def frame(i):
        im.set_data(np.asarray(slices[i]["outer"], dtype=float))
        ax.set_title(f"second direction: {angles_deg[i]:.0f} deg from random towards adversarial", fontsize=9)
        return (im,)

    anim = animation.FuncAnimation(fig, frame, frames=len(slices), interval=400)
    plt.close(fig)
    return anim


def plot_accuracy_vs_norm(norms, accuracy, reach, R: float = 1.3) -> plt.Figure:
    """Figure 2 (left): accuracy on random points of each norm, and the fraction of points
    from which the worst-case manifold attack finds an error."""
    fig, ax = plt.subplots(figsize=(6.4, 4))
    ax.plot(norms, accuracy, "o-", label="accuracy on random points of that norm")
    ax.plot(norms, reach, "s--", label="fraction with an error found by the manifold attack")
    ax.axvline((1 + R) / 2, color="r", ls=":", label="max-margin radius (1 + R)/2")
    for r in (1.0, R):
        ax.axvline(r, color="k", lw=0.8)
    ax.set_xlabel("norm ||x|| (L2)")
    ax.set_ylabel("fraction")
    ax.set_ylim(-0.03, 1.03)
    ax.legend(fontsize=8, loc="center right")
    fig.tight_layout()
    return fig


def plot_alphas(alpha, R: float = 1.3, title: str = "") -> plt.Figure:
    """Figure 3 (left): histogram of the quadratic net's alpha_i and the perfect range [1/R^2, 1]."""
    fig, ax = plt.subplots(figsize=(6, 3.8))
    ax.hist(np.asarray(alpha), bins=40, color="0.5", label="learned alpha_i")
    for v, lab in ((1 / R**2, "1/R^2"), (1.0, "1")):
        ax.axvline(v, color="r", label=f"perfect range bound {lab}")
    ax.set_xlabel("alpha_i (dimensionless)")
    ax.set_ylabel("count")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_perfect_init(run: dict) -> plt.Figure:
    """Figure 3 (right): average and worst-case loss, and incorrect alphas, from a perfect start."""
    fig, ax = plt.subplots(figsize=(6.4, 4))
    ax.semilogy(run["step"], run["avg_loss"], label="average test loss")
    ax.semilogy(run["step"], run["worst_loss"], label="worst-case loss (exact)")
    ax.axhline(math.log(2), color="0.6", ls=":", label="log 2: worst point on the boundary")
    ax.set_xlabel("training step")
    ax.set_ylabel("sigmoid cross-entropy (nats)")
    ax2 = ax.twinx()
    ax2.plot(run["step"], run["n_incorrect"], "k--", label="incorrect alpha_i")
    ax2.set_ylabel("number of incorrect alpha_i")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="center right")
    fig.tight_layout()
    return fig


def plot_clt_check(res: dict) -> plt.Figure:
    """Proposition 4.1 against sampling: CLT estimate vs sampled rate with 95 % intervals."""
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    rate = res["k"] / res["n"]
    seen = res["k"] > 0
    ax.errorbar(res["clt"][seen], rate[seen], yerr=[rate[seen] - res["lo"][seen], res["hi"][seen] - rate[seen]],
                fmt="o", label=f"sampled ({res['n']:.0e} draws), 95 % CI")
    if (~seen).any():
        ax.plot(res["clt"][~seen], res["hi"][~seen], "v", label="no error sampled: 95 % upper bound")
    lo = max(min(np.min(res["clt"]), np.min(res["hi"])) / 3, 1e-12)
    ax.plot([lo, 1], [lo, 1], "k:", label="y = x")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("CLT estimate of inner-sphere error (prop. 4.1)")
    ax.set_ylabel("sampled inner-sphere error rate")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_k_fraction(dims, errors, exact: np.ndarray, clt: np.ndarray) -> plt.Figure:
    """Figure 4: fraction k/d of coordinates a model must see for a given error rate."""
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for j, e in enumerate(errors):
        line, = ax.plot(dims, exact[:, j], "o-", label=f"error {e:.0e} (exact)")
        ax.plot(dims, clt[:, j], "x:", color=line.get_color(), label=f"error {e:.0e} (CLT)")
    ax.set_xscale("log")
    ax.set_xlabel("input dimension d")
    ax.set_ylabel("fraction k/d of coordinates needed")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def plot_tradeoff(points: dict, d: int) -> plt.Figure:
    """Figure 5: mean distance to the nearest error against error rate for trained nets
    (``points``: label -> (rates, distances)) and the optimal spherical-cap curve."""
    fig, ax = plt.subplots(figsize=(6.6, 4.4))
    rates = np.concatenate([np.asarray(v[0]) for v in points.values() if len(v[0])] or [np.array([1e-4])])
    mu = np.geomspace(max(min(rates.min() / 3, 1e-3), 1e-12), 0.5, 60)
    ax.plot(mu, cap_mean_distance(mu, d), "k-", label="optimal: a spherical cap (exact)")
    ax.plot(mu, cap_mean_distance_gaussian(mu, d), "k:", label="cap, large-d Gaussian form")
    markers = "osD^v<>p"
    for i, (label, (r, dist)) in enumerate(points.items()):
        ax.plot(r, dist, markers[i % len(markers)], ms=5, alpha=0.8, label=label)
    ax.set_xscale("log")
    ax.set_xlabel("error rate on the inner sphere")
    ax.set_ylabel("mean L2 distance to nearest error")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def cap_widget():
    """Jupyter widget: the optimal mean distance to the nearest error for dimension ``d`` and
    error rate ``10^log10_mu`` (theorem 5.1). The figure is redrawn when a slider is released
    (``continuous_update=False``); the curve of each ``d`` is computed once and kept."""
    import functools

    import ipywidgets as w

    mu = np.geomspace(1e-12, 0.5, 80)

    @functools.lru_cache(maxsize=64)
    def curve(d: int) -> np.ndarray:
        return cap_mean_distance(mu, d)

    def show(d: int = 500, log10_mu: float = -6.0):
        fig, ax = plt.subplots(figsize=(6, 3.6))
        ax.plot(mu, curve(d), "k-", label=f"optimal cap, d = {d}")
        m = 10.0**log10_mu
        dist = float(cap_mean_distance(m, d))
        ax.plot([m], [dist], "ro", label=f"error {m:.1e}: mean distance {dist:.3f}")
        ax.set_xscale("log")
        ax.set_xlabel("error rate on the inner sphere")
        ax.set_ylabel("mean L2 distance to nearest error")
        ax.legend()
        plt.show()

    return w.interactive(show,
                         d=w.IntSlider(value=500, min=10, max=5000, step=10, continuous_update=False),
                         log10_mu=w.FloatSlider(value=-6.0, min=-12.0, max=-0.5, step=0.5, continuous_update=False))

def plot_dimension_sweep(sweep: dict, paper_d: float = 60.0) -> plt.Figure:
    """The sweep over the input dimension d (:func:`dimension_sweep`): left, the share of
    attacked points from which the worst-case manifold attack found an error, per network
    (dots) and its mean over seeds (line); right, the sampled error rate (both spheres, pooled
    over seeds) with its exact 95 % Clopper-Pearson interval (a triangle marks the upper bound
    where no error was sampled). Dotted: the paper's d = 60."""
    dims = np.asarray(sweep["dims"], dtype=float)
    share = np.asarray(sweep["found_share"], dtype=float)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.9))
    for s in range(share.shape[1]):
        a1.plot(dims, share[:, s], "o", color="tab:blue", alpha=0.45, ms=4, label="one network (seed)" if s == 0 else None)
    a1.plot(dims, share.mean(1), "-", color="tab:blue", label=f"mean over {share.shape[1]} seeds")
    a1.set_xscale("log")
    a1.set_ylim(-0.03, 1.03)
    a1.set_xlabel("input dimension d")
    a1.set_ylabel("share of points with an error found")
    a1.set_title("worst-case manifold attack")
    rate, lo, hi = (np.asarray(sweep[k], dtype=float) for k in ("rate", "lo", "hi"))
    pos = rate > 0
    a2.errorbar(dims[pos], rate[pos], yerr=[rate[pos] - lo[pos], hi[pos] - rate[pos]], fmt="o-", color="tab:red",
                capsize=3, label="sampled error rate, 95 % CI")
    if (~pos).any():
        a2.plot(dims[~pos], hi[~pos], "v", color="tab:red", mfc="none", label="no error sampled: 95 % upper bound")
    a2.set_xscale("log")
    a2.set_yscale("log")
    a2.set_xlabel("input dimension d")
    a2.set_ylabel("error rate (both spheres)")
    a2.set_title("sampled error rate")
    from matplotlib import ticker

    for ax in (a1, a2):
        ax.axvline(paper_d, color="k", ls=":", lw=1, label=f"paper: about d = {paper_d:g}")
        ax.set_xticks(sorted(set(dims.tolist()) | {float(paper_d)}))
        ax.xaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.legend(fontsize=7)
    a2.yaxis.set_minor_formatter(ticker.NullFormatter())
    fig.tight_layout()
    return fig
