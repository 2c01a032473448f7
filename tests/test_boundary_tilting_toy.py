"""Tests of the toy problem in 2 and 785 dimensions."""
import math

import pytest
import torch

from dmmlib.chapters.boundary_tilting import experiment as T
from dmmlib.data.tilting_toy import tilted_boundary, toy_problem


@pytest.mark.parametrize("dim", [2, 785])
def test_tilt_not_dimension_sets_the_distance(dim):
    prob = toy_problem(dim, 200, seed=0)
    assert prob.x.shape == (400, dim)
    assert abs(float(prob.e1 @ prob.v)) < 1e-12 and abs(float(prob.v.norm()) - 1) < 1e-12
    for theta in (0.0, 60.0, 88.0):
        w, b = tilted_boundary(prob, theta)
        d = T.signed_distance(prob.x, w[None], b.reshape(1))[0]
        assert float((prob.y * d <= 0).double().mean()) <= 0.01  # still separates the classes
        # every point sits at about t cos(theta), t in [0.5, 1.5]
        med = float(d.abs().median())
        assert abs(med - math.cos(math.radians(theta))) < 0.1 * math.cos(math.radians(theta)) + 0.01
        assert float(T.tilting_angle(w, prob.e1)) == pytest.approx(theta, abs=1e-9)


def test_same_structure_in_both_dimensions():
    small, big = toy_problem(2, 500, seed=1), toy_problem(785, 500, seed=1)
    for prob in (small, big):
        across = prob.x @ prob.v
        assert 0.002 < float(across.std()) < 0.004
        assert 0.9 < float((prob.x @ prob.e1).abs().mean()) < 1.1


def test_seed_and_validation():
    assert torch.equal(toy_problem(3, 10, seed=4).x, toy_problem(3, 10, seed=4).x)
    assert not torch.equal(toy_problem(3, 10, seed=4).x, toy_problem(3, 10, seed=5).x)
    with pytest.raises(ValueError, match="dim"):
        toy_problem(1)
    with pytest.raises(ValueError, match="theta"):
        tilted_boundary(toy_problem(2, 5), 90.0)
