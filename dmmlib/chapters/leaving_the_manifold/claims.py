"""The chapter's claims and their criteria, fixed before the run.

``results`` is ``{"fonts": [per-seed dict], "mnist": [per-seed dict], "check": dict}`` with
the per-image tensors or arrays of :mod:`experiment` (``fonts_study``, ``mnist_study``,
``fonts_search_check``). Adversarial
quantities are taken over the images whose attack succeeded (``pgd_success``,
``on_success``). Intervals: two-level bootstrap over seeds and images
(:func:`intervals.seeds_and_images`).
"""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from dmmlib.chapters.leaving_the_manifold.intervals import seeds_and_images
from dmmlib.claims import Claim, Criterion, claim, scale_text

CH = "leaving_the_manifold"
# thresholds, fixed before any run (see each Criterion's meaning)
OFF_DISTANCE = 0.1          # L2 distance that counts as "off the manifold"
NEARLY_FULL = 0.9           # "distance nearly the perturbation's norm"; "nearly perpendicular"
MNIST_FARTHER = 1.1         # "clearly farther": 10 % more than the test image's distance
NEARLY_ORTHOGONAL_DEG = 60  # less than half of the norm (cos 60 = 0.5) in the subspace
LIKE_TEST = (0.8, 1.25)     # "about as far as test images": within a factor 1.25


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


def claims(results: Mapping, P: Mapping) -> list[Claim]:
    """The chapter's claims (see the module's docstring for ``results``)."""
    F, M = results["fonts"], results["mnist"]
    scale_f = scale_text(P["profile"], seeds=len(F), images=sum(len(_sel(s, "dist_adv", "pgd_success")) for s in F))
    scale_m = scale_text(P["profile"], seeds=len(M), images=sum(len(_sel(s, "dist_adv", "pgd_success")) for s in M))
    est = seeds_and_images
    out = []

    # -- FONTS: the known manifold ------------------------------------------------------------
    adv_dist = est(_per_seed(F, lambda s: _sel(s, "dist_adv", "pgd_success")), "median")
    test_dist = est([_np(results["check"]["distance"])], "median")
    out.append(claim(
        f"{CH}.fonts_adversarial_off",
        "On FONTS, regular (L-inf PGD) adversarial examples lie off the known manifold: median distance to it",
        source="Stutz (article, Results); DMM §2", paper="clearly non-zero (histogram, no number)",
        ours=adv_dist, criterion=Criterion(">", OFF_DISTANCE, meaning="a distance the search cannot mistake for zero: "
                                           "its error on test images, which lie on the manifold, must stay below it"),
        scale=scale_f, section="sec-leaving-fonts", control=test_dist,
        control_name="test images, projected by the same search without their code"))

    ratio = lambda s: _sel(s, "dist_adv", "pgd_success") / _sel(s, "delta_l2", "pgd_success")  # noqa: E731
    ratio_rand = lambda s: _sel(s, "dist_rand", "pgd_success") / _sel(s, "delta_l2", "pgd_success")  # noqa: E731
    out.append(claim(
        f"{CH}.fonts_distance_equals_norm",
        "On FONTS, an adversarial example's distance to the manifold nearly equals its perturbation's L2 norm "
        "(it leaves nearly orthogonally): median of distance / norm",
        source="Stutz (article, Results)", paper="nearly equal (histogram, no number)",
        ours=est(_per_seed(F, ratio), "median"),
        criterion=Criterion(">", NEARLY_FULL, meaning="'nearly': at least 90 % of the norm"),
        scale=scale_f, section="sec-leaving-fonts", control=est(_per_seed(F, ratio_rand), "median"),
        control_name="random perturbation of the same L2 norm"))

    off = lambda key: (lambda s: _off_share(_sel(s, key, "pgd_success")))  # noqa: E731
    out.append(claim(
        f"{CH}.fonts_perpendicular",
        "On FONTS, adversarial perturbations are nearly perpendicular to the exact tangent space of the manifold: "
        "mean share of the perturbation's norm off the tangent space",
        source="DMM §3 (claim 2) and §7", paper="roughly perpendicular (no number for FONTS)",
        ours=est(_per_seed(F, off("on_share_adv"))),
        criterion=Criterion(">", NEARLY_FULL, meaning="'nearly perpendicular': at least 90 % of the norm off, "
                                                    "an angle above 64 degrees"),
        scale=scale_f, section="sec-leaving-tangent", control=est(_per_seed(F, off("on_share_rand"))),
        control_name="random direction"))

    pairs = [np.stack([_sel(s, "on_share_adv", "pgd_success"), _sel(s, "on_share_rand", "pgd_success")], 1) for s in F]
    out.append(claim(
        f"{CH}.fonts_more_perpendicular_than_random",
        "On FONTS, adversarial perturbations are more perpendicular to the manifold than random directions: "
        "mean tangent share of the perturbation over that of a random direction",
        source="DMM §3 (claim 2), read against a random baseline", paper="",
        ours=est(pairs, lambda v: v[..., 0].mean(axis=-1) / v[..., 1].mean(axis=-1)),
        criterion=Criterion("<", 1.0, meaning="1: as much in the tangent space as a random direction"),
        scale=scale_f, section="sec-leaving-tangent"))

    diff = lambda a, b: (lambda s: _np(s[a]) - _np(s[b]))  # noqa: E731
    scale_t = scale_text(P["profile"], seeds=len(F), images=len(_np(F[0]["clean_correct"])))
    out.append(claim(
        f"{CH}.fonts_on_manifold_training_generalises",
        "On FONTS, on-manifold adversarial training improves generalisation: test accuracy gain over clean "
        "training (same data, same batches)",
        source="Stutz et al. 2019 (CVPR), cited in DMM §2", paper="improves test error (no number in the article)",
        ours=est(_per_seed(F, diff("on_manifold_correct", "clean_correct")), unit="(share)"),
        criterion=Criterion(">", 0.0, meaning="0: no gain"), scale=scale_t, section="sec-leaving-training"))
    out.append(claim(
        f"{CH}.fonts_on_manifold_training_robust",
        "On FONTS, on-manifold adversarial training improves on-manifold robustness: gain in the share of test "
        "images classified correctly with no on-manifold adversarial example found",
        source="Stutz et al. 2019 (CVPR), cited in DMM §2", paper="",
        ours=est(_per_seed(F, diff("on_manifold_on_robust", "clean_on_robust")), unit="(share)"),
        criterion=Criterion(">", 0.0, meaning="0: no gain"), scale=scale_t, section="sec-leaving-training"))

    out.append(claim(
        f"{CH}.fonts_adversarial_beats_random_augmentation",
        "On FONTS, on-manifold adversarial training generalises better than augmentation with random codes "
        "(the same number of extra images): test accuracy difference",
        source="Stutz et al. 2019 (CVPR): adversarial data augmentation; our control", paper="",
        ours=est(_per_seed(F, diff("on_manifold_correct", "random_aug_correct")), unit="(share)"),
        criterion=Criterion(">", 0.0, meaning="0: no better than random augmentation"), scale=scale_t,
        section="sec-leaving-training"))

    # -- MNIST: the approximated manifold -------------------------------------------------------
    k = P.get("knn", 50) - 1  # dimension of the neighbours' affine hull
    rel = lambda key, mask: (lambda s: _sel(s, key, mask) / _sel(s, "dist_test", mask))  # noqa: E731
    out.append(claim(
        f"{CH}.mnist_adversarial_farther",
        f"On MNIST, adversarial examples are farther from the approximated ({k + 1}-nearest-neighbour) manifold "
        "than their test images: median of distance(adversarial) / distance(test image)",
        source="Stutz (article, Results)", paper="significantly larger (histogram, no number)",
        ours=est(_per_seed(M, rel("dist_adv", "pgd_success")), "median"),
        criterion=Criterion(">", MNIST_FARTHER, meaning="'clearly farther': at least 10 % farther"),
        scale=scale_m, section="sec-leaving-mnist", control=est(_per_seed(M, rel("dist_rand", "pgd_success")), "median"),
        control_name="random perturbation of the same L2 norm"))
    out.append(claim(
        f"{CH}.mnist_nearly_orthogonal",
        "On MNIST, adversarial perturbations leave the approximated manifold nearly orthogonally: mean angle "
        f"to the {k}-dimensional neighbours' subspace",
        source="Stutz (article, Results); DMM §7", paper="nearly orthogonal (no number)",
        ours=est(_per_seed(M, lambda s: _sel(s, "angle_adv", "pgd_success")), unit="deg"),
        criterion=Criterion(">", NEARLY_ORTHOGONAL_DEG, meaning="less than half of the norm in the subspace"),
        scale=scale_m, section="sec-leaving-mnist",
        control=est(_per_seed(M, lambda s: _sel(s, "angle_rand", "pgd_success")), unit="deg"),
        control_name=f"random direction (expected arccos(sqrt({k}/784)) = {math.degrees(math.acos(math.sqrt(k / 784))):.1f} deg)"))
    out.append(claim(
        f"{CH}.mnist_more_orthogonal_than_random",
        "On MNIST, adversarial perturbations are more orthogonal to the approximated manifold than random "
        "perturbations of the same norm: mean angle difference",
        source="the baseline Stutz's article lacks", paper="",
        ours=est(_per_seed(M, lambda s: _sel(s, "angle_adv", "pgd_success") - _sel(s, "angle_rand", "pgd_success")),
                 unit="deg"),
        criterion=Criterion(">", 0.0, meaning="0: as orthogonal as a random direction"),
        scale=scale_m, section="sec-leaving-mnist"))
    out.append(claim(
        f"{CH}.mnist_on_manifold_like_test",
        "On MNIST, on-manifold adversarial examples are about as far from the approximated manifold as test "
        "images: median of distance(on-manifold adversarial) / distance(test image)",
        source="Stutz (article, Results)", paper="nearly matches (histogram, no number)",
        ours=est(_per_seed(M, rel("dist_on", "on_success")), "median"),
        criterion=Criterion("within", LIKE_TEST[0], LIKE_TEST[1], meaning="within a factor 1.25 of the test image's"),
        scale=scale_m, section="sec-leaving-mnist", control=est(_per_seed(M, rel("dist_adv", "pgd_success")), "median"),
        control_name="regular adversarial examples"))
    return out
