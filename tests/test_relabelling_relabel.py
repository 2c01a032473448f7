"""The relabelling chapter's kernels: targets, the targeted relabelling attack, intervals, geometry."""
import math

import pytest
import torch
from torch import nn

from dmmlib.chapters.relabelling import geometry
from dmmlib.chapters.relabelling.relabel import mean_interval, rate_interval, relabel, targets


def test_targets_det_is_next_class():
    y = torch.arange(10).repeat(3)
    assert torch.equal(targets(y, 10, "det"), (y + 1) % 10)


def test_targets_rand_never_the_true_class_and_covers_the_others():
    y = torch.zeros(5000, dtype=torch.long)
    t = targets(y, 10, "rand", generator=torch.Generator().manual_seed(0))
    assert (t != y).all()
    counts = torch.bincount(t, minlength=10)
    assert counts[0] == 0
    assert counts[1:].min() > 5000 / 9 * 0.8


def test_targets_binary_flip_and_bad_input():
    y = torch.tensor([0, 1, 1, 0])
    assert torch.equal(targets(y, 2, "rand"), 1 - y)
    with pytest.raises(ValueError):
        targets(y, 2, "other")
    with pytest.raises(ValueError):
        targets(torch.tensor([3]), 2, "det")


def _linear(d=5, c=3, seed=0):
    torch.manual_seed(seed)
    m = nn.Linear(d, c)
    return m.eval()


def test_relabel_reaches_targets_inside_the_ball():
    m = _linear()
    x = torch.rand(64, 5) * 0.5 + 0.25
    t = targets(m(x).argmax(1), 3, "det")
    r = relabel(m, x, t, eps=5.0, steps=30)
    assert (r.norm <= 5.0 + 1e-4).all()
    assert r.x.min() >= 0 and r.x.max() <= 1
    assert r.success.float().mean() > 0.9
    assert torch.equal(r.success, m(r.x).argmax(1) == t)
    small = relabel(m, x, t, eps=1e-3, steps=5)
    assert small.success.float().mean() < r.success.float().mean()


def test_rate_interval_covers_seeds_and_binomial_noise():
    a = rate_interval([torch.tensor([True] * 30 + [False] * 70)])
    assert a["value"] == pytest.approx(0.3)
    assert a["lo"] < 0.3 < a["hi"]
    b = rate_interval([torch.rand(100) < p for p in (0.2, 0.5, 0.8)])
    assert b["hi"] - b["lo"] > a["hi"] - a["lo"]  # seeds that disagree widen it
    assert len(b["per_seed"]) == 3


def test_mean_interval_single_seed_uses_its_own_interval():
    d = mean_interval([0.4], [0.3], [0.5])
    assert (d["lo"], d["hi"]) == (0.3, 0.5)
    d3 = mean_interval([0.4, 0.5, 0.6])
    assert d3["lo"] < 0.5 < d3["hi"]


def test_cosine_of_a_model_with_itself_is_one_and_random_is_small():
    m = _linear(d=200, c=4)
    x = torch.rand(50, 200)
    y = m(x).argmax(1)
    t = geometry.rival_class(m, x, y)
    assert (t != y).all()
    g = geometry.pair_gradient(m, x, y, t)
    assert torch.allclose(geometry.cosine(g, g), torch.ones(50), atol=1e-5)
    assert torch.allclose(geometry.cosine(g, -g), -torch.ones(50), atol=1e-5)
    assert geometry.random_cosine(g).abs().mean() < 0.2
    assert math.isnan(geometry.cosine(torch.zeros(1, 3), torch.ones(1, 3))[0])


def test_boundary_points_of_two_identical_models_coincide():
    m = _linear(d=10, c=2)
    x = torch.rand(20, 10)
    b = geometry.boundary_points(m, m, x, clip=None)
    assert torch.allclose(b["d1"], b["d2"])
    ok = torch.isfinite(b["gap"])
    assert ok.any()
    assert (b["gap"][ok] < 1e-5).all()
    assert (b["direction"][ok] > 0.999).all()


def test_cifar_convnet_shapes_and_bad_input():
    from dmmlib.models.cifar_convnet import CifarConvNet

    m = CifarConvNet(width=4).eval()
    assert m(torch.rand(3, 3, 32, 32)).shape == (3, 10)
    with pytest.raises(ValueError):
        m(torch.rand(3, 1, 28, 28))
    with pytest.raises(ValueError):
        CifarConvNet(width=0)


def test_noise_like_has_the_given_norm_a_random_direction_and_stays_in_the_cube():
    from dmmlib.chapters.relabelling.relabel import noise_like

    x = torch.full((64, 1, 28, 28), 0.5)
    norm = torch.linspace(0.5, 2.0, 64)
    xn = noise_like(x, norm, generator=torch.Generator().manual_seed(0))
    assert xn.shape == x.shape and xn.min() >= 0 and xn.max() <= 1
    # no clipping from mid-grey at these norms: the norm is exact
    assert torch.allclose((xn - x).flatten(1).norm(dim=1), norm, rtol=1e-4)
    # directions are random: nearly orthogonal to each other in 784 dimensions
    d = torch.nn.functional.normalize((xn - x).flatten(1), dim=1)
    off = (d @ d.T - torch.eye(64)).abs().max()
    assert off < 0.25
    # a seed fixes it; clipping only shortens
    assert torch.equal(xn, noise_like(x, norm, generator=torch.Generator().manual_seed(0)))
    xb = noise_like(torch.zeros(8, 3, 32, 32), torch.full((8,), 2.0), generator=torch.Generator().manual_seed(1))
    assert ((xb.flatten(1).norm(dim=1)) <= 2.0 + 1e-5).all() and xb.min() >= 0
    with pytest.raises(ValueError, match="norm"):
        noise_like(x, norm[:3])
    with pytest.raises(TypeError):
        noise_like(torch.zeros(4, dtype=torch.long), torch.ones(4))
