"""The claims of the chapter "Boundary tilting" and the rules that decide them.

``claims(results, P)`` turns the chapter's measurements into :class:`dmmlib.claims.Claim`s.
Every threshold is fixed here, before any run. ``results`` is a plain dict (the notebook
builds it; the unit tests construct it):

- ``lambdas`` (L,): the sweep, increasing.
- ``theta`` (S, L): the tilting angle in degrees, one row per split seed.
- ``dist`` (S, L): the median L2 distance of the held-out test digits to the boundary.
- ``half`` (S, L): the article's formula 0.5 ||c1 - c0|| cos(theta), same units.
- ``err_halves`` (S, 2, L): the test error (fraction) on two disjoint halves of the test
  split: lambda is chosen on half 0 and judged on half 1 (no selection bias).
- ``toy`` {name: (N,) |distance| of every toy point to the boundary}, names
  ``"2_tilt"``, ``"785_tilt"`` (same points in 2 and 785 dimensions, tilted boundary) and
  ``"2_bisect"`` (2 dimensions, no tilt).
- ``mlp_angle`` (n,): angle (degrees) between the MLP's input gradient of f_b - f_a and
  z_hat at n held-out test digits; ``rand_angle`` (m,): the same for random directions.

Intervals: over split seeds (Student t, 95 %) where seeds vary; over points (percentile
bootstrap) for the toy problem and the single trained MLP.
"""
from __future__ import annotations

import numpy as np

from dmmlib.claims import Claim, Criterion, Estimate, claim, scale_text
from dmmlib.stats import bootstrap_ci, seed_interval

CHAPTER = "boundary_tilting"
SOURCE_ARTICLE = "Tanay 2018, fig. 6"

# thresholds, fixed before the run
TILT_GAIN_DEG = 10.0          # tilt at the smallest lambda minus tilt at the largest, degrees
FORMULA_BAND = (0.5, 2.0)     # median test distance / (0.5 ||c1 - c0|| cos theta)
TOY_BAND = (0.9, 1.1)         # median distance in 785-d / in 2-d, tilted boundary
MLP_BAND = (10.0, 85.0)       # degrees between the MLP gradient and z_hat


def seed_estimate(values, *, unit: str = "", confidence: float = 0.95) -> Estimate:
    """Mean over seeds with its Student-t interval (:func:`dmmlib.stats.seed_interval`); one
    seed gives an undefined interval, so a claim resting on it is inconclusive."""
    return Estimate.of(seed_interval(values, confidence), n_of="seeds", unit=unit)


def _median_ci(values, n_of: str, unit: str = "") -> Estimate:
    return Estimate.of(bootstrap_ci(np.asarray(values, dtype=np.float64), statistic=lambda a: np.median(a, axis=1)),
                       n_of=n_of, unit=unit)


def _ratio_of_medians(a, b, n_of: str) -> Estimate:
    ci = bootstrap_ci(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64),
                      statistic=lambda x, y: np.median(x, axis=1) / np.median(y, axis=1))
    return Estimate.of(ci, n_of=n_of)


def best_lambda_gain(err_halves) -> np.ndarray:
    """Per seed: lambda chosen by the lowest error on half 0; returns, on half 1, the lower
    of the two end errors minus the chosen lambda's error, in percentage points (S,).
    > 0: an intermediate lambda beats both ends on data it was not chosen on."""
    e = np.asarray(err_halves, dtype=np.float64)
    if e.ndim != 3 or e.shape[1] != 2:
        raise ValueError(f"err_halves must have shape (S, 2, L), got {e.shape}")
    pick = e[:, 0].argmin(1)
    judge = e[:, 1]
    ends = np.minimum(judge[:, 0], judge[:, -1])
    return 100 * (ends - judge[np.arange(len(e)), pick])


def claims(results: dict, P) -> list[Claim]:
    """The chapter's claims (module docstring) from ``results`` and the parameters ``P``."""
    theta = np.asarray(results["theta"], dtype=np.float64)
    dist = np.asarray(results["dist"], dtype=np.float64)
    half = np.asarray(results["half"], dtype=np.float64)
    n_seeds = theta.shape[0]
    svm_scale = scale_text(P["profile"], seeds=n_seeds, lambdas=theta.shape[1])
    out = []

    tilt = theta[:, 0] - theta[:, -1]
    out.append(claim(
        f"{CHAPTER}.tilt_grows", "The boundary of a linear SVM tilts away from the nearest-centroid direction as "
        "L2 regularisation (lambda) shrinks",
        source=SOURCE_ARTICLE, paper="qualitative (interactive figure)",
        ours=seed_estimate(tilt, unit="deg"),
        criterion=Criterion(">", TILT_GAIN_DEG, meaning="tilt at the smallest lambda exceeds that at the largest by "
                                                         "more than 10 degrees"),
        scale=svm_scale, section="tilt-sweep", extra={"per_seed": tilt.tolist()}))

    ratio = dist[:, 0] / half[:, 0]
    out.append(claim(
        f"{CHAPTER}.distance_formula", "At the strongest tilt, the median test digit lies at the article's "
        "0.5 ||c1 - c0|| cos(theta) from the boundary",
        source="Tanay 2018, tilting plane", paper="ratio 1 (formula)",
        ours=seed_estimate(ratio),
        criterion=Criterion("within", *FORMULA_BAND, meaning="the same size as the formula, within a factor 2"),
        scale=svm_scale, section="tilt-sweep",
        extra={"per_seed": ratio.tolist(), "per_seed_largest_lambda": (dist[:, -1] / half[:, -1]).tolist()}))

    gain = best_lambda_gain(results["err_halves"])
    out.append(claim(
        f"{CHAPTER}.best_intermediate", "Test error is lowest at an intermediate lambda, below both the "
        "unregularised and the nearest-centroid ends",
        source=SOURCE_ARTICLE, paper="qualitative",
        ours=seed_estimate(gain, unit="pp"),
        criterion=Criterion(">", 0.0, meaning="lambda chosen on one half of the test digits beats both ends on "
                                               "the other half"),
        scale=svm_scale, section="tilt-sweep", extra={"per_seed": gain.tolist()}))

    toy = results["toy"]
    n_toy = len(toy["2_tilt"])
    out.append(claim(
        f"{CHAPTER}.toy_dimension", "In the toy problem the tilt, not the dimension, sets the distance to the "
        "boundary: the same in 2 and 785 dimensions",
        source="Tanay 2018, fig. 3", paper="qualitative (figure)",
        ours=_ratio_of_medians(toy["785_tilt"], toy["2_tilt"], "toy points"),
        criterion=Criterion("within", *TOY_BAND, meaning="785-d over 2-d median distance equal within 10 %"),
        control=_ratio_of_medians(toy["2_bisect"], toy["2_tilt"], "toy points"),
        control_name="no tilt vs tilt, both 2-d",
        scale=scale_text(P["profile"], points=n_toy), section="tilt-toy"))

    mlp = np.asarray(results["mlp_angle"], dtype=np.float64)
    rand = np.asarray(results["rand_angle"], dtype=np.float64)
    out.append(claim(
        f"{CHAPTER}.mlp_tilt", "The MNIST MLP's input gradient is tilted from the nearest-centroid direction, "
        "yet far closer to it than a random direction",
        source="DMM app. A (link to Tanay)", paper="",
        ours=_median_ci(mlp, "test digits, one trained MLP", "deg"),
        criterion=Criterion("within", *MLP_BAND, meaning="tilted by more than 10 degrees, less than 85 "
                                                         "(random directions in 784-d: 90 +- 2)"),
        control=_median_ci(rand, "random directions", "deg"), control_name="random direction",
        scale=scale_text(P["profile"], images=len(mlp), models=1), section="tilt-dmm"))
    return out
