"""The claims of distance_during_training on constructed runs: each must be able to say
supports, contradicts, inconclusive and not tested."""
import math
from pathlib import Path

import numpy as np
import pytest

from dmmlib.chapters.distance_during_training import claims as cl
from dmmlib.chapters.distance_during_training.changepoint import hinge_changepoint
from dmmlib.chapters.distance_during_training.intervals import seeds_images_estimate
from dmmlib.chapters.distance_during_training.phases import allowed_breaks, log_error_ratio, loo_errors
from dmmlib.claims import from_json, to_json

STEPS = np.array([0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000])
P = {"profile": "smoke", "mnist_images": 5, "cifar_images": 5}
DIMS = {"mnist": (784, 16), "cifar": (3072, 128)}


def _run(curve, *, g_tan=0.15, g_rand=0.14, r_tan=0.15, r_rand=0.14, images=5, acc_end=0.99, success=1.0,
         noise=0.0, seed=0):
    """A fake measured run whose every image has distance ``curve`` (S,) (times 1 + noise per image)."""
    s = len(curve)
    scale = 1.0 + noise * np.random.default_rng(seed).standard_normal(images)
    d = np.asarray(curve, float)[:, None] * scale[None, :]
    converged = np.ones_like(d, bool)
    converged[:, : int(round((1 - success) * images))] = False
    return {"steps": STEPS[:s], "epochs": STEPS[:s] / 100, "steps_per_epoch": 100, "total_steps": int(STEPS[s - 1]),
            "distance": np.where(converged, d, np.inf), "converged": converged,
            "r_on": d * r_tan, "r_off": d * math.sqrt(1 - r_tan**2), "r_rand": d * r_rand,
            "g_tan": np.full_like(d, g_tan), "g_rand": np.full_like(d, g_rand),
            "accuracy": np.linspace(0.1, acc_end, s)}


def _results(curves, datasets=("mnist",), alt=None, **kw):
    runs = [_run(c, seed=i, **kw) for i, c in enumerate(curves)]
    alt_runs = [_run(c, seed=i, **{**kw, **(alt or {})}) for i, c in enumerate(curves)]
    out = {}
    for ds in datasets:
        n, k = DIMS[ds]
        out[ds] = {"runs": {"main": runs, "alt": alt_runs}, "k": k, "n": n, "n_train": 100, "source": "fake",
                   "settings": {"main": {"optimizer": "sgd", "lr": 0.01, "momentum": 0.0},
                                "alt": {"optimizer": "adam", "lr": 0.001, "momentum": 0.0}}}
    return out


def _by_name(C):
    return {c.id.split(".", 1)[1]: c for c in C}


u = np.log10(1 + STEPS)
FAST = [np.where(u < 1.0, 3.0 - 2.0 * u, 1.0) + 0.01 * s for s in range(3)]          # drop 3 -> 1 by iteration 9, flat after
STEADY = [3.0 - 2.0 * u / u[-1] + 0.01 * s for s in (0, 1, 2)]                       # falls evenly in log-time
RISING = [np.where(u < 1.0, 0.2 + 0.8 * u, 1.0) + 0.01 * s for s in range(3)]        # rises fast then flat
LATE = [np.where(u < 2.5, 3.0, 3.0 - 2.0 * (u - 2.5) / (u[-1] - 2.5)) + 0.01 * s for s in range(3)]  # flat, then falls late


def test_fast_drop_supports_two_phases():
    C = _by_name(cl.claims(_results(FAST), P))
    assert C["mnist_distance_decreases"].verdict == "supports"
    assert C["mnist_two_phase"].verdict == "supports"
    assert C["mnist_alt_two_phase"].verdict == "supports"
    assert C["mnist_two_phase"].ours.value < 0.1


@pytest.mark.parametrize("curves", [STEADY, LATE], ids=["steady", "late"])
def test_one_steady_phase_or_a_late_drop_contradict_two_phases(curves):
    # a straight line in log-time, or a change that only starts late: the paper's shape predicts worse
    C = _by_name(cl.claims(_results(curves), P))
    assert C["mnist_distance_decreases"].verdict == "supports"
    assert C["mnist_two_phase"].verdict == "contradicts"
    assert C["mnist_alt_two_phase"].verdict == "contradicts"


def test_rising_distance_contradicts_decrease():
    C = _by_name(cl.claims(_results(RISING), P))
    assert C["mnist_distance_decreases"].verdict == "contradicts"
    assert C["mnist_two_phase"].verdict == "supports"  # two phases, upwards: the direction is the other claim's


def test_one_seed_is_inconclusive():
    C = _by_name(cl.claims(_results(FAST[:1]), P))
    assert all(c.verdict == "inconclusive" for c in C.values())
    assert all(c.tested for c in C.values())


def test_noisy_seeds_are_inconclusive():
    curves = [FAST[0], 3.0 * np.ones_like(u) - 0.5 * (u > 0), RISING[0] * 4]
    C = _by_name(cl.claims(_results(curves), P))
    assert C["mnist_distance_decreases"].verdict == "inconclusive"


def test_low_accuracy_is_not_tested_and_names_the_condition():
    # the quick SGD run ends at 87 %: below the 97 % bar, so the MNIST claims are not tested
    C = _by_name(cl.claims(_results(FAST, acc_end=0.87), P))
    for name in ("mnist_distance_decreases", "mnist_two_phase", "mnist_gradient_off_tangent",
                 "mnist_perturbation_off_tangent", "mnist_perturbation_prefers_off"):
        assert C[name].verdict == "not tested", name
        assert "test accuracy" in C[name].reason and "0.87" in C[name].reason
    # the estimate is still there, it just decides nothing
    assert C["mnist_distance_decreases"].ours.value < 1


def test_each_optimiser_is_gated_on_its_own_accuracy():
    C = _by_name(cl.claims(_results(FAST, acc_end=0.87, alt={"acc_end": 0.985}), P))
    assert C["mnist_two_phase"].verdict == "not tested"
    assert C["mnist_alt_two_phase"].verdict == "supports"


@pytest.mark.parametrize("acc,verdict", [(0.52, "not tested"), (0.85, "supports")])
def test_cifar_accuracy_bar(acc, verdict):
    C = _by_name(cl.claims(_results(FAST, datasets=("cifar",), acc_end=acc), P))
    assert C["cifar_distance_decreases"].verdict == verdict
    assert C["cifar_two_phase"].verdict == verdict
    assert C["cifar_distance_decreases"].preconditions[0].criterion.threshold == cl.CIFAR_ACCURACY_MIN


def test_attack_failures_are_not_tested():
    # DeepFool reaches the boundary from 3 of 5 images only: the mean distance is not the images' mean
    C = _by_name(cl.claims(_results(FAST, success=0.6), P))
    assert C["mnist_distance_decreases"].verdict == "not tested"
    assert "DeepFool success" in C["mnist_distance_decreases"].reason
    assert C["mnist_perturbation_off_tangent"].verdict == "not tested"
    assert C["mnist_gradient_off_tangent"].verdict == "supports"  # the gradient needs no attack


def test_kinds_and_quotes():
    C = _by_name(cl.claims(_results(FAST, datasets=("mnist", "cifar")), P))
    assert C["mnist_distance_decreases"].kind == "extension"
    assert C["mnist_two_phase"].kind == "extension"
    assert C["cifar_distance_decreases"].kind == "paper"
    assert C["cifar_two_phase"].kind == "paper"
    assert C["cifar_alt_two_phase"].kind == "extension"
    assert C["cifar_perturbation_prefers_off"].kind == "paper"
    seeds = sorted(Path("/work/shared/seeds").glob("000_*.txt")) + sorted(Path("shared/seeds").glob("000_*.txt"))
    if seeds:  # every quote is copied exactly from the paper
        text = seeds[0].read_text()
        for c in C.values():
            if c.quote:
                assert c.quote in text, c.id


@pytest.mark.parametrize("tan,verdict", [(0.15, "supports"), (0.9, "contradicts")])
def test_perpendicular_is_R_above_sqrt2(tan, verdict):
    # R = 1 / tangent share: 6.7 (an angle of 81 degrees) or 1.1 (26 degrees) against sqrt(2)
    C = _by_name(cl.claims(_results(FAST, g_tan=tan, r_tan=tan), P))
    assert C["mnist_gradient_off_tangent"].verdict == verdict
    assert C["mnist_perturbation_off_tangent"].verdict == verdict
    assert C["mnist_perturbation_off_tangent"].ours.value == pytest.approx(1 / tan, rel=1e-6)
    assert C["mnist_perturbation_off_tangent"].criterion.threshold == pytest.approx(math.sqrt(2))


@pytest.mark.parametrize("r_tan,verdict", [(0.05, "supports"), (0.3, "contradicts")])
def test_preference_over_random_is_one_sided(r_tan, verdict):
    # random subspace share 0.14: a perturbation with less in the tangent space (0.05) prefers off-manifold
    # directions; one with more (0.3) lies MORE in the tangent space than chance, which contradicts
    C = _by_name(cl.claims(_results(FAST, r_tan=r_tan, r_rand=0.14), P))
    c = C["mnist_perturbation_prefers_off"]
    assert c.paired and c.control is not None
    assert c.criterion.direction == ">" and c.criterion.threshold == 1.0
    assert c.verdict == verdict
    assert c.ours.value == pytest.approx(0.14 / r_tan, rel=1e-6)


def test_tangent_claim_inconclusive_when_seeds_straddle():
    res = _results(FAST)
    for run, gt in zip(res["mnist"]["runs"]["main"], (0.5, 0.7, 0.95)):
        run["g_tan"] = np.full_like(run["g_tan"], gt)
    C = _by_name(cl.claims(res, P))
    assert C["mnist_gradient_off_tangent"].verdict == "inconclusive"


def test_image_bootstrap_widens_the_interval():
    # identical seeds, images that differ: without the images' spread the interval would have zero width
    res = _results([FAST[0]] * 3)
    for run in res["mnist"]["runs"]["main"]:
        run["r_on"] = run["r_on"] * np.linspace(0.5, 1.5, 5)[None, :]
    e = _by_name(cl.claims(res, P))["mnist_perturbation_off_tangent"].ours
    assert e.hi - e.lo > 0.05
    assert e.n == 3 and "images" in e.n_of


def test_claims_are_deterministic_and_roundtrip():
    res = _results([c * (1 + 0.1 * np.sin(np.arange(len(c)))) for c in FAST], noise=0.2)
    C1, C2 = cl.claims(res, P), cl.claims(res, P)
    assert [c.ours for c in C1] == [c.ours for c in C2]
    back = from_json(to_json(C1))
    assert [c.id for c in back] == [c.id for c in C1]
    assert len({c.id for c in C1}) == len(C1) == 6
    assert all(c.id.startswith("distance_during_training.mnist_") for c in C1)


def test_too_few_reached_checkpoints_leave_the_phase_claims_inconclusive():
    # DeepFool failed (distance inf) at all but 3 checkpoints: no two-phase fit
    res = _results(FAST)
    for run in res["mnist"]["runs"]["main"] + res["mnist"]["runs"]["alt"]:
        run["converged"] = run["converged"].copy()
        run["converged"][:9] = False
    seeds = cl.per_seed(res)
    assert all(math.isnan(r["log_err"]) for r in seeds["mnist"]["main"])
    assert not cl.two_phase_ratio(res["mnist"]["runs"]["main"]).defined


# -- the two models of phases.py ----------------------------------------------------------


def test_loo_errors_of_exact_shapes():
    line = 2.0 - 0.5 * u
    one, two = loo_errors(STEPS, line, max_step_share=0.2)
    assert one[0] == pytest.approx(0, abs=1e-20) and two[0] > 1e-3
    one, two = loo_errors(STEPS, FAST[0], max_step_share=0.2)
    assert two[0] < 0.1 * one[0]
    assert log_error_ratio(STEPS, np.stack([FAST[0], line]), max_step_share=0.2)[0] < 0 < \
        log_error_ratio(STEPS, np.stack([FAST[0], line]), max_step_share=0.2)[1]


def test_exponential_decay_early_and_late():
    # one exponential with a short time constant has the paper's shape; one that decays over a third
    # of training does not end "in the first few epochs"
    early = 1 + 2 * np.exp(-STEPS / 30.0)
    late = 1 + 2 * np.exp(-STEPS / 300.0)
    r = log_error_ratio(STEPS, np.stack([early, late]), max_step_share=0.2)
    assert r[0] < 0 < r[1]


def test_allowed_breaks_and_bad_input():
    assert list(allowed_breaks(STEPS, 0.2)) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert len(allowed_breaks(np.array([0, 100, 200, 1000]), 0.05)) == 0
    assert np.isnan(loo_errors(np.array([0, 100, 200, 1000]), np.ones(4), max_step_share=0.05)[1]).all()
    with pytest.raises(ValueError):
        loo_errors(STEPS[:3], np.ones(3), max_step_share=0.2)
    with pytest.raises(ValueError):
        loo_errors(STEPS[::-1], np.ones(len(STEPS)), max_step_share=0.2)
    with pytest.raises(ValueError):
        loo_errors(STEPS, np.full(len(STEPS), np.nan), max_step_share=0.2)


def test_seeds_images_estimate():
    # per seed: the mean of its image values; seeds differ by an offset, images by their own spread
    vals = np.array([[1.0, 2.0, 3.0, 4.0], [2.0, 3.0, 4.0, 5.0], [3.0, 4.0, 5.0, 6.0]])

    def per_seed(s, idx):
        return vals[s].mean() if idx is None else vals[s][idx].mean(-1)

    e = seeds_images_estimate(per_seed, 3, 4)
    t_only = cl.seed_estimate(vals.mean(1))
    assert e.value == pytest.approx(3.5)
    assert e.lo < t_only.lo and e.hi > t_only.hi  # the images' spread widens the seeds' interval
    assert math.isnan(seeds_images_estimate(per_seed, 1, 4).lo)
    g = seeds_images_estimate(lambda s, idx: np.log(per_seed(s, idx)), 3, 4, log=True)
    assert g.lo < g.value < g.hi and g.value == pytest.approx(np.exp(np.log(vals.mean(1)).mean()))


# -- the descriptive hinge fit --------------------------------------------------------------


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
