"""The claims of distance_during_training on constructed runs: each must be able to say
supports, contradicts and inconclusive."""
import math

import numpy as np
import pytest

from dmmlib.chapters.distance_during_training import claims as cl
from dmmlib.chapters.distance_during_training.changepoint import hinge_changepoint
from dmmlib.claims import from_json, to_json

STEPS = np.array([0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000])
P = {"profile": "smoke", "mnist_images": 5, "cifar_images": 5}


def _run(curve, *, g_tan=0.15, g_rand=0.14, r_tan=0.15, r_rand=0.14, images=5):
    """A fake measured run whose every image has distance ``curve`` (S,)."""
    s = len(curve)
    d = np.repeat(np.asarray(curve, float)[:, None], images, 1)
    return {"steps": STEPS[:s], "epochs": STEPS[:s] / 100, "steps_per_epoch": 100, "total_steps": int(STEPS[s - 1]),
            "distance": d, "converged": np.ones_like(d, bool),
            "r_on": d * r_tan, "r_off": d * math.sqrt(1 - r_tan**2), "r_rand": d * r_rand,
            "g_tan": np.full_like(d, g_tan), "g_rand": np.full_like(d, g_rand), "accuracy": np.linspace(0.1, 0.9, s)}


def _results(curves, **kw):
    runs = [_run(c, **kw) for c in curves]
    res = {"runs": {"main": runs, "alt": runs}, "k": 16, "n": 784, "n_train": 100, "source": "fake",
           "settings": {"main": {"optimizer": "sgd", "lr": 0.01, "momentum": 0.0},
                        "alt": {"optimizer": "adam", "lr": 0.001, "momentum": 0.0}}}
    return {"mnist": res}


def _by_name(C):
    return {c.id.split(".", 1)[1]: c for c in C}


u = np.log10(1 + STEPS)
FAST = [np.where(u < 1.0, 3.0 - 2.0 * u, 1.0) + 0.01 * s for s in range(3)]          # drop 3 -> 1 by iteration 9, flat after
STEADY = [3.0 - 2.0 * u / u[-1] + 0.01 * s for s in (0, 1, 2)]                       # falls evenly in log-time
RISING = [np.where(u < 1.0, 0.2 + 0.8 * u, 1.0) + 0.01 * s for s in range(3)]        # rises fast then flat


def test_fast_drop_supports_two_phases():
    C = _by_name(cl.claims(_results(FAST), P))
    assert C["mnist_distance_decreases"].verdict == "supports"
    assert C["mnist_change_by_changepoint"].verdict == "supports"
    assert C["mnist_changepoint_early"].verdict == "supports"
    assert C["mnist_alt_changepoint_early"].verdict == "supports"


def test_steady_decline_is_not_two_phase():
    # a straight line in log-time: the break is early in iterations, but little of the change is done there
    C = _by_name(cl.claims(_results(STEADY), P))
    assert C["mnist_distance_decreases"].verdict == "supports"
    assert C["mnist_change_by_changepoint"].verdict == "contradicts"
    assert C["mnist_alt_change_by_changepoint"].verdict == "contradicts"


def test_rising_distance_contradicts_decrease():
    C = _by_name(cl.claims(_results(RISING), P))
    assert C["mnist_distance_decreases"].verdict == "contradicts"
    assert C["mnist_change_by_changepoint"].verdict == "supports"  # two phases, upwards


def test_one_seed_is_inconclusive():
    C = _by_name(cl.claims(_results(FAST[:1]), P))
    assert all(c.verdict == "inconclusive" for c in C.values())


def test_noisy_seeds_are_inconclusive():
    curves = [FAST[0], 3.0 * np.ones_like(u) - 0.5 * (u > 0), RISING[0] * 4]
    C = _by_name(cl.claims(_results(curves), P))
    assert C["mnist_distance_decreases"].verdict == "inconclusive"


@pytest.mark.parametrize("g_tan,verdict", [(0.15, "supports"), (0.6, "contradicts")])
def test_tangent_claims(g_tan, verdict):
    C = _by_name(cl.claims(_results(FAST, g_tan=g_tan, r_tan=g_tan), P))
    # g_rand = 0.14: ratio 1.07 (supports < 2) or 4.3 (contradicts); the seeds agree exactly,
    # so the interval has zero width around the ratio
    assert C["mnist_gradient_off_tangent"].verdict == verdict
    assert C["mnist_perturbation_off_tangent"].verdict == verdict
    assert C["mnist_perturbation_off_tangent"].ours.value == pytest.approx(g_tan / 0.14, rel=1e-6)


def test_tangent_claim_inconclusive_when_seeds_straddle():
    res = _results(FAST)
    for run, gt in zip(res["mnist"]["runs"]["main"], (0.14, 0.28, 0.42)):
        run["g_tan"] = np.full_like(run["g_tan"], gt)
    C = _by_name(cl.claims(res, P))
    assert C["mnist_gradient_off_tangent"].verdict == "inconclusive"


def test_claims_roundtrip_and_ids():
    C = cl.claims(_results(FAST), P)
    back = from_json(to_json(C))
    assert [c.id for c in back] == [c.id for c in C]
    assert len({c.id for c in C}) == len(C) == 7
    assert all(c.id.startswith("distance_during_training.mnist_") for c in C)


def test_hinge_finds_the_break():
    cp = hinge_changepoint(STEPS, FAST[0])
    assert 8 <= cp.step <= 16  # u = 1 is iteration 9
    assert cp.change_share == pytest.approx(1.0, abs=0.05)
    assert abs(cp.slope_after) < 0.1
    assert cp.slope_before == pytest.approx(-2.0, rel=0.05)


def test_hinge_share_nan_without_change_and_rejects_bad_input():
    assert math.isnan(hinge_changepoint(STEPS, np.ones(len(STEPS))).change_share)
    with pytest.raises(ValueError):
        hinge_changepoint(STEPS[:3], np.ones(3))
    with pytest.raises(ValueError):
        hinge_changepoint(STEPS[::-1], np.ones(len(STEPS)))


def test_seed_estimate_interval():
    e = cl.seed_estimate([1.0, 2.0, 3.0])
    assert e.value == 2.0 and e.n == 3
    assert e.hi - e.value == pytest.approx(4.302653 * 1.0 / math.sqrt(3), rel=1e-5)
    assert math.isnan(cl.seed_estimate([1.0]).lo)


def test_too_few_reached_checkpoints_leave_the_phase_claims_inconclusive():
    # DeepFool failed (distance inf) at all but 3 checkpoints: no two-segment fit, no break, no verdict on it
    curves = [np.where(np.arange(len(STEPS)) < 9, np.inf, c) for c in FAST]
    C = _by_name(cl.claims(_results(curves), P))
    assert C["mnist_change_by_changepoint"].verdict == "inconclusive"
    assert C["mnist_changepoint_early"].verdict == "inconclusive"
