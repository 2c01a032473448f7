"""Runs the chapter "Two-layer ReLU networks on a linear subspace" in the smoke profile and
checks what it glued."""
import math

import pytest

from dmmlib.chapters.two_layer_subspace import profiles
from tests.chapter_runner import assert_prose_glues_verdicts, checked_claims, glued_images, html_tables, long_numbers, run_chapter

CHAPTER = "two_layer_subspace"
NAMES = ("orthogonal_gradient", "off_vs_on", "off_vs_data", "init_trend", "weight_decay_trend")
FIGURES = ("fig_gradients", "fig_distance", "fig_trends", "fig_dimensions")


def test_prose_has_no_typed_verdicts():
    assert_prose_glues_verdicts(CHAPTER, NAMES)


@pytest.fixture(scope="module")
def v():
    return run_chapter(CHAPTER, profile="smoke")


def test_claims_glued_and_consistent(v):
    by = checked_claims(v)
    assert set(by) == set(NAMES)
    assert all(c.kind == "companion" and c.quote for c in by.values())
    S = profiles.SMOKE["seeds"]
    assert by["off_vs_data"].ours.n == S and by["init_trend"].ours.n == S
    assert by["off_vs_on"].ours.value == pytest.approx(
        sum(by["off_vs_on"].extra["per_network_off"]) / sum(by["off_vs_on"].extra["per_network_on"]), rel=1e-6)
    assert v["d_off_base"] == pytest.approx(sum(by["off_vs_on"].extra["per_network_off"]) / S, rel=1e-6)
    # a Gaussian direction's orthogonal/parallel ratio is about sqrt((n - k) / k)
    n, k = profiles.QUICK["n_base"], profiles.QUICK["k_base"]
    assert 0.8 < by["orthogonal_gradient"].control.value / math.sqrt((n - k) / k) < 1.25


def test_values_in_range(v):
    numbers = {key: x for key, x in v.items() if isinstance(x, (int, float))}
    assert all(math.isfinite(x) for x in numbers.values()), {k: x for k, x in numbers.items() if not math.isfinite(x)}
    assert v["seeds"] == profiles.SMOKE["seeds"] and v["width"] == profiles.SMOKE["width"]
    assert 0 <= v["share_reached"] <= 100 and 0 <= v["acc_test_min"] <= v["acc_test_base"] <= 100
    assert 0 < v["box_use_max"] < 1
    # the unconstrained attack is the shortest of the three (up to the attack's tolerance)
    assert v["d_free_base"] <= 1.05 * min(v["d_on_base"], v["d_off_base"])
    assert 0 < v["grad_perp_median"] and 0 < v["grad_par_median"]
    assert v["grad_dmm_side"] in ("above", "below", "around")
    assert v["n_sweep_lo"] == min(profiles.SMOKE["n_values"]) and v["k_sweep_hi"] == max(profiles.SMOKE["k_values"])
    assert 0 <= v["success_off"] <= 100


def test_figures_are_images(v):
    images = glued_images(CHAPTER)
    assert set(FIGURES) <= images, set(FIGURES) - images


def test_tables_are_formatted(v):
    html = html_tables(CHAPTER)
    assert len(html) >= 2  # the settings (summary + details), the claims
    assert all('class="dmm-table"' in h for h in html)
    assert any("<details" in h for h in html)
    assert not long_numbers(html), long_numbers(html)[:5]
