"""The chapter's claims and their criteria, fixed before the run.

``results`` is ``{"fonts": [per-seed dict], "mnist": [per-seed dict], "check": dict}`` with
the per-image tensors or arrays of :mod:`experiment` (``fonts_study``, ``mnist_study``,
``fonts_search_check``). Adversarial
quantities are taken over the images whose attack succeeded (``pgd_success``,
``on_success``). Intervals: two-level bootstrap over seeds and images
(:func:`intervals.seeds_and_images`); paired comparisons with a control
(:func:`dmmlib.claims.compare`) bootstrap seeds, then images within them.

Each claim has its kind: ``companion`` for the sentences of Stutz's article (quoted),
``extension`` where the book goes beyond it (a random control, the DMM's tangent-space reading
on FONTS, on-manifold robustness). The setup it rests on is a precondition, measured in the
same run: the classifier's accuracy, the attack's success rate, and for FONTS the projection
search's error on test images (which lie on the manifold).
"""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from dmmlib.chapters.leaving_the_manifold.intervals import seeds_and_images
from dmmlib.claims import Claim, Criterion, claim, compare, precondition, scale_text

CH = "leaving_the_manifold"
# thresholds, fixed before any run (see each Criterion's meaning)
OFF_DISTANCE = 0.1          # L2 distance that counts as "off the manifold"
NEARLY_FULL = 0.9           # "distance nearly the perturbation's norm"; "nearly perpendicular"
MNIST_FARTHER = 1.1         # "clearly farther": 10 % more than the test image's distance
NEARLY_ORTHOGONAL_DEG = 60  # less than half of the norm (cos 60 = 0.5) in the subspace
LIKE_TEST = (0.8, 1.25)     # "about as far as test images": within a factor 1.25
# preconditions (setup checks), fixed before any run
FONTS_ACCURACY = 0.8        # the clean FONTS classifier works (chance 10 %; Stutz's reach a few % error)
MNIST_ACCURACY = 0.95       # an MNIST MLP at the usual accuracy (the DMM's reaches 98 %, App. G.1)
ATTACK_SUCCESS = 0.8        # distances are taken over turned images: below 80 %, a selected minority
ON_ATTACK_SUCCESS = 0.5     # the on-manifold attack is constrained and weaker: at least half turned
STUTZ = "Stutz (article, Distance to Manifold)"


def _np(v) -> np.ndarray:
    return np.asarray(v.numpy() if hasattr(v, "numpy") else v, dtype=np.float64).reshape(-1)


def _sel(study: Mapping, key: str, mask_key: str | None = None) -> np.ndarray:
    v = _np(study[key])
    if mask_key is not None and mask_key in study:
        v = v[_np(study[mask_key]).astype(bool)]
    return v


def _per_seed(studies, fn) -> list[np.ndarray]:
    out = [fn(s) for s in studies]
    return [o[np.isfinite(o)] for o in out if len(o[np.isfinite(o)])]


def _off_share(on_share: np.ndarray) -> np.ndarray:
    return np.sqrt(np.clip(1 - on_share**2, 0, 1))


def _units(per_seed: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([np.full(len(a), i) for i, a in enumerate(per_seed)])


def _paired(studies, fn_ours, fn_control, statistic: str, unit: str = ""):
    """(comparison, control's own estimate): per-image pairs, seeds as units."""
    ours = [fn_ours(s) for s in studies]
    ctrl = [fn_control(s) for s in studies]
    keep = [np.isfinite(a) & np.isfinite(b) for a, b in zip(ours, ctrl)]
    ours = [a[k] for a, k in zip(ours, keep) if k.any()]
    ctrl = [b[k] for b, k in zip(ctrl, keep) if k.any()]
    est = compare(np.concatenate(ours), np.concatenate(ctrl), statistic=statistic, units=_units(ours),
                  n_of=f"images over {len(ours)} seed{'s' * (len(ours) > 1)}", unit=unit)
    return est, seeds_and_images(ctrl, unit=unit)


def _rate(studies, key: str) -> float:
    v = np.concatenate([_np(s[key]) for s in studies])
    return float(v.mean()) if v.size else float("nan")


def fonts_preconditions(results: Mapping, *, projection: bool) -> list:
    """The setup the FONTS adversarial claims rest on."""
    F = results["fonts"]
    out = [precondition("FONTS clean classifier: test accuracy", _rate(F, "clean_correct"), ">", FONTS_ACCURACY,
                        meaning="the classifier works", paper="no number in the article"),
           precondition("FONTS L-inf PGD (ε = 0.3) success rate", _rate(F, "pgd_success"), ">", ATTACK_SUCCESS,
                        meaning="distances are over the turned images", paper="no number in the article")]
    if projection:
        out.append(precondition(
            "FONTS projection search: median distance it finds for test images (on the manifold, truly 0)",
            float(np.median(_np(results["check"]["distance"]))), "<", OFF_DISTANCE,
            meaning="the search's error stays below the distance that counts as off", paper="0 by construction"))
    return out


def mnist_preconditions(results: Mapping, *, on: bool = False) -> list:
    """The setup the MNIST adversarial claims rest on."""
    M = results["mnist"]
    acc = float(np.mean([float(s["acc_sample"]) for s in M]))
    out = [precondition("MNIST MLP: accuracy on the drawn test digits", acc, ">", MNIST_ACCURACY,
                        meaning="an MNIST classifier at the usual accuracy", paper="no number in the article"),
           precondition("MNIST L-inf PGD (ε = 0.3) success rate", _rate(M, "pgd_success"), ">", ATTACK_SUCCESS,
                        meaning="distances are over the turned images", paper="no number in the article")]
    if on:
        out.append(precondition("MNIST on-manifold (kNN subspace) attack success rate", _rate(M, "on_success"), ">",
                                ON_ATTACK_SUCCESS, meaning="a constrained attack: at least half turned",
                                paper="no number in the article"))
    return out


def claims(results: Mapping, P: Mapping) -> list[Claim]:
    """The chapter's claims (see the module's docstring for ``results``)."""
    F, M = results["fonts"], results["mnist"]
    scale_f = scale_text(P["profile"], seeds=len(F), images=sum(len(_sel(s, "dist_adv", "pgd_success")) for s in F))
    scale_m = scale_text(P["profile"], seeds=len(M), images=sum(len(_sel(s, "dist_adv", "pgd_success")) for s in M))
    est = seeds_and_images
    out = []

    # -- FONTS: the known manifold ------------------------------------------------------------
    adv_dist = est(_per_seed(F, lambda s: _sel(s, "dist_adv", "pgd_success")), "median")
    out.append(claim(
        f"{CH}.fonts_adversarial_off",
        "On FONTS, regular (L-inf PGD) adversarial examples lie off the known manifold: median distance to it",
        kind="companion", source=STUTZ,
        quote="Adversarial examples computed using Equation (1), in contrast, clearly exhibit non-zero distance.",
        paper="clearly non-zero (histogram, no number)",
        ours=adv_dist, criterion=Criterion(">", OFF_DISTANCE, meaning="a distance the search cannot mistake for zero: "
                                           "its error on test images, which lie on the manifold, stays below it"),
        scale=scale_f, section="sec-leaving-fonts", preconditions=fonts_preconditions(results, projection=True)))

    ratio = lambda s: _sel(s, "dist_adv", "pgd_success") / _sel(s, "delta_l2", "pgd_success")  # noqa: E731
    ratio_rand = lambda s: _sel(s, "dist_rand", "pgd_success") / _sel(s, "delta_l2", "pgd_success")  # noqa: E731
    rand_ratio = est(_per_seed(F, ratio_rand), "median")
    out.append(claim(
        f"{CH}.fonts_distance_equals_norm",
        "On FONTS, an adversarial example's distance to the manifold nearly equals its perturbation's L2 norm "
        "(it leaves nearly orthogonally): median of distance / norm",
        kind="companion", source=STUTZ,
        quote="Interestingly, the distance to the manifold nearly corresponds to the $L_2$ norm of the perturbations "
              "$\\delta$.",
        paper="nearly equal (histogram, no number)",
        ours=est(_per_seed(F, ratio), "median"),
        criterion=Criterion(">", NEARLY_FULL, meaning="'nearly': at least 90 % of the norm"),
        scale=scale_f, section="sec-leaving-fonts", preconditions=fonts_preconditions(results, projection=True),
        extra={"random perturbation of the same L2 norm: median distance / norm": rand_ratio.value,
               "its interval": [rand_ratio.lo, rand_ratio.hi],
               "note": "a random direction passes the same test: the claim holds but does not single out "
                       "adversarial directions (see fonts_more_perpendicular_than_random)"}))

    share_adv = lambda s: _sel(s, "on_share_adv", "pgd_success")  # noqa: E731
    share_rand = lambda s: _sel(s, "on_share_rand", "pgd_success")  # noqa: E731
    ours, ctrl = _paired(F, share_adv, share_rand, "ratio")
    off = est(_per_seed(F, lambda s: _off_share(share_adv(s))))
    out.append(claim(
        f"{CH}.fonts_more_perpendicular_than_random",
        "On FONTS, adversarial perturbations are more perpendicular to the exact tangent space than random "
        "directions: mean share of the norm in the tangent space, adversarial over random (paired per image)",
        kind="extension", source="DMM §3 (claim 2) and §7, tested on FONTS's exact tangent space against a random "
        "direction (the article has no such control)",
        quote="After the clinging phase, the adversarial direction is perpendicular to the data manifold.",
        paper="roughly perpendicular (no number for FONTS)", ours=ours,
        criterion=Criterion("<", 1.0, meaning="1: as much in the tangent space as a random direction"),
        control=ctrl, control_name="random direction's mean tangent share", paired=True,
        scale=scale_f, section="sec-leaving-tangent", preconditions=fonts_preconditions(results, projection=False),
        extra={"mean share of the adversarial perturbation's norm off the tangent space": off.value,
               "its interval": [off.lo, off.hi], "the same for a random direction":
               est(_per_seed(F, lambda s: _off_share(share_rand(s)))).value}))

    scale_t = scale_text(P["profile"], seeds=len(F), images=len(_np(F[0]["clean_correct"])))
    acc_pre = fonts_preconditions(results, projection=False)[:1]
    col = lambda key: (lambda s: _np(s[key]))  # noqa: E731
    ours, ctrl = _paired(F, col("on_manifold_correct"), col("clean_correct"), "difference", "(share)")
    out.append(claim(
        f"{CH}.fonts_on_manifold_training_generalises",
        "On FONTS, on-manifold adversarial training improves generalisation: test accuracy gain over clean "
        "training (same data, same batches; paired per test image)",
        kind="companion", source="Stutz (article, closing paragraph); Stutz et al. 2019 (CVPR), cited in DMM §2",
        quote="show how on-manifold adversarial examples can be used to improve generalization",
        paper="improves test error (no number in the article)", ours=ours,
        criterion=Criterion(">", 0.0, meaning="0: no gain"), control=ctrl, control_name="clean training's accuracy",
        paired=True, scale=scale_t, section="sec-leaving-training", preconditions=acc_pre))
    ours, ctrl = _paired(F, col("on_manifold_on_robust"), col("clean_on_robust"), "difference", "(share)")
    out.append(claim(
        f"{CH}.fonts_on_manifold_training_robust",
        "On FONTS, on-manifold adversarial training improves on-manifold robustness: gain in the share of test "
        "images classified correctly with no on-manifold adversarial example found (paired per test image)",
        kind="extension", source="Stutz et al. 2019 (CVPR), cited in DMM §2; not in the article",
        paper="", ours=ours, criterion=Criterion(">", 0.0, meaning="0: no gain"), control=ctrl,
        control_name="clean training's on-manifold robust accuracy", paired=True, scale=scale_t,
        section="sec-leaving-training",
        preconditions=acc_pre + [precondition(
            "FONTS on-manifold attack (z-search) success on the clean model", _rate(F, "on_success"), ">",
            ON_ATTACK_SUCCESS, meaning="it turns at least half: else robust accuracy is little more than accuracy",
            paper="no number in the article")]))
    ours, ctrl = _paired(F, col("on_manifold_correct"), col("random_aug_correct"), "difference", "(share)")
    out.append(claim(
        f"{CH}.fonts_adversarial_beats_random_augmentation",
        "On FONTS, on-manifold adversarial training generalises better than augmentation with random codes "
        "(the same number of extra images): test accuracy difference (paired per test image)",
        kind="extension", source="Stutz et al. 2019 (CVPR): adversarial data augmentation; our control", paper="",
        ours=ours, criterion=Criterion(">", 0.0, meaning="0: no better than random augmentation"), control=ctrl,
        control_name="random augmentation's accuracy", paired=True, scale=scale_t, section="sec-leaving-training",
        preconditions=acc_pre))

    # -- MNIST: the approximated manifold -------------------------------------------------------
    k = P.get("knn", 50) - 1  # dimension of the neighbours' affine hull
    sel = lambda key, mask: (lambda s: _sel(s, key, mask))  # noqa: E731
    ours, _ = _paired(M, sel("dist_adv", "pgd_success"), sel("dist_test", "pgd_success"), "ratio")
    rand, _ = _paired(M, sel("dist_rand", "pgd_success"), sel("dist_test", "pgd_success"), "ratio")
    out.append(claim(
        f"{CH}.mnist_adversarial_farther",
        f"On MNIST, adversarial examples are farther from the approximated ({k + 1}-nearest-neighbour) manifold "
        "than their test images: mean distance(adversarial) over mean distance(test image), paired per image",
        kind="companion", source=STUTZ,
        quote='Again, "regular" adversarial examples exhibit significantly larger distance, clearly distinguishable '
              "from on-manifold adversarial examples and test examples.",
        paper="significantly larger (histogram, no number)", ours=ours,
        criterion=Criterion(">", MNIST_FARTHER, meaning="'clearly farther': at least 10 % farther"),
        control=rand, control_name="random perturbation of the same L2 norm, over its test image", paired=True,
        scale=scale_m, section="sec-leaving-mnist", preconditions=mnist_preconditions(results)))
    ours, ctrl = _paired(M, sel("angle_adv", "pgd_success"), sel("angle_rand", "pgd_success"), "difference", "deg")
    adv_angle = est(_per_seed(M, sel("angle_adv", "pgd_success")), unit="deg")
    out.append(claim(
        f"{CH}.mnist_more_orthogonal_than_random",
        "On MNIST, adversarial perturbations are more orthogonal to the approximated manifold than random "
        f"perturbations of the same norm: mean angle to the {k}-dimensional neighbours' subspace, adversarial "
        "minus random (paired per image)",
        kind="extension", source="Stutz (article: 'nearly always leave the manifold in an orthogonal direction'), "
        "read against the random baseline the article lacks", paper="nearly orthogonal (no number)",
        ours=ours, criterion=Criterion(">", 0.0, meaning="0: as orthogonal as a random direction"),
        control=ctrl, control_name=f"random direction (expected arccos(sqrt({k}/784)) = "
        f"{math.degrees(math.acos(math.sqrt(k / 784))):.1f} deg)", paired=True,
        scale=scale_m, section="sec-leaving-mnist", preconditions=mnist_preconditions(results),
        extra={"mean angle of the adversarial perturbation (deg)": adv_angle.value,
               "its interval": [adv_angle.lo, adv_angle.hi],
               f"above {NEARLY_ORTHOGONAL_DEG} deg ('nearly orthogonal': under half the norm in the subspace)":
                   bool(adv_angle.lo > NEARLY_ORTHOGONAL_DEG)}))
    out.append(claim(
        f"{CH}.mnist_on_manifold_like_test",
        "On MNIST, on-manifold adversarial examples are about as far from the approximated manifold as test "
        "images: median of distance(on-manifold adversarial) / distance(test image)",
        kind="companion", source=STUTZ,
        quote="It can be seen that the distance distribution of on-manifold adversarial examples nearly matches the "
              "one of test examples.",
        paper="nearly matches (histogram, no number)",
        ours=est(_per_seed(M, lambda s: _sel(s, "dist_on", "on_success") / _sel(s, "dist_test", "on_success")),
                 "median"),
        criterion=Criterion("within", LIKE_TEST[0], LIKE_TEST[1], meaning="within a factor 1.25 of the test image's"),
        scale=scale_m, section="sec-leaving-mnist",
        control=est(_per_seed(M, lambda s: _sel(s, "dist_adv", "pgd_success") / _sel(s, "dist_test", "pgd_success")),
                    "median"),
        control_name="regular adversarial examples (must fall outside the band)",
        preconditions=mnist_preconditions(results, on=True)))
    return out
