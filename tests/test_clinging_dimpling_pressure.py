"""Figure 2 computed (the boundary's displacement toward the manifold), figure 1's walls, the
boundary's orientation, random-noise training and epochs to fit, on boundaries known exactly."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from dmmlib.chapters.clinging_dimpling import geometry as geo
from dmmlib.chapters.clinging_dimpling import pressure as prs
from dmmlib.chapters.clinging_dimpling.experiment import fit_epoch
from dmmlib.chapters.clinging_dimpling.training import model_at, train
from dmmlib.data.synthetic import chessboard_plane, line_dataset


class Plane(nn.Module):
    """logit = w . x - c: a flat boundary."""

    def __init__(self, w, c):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w, dtype=torch.float32), requires_grad=False)
        self.c = float(c)

    def forward(self, x):
        return x @ self.w - self.c


def test_a_boundary_moving_down_to_the_plane_is_all_inward():
    data = chessboard_plane(2, 3)  # the plane z = 0.5
    above, lower = Plane([0, 0, 1], 0.7), Plane([0, 0, 1], 0.6)
    d = prs.displacement(above, lower, data, data.x)
    assert d.found.all()
    assert torch.allclose(d.inward, torch.full_like(d.inward, 0.1), atol=2e-3)
    assert torch.allclose(d.rest, torch.zeros_like(d.rest), atol=2e-3)
    assert prs.inward_share(d.inward, d.rest) == pytest.approx(1.0, abs=1e-3)
    # below the plane, moving up is inward too; moving away from the plane is outward (-1)
    below, lower_still = Plane([0, 0, 1], 0.3), Plane([0, 0, 1], 0.2)
    d = prs.displacement(below, Plane([0, 0, 1], 0.4), data, data.x)
    assert prs.inward_share(d.inward, d.rest) == pytest.approx(1.0, abs=1e-3)
    d = prs.displacement(below, lower_still, data, data.x)
    assert prs.inward_share(d.inward, d.rest) == pytest.approx(-1.0, abs=1e-3)


def test_a_wall_moving_sideways_is_not_inward():
    data = line_dataset(6)  # the line x2 = 0.5
    d = prs.displacement(Plane([1, 0], 0.3), Plane([1, 0], 0.4), data, data.x)
    assert torch.allclose(d.inward, torch.zeros_like(d.inward), atol=1e-4)
    assert torch.allclose(d.rest, torch.full_like(d.rest, 0.1), atol=2e-3)
    assert prs.inward_share(d.inward, d.rest) == pytest.approx(0.0, abs=1e-3)


def test_inward_share_pools_and_ignores_missing():
    assert prs.inward_share([1.0, -1.0], [0.0, 0.0]) == pytest.approx(0.0)
    assert prs.inward_share([2.0, math.nan], [0.0, 5.0]) == pytest.approx(1.0)
    assert prs.inward_share([1.0], [1.0]) == pytest.approx(0.5)
    assert math.isnan(prs.inward_share([0.0], [0.0]))
    with pytest.raises(ValueError):
        prs.displacement(Plane([0, 0, 1], 0.7), Plane([0, 0, 1], 0.6), chessboard_plane(2, 1), torch.zeros(3, 2))


def test_pressure_trace_counts_the_misclassified_points():
    data = line_dataset(6)  # labels alternate: a horizontal boundary misclassifies half of them
    models = [Plane([0, 1], 0.8), Plane([0, 1], 0.7), Plane([0, 1], 0.6)]
    trace = prs.pressure_trace(models, data)
    assert len(trace["inward"]) == 2 * 6 and trace["misclassified"].sum() == 2 * 3
    s = prs.summarise(trace)
    assert s["share"] == pytest.approx(1.0, abs=1e-3) and s["n_wrong"] == 6 and s["found_wrong"] == 1.0
    assert s["inward_mean"] == pytest.approx(0.1, abs=2e-3)
    with pytest.raises(ValueError):
        prs.pressure_trace(models[:1], data)


def test_walls_are_vertical_and_separate_the_classes():
    data = line_dataset(6)
    assert ((geo.walls_logit(data.x, data) > 0).long() == data.y).all()
    off = data.x + torch.tensor([0.0, 0.3])  # straight above the points: same side of every wall
    assert torch.allclose(geo.walls_logit(off, data), geo.walls_logit(data.x, data))
    chess = chessboard_plane(4, 3)
    assert ((geo.walls_logit(chess.x, chess) > 0).long() == chess.y).all()


def test_orientation_of_walls_and_of_a_parallel_boundary():
    data = line_dataset(6)
    pr = geo.probe(data, 21, beyond=0.1)
    scale = geo.label_scale(data)
    wall = geo.orientation_summary(Plane([1, 0], 0.33), data, pr, scale=scale)
    flat = geo.orientation_summary(Plane([0, 1], 0.52), data, pr, scale=scale)
    assert wall["bangle_inside"] == pytest.approx(90.0, abs=1e-3) and wall["bangle_found"] == 1.0
    assert flat["bangle_inside"] == pytest.approx(0.0, abs=1e-3)
    assert flat["dist_away"] == pytest.approx(0.02, abs=1e-3) and flat["none_away"] == 0.0
    assert 0 < flat["n_away"] < len(pr.x)


def test_noise_training_is_seeded_keeps_the_batch_order_and_is_exclusive():
    data = chessboard_plane(2, 4)
    kw = dict(width=50, lr=0.05, epochs=3, seed=1, snapshot_epochs=[3])
    a, b = train(data, noise_eps=0.05, **kw), train(data, noise_eps=0.05, **kw)
    assert torch.equal(a.weight, b.weight)
    assert not torch.equal(a.weight, train(data, **kw).weight)
    with pytest.raises(ValueError):
        train(data, noise_eps=0.05, adv_eps=0.05, **kw)
    with pytest.raises(ValueError):
        train(data, noise_eps=-1.0, **kw)


def test_a_shorter_run_repeats_the_first_epochs_of_a_longer_one():
    data = chessboard_plane(2, 4)
    kw = dict(width=50, lr=0.05, seed=3, input_scale=2.0, input_shift=-1.0, out_init="uniform")
    long, short = train(data, epochs=6, snapshot_epochs=[2], **kw), train(data, epochs=2, snapshot_epochs=[2], **kw)
    assert torch.equal(model_at(long, 2).net.hidden.weight, model_at(short, 2).net.hidden.weight)


def test_fit_epoch_and_censoring():
    assert fit_epoch(np.array([0.5, 0.9, 1.0, 1.0]), 0.99) == (2.0, False)
    assert fit_epoch(np.array([0.5, 0.9, 0.95]), 0.99) == (3.0, True)
