"""Runs the chapter "Adversarial spheres" in the smoke profile and checks what it glued."""
import math

import pytest

from dmmlib.chapters.adversarial_spheres import profiles
from tests.chapter_runner import assert_prose_glues_verdicts, checked_claims, glued_images, html_tables, long_numbers, run_chapter

CHAPTER = "adversarial_spheres"
NAMES = ("on_off_ratio", "gradient_normal", "quad_alpha_count", "clt_estimate", "cap_bound", "fig4_k_fraction",
         "deep_cap_bound", "dsweep_onset")
FIGURES = ("fig_slices", "fig_norms", "fig_d2", "fig_alphas", "fig_clt", "fig_pinit", "fig_kfrac", "fig_tradeoff",
           "fig_dsweep")


def same(a, b, rel=1e-6):
    """Equal within ``rel``, or both NaN."""
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=rel)


def test_prose_has_no_typed_verdicts():
    assert_prose_glues_verdicts(CHAPTER, NAMES, banned=("as the DMM's second claim says", "This is the ordering"))


@pytest.fixture(scope="module")
def values():
    return run_chapter(CHAPTER, profile="smoke")


def test_claims_glued_and_consistent(values):
    v = values
    by = checked_claims(v)
    assert list(by) == list(NAMES)
    # one seed in smoke: the claims over seeds have no interval and cannot be decided (and smoke's tiny networks may
    # fail a precondition: then they are not tested)
    for name in ("on_off_ratio", "gradient_normal", "quad_alpha_count"):
        assert by[name].ours.n == 1 and by[name].verdict in ("inconclusive", "not tested")
    assert {n: c.kind for n, c in by.items()} == {**dict.fromkeys(NAMES, "companion"), "gradient_normal": "extension"}
    assert all(c.quote for c in by.values())
    pre = {p.name: p for c in by.values() for p in c.preconditions}
    assert same(pre["quadratic networks (fixed set): sampled error rate, both spheres"].value, v["quad_error_rate"])
    assert same(pre["manifold attack at the checkpoints: success rate"].value, v["tradeoff_found"])
    assert same(pre["on-sphere (manifold) attack: success rate"].value, v["relu_on_found"])
    rate = (v["relu_inner_errors"] + v["relu_outer_errors"]) / (v["relu_inner_n"] + v["relu_outer_n"])
    assert same(pre["ReLU networks: sampled error rate, both spheres"].value, rate)
    for c in by.values():  # a failed precondition, and only that, makes a claim not tested
        assert (c.verdict == "not tested") == (not c.tested), c.id
    assert same(by["on_off_ratio"].ours.value, v["relu_ratio"])
    assert same(by["gradient_normal"].ours.value, v["relu_cos_mean"])
    assert by["gradient_normal"].control.value == pytest.approx(v["cos_random"], rel=0.3)
    assert same(by["quad_alpha_count"].ours.value, v["quad_bad_fixed_frac"])
    assert same(by["cap_bound"].ours.value, v["tradeoff_ratio_mean"])
    assert by["cap_bound"].ours.n == v["tradeoff_n_points"]
    assert by["fig4_k_fraction"].ours.value == pytest.approx(v["k3000_exact"], rel=1e-9)
    assert by["fig4_k_fraction"].verdict == "supports"  # exact, k/d = 0.364 at d = 3000: under the paper's half
    assert by["fig4_k_fraction"].extra["k/d by the CLT (the paper's method)"] == pytest.approx(v["k3000_clt"], rel=1e-9)
    # figure 5's large ReLU network, judged alone
    assert by["deep_cap_bound"].ours.n == v["deep_n_points"]
    assert same(by["deep_cap_bound"].ours.value, v["deep_ratio_mean"])
    # the sweep over d: the paired gain of the attack's success from the smallest d to the largest
    sweep = by["dsweep_onset"]
    assert sweep.paired and sweep.ours.value == pytest.approx(v["dsweep_found_max"] - v["dsweep_found_min"], abs=1e-9)
    assert sweep.extra["dims"] == list(profiles.SMOKE["dsweep_dims"])
    assert same(pre["sweep networks: largest sampled error rate over the dimensions (both spheres)"].value,
                v["dsweep_max_rate"])
    # smoke's sweep, [4, 16], does not reach the paper's d = 60: not tested
    assert sweep.verdict == "not tested"


def test_numbers_are_finite(values):
    numbers = {k: v for k, v in values.items() if isinstance(v, (int, float))}
    assert len(numbers) > 60
    # these may be NaN by construction when smoke's tiny run has no such point
    may_be_nan = {"pinit_first_adv", "reach_min_norm", "reach_max_norm", "acc_clean_min_norm", "acc_clean_max_norm",
                  "relu_cap_at_rate", "tradeoff_ratio_mean", "tradeoff_ratio_min", "tradeoff_ratio_max",
                  "tradeoff_found", "deep_ratio_mean", "deep_found", "relu_ratio_only", "dsweep_error_free"}
    bad = {k: v for k, v in numbers.items() if not math.isfinite(v) and k not in may_be_nan}
    assert not bad, bad


def test_figures_are_images(values):
    images = glued_images(CHAPTER)
    assert set(FIGURES) <= images, set(FIGURES) - images


def test_tables_are_formatted(values):
    html = html_tables(CHAPTER)
    assert len(html) >= 4  # ReLU nets, quadratic nets, figure 4, the claims
    assert all('class="dmm-table"' in h for h in html)  # every table scrolls in its box
    assert sum("<details" in h for h in html) >= 2
    assert not long_numbers(html), long_numbers(html)[:5]  # three significant digits, not raw floats


def test_ranges_and_error_bounds(values):
    for side in ("inner", "outer"):
        k, n = values[f"relu_{side}_errors"], values[f"relu_{side}_n"]
        assert 0 <= values[f"relu_{side}_lo"] <= k / n <= values[f"relu_{side}_hi"] <= 1
        assert values[f"relu_{side}_hi"] > 0  # a bound, never a zero
    for key in ("relu_on_found", "relu_off_found", "relu_worst_found_inner", "relu_cos_mean"):
        assert 0 <= values[key] <= 1, key
    assert 0 < values["relu_off_dist"] and 0 < values["relu_on_dist"] < 2.0
    assert values["relu_ratio"] == pytest.approx(values["relu_on_dist"] / values["relu_off_dist"], rel=1e-6)
    assert values["cos_random"] == pytest.approx(math.sqrt(2 / (math.pi * values["d"])))
    assert values["r_boundary"] == pytest.approx((1 + values["R"]) / 2)
    assert 0 <= values["quad_bad_fixed"] <= values["d"]
    assert values["perfect_is_perfect"] == 1 and values["perfect_k"] == 0 and values["perfect_hi"] > 0
    assert values["clt_n_measurable"] <= values["clt_n_points"] and values["clt_in_ci"] <= values["clt_n_measurable"]
    assert 0 <= values["dsweep_found_min"] <= 1 and 0 <= values["dsweep_found_max"] <= 1
    assert 0 <= values["dsweep_max_rate"] <= 1 and values["deep_depth"] == profiles.QUICK["deep_depth"] == 8


def test_paper_claims_visible_in_smoke(values):
    # a perfect start: the worst case grows (figure 3)
    assert values["pinit_worst1"] > values["pinit_worst0"]
    # the exact cap and its Gaussian form agree at d = 500; figure 4 at d = 3000 is below 1
    assert values["cap500_1e7"] == pytest.approx(values["cap500_1e7_gauss"], rel=0.05)
    assert 0 < values["k3000_exact"] < 1 and 0 < values["k3000_clt"] < 1
