"""The verdict rules of the chapter "Boundary tilting" on constructed inputs."""
from pathlib import Path

import numpy as np
import pytest

from dmmlib import claims as C
from dmmlib.chapters.boundary_tilting import claims as TC

P = {"profile": "test"}
L = 5


NAMES = ["tilt_grows", "distance_formula", "best_intermediate", "mlp_tilt", "tilt_vulnerability"]


def make(*, tilt=(80.0, 81.0, 79.0), ratio=(1.0, 1.1, 0.9), err_mid=0.02, err_pick=0.01, mlp=60.0,
         rand=90.0, models=3, mlp_spread=2.0, mlp_acc=0.98, end_ratio=0.4, digits=200):
    """Results with the given tilt at the smallest lambda (per seed; 0.1 deg at the largest),
    the distance/formula ratio at the smallest lambda, the error of the middle lambda on the
    half it is chosen on (``err_pick``) and on the other half (``err_mid``; ends 0.05), the
    MLP/random median angles (``models`` MLPs whose medians differ by ``mlp_spread``) and the
    MLPs' accuracy on the digits; every test digit's distance at the smallest lambda is
    ``end_ratio`` times its distance at the largest (``end_ratio`` per seed, or one value), with noise."""
    tilt = np.asarray(tilt, dtype=float)
    S = len(tilt)
    theta = np.linspace(tilt, 0.1, L).T
    half = np.full((S, L), 2.0)
    dist = half * np.asarray(ratio, dtype=float)[:, None]
    err = np.full((S, 2, L), 0.05)
    err[:, 0, L // 2] = err_pick
    err[:, 1, L // 2] = err_mid
    rng = np.random.default_rng(0)
    flat = rng.uniform(1.0, 3.0, (S, digits))
    tilted = flat * np.broadcast_to(np.asarray(end_ratio, dtype=float), (S,))[:, None] * rng.uniform(0.9, 1.1, (S, digits))
    return {"end_dist_tilted": tilted.ravel(), "end_dist_flat": flat.ravel(), "end_unit": np.repeat(np.arange(S), digits),
            "lambdas": np.logspace(-4, 2, L), "theta": theta, "dist": dist, "half": half, "err_halves": err,
            "mlp_angle": mlp + mlp_spread * (np.arange(models) - (models - 1) / 2)[:, None] + rng.normal(0, 3, (models, 300)),
            "rand_angle": rand + rng.normal(0, 2, 300), "mlp_acc": np.full(models, mlp_acc)}


def verdicts(results):
    return {c.id.split(".")[1]: c.verdict for c in TC.claims(results, P)}


def test_all_supported():
    v = verdicts(make())
    assert v == dict.fromkeys(NAMES, "supports")


def test_kinds_and_quotes():
    cl = {c.id.split(".")[1]: c for c in TC.claims(make(), P)}
    assert {n: c.kind for n, c in cl.items()} == {"tilt_grows": "companion", "distance_formula": "companion",
                                                  "best_intermediate": "companion", "mlp_tilt": "extension",
                                                  "tilt_vulnerability": "companion"}
    seeds = Path("/work/shared/seeds")
    if not seeds.is_dir():
        pytest.skip("the source texts are not on this machine")
    tanay = " ".join(next(seeds.glob("004_*.txt")).read_text().split())
    dmm = " ".join(next(seeds.glob("000_*.txt")).read_text().split())
    for n, c in cl.items():
        assert c.quote and " ".join(c.quote.split()) in (dmm if n == "mlp_tilt" else tanay), n


def test_contradicted():
    v = verdicts(make(tilt=(2.0, 3.0, 2.5), ratio=(5.0, 6.0, 5.5), err_mid=0.09, mlp=88.0, mlp_spread=0.5))
    assert v == {**dict.fromkeys(NAMES, "contradicts"), "tilt_vulnerability": "not tested"}  # no tilt: not tested
    assert verdicts(make(end_ratio=1.5))["tilt_vulnerability"] == "contradicts"


def test_inconclusive():
    # seeds that disagree, one seed only, a random control that passes, MLPs that disagree
    assert verdicts(make(tilt=(2.0, 30.0, 5.0)))["tilt_grows"] == "inconclusive"
    assert verdicts(make(tilt=(80.0,), ratio=(1.0,)))["distance_formula"] == "inconclusive"
    assert verdicts(make(ratio=(1.0, 3.0, 0.6)))["distance_formula"] == "inconclusive"
    assert verdicts(make(err_mid=(0.04, 0.06, 0.045)))["best_intermediate"] == "inconclusive"
    assert verdicts(make(rand=60.0))["mlp_tilt"] == "inconclusive"
    assert verdicts(make(mlp=40.0, mlp_spread=40.0))["mlp_tilt"] == "inconclusive"  # 0, 40, 80 degrees
    assert verdicts(make(end_ratio=(0.5, 1.5, 1.0)))["tilt_vulnerability"] == "inconclusive"  # seeds disagree


def test_mlp_tilt_interval_is_over_models():
    (c,) = [c for c in TC.claims(make(models=3), P) if c.id.endswith("mlp_tilt")]
    assert c.ours.n == 3 and "MLPs" in c.ours.n_of and len(c.extra["per_model_median_deg"]) == 3
    # one MLP gives no interval: it cannot decide the claim
    (c,) = [c for c in TC.claims(make(models=1), P) if c.id.endswith("mlp_tilt")]
    assert c.verdict == "inconclusive" and not c.ours.defined


def test_an_untrained_mlp_is_not_tested():
    (c,) = [c for c in TC.claims(make(mlp_acc=0.5), P) if c.id.endswith("mlp_tilt")]
    assert c.verdict == "not tested" and "accuracy" in c.reason


def test_toy_construction_check():
    r = make()
    t = {"2_tilt": np.linspace(0.5, 1.5, 400), "2_bisect": np.linspace(0.5, 1.5, 400) * 20}
    ok = TC.toy_check({**t, "785_tilt": t["2_tilt"] * 1.001})
    assert ok["ok"] and ok["ratio"].value == pytest.approx(1.001) and ok["tilt_effect"].value == pytest.approx(20)
    assert not TC.toy_check({**t, "785_tilt": t["2_tilt"] * 2})["ok"]
    assert "toy" not in r  # the toy problem is no longer a claim's input


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


def test_vulnerability_claim():
    r = make(end_ratio=0.4)
    (c,) = [c for c in TC.claims(r, P) if c.id.endswith("tilt_vulnerability")]
    assert c.ours.value == pytest.approx(r["end_dist_tilted"].mean() / r["end_dist_flat"].mean())
    assert c.paired and c.criterion.direction == "<" and c.criterion.threshold == TC.VULNERABILITY_RATIO
    assert c.ours.n == 600 and "3 split seeds" in c.ours.n_of
    (pre,) = c.preconditions
    assert pre.criterion.threshold == TC.TILT_GAIN_DEG and pre.met
    # an untilted sweep: the question does not arise
    (c,) = [c for c in TC.claims(make(tilt=(5.0, 6.0, 4.0)), P) if c.id.endswith("tilt_vulnerability")]
    assert c.verdict == "not tested" and "tilt" in c.reason
    bad = make()
    bad["end_unit"] = bad["end_unit"][:10]
    with pytest.raises(ValueError, match="one length"):
        TC.claims(bad, P)
