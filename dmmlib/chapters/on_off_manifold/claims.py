"""The claims of the chapter "Adversarial examples on and off the image manifold" and the
criteria that judge them, fixed here before any run (issue 23: kinds, quotes, preconditions,
one claim per quantity, controls as paired one-sided comparisons).

``claims(results, P)`` takes ``results = {dataset: summary.summarize(...)}`` (plus, set by the
notebook, ``results[dataset]["accuracy"]``: the classifiers' mean test accuracy) and returns,
per dataset:

- ``R_paper_<ds>`` (paper, table 1): our mean R(d, M) reproduces the paper's number, a band of a
  factor :data:`R_BAND` around it;
- ``R_<ds>`` (paper, E.2): d avoids the tangent space more than a random k-subspace, the paired
  ratio R(d, M) / R(d, random) on the same images (> 1). Table 2's on/unconstrained distance
  ratio is the same quantity under local linearity (it is about R): its readings (the paper's
  PGD protocol, the minimal-norm attack, the box-free attack, each against a random subspace,
  with the attacks' success rates) are the claim's ``extra``; they were the ``on_far`` claims,
  whose threshold (> 2) any random subspace passes;
- ``E_<ds>`` (paper, E.2): the on-manifold relative effect is "tiny", judged against what any k
  dimensions carry: E(tangent) - E(random k-subspace) < 0, paired. E at x' (as the paper writes
  it) and 1 / R^2 (what E is for a linear model and d along the gradient) are readings in ``extra``;
- ``off_close_<ds>`` (paper, §7): off-manifold adversarial examples are only slightly further than
  unconstrained ones (ratio < 1.2), given that the off-manifold attack succeeds;
- ``special_R_<ds>_<control>`` (extension, issue 11): d avoids the tangent space more than the PCA
  / DCT subspace / another image's tangent space (paired ratio > 1); the on-subspace PGD
  distance ratio (same quantity under linearity) and its success rates in ``extra``;
- ``step_free_<ds>`` and ``clamp_<ds>`` (protocol, App. F).

Every claim rests on preconditions measured in the same run: the classifier's test accuracy
(the paper's values from App. G), the autoencoder's reconstruction error (App. G), whether its
training has converged (``results[dataset]["ae_last_drop"]``, set by the notebook) and the
success rate of the attacks whose distances it averages (a failed attack is censored at eps: a
mean over the successes describes the images only when most succeed).
"""
from __future__ import annotations

import math
from typing import Any, Mapping

from dmmlib.convergence import CONVERGED_BELOW
from dmmlib.claims import Claim, Criterion, Estimate, claim, precondition, scale_text

SOURCE_T1 = "DMM App. E.2, Table 1"
SOURCE_T2 = "DMM App. E.3, Table 2"
SOURCE_S7 = "DMM §7"
SOURCE_F = "DMM App. F (protocol)"
PAPER_T1 = {"mnist": ("3.68", "8 %"), "cifar10": ("5.59", "4 %"), "imagenet": ("5.5", "2 %")}
PAPER_R = {"mnist": 3.68, "cifar10": 5.59, "imagenet": 5.5}
PAPER_T2 = {"mnist": ("364 %", "103 %"), "cifar10": ("623 %", "101 %"), "imagenet": ("570 %", "102 %")}
NAMES = {"mnist": "MNIST", "cifar10": "CIFAR-10", "imagenet": "ImageNet"}
CONTROL_NAMES = {"random": "a random subspace", "pca": "the top-k PCA subspace",
                 "other": "another image's tangent space", "dct": "the k lowest DCT frequencies",
                 "tangent_fd": "the finite-difference tangent space", "tangent_jvp": "the exact tangent space"}
#: the controls judged as claims of their own (the random subspace is the control of R_<ds> itself)
SPECIAL_CONTROLS = ("pca", "other", "dct")

# quotes, copied exactly from the paper (shared/seeds/000)
QUOTE_R = ("values larger than \\bar{R} indicate actual preference of off-manifold over on-manifold dimensions by "
           "the DNN")
QUOTE_R_PAPER = ("In our experiments we measured the average of the ratio $\\bar{R}(d, M)$ where d is an adversarial "
                 "perturbation and M is the natural image manifold, and compared it to \\bar{R}")
QUOTE_E = ("Note that in all three cases, the on-manifold relative effect was tiny, demonstrating that the networks "
           "primarily used the off-manifold perturbations rather than the on-manifold perturbations in order to switch "
           "their classification.")
QUOTE_OFF = ("Off-manifold adversarial examples are significantly closer to the test image than the on-manifold "
             "examples and only slightly further than non-constrained examples.")
QUOTE_STEP = "The step size is multiplied by 10 for the on-manifold attack, in order to reach further."
QUOTE_CLAMP = "Clip the total adversarial vector to be at most ϵ sized vector (and each pixel to be $\\in [0, 1]$)."
QUOTE_ROBUST = "As a result, the gradient will have a more significant on-manifold component."
QUOTE_ROBUST_ON = ("Therefore the off-manifold distance to the decision boundary gets larger, while the on-manifold "
                   "distance to the boundary does not change much.")

# -- criteria, fixed before the run -----------------------------------------------------------------
#: R reproduces the paper's number: within a factor 1.25 either way. The paper gives one number,
#: without an interval, from one classifier and one autoencoder; ours are other networks of the
#: same architecture (CIFAR-10: another classifier). 25 % is the band inside which the two runs
#: would be read as the same measurement (the MNIST band [2.94, 4.6] still excludes a random
#: vector's E[R] of 7.3).
R_BAND = 1.25
MORE_THAN_RANDOM = Criterion(">", 1.0, meaning="tangent / random subspace on the same images: above 1, d avoids M "
                             "more than k random dimensions (a random vector's R, App. I)")
LESS_THAN_RANDOM = Criterion("<", 0.0, meaning="E(tangent) - E(random k-subspace) on the same images: below 0, the part "
                             "of d in M does less than the part in k random dimensions (≈ k/n)")
MORE_THAN_CONTROL = Criterion(">", 1.0, meaning="tangent / control on the same images: above 1, d avoids the tangent "
                              "space more than this control subspace of the same k")
E_SMALL = Criterion("<", 0.1, meaning="the paper calls 2-8 % tiny; 10 % leaves room for its largest")
OFF_CLOSE = Criterion("<", 1.2, meaning="'only slightly further': the paper's off/unconstrained ratios are 1.01-1.03")
STEP_FREE = Criterion("within", 0.8, upper=1.25, meaning="a distance that measures geometry moves by less than 25 % "
                      "when the on-manifold step changes tenfold")
ON_MANIFOLD = Criterion("<", 0.1, meaning="'on-manifold' should leave less than 10 % of the norm off M")
#: kept for the figures: the old 'much further' line (the paper's on-manifold distances are 3.6-6.2x)
ON_FAR = Criterion(">", 2.0, meaning="'much further': the paper's on-manifold distances are 3.6-6.2 times larger")

# -- preconditions, fixed before the run --------------------------------------------------------------
#: the classifier's test accuracy must be near the paper's (App. G): 3 points below the paper's MNIST
#: 98 % (an SGD run stopped at 87 % is another regime); CIFAR-10 5 points below the paper's 93 % (ours
#: is a substitute ResNet-20 on two classes, the paper's a 7-layer network on ten).
ACCURACY_MIN = {"mnist": 0.95, "cifar10": 0.88, "imagenet": 0.7}
PAPER_ACCURACY = {"mnist": "98 % (App. G.1)", "cifar10": "93 %, 7-layer network on ten classes (App. G.2)",
                  "imagenet": "pretrained ResNet-50 (App. G.3)"}
#: the autoencoder's mean reconstruction error ||x - D(E(x))|| (L2, [0,1] pixels) at most 1.5 times the
#: paper's (App. G): the paper's 2.1 for MNIST is the looser of its two numbers (its MSE 0.0003 implies
#: 0.49), so this is generous; a tangent space of a much worse autoencoder is not the paper's manifold.
AE_ERROR_FACTOR = 1.5
#: the autoencoder's training has converged, by the book's one rule (:mod:`dmmlib.convergence`): its
#: held-out loss (the MSE of test images it never trains on) fell by less than 1 % over the last tenth
#: of training (the worst of the autoencoders).
#: The paper trains for 400-1000 epochs (App. G); a loss still falling belongs to a model still
#: changing, not to the paper's regime.
AE_CONVERGED_MAX = CONVERGED_BELOW
#: the estimate no longer moves with the autoencoder's training (issue 24): between the quality sweep's
#: two longest trainings (quick: 15 and 60 epochs), the claim's own quantity (R(d, M), E, or the on- or
#: off-manifold distance ratio) changes by less than 5 %
#: (:func:`dmmlib.chapters.on_off_manifold.stress.quality_change`). A claim whose estimate still moves
#: with the autoencoder's quality measures the autoencoder, not the manifold.
AE_STABLE_MAX = 0.05
PAPER_AE_ERROR = {"mnist": 2.1, "cifar10": 7.88, "imagenet": 38.7601}
PAPER_AE_TEXT = {"mnist": "2.1 (App. G.1; its MSE 0.0003 would imply 0.49)", "cifar10": "7.88 (App. G.2)",
                 "imagenet": "38.8 (App. G.3)"}
#: a mean over the images whose attack succeeded describes the images only when most succeed (a failed
#: attack is censored at eps): more than half.
SUCCESS_MIN = 0.5
#: FONTS classifiers: no paper value; a classifier that has learnt the letters.
KNOWN_ACCURACY_MIN = 0.9


def _scale(P: Mapping[str, Any], r: Mapping[str, Any]) -> str:
    return scale_text(P["profile"], models=r["units"], images=r["images"])


def _nan_estimate(n_of: str = "") -> Estimate:
    return Estimate(math.nan, math.nan, math.nan, 0, n_of)


def _text(e: Estimate | None) -> str:
    return e.text() if e is not None else "not measured"


def _rate(e: Estimate | None) -> float:
    return float(e.value) if e is not None else math.nan


def accuracy_pre(ds: str, value: float | None):
    """The classifier-accuracy precondition of ``ds`` (value: mean test accuracy over the units, a share)."""
    return precondition(f"{NAMES.get(ds, ds)} classifier test accuracy (mean over models)",
                        math.nan if value is None else value, ">", ACCURACY_MIN.get(ds, 0.9),
                        meaning="near the paper's classifier", paper=PAPER_ACCURACY.get(ds, ""))


def ae_pre(ds: str, r: Mapping[str, Any]):
    paper = PAPER_AE_ERROR.get(ds, math.nan)
    e = r.get("ae_error")
    return precondition(f"{NAMES.get(ds, ds)} autoencoder reconstruction error ||x - D(E(x))||",
                        math.nan if e is None else e.value, "<", AE_ERROR_FACTOR * paper,
                        meaning=f"at most {AE_ERROR_FACTOR:g} x the paper's", paper=PAPER_AE_TEXT.get(ds, f"{paper:g} (App. G)"),
                        unit="L2")


def ae_converged_pre(ds: str, r: Mapping[str, Any]):
    """The autoencoder-convergence precondition (``r["ae_last_drop"]``, set by the notebook from the
    autoencoders' training histories: :func:`dmmlib.chapters.on_off_manifold.summary.last_epoch_drop`)."""
    epochs = {"mnist": "1000 epochs (App. G.1)", "cifar10": "400 epochs (App. G.2)", "imagenet": "325 epochs (App. G.3)"}
    return precondition(f"{NAMES.get(ds, ds)} autoencoder training converged: relative fall of its held-out loss "
                        "(test-image MSE) over the last tenth of training (worst autoencoder)", r.get("ae_last_drop", math.nan), "<",
                        AE_CONVERGED_MAX, meaning="a loss no longer falling", paper=epochs.get(ds, ""))


#: the quality sweep's names (:data:`dmmlib.chapters.on_off_manifold.stress.STABILITY_QUANTITIES`) as read
STABLE_NAMES = {"R": "R(d, M)", "E": "E at x", "on_ratio": "on/unconstrained distance",
                "off_ratio": "off/unconstrained distance"}


def ae_stable_pre(ds: str, r: Mapping[str, Any], *quantities: str):
    """The stability precondition of a claim about ``quantities`` (keys of :data:`STABLE_NAMES`): the
    largest of their relative changes between the quality sweep's two longest trainings
    (``r["ae_quality_changes"]``, set by the notebook; absent, e.g. no sweep for this dataset: nan,
    so it fails as not measured)."""
    changes = r.get("ae_quality_changes") or {}
    values = [changes.get(q, math.nan) for q in quantities]
    value = math.nan if any(v != v for v in values) else max(values)
    what = ", ".join(STABLE_NAMES[q] for q in quantities)
    return precondition(f"{NAMES.get(ds, ds)} estimate stable in the autoencoder's training: relative change of "
                        f"{what} between the quality sweep's two longest trainings", value, "<", AE_STABLE_MAX,
                        meaning="the estimate measures the manifold, not how far the autoencoder was trained")


def success_pre(what: str, e: Estimate | float | None):
    value = e.value if isinstance(e, Estimate) else (math.nan if e is None else float(e))
    return precondition(f"{what} success rate", value, ">", SUCCESS_MIN,
                        meaning="a mean over the successes describes most images")


def _success(r: Mapping[str, Any], key: str) -> Estimate | None:
    return r.get("success", {}).get(key)


def _mn(r: Mapping[str, Any], group: str, key: str) -> Estimate | None:
    return r.get("min_norm", {}).get(group, {}).get(key)


def claims(results: Mapping[str, Mapping[str, Any]], P: Mapping[str, Any]) -> list[Claim]:
    """The chapter's claims for every dataset in ``results`` (see the module docstring)."""
    out: list[Claim] = []
    for ds, r in results.items():
        name, sc = NAMES.get(ds, ds), _scale(P, r)
        paper_r, paper_e = PAPER_T1.get(ds, ("", ""))
        paper_on, paper_off = PAPER_T2.get(ds, ("", ""))
        cmp = r.get("cmp", {})
        acc, ae, conv = accuracy_pre(ds, r.get("accuracy")), ae_pre(ds, r), ae_converged_pre(ds, r)
        t1 = success_pre("table-1 PGD attack", r.get("t1_success"))
        base = (acc, ae, conv, ae_stable_pre(ds, r, "R"), t1)  # claims on R(d, M); E's own below
        R = r["R"]["tangent"]
        if ds in PAPER_R:
            p = PAPER_R[ds]
            out.append(claim(
                f"on_off_manifold.R_paper_{ds}", f"{name}: our mean R(d, M) reproduces the paper's table 1 "
                f"({p:g}, within a factor {R_BAND:g})", kind="paper", source=SOURCE_T1, quote=QUOTE_R_PAPER,
                paper=f"{paper_r} (√(n/k) = {r['sqrt_nk']:.3g})", ours=R,
                criterion=Criterion("within", p / R_BAND, upper=p * R_BAND,
                                    meaning=f"the paper's {p:g} within a factor {R_BAND:g} either way"),
                scale=sc, section="oom-table1", preconditions=base,
                extra={"paper R": p, "band": [round(p / R_BAND, 4), round(p * R_BAND, 4)],
                       "sqrt(n/k)": r["sqrt_nk"], "E[R] of a random vector (exact)": r["expected_R"],
                       "paper's table-2 on/unconstrained": paper_on}))
        on_pgd = r["ratio"].get("on/tangent")
        extra_r = {
            "R(d, M)": _text(R), "R(d, random k-subspace)": _text(r["R"].get("random")),
            "E[R] of a random vector (exact)": r["expected_R"], "sqrt(n/k)": r["sqrt_nk"],
            "R(d, M) above √2 (45°)": bool(R.lo > math.sqrt(2)) if R.defined else "undefined",
            "table 2 (same quantity under local linearity): on/unconstrained, PGD": _text(on_pgd),
            "on/unconstrained on a random subspace, PGD": _text(r["ratio"].get("on/random")),
            "on-distance tangent / random, PGD (paired)": _text(cmp.get("on/random")),
            "on/unconstrained, minimal-norm": _text(_mn(r, "ratio", "on/tangent")),
            "on/unconstrained on a random subspace, minimal-norm": _text(_mn(r, "ratio", "on/random")),
            "on-distance tangent / random, minimal-norm (paired)": _text(cmp.get("mn_on/random")),
            "on/unconstrained, box-free PGD (exactly in M)": _text(r["ratio"].get("boxfree/on")),
            "paper's table-2 on/unconstrained": paper_on,
            "success rate, table-1 PGD": _rate(r.get("t1_success")),
            "success rate, PGD unconstrained": _rate(_success(r, "none")),
            "success rate, PGD on M": _rate(_success(r, "on/tangent")),
            "success rate, PGD on a random subspace": _rate(_success(r, "on/random")),
            "success rate, box-free PGD on M": _rate(_success(r, "boxfree/on")),
            "success rate, minimal-norm unconstrained": _rate(_mn(r, "success", "none")),
            "success rate, minimal-norm on M": _rate(_mn(r, "success", "on/tangent")),
            "success rate, minimal-norm on a random subspace": _rate(_mn(r, "success", "on/random")),
        }
        out.append(claim(
            f"on_off_manifold.R_{ds}", f"{name}: PGD perturbations avoid the tangent space more than a random "
            "k-dimensional subspace (R(d, M) / R(d, random) above 1, paired)", kind="paper", source=SOURCE_T1,
            quote=QUOTE_R, paper=f"{paper_r} against √(n/k) = {r['sqrt_nk']:.3g}", ours=cmp.get("R/random", _nan_estimate()),
            criterion=MORE_THAN_RANDOM, scale=sc, section="oom-table1", preconditions=base,
            control=r["R"].get("random", _nan_estimate()), control_name="R(d, S), a random k-subspace", paired=True,
            extra=extra_r))
        E = r["E"]["tangent"]
        extra_e = {"E at x (tangent)": _text(E), "E at x (random k-subspace)": _text(r["E"].get("random")),
                   "k/n": r["k"] / r["n_pixels"] if "k" in r and "n_pixels" in r else "—",
                   "E at x below 0.1 (the paper's 'tiny')": E_SMALL.judge(E),
                   "1 / R(d, M)^2 (E read from R)": _text(r.get("inv_R2", {}).get("tangent")),
                   "E at x' = D(E(x)) (the paper's formula)": _text(r.get("E_xr")),
                   "images with x' classified correctly": r.get("xr_valid", "—"),
                   "median E at x": r.get("E_median", {}).get("tangent", math.nan),
                   "median E at x'": r.get("E_xr_median", math.nan),
                   "x + Proj_M d changes the class (share)": _rate(r.get("flip_on")),
                   "success rate, table-1 PGD": _rate(r.get("t1_success"))}
        out.append(claim(
            f"on_off_manifold.E_{ds}", f"{name}: the on-manifold part of d does less than the part in a random "
            "k-subspace (E(tangent) - E(random) below 0, paired)", kind="paper", source=SOURCE_T1, quote=QUOTE_E,
            paper=f"{paper_e} (a random k-subspace: k/n)", ours=cmp.get("E/random", _nan_estimate()),
            criterion=LESS_THAN_RANDOM, scale=sc, section="oom-table1",
            preconditions=(acc, ae, conv, ae_stable_pre(ds, r, "E"), t1),
            control=r["E"].get("random", _nan_estimate()), control_name="E at x, a random k-subspace", paired=True,
            extra=extra_e))
        off_s, none_s = _success(r, "off/tangent"), _success(r, "none")
        out.append(claim(
            f"on_off_manifold.off_close_{ds}", f"{name}: off-manifold adversarial examples are only slightly further "
            "than unconstrained ones (PGD, paper's protocol)", kind="paper", source=SOURCE_S7 + "; " + SOURCE_T2,
            quote=QUOTE_OFF, paper=paper_off, ours=r["ratio"]["off/tangent"], criterion=OFF_CLOSE, scale=sc,
            section="oom-table2",
            preconditions=(acc, ae, conv, ae_stable_pre(ds, r, "off_ratio"),
                           success_pre("unconstrained PGD attack", none_s), success_pre("off-manifold PGD attack", off_s)),
            extra={"off/unconstrained, minimal-norm": _text(_mn(r, "ratio", "off/tangent")),
                   "off a random subspace / unconstrained, PGD": _text(r["ratio"].get("off/random")),
                   "success rate, PGD unconstrained": _rate(none_s), "success rate, PGD off M": _rate(off_s),
                   "success rate, minimal-norm off M": _rate(_mn(r, "success", "off/tangent"))}))
        for c in SPECIAL_CONTROLS:
            if f"R/{c}" not in cmp:
                continue
            cname = CONTROL_NAMES.get(c, c)
            out.append(claim(
                f"on_off_manifold.special_R_{ds}_{c}", f"{name}: PGD perturbations avoid the tangent space more than "
                f"{cname} (R(d, M) / R(d, S) above 1, paired)", kind="extension",
                source="issue 11 (control for DMM §7, App. E.2)", ours=cmp[f"R/{c}"], criterion=MORE_THAN_CONTROL,
                scale=sc, section="oom-controls", preconditions=base, control=r["R"].get(c, _nan_estimate()),
                control_name=f"R(d, S), {cname}", paired=True,
                extra={"on-subspace PGD distance tangent / control (same quantity under linearity)":
                       _text(cmp.get(f"on/{c}")),
                       "success rate, PGD on M": _rate(_success(r, "on/tangent")),
                       f"success rate, PGD on {c}": _rate(_success(r, f"on/{c}"))}))
        if "factor_effect" in r:
            lo, hi = r["factors"]
            s_lo, s_hi = _success(r, f"onf/{lo:g}"), _success(r, f"onf/{hi:g}")
            out.append(claim(
                f"on_off_manifold.step_free_{ds}", f"{name}: the on-manifold PGD distance does not depend on the step "
                f"(factor {hi:g} over factor {lo:g})", kind="protocol", source=SOURCE_F, quote=QUOTE_STEP,
                ours=r["factor_effect"], criterion=STEP_FREE, scale=sc, section="oom-stepsize",
                preconditions=(success_pre(f"on-manifold PGD (step factor {lo:g})", s_lo),
                               success_pre(f"on-manifold PGD (step factor {hi:g})", s_hi)),
                extra={f"success rate, step factor {lo:g}": _rate(s_lo), f"success rate, step factor {hi:g}": _rate(s_hi)}))
        s_on = _success(r, "on/tangent")
        out.append(claim(
            f"on_off_manifold.clamp_{ds}", f"{name}: the paper's on-manifold PGD perturbations lie on M (share of the "
            "norm off M)", kind="protocol", source=SOURCE_F, quote=QUOTE_CLAMP, ours=r["offshare"]["on"],
            criterion=ON_MANIFOLD, scale=sc, section="oom-clamp",
            preconditions=(success_pre("on-manifold PGD attack", s_on),),
            extra={"success rate, PGD on M": _rate(s_on),
                   "box-free on/unconstrained (exactly in M)": _text(r["ratio"].get("boxfree/on"))}))
    return out


def conclusion(claims: list[Claim], dataset: str) -> str:
    """A paragraph (Markdown) for ``dataset`` that follows from the verdicts of ``claims``:
    which of the paper's statements our run supports, and how the tangent space compares with
    the controls. Nothing in it is typed by hand: change a verdict and the text changes."""
    by = {c.id.split(".", 1)[1]: c for c in claims}
    name = NAMES.get(dataset, dataset)

    def word(key: str) -> str:
        c = by.get(f"{key}_{dataset}")
        return f"**{c.verdict}**" if c else "does not test"

    parts = [f"{name}: our run {word('R_paper')} *the paper's R*, {word('R')} *R(d, M) above a random subspace's*, "
             f"{word('E')} *an on-manifold effect E below a random subspace's* and {word('off_close')} "
             "*off-manifold adversarial examples about as close as unconstrained ones*."]
    groups = {v: [] for v in ("supports", "contradicts", "inconclusive", "not tested")}
    for key, c in by.items():
        if key.startswith(f"special_R_{dataset}_"):
            groups[c.verdict].append(CONTROL_NAMES.get(key.rsplit("_", 1)[1], key))
    text = []
    if groups["supports"]:
        text.append(f"holds less of d than {', '.join(groups['supports'])}")
    if groups["contradicts"]:
        text.append(f"holds more of d than {', '.join(groups['contradicts'])}")
    if groups["inconclusive"]:
        text.append(f"is undecided against {', '.join(groups['inconclusive'])}")
    if groups["not tested"]:
        text.append(f"is not tested against {', '.join(groups['not tested'])} (a precondition failed)")
    if text:
        parts.append("The tangent space " + "; ".join(text) + ".")
    if f"step_free_{dataset}" in by:
        v = by[f"step_free_{dataset}"].verdict
        parts.append({"supports": "The on-manifold PGD distance does not depend on the step factor.",
                      "contradicts": "The on-manifold PGD distance depends on the step factor: the paper's protocol "
                                     "measures its step as well as the geometry.",
                      "inconclusive": "Whether the on-manifold PGD distance depends on the step factor is undecided.",
                      "not tested": "Whether the on-manifold PGD distance depends on the step factor is not tested "
                                    "(too few attacks succeeded)."}[v])
    return " ".join(parts)


# -- robust models (issue 11, item 9; :mod:`dmmlib.chapters.on_off_manifold.robust`) ---------------

SOURCE_ROBUST = "DMM §5.1; Tsipras et al. 2019"
#: adversarial training must raise the mean minimal-norm distance by more than 20 % for the comparison
#: to be about a robust model (a precondition: it was the setup check robust_trained_mnist)
ROBUST_WORKS = Criterion(">", 1.2, meaning="adversarial training must raise the mean minimal-norm distance by more "
                         "than 20 % for the comparison to be about a robust model")
ROBUST_ALIGN = Criterion("<", 1.0, meaning="(robust / standard R on M) over (the same on the control subspace), paired: "
                         "below 1, the robust model's d holds a larger share in M than the control explains")
ROBUST_ON = Criterion("<", 1.0, meaning="(robust / standard on-M distance ratio) over (the same on a random subspace), "
                      "paired: below 1, on-manifold examples become relatively closer beyond what k random dimensions do")


def robust_claims(r: Mapping[str, Any] | None, P: Mapping[str, Any]) -> list[Claim]:
    """The robust-model claims from :func:`dmmlib.chapters.on_off_manifold.robust.summarize`'s
    results ``r`` (None or empty: no claims; ``r["accuracy"]``, ``r["ae_error"]`` and
    ``r["ae_last_drop"]``, set by the notebook, are the chapter's MNIST classifiers' mean test
    accuracy and its autoencoders' reconstruction error and convergence). Each is a paired comparison of the robust / standard change
    on the tangent space with the same change on a control subspace of the same k (random, PCA),
    on the same images: a change the control shows too is not about M."""
    if not r:
        return []
    ch = r["change"]
    sc = scale_text(P["profile"], models=r["units"], images=r["images"])
    works = precondition("adversarial training raises the minimal-norm distance (robust / standard)",
                         ch["dist/none"].value, ">", ROBUST_WORKS.threshold, meaning=ROBUST_WORKS.meaning)
    pre = (accuracy_pre("mnist", r.get("accuracy")), ae_pre("mnist", r), ae_converged_pre("mnist", r),
           ae_stable_pre("mnist", r, "R", "on_ratio"), works)
    nan = _nan_estimate()
    return [
        claim("on_off_manifold.robust_R_mnist", "MNIST: a robust model's perturbations hold a larger share in the "
              "autoencoder's tangent space, beyond a random subspace's change (R robust / standard, tangent over "
              "random, below 1)", kind="paper", source=SOURCE_ROBUST, quote=QUOTE_ROBUST,
              ours=ch.get("R/tangent_vs_random", nan), criterion=ROBUST_ALIGN, scale=sc, section="oom-robust",
              preconditions=pre, control=ch["R/random"], paired=True,
              control_name="R on a random subspace of the same k (robust / standard)",
              extra={"R robust / standard, tangent": _text(ch.get("R/tangent")),
                     "R robust / standard, random": _text(ch.get("R/random")),
                     "minimal-norm distance robust / standard": _text(ch.get("dist/none"))}),
        claim("on_off_manifold.robust_R_specific_mnist", "MNIST: the robust model's gain in alignment is specific to "
              "the tangent space (R robust / standard, tangent over the top-k PCA subspace, below 1)",
              kind="extension", source=SOURCE_ROBUST + " (control: PCA)", ours=ch.get("R/tangent_vs_pca", nan),
              criterion=ROBUST_ALIGN, scale=sc, section="oom-robust", preconditions=pre,
              control=ch.get("R/pca", nan), control_name="R on the top-k PCA subspace (robust / standard)", paired=True,
              extra={"R robust / standard, tangent": _text(ch.get("R/tangent")),
                     "R robust / standard, PCA": _text(ch.get("R/pca"))}),
        claim("on_off_manifold.robust_on_mnist", "MNIST: for a robust model, on-manifold adversarial examples are "
              "relatively closer, beyond a random subspace's change (minimal-norm on / unconstrained, robust / "
              "standard, tangent over random, below 1)", kind="paper", source=SOURCE_ROBUST + "; DMM §7",
              quote=QUOTE_ROBUST_ON, ours=ch.get("on_ratio/tangent_vs_random", nan), criterion=ROBUST_ON, scale=sc,
              section="oom-robust",
              preconditions=pre + tuple(success_pre(f"minimal-norm on {s} ({m} model)", e)
                                        for (m, s), e in sorted(r.get("on_success", {}).items())),
              control=ch["on_ratio/random"], control_name="the same ratio on a random subspace of the same k",
              paired=True,
              extra={"on/unconstrained robust / standard, tangent": _text(ch.get("on_ratio/tangent")),
                     "on/unconstrained robust / standard, random": _text(ch.get("on_ratio/random")),
                     **{f"success rate, minimal-norm on {s} ({m})": _rate(e)
                        for (m, s), e in sorted(r.get("on_success", {}).items())}}),
    ]


# -- stress tests: one trend claim per sweep (:mod:`dmmlib.chapters.on_off_manifold.stress`) ---------

MORE_THAN_RANDOM_LOG = Criterion(">", 0.0, meaning="mean log R(d, M) - mean log R(d, random k-subspace) over the "
                                 "sweep, paired per image: above 0, d avoids M more than k random dimensions at the "
                                 "sweep's settings taken together")


def _sweep_claim(id: str, statement: str, r: Mapping[str, Any], P: Mapping[str, Any], section: str,
                 setting: str) -> Claim:
    sc = scale_text(P["profile"], settings=len(r["settings"]), autoencoders=r["seeds"], images=r["images"])
    extra = {"geometric-mean ratio R(d, M) / R(d, random)": list(r["ratio"]),
             f"trend: slope of the log ratio per log {setting}": r["slope"].text(),
             **{f"{setting} = {k}: {q}": v for k, row in r["per_setting"].items() for q, v in row.items()}}
    return claim(id, statement, kind="extension", source=SOURCE_T1 + " (stress test, issue 11)",
                 ours=r["cmp"], criterion=MORE_THAN_RANDOM_LOG, scale=sc, section=section,
                 preconditions=(accuracy_pre("mnist", r.get("accuracy")),
                                success_pre(f"unconstrained minimal-norm attack (lowest over the {setting}s)",
                                            r["success_min"])),
                 extra=extra)


def stress_claims(r: Mapping[str, Any] | None, P: Mapping[str, Any]) -> list[Claim]:
    """The k sweep (:func:`dmmlib.chapters.on_off_manifold.stress.sweep` of the records of
    :func:`~dmmlib.chapters.on_off_manifold.stress.run`; None or empty: none) as one claim:
    across the latent dimensions k, minimal-norm perturbations avoid the tangent space more than
    a random subspace of the same k (paired per image); per-k values and the trend in ``extra``."""
    if not r:
        return []
    ks = ", ".join(str(k) for k in r["settings"])
    return [_sweep_claim("on_off_manifold.stress_R_mnist", f"MNIST, autoencoders with k = {ks}: minimal-norm "
                         "perturbations avoid the tangent space more than a random subspace of the same k, across the "
                         "sweep (paired per image)", r, P, "oom-stress", "k")]


def stress_quality_claims(r: Mapping[str, Any] | None, P: Mapping[str, Any]) -> list[Claim]:
    """The quality sweep (:func:`dmmlib.chapters.on_off_manifold.stress.sweep` of the records of
    :func:`~dmmlib.chapters.on_off_manifold.stress.run_quality`; None or empty: none) as one claim,
    as :func:`stress_claims` across the autoencoders' training epochs."""
    if not r:
        return []
    es = ", ".join(str(e) for e in r["settings"])
    return [_sweep_claim("on_off_manifold.stress_quality_R_mnist", f"MNIST, autoencoders trained {es} epochs: "
                         "minimal-norm perturbations avoid the tangent space more than a random subspace of the same "
                         "k, across the sweep (paired per image)", r, P, "oom-stress-quality", "epochs")]


# -- stress test: a manifold known exactly (:mod:`dmmlib.chapters.on_off_manifold.known_manifold`) --------

SOURCE_KNOWN = "issue 11 (stress test of DMM App. D.2's tangent spaces on FONTS)"
CONTAINS = Criterion(">", 0.5, meaning="more than half of the true tangent space (mean squared cosine of the "
                     "principal angles) lies in the autoencoder's; a random subspace of the same k holds k/n of it")
TANGENT_NAMES = {"true": "the true tangent space", "est": "the autoencoder's tangent space"}
KNOWN_MEASURES = ("R", "E", "off_close")


def known_claims(r: Mapping[str, Any] | None, P: Mapping[str, Any]) -> list[Claim]:
    """The known-manifold claims from :func:`dmmlib.chapters.on_off_manifold.known_manifold.summarize`'s
    results ``r`` (None or empty: none; ``r["accuracy"]``, set by the notebook, is the FONTS
    classifiers' mean test accuracy, a share): the autoencoder's tangent space contains the true
    one (control: a random subspace of the same k), and tables 1 and 2's claims on the true
    tangent space and on the autoencoder's, each paired with a random subspace of its own
    dimension, so that their verdicts can be compared (:func:`known_agreement`). The on-S
    distance ratios (table 2's reading of R) and the on-S attacks' success rates are in the R
    claims' ``extra``."""
    if not r:
        return []
    sc = scale_text(P["profile"], **{"model units": r["units"]}, images=r["images"])
    acc = precondition("FONTS classifier test accuracy (mean over units)", r.get("accuracy", math.nan), ">",
                       KNOWN_ACCURACY_MIN, meaning="a classifier that has learnt the letters (no paper value)")
    none = success_pre("unconstrained minimal-norm attack", r.get("none_success"))
    nan = _nan_estimate()
    out = [claim(
        "on_off_manifold.known_contains_fonts", f"FONTS: the autoencoder's tangent space (k = {r['k']}) contains the "
        "true tangent space of the 5 affine parameters (mean squared cosine of the principal angles above 0.5)",
        kind="extension", source=SOURCE_KNOWN, ours=r["contain"], criterion=CONTAINS, scale=sc, section="oom-known",
        control=r["contain_random"], control_name=f"a random subspace of the same k (expected {r['expected_contain']:.3g})")]
    cmp = r.get("cmp", {})
    for s, name in TANGENT_NAMES.items():
        ctrl = f"random_{s}"
        ctrl_name = f"a random subspace of dimension {r['dims'][ctrl]}"
        on_s, on_c = r["on_success"].get(s), r["on_success"].get(ctrl)
        out += [
            claim(f"on_off_manifold.known_R_{s}_fonts", f"FONTS: minimal-norm perturbations avoid {name} more than "
                  f"{ctrl_name} (R(d, S) / R(d, random) above 1, paired)", kind="extension",
                  source=SOURCE_T1 + " on " + SOURCE_KNOWN, paper=PAPER_T1["mnist"][0] + " (MNIST)",
                  ours=cmp.get(f"R/{s}", nan), criterion=MORE_THAN_RANDOM, scale=sc, section="oom-known",
                  preconditions=(acc, none), control=r["R"].get(ctrl, nan), control_name=f"R(d, S), {ctrl_name}",
                  paired=True,
                  extra={"R(d, S)": _text(r["R"].get(s)), "E[R] of a random vector": r["expected_R"][s],
                         "on-S / unconstrained, minimal-norm (table 2's reading)": _text(r["on_ratio"].get(s)),
                         "on-random / unconstrained, minimal-norm": _text(r["on_ratio"].get(ctrl)),
                         "on-S distance / on-random distance (paired)": _text(cmp.get(f"on/{s}")),
                         "success rate, minimal-norm on S": _rate(on_s),
                         "success rate, minimal-norm on the random subspace": _rate(on_c)}),
            claim(f"on_off_manifold.known_E_{s}_fonts", f"FONTS: the part of d in {name} does less than the part in "
                  f"{ctrl_name} (E(S) - E(random) below 0, paired)", kind="extension",
                  source=SOURCE_T1 + " on " + SOURCE_KNOWN, paper=PAPER_T1["mnist"][1] + " (MNIST)",
                  ours=cmp.get(f"E/{s}", nan), criterion=LESS_THAN_RANDOM, scale=sc, section="oom-known",
                  preconditions=(acc, none), control=r["E"].get(ctrl, nan), control_name=f"E at x, {ctrl_name}",
                  paired=True,
                  extra={"E at x (S)": _text(r["E"].get(s)), "E at x below 0.1": E_SMALL.judge(r["E"][s]),
                         "1 / R(d, S)^2 (E read from R)": _text(r.get("inv_R2", {}).get(s))}),
            claim(f"on_off_manifold.known_off_close_{s}_fonts", f"FONTS: adversarial examples restricted to the "
                  f"complement of {name} are about as close as unconstrained ones (minimal-norm attack)",
                  kind="extension", source=SOURCE_T2 + " on " + SOURCE_KNOWN, paper=PAPER_T2["mnist"][1] + " (MNIST)",
                  ours=r["off_ratio"][s], criterion=OFF_CLOSE, scale=sc, section="oom-known",
                  preconditions=(acc, none, success_pre(f"minimal-norm attack off {name}",
                                                        r.get("off_success", {}).get(s))),
                  extra={"success rate, minimal-norm off S": _rate(r.get("off_success", {}).get(s))}),
        ]
    return out


def known_agreement(claims: list[Claim]) -> str:
    """A paragraph (Markdown) from the verdicts of :func:`known_claims`: whether the autoencoder's
    tangent space contains the true one, and for which of tables 1 and 2's claims it reaches the
    same verdict as the true tangent space. Nothing in it is typed by hand."""
    by = {c.id.split(".", 1)[1]: c for c in claims}
    if "known_contains_fonts" not in by:
        return "The known-manifold test did not run."
    words = {"R": "R above a random subspace's", "E": "an on-S effect E below a random subspace's",
             "off_close": "off-S adversarial examples about as close"}
    same, differ = [], []
    for m in KNOWN_MEASURES:
        t, e = by[f"known_{m}_true_fonts"].verdict, by[f"known_{m}_est_fonts"].verdict
        (same if t == e else differ).append(f"*{words[m]}* ({t} on the true tangent space"
                                            + ("" if t == e else f", {e} on the autoencoder's") + ")")
    parts = [f"Containment: our run **{by['known_contains_fonts'].verdict}** *the autoencoder's tangent space "
             "contains the true one*."]
    if same:
        parts.append("The autoencoder's tangent space reaches the same verdict as the true one on " + "; ".join(same) + ".")
    if differ:
        parts.append("It reaches a different verdict on " + "; ".join(differ) + ".")
    return " ".join(parts)


def known_names() -> list[str]:
    """The names (ids without the chapter) of every claim :func:`known_claims` makes."""
    return ["known_contains_fonts"] + [f"known_{m}_{s}_fonts" for s in TANGENT_NAMES for m in KNOWN_MEASURES]


def claim_details(claims: list[Claim]):
    """A DataFrame of the claims' details (``extra``: the other readings of each claim's quantity,
    the attacks' success rates) and their preconditions, one row per item, for the page."""
    import pandas as pd

    from dmmlib.report import fmt_number

    rows = []
    for c in claims:
        name = c.id.split(".", 1)[1]
        for p in c.preconditions:
            rows.append({"claim": name, "verdict": c.verdict, "detail": f"precondition: {p.name}",
                         "value": f"{fmt_number(p.value)} (needs {p.criterion.text()}; "
                                  f"{'met' if p.met else 'NOT met'})"})
        for k, v in c.extra.items():
            value = fmt_number(v) if isinstance(v, float) else str(v)
            rows.append({"claim": name, "verdict": c.verdict, "detail": k, "value": value})
    return pd.DataFrame(rows, columns=["claim", "verdict", "detail", "value"])


# -- appendix B.1, measured (issue 26, items 5 and 6; :mod:`dmmlib.chapters.on_off_manifold.appendix_b`) --

SOURCE_B1 = "DMM App. B.1"
QUOTE_B1_OFF = ("the image created by the off-manifold projection $x + (d - Proj_M(d))$ is almost adversarial (i.e., "
                "it almost flips the class associated with the max logit)")
QUOTE_B1_ON = ("the on-manifold projection $x + Proj_M(d)$ barely changes the output logits (i.e., it has almost no "
               "adversarial effect)")
QUOTE_B1_MEANINGFUL = ("one can see that the on-manifold projection of the adversarial perturbation is visually "
                       "meaningful, trying to modify x into an image with the characteristic features of the target "
                       "class")
#: the off-M part achieves more of d's margin drop than the part off a random k-subspace (paired). Any
#: complement of k << n dimensions keeps most of d, so "almost adversarial" alone is met by every
#: subspace: what is about M is whether removing M's part costs less than removing k random dimensions.
B1_OFF_MORE = Criterion(">", 0.0, meaning="margin-drop share of x + (d - Proj_M d) minus that of x + (d - Proj_S d), "
                        "S a random k-subspace, paired: above 0, the off-M part is more adversarial than the off-S part")
B1_ON_LESS = Criterion("<", 0.0, meaning="relative logit change ||f(x + Proj_M d) - f(x)|| / ||f(x + d) - f(x)|| minus "
                       "the same for Proj_S d, paired: below 0, the on-M part changes the logits less than k random "
                       "dimensions of d")
B1_SHIFT_MORE = Criterion(">", 0.0, meaning="gain of a separately trained classifier's target margin g_t - g_y per "
                          "unit L2 of the on-M part minus that of the control part, paired: above 0, the on-M part "
                          "moves the other classifier toward the target class more, per unit norm")
#: where the control part is d's own off-M part or a random subspace's on part
B1_CONTROLS = {"off": "the off-manifold part d - Proj_M d", "rand": "the part of d in a random k-subspace"}


def _other_pre(ds: str, b: Mapping[str, Any]):
    return precondition(f"{NAMES.get(ds, ds)} separately trained classifier ({b.get('other', '')}) test accuracy",
                        b.get("other_accuracy", math.nan), ">", ACCURACY_MIN.get(ds, 0.9),
                        meaning="a classifier that has learnt the task, as the attacked one must")


def b1_claims(results: Mapping[str, Mapping[str, Any]], b1: Mapping[str, Mapping[str, Any]],
              P: Mapping[str, Any]) -> list[Claim]:
    """Appendix B.1's claims per data set in ``b1`` (:func:`appendix_b.summarize` plus "other" and
    "other_accuracy" from :func:`appendix_b.run_dataset`), with the preconditions of the data set's
    table-1 results ``results[ds]`` (classifier accuracy, autoencoder error and convergence,
    table-1 attack success): ``b1_off_<ds>`` (the off-M part is more adversarial than a random
    subspace's off part), ``b1_on_<ds>`` (the on-M part changes the logits less than a random
    subspace's part), and, with a separately trained classifier, ``b1_meaningful_<ds>`` (the on-M
    part moves it toward the target class more per unit norm than the off-M part) and
    ``b1_meaningful_random_<ds>`` (than a random subspace's part). The margins at x, x + d and the
    four parts, and the shares of images each part alone flips, are the claims' ``extra``."""
    out: list[Claim] = []
    nan = _nan_estimate()
    for ds, b in b1.items():
        r = results.get(ds, {})
        name = NAMES.get(ds, ds)
        sc = scale_text(P["profile"], models=b["units"], images=b["n"])
        base = (accuracy_pre(ds, r.get("accuracy")), ae_pre(ds, r), ae_converged_pre(ds, r), ae_stable_pre(ds, r, "R"),
                success_pre("table-1 PGD attack", r.get("t1_success")))
        margins = {f"margin at {k}": _text(v) for k, v in b["margin"].items()}
        flips = {f"share misclassified, x + {k}": _rate(v) for k, v in b["flip"].items()}
        out.append(claim(
            f"on_off_manifold.b1_off_{ds}", f"{name}: the off-manifold part of d does more of d's work than the part "
            "off a random k-subspace (margin-drop share, off-M minus off-S, above 0, paired)", kind="paper",
            source=SOURCE_B1, quote=QUOTE_B1_OFF, paper="shown on single images (figures 7, 9-17), no number",
            ours=b["cmp"].get("off_drop", nan), criterion=B1_OFF_MORE, scale=sc, section="oom-b1", preconditions=base,
            control=b["drop"].get("off_rand", nan), control_name="margin-drop share of x + (d - Proj_S d)", paired=True,
            extra={"margin-drop share, x + (d - Proj_M d)": _text(b["drop"].get("off")),
                   "margin-drop share, x + (d - Proj_S d)": _text(b["drop"].get("off_rand")),
                   "share the off-M part alone flips": _rate(b["flip"].get("off")),
                   "share the off-S part alone flips": _rate(b["flip"].get("off_rand")), **margins}))
        out.append(claim(
            f"on_off_manifold.b1_on_{ds}", f"{name}: the on-manifold part of d changes the logits less than the part "
            "of d in a random k-subspace (relative logit change, on-M minus on-S, below 0, paired)", kind="paper",
            source=SOURCE_B1, quote=QUOTE_B1_ON, paper="shown on single images (figures 7, 9-17), no number",
            ours=b["cmp"].get("on_change", nan), criterion=B1_ON_LESS, scale=sc, section="oom-b1", preconditions=base,
            control=b["change"].get("on_rand", nan), control_name="relative logit change of x + Proj_S d", paired=True,
            extra={"relative logit change, x + Proj_M d": _text(b["change"].get("on")),
                   "relative logit change, x + Proj_S d": _text(b["change"].get("on_rand")),
                   "margin-drop share, x + Proj_M d": _text(b["drop"].get("on")),
                   "share the on-M part alone flips": _rate(b["flip"].get("on")),
                   "share the on-S part alone flips": _rate(b["flip"].get("on_rand")), **flips}))
        if "shift" not in b:
            continue
        pre = base + (_other_pre(ds, b),)
        for key, cmp_key, ctrl in (("", "shift_off", "off"), ("_random", "shift_rand", "on_rand")):
            what = B1_CONTROLS["off" if ctrl == "off" else "rand"]
            out.append(claim(
                f"on_off_manifold.b1_meaningful{key}_{ds}", f"{name}: the on-manifold part of d moves a separately "
                f"trained classifier toward the attack's target class more, per unit L2, than {what} (paired)",
                kind="paper", source=SOURCE_B1, quote=QUOTE_B1_MEANINGFUL,
                paper="shown on single images (figures 7, 9-17), no number", ours=b["cmp"].get(cmp_key, nan),
                criterion=B1_SHIFT_MORE, scale=sc, section="oom-b1", preconditions=pre,
                control=b["shift"].get(ctrl, nan), control_name=f"gain per unit L2 of {what}", paired=True,
                extra={"separately trained classifier": b.get("other", ""),
                       **{f"gain of g_t - g_y per unit L2, {p}": _text(v) for p, v in b["shift"].items()},
                       **{f"gain of g_t - g_y, {p}": _text(v) for p, v in b.get("gain", {}).items()},
                       "share of x the separately trained classifier gets right": _rate(b.get("g_correct"))}))
    return out


def b1_names(datasets=("mnist", "cifar10")) -> list[str]:
    """The names (ids without the chapter) of the claims :func:`b1_claims` makes for ``datasets``
    (with a separately trained classifier: MNIST and CIFAR-10)."""
    return [f"b1_{q}_{ds}" for ds in datasets for q in ("off", "on", "meaningful", "meaningful_random")]
