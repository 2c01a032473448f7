"""The changepoint model of the two phases."""
import numpy as np
import pytest

from dmmlib.chapters.clinging_dimpling.phases import phase_summary, two_segment_fit


def test_two_segment_fit_finds_a_known_breakpoint():
    t = np.arange(0, 101, dtype=float)
    y = np.where(t < 20, 1.0 - 0.045 * t, 0.1 - 0.0005 * (t - 20))
    fit = two_segment_fit(t, y)
    assert fit.x_break == 20 and fit.slope_before == pytest.approx(-0.045) and fit.slope_after == pytest.approx(-0.0005)
    assert fit.sse < 1e-12 < fit.sse_line
    noisy = y + np.random.default_rng(0).normal(0, 0.01, len(t))
    assert abs(two_segment_fit(t, noisy).x_break - 20) <= 3


def test_uneven_epochs_and_validation():
    t = np.array([0, 1, 2, 3, 5, 10, 50, 100, 200], dtype=float)
    y = np.array([1.0, 0.7, 0.4, 0.1, 0.09, 0.09, 0.08, 0.07, 0.06])
    assert two_segment_fit(t, y).x_break == 3
    with pytest.raises(ValueError, match="increasing"):
        two_segment_fit(t[::-1], y)
    with pytest.raises(ValueError, match="finite"):
        two_segment_fit(t, np.where(t > 50, np.inf, y))


def test_phase_summary():
    t = np.arange(0, 201, 5, dtype=float)
    dist = np.where(t < 20, 1.0 - 0.045 * t, 0.1)
    acc = np.concatenate([np.full(21, 0.5), np.linspace(0.5, 1.0, 180)])  # fitting starts at epoch 20
    ph = phase_summary(t, dist, acc)
    assert ph.changepoint == 20 and ph.changepoint_fraction == pytest.approx(0.1)
    assert ph.drop_before == pytest.approx(1.0) and ph.fit_after == pytest.approx(1.0)
    assert ph.slope_ratio == pytest.approx(0.0, abs=1e-9)
    early = phase_summary(t, dist, np.concatenate([np.linspace(0.5, 1.0, 21), np.ones(180)]))
    assert early.fit_after == pytest.approx(0.0)
