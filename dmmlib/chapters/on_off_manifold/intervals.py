"""Intervals over models *and* images: a two-level (hierarchical) percentile bootstrap.

The chapter's numbers vary with the trained models (classifier and autoencoder seeds) and
with the test images. Resampling images alone leaves the models' variance out. Here each
bootstrap replicate draws the model units with replacement and then, within every drawn
unit, its images with replacement, and evaluates the statistic on the pooled draw. With
few units (2 or 3) the interval over units is itself rough; the chapter shows the per-unit
values beside it.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import numpy as np


class HierInterval(NamedTuple):
    """``estimate`` on all rows, the percentile interval ``[lo, hi]``, ``n`` rows (images)
    and ``units`` (models) behind it, and the statistic per unit (``per_unit``)."""

    estimate: float
    lo: float
    hi: float
    n: int
    units: int
    per_unit: tuple[float, ...]


def hier_bootstrap(
    statistic: Callable[..., float],
    arrays: Sequence[np.ndarray],
    units: np.ndarray,
    *,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> HierInterval:
    """Two-level percentile bootstrap of ``statistic(*arrays)``.

    Args:
        statistic: maps 1-d arrays (rows of ``arrays``, resampled together) to a float, e.g.
            ``lambda a, b: a.mean() / b.mean()``.
        arrays: 1-d arrays of the same length N (one row per image); rows with a non-finite
            value in any array are dropped first.
        units: (N,) the model unit of each row.
        n_boot: replicates (>= 100). confidence: in (0, 1). seed: fixes the draws.

    Returns:
        :class:`HierInterval`; nan bounds when no row is left or a single row is.
    """
    arrs = [np.asarray(a, dtype=np.float64).reshape(-1) for a in arrays]
    units = np.asarray(units).reshape(-1)
    if not arrs or any(len(a) != len(units) for a in arrs):
        raise ValueError(f"arrays and units must have one length, got {[len(a) for a in arrs]} and {len(units)}")
    if not isinstance(n_boot, int) or n_boot < 100:
        raise ValueError(f"n_boot must be an int >= 100, got {n_boot!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    keep = np.logical_and.reduce([np.isfinite(a) for a in arrs])
    arrs, units = [a[keep] for a in arrs], units[keep]
    nan = float("nan")
    if len(units) == 0:
        return HierInterval(nan, nan, nan, 0, 0, ())
    labels = np.unique(units)
    rows = [np.flatnonzero(units == u) for u in labels]
    estimate = float(statistic(*arrs))
    per_unit = tuple(float(statistic(*[a[r] for a in arrs])) for r in rows)
    if len(units) == 1:
        return HierInterval(estimate, nan, nan, 1, 1, per_unit)
    rng = np.random.default_rng(seed)
    values = np.empty(n_boot)
    for b in range(n_boot):
        chosen = rng.integers(0, len(rows), size=len(rows)) if len(rows) > 1 else [0]
        idx = np.concatenate([rows[c][rng.integers(0, len(rows[c]), size=len(rows[c]))] for c in chosen])
        with np.errstate(divide="ignore", invalid="ignore"):
            values[b] = statistic(*[a[idx] for a in arrs])
    values = values[np.isfinite(values)]
    if values.size == 0:
        return HierInterval(estimate, nan, nan, len(units), len(rows), per_unit)
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(values, [tail, 100 - tail])
    return HierInterval(estimate, float(lo), float(hi), len(units), len(rows), per_unit)


def mean(a: np.ndarray) -> float:
    return float(np.mean(a))


def ratio_of_means(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(a) / np.mean(b))


def share(a: np.ndarray) -> float:
    """The mean of a 0/1 array: a share in [0, 1]."""
    return float(np.mean(a))
