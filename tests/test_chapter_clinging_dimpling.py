"""Runs the chapter "Clinging and dimpling" in the smoke profile and checks what it glued."""
import math

import pytest

from tests.chapter_runner import run_chapter


@pytest.fixture(scope="module")
def values():
    return run_chapter("clinging_dimpling", profile="smoke")


def test_numbers_are_finite(values):
    numbers = {k: v for k, v in values.items() if isinstance(v, (int, float))}
    assert len(numbers) > 50
    bad = {k: v for k, v in numbers.items() if not math.isfinite(v)}
    assert not bad, bad


def test_figures_and_verdicts_present(values):
    for key in ("fig_lr", "fig_2d", "fig_3d", "fig_curves", "fig_depth", "fig_grad", "fig_adv"):
        assert "Figure" in str(values[key]), key
    assert "Markdown" in str(values["phase_verdict"]) and "Markdown" in str(values["angle_verdict"])


def test_ranges(values):
    assert values["n_seeds"] == 1 and values["n_chess"] == values["cells"] ** 2 * values["per_cell"]
    for name in ("line", "chessboard"):
        assert 0 <= values[f"{name}_clinging_end"] <= values[f"{name}_dimpling_end"] <= values["epochs"]
        assert 0 <= values[f"{name}_final_accuracy"] <= 1
        assert abs(values[f"{name}_final_dimple_depth"]) <= 0.5 + 1e-6
        assert 0 <= values[f"angle_{name}"] <= 90
        for key in ("initial_distance", "final_distance", "distance_at_clinging_end"):
            assert 0 <= values[f"{name}_{key}"] <= math.sqrt(3) + 1e-6
    assert values["angle_random_line"] == pytest.approx(45.0, abs=0.1)
    assert values["angle_random_chessboard"] == pytest.approx(57.3, abs=0.1)
    assert values["depth_extra"] == pytest.approx(values["depth_adv"] - values["depth_clean"], abs=1e-6)


def test_clinging_visible_in_smoke(values):
    # even the short smoke run brings the boundary towards the chessboard plane
    assert values["chessboard_final_distance"] < 0.8 * values["chessboard_initial_distance"]
