"""Runs the chapter "Boundary tilting" in the smoke profile and checks what it glued."""
import math

import pytest

from dmmlib.chapters.boundary_tilting import profiles
from tests.chapter_runner import assert_prose_glues_verdicts, checked_claims, glued_images, html_tables, long_numbers, run_chapter

CHAPTER = "boundary_tilting"
IDS = {f"{CHAPTER}.{n}" for n in ("tilt_grows", "distance_formula", "best_intermediate", "mlp_tilt", "tilt_vulnerability")}
FIGURES = ("fig_toy", "fig_plane", "fig_sweep", "fig_perturb", "fig_dmm", "fig_tilt_picture", "fig_tilt_distance")


def test_prose_has_no_typed_verdicts():
    # verdict_toy_dimension: a construction check, not a claim
    assert_prose_glues_verdicts(CHAPTER, ("tilt_grows", "distance_formula", "best_intermediate", "mlp_tilt",
                                          "tilt_vulnerability"), banned=("hold here", "verdict_toy_dimension"))


@pytest.fixture(scope="module")
def v():
    return run_chapter(CHAPTER, profile="smoke")


def test_claims_glued_and_consistent(v):
    by = checked_claims(v)
    assert {f"{CHAPTER}.{n}" for n in by} == IDS
    # smoke has one seed: the seed-based claims must not pretend to an interval
    for name in ("tilt_grows", "distance_formula", "best_intermediate"):
        assert by[name].ours.n == 1 and by[name].verdict == "inconclusive"
    assert by["tilt_grows"].ours.value == pytest.approx(v["theta_min_lambda"] - v["theta_max_lambda"], rel=1e-6)
    assert by["distance_formula"].ours.value == pytest.approx(v["dist_over_half_min_lambda"], rel=1e-6)
    # the MLPs' tilt: an interval over the MLPs (smoke: 2), the first one's median glued; random control fails
    assert by["mlp_tilt"].ours.n == v["n_mlps"] == profiles.SMOKE["mlp_models"]
    assert by["mlp_tilt"].kind == "extension" and by["mlp_tilt"].preconditions
    assert by["mlp_tilt"].extra["per_model_median_deg"][0] == pytest.approx(v["mlp_angle_median"], abs=1e-6)
    assert 85 < by["mlp_tilt"].control.value < 95
    assert all(by[n].kind == "companion" and by[n].quote for n in ("tilt_grows", "distance_formula", "best_intermediate"))
    # the distance against the tilt: every held-out test digit, paired at the two ends of the sweep
    vul = by["tilt_vulnerability"]
    assert vul.kind == "companion" and vul.paired and vul.ours.n == v["end_n_digits"] == v["n_test"]
    assert vul.ours.value == pytest.approx(v["end_mean_tilted"] / v["end_mean_flat"], rel=1e-6)
    assert vul.preconditions[0].value == pytest.approx(v["theta_min_lambda"] - v["theta_max_lambda"], rel=1e-6)
    assert vul.verdict == "supports"  # even smoke's sweep tilts the boundary towards the digits


def test_values_in_range(v):
    numbers = {k: x for k, x in v.items() if isinstance(x, (int, float))}
    assert all(math.isfinite(x) for x in numbers.values()), {k: x for k, x in numbers.items() if not math.isfinite(x)}
    for dim in (2, 785):
        assert v[f"toy_dist_{dim}_bisect"] > 10 * v[f"toy_dist_{dim}_tilt"]
        assert v[f"toy_err_{dim}_tilt"] <= 1.0
    assert v["theta_max_lambda"] < 0.1
    assert 20 < v["theta_min_lambda"] < 90
    assert v["theta_min_lambda"] >= v["theta_best"] >= v["theta_max_lambda"]
    assert v["dist_max_lambda"] > v["dist_min_lambda"]
    assert v["dist_ratio"] == pytest.approx(v["dist_max_lambda"] / v["dist_min_lambda"], rel=1e-6)
    assert v["cent_half_maxdev"] < 1e-6
    assert 0 <= v["err_test_best"] <= min(v["err_test_max_lambda"], v["err_test_min_lambda"])
    assert v["err_train_min_lambda"] < 5
    assert 0 < v["max_rel_gap"] < 0.1 and 0 <= v["n_unconverged"] <= v["n_runs"]
    assert v["n_train"] == 2 * profiles.SMOKE["n_train_per_class"]
    assert v["n_test"] > 1000  # every official test digit of the pair (or the held-out share offline)
    assert 0 < v["mlp_angle_q25"] <= v["mlp_angle_median"] <= v["mlp_angle_q75"] < 90
    assert v["theta_range_lo"] <= v["theta_best_seed0"] <= v["theta_range_hi"]
    assert v["overshoot_pct"] == 5 and v["toy_dim_low"] == 2 and v["toy_dim_high"] == 785
    assert 0 <= v["mlp_acc_mean"] <= 100
    assert "[" in v["toy_ratio_text"] and "[" in v["toy_effect_text"]  # the construction check, with its interval
    # the boundary-tilting picture: the perpendiculars are the sweep's ends, the arrows shrink with the tilt
    assert v["picture_theta_tilted"] == pytest.approx(v["theta_min_lambda"], rel=1e-6)
    assert v["picture_centroid_flat"] > v["picture_centroid_tilted"] > 0
    assert v["picture_example_flat"] > v["picture_example_tilted"] > 0
    assert -1 <= v["tilt_dist_spearman"] < 0 and 0.5 < v["end_share_closer"] <= 1


def test_figures_are_images(v):
    images = glued_images(CHAPTER)
    assert set(FIGURES) <= images, set(FIGURES) - images


def test_tables_are_formatted(v):
    html = html_tables(CHAPTER)
    assert len(html) >= 3  # convergence, the sweep (summary + details), the claims
    assert all('class="dmm-table"' in h for h in html)  # every table scrolls in its box
    assert any("<details" in h for h in html)
    assert not long_numbers(html), long_numbers(html)[:5]  # three significant digits, not raw floats
