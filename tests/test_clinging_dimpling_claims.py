"""The chapter's verdict rules on constructed results: each claim must say supports,
contradicts, inconclusive and not tested where it should."""
import math
from pathlib import Path

import pytest

from dmmlib.chapters.clinging_dimpling import claims as cl
from dmmlib.claims import QUOTED_KINDS

P = {"profile": "smoke", "epochs": 200, "width": 4000}
SEED_TEXT = Path("/work/shared/seeds")


def _run(seed, *, cling=0.9, cling0=0.1, cp=0.05, fit_after=0.9, angle=10.0, angle0=50.0, gn=2.0, gn0=1.0,
         depth=0.05, test=0.95, robust=0.5, train_acc=1.0, jitter=0.01, bangle=20.0, bangle0=50.0, found=1.0,
         away=0.03, none_away=0.0, fit=10.0, censored=False):
    j = jitter * (seed - 2)  # a small spread over seeds, centred on the given value
    final = {"cling_inside": cling + j, "cling_beyond": cling + j, "angle_train": angle + 10 * j,
             "gn_train": gn + j, "depth_median": depth + j}
    init = {"cling_inside": cling0, "cling_beyond": cling0, "angle_train": angle0, "gn_train": gn0}
    return {"seed": seed, "final": final, "init": init, "walls": {"cling_inside": 0.0, "cling_beyond": 0.0},
            "phases": {"changepoint_fraction": cp + j, "fit_after": fit_after + j}, "test_acc": test + j,
            "robust_acc": robust + j, "train_acc": train_acc,
            "orient": {"final": {"bangle_inside": bangle + 10 * j, "bangle_found": found, "dist_away": away + 0.1 * j,
                                 "none_away": none_away},
                       "init": {"bangle_inside": bangle0, "bangle_found": 1.0, "dist_away": 0.1, "none_away": 0.0}},
            "fit_epoch": fit + 100 * j, "fit_censored": censored}


def _reading(label, d, s, acc, **kw):
    r = _run(s, **kw)
    row = {"reading": label, "dataset": d, "seed": s, "final_acc": acc}
    if acc > cl.TRAINED_ACC:
        row.update(final=r["final"], init=r["init"], phases=r["phases"])
    return row


def _pressure(seed, share=0.8, n_wrong=20, found=1.0, jitter=0.01):
    j = jitter * (seed - 2)
    return {"seed": seed, "summary": {"share": share + j, "share_correct": 0.1, "n_wrong": n_wrong,
                                      "found_wrong": found, "inward_mean": 0.01, "rest_mean": 0.002}}


def results(n=5, *, adv=None, noise=None, pressure=None, lr_acc=0.5, stress_ok=10, stress_bad=0, reading=None, **kw):
    adv = {"depth": 0.15, "angle": 25.0, "test": 0.9, "robust": 0.7, "away": 0.031, "fit": 30.0, **(adv or {})}
    noise = {"depth": 0.08, "robust": 0.6, **(noise or {})}
    return {
        "line": [_run(s, **kw) for s in range(n)],
        "chessboard": [_run(s, **kw) for s in range(n)],
        "chessboard_adv": [_run(s, **{**kw, **adv}) for s in range(n)],
        "chessboard_noise": [_run(s, **{**kw, **noise}) for s in range(n)],
        "pressure": {d: [_pressure(s, **(pressure or {})) for s in range(n)] for d in ("line", "chessboard")},
        "random_angle": {"line": 45.0, "chessboard": 57.3},
        "adv_eps": 0.05,
        "lr": ([_reading("as stated: ...", d, s, lr_acc + 0.01 * s) for d in ("line", "chessboard") for s in range(2)]
               + [_reading("centred", d, s, 1.0, **(reading or {})) for d in ("line", "chessboard") for s in range(2)]),
        "stress": ([{"final_acc": 1.0, "changepoint_fraction": 0.1, "fit_after": 0.9}] * stress_ok
                   + [{"final_acc": 1.0, "changepoint_fraction": 0.6, "fit_after": 0.2}] * stress_bad
                   + [{"final_acc": 0.5, "changepoint_fraction": 0.1, "fit_after": 0.9}] * 3),
    }


def by_name(res):
    return {c.id.split(".", 1)[1]: c for c in cl.claims(res, P)}


def verdicts(res):
    return {k: c.verdict for k, c in by_name(res).items()}


def test_ids_are_unique_and_complete():
    ids = [c.id for c in cl.claims(results(), P)]
    assert len(ids) == len(set(ids)) == 27
    assert all(i.startswith("clinging_dimpling.") for i in ids)
    assert "clinging_dimpling.lr_as_stated_fails" in ids


def test_every_claim_has_a_kind_and_quotes_the_paper_exactly():
    claims = cl.claims(results(), P)
    kinds = {c.id.split(".", 1)[1]: c.kind for c in claims}
    assert kinds["lr_as_stated_fails"] == "protocol"
    assert all(k == "paper" for n, k in kinds.items() if n != "lr_as_stated_fails")
    files = sorted(SEED_TEXT.glob("000_*.txt"))
    if not files:
        pytest.skip("the paper's text is not on this machine")
    text = " ".join(files[0].read_text().split())
    for c in claims:
        assert c.quote, c.id
        assert " ".join(c.quote.split()) in text, c.id
    for q in cl.QUOTES.values():
        assert " ".join(q.split()) in text, q


def test_a_dmm_like_run_supports_and_its_opposite_contradicts():
    good = verdicts(results())
    for name in ("clinging_inside_line", "clinging_beyond_chessboard", "cling_fast_line", "labels_after_chessboard",
                 "gradient_perpendicular_line", "normal_gradient_grows_chessboard", "adv_deepens_dimples",
                 "adv_gradient_on_manifold", "adv_costs_accuracy", "adv_buys_robustness", "two_phases_everywhere",
                 "lr_as_stated_fails"):
        assert good[name] == "supports", name
    # the opposite, with the premise of section 5.1 still holding (clean angle 20 < 30 degrees)
    bad = verdicts(results(cling=0.3, cling0=0.2, cp=0.6, fit_after=0.2, angle=20.0, angle0=20.0, gn=0.5, lr_acc=0.97,
                           stress_ok=0, stress_bad=10,
                           adv={"depth": 0.05 + 0.05 * 5, "angle": 20.0, "test": 1.0, "robust": 0.5}))
    for name in ("clinging_inside_line", "cling_fast_chessboard", "labels_after_line", "normal_gradient_grows_line",
                 "adv_deepens_dimples", "adv_gradient_on_manifold", "adv_costs_accuracy", "adv_buys_robustness",
                 "two_phases_everywhere", "lr_as_stated_fails"):
        assert bad[name] == "contradicts", name


def test_values_at_the_threshold_are_inconclusive():
    v = verdicts(results(cling=cl.CLING_SHARE + 0.1, cling0=0.1, cp=cl.FAST_FRACTION, fit_after=cl.FIT_AFTER,
                         angle=45.0, gn=1.0, lr_acc=cl.TRAINED_ACC - 0.005, stress_ok=5, stress_bad=5,
                         adv={"depth": 0.05 + 0.05 * cl.DEPTH_BAND[1]}))
    for name in ("clinging_inside_line", "cling_fast_line", "labels_after_line", "gradient_perpendicular_line",
                 "normal_gradient_grows_line", "lr_as_stated_fails", "two_phases_everywhere", "adv_deepens_dimples"):
        assert v[name] == "inconclusive", name


def test_paired_comparisons_are_one_sided():
    # a gradient *farther* from the normal than a random direction contradicts; it is never support
    c = by_name(results(angle=70.0, angle0=70.0, adv={"angle": 80.0}))
    assert c["gradient_perpendicular_chessboard"].verdict == "contradicts"
    assert c["gradient_perpendicular_chessboard"].paired and c["gradient_perpendicular_chessboard"].control.value == 57.3
    # a boundary that clings *less* after training than before contradicts clinging
    c = by_name(results(cling=0.1, cling0=0.9))
    assert c["clinging_inside_line"].verdict == "contradicts" and c["clinging_inside_line"].paired
    assert c["clinging_inside_line"].control.value == pytest.approx(0.9)
    # adversarial training turning the gradient *towards* the normal contradicts a larger on-manifold component
    c = by_name(results(angle=25.0, adv={"angle": 5.0}))
    assert c["adv_gradient_on_manifold"].verdict == "contradicts"
    # a gain below the minimum effect contradicts, though it is positive
    c = by_name(results(angle=10.0, adv={"angle": 13.0, "robust": 0.51}))
    assert c["adv_gradient_on_manifold"].verdict == "contradicts"
    assert c["adv_buys_robustness"].verdict == "contradicts"


def test_dimple_depth_is_judged_against_a_band_around_2_eps():
    for gain, verdict in ((2.0, "supports"), (0.3, "contradicts"), (4.0, "contradicts")):
        c = by_name(results(adv={"depth": 0.05 + 0.05 * gain}))["adv_deepens_dimples"]
        assert c.verdict == verdict, gain
        assert c.ours.value == pytest.approx(gain)


def test_failed_preconditions_give_not_tested():
    # networks that do not fit their labels: every claim about them is not tested
    v = verdicts(results(train_acc=0.6))
    for name in ("clinging_inside_line", "cling_fast_chessboard", "gradient_perpendicular_line", "adv_costs_accuracy"):
        assert v[name] == "not tested", name
    assert v["lr_as_stated_fails"] == "supports"  # a protocol finding about other runs
    # the premise of section 5.1 fails (clean gradient at 55 degrees, a random direction's 57)
    c = by_name(results(angle=55.0, adv={"angle": 80.0}))
    for name in ("adv_gradient_on_manifold", "adv_buys_robustness"):
        assert c[name].verdict == "not tested", name
        assert "premise" in c[name].reason and "55" in c[name].reason
    assert c["adv_deepens_dimples"].verdict == "supports"
    # an attack that does not hurt the clean network leaves nothing to gain: not tested
    c = by_name(results(robust=0.94))
    assert c["adv_buys_robustness"].verdict == "not tested" and "attack" in c["adv_buys_robustness"].reason
    # no stress-test run trained
    assert cl.stress_claim(results(stress_ok=0)["stress"], P).verdict == "not tested"


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
    d = cl.paired_estimate([3.0, 4.0, 6.0], [1.0, 2.0, 3.0])
    assert d.value == pytest.approx(7 / 3) and d.n_of == "seeds (paired)"
    assert cl.paired_estimate([2.0, 4.0], [1.0, 2.0], statistic="ratio").value == pytest.approx(2.0)
    with pytest.raises(ValueError):
        cl.paired_estimate([1.0], [1.0, 2.0])


def test_stress_claim_counts_only_trained_runs():
    c = cl.stress_claim(results(stress_ok=8, stress_bad=0)["stress"], P)
    assert c.ours.n == 8 and c.ours.value == 1.0  # the 3 untrained runs are left out


def test_reading_checks_compare_each_reading_with_the_chapter():
    res = results()
    ver = verdicts(res)
    assert by_name(res)["lr_as_stated_fails"].extra["readings_that_train"] == ["centred"]
    checks = cl.reading_checks(res["lr"], res["random_angle"], ver)
    assert {c["reading"] for c in checks} == {"centred"}  # the reading as stated does not train
    assert len(checks) == 2 * 6 and all(c["agrees"] == "yes" for c in checks)
    # a reading whose gradient is farther from the normal than random disagrees with the chapter
    res = results(reading={"angle": 80.0})
    checks = cl.reading_checks(res["lr"], res["random_angle"], verdicts(res))
    bad = {c["claim"] for c in checks if c["agrees"] == "no"}
    assert bad == {"gradient_perpendicular_line", "gradient_perpendicular_chessboard"}
    # undecided chapter verdicts are not compared
    checks = cl.reading_checks(res["lr"], res["random_angle"], {})
    assert all(c["agrees"] == "—" for c in checks)
    # a reading that trains on one dataset only is checked on that dataset
    res = results()
    for r in res["lr"]:
        if r["reading"] == "centred" and r["dataset"] == "line":
            r["final_acc"] = 0.5
    assert cl.trained_cells(res["lr"]) == [("centred", "chessboard")]
    assert cl.readings_that_train(res["lr"]) == []
    assert {c["dataset"] for c in cl.reading_checks(res["lr"], res["random_angle"], ver, own="centred")} == {"chessboard"}
    assert all(c["own"] for c in cl.reading_checks(res["lr"], res["random_angle"], ver, own="centred"))


def test_quoted_kinds_need_quotes():
    assert "paper" in QUOTED_KINDS


# --- the items of issue 26: figures 1 and 2, section 5.1, appendix A ---------------------------

NEW = ("not_walls_line", "not_walls_chessboard", "inward_pressure_line", "inward_pressure_chessboard",
       "adv_main_effect_dimples", "adv_clinging_unchanged", "adv_harder_to_train", "noise_deepens_dimples",
       "noise_buys_robustness")


def test_new_items_support_on_a_dmm_like_run():
    c = by_name(results())
    for name in NEW:
        assert c[name].verdict == "supports", (name, c[name].reason)
        assert c[name].kind == "paper" and c[name].quote in cl.QUOTES.values()
    # the figure-1 claim carries the walls as a control that fails its criterion by construction
    assert c["not_walls_chessboard"].control.value == 90.0
    assert not c["not_walls_chessboard"].criterion.holds(c["not_walls_chessboard"].control.value)
    assert c["adv_harder_to_train"].ours.value == pytest.approx(20.0)  # 30 - 10 epochs, paired
    assert c["noise_deepens_dimples"].ours.value == pytest.approx((0.08 - 0.05) / 0.05)


def test_new_items_contradict_on_the_opposite():
    c = by_name(results(bangle=80.0, pressure={"share": -0.5},
                        adv={"depth": 0.05, "away": 0.03 + 0.05 * 2, "fit": 10.0 - 5.0},
                        noise={"depth": 0.02, "robust": 0.5}))
    for name in NEW:
        assert c[name].verdict == "contradicts", (name, c[name].reason)


def test_new_items_at_their_thresholds_are_inconclusive():
    c = by_name(results(bangle=cl.WALL_ANGLE_DEG, pressure={"share": cl.INWARD_SHARE},
                        adv={"away": 0.03 + 0.05 * cl.CLING_CHANGE_EPS, "fit": 10.0, "jitter": 0.03},
                        noise={"depth": 0.05, "robust": 0.5 + cl.MIN_ROBUST_GAIN, "jitter": 0.03}))
    for name in ("not_walls_line", "inward_pressure_chessboard", "adv_clinging_unchanged", "adv_harder_to_train",
                 "noise_deepens_dimples", "noise_buys_robustness"):
        assert c[name].verdict == "inconclusive", (name, c[name].reason)
    # the main effect: a depth gain equal to the change away from the training points
    c = by_name(results(adv={"depth": 0.1, "away": 0.03 + 0.05}))
    assert c["adv_main_effect_dimples"].verdict == "inconclusive"


def test_new_items_not_tested_when_their_preconditions_fail():
    c = by_name(results(found=0.2))  # no boundary found near the manifold
    assert c["not_walls_line"].verdict == "not tested"
    c = by_name(results(pressure={"n_wrong": 1}))  # nothing misclassified to follow
    assert c["inward_pressure_line"].verdict == "not tested" and "misclassified" in c["inward_pressure_line"].reason
    c = by_name(results(pressure={"found": 0.1}))
    assert c["inward_pressure_chessboard"].verdict == "not tested"
    c = by_name(results(adv={"none_away": 0.9}))  # no boundary away from the training points
    for name in ("adv_main_effect_dimples", "adv_clinging_unchanged"):
        assert c[name].verdict == "not tested", name
    c = by_name(results(censored=True, adv={"censored": True}))  # the clean networks never fit
    assert c["adv_harder_to_train"].verdict == "not tested"
    c = by_name(results(noise={"train_acc": 0.6}))
    assert c["noise_deepens_dimples"].verdict == "not tested" and c["noise_buys_robustness"].verdict == "not tested"
    c = by_name(results(robust=0.94))  # the attack does not hurt the clean network
    assert c["noise_buys_robustness"].verdict == "not tested"
