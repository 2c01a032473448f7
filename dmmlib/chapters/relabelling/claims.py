"""The claims of the chapter relabelling, each with its kind, quote, preconditions and
criterion fixed before the run.

``results`` maps a data set ("line", "chessboard", "mnist", "cifar10") to its list of per-seed
dicts (:func:`dmmlib.chapters.relabelling.experiment.run_synthetic_seed` /
``run_image_seed``); data sets that were not run are left out, and so are their claims.

The claims and where they come from:

- ``<ds>_flip_beats_chance`` (synthetic; *paper*: the DMM's figure-4 argument) and
  ``<ds>_{rand,det}_beats_chance`` (*companion*: Ilyas et al.'s CIFAR-10 result as the DMM
  describes it in section 5.2; *extension* on MNIST): N2 classifies clean test inputs by their
  true labels better than chance;
- ``<ds>_gradients_align`` (*paper*: "very similar decision boundaries"): N2's boundary normal
  at clean test points is about as aligned with N1's as that of N1's clean twin (N2's
  architecture trained on clean data with another seed) is: the paired ratio of mean cosines
  cos(N1, N2) / cos(N1, twin), one-sided against :data:`SIMILAR_LO`;
- on the images, three readings of N2's robustness, each from its source: the reading notes'
  ``<ds>_n2_more_robust`` (N2 farther from its boundary than N1, one-sided > 1), the DMM's
  ``<ds>_n2_distance_similar`` (N2's distance within a band around N1's) and Ilyas et al.'s
  ``<ds>_n2_not_robust`` (N2, which learns only non-robust features, nearer its boundary than
  the clean twin, one-sided < 1). All three are decided on the minimal-norm attack's (FMN)
  distances; DeepFool's are reported beside them (``extra``);
- on MNIST, ``mnist_{rand,det}_beats_noise`` (*extension*): N2 beats the control trained on the
  clean images plus random noise of the attack's norm with the same wrong labels (paired per
  test image): the perturbations' *direction*, not their size, carries what N2 learns.

Preconditions (the regime in which the experiment means something, measured in the same run):
N1's accuracy, the targeted attack's success rate, and on the images whether N2's architecture
learns the task from clean data, whether N1's perturbations transfer to it, on CIFAR-10 whether
the relabelled set has Ilyas et al.'s order of size (>= 10,000 images), for the robustness
claims whether the minimal-norm attack found an adversarial point for nearly every image, and
(for the boundary claims) whether N2 learnt anything from the relabelled set at all. A failed
one makes the claim *not tested*.

Intervals cover the seeds (models) and the test points: a rate's interval is the union of the
t-interval over seeds and the Clopper-Pearson interval of the pooled counts; a mean's or a
ratio's interval the t-interval over the seeds' values (Student t, as many seeds as the profile
runs) widened to the average per-seed bootstrap interval. With one seed (CIFAR-10 under
``quick``) the intervals are over the test images only, and the estimates say so.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch

from dmmlib.chapters.relabelling.relabel import mean_interval, rate_interval
from dmmlib.claims import Claim, Criterion, Estimate, Precondition, claim, compare, precondition, scale_text
from dmmlib.stats import bootstrap_ci

CHANCE = {"line": 0.5, "chessboard": 0.5, "mnist": 0.1, "cifar10": 0.1}
MARGIN = {"line": 0.1, "chessboard": 0.1, "mnist": 0.05, "cifar10": 0.05}
NAMES = {"line": "the 2-d line", "chessboard": "the 3-d chessboard plane", "mnist": "MNIST", "cifar10": "CIFAR-10"}
PAPER_ACC = {("cifar10", "rand"): "63.3 % (Ilyas et al. 2019, CIFAR-10, ResNet-50, eps 0.5)",
             ("cifar10", "det"): "about 44 % (Ilyas et al. 2019, CIFAR-10, ResNet-50, eps 0.5)"}
SECTION = {"line": "relabel-synthetic", "chessboard": "relabel-synthetic", "mnist": "relabel-images",
           "cifar10": "relabel-images"}

# -- thresholds, fixed before the run ----------------------------------------------------
#: N1 must classify the clean test inputs well: DMM §5.2 step 1 trains N1 "to recognize them
#: well"; the appendix G.1 MLP reaches 98 %, the pretrained CIFAR ResNet-20 91.7 %. 0.9 asks
#: for a network that has learnt the task, not for the paper's exact number.
N1_ACC = 0.9
#: CIFAR-10 with N1 of N2's architecture trained here on the relabelled subset (issue 24: N1
#: and N2 of one architecture; ``cifar_n1_depth`` 0): N1 is then a network like the clean twin,
#: and is held to the twin's threshold (:data:`TWIN_ACC`), not to a pretrained ResNet's 0.9.
#: Ilyas et al.'s N1 (a ResNet-50 on all 50,000 images) is far above it: the page says so.
N1_ACC_SAME_ARCH = 0.5
#: CIFAR-10: the relabelled set must have Ilyas et al.'s order of size (they used all 50,000
#: training images; issue 24 asks for >= 10,000): below it N2 cannot learn the task even from
#: clean images, and a null result says nothing about their experiment.
MIN_TRAIN = {"cifar10": 10_000}
#: The robustness claims are decided on FMN's minimal adversarial distances: the attack must
#: find an adversarial point for at least 90 % of the test images on every network compared
#: (failed searches are censored: they count as farther than every distance found).
FMN_SUCCESS = 0.9
#: A finite stand-in for a censored (failed) FMN distance: farther than any distance in [0,1]^n.
CENSORED = 1e6
#: The targeted attack must reach its target on at least 90 % of the training inputs: §5.2
#: step 2 turns *each* training example into an adversarial example of its target class (Ilyas
#: et al.'s attack succeeds on nearly all); below it a large share of D_rand is simply
#: mislabelled clean data. Issue 24 asks the run for the same 90 %.
ATTACK_SUCCESS = 0.9
#: N2's architecture must learn the task from clean data at this scale (its clean twin's test
#: accuracy): Ilyas et al.'s N2 reached 63.3 % from D_rand, below what the architecture reaches
#: on clean data; a network that cannot classify half of the clean test set leaves no room in
#: which the effect could show.
TWIN_ACC = 0.5
#: N1's perturbations must transfer to a fresh clean network of N2's architecture (its clean
#: twin): the twin must predict the target at N1's adversarial examples more often than at the
#: clean inputs, by at least the chapter's 10-class margin (5 points). Ilyas et al. tie how well
#: an architecture learns from D_rand to how well N1's examples transfer to it; without
#: transfer, N2's architecture cannot see the features the relabelled set carries.
TRANSFER_GAIN = 0.05
#: N2 must have learnt something from D_rand before its boundary is compared with N1's: its
#: clean accuracy must beat the label-only control's (clean inputs, the same wrong labels) by
#: the chapter's margin (:data:`MARGIN`). Where it does not, there is no effect to explain.
LEARNS = MARGIN
#: "Very similar" (DMM §5.2), fixed once for both boundary quantities: within 20 % of the
#: yardstick, [0.8, 1.25] (symmetric on a log scale). Distances: N2's median distance to its
#: boundary over N1's must lie in the band; gradient alignment: cos(N1, N2) must reach at least
#: 0.8 of cos(N1, clean twin) (more aligned than the twin is certainly "very similar", so only
#: the lower side is tested).
SIMILAR_LO, SIMILAR_HI = 0.8, 1.25

# -- the sentences the claims test (copied from the seed texts) --------------------------
QUOTE_GOOD_ACCURACY = ("However, when the new network N_2 is applied to the original test images, it has good "
                       "accuracy, labeling a significant fraction of the cat images as cats.")
QUOTE_FIGURE4 = ("It is thus not surprising at all that when the strangely trained N_2 is applied to the original "
                 "test images, it has good accuracy in recognizing cats!")
QUOTE_SIMILAR = "which creates very similar decision boundaries in N_1 and N_2"
QUOTE_NOTES = "evaluation: $N_2$ is more performant and robust than $N_1$"
QUOTE_NON_ROBUST = ("The original paper tried to explain this highly surprising result by distinguishing between "
                    "robust and non-robust features in any given image")


def _est(d: Mapping[str, Any], n_of: str, unit: str = "") -> Estimate:
    return Estimate(float(d["value"]), float(d["lo"]), float(d["hi"]), int(d["n_seeds"]), n_of, unit)


def _nan_estimate(n_of: str = "seeds") -> Estimate:
    nan = float("nan")
    return Estimate(nan, nan, nan, 0, n_of, "")


def _over(seeds: list[dict], n: int) -> str:
    if len(seeds) == 1:
        return f"1 seed x {n} test points (interval over the test images only)"
    return f"seeds x {n} test points"


def accuracy_estimate(seeds: list[dict], key: str) -> Estimate:
    """Accuracy on the true labels of the network whose per-point hits are ``seeds[i][key]``."""
    d = rate_interval([s[key] for s in seeds])
    return _est(d, _over(seeds, d["n_images"]))


def accuracy_difference(seeds: list[dict], key: str, control_key: str) -> Estimate:
    """The paired comparison of two networks' hits on the same test images, pooled over seeds:
    mean(``key``) - mean(``control_key``) with :func:`dmmlib.claims.compare` (hierarchical
    bootstrap over seeds, then images, when there are several seeds)."""
    a = np.concatenate([np.asarray(s[key], dtype=np.float64) for s in seeds])
    b = np.concatenate([np.asarray(s[control_key], dtype=np.float64) for s in seeds])
    units = np.concatenate([np.full(len(s[key]), i) for i, s in enumerate(seeds)]) if len(seeds) > 1 else None
    n = len(seeds[0][key])
    return compare(a, b, statistic="difference", units=units,
                   n_of=f"test points, paired ({len(seeds)} seed(s) x {n}"
                   + (", hierarchical bootstrap over seeds and points)" if units is not None else
                      "; interval over the test images only)"))


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
    return _est(d, _over(seeds, len(seeds[0]["geometry"][key])))


def cosine_ratio_estimate(seeds: list[dict], key: str, control_key: str = "cos_ref") -> Estimate:
    """The paired comparison mean(``geometry[key]``) / mean(``geometry[control_key]``) (e.g.
    cos(N1, N2) over cos(N1, clean twin)) at the same test points: per seed
    :func:`dmmlib.claims.compare` (ratio, paired bootstrap over points), then the t-interval
    over seeds widened to the average per-seed interval. Undefined when no seed has a finite
    per-seed interval."""
    vals, los, his, n = [], [], [], []
    for s in seeds:
        a = np.asarray(s["geometry"][key], dtype=np.float64)
        b = np.asarray(s["geometry"][control_key], dtype=np.float64)
        e = compare(a, b, statistic="ratio")
        if e.defined:
            vals.append(e.value)
            los.append(e.lo)
            his.append(e.hi)
            n.append(e.n)
    if not vals:
        return _nan_estimate("seeds x test points")
    d = mean_interval(vals, los, his)
    return _est(d, ("1 seed" if len(vals) == 1 else "seeds") + f" x about {int(np.mean(n))} test points (paired"
                + ("; bootstrap over the points only)" if len(vals) == 1 else ")"))


_DIST = {"n1": ("d1", "correct_n1"), "rand": ("d2_rand", "correct_rand"), "det": ("d2_det", "correct_det"),
         "ref": ("d_ref", "correct_ref")}
METHODS = ("fmn", "deepfool")


def _distances(g: Mapping[str, Any], who: str, method: str) -> np.ndarray:
    """(M,) minimal adversarial distances of the network ``who`` at the geometry points:
    DeepFool's (inf where it did not converge) or FMN's with failed searches censored at
    :data:`CENSORED`."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "deepfool":
        return np.asarray(g[_DIST[who][0]], dtype=np.float64)
    d = np.asarray(g[f"fmn_{who}"], dtype=np.float64)
    return np.where(np.isfinite(d), d, CENSORED)


def distance_ratio(s: dict, kind: str, over: str = "n1", method: str = "fmn") -> tuple[float, float, float, int]:
    """Per seed: median minimal adversarial distance (``method`` "fmn", failed searches
    censored, or "deepfool", failed searches left out) of the network ``kind`` ("rand", "det":
    N2 on that set; "ref": the clean twin; "n1") over that of the network ``over``, on the test
    points both classify correctly, with its paired bootstrap interval and the point count."""
    g = s["geometry"]
    (_, ca), (_, cb) = _DIST[kind], _DIST[over]
    a, b = _distances(g, kind, method), _distances(g, over, method)
    ok = np.asarray(g[ca]) & np.asarray(g[cb]) & np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 2:
        return float("nan"), float("nan"), float("nan"), int(ok.sum())
    ci = bootstrap_ci(a[ok], b[ok], statistic=lambda x, y: np.median(x, axis=1) / np.median(y, axis=1))
    return ci.estimate, ci.lo, ci.hi, int(ok.sum())


def robustness_ratio(s: dict, kind: str, method: str = "fmn") -> tuple[float, float, float, int]:
    """:func:`distance_ratio` of ``kind`` over N1."""
    return distance_ratio(s, kind, "n1", method)


def distance_ratio_estimate(seeds: list[dict], kind: str, over: str = "n1", method: str = "fmn") -> Estimate:
    """:func:`distance_ratio` over the seeds that have at least two points both networks get
    right (undefined when none has); the interval is clipped at 0."""
    rows = [r for r in (distance_ratio(s, kind, over, method) for s in seeds) if np.isfinite(r[0])]
    if not rows:
        return _nan_estimate()
    d = mean_interval([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
    d["lo"] = max(0.0, d["lo"])
    n = int(np.mean([r[3] for r in rows]))
    over_text = ("1 seed x about {n} test points correct for both (bootstrap over the images)" if len(rows) == 1
                 else "seeds x about {n} test points correct for both").format(n=n)
    return _est(d, over_text)


def robustness_estimate(seeds: list[dict], kind: str, method: str = "fmn") -> Estimate:
    """:func:`distance_ratio_estimate` of ``kind`` over N1."""
    return distance_ratio_estimate(seeds, kind, "n1", method)


def distance_estimate(seeds: list[dict], who: str, unit: str = "", method: str = "fmn") -> Estimate:
    """Median minimal adversarial distance (``method``, as :func:`distance_ratio`) of the
    network ``who`` on the test points it classifies correctly, per seed with its bootstrap
    interval, over seeds."""
    vals, los, his = [], [], []
    correct = _DIST[who][1]
    for s in seeds:
        d = _distances(s["geometry"], who, method)
        ok = np.asarray(s["geometry"][correct]) & np.isfinite(d)
        if ok.sum() < 2:
            continue
        ci = bootstrap_ci(d[ok], statistic=lambda x: np.median(x, axis=1))
        vals.append(ci.estimate)
        los.append(ci.lo)
        his.append(ci.hi)
    if not vals:
        return _nan_estimate()
    return _est(mean_interval(vals, los, his), "seeds x test points it gets right", unit)


# -- preconditions -----------------------------------------------------------------------


def _mean_rate(seeds: list[dict], key: str) -> float:
    return float(np.mean([float(torch.as_tensor(s[key]).float().mean()) for s in seeds]))


def n1_accuracy(ds: str, seeds: list[dict]) -> Precondition:
    same = ds == "cifar10" and bool(seeds[0].get("n1_trained_here", False))
    return precondition("N1's clean test accuracy" + (" (N1 of N2's architecture, trained here)" if same else ""),
                        _mean_rate(seeds, "hits_n1"), ">", N1_ACC_SAME_ARCH if same else N1_ACC,
                        meaning="§5.2: N1 is trained 'to recognize them well'"
                        + ("; a network of the twin's kind is held to the twin's threshold" if same else ""),
                        paper={"mnist": "98 % (App. G.1, the MNIST MLP)",
                               "cifar10": "ResNet-50 on all of CIFAR-10 (Ilyas et al.; about 95 %)"}.get(ds, ""))


def training_size(ds: str, seeds: list[dict]) -> Precondition:
    return precondition("training images relabelled", float(seeds[0]["n_train"]), ">", float(MIN_TRAIN[ds]) - 1,
                        meaning="the relabelled set has Ilyas et al.'s order of size (issue 24: >= 10,000)",
                        paper="50,000 (Ilyas et al., all of CIFAR-10)")


def fmn_rate(seeds: list[dict], who: str) -> float:
    """Mean over seeds of the share of the test images the network ``who`` classifies correctly
    on which FMN found an adversarial point (on the others its distance is 0, found trivially)."""
    rates = []
    for s in seeds:
        g = s["geometry"]
        ok, right = torch.as_tensor(g[f"fmn_success_{who}"]), torch.as_tensor(g[_DIST[who][1]])
        if right.any():
            rates.append(float(ok[right].float().mean()))
    return float(np.mean(rates)) if rates else float("nan")


def fmn_success(ds: str, seeds: list[dict], who: tuple[str, ...]) -> Precondition:
    rate = min(fmn_rate(seeds, w) for w in who)
    return precondition("minimal-norm attack (FMN) success, lowest over the networks compared", rate, ">",
                        FMN_SUCCESS, meaning="the distances are measured, not censored, for nearly every image")


def attack_success(ds: str, seeds: list[dict], kind: str) -> Precondition:
    key = "success" if ds in ("line", "chessboard") else f"success_{kind}"
    label = "flipped" if kind == "flip" else {"rand": "D_rand", "det": "D_det"}[kind]
    return precondition(f"targeted attack success on N1 ({label})", _mean_rate(seeds, key), ">", ATTACK_SUCCESS,
                        meaning="§5.2: every training input becomes an adversarial example of its target")


def twin_accuracy(ds: str, seeds: list[dict]) -> Precondition:
    return precondition("clean twin's test accuracy (N2's architecture, clean data)", _mean_rate(seeds, "hits_ref"),
                        ">", TWIN_ACC, meaning="N2's architecture learns the task from clean data at this scale")


def transfer(ds: str, seeds: list[dict], kind: str) -> Precondition:
    gain = _mean_rate(seeds, f"twin_on_target_adv_{kind}") - _mean_rate(seeds, f"twin_on_target_clean_{kind}")
    label = {"rand": "D_rand", "det": "D_det"}[kind]
    return precondition(f"transfer of N1's {label} examples to the clean twin (target rate, adversarial - clean)",
                        gain, ">", TRANSFER_GAIN,
                        meaning="N1's perturbations carry features N2's architecture picks up")


def n2_learns(ds: str, seeds: list[dict], kind: str = "rand") -> Precondition:
    gain = _mean_rate(seeds, f"hits_{kind}") - _mean_rate(seeds, f"hits_ctrl_{kind}")
    return precondition(f"N2 ({'D_rand' if kind == 'rand' else 'D_det'}) beats the label-only control "
                        "(accuracy difference)", gain, ">", LEARNS[ds],
                        meaning="N2 learnt from the perturbations, so there is an effect to explain")


def _image_regime(ds: str, seeds: list[dict], kind: str) -> list[Precondition]:
    out = [n1_accuracy(ds, seeds), attack_success(ds, seeds, kind), twin_accuracy(ds, seeds),
           transfer(ds, seeds, kind)]
    if ds in MIN_TRAIN:
        out.append(training_size(ds, seeds))
    return out


# -- claims ------------------------------------------------------------------------------


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


def _cos_extra(seeds: list[dict], key: str) -> dict:
    return {"mean cosine N1-N2": cosine_estimate(seeds, key).value,
            "mean cosine N1-clean twin": cosine_estimate(seeds, "cos_ref").value,
            "mean cosine N1-random direction": cosine_estimate(seeds, "cos_random").value}


def _gradients_claim(ds: str, seeds: list[dict], key: str, what: str, pre, scale: str, section: str) -> Claim:
    return claim(
        f"relabelling.{ds}_gradients_align",
        f"On {NAMES[ds]}, {what} input gradient at clean test points is at least {SIMILAR_LO:g} times as aligned "
        "with N1's as that of N1's clean twin (N2's architecture trained on clean data, another seed): "
        "figure 4's 'very similar' boundaries",
        kind="paper", source="DMM §5.2, figure 4", quote=QUOTE_SIMILAR, paper="'very similar' (no number)",
        ours=cosine_ratio_estimate(seeds, key, "cos_ref"),
        criterion=Criterion(">", SIMILAR_LO, meaning="cos(N1, N2) / cos(N1, clean twin), paired per point; "
                            f"1: as aligned as the twin; one-sided: 'very similar' = at least {SIMILAR_LO:g}"),
        control=cosine_estimate(seeds, "cos_ref"), control_name="cos(N1, clean twin)", paired=True,
        preconditions=pre, scale=scale, section=section, extra=_cos_extra(seeds, key))


def _synthetic_claims(ds: str, seeds: list[dict], P) -> list[Claim]:
    chance, margin = CHANCE[ds], MARGIN[ds]
    scale = _scale(ds, seeds, P)
    pre = [n1_accuracy(ds, seeds), attack_success(ds, seeds, "flip")]
    return [
        claim(f"relabelling.{ds}_flip_beats_chance",
              f"On {NAMES[ds]}, N2 trained only on N1's adversarial examples with the flipped labels classifies "
              "the clean test points by their true labels better than chance",
              kind="paper", source="DMM §5.2, figure 4", quote=QUOTE_FIGURE4,
              paper="'good accuracy' (figure 4's argument; no number)",
              ours=accuracy_estimate(seeds, "hits_flip"),
              criterion=Criterion(">", chance + margin, meaning=f"chance {chance:g} plus a margin of {margin:g}"),
              control=accuracy_estimate(seeds, "hits_ctrl_flip"),
              control_name="the clean points with the flipped labels", preconditions=pre, scale=scale,
              section=SECTION[ds]),
        _gradients_claim(ds, seeds, "cos_flip", "N2's", pre, scale, SECTION[ds]),
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
            kind="companion" if ds == "cifar10" else "extension",
            source="Ilyas et al. 2019 (CIFAR-10), as described in DMM §5.2"
            + ("" if ds == "cifar10" else "; MNIST is the book's extension"),
            quote=QUOTE_GOOD_ACCURACY, paper=PAPER_ACC.get((ds, kind), ""),
            ours=accuracy_estimate(seeds, f"hits_{kind}"),
            criterion=Criterion(">", chance + margin, meaning=f"chance {chance:g} plus a margin of {margin:g}"),
            control=accuracy_estimate(seeds, f"hits_ctrl_{kind}"),
            control_name="the clean images with the same labels", preconditions=_image_regime(ds, seeds, kind),
            scale=scale, section=SECTION[ds], extra=_ceiling_extra(seeds, kind)))
        if all(f"hits_noise_{kind}" in s for s in seeds):
            out.append(claim(
                f"relabelling.{ds}_{kind}_beats_noise",
                f"On {NAMES[ds]}, N2 trained on N1's targeted adversarial examples with their {what} beats a network "
                "trained on the clean images plus random noise of the same L2 norm per image with the same labels: "
                "what N2 learns is in the perturbations' direction, not in their size",
                kind="extension", source="the book's control (issue 24) for Ilyas et al.'s reading of D_rand/D_det",
                ours=accuracy_difference(seeds, f"hits_{kind}", f"hits_noise_{kind}"),
                criterion=Criterion(">", MARGIN[ds], meaning="accuracy of N2 minus the noise control's, paired per "
                                    f"test image; one-sided, by more than the margin {MARGIN[ds]:g}"),
                control=accuracy_estimate(seeds, f"hits_noise_{kind}"),
                control_name="clean images + random noise of the attack's norm, the same labels", paired=True,
                preconditions=_image_regime(ds, seeds, kind), scale=scale, section=SECTION[ds]))
    # the boundary claims compare N2 (D_rand) with N1: they need the regime and an N2 that learnt something
    pre = [*_image_regime(ds, seeds, "rand"), n2_learns(ds, seeds, "rand")]
    pre_robust = [*pre, fmn_success(ds, seeds, ("n1", "rand", "ref"))]
    n1_dist = distance_estimate(seeds, "n1", unit="L2")
    ratio = robustness_estimate(seeds, "rand")
    twin_over_n1 = distance_ratio_estimate(seeds, "ref", "n1")
    extra = {"median FMN distance N1": n1_dist.value,
             "median FMN distance N2 (D_rand)": distance_estimate(seeds, "rand").value,
             "median FMN distance clean twin": distance_estimate(seeds, "ref").value,
             "clean twin / N1 ratio (FMN)": twin_over_n1.value, "clean twin / N1 ratio lo": twin_over_n1.lo,
             "clean twin / N1 ratio hi": twin_over_n1.hi,
             "N2 / N1 ratio (DeepFool)": robustness_estimate(seeds, "rand", "deepfool").value,
             "N2 / clean twin ratio (DeepFool)": distance_ratio_estimate(seeds, "rand", "ref", "deepfool").value,
             "FMN success N1": fmn_rate(seeds, "n1"), "FMN success N2 (D_rand)": fmn_rate(seeds, "rand"),
             "FMN success clean twin": fmn_rate(seeds, "ref")}
    ratio_meaning = ("median minimal-norm (FMN) distance N2 / N1 on test images both get right, paired per image; "
                     "failed searches censored")
    pre = pre_robust
    out.append(claim(
        f"relabelling.{ds}_n2_more_robust",
        f"On {NAMES[ds]}, N2 (trained on D_rand) is more robust than N1: its median minimal adversarial "
        "distance on clean test images is larger",
        kind="notes", source="reading notes on the DMM paper (Ilyas's experiment, 'evaluation')", quote=QUOTE_NOTES,
        ours=ratio, criterion=Criterion(">", 1.0, meaning=ratio_meaning + "; 1 = equally robust"),
        control=n1_dist, control_name="N1's median distance", paired=True, preconditions=pre, scale=scale,
        section="relabel-robustness", extra=extra))
    out.append(claim(
        f"relabelling.{ds}_n2_distance_similar",
        f"On {NAMES[ds]}, N2's (D_rand) boundary lies about as far from the clean test images as N1's: the ratio "
        f"of their median distances lies within [{SIMILAR_LO:g}, {SIMILAR_HI:g}] (figure 4's 'very similar' "
        "boundaries)",
        kind="paper", source="DMM §5.2, figure 4", quote=QUOTE_SIMILAR, paper="'very similar' (no number)",
        ours=ratio, criterion=Criterion("within", SIMILAR_LO, SIMILAR_HI, meaning=ratio_meaning),
        control=n1_dist, control_name="N1's median distance", paired=True, preconditions=pre, scale=scale,
        section="relabel-robustness", extra=extra))
    out.append(claim(
        f"relabelling.{ds}_n2_not_robust",
        f"On {NAMES[ds]}, N2 (D_rand), which by Ilyas et al.'s account can learn only the non-robust features "
        "N1's perturbations carry, is less robust than N1's clean twin (its architecture, trained on clean "
        "data): its median minimal adversarial distance is smaller",
        kind="companion", source="Ilyas et al. 2019, as described in DMM §5.2 and appendix A",
        quote=QUOTE_NON_ROBUST,
        ours=distance_ratio_estimate(seeds, "rand", "ref"),
        criterion=Criterion("<", 1.0, meaning="median minimal-norm (FMN) distance N2 / clean twin on test images "
                            "both get right, paired per image, failed searches censored; 1 = equally robust"),
        control=distance_estimate(seeds, "ref", unit="L2"), control_name="the clean twin's median distance",
        paired=True, preconditions=pre, scale=scale, section="relabel-robustness", extra=extra))
    out.append(_gradients_claim(ds, seeds, "cos_rand", "N2's (D_rand)", pre[:-1], scale, "relabel-geometry"))
    return out


def _ceiling_extra(seeds: list[dict], kind: str) -> dict:
    """N2's accuracy beside its ceiling, the clean twin's (N2's architecture on the clean images)."""
    n2, twin = accuracy_estimate(seeds, f"hits_{kind}").value, accuracy_estimate(seeds, "hits_ref").value
    return {"clean twin (ceiling)": twin, "N2 / clean twin": n2 / twin if twin > 0 else float("nan")}
