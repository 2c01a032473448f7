"""Two phases in a training curve, decided by a changepoint model.

:func:`two_segment_fit` fits a continuous piecewise-linear function with one breakpoint to a
curve measured at (possibly unevenly spaced) epochs, by least squares over every candidate
breakpoint among the measured epochs: the changepoint is where the slope changes most
usefully. :func:`phase_summary` reads a run's two phases from it: when the fast part ends,
how much of the drop of the manifold-boundary distance came before it, and how much of the
fitting of the labels (training accuracy) came after it.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np


class TwoSegments(NamedTuple):
    """``breakpoint`` (an epoch of the input), ``slope_before``, ``slope_after`` (units of the
    curve per epoch), ``sse`` (sum of squared residuals), ``sse_line`` (of one straight line)."""

    breakpoint: float
    slope_before: float
    slope_after: float
    sse: float
    sse_line: float


def two_segment_fit(t, y) -> TwoSegments:
    """Least-squares fit of ``y ~ a + b t + c max(t - t_k, 0)`` over breakpoints t_k in the
    interior of ``t`` (K,), increasing, K >= 4. Ties go to the earliest breakpoint."""
    t = np.asarray(t, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if t.ndim != 1 or t.shape != y.shape or len(t) < 4:
        raise ValueError(f"t and y must be (K,) with K >= 4, got {t.shape} and {y.shape}")
    if not np.all(np.diff(t) > 0):
        raise ValueError("t must be strictly increasing")
    if not np.all(np.isfinite(y)):
        raise ValueError("y must be finite (cap or drop missing values first)")
    line = np.stack([np.ones_like(t), t], 1)
    sse_line = float(np.sum((line @ np.linalg.lstsq(line, y, rcond=None)[0] - y) ** 2))
    best = None
    for k in range(1, len(t) - 1):
        design = np.stack([np.ones_like(t), t, np.maximum(t - t[k], 0.0)], 1)
        coef = np.linalg.lstsq(design, y, rcond=None)[0]
        sse = float(np.sum((design @ coef - y) ** 2))
        if best is None or sse < best[0] - 1e-12 * max(1.0, abs(best[0])):
            best = (sse, t[k], coef[1], coef[1] + coef[2])
    sse, tk, b0, b1 = best
    return TwoSegments(float(tk), float(b0), float(b1), sse, sse_line)


class Phases(NamedTuple):
    """The two phases of one run: ``changepoint`` (epoch), ``changepoint_fraction`` (of the
    training epochs), ``drop_before`` (share of the distance's total drop, from the first to
    the last measurement, made by the changepoint), ``fit_after`` (share of the training
    accuracy's gain, from initialisation to the end, made after the changepoint),
    ``slope_ratio`` (|slope after| / |slope before|)."""

    changepoint: float
    changepoint_fraction: float
    drop_before: float
    fit_after: float
    slope_ratio: float


def phase_summary(epochs, distance, accuracy) -> Phases:
    """:class:`Phases` of a run: ``epochs`` (K,) and ``distance`` (K,) its manifold-boundary
    distance curve (finite), ``accuracy`` (E + 1,) its training accuracy after every epoch."""
    epochs = np.asarray(epochs, dtype=np.float64)
    distance = np.asarray(distance, dtype=np.float64)
    accuracy = np.asarray(accuracy, dtype=np.float64)
    fit = two_segment_fit(epochs, distance)
    total_epochs = len(accuracy) - 1
    k = int(np.searchsorted(epochs, fit.breakpoint))
    drop = distance[0] - distance[-1]
    drop_before = (distance[0] - distance[k]) / drop if drop > 0 else math.nan
    gain = accuracy[-1] - accuracy[0]
    fit_after = (accuracy[-1] - accuracy[int(fit.breakpoint)]) / gain if gain > 0 else math.nan
    ratio = abs(fit.slope_after) / abs(fit.slope_before) if fit.slope_before != 0 else math.inf
    return Phases(fit.breakpoint, fit.breakpoint / total_epochs, float(drop_before), float(fit_after), float(ratio))
