"""Has a training run converged? One fixed rule, applied to every model the book trains.

The curve it judges (:func:`judged_curve`): the loss on held-out data after every epoch
(``history["val_loss"]``, recorded by :mod:`dmmlib.train` when the model is given validation
data, as every shared model of :mod:`dmmlib.zoo` is), else the training loss. The held-out loss
is the one that says whether more training would make a better model: the training loss of an
autoencoder keeps falling long after its reconstructions of new images stop improving.

The rule (:func:`relative_change`): take the loss curve (one value per epoch), and compare the
mean loss over the last ``tail`` share of the epochs (at least 2 epochs) with the mean over
the same number of epochs just before them. Their relative drop,

    (mean(previous window) - mean(last window)) / mean(last window),

is near 0 once the curve is flat. A run has converged when the drop is below a threshold
fixed before the run (:data:`CONVERGED_BELOW`, 1 %: the last tenth of training improved the
loss by less than 1 %). A curve too short for two windows (fewer than 4 epochs) gives nan:
undefined, so a precondition that needs it fails rather than passes by default.

Use it as a claim's precondition (:func:`dmmlib.claims.precondition`)::

    precondition("autoencoder converged: loss drop over the last 10 % of training",
                 relative_change(history["loss"]), "<", CONVERGED_BELOW)
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

#: A run has converged when its loss fell by less than this share over its last tenth.
CONVERGED_BELOW = 0.01
#: The share of the epochs the rule looks at.
TAIL = 0.1


def relative_change(losses: Sequence[float], tail: float = TAIL) -> float:
    """The relative drop of the mean loss over the last ``tail`` share of ``losses`` (one value
    per epoch, at least 2 epochs per window) against the window before it; nan when the curve
    has fewer than 4 values, a non-finite value in the windows, or a last window of mean 0."""
    if not 0 < tail <= 0.5:
        raise ValueError(f"tail must be in (0, 0.5], got {tail}")
    v = np.asarray(losses, dtype=np.float64).reshape(-1)
    w = max(2, int(math.ceil(tail * len(v))))
    if len(v) < 2 * w:
        return float("nan")
    last, before = v[-w:], v[-2 * w:-w]
    if not (np.isfinite(last).all() and np.isfinite(before).all()) or last.mean() == 0:
        return float("nan")
    return float((before.mean() - last.mean()) / abs(last.mean()))


def judged_curve(history: dict) -> tuple[list[float], str]:
    """(the per-epoch curve the rule judges, its name): ``history["val_loss"]`` ("validation
    loss") when present and non-empty, else ``history["loss"]`` ("training loss"; [] if absent)."""
    if history.get("val_loss"):
        return [float(v) for v in history["val_loss"]], "validation loss"
    return [float(v) for v in history.get("loss", [])], "training loss"


def converged(losses: Sequence[float], threshold: float = CONVERGED_BELOW, tail: float = TAIL) -> bool:
    """Whether :func:`relative_change` of ``losses`` is below ``threshold`` (nan: False)."""
    change = relative_change(losses, tail)
    return bool(math.isfinite(change) and change < threshold)
