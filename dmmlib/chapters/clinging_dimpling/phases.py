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

from dmmlib.changepoint import HingeFit, hinge_fit


def two_segment_fit(t, y) -> HingeFit:
    """:func:`dmmlib.changepoint.hinge_fit` of ``y`` against epochs ``t`` (linear time)."""
    return hinge_fit(t, y)


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
    if len(epochs) < 4:  # too few measurements to place a break (e.g. a dry run of one epoch)
        nan = math.nan
        return Phases(nan, nan, nan, nan, nan)
    fit = two_segment_fit(epochs, distance)
    total_epochs = len(accuracy) - 1
    k = int(np.searchsorted(epochs, fit.x_break))
    drop = distance[0] - distance[-1]
    drop_before = (distance[0] - distance[k]) / drop if drop > 0 else math.nan
    gain = accuracy[-1] - accuracy[0]
    fit_after = (accuracy[-1] - accuracy[int(fit.x_break)]) / gain if gain > 0 else math.nan
    ratio = abs(fit.slope_after) / abs(fit.slope_before) if fit.slope_before != 0 else math.inf
    return Phases(fit.x_break, fit.x_break / total_epochs, float(drop_before), float(fit_after), float(ratio))
