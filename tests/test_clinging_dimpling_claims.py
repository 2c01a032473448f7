"""The chapter's verdict rules on constructed results: each claim must say supports,
contradicts and inconclusive where it should."""
import math

import pytest

from dmmlib.chapters.clinging_dimpling import claims as cl

P = {"profile": "smoke", "epochs": 200, "width": 4000}


def _run(seed, *, cling=0.9, cp=0.05, fit_after=0.9, angle=10.0, gn=2.0, depth=0.05, test=0.95, robust=0.5, jitter=0.01):
    j = jitter * (seed - 2)  # a small spread over seeds, centred on the given value
    final = {"cling_inside": cling + j, "cling_beyond": cling + j, "angle_train": angle + 10 * j,
             "gn_train": gn + j, "depth_median": depth + j}
    return {"seed": seed, "final": final, "init": {"gn_train": 1.0}, "walls": {"cling_inside": 0.0, "cling_beyond": 0.0},
            "phases": {"changepoint_fraction": cp + j, "fit_after": fit_after + j}, "test_acc": test + j,
            "robust_acc": robust + j, "train_acc": 1.0}


def results(n=5, *, adv=None, lr_acc=0.5, stress_ok=10, stress_bad=0, **kw):
    adv = adv or {}
    return {
        "line": [_run(s, **kw) for s in range(n)],
        "chessboard": [_run(s, **kw) for s in range(n)],
        "chessboard_adv": [_run(s, **{**kw, **adv}) for s in range(n)],
        "random_angle": {"line": 45.0, "chessboard": 57.3},
        "adv_eps": 0.05,
        "lr": [{"reading": "as stated: ...", "dataset": d, "seed": s, "final_acc": lr_acc + 0.01 * s}
               for d in ("line", "chessboard") for s in range(2)],
        "stress": ([{"final_acc": 1.0, "changepoint_fraction": 0.1, "fit_after": 0.9}] * stress_ok
                   + [{"final_acc": 1.0, "changepoint_fraction": 0.6, "fit_after": 0.2}] * stress_bad
                   + [{"final_acc": 0.5, "changepoint_fraction": 0.1, "fit_after": 0.9}] * 3),
    }


def verdicts(res):
    return {c.id.split(".", 1)[1]: c.verdict for c in cl.claims(res, P)}


def test_ids_are_unique_and_complete():
    ids = [c.id for c in cl.claims(results(), P)]
    assert len(ids) == len(set(ids)) == 18
    assert all(i.startswith("clinging_dimpling.") for i in ids)


def test_a_dmm_like_run_supports_and_its_opposite_contradicts():
    good = verdicts(results(adv={"depth": 0.1, "angle": 20.0, "test": 0.9, "robust": 0.7}))
    for name in ("clinging_inside_line", "clinging_beyond_chessboard", "cling_fast_line", "labels_after_chessboard",
                 "gradient_perpendicular_line", "normal_gradient_grows_chessboard", "adv_deepens_dimples",
                 "adv_gradient_on_manifold", "adv_costs_accuracy", "adv_buys_robustness", "two_phases_everywhere"):
        assert good[name] == "supports", name
    assert good["lr_as_stated_trains"] == "contradicts"
    bad = verdicts(results(cling=0.1, cp=0.6, fit_after=0.2, angle=60.0, gn=0.5, lr_acc=0.97, stress_ok=0,
                           stress_bad=10, adv={"depth": 0.0, "angle": 40.0, "test": 1.0, "robust": 0.3}))
    for name in ("clinging_inside_line", "cling_fast_chessboard", "labels_after_line", "gradient_perpendicular_chessboard",
                 "normal_gradient_grows_line", "adv_deepens_dimples", "adv_gradient_on_manifold", "adv_costs_accuracy",
                 "adv_buys_robustness", "two_phases_everywhere"):
        assert bad[name] == "contradicts", name
    assert bad["lr_as_stated_trains"] == "supports"


def test_values_at_the_threshold_are_inconclusive():
    v = verdicts(results(cling=cl.CLING_SHARE, cp=cl.FAST_FRACTION, fit_after=cl.FIT_AFTER,
                         angle=cl.PERPENDICULAR_DEG, gn=1.0, lr_acc=cl.TRAINED_ACC - 0.005, stress_ok=5, stress_bad=5))
    for name in ("clinging_inside_line", "cling_fast_line", "labels_after_line", "gradient_perpendicular_line",
                 "normal_gradient_grows_line", "lr_as_stated_trains", "two_phases_everywhere"):
        assert v[name] == "inconclusive", name


def test_a_control_that_passes_makes_the_claim_inconclusive():
    res = results(angle=10.0)
    res["random_angle"] = {"line": 5.0, "chessboard": 57.3}  # a "random direction" that passes < 30 degrees
    v = verdicts(res)
    assert v["gradient_perpendicular_line"] == "inconclusive"
    assert v["gradient_perpendicular_chessboard"] == "supports"


def test_one_seed_or_missing_values_are_inconclusive():
    v = verdicts(results(n=1))
    assert v["clinging_inside_line"] == "inconclusive"
    res = results()
    res["line"][0]["phases"]["fit_after"] = math.nan
    assert verdicts(res)["labels_after_line"] == "inconclusive"


def test_seed_estimate_interval():
    e = cl.seed_estimate([1.0, 2.0, 3.0])
    assert e.value == pytest.approx(2.0) and e.n == 3
    assert e.lo == pytest.approx(2.0 - 4.303 * 1.0 / math.sqrt(3), abs=1e-3)
    assert e.hi == pytest.approx(2.0 + 4.303 * 1.0 / math.sqrt(3), abs=1e-3)
    assert math.isnan(cl.seed_estimate([1.0]).lo)


def test_stress_claim_counts_only_trained_runs():
    c = cl.stress_claim(results(stress_ok=8, stress_bad=0)["stress"], P)
    assert c.ours.n == 8 and c.ours.value == 1.0  # the 3 untrained runs are left out
    assert cl.stress_claim([], P).verdict == "inconclusive"
