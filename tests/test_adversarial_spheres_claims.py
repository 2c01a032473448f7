"""The verdict rules of the chapter "Adversarial spheres" on constructed inputs."""
import numpy as np
import pytest

from dmmlib import claims as C
from dmmlib.chapters.adversarial_spheres import claims as SC

P = {"profile": "test", "d": 100, "attack_points": 50, "quad_N": 1000, "quad_samples": 10**6}
IDS = ["on_off_ratio", "gradient_normal", "quad_alpha_count", "clt_estimate", "cap_bound", "fig4_k_fraction"]


def make(*, on=(0.30, 0.32, 0.31), off=(0.12, 0.13, 0.125), cos=(0.9, 0.92, 0.91), cos_random=(0.08, 0.08, 0.081),
         alpha=(0.3, 0.35, 0.32), clt_factor=1.2, cap=0.6, k=0.5):
    rng = np.random.default_rng(0)
    sampled = np.array([1e-3, 5e-4, 2e-3, 1e-2, 3e-3])
    return {"on_dist": np.array(on), "off_dist": np.array(off), "cos": np.array(cos),
            "cos_random": np.array(cos_random), "alpha_incorrect": np.array(alpha),
            "clt": sampled * clt_factor * np.exp(rng.normal(0, 0.02, 5)), "sampled": sampled,
            "cap_ratio": cap + rng.normal(0, 0.03, 12), "k_fraction": k}


def verdicts(results):
    return {c.id.split(".")[1]: c.verdict for c in SC.claims(results, P)}


def test_all_supported():
    assert verdicts(make()) == dict.fromkeys(IDS, "supports")


def test_contradicted():
    v = verdicts(make(on=(0.1, 0.11, 0.1), off=(0.2, 0.21, 0.2), cos=(0.1, 0.12, 0.11), alpha=(0.0, 0.0, 0.001),
                      clt_factor=10.0, cap=1.5, k=0.8))
    assert v == dict.fromkeys(IDS, "contradicts")


def test_inconclusive():
    # seeds disagree; one seed only; a control that passes; a ratio near the band's edge
    assert verdicts(make(on=(0.1, 0.5, 0.2)))["on_off_ratio"] == "inconclusive"
    assert verdicts(make(on=(0.3,), off=(0.1,)))["on_off_ratio"] == "inconclusive"
    assert verdicts(make(cos_random=(0.9, 0.91, 0.9)))["gradient_normal"] == "inconclusive"
    assert verdicts(make(alpha=(0.0, 0.05, 0.01)))["quad_alpha_count"] == "inconclusive"
    assert verdicts(make(clt_factor=2.0))["clt_estimate"] == "inconclusive"
    assert verdicts(make(cap=1.0))["cap_bound"] == "inconclusive"


def test_nothing_to_compare_is_inconclusive():
    r = make()
    r["clt"], r["sampled"] = np.array([]), np.array([])
    r["cap_ratio"] = np.array([np.nan])
    v = verdicts(r)
    assert v["clt_estimate"] == "inconclusive" and v["cap_bound"] == "inconclusive"


def test_json_round_trip_and_ids():
    cl = SC.claims(make(), P)
    back = C.from_json(C.to_json(cl))
    assert [c.id.split(".")[1] for c in back] == IDS
    assert all(c.section.startswith("spheres-") for c in back)
    (ratio,) = [c for c in back if c.id.endswith("on_off_ratio")]
    assert ratio.extra["per_seed"] == pytest.approx([0.30 / 0.12, 0.32 / 0.13, 0.31 / 0.125])
