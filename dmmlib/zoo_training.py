"""How far the book's shared models were trained: recipe, epochs and convergence beside the paper's.

Every model :mod:`dmmlib.zoo` trains carries its per-epoch training curve in
``model.zoo_info["history"]["loss"]`` and its held-out curve (the loss on test images it never
trains on) in ``["val_loss"]``. :func:`training_rows` turns a list of them into one row each:
the recipe (optimiser, learning rate, momentum, batch), the epochs against the paper's
(appendix G), the final training and held-out losses and the convergence rule of
:mod:`dmmlib.convergence` (the held-out loss's relative drop over the last tenth of training,
converged below :data:`~dmmlib.convergence.CONVERGED_BELOW`). :func:`loss_curves` draws both.
"""
from __future__ import annotations

import math
from typing import Sequence

import matplotlib.pyplot as plt
from torch import nn

from dmmlib.convergence import CONVERGED_BELOW, judged_curve, relative_change

#: kind of shared model -> (knob prefix, label, the paper's recipe and epochs, appendix G)
KINDS = {
    "mnist_clf": ("MNIST MLP classifier", "SGD, lr 0.01, no momentum stated, batch 200", 40),
    "mnist_ae": ("MNIST autoencoder (k = 16)", "Adam, lr 0.001, batch 144", 1000),
    "cifar_ae": ("CIFAR-10 autoencoder (k = 128)", "Adam, lr 0.001, batch 32", 400),
    "imagenet_ae": ("ImageNet autoencoder (k = 3584)", "Adam, lr 0.0001, batch 32", 325),
}


def kind_of(model: nn.Module) -> str:
    """The key of :data:`KINDS` of a model returned by :mod:`dmmlib.zoo` (from its settings)."""
    info = getattr(model, "zoo_info", None)
    if not info:
        raise ValueError(f"{type(model).__name__} was not trained by dmmlib.zoo (no zoo_info)")
    for kind in KINDS:
        if f"{kind}_epochs" in info:
            return kind
    raise ValueError(f"no known shared-model settings in zoo_info: {sorted(info)}")


def _recipe(info: dict, kind: str) -> str:
    opt = "SGD" if kind == "mnist_clf" else "Adam"
    momentum = info.get(f"{kind}_momentum")
    text = f"{opt}, lr {info[f'{kind}_lr']:g}"
    if momentum is not None:
        text += f", momentum {momentum:g}"
    return text + f", batch {info[f'{kind}_batch_size']}"


def training_rows(models: Sequence[nn.Module]) -> list[dict]:
    """One row per model: ``model``, ``seed``, ``training images``, ``recipe``, ``paper's
    recipe``, ``epochs``, ``paper's epochs``, ``final training loss`` and ``final held-out loss``
    (per-epoch mean: cross-entropy for a classifier, MSE per pixel for an autoencoder; held-out:
    on the test images of ``zoo_info["validation"]``, nan when none was recorded), ``judged``
    (the curve the rule judges: :func:`~dmmlib.convergence.judged_curve`), ``loss drop, last 10 %``
    (relative, :func:`~dmmlib.convergence.relative_change`; nan when the curve is too short) and
    ``converged`` (the drop below :data:`~dmmlib.convergence.CONVERGED_BELOW`)."""
    rows = []
    for m in models:
        kind = kind_of(m)
        info = m.zoo_info
        label, paper_recipe, paper_epochs = KINDS[kind]
        history = info.get("history", {})
        loss, val = list(history.get("loss", [])), list(history.get("val_loss", []))
        curve, judged = judged_curve(history)
        drop = relative_change(curve)
        rows.append({"model": label, "seed": info.get("seed"), "training images": info.get("n"),
                     "recipe": _recipe(info, kind), "paper's recipe": paper_recipe,
                     "epochs": info[f"{kind}_epochs"], "paper's epochs": paper_epochs,
                     "final training loss": loss[-1] if loss else math.nan,
                     "final held-out loss": val[-1] if val else math.nan,
                     "judged": judged, "loss drop, last 10 %": drop,
                     "converged": bool(math.isfinite(drop) and drop < CONVERGED_BELOW)})
    return rows


def loss_curves(models: Sequence[nn.Module]) -> plt.Figure:
    """The per-epoch training loss (solid) and held-out loss (dashed, same colour) of each model
    (log scale), one panel per kind of model; the x label gives the paper's epoch count."""
    kinds = list(dict.fromkeys(kind_of(m) for m in models))
    fig, axes = plt.subplots(1, len(kinds), figsize=(4.6 * len(kinds), 3.2), squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        label, _, paper_epochs = KINDS[kind]
        for m in (m for m in models if kind_of(m) == kind):
            history = m.zoo_info.get("history", {})
            loss, val = history.get("loss", []), history.get("val_loss", [])
            (line,) = ax.plot(range(1, len(loss) + 1), loss, marker=".", label=f"seed {m.zoo_info.get('seed')}, training")
            if val:
                ax.plot(range(1, len(val) + 1), val, ls="--", color=line.get_color(),
                        label=f"seed {m.zoo_info.get('seed')}, held-out")
        ax.set_yscale("log")
        ax.set_xlabel(f"epoch (the paper: {paper_epochs})")
        ax.set_ylabel("loss\n(" + ("cross-entropy" if kind == "mnist_clf" else "MSE per pixel") + ")")
        ax.set_title(label, fontsize=10)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
