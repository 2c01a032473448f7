"""The claims the chapter "Clinging and dimpling" tests, with criteria fixed before the run.

``claims(results, P)`` reads :func:`dmmlib.chapters.clinging_dimpling.experiment.run_all`'s
results (only their plain numbers: per-seed ``final``, ``init``, ``walls``, ``phases``,
accuracies; the ``lr`` and ``stress`` rows; ``random_angle``) and returns one
:class:`dmmlib.claims.Claim` per claim. Intervals are over training seeds (Student t, 95 %),
paired by seed where two trainings are compared; the stress test's share has an exact
binomial interval over its configurations.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

from dmmlib.claims import Claim, Criterion, Estimate, claim, scale_text
from dmmlib.stats import clopper_pearson, seed_interval

CHAPTER = "clinging_dimpling"
DATASETS = ("line", "chessboard")

#: Share of the manifold region that must lie within the label scale of the boundary (along
#: the normal) to call it clinging: most of it.
CLING_SHARE = 0.5
#: Clinging is "fast" when the changepoint falls in the first quarter of training.
FAST_FRACTION = 0.25
#: Dimpling fits the labels when more than half of the accuracy gain comes after the changepoint.
FIT_AFTER = 0.5
#: "Roughly perpendicular": within 30 degrees of the normal (random directions: 45 in 2D, 57 in 3D).
PERPENDICULAR_DEG = 30.0
#: Appendix C's settings "train" when the final training accuracy exceeds this.
TRAINED_ACC = 0.9
#: The stress test's two phases hold "everywhere" when they hold in more than this share of configurations.
EVERYWHERE_SHARE = 0.5


def seed_estimate(values: Sequence[float], *, n_of: str = "seeds", unit: str = "") -> Estimate:
    """Mean of per-seed ``values`` with its 95 % Student-t interval (:func:`dmmlib.stats.seed_interval`);
    fewer than two values, or a non-finite one, give an undefined interval (the verdict is then
    inconclusive)."""
    return Estimate.of(seed_interval(values), n_of=n_of, unit=unit)


def exact(value: float, *, n_of: str = "", unit: str = "") -> Estimate:
    """A control known exactly (a random direction's mean angle, the walls' share)."""
    return Estimate(float(value), float(value), float(value), 1, n_of, unit)


def _per_seed(runs, part, key):
    return [float(r[part][key]) for r in runs]


def claims(results: Mapping, P: Mapping) -> list[Claim]:
    """Every claim of the chapter (see the module's docstring)."""
    n_seeds = len(results["chessboard"])
    scale = scale_text(P["profile"], seeds=n_seeds, epochs=P["epochs"], width=P["width"])
    out: list[Claim] = []
    for d in DATASETS:
        runs = results[d]
        for part, where in (("inside", "over the data region"), ("beyond", "beyond the training points")):
            out.append(claim(
                f"{CHAPTER}.clinging_{part}_{d}",
                f"{d}: the trained boundary clings to the manifold {where} (share of manifold points "
                "whose normal line meets the boundary within the label scale)",
                source="DMM §3, fig. 1", paper="“clings very closely to the whole image manifold” (no number)",
                ours=seed_estimate(_per_seed(runs, "final", f"cling_{part}")),
                criterion=Criterion(">", CLING_SHARE, meaning="most of the region; vertical walls score 0"),
                control=exact(float(np.mean(_per_seed(runs, "walls", f"cling_{part}")))),
                control_name="nearest-neighbour walls", scale=scale, section="sec-cling-metrics"))
        out.append(claim(
            f"{CHAPTER}.cling_fast_{d}",
            f"{d}: the fast phase ends early (changepoint of a two-segment fit to the manifold–boundary "
            "distance, as a fraction of training)",
            source="DMM §3 claim 1, §6", paper="“in the first few epochs” (no number)",
            ours=seed_estimate([r["phases"]["changepoint_fraction"] for r in runs]),
            criterion=Criterion("<", FAST_FRACTION, meaning="the first quarter of training"),
            scale=scale, section="sec-cling-phases"))
        out.append(claim(
            f"{CHAPTER}.labels_after_{d}",
            f"{d}: the labels are fitted after the changepoint (share of the training-accuracy gain made after it)",
            source="DMM §3 claim 1, §6", paper="dimpling “later … fits the given labels” (no number)",
            ours=seed_estimate([r["phases"]["fit_after"] for r in runs]),
            criterion=Criterion(">", FIT_AFTER, meaning="most of the fitting happens in the second phase"),
            scale=scale, section="sec-cling-phases"))
        rand = float(results["random_angle"][d])
        out.append(claim(
            f"{CHAPTER}.gradient_perpendicular_{d}",
            f"{d}: at the training points the input gradient is roughly perpendicular to the manifold "
            "(mean angle to the normal)",
            source="DMM §3 claim 2, App. E.1 fig. 24", paper="“roughly perpendicular” (no number)",
            ours=seed_estimate(_per_seed(runs, "final", "angle_train"), unit="°"),
            criterion=Criterion("<", PERPENDICULAR_DEG, meaning="within 30° of the normal"),
            control=exact(rand, unit="°"), control_name="random direction", scale=scale, section="sec-cling-grad"))
        out.append(claim(
            f"{CHAPTER}.normal_gradient_grows_{d}",
            f"{d}: training makes the gradient's normal component at the training points larger "
            "(median after training / at initialisation)",
            source="DMM §3 claim 2", paper="“large gradients … roughly perpendicular” (no number)",
            ours=seed_estimate([r["final"]["gn_train"] / r["init"]["gn_train"] for r in runs]),
            criterion=Criterion(">", 1.0, meaning="larger than at initialisation"), scale=scale, section="sec-cling-grad"))
    clean, adv = results["chessboard"], results["chessboard_adv"]
    eps = float(results["adv_eps"])
    paired = dict(n_of="seeds (paired)")
    out.append(claim(
        f"{CHAPTER}.adv_deepens_dimples",
        "chessboard: adversarial training deepens the dimples (median dimple depth at the training points, "
        "adversarial − clean, in units of ε)",
        source="DMM §5.1, fig. 3", paper="about 2ε deeper",
        ours=seed_estimate([(a["final"]["depth_median"] - c["final"]["depth_median"]) / eps for a, c in zip(adv, clean)], **paired),
        criterion=Criterion(">", 0.0, meaning="deeper"), scale=scale, section="sec-cling-adv"))
    out.append(claim(
        f"{CHAPTER}.adv_gradient_on_manifold",
        "chessboard: after adversarial training the gradient has a larger on-manifold component "
        "(mean angle to the normal, adversarial − clean)",
        source="DMM §5.1", paper="“a more significant on-manifold component” (no number)",
        ours=seed_estimate([a["final"]["angle_train"] - c["final"]["angle_train"] for a, c in zip(adv, clean)], unit="°", **paired),
        criterion=Criterion(">", 0.0, meaning="a larger angle"), scale=scale, section="sec-cling-adv"))
    out.append(claim(
        f"{CHAPTER}.adv_costs_accuracy",
        "chessboard: adversarial training costs clean accuracy on held-out points (clean − adversarial)",
        source="DMM §5 item 4, §5.1", paper="“may lose accuracy for regular test images” (no number)",
        ours=seed_estimate([c["test_acc"] - a["test_acc"] for a, c in zip(adv, clean)], **paired),
        criterion=Criterion(">", 0.0, meaning="any loss"), scale=scale, section="sec-cling-adv"))
    out.append(claim(
        f"{CHAPTER}.adv_buys_robustness",
        "chessboard: adversarial training raises robust accuracy on held-out points (L2 PGD of radius ε; "
        "adversarial − clean)",
        source="DMM §5.1", paper="“proven many times to improve the robustness” (no number)",
        ours=seed_estimate([a["robust_acc"] - c["robust_acc"] for a, c in zip(adv, clean)], **paired),
        criterion=Criterion(">", 0.0, meaning="any gain"), scale=scale, section="sec-cling-adv"))
    stated = [r["final_acc"] for r in results["lr"] if r["reading"].startswith("as stated")]
    out.append(claim(
        f"{CHAPTER}.lr_as_stated_trains",
        "appendix C's settings as stated (inputs in [0, 1], outputs ±1, full batch, mean loss, lr 0.02) "
        "fit the training labels (final training accuracy)",
        source="DMM App. C", paper="lr 0.02, weight decay 0.01, 200 epochs",
        ours=seed_estimate(stated, n_of="runs (datasets × seeds)"),
        criterion=Criterion(">", TRAINED_ACC, meaning="fits the labels"),
        scale=scale_text(P["profile"], runs=len(stated), epochs=P["epochs"]), section="sec-cling-lr"))
    out.append(stress_claim(results["stress"], P))
    return out


def two_phase(row: Mapping) -> bool:
    """The two-phase shape in one run: fast changepoint and labels fitted after it."""
    return bool(row["changepoint_fraction"] < FAST_FRACTION and row["fit_after"] > FIT_AFTER)


def stress_claim(rows: Sequence[Mapping], P: Mapping) -> Claim:
    """Share of the stress test's runs that trained (accuracy > TRAINED_ACC) showing two phases,
    with its Clopper-Pearson interval."""
    trained = [r for r in rows if r["final_acc"] > TRAINED_ACC]
    k, n = sum(two_phase(r) for r in trained), len(trained)
    est = (Estimate(k / n, *clopper_pearson(k, n), n, "trained runs") if n
           else Estimate(math.nan, math.nan, math.nan, 0, "trained runs"))
    return claim(
        f"{CHAPTER}.two_phases_everywhere",
        "chessboard: the two phases appear across widths, optimisers and learning rates "
        "(share of the runs that trained)",
        source="DMM §3 claim 1", paper="“typically” (no number)", ours=est,
        criterion=Criterion(">", EVERYWHERE_SHARE, meaning="in most configurations"),
        scale=scale_text(P["profile"], runs=len(rows), trained=n), section="sec-cling-stress")
