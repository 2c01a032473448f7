"""Tests of dmmlib.convergence: the fixed rule that says whether a training curve has flattened."""
import math

import numpy as np
import pytest

from dmmlib.convergence import CONVERGED_BELOW, converged, relative_change


def test_a_flat_curve_has_converged_and_a_falling_one_has_not():
    epochs = np.arange(100)
    flat = 0.1 + np.exp(-epochs / 5)          # flat after ~30 epochs
    falling = 1.0 / (1 + epochs / 50)          # still falling at the end
    assert relative_change(flat) < 1e-6 and converged(flat)
    assert relative_change(falling) > CONVERGED_BELOW and not converged(falling)


def test_the_windows_are_the_last_tenth_and_the_tenth_before():
    # 20 epochs: windows of 2; the last two mean 1.0, the two before mean 1.5
    curve = [5.0] * 16 + [1.5, 1.5, 1.0, 1.0]
    assert relative_change(curve) == pytest.approx(0.5)
    assert relative_change([2.0, 2.0, 1.0, 1.0]) == pytest.approx(1.0)  # short: windows of 2 epochs


def test_too_short_or_broken_curves_are_undefined_and_not_converged():
    for curve in ([1.0, 0.5, 0.4], [1.0, math.nan, 0.5, 0.5], [1.0, 1.0, 0.0, 0.0]):
        assert math.isnan(relative_change(curve)) and not converged(curve)
    with pytest.raises(ValueError, match="tail"):
        relative_change([1.0] * 10, tail=0.9)


def test_a_rising_loss_counts_as_no_further_improvement():
    assert relative_change([1.0] * 8 + [1.2, 1.2]) < 0 and converged([1.0] * 8 + [1.2, 1.2])
