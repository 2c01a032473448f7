"""Where does the fast phase end? A two-segment (hinge) fit of a curve on log-time.

The curve d(t) measured at iterations t_0 = 0 < t_1 < ... (log-spaced) is fitted, in
u = log10(1 + t), by a continuous line with one break at a measured point u_j:

    d(u) ~ a + b * min(u - u_j, 0) + c * max(u - u_j, 0)

for every interior j; the break with the least squared error is the changepoint. The
fast phase is [0, t_j]; its summary numbers:

- ``change_share`` = (d_j - d_0) / (d_end - d_0): the fraction of the whole change from the
  first to the last checkpoint that is done by the changepoint (measured values; a decrease
  and an increase alike; above 1 when the curve overshoots; nan when d_end = d_0);
- ``step_share`` = t_j / t_end: the fraction of training (in iterations, i.e. epochs) the
  fast phase takes.

A curve that changes steadily in log-time gives a change share near the share of log-time
before the break, so "two phases" needs both a large change share and a small step share.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dmmlib.changepoint import hinge_fit


class Changepoint(NamedTuple):
    """Result of :func:`hinge_changepoint` (see the module docstring)."""

    index: int          # j, the checkpoint where the fast phase ends
    step: float         # t_j, in iterations
    step_share: float   # t_j / t_end
    change_share: float  # (d_j - d_0) / (d_end - d_0)
    slope_before: float  # b, distance per decade of iterations before the break
    slope_after: float   # c, after it
    fitted: np.ndarray  # (S,) the fitted curve


def hinge_changepoint(steps, values) -> Changepoint:
    """The best single break of a continuous two-segment fit (:func:`dmmlib.changepoint.hinge_fit`)
    of ``values`` (S,) against log10(1 + ``steps``) (S,), steps ascending from 0; S >= 4 finite values."""
    t = np.asarray(steps, dtype=float)
    d = np.asarray(values, dtype=float)
    if t.ndim == 1 and len(t) and t[0] < 0:
        raise ValueError("steps must be >= 0 and strictly increasing")
    if t.shape != d.shape or len(t) < 4:
        raise ValueError(f"need steps and values of the same shape (S,), S >= 4; got {t.shape}, {d.shape}")
    if np.isfinite(t).all() and np.any(np.diff(t) <= 0):
        raise ValueError("steps must be >= 0 and strictly increasing")
    fit = hinge_fit(np.log10(1.0 + t), d)
    j = fit.index
    total = d[-1] - d[0]
    share = float((d[j] - d[0]) / total) if total != 0 else float("nan")
    return Changepoint(j, float(t[j]), float(t[j] / t[-1]), share, fit.slope_before, fit.slope_after, fit.fitted)
