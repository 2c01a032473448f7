"""The kernels of the chapter "Two-layer ReLU networks on a linear subspace" on tiny inputs."""
import math

import numpy as np
import pytest
import torch

from dmmlib.chapters.two_layer_subspace import experiment
from dmmlib.chapters.two_layer_subspace import subspace_net as sn


def _data(B=3, n=12, k=3, N=40, margin=0.2):
    ds = [sn.subspace_data(n, k, N, margin=margin, seed=s) for s in range(B)]
    return ds, torch.stack([d.x for d in ds]), torch.stack([d.y for d in ds]), torch.stack([d.basis for d in ds])


def test_subspace_data_lies_on_the_subspace_with_the_margin():
    d = sn.subspace_data(30, 4, 500, margin=0.3, seed=1)
    assert d.x.shape == (500, 30) and d.basis.shape == (30, 4) and d.y.shape == (500,)
    assert torch.allclose(d.basis.T @ d.basis, torch.eye(4), atol=1e-5)
    assert torch.allclose(d.x @ d.basis @ d.basis.T, d.x, atol=1e-5)  # no component off the subspace
    side = d.coords @ d.label_dir
    assert (side.abs() >= 0.3 - 1e-5).all()
    assert torch.equal(d.y, (side > 0).long())
    assert 0.2 < d.y.float().mean() < 0.8
    again = sn.subspace_data(30, 4, 500, margin=0.3, seed=1)
    assert torch.equal(again.x, d.x)  # a seed fixes the data
    assert not torch.equal(sn.subspace_data(30, 4, 500, margin=0.3, seed=2).x, d.x)


@pytest.mark.parametrize("kw", [dict(n=4, k=4, n_points=10, margin=0.1), dict(n=4, k=2, n_points=10, margin=-1.0),
                                dict(n=4, k=0, n_points=10, margin=0.1)])
def test_subspace_data_rejects_bad_input(kw):
    with pytest.raises(ValueError):
        sn.subspace_data(seed=0, **kw)


def test_init_scales_multiply_shared_directions():
    net = sn.init_two_layer(10, 6, torch.tensor([1.0, 3.0]), [5, 5])
    assert net.w.shape == (2, 6, 10) and net.b.shape == (2, 6) and net.u.shape == (2, 6)
    assert torch.allclose(net.w[1], 3 * net.w[0]) and torch.allclose(net.u[1], 3 * net.u[0])
    assert (net.b == 0).all()
    with pytest.raises(ValueError):
        sn.init_two_layer(10, 6, torch.tensor([1.0, 0.0]), [0, 1])
    with pytest.raises(ValueError):
        sn.init_two_layer(10, 6, torch.tensor([1.0]), [0, 1])


def test_forward_and_input_gradient_match_autograd():
    net = sn.init_two_layer(7, 5, torch.tensor([1.0, 2.0]), [0, 1])
    net = sn.TwoLayer(net.w, torch.randn(2, 5, generator=torch.Generator().manual_seed(0)), net.u)
    x = torch.randn(2, 4, 7, generator=torch.Generator().manual_seed(1), requires_grad=True)
    out = sn.forward(net, x)
    ref = (torch.relu(torch.einsum("btn,bmn->btm", x, net.w) + net.b[:, None]) * net.u[:, None]).sum(-1)
    assert torch.allclose(out, ref, atol=1e-6)
    g = torch.autograd.grad(out.sum(), x)[0]
    assert torch.allclose(sn.input_gradient(net, x.detach()), g, atol=1e-6)


def test_training_fits_and_freezes_the_orthogonal_weights():
    ds, X, Y, U = _data()
    net0 = sn.init_two_layer(12, 20, torch.ones(3), [0, 1, 2])
    tr = sn.train(net0, X, Y, lr=0.5, max_steps=2000, target_margin=0.3, weight_decay=torch.zeros(3))
    assert tr.reached.all() and (tr.steps < 2000).all()
    assert (sn.margins(tr.net, X, Y).min(1).values >= 0.3).all()
    perp = torch.eye(12) - U @ U.transpose(1, 2)  # (B, n, n)
    # the loss gradient of w_i lies in the data's span: the orthogonal part of W never moves
    assert torch.allclose(tr.net.w @ perp, net0.w @ perp, atol=1e-5)
    assert tr.curve.shape[0] == 3 and (tr.curve[:, -1] <= tr.curve[:, 0]).all()


def test_weight_decay_shrinks_the_orthogonal_weights_geometrically():
    ds, X, Y, U = _data(B=2)
    net0 = sn.init_two_layer(12, 20, torch.ones(2), [0, 1])
    lr, wd, steps = 0.1, 0.05, 30
    tr = sn.train(net0, X, Y, lr=lr, max_steps=steps, target_margin=50.0, weight_decay=torch.tensor([0.0, wd]))
    assert not tr.reached.any() and (tr.steps == steps).all()
    perp = torch.eye(12) - U @ U.transpose(1, 2)
    ratio = (tr.net.w @ perp).norm(dim=(1, 2)) / (net0.w @ perp).norm(dim=(1, 2))
    assert ratio[0] == pytest.approx(1.0, abs=1e-5)
    assert ratio[1] == pytest.approx((1 - lr * wd) ** steps, rel=1e-4)


def test_train_rejects_bad_input():
    ds, X, Y, U = _data(B=2)
    net0 = sn.init_two_layer(12, 4, torch.ones(2), [0, 1])
    with pytest.raises(ValueError):
        sn.train(net0, X, Y, lr=0.1, max_steps=0, target_margin=0.3, weight_decay=torch.zeros(2))
    with pytest.raises(ValueError):
        sn.train(net0, X, Y, lr=0.1, max_steps=5, target_margin=0.3, weight_decay=torch.zeros(3))
    with pytest.raises(ValueError):
        sn.train(net0, X[:, :, :5], Y, lr=0.1, max_steps=5, target_margin=0.3, weight_decay=torch.zeros(2))


def test_gradient_norms_split_the_norm_and_random_ratio_matches_theory():
    ds, X, Y, U = _data(B=2, n=40, k=4)
    g = torch.randn(2, 5, 40, generator=torch.Generator().manual_seed(3))
    par, perp = experiment.gradient_norms(g, U)
    assert torch.allclose(par ** 2 + perp ** 2, g.pow(2).sum(-1), rtol=1e-4)
    r = experiment.random_ratio(U, 4000, seed=0)
    assert r.shape == (2, 4000)
    # E[R^2] for ||P_perp v||^2 / ||P_par v||^2: (n - k) / (k - 2) (an F-distribution's mean times (n-k)/k)
    assert float((r ** 2).mean()) == pytest.approx((40 - 4) / (4 - 2), rel=0.1)


def _linear_net(a: torch.Tensor) -> sn.TwoLayer:
    """N(x) = a . x exactly: relu(a . x) - relu(-a . x), for each row a (B, n)."""
    B = a.shape[0]
    return sn.TwoLayer(torch.stack([a, -a], 1), torch.zeros(B, 2), torch.tensor([[1.0, -1.0]]).repeat(B, 1))


def test_attack_distances_are_exact_on_a_linear_network():
    n, k, T = 16, 3, 12
    ds, X, Y, U = _data(B=2, n=n, k=k, N=T)
    g = torch.Generator().manual_seed(4)
    a = torch.randn(2, n, generator=g)
    net = _linear_net(a)
    y = (sn.forward(net, X) > 0).long()  # every point correctly classified
    y[0, 0] = 1 - y[0, 0]  # one misclassified point: not attacked (nan)
    P = {"attack_steps": 200, "attack_step": 0.5}
    d = experiment.attack_distances(net, X, y, U, P, progress=False)
    margin = sn.forward(net, X).abs().double().numpy()
    par = torch.bmm(a[:, None], U)[:, 0].norm(dim=-1).double().numpy()
    perp = np.sqrt((a.double().norm(dim=-1) ** 2).numpy() - par ** 2)
    expect = {"free": margin / a.double().norm(dim=-1).numpy()[:, None], "on": margin / par[:, None],
              "off": margin / perp[:, None]}
    for mode in experiment.ATTACK_MODES:
        got = d[mode]
        assert math.isnan(got[0, 0])
        ok = ~np.isnan(got)
        assert np.isfinite(got[ok]).all()
        np.testing.assert_allclose(got[ok], expect[mode][ok], rtol=0.03)
    assert (d["box_use"] < 1).all() and (d["box_use"] > 0).all()


def test_settings_dedupe_and_index_the_sweeps():
    P = {"n_base": 50, "k_base": 5, "init_base": 1.0, "init_scales": [0.5, 1.0], "weight_decays": [0.01],
         "n_values": [20, 50], "k_values": [2, 5]}
    s = experiment.settings(P)
    assert len(s["all"]) == len(set(s["all"])) == 5  # base, init 0.5, wd 0.01, n 20, k 2
    assert s["all"][s["base"]] == (50, 5, 1.0, 0.0)
    assert [s["all"][i][2] for i in s["init"]] == [0.5, 1.0] and s["init"][1] == s["base"]
    assert [s["all"][i][0] for i in s["n"]] == [20, 50] and [s["all"][i][1] for i in s["k"]] == [2, 5]
    assert s["all"][s["wd"][0]] == (50, 5, 1.0, 0.01)
