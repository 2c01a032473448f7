"""Runs the chapter "Clinging and dimpling" in the smoke profile and checks what it glued."""
import math

import pytest

from dmmlib import params
from dmmlib.chapters.clinging_dimpling import claims as cl
from dmmlib.claims import VERDICTS, from_json
from tests.chapter_runner import run_chapter

EXPECTED_IDS = {
    f"clinging_dimpling.{name}"
    for d in ("line", "chessboard")
    for name in (f"clinging_inside_{d}", f"clinging_beyond_{d}", f"cling_fast_{d}", f"labels_after_{d}",
                 f"gradient_perpendicular_{d}", f"normal_gradient_grows_{d}", f"not_walls_{d}", f"inward_pressure_{d}")
} | {f"clinging_dimpling.{n}" for n in ("adv_deepens_dimples", "adv_gradient_on_manifold", "adv_costs_accuracy",
                                        "adv_buys_robustness", "adv_main_effect_dimples", "adv_clinging_unchanged",
                                        "adv_harder_to_train", "noise_deepens_dimples", "noise_buys_robustness",
                                        "lr_as_stated_fails", "two_phases_everywhere")}


@pytest.fixture(scope="module")
def values():
    return run_chapter("clinging_dimpling", profile="smoke")


@pytest.fixture(scope="module")
def P():
    return params.resolve("clinging_dimpling", "smoke")


def test_claims_ledger(values):
    claims = from_json(values["claims"])
    assert {c.id for c in claims} == EXPECTED_IDS
    for c in claims:
        assert c.verdict in VERDICTS
        assert values[f"verdict_word_{c.id.split('.', 1)[1]}"] == c.verdict
        assert c.source.startswith("DMM") and c.section.startswith("sec-cling-")
        assert c.kind == ("protocol" if c.id.endswith("lr_as_stated_fails") else "paper") and c.quote
        # every claim has data; the stress test's counts only runs that trained (none may in smoke)
        assert c.ours.n >= (0 if c.id.endswith("two_phases_everywhere") else 1)


def test_claims_match_the_glued_numbers(values):
    by_id = {c.id.split(".", 1)[1]: c for c in from_json(values["claims"])}
    for d in ("line", "chessboard"):
        assert by_id[f"clinging_inside_{d}"].ours.value == pytest.approx(
            values[f"cling_inside_{d}"] - values[f"cling_init_inside_{d}"], abs=1e-9)
        assert by_id[f"clinging_inside_{d}"].control.value == pytest.approx(values[f"cling_init_inside_{d}"], abs=1e-9)
        assert by_id[f"gradient_perpendicular_{d}"].ours.value == pytest.approx(
            values[f"angle_{d}"] - values[f"random_angle_{d}"], abs=1e-6)
        assert by_id[f"gradient_perpendicular_{d}"].control.value == pytest.approx(values[f"random_angle_{d}"])
    assert by_id["lr_as_stated_fails"].ours.value == pytest.approx(values["acc_stated"], abs=1e-9)
    assert by_id["adv_costs_accuracy"].ours.value == pytest.approx(values["test_acc_clean"] - values["test_acc_adv"], abs=1e-9)
    assert by_id["two_phases_everywhere"].ours.n == values["n_stress_trained"]
    # the adversarial claims that rest on section 5.1's premise declare it
    for name in ("adv_gradient_on_manifold", "adv_buys_robustness"):
        pre = {p.name.split(":")[0] for p in by_id[name].preconditions}
        assert "premise" in pre, name
        assert by_id[name].paired


def test_reading_checks_reach_the_page(values):
    assert 0 <= values["n_reading_agree"] + values["n_reading_disagree"] <= values["n_reading_cells"]
    assert values["n_reading_cells"] % 6 == 0  # six measurements per reading and dataset
    assert values["n_reading_agree"] + values["n_reading_disagree"] + values["n_reading_undecided"] == values["n_reading_cells"]


def test_parameters_reach_the_page(values, P):
    for knob in ("seeds", "epochs", "width", "lr", "weight_decay", "adv_eps", "cells", "per_cell"):
        assert values[f"P_{knob}"] == P[knob], knob
    assert values["n_chess"] == P["cells"] ** 2 * P["per_cell"]
    assert values["n_stress"] == len(P["stress_widths"]) * sum(map(len, P["stress_lrs"].values())) * P["stress_seeds"]
    assert values["thr_trained"] == cl.TRAINED_ACC


def test_values_in_range(values, P):
    for d in ("line", "chessboard"):
        for part in ("inside", "beyond"):
            assert 0 <= values[f"cling_{part}_{d}"] <= 1
            assert 0 < values[f"dist_{part}_{d}"] < 2  # medians: finite, inside the cube's reach
            assert 0 <= values[f"walldist_{part}_{d}"] < 1
        assert 0 <= values[f"cp_min_{d}"] <= values[f"cp_{d}"] <= values[f"cp_max_{d}"] <= P["epochs"]
        assert 0 <= values[f"angle_{d}"] <= 90
        assert 0 <= values[f"train_acc_min_{d}"] <= 1
    # label scale: half the spacing of the line's points; the chessboard's is near half a cell
    assert values["scale_line"] == pytest.approx(0.8 / (P["n_line"] - 1) / 2, rel=1e-4)
    assert 0.01 < values["scale_chessboard"] < 0.8 / P["cells"]
    assert values["random_angle_line"] == pytest.approx(45.0, abs=0.1)
    assert values["random_angle_chessboard"] == pytest.approx(57.3, abs=0.1)
    for key in ("test_acc_clean", "test_acc_adv", "robust_acc_clean", "robust_acc_adv", "acc_stated"):
        assert 0 <= values[key] <= 1, key
    # robust accuracy is measured on the same held-out points, under attack: never above clean accuracy
    assert values["robust_acc_clean"] <= values["test_acc_clean"] + 1e-9
    assert values["robust_acc_adv"] <= values["test_acc_adv"] + 1e-9
    assert 0 <= values["n_stress_trained"] <= values["n_stress"]
    assert math.isfinite(values["runtime_s"])


def test_figures_present(values):
    for key in ("fig_lr", "fig_2d", "fig_3d", "fig_height", "fig_traces", "fig_acc", "fig_grad", "fig_adv", "fig_stress",
                "fig_walls", "fig_pressure", "fig_trainings"):
        assert "Figure size" in str(values[key]), key


def test_new_items_match_the_glued_numbers(values, P):
    by_id = {c.id.split(".", 1)[1]: c for c in from_json(values["claims"])}
    for d in ("line", "chessboard"):
        assert by_id[f"not_walls_{d}"].ours.value == pytest.approx(values[f"bangle_{d}"], abs=1e-6)
        assert 0 <= values[f"bangle_{d}"] <= 90
        assert by_id[f"not_walls_{d}"].control.value == 90.0
        assert by_id[f"inward_pressure_{d}"].ours.value == pytest.approx(values[f"inward_share_{d}"], abs=1e-9)
        assert -1 <= values[f"inward_share_{d}"] <= 1
        assert values[f"pressure_pairs_{d}"] >= 0
    assert by_id["noise_deepens_dimples"].ours.value == pytest.approx(values["depth_gain_noise_eps"], abs=1e-6)
    assert by_id["noise_buys_robustness"].ours.value == pytest.approx(
        values["robust_acc_noise"] - values["robust_acc_clean"], abs=1e-9)
    assert by_id["adv_harder_to_train"].ours.value == pytest.approx(
        values["fit_epoch_adv"] - values["fit_epoch_clean"], abs=1e-9)
    if math.isfinite(values["away_adv_eps"] - values["away_clean_eps"]):  # a boundary found away from the points
        assert by_id["adv_clinging_unchanged"].ours.value == pytest.approx(
            values["away_adv_eps"] - values["away_clean_eps"], abs=1e-6)
    for key in ("fit_epoch_clean", "fit_epoch_adv", "fit_epoch_noise"):
        assert 0 <= values[key] <= P["epochs"] + 1, key
    assert 0 <= values["robust_acc_noise"] <= values["test_acc_noise"] + 1e-9
