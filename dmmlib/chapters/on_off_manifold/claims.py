"""The claims of the chapter "Adversarial examples on and off the image manifold" and the
criteria that judge them, fixed here before any run.

``claims(results, P)`` takes ``results = {dataset: summary.summarize(...)}`` and returns one
list of :class:`dmmlib.claims.Claim` per dataset and claim:

- the paper's tables 1 and 2 (appendix E): R(d, M) above a random vector's E[R]; the
  on-manifold relative effect E small (at x, and at x' as the paper evaluates it); on-manifold
  adversarial examples much further than unconstrained ones, off-manifold ones about as
  close; the first two with a random k-dimensional subspace as their control, which must
  fail the same criterion for the claim to say anything about the manifold;
- "is the tangent space special?" (issue 11): for each control subspace of the same k
  (random, PCA, another image's tangent space, low-frequency DCT), R and the on-manifold
  distance in the tangent space against the control: *special* when they differ by more
  than 10 % (band [0.9, 1.1] for the ratio tangent / control: inside is "no different");
- protocol checks: the on-manifold distance does not depend on the on-manifold step factor
  (ratio of the largest to the smallest factor's within [0.8, 1.25]); the paper's
  "on-manifold" PGD perturbations lie on M (less than 10 % of their norm off it, measured as
  sqrt(1 - r^2), r = ||Proj_M delta|| / ||delta||); the box-free on-manifold attack, which
  stays in M exactly, still needs more than twice the unconstrained distance.
"""
from __future__ import annotations

from typing import Any, Mapping

from dmmlib.claims import Claim, Criterion, Estimate, claim, scale_text

SOURCE_T1 = "DMM App. E.2, Table 1"
SOURCE_T2 = "DMM App. E.3, Table 2"
PAPER_T1 = {"mnist": ("3.68", "8 %"), "cifar10": ("5.59", "4 %"), "imagenet": ("5.5", "2 %")}
PAPER_T2 = {"mnist": ("364 %", "103 %"), "cifar10": ("623 %", "101 %"), "imagenet": ("570 %", "102 %")}
NAMES = {"mnist": "MNIST", "cifar10": "CIFAR-10", "imagenet": "ImageNet"}
CONTROL_NAMES = {"random": "a random subspace", "pca": "the top-k PCA subspace",
                 "other": "another image's tangent space", "dct": "the k lowest DCT frequencies",
                 "tangent_fd": "the finite-difference tangent space", "tangent_jvp": "the exact tangent space"}

# criteria, fixed before the run
E_SMALL = Criterion("<", 0.1, meaning="the paper calls 2-8 % tiny; 10 % leaves room for its largest")
ON_FAR = Criterion(">", 2.0, meaning="'much further': the paper's on-manifold distances are 3.6-6.2 times larger")
OFF_CLOSE = Criterion("<", 1.2, meaning="'only slightly further': the paper's off/unconstrained ratios are 1.01-1.03")
SPECIAL = Criterion("outside", 0.9, upper=1.1, meaning="tangent / control differing by more than 10 % either way")
STEP_FREE = Criterion("within", 0.8, upper=1.25, meaning="a distance that measures geometry moves by less than 25 % "
                      "when the on-manifold step changes tenfold")
ON_MANIFOLD = Criterion("<", 0.1, meaning="'on-manifold' should leave less than 10 % of the norm off M")


def _scale(P: Mapping[str, Any], r: Mapping[str, Any]) -> str:
    return scale_text(P["profile"], models=r["units"], images=r["images"])


def _on_ratio(r: Mapping[str, Any]) -> tuple[Estimate, str, Estimate | None, str]:
    """The step-size-free on/unconstrained ratio when the minimal-norm attack ran, else PGD's at
    the smallest on-manifold step factor (the least overshoot), what it is, and the same ratio
    on a random subspace (the control) with its name."""
    mn = r.get("min_norm", {}).get("ratio", {})
    if "on/tangent" in mn:
        return mn["on/tangent"], "minimal-norm attack", mn.get("on/random"), "a random subspace (minimal-norm attack)"
    f = min(float(k.split("/")[1]) for k in r["ratio"] if k.startswith("onf/"))
    return (r["ratio"][f"onf/{f:g}"], f"PGD, on-manifold step factor {f:g}", r["ratio"].get("on/random"),
            "a random subspace (PGD, the paper's step factor)")


def claims(results: Mapping[str, Mapping[str, Any]], P: Mapping[str, Any]) -> list[Claim]:
    """The chapter's claims for every dataset in ``results`` (see the module docstring)."""
    out: list[Claim] = []
    for ds, r in results.items():
        name, sc = NAMES.get(ds, ds), _scale(P, r)
        paper_r, paper_e = PAPER_T1.get(ds, ("", ""))
        paper_on, paper_off = PAPER_T2.get(ds, ("", ""))
        rand = "random" in r["R"]
        out.append(claim(
            f"on_off_manifold.R_{ds}", f"{name}: PGD perturbations avoid the tangent space more than a random vector "
            "does (R(d, M) above its E[R])", source=SOURCE_T1, paper=f"{paper_r} (√(n/k) = {r['sqrt_nk']:.3g})",
            ours=r["R"]["tangent"], criterion=Criterion(">", r["expected_R"], meaning="E[R] of a random vector (App. I, exact)"),
            scale=sc, section="oom-table1"))
        out.append(claim(
            f"on_off_manifold.E_{ds}", f"{name}: the on-manifold part of d does little (relative effect E at x small)",
            source=SOURCE_T1, paper=paper_e, ours=r["E"]["tangent"], criterion=E_SMALL, scale=sc, section="oom-table1",
            control=r["E"]["random"] if rand else None, control_name="random subspace" if rand else ""))
        out.append(claim(
            f"on_off_manifold.E_xr_{ds}", f"{name}: E evaluated at x' = D(E(x)) as the paper writes it is small",
            source=SOURCE_T1, paper=paper_e, ours=r["E_xr"], criterion=E_SMALL, scale=sc, section="oom-table1"))
        ratio, how, rand_on, rand_name = _on_ratio(r)
        out.append(claim(
            f"on_off_manifold.on_far_{ds}", f"{name}: on-manifold adversarial examples are much further than "
            f"unconstrained ones ({how})", source=SOURCE_T2, paper=paper_on, ours=ratio, criterion=ON_FAR, scale=sc,
            section="oom-table2", control=rand_on, control_name=rand_name if rand_on else ""))
        out.append(claim(
            f"on_off_manifold.off_close_{ds}", f"{name}: off-manifold adversarial examples are about as close as "
            "unconstrained ones", source=SOURCE_T2, paper=paper_off, ours=r["ratio"]["off/tangent"],
            criterion=OFF_CLOSE, scale=sc, section="oom-table2"))
        for c, vs in r["vs"].items():
            if c.startswith("tangent_"):
                continue
            cname = CONTROL_NAMES.get(c, c)
            out.append(claim(
                f"on_off_manifold.special_R_{ds}_{c}", f"{name}: the tangent space holds a different share of d than "
                f"{cname} (R ratio tangent / control)", source="issue 11 (control for DMM §7)", ours=vs["R"],
                criterion=SPECIAL, scale=sc, section="oom-controls"))
            if "on" in vs:
                out.append(claim(
                    f"on_off_manifold.special_on_{ds}_{c}", f"{name}: on-manifold PGD needs a different distance in the "
                    f"tangent space than in {cname} (ratio tangent / control)", source="issue 11 (control for DMM §7)",
                    ours=vs["on"], criterion=SPECIAL, scale=sc, section="oom-controls"))
        if "factor_effect" in r:
            lo, hi = r["factors"]
            out.append(claim(
                f"on_off_manifold.step_free_{ds}", f"{name}: the on-manifold PGD distance does not depend on the step "
                f"(factor {hi:g} over factor {lo:g})", source="DMM App. F (protocol)", ours=r["factor_effect"],
                criterion=STEP_FREE, scale=sc, section="oom-stepsize"))
        out.append(claim(
            f"on_off_manifold.clamp_{ds}", f"{name}: the paper's on-manifold PGD perturbations lie on M (share of the "
            "norm off M)", source="DMM App. F (protocol)", ours=r["offshare"]["on"], criterion=ON_MANIFOLD, scale=sc,
            section="oom-clamp"))
        if "boxfree/on" in r["ratio"]:
            out.append(claim(
                f"on_off_manifold.boxfree_on_far_{ds}", f"{name}: without the pixel box (so exactly on M) on-manifold "
                "adversarial examples are still much further than unconstrained ones", source=SOURCE_T2,
                paper=paper_on, ours=r["ratio"]["boxfree/on"], criterion=ON_FAR, scale=sc, section="oom-clamp"))
    return out


def conclusion(claims: list[Claim], dataset: str) -> str:
    """A paragraph (Markdown) for ``dataset`` that follows from the verdicts of ``claims``:
    which of the paper's statements our run supports, and how the tangent space compares with
    the controls. Nothing in it is typed by hand: change a verdict and the text changes."""
    by = {c.id.split(".", 1)[1]: c for c in claims}
    name = NAMES.get(dataset, dataset)

    def word(key: str) -> str:
        c = by.get(f"{key}_{dataset}")
        return f"**{c.verdict}**" if c else "not tested"

    parts = [f"{name}: our run {word('R')} *R(d, M) above a random vector's*, {word('E')} *a small on-manifold "
             f"effect E*, {word('on_far')} *on-manifold adversarial examples much further* and {word('off_close')} "
             "*off-manifold ones about as close*."]
    groups = {"supports": [], "contradicts": [], "inconclusive": []}
    for key, c in by.items():
        if key.startswith("special_R_") and key.endswith(tuple(f"_{c2}" for c2 in CONTROL_NAMES)) and f"_{dataset}_" in key:
            groups[c.verdict].append(CONTROL_NAMES.get(key.rsplit("_", 1)[1], key))
    text = []
    if groups["supports"]:
        text.append(f"differs from {', '.join(groups['supports'])}")
    if groups["contradicts"]:
        text.append(f"is indistinguishable (within 10 %) from {', '.join(groups['contradicts'])}")
    if groups["inconclusive"]:
        text.append(f"is undecided against {', '.join(groups['inconclusive'])}")
    if text:
        parts.append("In how much of d it holds (R), the tangent space " + "; ".join(text) + ".")
    if f"step_free_{dataset}" in by:
        v = by[f"step_free_{dataset}"].verdict
        parts.append({"supports": "The on-manifold PGD distance does not depend on the step factor.",
                      "contradicts": "The on-manifold PGD distance depends on the step factor: the paper's protocol "
                                     "measures its step as well as the geometry.",
                      "inconclusive": "Whether the on-manifold PGD distance depends on the step factor is undecided."}[v])
    return " ".join(parts)


# -- robust models (issue 11, item 9; :mod:`dmmlib.chapters.on_off_manifold.robust`) ---------------

SOURCE_ROBUST = "DMM §5.1; Tsipras et al. 2019"
ROBUST_WORKS = Criterion(">", 1.2, meaning="adversarial training must raise the mean minimal-norm distance by more "
                         "than 20 % for the comparison to be about a robust model")
ROBUST_ALIGN = Criterion("<", 0.9, meaning="robust / standard below 0.9: the robust model's perturbation holds a "
                         "clearly (> 10 %) larger share in the subspace")
ROBUST_SPECIFIC = Criterion("<", 0.9, meaning="the tangent space's R falls by more than 10 % beyond what the top-k PCA "
                            "subspace's R falls")


def robust_claims(r: Mapping[str, Any] | None, P: Mapping[str, Any]) -> list[Claim]:
    """The robust-model claims from :func:`dmmlib.chapters.on_off_manifold.robust.summarize`'s
    results ``r`` (None or empty: no claims). Ratios are robust / standard on the same images,
    autoencoder and subspaces; each alignment claim has the same ratio on a random subspace of
    the same k as its control: if that also falls below 0.9, the change is not about M."""
    if not r:
        return []
    ch = r["change"]
    sc = scale_text(P["profile"], models=r["units"], images=r["images"])
    return [
        claim("on_off_manifold.robust_trained_mnist", "MNIST: the adversarially trained classifier is more robust "
              "(mean minimal-norm distance, robust / standard)", source="Madry et al. 2018 (check of the setup)",
              ours=ch["dist/none"], criterion=ROBUST_WORKS, scale=sc, section="oom-robust"),
        claim("on_off_manifold.robust_R_mnist", "MNIST: a robust model's perturbations align more with the "
              "autoencoder's manifold (R(d, M) robust / standard below 0.9)", source=SOURCE_ROBUST,
              ours=ch["R/tangent"], criterion=ROBUST_ALIGN, scale=sc, section="oom-robust",
              control=ch["R/random"], control_name="R on a random subspace of the same k (robust / standard)"),
        claim("on_off_manifold.robust_R_specific_mnist", "MNIST: the robust model's gain in alignment is specific to "
              "the tangent space (its R ratio robust / standard over the same ratio for the top-k PCA subspace below "
              "0.9)", source=SOURCE_ROBUST + " (control: PCA)", ours=ch["R/tangent_vs_pca"], criterion=ROBUST_SPECIFIC,
              scale=sc, section="oom-robust"),
        claim("on_off_manifold.robust_on_mnist", "MNIST: for a robust model, on-manifold adversarial examples are "
              "relatively closer (minimal-norm on / unconstrained, robust / standard below 0.9)", source=SOURCE_ROBUST,
              ours=ch["on_ratio/tangent"], criterion=ROBUST_ALIGN, scale=sc, section="oom-robust",
              control=ch["on_ratio/random"], control_name="the same ratio on a random subspace of the same k"),
    ]


# -- stress test: the latent dimension k (issue 11, item 8; :mod:`dmmlib.chapters.on_off_manifold.stress`) --


def _stress_pair(key: str, who: str, v: Mapping[str, Any], sc: str, sweep: str, section: str) -> list[Claim]:
    """Table 1's R claim and table 2's on-far claim for one autoencoder setting of a stress sweep:
    ids ``stress_<key>``-based, ``who`` names the autoencoder in the statements, ``v`` holds the
    Estimates "R", "on_ratio", "on_random_ratio" and the float "expected_R"."""
    r_id, on_id = (f"on_off_manifold.stress_{key.format(measure=m)}" for m in ("R", "on_far"))
    return [
        claim(r_id, f"MNIST, {who}: minimal-norm perturbations avoid the tangent space more than a random vector "
              "does (R(d, M) above its E[R])", source=SOURCE_T1 + f" (stress test in {sweep}, issue 11)", ours=v["R"],
              criterion=Criterion(">", v["expected_R"], meaning="E[R] of a random vector (App. I, exact)"),
              scale=sc, section=section),
        claim(on_id, f"MNIST, {who}: on-manifold adversarial examples are much further than unconstrained ones "
              "(minimal-norm attack)", source=SOURCE_T2 + f" (stress test in {sweep}, issue 11)", ours=v["on_ratio"],
              criterion=ON_FAR, scale=sc, section=section, control=v["on_random_ratio"],
              control_name="a random subspace of the same k"),
    ]


def stress_claims(r: Mapping[int, Mapping[str, Any]] | None, P: Mapping[str, Any]) -> list[Claim]:
    """Per latent dimension k of :func:`dmmlib.chapters.on_off_manifold.stress.summarize`'s
    results ``r`` (None or empty: none): does table 1's R claim (R(d, M) above a random vector's
    E[R]) and table 2's on-far claim (minimal-norm on / unconstrained above 2, random subspace of
    the same k as the control) hold at every k?"""
    return [c for k, v in sorted((r or {}).items())
            for c in _stress_pair(f"{{measure}}_mnist_k{k}", f"autoencoder with k = {k}", v,
                                  scale_text(P["profile"], models=1, images=v["R"].n), "k", "oom-stress")]


def stress_quality_claims(r: Mapping[int, Mapping[str, Any]] | None, P: Mapping[str, Any]) -> list[Claim]:
    """Per training-epoch count of the quality sweep
    (:func:`dmmlib.chapters.on_off_manifold.stress.summarize_quality`'s results ``r``; None or
    empty: none): table 1's R claim and table 2's on-far claim, as in :func:`stress_claims`, for
    autoencoders of the same k trained for that many epochs (intervals over autoencoder seeds
    and images)."""
    return [c for e, v in sorted((r or {}).items())
            for c in _stress_pair(f"quality_{{measure}}_mnist_e{e}", f"autoencoder trained {e} epoch(s)", v,
                                  scale_text(P["profile"], autoencoders=v["units"], images=v["images"]),
                                  "autoencoder quality", "oom-stress-quality")]


# -- stress test: a manifold known exactly (:mod:`dmmlib.chapters.on_off_manifold.known_manifold`) --------

SOURCE_KNOWN = "issue 11 (stress test of DMM App. D.2's tangent spaces on FONTS)"
CONTAINS = Criterion(">", 0.5, meaning="more than half of the true tangent space (mean squared cosine of the "
                     "principal angles) lies in the autoencoder's; a random subspace of the same k holds k/n of it")
TANGENT_NAMES = {"true": "the true tangent space", "est": "the autoencoder's tangent space"}
KNOWN_MEASURES = ("R", "E", "on_far", "off_close")


def known_claims(r: Mapping[str, Any] | None, P: Mapping[str, Any]) -> list[Claim]:
    """The known-manifold claims from :func:`dmmlib.chapters.on_off_manifold.known_manifold.summarize`'s
    results ``r`` (None or empty: none): the autoencoder's tangent space contains the true one
    (control: a random subspace of the same k), and tables 1 and 2's claims on the true tangent
    space and on the autoencoder's (each with a random subspace of its own dimension as the
    control), so that their verdicts can be compared (:func:`known_agreement`)."""
    if not r:
        return []
    sc = scale_text(P["profile"], **{"model units": r["units"]}, images=r["images"])
    out = [claim(
        "on_off_manifold.known_contains_fonts", f"FONTS: the autoencoder's tangent space (k = {r['k']}) contains the "
        "true tangent space of the 5 affine parameters (mean squared cosine of the principal angles above 0.5)",
        source=SOURCE_KNOWN, ours=r["contain"], criterion=CONTAINS, scale=sc, section="oom-known",
        control=r["contain_random"], control_name=f"a random subspace of the same k (expected {r['expected_contain']:.3g})")]
    for s, name in TANGENT_NAMES.items():
        ctrl = f"random_{s}"
        ctrl_name = f"a random subspace of dimension {r['dims'][ctrl]}"
        out += [
            claim(f"on_off_manifold.known_R_{s}_fonts", f"FONTS: minimal-norm perturbations avoid {name} more than a "
                  "random vector does (R(d, S) above its E[R])", source=SOURCE_T1 + " on " + SOURCE_KNOWN,
                  paper=PAPER_T1["mnist"][0] + " (MNIST)", ours=r["R"][s],
                  criterion=Criterion(">", r["expected_R"][s], meaning="E[R] of a random vector (App. I, exact)"),
                  scale=sc, section="oom-known"),
            claim(f"on_off_manifold.known_E_{s}_fonts", f"FONTS: the part of d in {name} does little (E at x small)",
                  source=SOURCE_T1 + " on " + SOURCE_KNOWN, paper=PAPER_T1["mnist"][1] + " (MNIST)", ours=r["E"][s],
                  criterion=E_SMALL, scale=sc, section="oom-known", control=r["E"][ctrl], control_name=ctrl_name),
            claim(f"on_off_manifold.known_on_far_{s}_fonts", f"FONTS: adversarial examples restricted to {name} are much "
                  "further than unconstrained ones (minimal-norm attack)", source=SOURCE_T2 + " on " + SOURCE_KNOWN,
                  paper=PAPER_T2["mnist"][0] + " (MNIST)", ours=r["on_ratio"][s], criterion=ON_FAR, scale=sc,
                  section="oom-known", control=r["on_ratio"][ctrl], control_name=ctrl_name),
            claim(f"on_off_manifold.known_off_close_{s}_fonts", f"FONTS: adversarial examples restricted to the "
                  f"complement of {name} are about as close as unconstrained ones (minimal-norm attack)",
                  source=SOURCE_T2 + " on " + SOURCE_KNOWN, paper=PAPER_T2["mnist"][1] + " (MNIST)",
                  ours=r["off_ratio"][s], criterion=OFF_CLOSE, scale=sc, section="oom-known"),
        ]
    return out


def known_agreement(claims: list[Claim]) -> str:
    """A paragraph (Markdown) from the verdicts of :func:`known_claims`: whether the autoencoder's
    tangent space contains the true one, and for which of tables 1 and 2's claims it reaches the
    same verdict as the true tangent space. Nothing in it is typed by hand."""
    by = {c.id.split(".", 1)[1]: c for c in claims}
    if "known_contains_fonts" not in by:
        return "The known-manifold test did not run."
    words = {"R": "R above a random vector's", "E": "a small on-manifold effect E",
             "on_far": "on-manifold adversarial examples much further", "off_close": "off-manifold ones about as close"}
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
