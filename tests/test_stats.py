"""Tests of dmmlib.stats: bootstrap intervals, paired tests, binomial intervals."""
import numpy as np
import pytest

from dmmlib.stats import clopper_pearson, bootstrap_ci, paired_test, success_rate


def test_bootstrap_mean_covers_truth_and_is_seeded():
    x = np.random.default_rng(0).normal(3.0, 1.0, size=400)
    ci = bootstrap_ci(x, n_boot=1000, seed=1)
    assert ci.lo < 3.0 < ci.hi
    assert ci.estimate == pytest.approx(x.mean())
    assert ci.hi - ci.lo == pytest.approx(2 * 1.96 / 20, rel=0.25)  # ~ 2 z sigma / sqrt(n)
    assert bootstrap_ci(x, n_boot=1000, seed=1) == ci
    assert bootstrap_ci(x, n_boot=1000, seed=2) != ci


def test_bootstrap_paired_ratio_of_means():
    rng = np.random.default_rng(0)
    b = rng.uniform(1, 2, size=300)
    a = 3 * b * rng.uniform(0.95, 1.05, size=300)
    ci = bootstrap_ci(a, b, statistic=lambda u, v: u.mean(1) / v.mean(1), n_boot=500)
    assert ci.estimate == pytest.approx(a.mean() / b.mean())
    assert 2.95 < ci.lo < ci.estimate < ci.hi < 3.05  # paired resampling keeps the interval narrow


def test_bootstrap_rejects_bad_input():
    with pytest.raises(ValueError, match="non-finite"):
        bootstrap_ci([1.0, np.nan, 2.0])
    with pytest.raises(ValueError, match="equal lengths"):
        bootstrap_ci([1.0, 2.0], [1.0], statistic=lambda a, b: a.mean(1))
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_ci([1.0, 2.0], n_boot=10)
    with pytest.raises(ValueError, match="statistic"):
        bootstrap_ci([1.0, 2.0], [1.0, 2.0])


def test_paired_test_detects_shift_and_not_noise():
    rng = np.random.default_rng(0)
    base = rng.normal(size=60)
    shifted = paired_test(base + 0.5 + 0.1 * rng.normal(size=60), base)
    assert shifted.p_value < 1e-6 and shifted.lo > 0.4 and shifted.hi < 0.6 and shifted.n == 60
    noise = paired_test(base + 0.1 * rng.normal(size=60), base)
    assert noise.p_value > 0.01 and noise.lo < 0 < noise.hi
    same = paired_test(base, base)
    assert same.p_value == 1.0 and same.mean_diff == 0.0


def test_success_rate_is_clopper_pearson():
    s = np.array([True] * 7 + [False] * 3)
    r = success_rate(s)
    assert r.estimate == 0.7 and r.n == 10
    assert (r.lo, r.hi) == clopper_pearson(7, 10)
    assert success_rate(np.zeros(5, bool)).lo == 0.0
    with pytest.raises(TypeError, match="boolean"):
        success_rate(np.array([1, 0, 1]))


def test_mean_ci_normal_approximation():
    from dmmlib.stats import mean_ci

    v = np.random.default_rng(0).normal(3.0, 2.0, size=400)
    m, half, n = mean_ci(v)
    assert n == 400 and m == pytest.approx(v.mean())
    assert half == pytest.approx(1.959964 * v.std(ddof=1) / 20, rel=1e-6)
    assert abs(m - 3.0) < 2 * half  # covers the truth for this seed
    assert mean_ci(v, confidence=0.5).half_width < half
    assert np.isnan(mean_ci([1.0]).half_width) and mean_ci([1.0]).mean == 1.0
    with pytest.raises(ValueError, match="confidence"):
        mean_ci(v, confidence=1.0)
    with pytest.raises(ValueError, match="non-finite"):
        mean_ci([1.0, float("nan")])


def test_seed_interval_is_student_t_and_undefined_for_one_seed():
    from scipy import stats as st

    from dmmlib.stats import seed_interval

    r = seed_interval([1.0, 2.0, 3.0])
    half = st.t.ppf(0.975, 2) * 1.0 / 3 ** 0.5
    assert (r.estimate, r.n) == (2.0, 3) and abs(r.hi - 2.0 - half) < 1e-12 and abs(2.0 - r.lo - half) < 1e-12
    one = seed_interval([5.0])
    assert one.estimate == 5.0 and np.isnan(one.lo) and np.isnan(one.hi)


def test_hierarchical_bootstrap_widens_with_model_variance():
    from dmmlib.stats import hierarchical_bootstrap

    rng = np.random.default_rng(0)
    units = np.repeat(np.arange(3), 50)
    same = rng.normal(0, 1, 150)
    shifted = same + np.repeat([-3.0, 0.0, 3.0], 50)  # the models disagree
    a = hierarchical_bootstrap(lambda v: v.mean(), [same], units)
    b = hierarchical_bootstrap(lambda v: v.mean(), [shifted], units)
    assert a.n == b.n == 150 and a.units == b.units == 3 and len(b.per_unit) == 3
    assert (b.hi - b.lo) > 3 * (a.hi - a.lo)
    assert a.lo <= a.estimate <= a.hi
