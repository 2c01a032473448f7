"""The verdict rules of the chapter "Boundary tilting" on constructed inputs."""
import numpy as np
import pytest

from dmmlib import claims as C
from dmmlib.chapters.boundary_tilting import claims as TC

P = {"profile": "test"}
L = 5


def make(*, tilt=(80.0, 81.0, 79.0), ratio=(1.0, 1.1, 0.9), err_mid=0.02, err_pick=0.01, toy_scale=1.0, mlp=60.0,
         rand=90.0):
    """Results with the given tilt at the smallest lambda (per seed; 0.1 deg at the largest),
    the distance/formula ratio at the smallest lambda, the error of the middle lambda on the
    half it is chosen on (``err_pick``) and on the other half (``err_mid``; ends 0.05), the 785-d/2-d toy distance scale and the MLP/random median angles."""
    tilt = np.asarray(tilt, dtype=float)
    S = len(tilt)
    theta = np.linspace(tilt, 0.1, L).T
    half = np.full((S, L), 2.0)
    dist = half * np.asarray(ratio, dtype=float)[:, None]
    err = np.full((S, 2, L), 0.05)
    err[:, 0, L // 2] = err_pick
    err[:, 1, L // 2] = err_mid
    rng = np.random.default_rng(0)
    t = rng.uniform(0.5, 1.5, 400) * np.cos(np.radians(88))
    return {"lambdas": np.logspace(-4, 2, L), "theta": theta, "dist": dist, "half": half, "err_halves": err,
            "toy": {"2_tilt": t, "785_tilt": t * toy_scale, "2_bisect": t / np.cos(np.radians(88))},
            "mlp_angle": mlp + rng.normal(0, 3, 300), "rand_angle": rand + rng.normal(0, 2, 300)}


def verdicts(results):
    return {c.id.split(".")[1]: c.verdict for c in TC.claims(results, P)}


def test_all_supported():
    v = verdicts(make())
    assert v == dict.fromkeys(["tilt_grows", "distance_formula", "best_intermediate", "toy_dimension", "mlp_tilt"],
                              "supports")


def test_contradicted():
    v = verdicts(make(tilt=(2.0, 3.0, 2.5), ratio=(5.0, 6.0, 5.5), err_mid=0.09, toy_scale=2.0, mlp=88.0))
    assert v["tilt_grows"] == "contradicts"
    assert v["distance_formula"] == "contradicts"
    assert v["best_intermediate"] == "contradicts"
    assert v["toy_dimension"] == "contradicts"
    assert v["mlp_tilt"] == "contradicts"


def test_inconclusive():
    # seeds that disagree, one seed only, a toy ratio on the band's edge, a random control that passes
    assert verdicts(make(tilt=(2.0, 30.0, 5.0)))["tilt_grows"] == "inconclusive"
    assert verdicts(make(tilt=(80.0,), ratio=(1.0,)))["distance_formula"] == "inconclusive"
    assert verdicts(make(ratio=(1.0, 3.0, 0.6)))["distance_formula"] == "inconclusive"
    assert verdicts(make(err_mid=(0.04, 0.06, 0.045)))["best_intermediate"] == "inconclusive"
    assert verdicts(make(toy_scale=1.1))["toy_dimension"] == "inconclusive"
    assert verdicts(make(rand=60.0))["mlp_tilt"] == "inconclusive"


def test_toy_control_must_fail():
    r = make()
    r["toy"]["2_bisect"] = r["toy"]["2_tilt"] * 1.01  # no tilt effect: the band would pass a control
    (c,) = [c for c in TC.claims(r, P) if c.id.endswith("toy_dimension")]
    assert c.verdict == "inconclusive" and "control" in c.reason


def test_best_lambda_gain_uses_the_other_half():
    err = np.full((1, 2, 4), 0.05)
    err[0, 0, 1] = 0.01  # chosen on half 0 ...
    err[0, 1, 2] = 0.0   # ... half 1 prefers another lambda, which must not be used
    assert TC.best_lambda_gain(err) == pytest.approx([0.0])
    with pytest.raises(ValueError, match="S, 2, L"):
        TC.best_lambda_gain(np.zeros((2, 4)))


def test_json_round_trip_and_ids():
    cl = TC.claims(make(), P)
    back = C.from_json(C.to_json(cl))
    assert [c.id for c in back] == [c.id for c in cl]
    assert all(c.id.startswith("boundary_tilting.") and c.section for c in back)


def test_seed_estimate():
    e = TC.seed_estimate([1.0, 2.0, 3.0])
    assert e.value == pytest.approx(2.0) and e.lo < 1.0 < 3.0 < e.hi  # t with 2 d.o.f. is wide
    assert not TC.seed_estimate([1.0]).defined
