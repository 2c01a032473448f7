"""A detector's ROC: the area under it, with a paired bootstrap interval, and its points.

The detector flags an input whose score (the reconstruction error ||x - D(E(x))||) is high.
``positive`` scores belong to adversarial images, ``negative`` ones to clean images; the AUC is
the probability that a random adversarial image scores above a random clean one (ties count
one half): 0.5 is chance, 1 a perfect detector (the Mann-Whitney statistic).
"""
from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from dmmlib.stats import Interval


def _scores(positive, negative) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(positive, dtype=np.float64)
    q = np.asarray(negative, dtype=np.float64)
    if p.ndim != 1 or q.ndim != 1 or p.size == 0 or q.size == 0:
        raise ValueError(f"positive and negative must be non-empty 1-d score arrays, got shapes {p.shape}, {q.shape}")
    if not (np.isfinite(p).all() and np.isfinite(q).all()):
        raise ValueError("scores contain non-finite values (nan or inf); select the finite ones first")
    return p, q


def roc_auc_rows(positive: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """AUC per row of (R, P) positive and (R, Q) negative scores: (R,), ties count one half
    (average ranks of the pooled row)."""
    positive, negative = np.atleast_2d(positive), np.atleast_2d(negative)
    P, Q = positive.shape[1], negative.shape[1]
    ranks = rankdata(np.concatenate([positive, negative], axis=1), axis=1)
    return (ranks[:, :P].sum(axis=1) - P * (P + 1) / 2) / (P * Q)


def roc_auc(positive, negative) -> float:
    """The AUC (in [0, 1]) of 1-d positive and negative scores (finite, non-empty)."""
    p, q = _scores(positive, negative)
    return float(roc_auc_rows(p[None], q[None])[0])


def auc_interval(positive, negative, *, n_boot: int = 2000, confidence: float = 0.95, seed: int = 0) -> Interval:
    """The AUC with its percentile bootstrap interval, the positive and the negative scores
    resampled separately (the stratified bootstrap of pROC). Resampling the images as pairs
    would weigh each image's own (adversarial, clean) pair about twice as much as the others in
    small samples, and bias the interval towards that pair's order."""
    p, q = _scores(positive, negative)
    if not isinstance(n_boot, int) or n_boot < 100:
        raise ValueError(f"n_boot must be an int >= 100, got {n_boot!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    rng = np.random.default_rng(seed)
    values = roc_auc_rows(p[rng.integers(0, p.size, (n_boot, p.size))], q[rng.integers(0, q.size, (n_boot, q.size))])
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(values, [tail, 100 - tail])
    return Interval(roc_auc(p, q), float(lo), float(hi), int(min(p.size, q.size)))


def roc_curve(positive, negative) -> tuple[np.ndarray, np.ndarray]:
    """(false-positive rate, true-positive rate), each (T + 2,) ascending from (0, 0) to (1, 1),
    for every threshold between the pooled scores (flag: score >= threshold)."""
    p, q = _scores(positive, negative)
    thresholds = np.unique(np.concatenate([p, q]))[::-1]
    tpr = (p[None, :] >= thresholds[:, None]).mean(axis=1)
    fpr = (q[None, :] >= thresholds[:, None]).mean(axis=1)
    return np.concatenate([[0.0], fpr, [1.0]]), np.concatenate([[0.0], tpr, [1.0]])
