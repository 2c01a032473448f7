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
- ``mlp_angle`` (M, n): angle (degrees) between the input gradient of f_b - f_a of each of M
  MNIST MLPs (training seeds) and z_hat at n held-out test digits; ``rand_angle`` (m,): the
  same for random directions; ``mlp_acc`` (M,): each MLP's accuracy on those digits.
- ``end_dist_tilted``, ``end_dist_flat`` (N,): every held-out test digit's L2 distance to the
  boundary at the smallest lambda (strongest tilt) and at the largest (the control), paired
  digit by digit, all seeds stacked; ``end_unit`` (N,): the split seed of each digit.

The toy problem of the article's figure 3 is not a claim: the same points in 2 and 785
dimensions are at the same distance from the same boundary by construction.
:func:`toy_check` measures it as a check of the construction (the notebook stops when it
fails).

Kinds: the three sweep claims test sentences of Tanay's article (``companion``, quoted from
/work/shared/seeds/004_*.txt); the MLP's tilt is the book's own generalisation of Tanay's
linear picture to a non-linear network (``extension``: the article says the picture "does not
apply" to deep networks; the DMM's appendix A draws the link).

Intervals: over split seeds (Student t, 95 %) for the SVM sweep, over MLPs (training seeds,
Student t) for the MLP's tilt, over points (percentile bootstrap) for the toy check.
"""
from __future__ import annotations

import numpy as np

from dmmlib.claims import Claim, Criterion, Estimate, claim, compare, precondition, scale_text
from dmmlib.stats import bootstrap_ci, seed_interval

CHAPTER = "boundary_tilting"
SOURCE_ARTICLE = "Tanay 2018, fig. 6"

# thresholds, fixed before the run
TILT_GAIN_DEG = 10.0          # tilt at the smallest lambda minus tilt at the largest, degrees
FORMULA_BAND = (0.5, 2.0)     # median test distance / (0.5 ||c1 - c0|| cos theta)
TOY_BAND = (0.9, 1.1)         # construction check: median distance in 785-d / in 2-d, tilted boundary
MLP_BAND = (10.0, 85.0)       # degrees between the MLP gradient and z_hat (random directions: 90 +- 2)
#: The MLP's tilt means something only for a trained classifier: its accuracy on the pair's held-out
#: digits (ten-class predictions) must exceed 95 % (the DMM's MLP reaches 98 % on all of MNIST, App. G.1).
MLP_ACCURACY = 0.95
#: The tilted boundary lies closer to the test digits than the untilted one: mean distance at the
#: smallest lambda over that at the largest below 1 (the ordering itself; the article gives no size).
VULNERABILITY_RATIO = 1.0
#: The sentences the claims test (Tanay's article, /work/shared/seeds/004_*.txt; DMM appendix A).
QUOTES = {
    "tilt": "the tilting angle of the SVM boundary depends on the level of L2 regularization used",
    "close": "We see that the classification boundary lies close to the data manifold",
    "overfit": "this is what happens when a linear classifier overfits its training data",
    "dmm": "our two-dimensional experiment demonstrates experimentally the tilting described in the paper",
    "vulnerable": "it is possible to control the tilting angle of the classification boundary—and therefore its "
                  "vulnerability to adversarial examples—by using standard regularization techniques",
}


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
        kind="companion", quote=QUOTES["tilt"], source=SOURCE_ARTICLE, paper="qualitative (interactive figure)",
        ours=seed_estimate(tilt, unit="deg"),
        criterion=Criterion(">", TILT_GAIN_DEG, meaning="tilt at the smallest lambda exceeds that at the largest by "
                                                         "more than 10 degrees"),
        scale=svm_scale, section="tilt-sweep", extra={"per_seed": tilt.tolist()}))

    ratio = dist[:, 0] / half[:, 0]
    out.append(claim(
        f"{CHAPTER}.distance_formula", "At the strongest tilt, the median test digit lies at the article's "
        "0.5 ||c1 - c0|| cos(theta) from the boundary (how close the tilted boundary lies to the data)",
        kind="companion", quote=QUOTES["close"], source="Tanay 2018, tilting plane (fig. 5)", paper="ratio 1 (formula)",
        ours=seed_estimate(ratio),
        criterion=Criterion("within", *FORMULA_BAND, meaning="the same size as the formula, within a factor 2"),
        scale=svm_scale, section="tilt-sweep",
        extra={"per_seed": ratio.tolist(), "per_seed_largest_lambda": (dist[:, -1] / half[:, -1]).tolist()}))

    gain = best_lambda_gain(results["err_halves"])
    out.append(claim(
        f"{CHAPTER}.best_intermediate", "Test error is lowest at an intermediate lambda, below both the "
        "unregularised (overfitting) and the nearest-centroid ends",
        kind="companion", quote=QUOTES["overfit"], source=SOURCE_ARTICLE, paper="qualitative",
        ours=seed_estimate(gain, unit="pp"),
        criterion=Criterion(">", 0.0, meaning="lambda chosen on one half of the test digits beats both ends on "
                                               "the other half"),
        scale=svm_scale, section="tilt-sweep", extra={"per_seed": gain.tolist()}))

    out.append(mlp_claim(results, P))
    out.append(vulnerability_claim(results, P, tilt))
    return out


def vulnerability_claim(results: dict, P, tilt) -> Claim:
    """The adversarial distance falls with the tilt: every test digit's distance to the most
    tilted boundary (smallest lambda) against its distance to the least tilted one (largest
    lambda, the control), paired digit by digit, ratio of the means with a hierarchical
    bootstrap over split seeds, then digits. Tested if the sweep tilts the boundary at all
    (mean tilt gain over seeds above :data:`TILT_GAIN_DEG`)."""
    tilted = np.asarray(results["end_dist_tilted"], dtype=np.float64).reshape(-1)
    flat = np.asarray(results["end_dist_flat"], dtype=np.float64).reshape(-1)
    units = np.asarray(results["end_unit"]).reshape(-1)
    if not (len(tilted) == len(flat) == len(units)):
        raise ValueError(f"end_dist_tilted, end_dist_flat and end_unit must have one length, got {len(tilted)}, "
                         f"{len(flat)}, {len(units)}")
    n_units = len(np.unique(units))
    gain = np.asarray(tilt, dtype=np.float64)
    return claim(
        f"{CHAPTER}.tilt_vulnerability", "The more the boundary tilts, the closer the test digits lie to it: the "
        "mean smallest adversarial perturbation at the smallest lambda over that at the largest, below 1",
        kind="companion", quote=QUOTES["vulnerable"], source="Tanay 2018, fig. 6 (Tanay and Griffin 2016, fig. 2)",
        paper="qualitative (the adversarial perturbation grows with regularisation)",
        ours=compare(tilted, flat, statistic="ratio", units=units,
                     n_of=f"test digits in {n_units} split seeds", unit=""),
        criterion=Criterion("<", VULNERABILITY_RATIO, meaning="closer to the strongly tilted boundary"),
        control=Estimate(float(flat.mean()) if flat.size else float("nan"),
                         float(flat.min()) if flat.size else float("nan"),
                         float(flat.max()) if flat.size else float("nan"), len(flat), "test digits (min-max)", "L2"),
        control_name="the largest lambda (least tilted)", paired=True,
        preconditions=[precondition("tilt at the smallest lambda minus at the largest (mean over seeds)",
                                    float(gain.mean()) if gain.size else float("nan"), ">", TILT_GAIN_DEG,
                                    meaning="the sweep tilts the boundary", paper="qualitative")],
        scale=scale_text(P["profile"], seeds=n_units, digits=len(tilted)), section="tilt-distance",
        extra={"mean distance, smallest lambda": float(tilted.mean()) if tilted.size else float("nan"),
               "mean distance, largest lambda": float(flat.mean()) if flat.size else float("nan")})


def mlp_claim(results: dict, P) -> Claim:
    """The MNIST MLPs' tilt: per MLP the median angle over the test digits, then the mean over
    MLPs with its Student-t interval (training variance is in it); random directions as control."""
    mlp = np.atleast_2d(np.asarray(results["mlp_angle"], dtype=np.float64))
    rand = np.asarray(results["rand_angle"], dtype=np.float64)
    acc = np.asarray(results["mlp_acc"], dtype=np.float64).reshape(-1)
    per_model = np.median(mlp, axis=1)
    return claim(
        f"{CHAPTER}.mlp_tilt", "The MNIST MLP's input gradient is tilted from the nearest-centroid direction, "
        "yet far closer to it than a random direction (median angle over held-out digits, mean over MLPs)",
        kind="extension", quote=QUOTES["dmm"], source="DMM app. A (link to Tanay); the book's extension",
        paper="no number",
        ours=Estimate.of(seed_interval(per_model), n_of=f"MLPs (training seeds; {mlp.shape[1]} digits each)", unit="deg"),
        criterion=Criterion("within", *MLP_BAND, meaning="tilted by more than 10 degrees, less than 85 "
                                                         "(random directions in 784-d: 90 +- 2)"),
        control=_median_ci(rand, "random directions", "deg"), control_name="random direction",
        preconditions=[precondition("MLPs' accuracy on the pair's held-out digits (mean)", float(acc.mean()) if acc.size
                                    else float("nan"), ">", MLP_ACCURACY, meaning="trained classifiers",
                                    paper="98 % on all of MNIST (App. G.1)")],
        scale=scale_text(P["profile"], images=mlp.shape[1], models=mlp.shape[0]), section="tilt-dmm",
        extra={"per_model_median_deg": per_model.tolist(), "per_model_accuracy": acc.tolist()})


def toy_check(toy: dict) -> dict:
    """The toy problem's construction check (not a claim: it holds by construction): the median
    distance to the tilted boundary in 785 dimensions over that in 2 (``toy["785_tilt"]`` and
    ``toy["2_tilt"]``: |distance| per point) must lie within :data:`TOY_BAND`; the untilted
    boundary's (``toy["2_bisect"]``) over the tilted one shows what the tilt does. Returns
    {"ratio": Estimate, "tilt_effect": Estimate, "ok": bool}."""
    ratio = _ratio_of_medians(toy["785_tilt"], toy["2_tilt"], "toy points")
    effect = _ratio_of_medians(toy["2_bisect"], toy["2_tilt"], "toy points")
    ok = Criterion("within", *TOY_BAND).judge(ratio) == "supports"
    return {"ratio": ratio, "tilt_effect": effect, "ok": bool(ok)}
