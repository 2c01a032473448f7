"""The chapter "Adversarial examples on and off the image manifold" runs under smoke and glues
values that are consistent with each other and claims the ledger can read."""
import math
import re

import pytest

from dmmlib import params
from dmmlib.claims import VERDICTS, from_json
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
        for name in ("R", "E", "E_xr", "on_far", "off_close", "step_free", "clamp", "boxfree_on_far"):
            assert f"on_off_manifold.{name}_{ds}" in claims, (name, ds)
        for c in ("random", "pca", "other", "dct"):
            assert f"on_off_manifold.special_R_{ds}_{c}" in claims
            assert f"on_off_manifold.special_on_{ds}_{c}" in claims
    for c in claims.values():
        assert c.verdict in VERDICTS and c.section.startswith("oom-") and c.source
        assert values[f"verdict_word_{c.id.split('.', 1)[1]}"] == c.verdict
        if c.ours.defined:
            assert c.ours.lo <= c.ours.value <= c.ours.hi, c.id
    # the MNIST smoke run has two classifiers: the intervals are over models and images
    assert claims["on_off_manifold.R_mnist"].ours.n == values["oom_images_mnist"]
    assert "2 models" in claims["on_off_manifold.R_mnist"].ours.n_of
    # R's threshold is the exact E[R] of a random vector, above sqrt(n/k)
    assert claims["on_off_manifold.R_mnist"].criterion.threshold == pytest.approx(values["oom_mnist_ER"])


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
