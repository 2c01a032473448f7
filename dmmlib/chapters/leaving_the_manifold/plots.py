"""Figures of the chapter leaving_the_manifold (distances: L2 norms of [0,1]-scaled pixels)."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

from dmmlib.data.fonts import CLASSES

COLORS = {"test": "tab:green", "on": "tab:blue", "adv": "tab:red", "rand": "tab:gray"}
LABELS = {"test": "test images", "on": "on-manifold adversarial", "adv": "regular adversarial (L-inf PGD)",
          "rand": "random perturbation, same L2 norm"}


def _np(v):
    return np.asarray(v.numpy() if hasattr(v, "numpy") else v, dtype=np.float64).reshape(-1)


def dataset_figure(protos, samples, n_fonts_shown: int = 6):
    """Top: the undeformed glyphs of the first fonts (rows) for the ten letters; bottom: decoded
    samples dec(z) with random codes. ``protos`` (F, 10, 28, 28); ``samples`` (N, 1, 28, 28)."""
    f = min(n_fonts_shown, protos.shape[0])
    top = protos[:f].permute(0, 2, 1, 3).reshape(f * 28, 10 * 28).numpy()
    n = (len(samples) // 10) * 10
    rows = n // 10
    bottom = samples[:n, 0].reshape(rows, 10, 28, 28).permute(0, 2, 1, 3).reshape(rows * 28, 10 * 28).numpy()
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.55 * max(f, rows) + 1))
    for ax, img, title in ((axes[0], top, f"prototypes: {f} of the fonts (rows), letters A-J"),
                           (axes[1], bottom, "samples dec(z), random codes")):
        ax.imshow(img, cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    return fig


def examples_figure(ex, class_names=CLASSES, *, rows=("x", "adv", "adv_proj", "on")):
    """Columns: test images; rows: the image, its PGD adversarial example, that example's
    projection onto the manifold, an on-manifold adversarial example (predicted labels)."""
    titles = {"x": "test image", "adv": "PGD adversarial", "adv_proj": "its projection", "on": "on-manifold adv.",
              "on_knn": "on-manifold adv. (kNN)"}
    k = len(ex["x"])
    fig, axes = plt.subplots(len(rows), k, figsize=(1.6 * k, 1.75 * len(rows)), squeeze=False)
    for i, key in enumerate(rows):
        for j in range(k):
            ax = axes[i, j]
            ax.imshow(ex[key][j, 0].numpy(), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            label = {"x": ex["y"], "adv": ex["pred_adv"], "on": ex["pred_on"]}.get(key)
            if label is not None:
                ok = key != "on" or bool(ex.get("on_success", np.ones(k, bool))[j])
                ax.set_title(f"label {class_names[int(label[j])]}" + ("" if ok else " (failed)"), fontsize=8)
            if j == 0:
                ax.set_ylabel(titles[key], fontsize=8)
    fig.tight_layout()
    return fig


def _hist(ax, data: dict, bins, title, xlabel, labels=None):
    names = {**LABELS, **(labels or {})}
    for key, v in data.items():
        v = _np(v)
        if len(v):
            ax.hist(v, bins=bins, alpha=0.55, color=COLORS[key], label=f"{names[key]} (n={len(v)})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("images")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)


def distance_figure(dists: dict, title: str, xlabel: str, *, norm=None, rand_dist=None, labels=None):
    """Distance histograms as in Stutz's figure 3 (``dists``: {"test"|"on"|"adv"|"rand":
    distances}), with the random control; with ``norm`` (the PGD perturbations' L2 norms,
    paired with ``dists["adv"]`` and ``rand_dist``) a second panel: distance against norm."""
    fig, axes = plt.subplots(1, 2 if norm is not None else 1, figsize=(12 if norm is not None else 6.5, 4.2),
                             squeeze=False)
    top = max(_np(v).max() for v in dists.values() if len(_np(v)))
    _hist(axes[0, 0], dists, np.linspace(0, top * 1.02 + 1e-9, 40), title, xlabel, labels)
    if norm is not None:
        n = _np(norm)
        ax = axes[0, 1]
        ax.scatter(n, _np(dists["adv"]), s=8, color=COLORS["adv"], label=LABELS["adv"])
        ax.scatter(n, _np(rand_dist), s=8, color=COLORS["rand"], alpha=0.6, label=LABELS["rand"])
        lim = [0, n.max() * 1.05]
        ax.plot(lim, lim, "k--", lw=1, label="distance = norm")
        ax.set_xlabel("L2 norm of the perturbation ([0,1] pixels)")
        ax.set_ylabel("distance to the manifold (L2)")
        ax.set_title("distance against perturbation norm", fontsize=10)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def angle_figure(on_share_adv, on_share_rand, k_tangent: int, angles: dict, knn_dim: int):
    """Left: FONTS, the share ||P_T d|| / ||d|| of the perturbation in the exact tangent space
    (k_tangent dimensions); right: MNIST, the angle of the perturbation to the kNN subspace."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    a, r = _np(on_share_adv), _np(on_share_rand)
    bins = np.linspace(0, max(a.max(), r.max()) * 1.05, 40)
    _hist(axes[0], {"adv": a, "rand": r}, bins, f"FONTS: share in the {k_tangent}-dimensional tangent space",
          "||projection onto the tangent space|| / ||perturbation||")
    axes[0].axvline(math.sqrt(k_tangent / 784), color="k", ls="--", lw=1, label=f"sqrt({k_tangent}/784)")
    axes[0].legend(fontsize=7)
    _hist(axes[1], {k: v for k, v in angles.items()}, np.linspace(0, 90, 46), f"MNIST: angle to the {knn_dim}-dimensional kNN subspace",
          "angle between perturbation and subspace (degrees)")
    axes[1].axvline(math.degrees(math.acos(math.sqrt(knn_dim / 784))), color="k", ls="--", lw=1,
                    label=f"arccos(sqrt({knn_dim}/784))")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    return fig


ARM_NAMES = {"clean": "clean\ntraining", "on_manifold": "on-manifold\nadversarial training",
             "random_aug": "random\naugmentation"}


def training_figure(per_seed: dict):
    """Per seed (lines), the training arms: test accuracy (left) and on-manifold robust
    accuracy (right). ``per_seed``: {metric: {arm: [value per seed]}}, arms in the order shown."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.9))
    for ax, (metric, title) in zip(axes, (("accuracy", "test accuracy"), ("on_robust", "on-manifold robust accuracy"))):
        arms = list(per_seed[metric])
        vals = np.array([per_seed[metric][a] for a in arms])  # (arms, seeds)
        for s in range(vals.shape[1]):
            ax.plot(range(len(arms)), vals[:, s], "o-", color="tab:purple", alpha=0.7,
                    label="one training seed" if s == 0 else None)
        ax.set_xticks(range(len(arms)), [ARM_NAMES.get(a, a) for a in arms])
        ax.set_xlim(-0.3, len(arms) - 0.7)
        ax.set_ylabel(f"{title} (share of test images)")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def decoder_widget(decoder, model, class_names=CLASSES):
    """Jupyter widget: sliders for the code z = (font, letter, affine parameters) showing
    dec(z) and the classifier's label (walk along the manifold by hand)."""
    import ipywidgets as W
    import torch

    from dmmlib.data.fonts import PARAM_NAMES, PARAM_RANGES

    sliders = {n: W.FloatSlider(value=(lo + hi) / 2 if n != "scale" else 1.0, min=lo, max=hi, step=(hi - lo) / 50,
                                description=n, continuous_update=False) for n, (lo, hi) in zip(PARAM_NAMES, PARAM_RANGES)}
    font = W.IntSlider(0, 0, decoder.n_fonts - 1, description="font", continuous_update=False)
    letter = W.IntSlider(0, 0, len(class_names) - 1, description="letter", continuous_update=False)

    def show(font, letter, **params):
        a = torch.tensor([[params[n] for n in PARAM_NAMES]])
        with torch.no_grad():
            img = decoder(torch.tensor([font]), torch.tensor([letter]), a)
            p = torch.softmax(model(img), 1)[0]
        fig, ax = plt.subplots(figsize=(3, 3))
        ax.imshow(img[0, 0].numpy(), cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"letter {class_names[letter]}: classified {class_names[int(p.argmax())]} ({float(p.max()):.2f})")
        ax.axis("off")
        plt.show()

    return W.interactive(show, font=font, letter=letter, **sliders)
