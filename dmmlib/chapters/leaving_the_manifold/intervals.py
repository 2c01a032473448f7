"""Intervals that cover both sources of variation: training seeds (models) and test images.

:func:`seeds_and_images` is a two-level percentile bootstrap: each replicate resamples the
seeds with replacement and, within each drawn seed, its images with replacement; the
statistic is computed per seed and averaged over the drawn seeds. The point estimate is the
mean over seeds of the per-seed statistic.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from dmmlib.claims import Estimate


def seeds_and_images(per_seed: Sequence, statistic: str | Callable = "mean", *, n_boot: int = 2000,
                     confidence: float = 0.95, seed: int = 0, unit: str = "") -> Estimate:
    """Estimate with its two-level bootstrap interval.

    Args:
        per_seed: one 1-d array per seed (values per image), or one (n, m) array per seed for
            a statistic of m paired columns.
        statistic: "mean", "median", or a function mapping (n_boot, n[, m]) arrays to (n_boot,).
        n_boot, confidence, seed: the bootstrap's replicates, level and generator seed.
    Returns:
        :class:`dmmlib.claims.Estimate` with ``n`` the number of images over all seeds and
        ``n_of`` saying how many seeds.
    """
    arrays = [np.asarray(a, dtype=np.float64) for a in per_seed]
    if not arrays or any(len(a) == 0 for a in arrays):
        raise ValueError("need at least one seed, each with at least one value")
    if any(not np.isfinite(a).all() for a in arrays):
        raise ValueError("values contain nan or inf; select finite entries first")
    fn = {"mean": lambda v: v.mean(axis=1), "median": lambda v: np.median(v, axis=1)}.get(statistic, statistic)
    if not callable(fn):
        raise ValueError(f"statistic must be 'mean', 'median' or a function, got {statistic!r}")
    rng = np.random.default_rng(seed)
    S = len(arrays)
    point = float(np.mean([fn(a[None])[0] for a in arrays]))
    # per seed: the bootstrap distribution of its statistic, (S, n_boot)
    boot = np.stack([np.asarray(fn(a[rng.integers(0, len(a), size=(n_boot, len(a)))]), dtype=np.float64)
                     for a in arrays])
    draw = rng.integers(0, S, size=(n_boot, S))  # seeds drawn with replacement, per replicate
    values = boot[draw, np.arange(n_boot)[:, None]].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(values, [tail, 100 - tail])
    n = int(sum(len(a) for a in arrays))
    return Estimate(point, float(min(lo, point)), float(max(hi, point)), n, f"images over {S} seed{'s' * (S > 1)}", unit)


def per_seed_values(per_seed: Sequence, statistic: str = "mean") -> list[float]:
    """The statistic of each seed's values (for tables beside the pooled interval)."""
    fn = np.mean if statistic == "mean" else np.median
    return [float(fn(np.asarray(a, dtype=np.float64))) for a in per_seed]
