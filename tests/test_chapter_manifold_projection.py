"""Runs the chapter "Does projecting onto the manifold defend?" in the smoke profile and checks what it glued."""
import math

import pytest

from dmmlib.chapters.manifold_projection import profiles
from tests.chapter_runner import assert_prose_glues_verdicts, checked_claims, glued_images, html_tables, long_numbers, run_chapter

CHAPTER = "manifold_projection"
NAMES = ("robust", "on_manifold", "detect")
IDS = {f"{CHAPTER}.{n}_{ds}" for n in NAMES for ds in ("mnist", "cifar10")}
FIGURES = ("fig_distances", "fig_scatter", "fig_roc", "fig_examples_mnist", "fig_examples_cifar10")


def test_prose_has_no_typed_verdicts():
    assert_prose_glues_verdicts(CHAPTER, sorted(n.split('.')[1] for n in IDS))


@pytest.fixture(scope="module")
def v():
    return run_chapter(CHAPTER, profile="smoke")


def test_claims_glued_and_consistent(v):
    by = checked_claims(v)
    assert {f"{CHAPTER}.{n}" for n in by} == IDS
    for ds in ("mnist", "cifar10"):
        assert by[f"robust_{ds}"].paired and by[f"on_manifold_{ds}"].paired
        assert all(by[f"{n}_{ds}"].kind == "notes" and by[f"{n}_{ds}"].preconditions for n in NAMES)
        n_images = profiles.SMOKE["n_images"][ds] * profiles.SMOKE["models"][ds]
        assert v[f"{ds}_images"] == str(n_images)
        # the smoke models are toys: their setup checks fail, so nothing is decided on them
        assert {by[f"{n}_{ds}"].verdict for n in NAMES} <= {"not tested", "inconclusive"}


def test_values_in_range(v):
    numbers = {k: x for k, x in v.items() if isinstance(x, (int, float))}
    assert all(math.isfinite(x) for x in numbers.values()), {k: x for k, x in numbers.items() if not math.isfinite(x)}
    assert v["band_lo"] == 0.8 and v["band_hi"] == 1.25
    assert v["long_steps"] == profiles.SMOKE["mn_steps"] * profiles.SMOKE["check_step_factor"]
    assert "[" in v["mnist_dist_plain"] and "[" in v["mnist_dist_on"]  # estimates with their intervals
    assert 0 < v["elapsed_min"] < 5


def test_figures_are_images(v):
    images = glued_images(CHAPTER)
    assert set(FIGURES) <= images, set(FIGURES) - images


def test_tables_are_formatted(v):
    html = html_tables(CHAPTER)
    assert len(html) >= 3  # setup checks, the masking check, the claims
    assert all('class="dmm-table"' in h for h in html)
    assert not long_numbers(html), long_numbers(html)[:5]
