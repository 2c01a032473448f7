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
