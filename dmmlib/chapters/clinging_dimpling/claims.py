"""The claims the chapter "Clinging and dimpling" tests, with criteria fixed before the run.

Figures 1 and 2 (:func:`figure_claims`): the trained boundary against the vertical walls of the
simplistic image, and the inward pressure of fitting misclassified points. Section 5.1
(:func:`adversarial_claims`) and appendix A's random-noise training (:func:`noise_claims`).

``claims(results, P)`` reads :func:`dmmlib.chapters.clinging_dimpling.experiment.run_all`'s
results (only their plain numbers: per-seed ``final``, ``init``, ``walls``, ``phases``,
accuracies; the ``lr`` and ``stress`` rows; ``random_angle``) and returns one
:class:`dmmlib.claims.Claim` per claim. Each claim quotes the sentence of the DMM paper it
tests (kind ``paper``), except the finding about appendix C's learning rate (kind
``protocol``).

Intervals are over training seeds (Student t, 95 %): with five seeds a bootstrap over seeds
would be too narrow. Where a claim compares two trainings (trained against untrained,
adversarial against clean) or a measurement with a known control value (a random
direction), the estimate is the paired per-seed difference (or ratio), judged one-sided in
the direction the paper predicts, and the control is shown beside it (``paired=True``).
The stress test's share has an exact binomial interval over its configurations.

Preconditions (:func:`dmmlib.claims.precondition`): every claim about a trained network
needs that network to fit its training labels; the two claims of section 5.1 that rest on
"after the clinging phase, the adversarial direction is perpendicular to the data manifold"
need that premise to hold in the same run, and the robustness gain needs an attack that
hurts the clean network.

:func:`reading_checks` repeats the main claims' measurements under every other reading of
appendix C that trains (a robustness check of the chapter's conclusions, shown on the page).
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

from dmmlib.claims import Claim, Criterion, Estimate, Precondition, claim, precondition, scale_text
from dmmlib.stats import clopper_pearson, seed_interval

CHAPTER = "clinging_dimpling"
DATASETS = ("line", "chessboard")
PAPER = "DMM"

#: Clinging: training must bring more than this share of the manifold region to within the
#: label scale of the boundary (along the normal) beyond what the untrained network had there:
#: "most of" the region (the walls of the "simplistic mental image" score 0 by construction).
CLING_SHARE = 0.5
#: Clinging is "fast" when the changepoint falls in the first quarter of training.
FAST_FRACTION = 0.25
#: Dimpling fits the labels when more than half of the accuracy gain comes after the changepoint.
FIT_AFTER = 0.5
#: The premise of section 5.1, "after the clinging phase, the adversarial direction is
#: perpendicular to the data manifold": "almost orthogonal" = the clean network's gradient at
#: the training points within 30 degrees of the normal on average (a random direction gives
#: 57.3 degrees in 3D, so 30 is about half way to random).
PREMISE_ANGLE_DEG = 30.0
#: "A more significant on-manifold component": adversarial training must turn the gradient at
#: least 10 degrees further from the normal (a third of the premise's 30-degree band: a
#: smaller turn leaves an almost orthogonal gradient almost orthogonal).
MIN_ANGLE_GAIN_DEG = 10.0
#: "Improve the robustness": a gain in robust held-out accuracy of at least 2 percentage points
#: (about the sampling error of one accuracy on the 400 held-out points of ``quick``: a binomial
#: standard error of at most 2.5 points; a smaller gain is one a reader could not see).
MIN_ROBUST_GAIN = 0.02
#: The robustness test means something only when its attack hurts the clean network: it must
#: take at least 5 percentage points of held-out accuracy from it (else there is nothing to gain).
MIN_ATTACK_DROP = 0.05
#: "About 2 epsilon deeper", as a band in units of epsilon: [1, 3] = 2 epsilon +- 50 % ("about").
#: Its lower end is also what the paper's own argument gives for our attack: the paper's
#: adversarial examples are shifted 2 epsilon (to the boundary and as far again) and the dimples
#: must go as deep as that shift; ours are shifted 1 epsilon (one L2 step of length epsilon).
DEPTH_BAND = (1.0, 3.0)
#: A network "fits its training labels" (and appendix C's settings "train") when its final
#: training accuracy exceeds this.
TRAINED_ACC = 0.9
#: The stress test's two phases hold "everywhere" when they hold in more than this share of configurations.
EVERYWHERE_SHARE = 0.5
#: Figure 1: the trained boundary is "not a wall" when its normal, at the boundary points nearest to
#: the manifold's data region, makes a mean angle below 45 degrees with the manifold's normal: closer
#: to parallel to the manifold (0) than to the vertical walls of the simplistic image (90 by
#: construction); a random orientation gives 45 (2-D) or 57.3 (3-D) degrees.
WALL_ANGLE_DEG = 45.0
#: Figure 2: "mostly inward pressure" = more than half of the boundary's squared displacement at
#: the misclassified points lies along the normal toward the manifold (signed; random directions: 0).
INWARD_SHARE = 0.5
#: Figure 2 needs displacements to measure: at least this many misclassified point-pairs over all
#: seeds, and a boundary found at both checkpoints for more than half of them.
MIN_PRESSURE_POINTS = 10
#: A network has "fitted" its training set at the first epoch its training accuracy reaches this
#: (for "harder to train": epochs to fit; all but 1 % of the points).
FIT_ACC = 0.99
#: Section 5.1, "the clinging phase will not change much": the median distance from the manifold
#: away from the training points to the boundary moves by less than half of epsilon between clean and
#: adversarial training (a quarter of the 2 epsilon the dimples are predicted to deepen by).
CLING_CHANGE_EPS = 0.5
#: Measurements of the boundary need a boundary: found for more than this share of the points.
MIN_FOUND = 0.5

#: The sentences the claims test, copied from the paper (/work/shared/seeds/000_*.txt).
QUOTES = {
    "cling": "which clings very closely to the whole image manifold",
    "fast": "the decision boundary is getting very close to the manifold in the first few epochs",
    "labels": "later a gentle dimpling (using the extra dimensions) process fits the given labels",
    "perpendicular": "which point roughly perpendicularly to the image manifold",
    "large": "DNNs develop large gradients in the confidence levels in the vicinity of the training examples",
    "deeper": "its dimples will have to go an extra distance of about 2ϵ deeper than before",
    "on_manifold": "As a result, the gradient will have a more significant on-manifold component.",
    "premise": "After the clinging phase, the adversarial direction is perpendicular to the data manifold.",
    "accuracy": "why we may lose accuracy for regular test images",
    "robust": "was proven many times to improve the robustness of NN",
    "two_phases": "Training a DNN proceeds in two distinct phases",
    "appendix_c": "The learning rate is 0.02 and weight decay is 0.01.",
    "walls": "into a vertical 2D wall that separates the red and blue clusters",
    "inward": "applies mostly inward pressure that pushes the boundary closer to the image manifold",
    "noise_dimples": "training using a random noise will also deepen the dimples in off-manifold dimensions",
    "noise_robust": "may explain the robustness for adversarial examples",
    "main_effect": "the main effect of adversarial training is just to deepen the generated dimples in the decision boundary",
    "cling_unchanged": "one can assume that the clinging phase will not change much",
    "harder": "Any attempt to robustify a network by limiting all its directional derivatives will make it harder "
              "to train and thus less accurate.",
}


def seed_estimate(values: Sequence[float], *, n_of: str = "seeds", unit: str = "") -> Estimate:
    """Mean of per-seed ``values`` with its 95 % Student-t interval (:func:`dmmlib.stats.seed_interval`);
    fewer than two values, or a non-finite one, give an undefined interval (the verdict is then
    inconclusive)."""
    return Estimate.of(seed_interval(values), n_of=n_of, unit=unit)


def paired_estimate(ours: Sequence[float], control: Sequence[float], *, statistic: str = "difference",
                    unit: str = "") -> Estimate:
    """The paired per-seed comparison of ``ours`` with ``control`` (same seeds, row by row):
    the mean of the per-seed differences (or ratios) with its Student-t interval over seeds."""
    a, b = np.asarray(ours, dtype=np.float64), np.asarray(control, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"ours and control must be paired per seed, got {a.shape} and {b.shape}")
    if statistic not in ("difference", "ratio"):
        raise ValueError(f"statistic must be 'difference' or 'ratio', got {statistic!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        per_seed = a - b if statistic == "difference" else a / b
    return seed_estimate(per_seed, n_of="seeds (paired)", unit=unit)


def exact(value: float, *, n_of: str = "", unit: str = "") -> Estimate:
    """A control known exactly (a random direction's mean angle)."""
    return Estimate(float(value), float(value), float(value), 1, n_of, unit)


def _per_seed(runs, part, key):
    return [float(r[part][key]) for r in runs]


def _mean(values) -> float:
    v = np.asarray(values, dtype=np.float64)
    return float(v.mean()) if v.size else math.nan


def fits(runs, what: str) -> Precondition:
    """Precondition: ``what`` (the networks of ``runs``) fit their training labels (mean final
    training accuracy over seeds > :data:`TRAINED_ACC`)."""
    return precondition(f"{what}: final training accuracy (mean over seeds)", _mean([r["train_acc"] for r in runs]),
                        ">", TRAINED_ACC, meaning="fits the training labels",
                        paper="fits them (figs. 1, 5; no number)")


def premise(clean) -> Precondition:
    """Precondition: section 5.1's premise, the clean network's gradient at the training points
    almost perpendicular to the manifold (mean angle to the normal < :data:`PREMISE_ANGLE_DEG`)."""
    return precondition("premise: clean network's gradient angle to the normal at the training points (mean)",
                        _mean(_per_seed(clean, "final", "angle_train")), "<", PREMISE_ANGLE_DEG,
                        meaning="almost perpendicular to the manifold", unit="°",
                        paper="“perpendicular to the data manifold” (§5.1, no number)")


def claims(results: Mapping, P: Mapping) -> list[Claim]:
    """Every claim of the chapter (see the module's docstring)."""
    n_seeds = len(results["chessboard"])
    scale = scale_text(P["profile"], seeds=n_seeds, epochs=P["epochs"], width=P["width"])
    out: list[Claim] = []
    for d in DATASETS:
        runs = results[d]
        fit = fits(runs, f"{d} networks")
        for part, where in (("inside", "over the data region"), ("beyond", "beyond the training points")):
            trained, untrained = _per_seed(runs, "final", f"cling_{part}"), _per_seed(runs, "init", f"cling_{part}")
            walls = _per_seed(runs, "walls", f"cling_{part}")
            out.append(claim(
                f"{CHAPTER}.clinging_{part}_{d}",
                f"{d}: training brings the boundary to cling to the manifold {where}: the share of manifold points "
                "whose normal line meets the boundary within the label scale grows by more than half the region "
                "(trained − untrained, paired by seed)",
                kind="paper", quote=QUOTES["cling"], source="DMM §3, fig. 1; §6",
                paper="“clings very closely to the whole image manifold” (no number)",
                ours=paired_estimate(trained, untrained),
                criterion=Criterion(">", CLING_SHARE, meaning="training brings most of the region within the label scale"),
                control=seed_estimate(untrained), control_name="untrained network (same seeds)", paired=True,
                preconditions=[fit], scale=scale, section="sec-cling-metrics",
                extra={"trained_share": _mean(trained), "untrained_share": _mean(untrained),
                       "walls_share": _mean(walls), "walls_note": "vertical walls meet no normal line: 0 by construction",
                       "per_seed_trained": trained, "per_seed_untrained": untrained}))
        ph = [r["phases"] for r in runs]
        out.append(claim(
            f"{CHAPTER}.cling_fast_{d}",
            f"{d}: the fast phase ends early (changepoint of a two-segment fit to the manifold–boundary "
            "distance, as a fraction of training)",
            kind="paper", quote=QUOTES["fast"], source="DMM §3 claim 1, §6", paper="“in the first few epochs” (no number)",
            ours=seed_estimate([p["changepoint_fraction"] for p in ph]),
            criterion=Criterion("<", FAST_FRACTION, meaning="the first quarter of training"),
            preconditions=[fit], scale=scale, section="sec-cling-phases"))
        out.append(claim(
            f"{CHAPTER}.labels_after_{d}",
            f"{d}: the labels are fitted after the changepoint (share of the training-accuracy gain made after it)",
            kind="paper", quote=QUOTES["labels"], source="DMM §3 claim 1, §6",
            paper="dimpling “later … fits the given labels” (no number)",
            ours=seed_estimate([p["fit_after"] for p in ph]),
            criterion=Criterion(">", FIT_AFTER, meaning="most of the fitting happens in the second phase"),
            preconditions=[fit], scale=scale, section="sec-cling-phases"))
        rand = float(results["random_angle"][d])
        angle = _per_seed(runs, "final", "angle_train")
        out.append(claim(
            f"{CHAPTER}.gradient_perpendicular_{d}",
            f"{d}: at the training points the input gradient lies closer to the manifold's normal than a random "
            "direction does (mean angle to the normal − a random direction's, per seed)",
            kind="paper", quote=QUOTES["perpendicular"], source="DMM §3 claim 2, App. E.1 fig. 24",
            paper="“roughly perpendicular” (no number)",
            ours=paired_estimate(angle, [rand] * len(angle), unit="°"),
            criterion=Criterion("<", 0.0, meaning="a smaller angle to the normal than a random direction's"),
            control=exact(rand, n_of="exact mean", unit="°"), control_name="random direction", paired=True,
            preconditions=[fit], scale=scale, section="sec-cling-grad",
            extra={"mean_angle_deg": _mean(angle), "random_angle_deg": rand,
                   "untrained_angle_deg": _mean(_per_seed(runs, "init", "angle_train")),
                   "within_30_deg": bool(_mean(angle) < PREMISE_ANGLE_DEG), "per_seed_angle_deg": angle}))
        gn_final, gn_init = _per_seed(runs, "final", "gn_train"), _per_seed(runs, "init", "gn_train")
        out.append(claim(
            f"{CHAPTER}.normal_gradient_grows_{d}",
            f"{d}: training makes the gradient's normal component at the training points larger "
            "(median after training / at initialisation, per seed)",
            kind="paper", quote=QUOTES["large"], source="DMM §3 claim 2",
            paper="“large gradients … roughly perpendicular” (no number)",
            ours=paired_estimate(gn_final, gn_init, statistic="ratio"),
            criterion=Criterion(">", 1.0, meaning="larger than at initialisation"),
            control=seed_estimate(gn_init), control_name="untrained network's normal component (same seeds)", paired=True,
            preconditions=[fit], scale=scale, section="sec-cling-grad"))
    out += figure_claims(results, scale)
    out += adversarial_claims(results, scale)
    out += noise_claims(results, scale)
    out.append(lr_claim(results, P))
    out.append(stress_claim(results["stress"], P))
    return out


def figure_claims(results: Mapping, scale: str) -> list[Claim]:
    """Figure 1 (the trained boundary against the vertical walls of the simplistic image) and
    figure 2 (inward pressure), per dataset."""
    out = []
    for d in DATASETS:
        runs = results[d]
        fit = fits(runs, f"{d} networks")
        angle = [float(r["orient"]["final"]["bangle_inside"]) for r in runs]
        found = precondition(f"{d}: share of data-region probe points whose nearest boundary point was found (mean)",
                             _mean([r["orient"]["final"]["bangle_found"] for r in runs]), ">", MIN_FOUND,
                             meaning="a boundary to measure")
        out.append(claim(
            f"{CHAPTER}.not_walls_{d}",
            f"{d}: the trained boundary near the data region lies along the manifold, not across it like the walls "
            "of the simplistic image (mean angle between the boundary's normal at the boundary point nearest to "
            "each manifold point and the manifold's normal)",
            kind="paper", quote=QUOTES["walls"], source="DMM §1, §3, fig. 1",
            paper="the right panel's boundary against the left's walls (no number)",
            ours=seed_estimate(angle, unit="°"),
            criterion=Criterion("<", WALL_ANGLE_DEG, meaning="closer to parallel (0°) than to a wall (90°)"),
            control=exact(90.0, n_of="by construction", unit="°"), control_name="vertical walls (figure 1, left)",
            preconditions=[fit, found], scale=scale, section="sec-cling-walls",
            extra={"untrained_angle_deg": _mean([r["orient"]["init"]["bangle_inside"] for r in runs]),
                   "random_angle_deg": float(results["random_angle"][d]), "per_seed_angle_deg": angle}))
        rows = [r["summary"] for r in results["pressure"][d]]
        n_wrong = int(sum(r["n_wrong"] for r in rows))
        out.append(claim(
            f"{CHAPTER}.inward_pressure_{d}",
            f"{d}: fitting the misclassified training points moves the boundary mostly toward the manifold "
            "(signed share of the boundary's squared displacement at those points, between consecutive early "
            "epochs, along the manifold's normal toward it)",
            kind="paper", quote=QUOTES["inward"], source="DMM §4, fig. 2", paper="“mostly inward pressure” (no number)",
            ours=seed_estimate([r["share"] for r in rows]),
            criterion=Criterion(">", INWARD_SHARE, meaning="most of the displacement toward the manifold"),
            control=exact(0.0, n_of="expected value", unit=""), control_name="random directions (signed share 0)",
            preconditions=[fit,
                           precondition(f"{d}: misclassified point-pairs measured (all seeds)", n_wrong, ">",
                                        MIN_PRESSURE_POINTS - 1, meaning="displacements to measure", unit="pairs"),
                           precondition(f"{d}: share of them with a boundary found at both epochs",
                                        _mean([r["found_wrong"] for r in rows]), ">", MIN_FOUND,
                                        meaning="a boundary to follow")],
            scale=scale, section="sec-cling-pressure",
            extra={"share_correct": _mean([r["share_correct"] for r in rows]),
                   "inward_mean": _mean([r["inward_mean"] for r in rows]),
                   "rest_mean": _mean([r["rest_mean"] for r in rows]), "n_wrong": n_wrong}))
    return out


def adversarial_claims(results: Mapping, scale: str) -> list[Claim]:
    """The claims of section 5.1 (adversarial against clean training, paired by seed)."""
    clean, adv = results["chessboard"], results["chessboard_adv"]
    eps = float(results["adv_eps"])
    fit_clean, fit_adv = fits(clean, "clean chessboard networks"), fits(adv, "adversarially trained networks")
    prem = premise(clean)
    test_clean = _per_seed_top(clean, "test_acc")
    robust_clean = _per_seed_top(clean, "robust_acc")
    drop = precondition("the robustness test's attack: clean network's held-out accuracy − robust accuracy (mean)",
                        _mean(test_clean) - _mean(robust_clean), ">", MIN_ATTACK_DROP,
                        meaning="the attack hurts the clean network")
    out = []
    depth = [(a["final"]["depth_median"] - c["final"]["depth_median"]) / eps for a, c in zip(adv, clean)]
    out.append(claim(
        f"{CHAPTER}.adv_deepens_dimples",
        "chessboard: adversarial training deepens the dimples by about 2ε (median dimple depth at the training "
        "points, adversarial − clean, in units of ε)",
        kind="paper", quote=QUOTES["deeper"], source="DMM §5.1, fig. 3", paper="about 2ε deeper",
        ours=seed_estimate(depth, n_of="seeds (paired)", unit="ε"),
        criterion=Criterion("within", *DEPTH_BAND, meaning="about 2ε: 2ε ± 50 %"),
        preconditions=[fit_clean, fit_adv], scale=scale, section="sec-cling-adv",
        extra={"premise_angle_deg": prem.value, "per_seed_eps": depth}))
    ang_clean, ang_adv = _per_seed(clean, "final", "angle_train"), _per_seed(adv, "final", "angle_train")
    out.append(claim(
        f"{CHAPTER}.adv_gradient_on_manifold",
        "chessboard: after adversarial training the gradient at the training points has a more significant "
        "on-manifold component (mean angle to the normal, adversarial − clean, paired by seed)",
        kind="paper", quote=QUOTES["on_manifold"], source="DMM §5.1", paper="a more significant on-manifold component (no number)",
        ours=paired_estimate(ang_adv, ang_clean, unit="°"),
        criterion=Criterion(">", MIN_ANGLE_GAIN_DEG, meaning="turned at least 10° further from the normal"),
        control=seed_estimate(ang_clean, unit="°"), control_name="clean network's angle (same seeds)", paired=True,
        preconditions=[fit_clean, fit_adv, prem], scale=scale, section="sec-cling-adv",
        extra={"premise_quote": QUOTES["premise"]}))
    test_adv = _per_seed_top(adv, "test_acc")
    out.append(claim(
        f"{CHAPTER}.adv_costs_accuracy",
        "chessboard: adversarial training costs clean accuracy on held-out points (clean − adversarial, paired by seed)",
        kind="paper", quote=QUOTES["accuracy"], source="DMM §5 item 4, §5.1",
        paper="“may lose accuracy for regular test images” (no number)",
        ours=paired_estimate(test_clean, test_adv),
        criterion=Criterion(">", 0.0, meaning="any loss"),
        control=seed_estimate(test_clean), control_name="clean network's held-out accuracy", paired=True,
        preconditions=[fit_clean, fit_adv], scale=scale, section="sec-cling-adv"))
    robust_adv = _per_seed_top(adv, "robust_acc")
    out.append(claim(
        f"{CHAPTER}.adv_buys_robustness",
        "chessboard: adversarial training raises robust accuracy on held-out points (L2 PGD of radius ε; "
        "adversarial − clean, paired by seed)",
        kind="paper", quote=QUOTES["robust"], source="DMM §5.1", paper="“proven many times to improve the robustness” (no number)",
        ours=paired_estimate(robust_adv, robust_clean),
        criterion=Criterion(">", MIN_ROBUST_GAIN, meaning="a gain of at least 2 percentage points"),
        control=seed_estimate(robust_clean), control_name="clean network's robust accuracy", paired=True,
        preconditions=[fit_clean, fit_adv, prem, drop], scale=scale, section="sec-cling-adv",
        extra={"premise_quote": QUOTES["premise"]}))
    away_clean, away_adv = _away(clean), _away(adv)
    away_found = precondition("share of the probe points away from the training points whose boundary was found "
                              "(worst of clean and adversarial, mean over seeds)",
                              min(_mean([1 - r["orient"]["final"]["none_away"] for r in runs]) for runs in (clean, adv)),
                              ">", MIN_FOUND, meaning="a boundary to measure")
    change = [(a - c) / eps for a, c in zip(away_adv, away_clean)]
    out.append(claim(
        f"{CHAPTER}.adv_main_effect_dimples",
        "chessboard: adversarial training changes the boundary mainly at the dimples: the dimple depth at the "
        "training points grows more than the boundary's distance from the manifold away from them changes "
        "(adversarial − clean, in units of ε; depth gain − |distance change|, paired by seed)",
        kind="paper", quote=QUOTES["main_effect"], source="DMM abstract, §5.1, fig. 3",
        paper="“just to deepen the generated dimples” (no number)",
        ours=paired_estimate(depth, [abs(v) for v in change], unit="ε"),
        criterion=Criterion(">", 0.0, meaning="the dimples change more than the rest of the boundary"),
        control=seed_estimate([abs(v) for v in change], n_of="seeds", unit="ε"),
        control_name="|change of the distance away from the training points| (same seeds)", paired=True,
        preconditions=[fit_clean, fit_adv, away_found], scale=scale, section="sec-cling-adv",
        extra={"depth_gain_eps": _mean(depth), "away_change_eps": _mean(change)}))
    out.append(claim(
        f"{CHAPTER}.adv_clinging_unchanged",
        "chessboard: adversarial training leaves the clinging alone: the median distance from the manifold away "
        "from the training points to the boundary changes by less than ε/2 (adversarial − clean, in units of ε, "
        "paired by seed)",
        kind="paper", quote=QUOTES["cling_unchanged"], source="DMM §5.1", paper="“will not change much” (no number)",
        ours=seed_estimate(change, n_of="seeds (paired)", unit="ε"),
        criterion=Criterion("within", -CLING_CHANGE_EPS, CLING_CHANGE_EPS,
                            meaning="a change below ε/2 either way, a quarter of the dimples' predicted 2ε"),
        control=seed_estimate(depth, n_of="seeds (paired)", unit="ε"),
        control_name="the dimples' deepening at the training points (same seeds)", paired=True,
        preconditions=[fit_clean, fit_adv, away_found], scale=scale, section="sec-cling-adv",
        extra={"away_clean": _mean(away_clean), "away_adv": _mean(away_adv), "per_seed_eps": change}))
    fit_c, fit_a = _per_seed_top(clean, "fit_epoch"), _per_seed_top(adv, "fit_epoch")
    out.append(claim(
        f"{CHAPTER}.adv_harder_to_train",
        f"chessboard: adversarial training takes more epochs to fit the training set (first epoch with training "
        f"accuracy ≥ {FIT_ACC:g}; adversarial − clean, paired by seed; a run that never gets there counts as "
        "epochs + 1)",
        kind="paper", quote=QUOTES["harder"], source="DMM §5 item 4, §5.1",
        paper="“harder to train” (no number)",
        ours=paired_estimate(fit_a, fit_c, unit="epochs"),
        criterion=Criterion(">", 0.0, meaning="any delay"),
        control=seed_estimate(fit_c, unit="epochs"), control_name="clean training's epochs to fit (same seeds)",
        paired=True,
        preconditions=[precondition(f"clean networks that reach training accuracy {FIT_ACC:g} (share of seeds)",
                                    _mean([0.0 if r["fit_censored"] else 1.0 for r in clean]), ">", 0.5,
                                    meaning="the control fits")],
        scale=scale, section="sec-cling-adv",
        extra={"censored_adv": int(sum(bool(r["fit_censored"]) for r in adv)),
               "censored_clean": int(sum(bool(r["fit_censored"]) for r in clean)),
               "accuracy_claim": f"{CHAPTER}.adv_costs_accuracy"}))
    return out


def _away(runs) -> list[float]:
    return [float(r["orient"]["final"]["dist_away"]) for r in runs]


def noise_claims(results: Mapping, scale: str) -> list[Claim]:
    """Appendix A (Fawzi et al.): training with random noise of the adversarial radius, against
    clean training (paired by seed; adversarial training's numbers in ``extra``)."""
    clean, noise, adv = results["chessboard"], results["chessboard_noise"], results["chessboard_adv"]
    eps = float(results["adv_eps"])
    fit_clean, fit_noise = fits(clean, "clean chessboard networks"), fits(noise, "noise-trained networks")
    test_clean, robust_clean = _per_seed_top(clean, "test_acc"), _per_seed_top(clean, "robust_acc")
    drop = precondition("the robustness test's attack: clean network's held-out accuracy − robust accuracy (mean)",
                        _mean(test_clean) - _mean(robust_clean), ">", MIN_ATTACK_DROP,
                        meaning="the attack hurts the clean network")
    depth = [(n["final"]["depth_median"] - c["final"]["depth_median"]) / eps for n, c in zip(noise, clean)]
    depth_adv = [(a["final"]["depth_median"] - c["final"]["depth_median"]) / eps for a, c in zip(adv, clean)]
    robust_noise, robust_adv = _per_seed_top(noise, "robust_acc"), _per_seed_top(adv, "robust_acc")
    return [
        claim(f"{CHAPTER}.noise_deepens_dimples",
              "chessboard: training with random noise of radius ε deepens the dimples (median dimple depth at the "
              "training points, noise − clean, in units of ε, paired by seed)",
              kind="paper", quote=QUOTES["noise_dimples"], source="DMM App. A (Fawzi et al.)",
              paper="“will also deepen the dimples” (no number)",
              ours=seed_estimate(depth, n_of="seeds (paired)", unit="ε"),
              criterion=Criterion(">", 0.0, meaning="any deepening"),
              control=seed_estimate(depth_adv, n_of="seeds (paired)", unit="ε"),
              control_name="adversarial training's deepening (same seeds), for comparison", paired=True,
              preconditions=[fit_clean, fit_noise], scale=scale, section="sec-cling-noise",
              extra={"per_seed_eps": depth, "adv_depth_gain_eps": _mean(depth_adv)}),
        claim(f"{CHAPTER}.noise_buys_robustness",
              "chessboard: training with random noise of radius ε raises robust accuracy on held-out points "
              "(L2 PGD of radius ε; noise − clean, paired by seed)",
              kind="paper", quote=QUOTES["noise_robust"], source="DMM App. A (Fawzi et al.)",
              paper="“may explain the robustness” (no number)",
              ours=paired_estimate(robust_noise, robust_clean),
              criterion=Criterion(">", MIN_ROBUST_GAIN, meaning="a gain of at least 2 percentage points"),
              control=seed_estimate(robust_clean), control_name="clean network's robust accuracy", paired=True,
              preconditions=[fit_clean, fit_noise, drop], scale=scale, section="sec-cling-noise",
              extra={"robust_noise": _mean(robust_noise), "robust_adv": _mean(robust_adv),
                     "test_noise": _mean(_per_seed_top(noise, "test_acc"))}),
    ]


def _per_seed_top(runs, key):
    return [float(r[key]) for r in runs]


def is_as_stated(label: str) -> bool:
    """Whether a reading's label is appendix C read as stated."""
    return label.startswith("as stated")


def trained_cells(rows: Sequence[Mapping], threshold: float = TRAINED_ACC) -> list[tuple[str, str]]:
    """The (reading, dataset) pairs whose mean final training accuracy exceeds ``threshold``
    (in the order of ``rows``)."""
    out = []
    for cell in dict.fromkeys((r["reading"], r["dataset"]) for r in rows):
        if _mean([r["final_acc"] for r in rows if (r["reading"], r["dataset"]) == cell]) > threshold:
            out.append(cell)
    return out


def readings_that_train(rows: Sequence[Mapping], threshold: float = TRAINED_ACC) -> list[str]:
    """The readings whose mean final training accuracy exceeds ``threshold`` on every dataset
    (in the order of ``rows``)."""
    cells = set(trained_cells(rows, threshold))
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    return [label for label in dict.fromkeys(r["reading"] for r in rows) if all((label, d) in cells for d in datasets)]


def lr_claim(results: Mapping, P: Mapping) -> Claim:
    """Appendix C read as stated fails to train at its learning rate (a protocol finding), with
    the readings that do train and whether the chapter's conclusions hold under each (extra)."""
    rows = results["lr"]
    stated = [r["final_acc"] for r in rows if is_as_stated(r["reading"])]
    ok = readings_that_train(rows)
    return claim(
        f"{CHAPTER}.lr_as_stated_fails",
        "appendix C read as stated (inputs in [0, 1], outputs ±1, full batch, mean loss, lr 0.02) does not fit the "
        "training labels (final training accuracy); other readings do",
        kind="protocol", quote=QUOTES["appendix_c"], source="DMM App. C.1", paper="lr 0.02, weight decay 0.01, 200 epochs",
        ours=seed_estimate(stated, n_of="runs (datasets × seeds)"),
        criterion=Criterion("<", TRAINED_ACC, meaning="does not fit the labels"),
        scale=scale_text(P["profile"], runs=len(stated), epochs=P["epochs"]), section="sec-cling-lr",
        extra={"readings_that_train": ok,
               "trains_on": {d: [lab for lab, dd in trained_cells(rows) if dd == d] for d in DATASETS}})


def _reading_quantities(random_angle: Mapping[str, float]):
    """The main claims repeated under each reading of appendix C that trains: (claim name, what
    is measured, its per-seed value from a reading row, the main claim's criterion)."""
    def gain(part):
        return lambda r, d: r["final"][f"cling_{part}"] - r["init"][f"cling_{part}"]
    return (
        ("clinging_inside", "cling share gain, data region", gain("inside"), Criterion(">", CLING_SHARE)),
        ("clinging_beyond", "cling share gain, beyond", gain("beyond"), Criterion(">", CLING_SHARE)),
        ("cling_fast", "changepoint (fraction of training)", lambda r, d: r["phases"]["changepoint_fraction"],
         Criterion("<", FAST_FRACTION)),
        ("labels_after", "accuracy gain after the changepoint", lambda r, d: r["phases"]["fit_after"],
         Criterion(">", FIT_AFTER)),
        ("gradient_perpendicular", "angle to the normal − random (°)",
         lambda r, d: r["final"]["angle_train"] - float(random_angle[d]), Criterion("<", 0.0)),
        ("normal_gradient_grows", "normal gradient, trained / untrained",
         lambda r, d: r["final"]["gn_train"] / r["init"]["gn_train"], Criterion(">", 1.0)),
    )


def reading_checks(rows: Sequence[Mapping], random_angle: Mapping[str, float],
                   verdicts: Mapping[str, str] | None = None, *, own: str | None = None) -> list[dict]:
    """The main claims' measurements under every reading of appendix C and dataset on which it
    trains (:func:`trained_cells`; the mean over its seeds, at the paper's learning rate): one
    row per reading, dataset and claim with ``value``, ``claimed_side`` (the mean lies on the
    side the claim predicts), ``own`` (the reading is ``own``, the chapter's: a repeat of the
    main runs on fewer seeds) and ``agrees`` (``"yes"``/``"no"`` against the chapter's verdict
    of that claim from ``verdicts`` {claim name: verdict}, ``"—"`` where the chapter's verdict
    is not decided). Too few seeds for verdicts of their own: these are point estimates, a
    robustness check."""
    verdicts = dict(verdicts or {})
    out = []
    for label, d in trained_cells(rows):
        sub = [r for r in rows if r["reading"] == label and r["dataset"] == d and "final" in r]
        if not sub:
            continue
        for name, what, value, crit in _reading_quantities(random_angle):
            with np.errstate(divide="ignore", invalid="ignore"):
                v = _mean([value(r, d) for r in sub])
            side = crit.holds(v)
            verdict = verdicts.get(f"{name}_{d}", "")
            agrees = ("yes" if side == (verdict == "supports") else "no") if verdict in ("supports", "contradicts") else "—"
            out.append({"reading": label, "dataset": d, "claim": f"{name}_{d}", "quantity": what, "value": v,
                        "seeds": len(sub), "criterion": crit.text(), "claimed_side": bool(side),
                        "own": label == own, "chapter_verdict": verdict or "—", "agrees": agrees})
    return out


def two_phase(row: Mapping) -> bool:
    """The two-phase shape in one run: fast changepoint and labels fitted after it."""
    return bool(row["changepoint_fraction"] < FAST_FRACTION and row["fit_after"] > FIT_AFTER)


def stress_claim(rows: Sequence[Mapping], P: Mapping) -> Claim:
    """Share of the stress test's runs that trained (accuracy > TRAINED_ACC) showing two phases,
    with its Clopper-Pearson interval; needs at least one run that trained."""
    trained = [r for r in rows if r["final_acc"] > TRAINED_ACC]
    k, n = sum(two_phase(r) for r in trained), len(trained)
    est = (Estimate(k / n, *clopper_pearson(k, n), n, "trained runs") if n
           else Estimate(math.nan, math.nan, math.nan, 0, "trained runs"))
    return claim(
        f"{CHAPTER}.two_phases_everywhere",
        "chessboard: the two phases appear across widths, optimisers and learning rates "
        "(share of the runs that trained)",
        kind="paper", quote=QUOTES["two_phases"], source="DMM §3 claim 1", paper="“typically” (no number)", ours=est,
        criterion=Criterion(">", EVERYWHERE_SHARE, meaning="in most configurations"),
        preconditions=[precondition("stress-test runs that fit their training labels", n, ">", 0,
                                    meaning="at least one", unit="runs")],
        scale=scale_text(P["profile"], runs=len(rows), trained=n), section="sec-cling-stress")
