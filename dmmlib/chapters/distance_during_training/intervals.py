"""Intervals over training seeds and the tracked test images together.

Every seed measures the same fixed test images, so a per-seed number varies with the seed
(the training run) and with the images chosen. With few seeds (3 at ``quick``) a bootstrap
over seeds cannot show the variance between them, so the interval is a Student-t interval
over seeds (n - 1 degrees of freedom) whose variance adds the image bootstrap's:

    half-width = t_{0.975, n-1} * sqrt(s_seeds^2 / n + var_images),

where s_seeds^2 is the variance of the per-seed values and var_images the variance of their
mean over seeds when the images are redrawn with replacement (the same draw for every seed:
they are the same images). This is conservative: the image noise that differs between seeds
is counted in both terms. One seed, or a non-finite value, gives an undefined interval.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
from scipy import stats as st

from dmmlib.claims import Estimate

N_BOOT = 1000


def seeds_images_estimate(per_seed: Callable[[int, np.ndarray | None], np.ndarray], n_seeds: int, n_images: int,
                          *, log: bool = False, n_boot: int = N_BOOT, seed: int = 0, unit: str = "") -> Estimate:
    """Mean over seeds of ``per_seed`` with the interval of the module's docstring.

    Args:
        per_seed: ``per_seed(s, idx)`` for seed ``s``: with ``idx`` None, the statistic on all
            images (a float); with ``idx`` (B, n_images) image indices, the statistic on each
            redrawn set (B,) (nan where it is undefined).
        n_seeds, n_images: how many seeds and tracked images.
        log: the statistic is a log; the estimate and its bounds are exponentiated (a
            geometric mean over seeds).

    Returns:
        :class:`Estimate` with ``n`` = seeds and ``n_of`` naming both.
    """
    if n_seeds < 1 or n_images < 1:
        raise ValueError(f"need at least one seed and one image, got {n_seeds}, {n_images}")
    v = np.array([float(per_seed(s, None)) for s in range(n_seeds)])
    mean = float(v.mean())
    lo = hi = math.nan
    if n_seeds >= 2 and np.isfinite(v).all():
        idx = np.random.default_rng(seed).integers(0, n_images, size=(n_boot, n_images))
        with np.errstate(invalid="ignore", divide="ignore"):
            boot = np.mean([np.asarray(per_seed(s, idx), dtype=float) for s in range(n_seeds)], axis=0)
        boot = boot[np.isfinite(boot)]
        if len(boot) >= 0.95 * n_boot:  # more undefined redraws than that: no interval
            half = float(st.t.ppf(0.975, n_seeds - 1) * math.sqrt(v.var(ddof=1) / n_seeds + boot.var(ddof=1)))
            lo, hi = mean - half, mean + half
    if log:
        mean, lo, hi = math.exp(mean), math.exp(lo), math.exp(hi)
    return Estimate(mean, lo, hi, n_seeds, f"seeds x {n_images} images", unit)
