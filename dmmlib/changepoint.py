"""Where a curve changes its pace: the best single break of a continuous two-segment fit.

:func:`hinge_fit` fits ``y ~ a + b * min(x - x_j, 0) + c * max(x - x_j, 0)`` (a continuous
line with one bend at a measured point ``x_j``) for every interior j and keeps the break with
the least squared error (ties go to the earliest). Chapters call it on epochs (linear time)
or on log10(1 + iterations) (log time) and derive their phase summaries from it.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class HingeFit(NamedTuple):
    """``index`` j of the break, ``x_break`` = x_j, ``slope_before`` b and ``slope_after`` c
    (units of y per unit of x), ``sse`` of the fit, ``sse_line`` of one straight line, and the
    ``fitted`` curve (K,)."""

    index: int
    x_break: float
    slope_before: float
    slope_after: float
    sse: float
    sse_line: float
    fitted: np.ndarray


def hinge_fit(x, y) -> HingeFit:
    """The least-squares continuous two-segment fit of ``y`` (K,) against ``x`` (K,), x strictly
    increasing and finite, y finite, K >= 4."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape or len(x) < 4:
        raise ValueError(f"x and y must be (K,) with K >= 4, got {x.shape} and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("x and y must be finite (cap or drop missing values first)")
    if np.any(np.diff(x) <= 0):
        raise ValueError("x must be strictly increasing")
    line = np.stack([np.ones_like(x), x], axis=1)
    sse_line = float(np.sum((line @ np.linalg.lstsq(line, y, rcond=None)[0] - y) ** 2))
    best = None
    for j in range(1, len(x) - 1):  # K - 2 tiny least-squares problems: not a loop over a batch
        design = np.stack([np.ones_like(x), np.minimum(x - x[j], 0.0), np.maximum(x - x[j], 0.0)], axis=1)
        coef = np.linalg.lstsq(design, y, rcond=None)[0]
        fitted = design @ coef
        sse = float(np.sum((fitted - y) ** 2))
        if best is None or sse < best[0] - 1e-12 * max(1.0, abs(best[0])):
            best = (sse, j, coef, fitted)
    sse, j, coef, fitted = best
    return HingeFit(j, float(x[j]), float(coef[1]), float(coef[2]), sse, sse_line, fitted)
