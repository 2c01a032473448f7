"""The claims of the chapter relabelling, each with its criterion fixed before the run.

``results`` maps a data set ("line", "chessboard", "mnist", "cifar10") to its list of per-seed
dicts (:func:`dmmlib.chapters.relabelling.experiment.run_synthetic_seed` /
``run_image_seed``); data sets that were not run are left out, and so are their claims.

Intervals cover the seeds (models) and the test points: a rate's interval is the union of the
t-interval over seeds and the Clopper-Pearson interval of the pooled counts; a mean's interval
the t-interval over seed means widened to the average per-seed bootstrap interval.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch

from dmmlib.chapters.relabelling.relabel import mean_interval, rate_interval
from dmmlib.claims import Claim, Criterion, Estimate, claim, scale_text
from dmmlib.stats import bootstrap_ci

CHANCE = {"line": 0.5, "chessboard": 0.5, "mnist": 0.1, "cifar10": 0.1}
MARGIN = {"line": 0.1, "chessboard": 0.1, "mnist": 0.05, "cifar10": 0.05}
# gradient alignment: mean cosine between N1's and N2's gradients; a random direction gives 0
# (spread 0.7 per point in 2-d, 0.58 in 3-d, 1/sqrt(n) in n dimensions)
COS_THRESHOLD = {"line": 0.5, "chessboard": 0.5, "mnist": 0.1, "cifar10": 0.1}
NAMES = {"line": "the 2-d line", "chessboard": "the 3-d chessboard plane", "mnist": "MNIST", "cifar10": "CIFAR-10"}
PAPER_ACC = {("cifar10", "rand"): "63.3 % (Ilyas et al. 2019, CIFAR-10, ResNet-50, eps 0.5)",
             ("cifar10", "det"): "about 44 % (Ilyas et al. 2019, CIFAR-10, ResNet-50, eps 0.5)"}
SECTION = {"line": "relabel-synthetic", "chessboard": "relabel-synthetic", "mnist": "relabel-images",
           "cifar10": "relabel-images"}


def _est(d: Mapping[str, Any], n_of: str, unit: str = "") -> Estimate:
    return Estimate(float(d["value"]), float(d["lo"]), float(d["hi"]), int(d["n_seeds"]), n_of, unit)


def accuracy_estimate(seeds: list[dict], key: str) -> Estimate:
    """Accuracy on the true labels of the network whose per-point hits are ``seeds[i][key]``."""
    d = rate_interval([s[key] for s in seeds])
    return _est(d, f"seeds x {d['n_images']} test points")


def _finite(a: torch.Tensor) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return a[np.isfinite(a)]


def cosine_estimate(seeds: list[dict], key: str) -> Estimate:
    """Mean over test points of ``geometry[key]`` (a cosine per point), over seeds; the interval
    is clipped to [-1, 1]."""
    vals, los, his = [], [], []
    for s in seeds:
        c = _finite(s["geometry"][key])
        ci = bootstrap_ci(c)
        vals.append(ci.estimate)
        los.append(ci.lo)
        his.append(ci.hi)
    d = mean_interval(vals, los, his)
    d["lo"], d["hi"] = max(-1.0, d["lo"]), min(1.0, d["hi"])
    return _est(d, f"seeds x {len(seeds[0]['geometry'][key])} test points")


def robustness_ratio(s: dict, kind: str) -> tuple[float, float, float, int]:
    """Per seed: median DeepFool distance of the network ``kind`` ("rand", "det": N2 on that set;
    "ref": the clean reference) over N1's median, on the test points both classify correctly
    (and both searches converged), with its paired bootstrap interval and the point count."""
    g = s["geometry"]
    other = "d_ref" if kind == "ref" else f"d2_{kind}"
    d1, d2 = np.asarray(g["d1"], dtype=np.float64), np.asarray(g[other], dtype=np.float64)
    ok = np.asarray(g["correct_n1"]) & np.asarray(g[f"correct_{kind}"]) & np.isfinite(d1) & np.isfinite(d2)
    if ok.sum() < 2:
        return float("nan"), float("nan"), float("nan"), int(ok.sum())
    ci = bootstrap_ci(d2[ok], d1[ok], statistic=lambda a, b: np.median(a, axis=1) / np.median(b, axis=1))
    return ci.estimate, ci.lo, ci.hi, int(ok.sum())


def robustness_estimate(seeds: list[dict], kind: str) -> Estimate:
    """:func:`robustness_ratio` over the seeds that have at least two points both networks get
    right (undefined when none has); the interval is clipped at 0."""
    rows = [r for r in (robustness_ratio(s, kind) for s in seeds) if np.isfinite(r[0])]
    if not rows:
        return Estimate(float("nan"), float("nan"), float("nan"), 0, "seeds", "")
    d = mean_interval([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
    d["lo"] = max(0.0, d["lo"])
    return _est(d, f"seeds x about {int(np.mean([r[3] for r in rows]))} test points correct for both")


def claims(results: Mapping[str, list[dict]], P: Mapping[str, Any]) -> list[Claim]:
    """The chapter's claims from the per-seed results of every data set that was run."""
    out: list[Claim] = []
    for ds in ("line", "chessboard"):
        if ds in results:
            out += _synthetic_claims(ds, results[ds], P)
    for ds in ("mnist", "cifar10"):
        if ds in results:
            out += _image_claims(ds, results[ds], P)
    return out


def _scale(ds: str, seeds: list[dict], P) -> str:
    n = len(seeds[0]["y_test"]) if "y_test" in seeds[0] else seeds[0]["n_test"]
    n_train = len(seeds[0]["y"]) if "y" in seeds[0] else seeds[0]["n_train"]
    return scale_text(P["profile"], seeds=len(seeds), train=n_train, test=n)


def _synthetic_claims(ds: str, seeds: list[dict], P) -> list[Claim]:
    chance, margin = CHANCE[ds], MARGIN[ds]
    scale = _scale(ds, seeds, P)
    return [
        claim(f"relabelling.{ds}_flip_beats_chance",
              f"On {NAMES[ds]}, N2 trained only on N1's adversarial examples with the flipped labels classifies "
              "the clean test points by their true labels better than chance",
              source="DMM §5.2, figure 4", paper="'good accuracy' (figure 4's argument; no number)",
              ours=accuracy_estimate(seeds, "hits_flip"),
              criterion=Criterion(">", chance + margin, meaning=f"chance {chance:g} plus a margin of {margin:g}"),
              control=accuracy_estimate(seeds, "hits_ctrl_flip"),
              control_name="the clean points with the flipped labels", scale=scale, section=SECTION[ds]),
        claim(f"relabelling.{ds}_gradients_align",
              f"On {NAMES[ds]}, N2's input gradient at the test points points along N1's (figure 4: similar boundaries)",
              source="DMM §5.2, figure 4", paper="",
              ours=cosine_estimate(seeds, "cos_flip"),
              criterion=Criterion(">", COS_THRESHOLD[ds], meaning="mean cosine; a random direction gives 0"),
              control=cosine_estimate(seeds, "cos_random"), control_name="a random direction",
              scale=scale, section=SECTION[ds]),
    ]


def _image_claims(ds: str, seeds: list[dict], P) -> list[Claim]:
    chance, margin = CHANCE[ds], MARGIN[ds]
    scale = _scale(ds, seeds, P)
    out = []
    for kind, what in (("rand", "random targets (D_rand)"), ("det", "targets y + 1 (D_det)")):
        out.append(claim(
            f"relabelling.{ds}_{kind}_beats_chance",
            f"On {NAMES[ds]}, N2 trained only on N1's targeted adversarial examples labelled with their {what} "
            "classifies the clean test set by its true labels better than chance",
            source="DMM §5.2; Ilyas et al. 2019", paper=PAPER_ACC.get((ds, kind), ""),
            ours=accuracy_estimate(seeds, f"hits_{kind}"),
            criterion=Criterion(">", chance + margin, meaning=f"chance {chance:g} plus a margin of {margin:g}"),
            control=accuracy_estimate(seeds, f"hits_ctrl_{kind}"),
            control_name="the clean images with the same labels", scale=scale, section=SECTION[ds]))
    out.append(claim(
        f"relabelling.{ds}_n2_more_robust",
        f"On {NAMES[ds]}, N2 (trained on D_rand) is more robust than N1: its median minimal adversarial "
        "distance on clean test images is larger",
        source="reading notes on the DMM paper ('more performant and robust')", paper="",
        ours=robustness_estimate(seeds, "rand"),
        criterion=Criterion(">", 1.0, meaning="ratio of median DeepFool distances N2 / N1; 1 = equally robust"),
        control=robustness_estimate(seeds, "ref"),
        control_name="the clean reference: N2's architecture trained on the clean images",
        scale=scale, section="relabel-robustness"))
    out.append(claim(
        f"relabelling.{ds}_gradients_align",
        f"On {NAMES[ds]}, N2's (D_rand) input gradient at clean test images points along N1's",
        source="DMM §5.2, figure 4", paper="",
        ours=cosine_estimate(seeds, "cos_rand"),
        criterion=Criterion(">", COS_THRESHOLD[ds], meaning="mean cosine; a random direction gives 0 ± 1/sqrt(n)"),
        control=cosine_estimate(seeds, "cos_random"), control_name="a random direction",
        scale=scale, section="relabel-geometry"))
    return out
