"""Measurements of the boundary relative to a flat manifold, on boundaries known exactly."""
import math

import pytest
import torch

from dmmlib.chapters.clinging_dimpling import geometry as geo
from dmmlib.data.synthetic import chessboard_plane, line_dataset


def test_probe_covers_the_region_and_beyond():
    data = line_dataset(10)  # x1 from 0.1 to 0.9 on x2 = 0.5
    pr = geo.probe(data, 21, beyond=0.1)
    assert pr.x.shape == (21, 2) and torch.allclose(pr.x[:, 1], torch.full((21,), 0.5))
    assert pr.x[:, 0].min() == pytest.approx(0.0) and pr.x[:, 0].max() == pytest.approx(1.0)
    assert pr.inside.sum() == 17 and not pr.inside[0] and pr.inside[10]
    pr3 = geo.probe(chessboard_plane(4, 2), 11, beyond=0.1)
    assert pr3.x.shape == (121, 3) and pr3.shape == (11, 11) and int(pr3.inside.sum()) == 81
    assert pr3.spacing == pytest.approx(0.1)


def test_label_scale_is_half_the_spacing_on_the_line():
    assert geo.label_scale(line_dataset(10)) == pytest.approx(0.8 / 9 / 2, rel=1e-4)


def test_heights_and_dimples_of_a_flat_boundary():
    data = line_dataset(4)
    model = lambda x: x[:, 1] - 0.46  # noqa: E731  horizontal boundary 0.04 below the line; every point is class 1
    h = geo.heights(model, data, data.x)
    assert torch.allclose(h, torch.full((4,), -0.04), atol=1e-3)
    depth = geo.dimple_depth(model, data)
    assert torch.allclose(depth, torch.tensor([-0.04, 0.04, -0.04, 0.04]), atol=1e-3)
    far = geo.dimple_depth(lambda x: x[:, 1] + 3.0, data)  # no crossing in the square: NaN, not a cap
    assert torch.isnan(far).all()


def test_a_vertical_wall_meets_no_normal_line_but_the_walls_control_is_near():
    data = line_dataset(2)  # points at x1 = 0.1 (class 0) and 0.9 (class 1)
    wall = lambda x: x[:, 0] - 0.5  # noqa: E731  the nearest-neighbour boundary, a vertical wall
    pr = geo.probe(data, 11, beyond=0.1)
    s = geo.region_summary(wall, data, pr, scale=0.05, deltas=(0.1,), max_iter=20)
    assert s["cling_inside"] == 0.0 and s["cling_beyond"] == 0.0  # no normal line meets it
    wd = geo.wall_distance(pr.x, data)
    assert torch.allclose(wd, (pr.x[:, 0] - 0.5).abs(), atol=1e-5)  # exact on the line
    # the network-free wall and the DeepFool distance to the wall model agree
    assert s["dist_inside"] == pytest.approx(float((pr.x[pr.inside, 0] - 0.5).abs().median()), abs=1e-3)
    flat = geo.region_summary(lambda x: x[:, 1] - 0.49, data, pr, scale=0.05, deltas=(0.1,), max_iter=20)
    assert flat["cling_inside"] == 1.0 and flat["within_0.1_inside"] == 1.0 and flat["depth_none"] == 0.0


def test_gradient_components_and_random_angle():
    x = torch.rand(5, 2)
    g = geo.gradient_components(lambda z: z @ torch.tensor([1.0, 1.0]), x, torch.tensor([0.0, 1.0]))
    assert torch.allclose(g.angle, torch.full((5,), 45.0), atol=1e-3)
    assert torch.allclose(g.normal, torch.ones(5)) and torch.allclose(g.tangential, torch.ones(5))
    g3 = geo.gradient_components(lambda z: -3 * z[:, 2], torch.rand(3, 3), torch.tensor([0.0, 0.0, 1.0]))
    assert torch.allclose(g3.angle, torch.zeros(3), atol=1e-3) and torch.allclose(g3.normal, torch.full((3,), 3.0))
    assert geo.random_angle(2) == pytest.approx(45.0, abs=0.05)
    assert geo.random_angle(3) == pytest.approx(180 / math.pi, abs=0.05)


def test_roughness_and_shares():
    h = torch.tensor([0.0, 0.1, 0.2, float("nan"), 0.4])
    assert geo.roughness(h, (5,), 0.1) == pytest.approx(1.0)
    assert geo.share_within(torch.tensor([0.01, float("inf"), float("nan"), 0.5]), 0.1) == 0.25
    assert geo.median_inf(torch.tensor([0.1, float("nan"), float("nan")])) == math.inf
    assert geo.median_inf(torch.tensor([0.1, float("inf"), float("inf")])) == math.inf
    assert geo.median_inf(torch.tensor([0.1, 0.3, float("inf")])) == pytest.approx(0.3)
