"""dmmlib.changepoint: the two-segment fit finds a known break and refuses bad input."""
import numpy as np
import pytest

from dmmlib.changepoint import hinge_fit


def test_recovers_a_known_break_and_slopes():
    x = np.arange(20, dtype=float)
    y = np.where(x < 6, 10 - 1.5 * x, 10 - 1.5 * 6 - 0.1 * (x - 6))
    fit = hinge_fit(x, y + 1e-9 * np.sin(x))
    assert fit.index == 6 and fit.x_break == 6.0
    assert fit.slope_before == pytest.approx(-1.5, abs=1e-6) and fit.slope_after == pytest.approx(-0.1, abs=1e-6)
    assert fit.sse < 1e-12 < fit.sse_line and fit.fitted.shape == (20,)


def test_a_straight_line_has_no_gain_from_the_break():
    x = np.linspace(0, 1, 9)
    fit = hinge_fit(x, 2 * x + 1)
    assert fit.sse == pytest.approx(0, abs=1e-20) and fit.sse_line == pytest.approx(0, abs=1e-20)
    assert fit.slope_before == pytest.approx(2) and fit.slope_after == pytest.approx(2)


@pytest.mark.parametrize("x, y, match", [
    ([0, 1, 2], [0, 1, 2], "K >= 4"),
    ([0, 2, 1, 3], [0, 1, 2, 3], "increasing"),
    ([0, 1, 2, 3], [0, np.nan, 2, 3], "finite"),
])
def test_bad_input(x, y, match):
    with pytest.raises(ValueError, match=match):
        hinge_fit(x, y)
