"""Runs the chapter "Is it just redundant dimensions?" in the smoke profile and checks what it glued."""
import math

import numpy as np
import pytest

from dmmlib.chapters.redundant_dimensions import claims as RC
from dmmlib.chapters.redundant_dimensions import profiles
from tests.chapter_runner import assert_prose_glues_verdicts, checked_claims, glued_images, html_tables, long_numbers, run_chapter

CHAPTER = "redundant_dimensions"
NAMES = [f"{s}_{q}" for s in ("linear", "curved", "mnist") for q in RC.QUANTITIES]
FIGURES = ("fig_rd_synthetic", "fig_rd_mnist", "fig_rd_exponents")


def test_prose_has_no_typed_verdicts():
    assert_prose_glues_verdicts(CHAPTER, NAMES)


@pytest.fixture(scope="module")
def v():
    return run_chapter(CHAPTER, profile="smoke")


def test_claims_glued_and_consistent(v):
    by = checked_claims(v)
    assert set(by) == set(NAMES)
    for name, c in by.items():
        assert c.ours.n == profiles.SMOKE["seeds"] and len(c.extra["per_seed_slope"]) == profiles.SMOKE["seeds"]
        assert v[f"exp_{name}"] == c.ours.text()
        assert any("accuracy" in p.name for p in c.preconditions)
        assert ("success" in " ".join(p.name for p in c.preconditions)) == (not name.endswith("_grad"))
        assert c.extra["ns"] == ([float((28 * r) ** 2) for r in profiles.SMOKE["mnist_factors"]] if name.startswith("mnist")
                                 else [float(n) for n in profiles.SMOKE["ns"]])
    # the glued accuracy is the one the precondition judged
    acc = {p.name: p.value for p in by["linear_off"].preconditions if "accuracy" in p.name}
    assert list(acc.values())[0] == pytest.approx(v["acc_min_linear"] / 100)


def test_values_in_range(v):
    numbers = {k: x for k, x in v.items() if isinstance(x, (int, float)) and not isinstance(x, bool)}
    finite_needed = [k for k in numbers if k.startswith(("linear_", "curved_", "acc_min", "success_min"))]
    assert all(math.isfinite(numbers[k]) for k in finite_needed), [k for k in finite_needed if not math.isfinite(numbers[k])]
    for g in ("linear", "curved"):
        for q in ("free", "on", "off"):
            assert 0 < v[f"{g}_{q}_first"] < 1 and 0 < v[f"{g}_{q}_last"] < 1  # points lie within 0.45 of each other
        # the unconstrained minimum is no farther than the constrained ones (the attack's best, medians)
        assert v[f"{g}_free_first"] <= 1.05 * min(v[f"{g}_on_first"], v[f"{g}_off_first"])
        assert v[f"{g}_gap_first"] >= 0.95
        assert 0 <= v[f"acc_min_{g}"] <= 100 and 0 <= v[f"success_min_{g}"] <= 100
    assert v["n_min"] == min(profiles.SMOKE["ns"]) and v["n_max"] == max(profiles.SMOKE["ns"])
    assert v["mnist_ns"] == ", ".join(str((28 * r) ** 2) for r in profiles.SMOKE["mnist_factors"])
    assert v["mnist_k"] == 16 and 0 <= v["acc_min_mnist"] <= 100
    assert np.isfinite(v["mnist_free_raw_exp"]) or v["success_min_mnist"] < 50


def test_figures_are_images(v):
    images = glued_images(CHAPTER)
    assert set(FIGURES) <= images, set(FIGURES) - images


def test_tables_are_formatted(v):
    html = html_tables(CHAPTER)
    assert len(html) >= 4  # predictions, exponents (summary + details), per n, claims
    assert all('class="dmm-table"' in h for h in html)
    assert any("<details" in h for h in html)
    assert not long_numbers(html), long_numbers(html)[:5]
