"""Tests of dmmlib.chapters.boundary_tilting.experiment: the batched SVM sweep and the tilting-plane geometry."""

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from dmmlib.chapters.boundary_tilting import experiment as T


def blobs(n=40, d=5, seed=0, shift=1.0, noise=1.0):
    g = torch.Generator().manual_seed(seed)
    y = torch.cat([-torch.ones(n // 2), torch.ones(n // 2)])
    mu = torch.zeros(d)
    mu[0] = shift
    x = y[:, None] * mu + noise * torch.randn(n, d, generator=g)
    return x.double(), y


def test_huge_lambda_gives_nearest_centroid():
    x, y = blobs()
    sweep = T.linear_svm_sweep(x, y, torch.tensor([1e4]), max_iters=200, progress=False)
    z = T.centroid_direction(x, y)
    assert float(T.tilting_angle(sweep.w, z)[0]) < 1e-6
    c0, c1 = T.centroids(x, y)
    assert torch.allclose(sweep.w[0], (c1 - c0).double() / (4 * 1e4), rtol=1e-8, atol=1e-12)


def test_sweep_matches_scipy_and_gap_small():
    x, y = blobs(n=24, d=3, seed=1, noise=0.8)
    lams = torch.tensor([1e-3, 1e-1, 1.0], dtype=torch.float64)
    sweep = T.linear_svm_sweep(x, y, lams, max_iters=20000, tol=1e-8, check_every=10, progress=False)
    assert bool((sweep.rel_gap < 1e-6).all())
    c = T.balanced_weights(y).numpy()
    xn, yn = x.numpy(), y.numpy().astype(float)
    n, d = xn.shape
    for i, lam in enumerate(lams.tolist()):
        # the primal as a QP in (w, b, xi) solved by SLSQP
        fun = lambda p: float(c @ p[d + 1 :] + lam * p[:d] @ p[:d])  # noqa: E731
        cons = [{"type": "ineq", "fun": lambda p: yn * (xn @ p[:d] + p[d]) - 1 + p[d + 1 :]},
                {"type": "ineq", "fun": lambda p: p[d + 1 :]}]
        res = minimize(fun, np.zeros(d + 1 + n) + 0.5, constraints=cons, method="SLSQP", options={"maxiter": 500, "ftol": 1e-12})
        assert res.success
        assert float(sweep.primal[i]) <= res.fun * (1 + 1e-5) + 1e-9
        assert float(sweep.primal[i]) >= res.fun * (1 - 1e-4) - 1e-9
        np.testing.assert_allclose(sweep.w[i].numpy(), res.x[:d], rtol=2e-3, atol=2e-3)
    # the reported primal is the objective at the returned (w, b)
    torch.testing.assert_close(T.svm_objective(x, y, sweep.w, sweep.b, lams), sweep.primal)


def test_tilt_grows_as_lambda_shrinks():
    x, y = blobs(n=60, d=30, seed=2, shift=0.5)
    lams = torch.logspace(-3, 2, 6)
    sweep = T.linear_svm_sweep(x, y, lams, max_iters=5000, tol=1e-6, progress=False)
    theta = T.tilting_angle(sweep.w, T.centroid_direction(x, y))
    assert float(theta[0]) > float(theta[-1]) + 20
    assert bool((theta[:-1] >= theta[1:] - 1e-3).all())


def test_optimal_bias_minimises():
    g = torch.Generator().manual_seed(3)
    s = torch.randn(4, 30, generator=g, dtype=torch.float64)
    y = torch.where(torch.rand(30, generator=g) > 0.5, 1.0, -1.0).double()
    y[0], y[1] = 1.0, -1.0
    c = T.balanced_weights(y)
    b = T.optimal_bias(s, y, c)
    f = lambda bb: (c * (1 - y * (s + bb[:, None])).clamp_min(0)).sum(1)  # noqa: E731
    grid = torch.linspace(-5, 5, 4001, dtype=torch.float64)
    best = torch.stack([f(torch.full((4,), float(g_))) for g_ in grid]).min(0).values
    assert bool((f(b) <= best + 1e-12).all())


def test_gram_schmidt_orthonormal_and_n_hat():
    g = torch.Generator().manual_seed(4)
    v = torch.randn(3, 10, generator=g, dtype=torch.float64)
    e = T.gram_schmidt(v)
    torch.testing.assert_close(e @ e.T, torch.eye(3, dtype=torch.float64))
    dep = torch.cat([v, v[:1] + 2 * v[1:2]])
    assert T.gram_schmidt(dep).shape == (3, 10)
    z = e[0]
    w = torch.randn(5, 10, generator=g, dtype=torch.float64)
    n = T.tilting_normal(w, z)
    torch.testing.assert_close(n @ z, torch.zeros(5, dtype=torch.float64), atol=1e-12, rtol=0)
    torch.testing.assert_close(n.norm(dim=1), torch.ones(5, dtype=torch.float64))
    # w lies in the plane (z, n) and theta is its angle there
    theta = torch.deg2rad(T.tilting_angle(w, z))
    torch.testing.assert_close(w / w.norm(dim=1, keepdim=True), torch.cos(theta)[:, None] * z + torch.sin(theta)[:, None] * n)
    assert float(T.tilting_normal(3 * z, z).norm()) < 1e-12


def test_distance_formula_is_the_geometric_distance():
    g = torch.Generator().manual_seed(5)
    w = torch.randn(2, 7, generator=g, dtype=torch.float64)
    b = torch.randn(2, generator=g, dtype=torch.float64)
    x = torch.randn(9, 7, generator=g, dtype=torch.float64)
    d = T.signed_distance(x, w, b)
    foot = x[None] + T.minimal_perturbation(x, w, b)
    torch.testing.assert_close((foot @ w.T).diagonal(dim1=0, dim2=2).T + b[:, None], torch.zeros(2, 9, dtype=torch.float64), atol=1e-10, rtol=0)
    torch.testing.assert_close(T.minimal_perturbation(x, w, b).norm(dim=-1), d.abs())
    # no point of the hyperplane is closer: random hyperplane points are farther
    p = foot[0, 0] + 0.3 * (torch.randn(7, generator=g, dtype=torch.float64))
    p = p - ((p @ w[0] + b[0]) / (w[0] @ w[0])) * w[0]
    assert float((p - x[0]).norm()) >= float(d[0, 0].abs()) - 1e-12
    m = T.mirror_image(x, w, b)
    torch.testing.assert_close(T.signed_distance(m[0], w[:1], b[:1])[0], -d[0])


def test_centroid_margin_matches_bisecting_boundary():
    g = torch.Generator().manual_seed(6)
    c0, c1 = torch.randn(6, generator=g).double(), torch.randn(6, generator=g).double()
    z = (c1 - c0) / (c1 - c0).norm()
    u = torch.randn(6, generator=g).double()
    n = u - (u @ z) * z
    n = n / n.norm()
    theta = torch.tensor([0.0, 30.0, 80.0], dtype=torch.float64)
    w = torch.cos(torch.deg2rad(theta))[:, None] * z + torch.sin(torch.deg2rad(theta))[:, None] * n
    b = -(w @ (0.5 * (c0 + c1)))
    dist = T.signed_distance(torch.stack([c0, c1]), w, b).abs()
    torch.testing.assert_close(dist, T.centroid_margin(c0, c1, theta)[:, None].expand(3, 2))


def test_plane_coordinates_and_boundary_line():
    x, y = blobs(n=20, d=6, seed=7)
    sweep = T.linear_svm_sweep(x, y, torch.tensor([1e-2, 1.0]), max_iters=2000, progress=False)
    z = T.centroid_direction(x, y)
    n = T.tilting_normal(sweep.w, z)
    origin = x.mean(0)
    xy = T.plane_coordinates(x, z, n, origin)
    line = T.boundary_line(sweep.w, sweep.b, z, n, origin)
    # w lies in the plane, so the line's value at a point's coordinates is w . x + b
    val = line[:, :1] * xy[..., 0] + line[:, 1:2] * xy[..., 1] + line[:, 2:]
    torch.testing.assert_close(val, sweep.w @ x.T + sweep.b[:, None])


def test_gradient_angle_of_linear_model_is_theta():
    g = torch.Generator().manual_seed(8)
    lin = torch.nn.Linear(12, 3).double()
    x = torch.randn(5, 12, generator=g, dtype=torch.float64)
    z = torch.randn(12, generator=g, dtype=torch.float64)
    z = z / z.norm()
    ang = T.gradient_centroid_angle(lin, x, 0, 2, z)
    w = (lin.weight[2] - lin.weight[0]).detach()
    torch.testing.assert_close(ang, T.tilting_angle(w, z).expand(5))


def test_seed_fixes_and_deterministic():
    x, y = blobs(seed=9)
    a = T.linear_svm_sweep(x, y, torch.tensor([1e-2, 1.0]), max_iters=300, progress=False)
    b = T.linear_svm_sweep(x, y, torch.tensor([1e-2, 1.0]), max_iters=300, progress=False)
    assert torch.equal(a.w, b.w) and torch.equal(a.b, b.b)
    x2, _ = blobs(seed=10)
    c = T.linear_svm_sweep(x2, y, torch.tensor([1e-2, 1.0]), max_iters=300, progress=False)
    assert not torch.equal(a.w, c.w)


def test_validation_errors():
    x, y = blobs()
    with pytest.raises(ValueError, match="lambdas"):
        T.linear_svm_sweep(x, y, torch.tensor([0.0]))
    with pytest.raises(ValueError, match="y must hold"):
        T.linear_svm_sweep(x, torch.zeros(len(x)), torch.tensor([1.0]))
    with pytest.raises(ValueError, match="2-D"):
        T.linear_svm_sweep(x[0], y, torch.tensor([1.0]))
    with pytest.raises(ValueError, match="both classes"):
        T.centroid_direction(x, torch.ones(len(x)))


def test_digit_pair_split():
    from dmmlib.data.mnist_pairs import digit_pair

    p = digit_pair(2, 3, n_train_per_class=50, seed=0)
    assert p.x_train.shape == (100, 784) and int((p.y_train > 0).sum()) == 50
    assert float(p.x_train.min()) >= 0 and float(p.x_train.max()) <= 1
    assert len(p.x_test) > 500 and set(p.y_test.tolist()) == {-1.0, 1.0}
    # held-out test digits never appear in the training split
    full = digit_pair(2, 3, seed=0)
    train_rows = {bytes(r.numpy().tobytes()) for r in full.x_train}
    assert not any(bytes(r.numpy().tobytes()) in train_rows for r in full.x_test)
    assert torch.equal(digit_pair(2, 3, n_train_per_class=50, seed=0).x_train, p.x_train)
    assert not torch.equal(digit_pair(2, 3, n_train_per_class=50, seed=1).x_train, p.x_train)
    with pytest.raises(ValueError, match="differ"):
        digit_pair(3, 3)


@pytest.mark.parametrize("full", [True, False])
def test_digit_pair_sources(monkeypatch, full):
    """Both sources: the full training set (test split = every official test digit of the
    pair) and the offline subset (test split = a share of them, the rest join training)."""
    from dmmlib.data import mnist_pairs
    from dmmlib.data.mnist import load_mnist

    monkeypatch.setattr(mnist_pairs, "FULL_TRAIN_SIZE", 1 if full else 10**9)
    test = load_mnist("test")
    n_official = int(((test.y == 2) | (test.y == 3)).sum())
    p = mnist_pairs.digit_pair(2, 3, test_share=0.3, n_train_per_class=40, seed=0)
    assert p.full is full and p.x_train.shape == (80, 784)
    expected_test = n_official if full else pytest.approx(0.3 * n_official, abs=2)
    assert len(p.x_test) == expected_test
    assert ("official test digits of the pair" in p.description) is full
    assert 40 <= p.pool_per_class
    train_rows = {bytes(r.numpy().tobytes()) for r in p.x_train}
    assert not any(bytes(r.numpy().tobytes()) in train_rows for r in p.x_test)
