"""Figures of the chapter relabelling: the figure-4 picture on the 2-d line, the eps sweeps,
the accuracies against chance, and the minimal adversarial distances of N1 and N2.

Every function takes computed results and returns a matplotlib Figure; nothing is computed
here beyond means over seeds.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

RED, BLUE = "#d62728", "#1f77b4"


def _colours(y) -> list[str]:
    return [BLUE if int(v) == 1 else RED for v in np.asarray(y)]


def _boundary(ax, grid: Mapping[str, Any], logits, **kw) -> None:
    u, v = np.asarray(grid["u"]), np.asarray(grid["v"])
    z = np.asarray(logits)
    if z.min() < 0 < z.max():
        ax.contour(u, v, z, levels=[0.0], **kw)


def figure4(run: Mapping[str, Any], *, zoom: float = 0.25, grid_n2=None, x_adv=None, eps: float | None = None):
    """The DMM's figure 4 computed on the 2-d line (one seed): (1) N1's boundary and the clean
    points, (2) N1's adversarial examples with their flipped labels, (3) N2's boundary learnt
    from them, (4) both boundaries with the clean points. ``grid_n2``/``x_adv``/``eps`` replace
    the main run's N2 and adversarial points (a sweep row)."""
    grid = run["grid"]
    n2 = run["grid_n2"] if grid_n2 is None else grid_n2
    xa = np.asarray(run["x_adv"] if x_adv is None else x_adv)
    eps = run["eps"] if eps is None else eps
    x, y = np.asarray(run["x"]), np.asarray(run["y"])
    flip = 1 - y
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8), sharey=True)
    titles = ("1. N1 trained on the clean points", f"2. N1's adversarial examples (eps = {eps:g}), labels flipped",
              "3. N2 trained only on them", "4. N1 (grey) and N2 (black) with the clean points")
    for ax, title in zip(axes, titles):
        ax.set_title(title, fontsize=9)
        ax.axhline(0.5, color="green", lw=0.8, alpha=0.5)
        ax.set_xlim(0, 1)
        ax.set_ylim(0.5 - zoom, 0.5 + zoom)
        ax.set_xlabel("x1 (cube units)")
    axes[0].set_ylabel("x2 (cube units)")
    _boundary(axes[0], grid, grid["n1"], colors="grey", linewidths=1.5)
    axes[0].scatter(x[:, 0], x[:, 1], c=_colours(y), s=30, zorder=3, edgecolors="k", linewidths=0.5)
    _boundary(axes[1], grid, grid["n1"], colors="grey", linewidths=1.0, linestyles="dashed")
    for a, b in zip(x, xa):
        axes[1].annotate("", xy=b, xytext=a, arrowprops=dict(arrowstyle="->", color="0.5", lw=0.8))
    axes[1].scatter(xa[:, 0], xa[:, 1], c=_colours(flip), s=30, zorder=3, marker="s", edgecolors="k", linewidths=0.5)
    _boundary(axes[2], grid, n2, colors="black", linewidths=1.5)
    axes[2].scatter(xa[:, 0], xa[:, 1], c=_colours(flip), s=30, zorder=3, marker="s", edgecolors="k", linewidths=0.5)
    _boundary(axes[3], grid, grid["n1"], colors="grey", linewidths=1.5)
    _boundary(axes[3], grid, n2, colors="black", linewidths=1.5)
    axes[3].scatter(x[:, 0], x[:, 1], c=_colours(y), s=30, zorder=3, edgecolors="k", linewidths=0.5)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="o", ls="", color=RED, label="class 0 (clean)"),
               Line2D([], [], marker="o", ls="", color=BLUE, label="class 1 (clean)"),
               Line2D([], [], marker="s", ls="", color="0.6", label="adversarial, coloured by its new label"),
               Line2D([], [], color="green", alpha=0.5, label="data manifold")]
    axes[0].legend(handles=handles, fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


def sweep_figure(panels: Sequence[tuple[str, list[dict], float, Sequence[str]]]):
    """One panel per data set: N2's accuracy on the true labels (line, mean over seeds; dots:
    seeds) and N1's attack success rate (dashed) against eps. ``panels``: (title, rows, chance,
    kinds) with rows {"eps", "acc_<kind>", "success_<kind>"} (one per seed and eps)."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.6), squeeze=False)
    for ax, (title, rows, chance, kinds) in zip(axes[0], panels):
        eps = np.array(sorted({r["eps"] for r in rows}))
        for kind, colour in zip(kinds, ("C0", "C1")):
            acc = [np.mean([r[f"acc_{kind}"] for r in rows if r["eps"] == e]) for e in eps]
            suc = [np.mean([r[f"success_{kind}"] for r in rows if r["eps"] == e]) for e in eps]
            ax.plot(eps, acc, "-o", color=colour, label=f"N2 ({kind}): accuracy on true labels")
            ax.scatter([r["eps"] for r in rows], [r[f"acc_{kind}"] for r in rows], color=colour, s=8, alpha=0.5)
            ax.plot(eps, suc, "--", color=colour, alpha=0.7, label=f"attack success ({kind})")
        ax.axhline(chance, color="k", lw=0.8, ls=":", label="chance")
        ax.set_xscale("log")
        ax.set_xticks(eps)
        ax.set_xticks([], minor=True)
        ax.set_xticklabels([f"{e:g}" for e in eps])
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("eps (L2 radius; " + ("cube units)" if chance == 0.5 else "[0,1]-scaled pixels)"))
        ax.set_ylabel("fraction")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def accuracy_figure(rows: Sequence[dict]):
    """Clean test accuracy on the true labels per data set and network, with intervals.

    ``rows``: {"dataset", "network", "value", "lo", "hi", "chance", "paper" (float or None)}."""
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    fig, axes = plt.subplots(1, len(datasets), figsize=(3.9 * len(datasets), 3.8), squeeze=False)
    for ax, ds in zip(axes[0], datasets):
        sub = [r for r in rows if r["dataset"] == ds]
        pos = np.arange(len(sub))
        val = np.array([r["value"] for r in sub])
        err = np.array([[r["value"] - r["lo"] for r in sub], [r["hi"] - r["value"] for r in sub]])
        ax.bar(pos, val, color=["0.6" if r["network"] in ("N1", "clean reference") else "C0" if "N2" in r["network"]
                                 else "C3" for r in sub])
        ax.errorbar(pos, val, yerr=np.clip(err, 0, None), fmt="none", color="k", capsize=3)
        for p, r in zip(pos, sub):
            if r.get("paper") is not None:
                ax.plot([p - 0.4, p + 0.4], [r["paper"], r["paper"]], color="C2", lw=2,
                        label="Ilyas et al. (ResNet-50, full CIFAR-10)")
        ax.axhline(sub[0]["chance"], color="k", ls=":", lw=0.8, label="chance")
        ax.set_xticks(pos)
        ax.set_xticklabels([r["network"] for r in sub], rotation=35, ha="right", fontsize=8)
        ax.set_ylim(0, 1.02)
        ax.set_title(ds, fontsize=10)
        ax.set_ylabel("accuracy on the true test labels")
        handles, labels = ax.get_legend_handles_labels()
        uniq = dict(zip(labels, handles))
        ax.legend(uniq.values(), uniq.keys(), fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig


def distance_figure(panels: Sequence[tuple[str, Mapping[str, np.ndarray]]]):
    """Minimal adversarial (DeepFool) distances at clean test images: one panel per data set,
    one box per network. ``panels``: (title, {network name: distances})."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.6), squeeze=False)
    for ax, (title, dists) in zip(axes[0], panels):
        names = list(dists)
        data = [np.asarray(dists[k])[np.isfinite(np.asarray(dists[k]))] for k in names]
        ax.boxplot(data, showfliers=False)
        ax.set_xticks(np.arange(1, len(names) + 1))
        ax.set_xticklabels(names, rotation=25, ha="right", fontsize=8)
        ax.set_ylabel("distance to the boundary (L2, [0,1]-scaled pixels)")
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
