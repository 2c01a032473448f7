"""The chapter "Adversarial examples on and off the image manifold" runs under smoke and glues
values that are consistent with each other and claims the ledger can read."""
import math
import re

import pytest

from dmmlib import params
from dmmlib.chapters.on_off_manifold import claims as cl
from dmmlib.claims import VERDICTS, from_json
from dmmlib.data.fonts import PARAM_NAMES
from dmmlib.subspaces import expected_random_ratio
from tests.chapter_runner import run_chapter

INTERVAL = re.compile(r"^(-?[\d.,e+-]+) \[(-?[\d.,e+-]+), (-?[\d.,e+-]+)\]")


def interval(text: str) -> tuple[float, float, float]:
    m = INTERVAL.match(str(text).strip("'\""))
    assert m, f"not 'value [lo, hi]': {text!r}"
    return tuple(float(g.replace(",", "")) for g in m.groups())


@pytest.fixture(scope="module")
def values():
    return run_chapter("on_off_manifold", profile="smoke")


def test_claims_parse_with_the_expected_ids_and_verdicts(values):
    claims = {c.id: c for c in from_json(values["claims"])}
    for ds in ("mnist", "cifar10"):
        for name in ("R_paper", "R", "E", "off_close", "step_free", "clamp"):
            assert f"on_off_manifold.{name}_{ds}" in claims, (name, ds)
        for c in cl.SPECIAL_CONTROLS:
            assert f"on_off_manifold.special_R_{ds}_{c}" in claims
        for gone in ("on_far", "E_xr", "boxfree_on_far"):  # merged into R and E (one claim per quantity)
            assert f"on_off_manifold.{gone}_{ds}" not in claims
    for c in claims.values():
        assert c.verdict in VERDICTS and c.section.startswith("oom-") and c.source and c.kind
        assert values[f"verdict_word_{c.id.split('.', 1)[1]}"] == c.verdict
        if c.ours.defined:
            assert c.ours.lo <= c.ours.value <= c.ours.hi, c.id
        if c.verdict == "not tested":
            assert not c.tested and "precondition" in c.reason
    # the MNIST smoke run has two classifiers: the intervals are over models and images
    assert claims["on_off_manifold.R_paper_mnist"].ours.n == values["oom_mnist_t1_n"]
    assert "2 models" in claims["on_off_manifold.R_mnist"].ours.n_of
    # R against a random subspace: paired, one-sided; the exact E[R] of a random vector beside it
    R = claims["on_off_manifold.R_mnist"]
    assert R.paired and R.criterion.direction == ">" and R.criterion.threshold == 1.0
    assert R.extra["E[R] of a random vector (exact)"] == pytest.approx(values["oom_mnist_ER"])
    assert 0 <= R.extra["success rate, PGD on M"] <= 1
    assert any("accuracy" in p.name for p in R.preconditions)
    # the stress tests (issue 11, item 8): one claim per sweep, and the known manifold
    P = params.resolve("on_off_manifold", "smoke")
    for name, section in (("stress_R", "oom-stress"), ("stress_quality_R", "oom-stress-quality")):
        c = claims[f"on_off_manifold.{name}_mnist"]
        assert c.section == section and 0 < c.ours.n <= P["stress_n_images"]
    assert f"{P['stress_quality_seeds']} autoencoder seeds" in claims["on_off_manifold.stress_quality_R_mnist"].ours.n_of
    for name in cl.known_names():
        c = claims[f"on_off_manifold.{name}"]
        assert c.section == "oom-known" and f"{P['known_models']} model units" in c.ours.n_of


def test_stress_quality_values(values):
    P = params.resolve("on_off_manifold", "smoke")
    assert values["oom_quality_epochs"].strip("'") == ", ".join(str(e) for e in P["stress_quality_epochs"])
    assert values["oom_quality_first"] == min(P["stress_quality_epochs"])
    assert values["oom_quality_last"] == max(P["stress_quality_epochs"])
    assert values["oom_quality_rows"] == P["stress_quality_seeds"] * P["stress_n_images"]
    assert values["oom_quality_k"] == 16 and values["oom_quality_ER"] == pytest.approx(expected_random_ratio(784, 16))
    claims = {c.id: c for c in from_json(values["claims"])}
    for which in ("first", "last"):
        e = values[f"oom_quality_{which}"]
        R = interval(values[f"oom_quality_R_{which}"])
        assert 1 <= R[1] <= R[0] <= R[2] < 28
        assert f"epochs = {e}: ratio" in claims["on_off_manifold.stress_quality_R_mnist"].extra
        err = interval(values[f"oom_quality_err_{which}"])
        assert 0 < err[1] <= err[0] <= err[2] < 28  # ||x - x'|| of [0,1] pixels is below sqrt(784)
        on = interval(values[f"oom_quality_on_{which}"])
        assert on[0] > 1  # a subspace-restricted minimal-norm attack cannot beat the unconstrained one by much
    assert "Figure" in str(values["oom_fig_quality"])


def test_known_manifold_values(values):
    P = params.resolve("on_off_manifold", "smoke")
    k = P["known_latent_dim"]
    assert values["oom_known_images"] == P["known_models"] * P["known_n_images"]
    assert values["oom_known_k"] == k and values["oom_known_units"] == P["known_models"]
    assert values["oom_known_expected_contain"] == pytest.approx(k / 784)
    contain, lo, hi = interval(values["oom_known_contain"])
    assert 0 <= lo <= contain <= hi <= 1
    rand = interval(values["oom_known_contain_random"])
    assert rand[0] == pytest.approx(k / 784, rel=0.5) and rand[0] < contain  # an autoencoder beats chance
    assert values["oom_known_best_param"] in PARAM_NAMES and values["oom_known_worst_param"] in PARAM_NAMES
    assert interval(values["oom_known_best_share"])[0] >= interval(values["oom_known_worst_share"])[0]
    assert values["oom_known_ER_true"] == pytest.approx(expected_random_ratio(784, 5))
    assert values["oom_known_ER_est"] == pytest.approx(expected_random_ratio(784, k))
    claims = {c.id: c for c in from_json(values["claims"])}
    for s in ("true", "est"):
        R = interval(values[f"oom_known_R_{s}"])
        assert 1 <= R[1] <= R[0] <= R[2]
        c = claims[f"on_off_manifold.known_R_{s}_fonts"]
        assert c.extra["E[R] of a random vector"] == pytest.approx(values[f"oom_known_ER_{s}"]) and c.paired
        assert interval(values[f"oom_known_off_{s}"])[0] >= 0.95  # off S is never much closer than unconstrained
        assert 0 <= interval(values[f"oom_known_on_success_{s}"])[0] <= 1
    assert 50 < values["oom_known_acc"] <= 100
    assert "Figure" in str(values["oom_fig_known"])


def test_table1_values(values):
    for ds, n, k in (("mnist", 784, 16), ("cifar10", 3072, 128)):
        assert values[f"oom_{ds}_sqrtnk"] == pytest.approx(math.sqrt(n / k))
        assert values[f"oom_{ds}_ER"] > values[f"oom_{ds}_sqrtnk"]
        R, lo, hi = interval(values[f"oom_{ds}_R"])
        assert 1 <= lo <= R <= hi < math.sqrt(n)
        assert 0 < values[f"oom_{ds}_t1_success"] <= 100
        assert 0 <= values[f"oom_{ds}_xr_valid"] <= values[f"oom_{ds}_t1_n"] <= values[f"oom_images_{ds}"]
        assert 0 <= values[f"oom_{ds}_flip_on"] <= 100


def test_table2_values(values):
    for ds in ("mnist", "cifar10"):
        none, on, off = (interval(values[f"oom_{ds}_{k}"])[0] for k in ("none", "on", "off"))
        assert 0 < none <= values[f"oom_t2_eps_{ds}"] and 0 < off <= values[f"oom_t2_eps_{ds}"]
        assert 0 < on <= values[f"oom_t2_eps_{ds}"]
        # the glued percentage is the ratio of the glued means up to the pairing of images
        pct = interval(values[f"oom_{ds}_onpct"])[0]
        assert pct > 100  # on-manifold PGD goes further, already in smoke
        mn_on, mn_off = interval(values[f"oom_{ds}_mn_onpct"])[0], interval(values[f"oom_{ds}_mn_offpct"])[0]
        assert mn_on > mn_off > 50
        share, slo, shi = interval(values[f"oom_{ds}_offshare_on"])
        assert 0 <= slo <= share <= shi <= 100


def test_parameters_are_glued_from_the_profile(values):
    P = params.resolve("on_off_manifold", "smoke")
    assert values["oom_t2_steps"] == P["t2_steps"] and values["oom_on_step_factor"] == P["on_step_factor"]
    assert values["oom_t1_step_mnist"] == P["t1_step"]["mnist"] and values["oom_t2_eps_cifar10"] == P["t2_eps"]["cifar10"]
    assert values["oom_step_factors"].strip("'") == ", ".join(f"{f:g}" for f in P["step_factors"])
    assert values["oom_images_mnist"] == P["models"]["mnist"] * P["n_images"]["mnist"]
    assert values["oom_imagenet_status"].strip("'").startswith("not run")
    for ds in ("mnist", "cifar10"):
        assert 50 < values[f"oom_acc_{ds}"] <= 100
    for key in ("oom_fig_proj_mnist", "oom_fig_sep_cifar10", "oom_fig_linf_mnist", "oom_fig_ratio_cifar10"):
        assert "Figure" in str(values[key])


def test_appendix_b1_claims_and_figures(values):
    """Issue 26, items 5 and 6: appendix B.1 measured on both data sets, each claim paired with
    its control; the ImageNet figures say why they are empty."""
    claims = {c.id: c for c in from_json(values["claims"])}
    for name in cl.b1_names(("mnist", "cifar10")):
        c = claims[f"on_off_manifold.{name}"]
        assert c.section == "oom-b1" and c.kind == "paper" and c.paired and c.quote, name
        assert c.ours.n > 0 and "model" in c.ours.n_of
    other = claims["on_off_manifold.b1_meaningful_mnist"]
    assert any("separately trained" in p.name for p in other.preconditions)
    assert other.extra["separately trained classifier"].startswith("MNIST classifier of seed")
    off = claims["on_off_manifold.b1_off_mnist"]
    assert 0 <= off.extra["share the off-M part alone flips"] <= 1
    for ds in ("mnist", "cifar10", "imagenet"):
        assert "Figure" in str(values[f"oom_fig_b1_{ds}"])
    for key in ("proj", "sep", "linf"):
        assert "Figure" in str(values[f"oom_fig_{key}_imagenet"])
