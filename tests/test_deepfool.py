import pytest
import torch
from torch import nn

from dmmlib.attacks.deepfool import boundary_distance, margin, predicted_label


def test_binary_linear_exact_distance():
    torch.manual_seed(0)
    lin = nn.Linear(6, 1)
    x = torch.randn(32, 6)
    r = boundary_distance(lin, x)
    exact = (lin(x)[:, 0].abs() / lin.weight.norm()).detach()
    assert torch.allclose(r.distance, exact, rtol=1e-4, atol=1e-5)
    assert r.converged.all() and (r.iterations == 1).all()
    # the returned point is on the boundary and the distance is its distance from x
    assert lin(r.x_boundary).abs().max() < 1e-3
    assert torch.allclose((r.x_boundary - x).norm(dim=1), r.distance, atol=1e-5)


def test_binary_output_shape_b_or_b1_agree():
    torch.manual_seed(1)
    lin = nn.Linear(4, 1)
    x = torch.randn(10, 4)
    flat = boundary_distance(lambda v: lin(v)[:, 0], x)  # (B,) logits
    col = boundary_distance(lin, x)  # (B, 1) logits
    assert torch.allclose(flat.distance, col.distance)


def test_multiclass_linear_exact_distance():
    torch.manual_seed(2)
    lin = nn.Linear(5, 4)
    x = torch.randn(20, 5)
    r = boundary_distance(lin, x)
    f = lin(x).detach()
    k = f.argmax(1)
    w = lin.weight.detach()
    dist = (f.gather(1, k[:, None]) - f).abs() / (w[k][:, None, :] - w[None]).norm(dim=2)
    dist[torch.arange(20), k] = float("inf")
    assert torch.allclose(r.distance, dist.min(1).values, rtol=1e-4, atol=1e-5)
    # the boundary point is on the boundary: its margin is ~0 (either sign: two logits tie there,
    # and which one argmax picks depends on rounding), so no assertion about its label
    assert margin(lin(r.x_boundary), k).abs().max() < 1e-3
    # the crossing point is past it, by DeepFool's 1.02, and classified differently
    assert r.converged.all()
    assert (predicted_label(lin(r.x_adv)) != k).all()
    assert torch.allclose(r.adv_distance, 1.02 * r.distance, rtol=1e-3, atol=1e-6)
    assert (margin(lin(r.x_adv), k) < -1e-4 * r.distance).all(), "clearly past the boundary, not a tie"


def test_crossing_point_changes_the_label_for_every_converged_point():
    torch.manual_seed(4)
    net = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 5))
    x = torch.randn(64, 10)
    r = boundary_distance(net, x)
    label = net(x).argmax(1)
    ok = r.converged
    assert ok.sum() >= 60
    assert (net(r.x_adv[ok]).argmax(1) != label[ok]).all()
    assert ((r.x_adv - x).flatten(1).norm(dim=1)[ok] - r.adv_distance[ok]).abs().max() < 1e-5
    assert (r.adv_distance[ok] >= r.distance[ok]).all()
    assert torch.isinf(r.adv_distance[~ok]).all() and torch.equal(r.x_adv[~ok], x[~ok])


def test_image_shaped_inputs_and_relu_network():
    torch.manual_seed(3)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10))
    x = torch.rand(8, 1, 8, 8)
    r = boundary_distance(net, x, batch_size=3)
    assert r.distance.shape == (8,) and r.x_boundary.shape == x.shape
    assert r.converged.sum() >= 6 and (r.distance[r.converged] > 0).all()
    assert torch.isinf(r.distance[~r.converged]).all()
    r = boundary_distance(net, x, batch_size=3, clip=(0.0, 1.0))
    assert r.converged.sum() >= 6 and r.x_boundary.min() >= 0 and r.x_boundary.max() <= 1
    assert r.x_adv.min() >= 0 and r.x_adv.max() <= 1
    # crossing: the crossing point is classified differently; well before the boundary point the class is the same
    ok = r.converged
    label = net(x[ok]).argmax(1)
    d = r.x_boundary[ok] - x[ok]
    assert (net(r.x_adv[ok]).argmax(1) != label).all()
    assert (net(x[ok] + 0.9 * d).argmax(1) == label).all()


def test_restores_mode_and_leaves_parameter_grads():
    net = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))
    net.train()
    boundary_distance(net, torch.randn(5, 3))
    assert net.training
    assert all(p.grad is None for p in net.parameters())


def test_not_converged_is_inf():
    const = lambda v: torch.ones(v.shape[0]) + 0 * v.sum(1)  # noqa: E731  gradient zero: never crosses
    r = boundary_distance(const, torch.randn(3, 2), max_iter=3)
    assert not r.converged.any() and torch.isinf(r.distance).all()
    assert (r.iterations == 1).all()  # a vanished gradient stops the search at once


def test_margin_and_validation():
    z = torch.tensor([[1.0, 3.0, 2.0]])
    assert margin(z, torch.tensor([1])).item() == 1.0
    assert margin(torch.tensor([-2.0]), torch.tensor([0])).item() == 2.0
    with pytest.raises(ValueError, match="max_iter"):
        boundary_distance(nn.Linear(2, 1), torch.randn(2, 2), max_iter=0)
    with pytest.raises(ValueError, match="x must be"):
        boundary_distance(nn.Linear(2, 1), torch.zeros(0, 2))
