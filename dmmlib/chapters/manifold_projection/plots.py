"""The chapter's figures: minimal distances per attack, adaptive against on-manifold distance per
image, the detector's ROC curves, and example images. Distances are L2 norms of [0,1]-scaled pixels."""
from __future__ import annotations

from typing import Any, Mapping

import matplotlib.pyplot as plt
import numpy as np

from dmmlib.chapters.manifold_projection.detection import roc_curve
from dmmlib.chapters.manifold_projection.summary import ATTACKS

LABELS = {"plain": "plain classifier", "transfer": "defence, non-adaptive\n(fooled ones)",
          "adaptive": "defence, adaptive", "best": "defence, adaptive\n(best of all runs)",
          "on": "plain, on-manifold", "penalised": "defence, penalised\nadaptive"}
NAMES = {"mnist": "MNIST", "cifar10": "CIFAR-10"}


def _np(v) -> np.ndarray:
    return np.asarray(v.numpy() if hasattr(v, "numpy") else v, dtype=np.float64)


def distances_figure(summaries: Mapping[str, Mapping[str, Any]], paper_on: Mapping[str, float]):
    """Mean minimal distance per attack with its 95 % interval (over the images whose attack
    succeeded; the success rate under each bar), one panel per data set; the paper's table-2
    on-manifold PGD distance as a dashed line."""
    fig, axes = plt.subplots(1, len(summaries), figsize=(5.2 * len(summaries), 3.8), squeeze=False)
    for ax, (ds, s) in zip(axes[0], summaries.items()):
        pos = np.arange(len(ATTACKS))
        for i, a in enumerate(ATTACKS):
            e = s["dist"][a]
            if np.isfinite(e.value):
                ax.bar(i, e.value, color="C0" if a in ("plain", "on") else "C1", alpha=0.8)
                ax.errorbar(i, e.value, yerr=[[e.value - e.lo], [e.hi - e.value]], color="k", capsize=3)
            ax.text(i, 0, f"{100 * s['success'][a].value:.0f} %", ha="center", va="bottom", fontsize=7, color="w"
                    if np.isfinite(e.value) else "k")
        if ds in paper_on:
            ax.axhline(paper_on[ds], ls="--", color="C3", label=f"paper, on-manifold PGD (Table 2): {paper_on[ds]:g}")
        ax.set_xticks(pos, [LABELS[a] for a in ATTACKS], rotation=45, ha="right", fontsize=7)
        ax.set_ylabel("mean minimal L2 distance (pixels in [0, 1])")
        ax.set_title(f"{NAMES.get(ds, ds)} ({s['images']} images, {s['units']} unit(s))")
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def scatter_figure(records: Mapping[str, Mapping[str, Any]], band: tuple[float, float]):
    """Per image: the defended classifier's smallest adaptive distance against the plain
    classifier's on-manifold distance (log-log), with y = x and the equivalence band."""
    fig, axes = plt.subplots(1, len(records), figsize=(4.4 * len(records), 4), squeeze=False)
    for ax, (ds, r) in zip(axes[0], records.items()):
        on, best, plain = _np(r["dist/on"]), _np(r["dist/best"]), _np(r["dist/plain"])
        keep = np.isfinite(on) & np.isfinite(best)
        if keep.any():
            ax.scatter(on[keep], best[keep], s=14, label="defence, adaptive (best run)", color="C1")
            kp = np.isfinite(on) & np.isfinite(plain)
            ax.scatter(on[kp], plain[kp], s=10, marker="x", color="C0", label="plain classifier")
            lim = np.array([min(on[keep].min(), plain[kp].min() if kp.any() else np.inf) * 0.8,
                            max(on[keep].max(), best[keep].max()) * 1.25])
            ax.plot(lim, lim, "k-", lw=0.8, label="y = x")
            ax.fill_between(lim, band[0] * lim, band[1] * lim, color="0.85", label=f"band [{band[0]:g}, {band[1]:g}]")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "no image with both attacks successful", ha="center", transform=ax.transAxes)
        ax.set_xlabel("on-manifold distance, plain classifier\n(L2, pixels in [0, 1])")
        ax.set_ylabel("minimal adversarial distance\n(L2, pixels in [0, 1])")
        ax.set_title(NAMES.get(ds, ds))
    fig.tight_layout()
    return fig


def roc_figure(records: Mapping[str, Mapping[str, Any]], aucs: Mapping[str, Mapping[str, Any]]):
    """ROC curves of the reconstruction-error detector, adversarial against clean images, for the
    non-adaptive (plain), adaptive and penalised adaptive attacks; the diagonal is chance."""
    fig, axes = plt.subplots(1, len(records), figsize=(4.2 * len(records), 4), squeeze=False)
    names = {"plain": "non-adaptive (plain attack)", "adaptive": "adaptive", "penalised": "penalised adaptive"}
    for ax, (ds, r) in zip(axes[0], records.items()):
        clean = _np(r["recon/clean"])
        for i, w in enumerate(names):
            adv = _np(r[f"recon/{w}"])
            keep = np.isfinite(adv)
            if keep.sum() < 1:
                continue
            fpr, tpr = roc_curve(adv[keep], clean[keep])
            ax.plot(fpr, tpr, color=f"C{i}", label=f"{names[w]}: AUC {aucs[ds][w].text()}")
        ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="chance")
        ax.set_xlabel("false-positive rate (clean images flagged)")
        ax.set_ylabel("true-positive rate (adversarial flagged)")
        ax.set_title(f"{NAMES.get(ds, ds)}: detector ||z − D(E(z))||")
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def examples_figure(x, records: Mapping[str, Any], reconstruct, n_show: int):
    """For ``n_show`` images: the clean image, its reconstruction, the plain classifier's
    adversarial example, the adaptive one and its reconstruction (what the defended classifier
    sees), with the L2 distances in the titles. ``reconstruct``: images -> D(E(images))."""
    import torch

    cols = ["clean x", "D(E(x))", "plain adversarial", "adaptive adversarial z", "D(E(z))"]
    n = min(n_show, len(x))
    xa, za = records["x_adv/plain"][:n], records["x_adv/adaptive"][:n]
    with torch.no_grad():
        rx, rz = reconstruct(x[:n]), reconstruct(za)
    fig, axes = plt.subplots(n, len(cols), figsize=(1.9 * len(cols), 1.9 * n), squeeze=False)
    dp, da = _np(records["dist/plain"]), _np(records["dist/adaptive"])
    for i in range(n):
        for j, img in enumerate((x[i], rx[i], xa[i], za[i], rz[i])):
            im = img.detach().cpu().permute(1, 2, 0).numpy()
            axes[i, j].imshow(im[..., 0] if im.shape[2] == 1 else im, cmap="gray" if im.shape[2] == 1 else None,
                              vmin=0, vmax=1)
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
            if i == 0:
                axes[i, j].set_title(cols[j], fontsize=8)
        axes[i, 2].set_xlabel(f"L2 {dp[i]:.2f}", fontsize=8)
        axes[i, 3].set_xlabel(f"L2 {da[i]:.2f}", fontsize=8)
    fig.tight_layout()
    return fig
