"""The ReLU and quadratic networks of Adversarial Spheres."""
import pytest
import torch

from dmmlib.data.spheres import sample_sphere
from dmmlib.models.sphere_nets import QuadNet, ReluNet, perfect_quadnet


def test_relu_net_shapes_and_batch_norm():
    net = ReluNet(12, hidden=20, depth=3)
    assert net(torch.randn(7, 12)).shape == (7,)
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert len(bns) == 3  # hidden layers only, not the readout
    assert isinstance(net.net[-1], torch.nn.Linear) and net.net[-1].out_features == 1


def test_quadnet_matches_its_eigen_form():
    g = torch.Generator().manual_seed(0)
    net = QuadNet(15, hidden=8, generator=g)  # h < d: seven zero singular values
    with torch.no_grad():
        net.w.fill_(0.7)
        net.b.fill_(-1.1)
    c, b = net.eigen_form()
    assert c.shape == (15,) and (c[8:] == 0).all()
    W = net.W1.detach().double()
    _, _, Vt = torch.linalg.svd(W, full_matrices=True)
    x = sample_sphere(100, 15, generator=g).double()
    z = x @ Vt.T
    assert torch.allclose(net(x.float()).double(), (z**2) @ c + b, atol=1e-4)
    alpha = net.alphas()
    assert torch.allclose(alpha, c / 1.1)


def test_alphas_need_negative_bias():
    net = QuadNet(5, 5)
    with torch.no_grad():
        net.b.fill_(0.5)
    with pytest.raises(ValueError, match="negative bias"):
        net.alphas()


def test_perfect_quadnet_alphas_and_validation():
    net = perfect_quadnet(20, 25, generator=torch.Generator().manual_seed(1))
    a = net.alphas()
    assert torch.allclose(a, a.mean().expand_as(a), atol=1e-5)
    assert 1 / 1.3**2 < a.mean() < 1
    with pytest.raises(ValueError, match="hidden >= d"):
        perfect_quadnet(20, 10)


def test_quadnet_init_is_seeded():
    a = QuadNet(6, 4, generator=torch.Generator().manual_seed(5)).W1
    b = QuadNet(6, 4, generator=torch.Generator().manual_seed(5)).W1
    assert torch.equal(a, b)
