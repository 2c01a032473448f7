"""Confidence intervals and paired significance tests for per-image measurements.

- :func:`bootstrap_ci`: percentile bootstrap of any statistic of one or several *paired*
  samples (the same resampled indices for every array), e.g. a mean or a ratio of means.
- :func:`paired_test`: a Wilcoxon signed-rank test of paired differences, with the paired
  bootstrap interval of their mean beside it.
- :func:`mean_ci`: a mean with its normal-approximation interval half-width.
- :func:`success_rate`: a rate with its exact (Clopper-Pearson) binomial interval, computed
  by :func:`clopper_pearson`.
- :func:`seed_interval`: a mean over a few seeds (models) with its Student-t interval.
- :func:`hierarchical_bootstrap`: models, then images, resampled: intervals that cover the
  variance of training as well as the draw of test images.

Inputs are 1-d array-likes of equal length; non-finite entries are the caller's business
(the functions raise on them rather than silently dropping images).
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import numpy as np
from scipy import stats as _st



class Interval(NamedTuple):
    """A point estimate with a two-sided ``confidence`` interval ``[lo, hi]`` from ``n`` samples."""

    estimate: float
    lo: float
    hi: float
    n: int


class PairedTest(NamedTuple):
    """Wilcoxon signed-rank test of ``a - b``: mean difference with its paired bootstrap
    interval, the test's two-sided p-value and ``n`` pairs."""

    mean_diff: float
    lo: float
    hi: float
    p_value: float
    n: int


def _arrays(samples: Sequence) -> list[np.ndarray]:
    arrs = [np.asarray(s, dtype=np.float64).reshape(-1) for s in samples]
    if not arrs:
        raise ValueError("need at least one sample")
    n = len(arrs[0])
    if any(len(a) != n for a in arrs):
        raise ValueError(f"paired samples must have equal lengths, got {[len(a) for a in arrs]}")
    if n == 0:
        raise ValueError("samples are empty")
    if not all(np.isfinite(a).all() for a in arrs):
        raise ValueError("samples contain non-finite values (nan or inf); select finite entries first")
    return arrs


def bootstrap_ci(
    *samples,
    statistic: Callable[..., np.ndarray] | None = None,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap interval of ``statistic(*samples)``.

    Args:
        samples: one or more 1-d arrays of length N, resampled with the same indices (paired).
        statistic: maps arrays of shape (n_boot, N) (one per sample) to (n_boot,) values along
            axis 1; default: the mean of the single sample. Example, the ratio of two means:
            ``lambda a, b: a.mean(1) / b.mean(1)``.
        n_boot: resamples (>= 100). confidence: in (0, 1). seed: fixes the resamples.

    Returns:
        :class:`Interval` (estimate on the original samples, lo, hi, N). With N = 1 the
        interval is the single value.
    """
    arrs = _arrays(samples)
    if statistic is None:
        if len(arrs) != 1:
            raise ValueError("give a statistic when bootstrapping several samples")
        statistic = lambda a: a.mean(axis=1)  # noqa: E731
    if not isinstance(n_boot, int) or n_boot < 100:
        raise ValueError(f"n_boot must be an int >= 100, got {n_boot!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    n = len(arrs[0])
    estimate = float(np.asarray(statistic(*[a[None, :] for a in arrs])).reshape(-1)[0])
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    values = np.asarray(statistic(*[a[idx] for a in arrs]), dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return Interval(estimate, float("nan"), float("nan"), n)
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(values, [tail, 100 - tail])
    return Interval(estimate, float(lo), float(hi), n)


def paired_test(a, b, *, n_boot: int = 2000, confidence: float = 0.95, seed: int = 0) -> PairedTest:
    """Wilcoxon signed-rank test of the paired differences ``a - b`` (two-sided), and the
    percentile bootstrap interval of their mean.

    ``a``, ``b``: 1-d arrays of N >= 1 paired measurements (e.g. per image). All-zero
    differences give p = 1; N < 2 gives p = nan.
    """
    a, b = _arrays((a, b))
    diff = a - b
    ci = bootstrap_ci(diff, n_boot=n_boot, confidence=confidence, seed=seed)
    if len(diff) < 2:
        p = float("nan")
    elif np.all(diff == 0):
        p = 1.0
    else:
        p = float(_st.wilcoxon(diff, zero_method="wilcox", alternative="two-sided").pvalue)
    return PairedTest(ci.estimate, ci.lo, ci.hi, p, len(diff))


class MeanCI(NamedTuple):
    """A sample mean, the half-width of its two-sided normal-approximation ``confidence``
    interval (mean +- half_width) and the sample size ``n``."""

    mean: float
    half_width: float
    n: int


def mean_ci(values, confidence: float = 0.95) -> MeanCI:
    """Mean of a 1-d sample and the half-width z * s / sqrt(N) of its normal-approximation
    interval (s the sample standard deviation, ddof = 1; z the two-sided normal quantile,
    1.96 for 95 %). N = 1 gives half_width = nan."""
    (v,) = _arrays((values,))
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    n = len(v)
    if n < 2:
        return MeanCI(float(v.mean()), float("nan"), n)
    z = float(_st.norm.ppf(0.5 + confidence / 2))
    return MeanCI(float(v.mean()), z * float(v.std(ddof=1)) / float(np.sqrt(n)), n)


def success_rate(success, confidence: float = 0.95) -> Interval:
    """Rate of ``True`` in a 1-d boolean array with its exact Clopper-Pearson interval."""
    s = np.asarray(success).reshape(-1)
    if s.size == 0:
        raise ValueError("success is empty")
    if s.dtype != bool:
        raise TypeError(f"success must be boolean, got {s.dtype}")
    k, n = int(s.sum()), int(s.size)
    lo, hi = clopper_pearson(k, n, confidence)
    return Interval(k / n, lo, hi, n)


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact two-sided binomial interval ``(lo, hi)`` for a rate from ``k`` events in ``n``
    trials. ``k = 0`` gives ``lo = 0`` and ``hi = 1 - ((1 - confidence)/2)^(1/n)``: a bound,
    not a zero."""
    if not (isinstance(k, (int, np.integer)) and isinstance(n, (int, np.integer)) and 0 <= k <= n and n > 0):
        raise ValueError(f"need integers 0 <= k <= n, n > 0; got k={k}, n={n}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    tail = (1 - confidence) / 2
    lo = 0.0 if k == 0 else float(_st.beta.ppf(tail, k, n - k + 1))
    hi = 1.0 if k == n else float(_st.beta.ppf(1 - tail, k + 1, n - k))
    return lo, hi


def seed_interval(values, confidence: float = 0.95) -> Interval:
    """Mean over seeds (or models) with its two-sided Student-t interval, for few values.

    ``values``: 1-d, one number per seed. Fewer than two values, or a non-finite one, give
    an undefined interval (nan), so a claim resting on it is inconclusive rather than decided
    by one run.
    """
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    n = len(v)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n < 2 or not np.isfinite(v).all():
        return Interval(float(np.mean(v)) if n else float("nan"), float("nan"), float("nan"), n)
    half = float(_st.t.ppf(0.5 + confidence / 2, n - 1) * v.std(ddof=1) / np.sqrt(n))
    m = float(v.mean())
    return Interval(m, m - half, m + half, n)


class HierInterval(NamedTuple):
    """``estimate`` on all rows, the percentile interval ``[lo, hi]``, ``n`` rows (images)
    and ``units`` (models) behind it, and the statistic per unit (``per_unit``)."""

    estimate: float
    lo: float
    hi: float
    n: int
    units: int
    per_unit: tuple[float, ...]


def hierarchical_bootstrap(
    statistic: Callable[..., float],
    arrays: Sequence[np.ndarray],
    units: np.ndarray,
    *,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> HierInterval:
    """Two-level percentile bootstrap of ``statistic(*arrays)``: each replicate draws the
    units (trained models) with replacement, then, within every drawn unit, its rows (images)
    with replacement, and evaluates the statistic on the pooled draw. Intervals then cover
    the variance of training as well as the draw of images.

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
