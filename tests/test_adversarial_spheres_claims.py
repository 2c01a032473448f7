"""The verdict rules of the chapter "Adversarial spheres" on constructed inputs."""
import re
from pathlib import Path

import numpy as np
import pytest

from dmmlib import claims as C
from dmmlib.chapters.adversarial_spheres import claims as SC

P = {"profile": "test", "d": 100, "attack_points": 50, "quad_N": 1000, "quad_samples": 10**6, "deep_depth": 8,
     "deep_hidden": 64}


def sweep_found(shares, n_seeds=3, n_points=40, seed=0):
    """(D, S, P) 0/1 array: at dimension i each network finds an error from about ``shares[i]`` of its points."""
    rng = np.random.default_rng(seed)
    return np.stack([(rng.random((n_seeds, n_points)) < sh).astype(float) for sh in shares])
IDS = ["on_off_ratio", "gradient_normal", "quad_alpha_count", "clt_estimate", "cap_bound", "fig4_k_fraction",
       "deep_cap_bound", "dsweep_onset"]
KINDS = {"on_off_ratio": "companion", "gradient_normal": "extension", "quad_alpha_count": "companion",
         "clt_estimate": "companion", "cap_bound": "companion", "fig4_k_fraction": "companion",
         "deep_cap_bound": "companion", "dsweep_onset": "companion"}
SEEDS = Path("/work/shared/seeds")


def make(*, on=(0.30, 0.32, 0.31), off=(0.12, 0.13, 0.125), cos=(0.9, 0.92, 0.91), cos_random=(0.08, 0.08, 0.081),
         alpha=(0.3, 0.35, 0.32), clt_factor=1.2, cap=0.95, k=0.36, on_found=(1.0, 0.98, 1.0),
         off_found=(1.0, 1.0, 1.0), relu_error=1e-4, quad_error=1e-5, cap_found=1.0, n_cap=12, n_clt=5,
         deep_cap=0.9, deep_found=1.0, n_deep=7, dims=(10, 40, 100), shares=(0.0, 0.1, 0.8), sweep_error=1e-3):
    rng = np.random.default_rng(0)
    sampled = np.array([1e-3, 5e-4, 2e-3, 1e-2, 3e-3, 4e-3, 6e-4][:n_clt])
    return {"on_dist": np.array(on), "off_dist": np.array(off), "on_found": np.array(on_found),
            "off_found": np.array(off_found), "relu_error_rate": relu_error,
            "cos": np.array(cos), "cos_random": np.array(cos_random),
            "alpha_incorrect": np.array(alpha), "alpha_incorrect_online": np.zeros(len(alpha)),
            "quad_error_rate": quad_error,
            "clt": sampled * clt_factor * np.exp(rng.normal(0, 0.02, n_clt)), "sampled": sampled,
            "clt_unit": np.array(["a", "b", "c", "run", "run", "run", "run"][:n_clt]),
            "cap_ratio": cap + rng.normal(0, 0.03, n_cap), "cap_found": np.full(n_cap, cap_found),
            "cap_unit": np.repeat(np.arange(4), 3)[:n_cap], "k_fraction": k, "k_fraction_clt": k + 0.02,
            "deep_cap_ratio": deep_cap + rng.normal(0, 0.03, n_deep), "deep_cap_found": np.full(n_deep, deep_found),
            "deep_cap_unit": np.zeros(n_deep), "dsweep_dims": np.array(dims), "dsweep_found": sweep_found(shares),
            "dsweep_error_rate": np.full(len(dims), sweep_error)}


def built(results):
    return {c.id.split(".")[1]: c for c in SC.claims(results, P)}


def verdicts(results):
    return {name: c.verdict for name, c in built(results).items()}


def test_all_supported():
    assert verdicts(make()) == dict.fromkeys(IDS, "supports")


def test_contradicted():
    v = verdicts(make(on=(0.1, 0.11, 0.1), off=(0.2, 0.21, 0.2), cos=(0.1, 0.12, 0.11), alpha=(0.0, 0.0, 0.001),
                      clt_factor=10.0, cap=0.6, k=0.8, deep_cap=0.5, shares=(0.3, 0.3, 0.3)))
    assert v == dict.fromkeys(IDS, "contradicts")


def test_inconclusive():
    # seeds disagree; one seed only; a control that passes; a ratio near the band's edge
    assert verdicts(make(on=(0.1, 0.5, 0.2)))["on_off_ratio"] == "inconclusive"
    assert verdicts(make(on=(0.3,), off=(0.1,), on_found=(1.0,), off_found=(1.0,)))["on_off_ratio"] == "inconclusive"
    assert verdicts(make(cos_random=(0.9, 0.91, 0.9)))["gradient_normal"] == "inconclusive"
    assert verdicts(make(alpha=(0.0, 0.05, 0.01)))["quad_alpha_count"] == "inconclusive"
    assert verdicts(make(clt_factor=2.0))["clt_estimate"] == "inconclusive"
    assert verdicts(make(cap=0.8))["cap_bound"] == "inconclusive"
    assert verdicts(make(deep_cap=0.8))["deep_cap_bound"] == "inconclusive"
    assert verdicts(make(shares=(0.0, 0.1, 0.1)))["dsweep_onset"] == "inconclusive"  # a gain near the threshold


def test_cap_bound_is_closeness_not_the_theorem():
    # the true ratio is at most 1 (theorem 5.1): the claim is that networks come close to it
    assert verdicts(make(cap=0.7))["cap_bound"] == "contradicts"   # far below the optimum: not close
    assert verdicts(make(cap=0.9))["cap_bound"] == "supports"
    assert verdicts(make(cap=1.05))["cap_bound"] == "supports"     # slightly above it: noise, as in figure 5
    c = built(make(cap=1.05))["cap_bound"]
    assert c.extra["checkpoints above the optimum (ratio > 1)"] > 0
    assert c.criterion.direction == ">" and c.criterion.threshold == SC.CAP_CLOSE == 0.8


def test_fig4_is_a_sufficiency_statement():
    # "while only looking at 50% of the input": any fraction up to one half supports it
    assert verdicts(make(k=0.2))["fig4_k_fraction"] == "supports"
    assert verdicts(make(k=1500 / 3000))["fig4_k_fraction"] == "supports"   # k = d/2 exactly
    assert verdicts(make(k=1501 / 3000))["fig4_k_fraction"] == "contradicts"
    c = built(make())["fig4_k_fraction"]
    assert c.extra["k/d by the CLT (the paper's method)"] == pytest.approx(0.38)


@pytest.mark.parametrize("change, failed", [
    (dict(relu_error=0.05), ["on_off_ratio", "gradient_normal"]),
    (dict(on_found=(0.5, 0.6, 0.7)), ["on_off_ratio"]),
    (dict(off_found=(0.8, 0.85, 0.8)), ["on_off_ratio"]),
    (dict(quad_error=0.02), ["quad_alpha_count"]),
    (dict(n_clt=2), ["clt_estimate"]),
    (dict(n_cap=4), ["cap_bound"]),
    (dict(cap_found=0.5), ["cap_bound"]),
    (dict(relu_error=float("nan")), ["on_off_ratio", "gradient_normal"]),  # not measured: not tested
    (dict(n_deep=3), ["deep_cap_bound"]),
    (dict(deep_found=0.6), ["deep_cap_bound"]),
    (dict(sweep_error=0.05), ["dsweep_onset"]),
    (dict(dims=(80, 100, 200)), ["dsweep_onset"]),   # the sweep does not reach below the paper's d = 60
    (dict(dims=(5, 20, 60)), ["dsweep_onset"]),      # nor above it
])
def test_not_tested_when_a_precondition_fails(change, failed):
    # each would be decided (supports) with its precondition met; a failed one makes it "not tested"
    cl = built(make(**change))
    for name, c in cl.items():
        if name in failed:
            assert c.verdict == "not tested", name
            assert "precondition failed" in c.reason and not c.tested
        else:
            assert c.verdict == "supports", name


def test_not_tested_even_when_the_estimate_would_contradict():
    c = built(make(cap=0.5, cap_found=0.3))["cap_bound"]
    assert c.verdict == "not tested" and "success rate" in c.reason


def test_precondition_thresholds_are_the_named_constants():
    cl = built(make())
    pre = {p.name: p for c in cl.values() for p in c.preconditions}
    assert pre["ReLU networks: sampled error rate, both spheres"].criterion.threshold == SC.MAX_ERROR_RATE == 0.01
    assert pre["manifold attack at the checkpoints: success rate"].criterion.threshold == SC.MIN_ATTACK_SUCCESS
    assert all(p.met for p in pre.values())
    assert not cl["fig4_k_fraction"].preconditions  # an exact computation rests on nothing measured


def test_kinds_quotes_and_sources():
    for name, c in built(make()).items():
        assert c.kind == KINDS[name], name
        assert c.quote.strip(), name


@pytest.mark.skipif(not SEEDS.exists(), reason="the source texts are not on this machine")
def test_quotes_are_copied_exactly():
    texts = {p.name[:3]: p.read_text() for p in SEEDS.glob("00*.txt")}
    for name, c in built(make()).items():
        seed = texts["000"] if c.kind == "extension" else texts["003"]  # the DMM paper; Gilmer et al.
        assert c.quote in seed, name


def test_intervals_cover_the_runs():
    # the checkpoints of a run are not independent: the interval comes from the runs
    c = built(make())["cap_bound"]
    assert c.ours.n == 12 and "4 runs" in c.ours.n_of and c.ours.lo < c.ours.value < c.ours.hi
    one_run = make()
    one_run["cap_unit"] = np.zeros(12)
    c1 = built(one_run)["cap_bound"]
    assert "1 runs" in c1.ours.n_of


def test_nothing_to_compare_is_inconclusive_or_not_tested():
    r = make()
    r["clt"], r["sampled"], r["clt_unit"] = np.array([]), np.array([]), np.array([])
    r["cap_ratio"], r["cap_found"], r["cap_unit"] = np.array([np.nan]), np.array([np.nan]), np.array([0])
    cl = built(r)
    for name in ("clt_estimate", "cap_bound"):
        assert cl[name].verdict == "not tested" and not cl[name].ours.defined


def test_unit_labels_must_match():
    r = make()
    r["cap_unit"] = r["cap_unit"][:5]
    with pytest.raises(ValueError, match="unit labels"):
        SC.claims(r, P)


def test_json_round_trip_and_ids():
    cl = SC.claims(make(), P)
    back = C.from_json(C.to_json(cl))
    assert [c.id.split(".")[1] for c in back] == IDS
    assert all(c.section.startswith("spheres-") for c in back)
    assert [c.verdict for c in back] == [c.verdict for c in cl]
    assert [len(c.preconditions) for c in back] == [3, 1, 1, 1, 2, 0, 2, 3]
    (ratio,) = [c for c in back if c.id.endswith("on_off_ratio")]
    assert ratio.extra["per_seed"] == pytest.approx([0.30 / 0.12, 0.32 / 0.13, 0.31 / 0.125])
    assert re.search(r"0\.0796", ratio.quote)


def test_dimension_sweep_claim_is_the_paired_gain():
    r = make(shares=(0.0, 0.5, 1.0))
    c = built(r)["dsweep_onset"]
    f = r["dsweep_found"]
    assert c.ours.value == pytest.approx(f[-1].mean() - f[0].mean())
    assert c.paired and c.criterion.direction == ">" and c.criterion.threshold == SC.FINDABLE_GAIN
    assert "3 networks" in c.ours.n_of and c.ours.n == f[0].size
    assert c.extra["largest d with no error found (error-free up to)"] == 10
    assert verdicts(make(shares=(0.5, 0.5, 0.0)))["dsweep_onset"] == "contradicts"  # errors vanish as d grows


def test_dimension_sweep_claim_checks_shapes():
    r = make()
    r["dsweep_found"] = r["dsweep_found"][:2]
    with pytest.raises(ValueError, match="dsweep_found"):
        SC.claims(r, P)


def test_deep_network_is_judged_alone():
    # the large ReLU network's checkpoints decide its claim; the other networks' do not
    assert verdicts(make(deep_cap=0.6, cap=0.95)) == {**dict.fromkeys(IDS, "supports"), "deep_cap_bound": "contradicts"}
    assert verdicts(make(deep_cap=0.95, cap=0.6))["deep_cap_bound"] == "supports"
