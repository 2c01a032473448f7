"""Statistics of the chapter's per-image records, for
:func:`dmmlib.stats.hierarchical_bootstrap` (which resamples models, then images)."""
from __future__ import annotations

import numpy as np


def mean(a: np.ndarray) -> float:
    return float(np.mean(a))


def ratio_of_means(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(a) / np.mean(b))


def share(a: np.ndarray) -> float:
    """The mean of a 0/1 array: a share in [0, 1]."""
    return float(np.mean(a))


def paired(a: np.ndarray, b: np.ndarray, *, statistic: str, units: np.ndarray, n_of: str, n_boot: int):
    """:func:`dmmlib.claims.compare` of the paired rows ``a`` and ``b`` (hierarchical bootstrap over
    ``units``, then rows), or an undefined estimate (nan, n = 0) when no row is left."""
    from dmmlib.claims import Estimate, compare

    if len(a) == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0, n_of)
    return compare(a, b, statistic=statistic, units=units, n_of=n_of, n_boot=n_boot)
