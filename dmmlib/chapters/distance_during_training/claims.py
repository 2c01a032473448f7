"""The claims of the chapter distance_during_training and the per-seed numbers behind them.

DMM §6 (figure 6): during training of a ResNet-50 on CIFAR-10 the mean distance from the
test images to the decision boundary "rapidly decreases during the first few epochs as the
decision boundary clings to the image manifold, and then fluctuates over many epochs without
further decreases"; DMM §3: after clinging the boundary is close to the manifold and the
network's gradient is nearly perpendicular to it.

Every claim is decided over training seeds (one value per seed; a 95 % Student-t interval of
their mean). The thresholds below are fixed here, before any run:

- the distance decreases: final / initial mean distance < 1;
- a fast phase then a plateau: the two-segment fit on log-time (:mod:`.changepoint`) puts its
  break where more than ``CHANGE_SHARE_MIN`` of the whole change is done (the paper's is a
  decrease; the share counts an increase alike, the claim above gives the direction), within the first
  ``STEP_SHARE_MAX`` of the iterations (both for the main optimiser and the alternative);
- near-perpendicular: the fraction of the input gradient's (and of the minimal
  perturbation's) norm in the autoencoder's tangent space, divided by that fraction for a
  random subspace of the same k, is below ``TANGENT_RATIO_MAX`` at the end of training.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
from scipy import stats as st

from dmmlib.chapters.distance_during_training.changepoint import hinge_changepoint
from dmmlib.chapters.distance_during_training.experiment import curves
from dmmlib.claims import Claim, Criterion, Estimate, claim, scale_text

CHAPTER = "distance_during_training"
SECTION_CURVES = "ddt-curves"
SECTION_PHASES = "ddt-phases"
SECTION_TANGENT = "ddt-tangent"
DISTANCE_RATIO_MAX = 1.0
CHANGE_SHARE_MIN = 0.75
STEP_SHARE_MAX = 0.2
TANGENT_RATIO_MAX = 2.0
LABELS = {"mnist": "MNIST (MLP of G.1)", "cifar": "CIFAR-10"}


def per_seed(results: Mapping[str, Any]) -> dict:
    """{dataset: {setting: [one dict per seed]}} with, per seed: ``d0``, ``d_end`` (mean
    boundary distance at iteration 0 and at the end), ``ratio`` (d_end / d0), ``cp_step``,
    ``cp_epoch``, ``step_share``, ``change_share`` (:func:`hinge_changepoint` of the distance
    curve), ``acc_end``, ``success_min`` (the attack's lowest success rate over checkpoints),
    ``g_tan``, ``g_rand``, ``g_ratio``, ``r_tan``, ``r_rand``, ``r_ratio`` (tangent and
    random-subspace fractions of the gradient and of the minimal perturbation at the end,
    and their ratio)."""
    out = {}
    for ds, res in results.items():
        out[ds] = {}
        for setting, runs in res["runs"].items():
            rows = []
            for run in runs:
                c = curves(run)
                d = c["distance"]
                ok = np.isfinite(d)
                # the fit needs 4 checkpoints where DeepFool reached the boundary; with fewer, no break
                cp = hinge_changepoint(c["steps"][ok], d[ok]) if ok.sum() >= 4 else None
                nan = float("nan")
                per_epoch = run["steps_per_epoch"]
                rows.append({
                    "d0": float(d[0]), "d_end": float(d[-1]), "ratio": float(d[-1] / d[0]),
                    "cp_step": cp.step if cp else nan, "cp_epoch": cp.step / per_epoch if cp else nan,
                    "step_share": cp.step_share if cp else nan, "change_share": cp.change_share if cp else nan, "acc0": float(c["accuracy"][0]), "acc_end": float(c["accuracy"][-1]),
                    "success_min": float(c["success"].min()),
                    "g_tan": float(c["g_tan"][-1]), "g_rand": float(c["g_rand"][-1]),
                    "g_ratio": float(c["g_tan"][-1] / c["g_rand"][-1]),
                    "r_tan": float(c["r_tan_frac"][-1]), "r_rand": float(c["r_rand_frac"][-1]),
                    "r_ratio": float(c["r_tan_frac"][-1] / c["r_rand_frac"][-1]),
                })
            out[ds][setting] = rows
    return out


def seed_estimate(values, unit: str = "") -> Estimate:
    """Mean of per-seed values with its 95 % Student-t interval (undefined for one seed or a
    non-finite value)."""
    v = np.asarray(list(values), dtype=float)
    n = len(v)
    if n == 0:
        raise ValueError("need at least one seed")
    mean = float(v.mean())
    if n < 2 or not np.isfinite(v).all():
        return Estimate(mean, math.nan, math.nan, n, "seeds", unit)
    half = float(st.t.ppf(0.975, n - 1) * v.std(ddof=1) / math.sqrt(n))
    return Estimate(mean, mean - half, mean + half, n, "seeds", unit)


def claims(results: Mapping[str, Any], P: Mapping[str, Any]) -> list[Claim]:
    """The chapter's claims from :func:`dmmlib.chapters.distance_during_training.experiment.run_all`'s
    ``results`` and the resolved parameters ``P``."""
    seeds = per_seed(results)
    out = []
    for ds in results:
        main, alt = seeds[ds]["main"], seeds[ds]["alt"]
        name, images = LABELS.get(ds, ds), P.get(f"{ds}_images", 0)
        scale = scale_text(P["profile"], seeds=len(main), images=images)
        alt_opt = results[ds]["settings"]["alt"]["optimizer"]
        out.append(claim(
            f"{CHAPTER}.{ds}_distance_decreases",
            f"{name}: the mean distance from test images to the boundary decreases during training (final / initial)",
            source="DMM §6, fig. 6", paper="decreases (figure 6, a curve; no number)",
            ours=seed_estimate(r["ratio"] for r in main),
            criterion=Criterion("<", DISTANCE_RATIO_MAX, meaning="below 1: the boundary ends closer than it started"),
            scale=scale, section=SECTION_CURVES))
        for setting, rows, opt in (("main", main, "SGD"), ("alt", alt, alt_opt)):
            tag = "" if setting == "main" else "alt_"
            out.append(claim(
                f"{CHAPTER}.{ds}_{tag}change_by_changepoint",
                f"{name}, {opt}: most of the change in distance happens in a fast first phase "
                "(share of the change done by the changepoint)",
                source="DMM §6, fig. 6", paper="rapid decrease, then no further decrease (no number)",
                ours=seed_estimate(r["change_share"] for r in rows),
                criterion=Criterion(">", CHANGE_SHARE_MIN, meaning="three quarters of the change done when the fast phase ends"),
                scale=scale, section=SECTION_PHASES))
            out.append(claim(
                f"{CHAPTER}.{ds}_{tag}changepoint_early",
                f"{name}, {opt}: the fast phase ends early in training (changepoint's share of the iterations)",
                source="DMM §6, fig. 6", paper="the first few epochs of many",
                ours=seed_estimate(r["step_share"] for r in rows),
                criterion=Criterion("<", STEP_SHARE_MAX, meaning="within the first fifth of training"),
                scale=scale, section=SECTION_PHASES))
        out.append(claim(
            f"{CHAPTER}.{ds}_gradient_off_tangent",
            f"{name}: after training the input gradient is nearly perpendicular to the local manifold "
            "(its tangent fraction over a random subspace's)",
            source="DMM §3", paper="nearly perpendicular (no number)",
            ours=seed_estimate(r["g_ratio"] for r in main),
            criterion=Criterion("<", TANGENT_RATIO_MAX,
                                meaning="no more than twice the share a random subspace of the same k holds"),
            scale=scale, section=SECTION_TANGENT))
        out.append(claim(
            f"{CHAPTER}.{ds}_perturbation_off_tangent",
            f"{name}: after training the minimal perturbation to the boundary lies off the local manifold "
            "(its tangent fraction over a random subspace's)",
            source="DMM §3, §6", paper="perpendicular to the manifold (no number)",
            ours=seed_estimate(r["r_ratio"] for r in main),
            criterion=Criterion("<", TANGENT_RATIO_MAX,
                                meaning="no more than twice the share a random subspace of the same k holds"),
            scale=scale, section=SECTION_TANGENT))
    return out
