"""Runs the chapter "Adversarial spheres" in the smoke profile and checks what it glued."""
import math

import pytest

from tests.chapter_runner import run_chapter


@pytest.fixture(scope="module")
def values():
    return run_chapter("adversarial_spheres", profile="smoke")


def test_numbers_are_finite(values):
    numbers = {k: v for k, v in values.items() if isinstance(v, (int, float))}
    assert len(numbers) > 60
    # these may be NaN by construction when smoke's tiny run has no such point
    may_be_nan = {"pinit_first_adv", "reach_min_norm", "reach_max_norm", "acc_clean_min_norm", "acc_clean_max_norm",
                  "relu_cap_at_rate", "tradeoff_ratio_mean", "tradeoff_ratio_min", "tradeoff_ratio_max"}
    bad = {k: v for k, v in numbers.items() if not math.isfinite(v) and k not in may_be_nan}
    assert not bad, bad


def test_figures_present(values):
    for key in ("fig_slices", "fig_norms", "fig_alphas", "fig_clt", "fig_pinit", "fig_kfrac", "fig_tradeoff"):
        assert "Figure" in str(values[key]), key


def test_ranges_and_error_bounds(values):
    for side in ("inner", "outer"):
        k, n = values[f"relu_{side}_errors"], values[f"relu_{side}_n"]
        assert 0 <= values[f"relu_{side}_lo"] <= k / n <= values[f"relu_{side}_hi"] <= 1
        assert values[f"relu_{side}_hi"] > 0  # a bound, never a zero
    for key in ("relu_on_found", "relu_off_found", "relu_worst_found_inner", "relu_cos_mean"):
        assert 0 <= values[key] <= 1, key
    assert 0 < values["relu_off_dist"] and 0 < values["relu_on_dist"] < 2.0
    assert values["relu_ratio"] == pytest.approx(values["relu_on_dist"] / values["relu_off_dist"], rel=0.5)
    assert values["cos_random"] == pytest.approx(math.sqrt(2 / (math.pi * values["d"])))
    assert 0 <= values["quad_bad_fixed"] <= values["d"]
    assert values["perfect_is_perfect"] == 1 and values["perfect_k"] == 0 and values["perfect_hi"] > 0


def test_paper_claims_visible_in_smoke(values):
    # on-sphere nearest errors are farther than off-sphere ones (the paper: about twice)
    assert values["relu_on_dist"] > values["relu_off_dist"]
    # a perfect start: average loss does not grow while the worst case does (figure 3)
    assert values["pinit_worst1"] > values["pinit_worst0"]
    # the exact cap and its Gaussian form agree at d = 500; figure 4 at d = 3000 is below 1
    assert values["cap500_1e7"] == pytest.approx(values["cap500_1e7_gauss"], rel=0.05)
    assert 0 < values["k3000_exact"] < 1 and 0 < values["k3000_clt"] < 1
    # the CLT tracks sampling where the rate is measurable
    if values["clt_n_measurable"] > 0:
        assert values["clt_max_log_err"] < 0.5
