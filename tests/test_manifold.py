"""Tests of dmmlib.manifold: tangent bases, principal angles, projections, R(d, M), E."""
import math

import pytest
import torch
from torch import nn

from dmmlib.manifold import (
    coordinates,
    local_tangent_basis,
    norm_ratio,
    orthonormal_basis,
    principal_angles,
    project_off,
    project_onto,
    relative_effect,
    tangent_jacobian,
)

K, IMG = 6, (2, 5, 5)
N = 50


def _smooth_decoder(dtype=torch.float64):
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(K, 40), nn.Tanh(), nn.Linear(40, N), nn.Sigmoid(), nn.Unflatten(1, IMG)
    ).to(dtype).eval()


def _conv_decoder():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(K, 8 * 4 * 4), nn.ReLU(), nn.Unflatten(1, (8, 4, 4)),
        nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        nn.ConvTranspose2d(4, 3, 4, stride=2, padding=1), nn.Sigmoid(),
    ).eval()


def _codes(b=4, dtype=torch.float64, seed=1):
    return torch.randn(b, K, generator=torch.Generator().manual_seed(seed)).to(dtype)


def _orthonormal(b, n, k, seed=3, dtype=torch.float64):
    g = torch.randn(b, n, k, generator=torch.Generator().manual_seed(seed), dtype=dtype)
    return torch.linalg.qr(g).Q


def test_exact_jacobian_matches_fp64_central_differences():
    dec, c = _smooth_decoder(), _codes()
    J = tangent_jacobian(dec, c, method="jvp")
    assert J.shape == (4, N, K) and J.dtype == torch.float64
    fd = tangent_jacobian(dec, c, method="fd_central", fd_eps=1e-5)
    torch.testing.assert_close(J, fd, atol=1e-8, rtol=1e-6)
    rev = tangent_jacobian(dec, c, method="jacrev", chunk_size=7)
    torch.testing.assert_close(J, rev, atol=1e-12, rtol=1e-10)
    one_sided = tangent_jacobian(dec, c, method="fd", fd_eps=1e-6)
    torch.testing.assert_close(J, one_sided, atol=1e-5, rtol=1e-4)


def test_jacobian_columns_are_partial_derivatives():
    dec, c = _smooth_decoder(), _codes(b=2)
    J = tangent_jacobian(dec, c)
    full = torch.autograd.functional.jacobian(lambda z: dec(z[None]).reshape(-1), c[1])
    torch.testing.assert_close(J[1], full, atol=1e-12, rtol=1e-10)


def test_chunking_does_not_change_the_result():
    dec, c = _smooth_decoder(), _codes(b=5)
    a = tangent_jacobian(dec, c, chunk_size=None)
    for method, chunk in (("jvp", 7), ("fd", 3), ("jacrev", 11)):
        b = tangent_jacobian(dec, c, method=method, chunk_size=chunk)
        ref = a if method != "fd" else tangent_jacobian(dec, c, method="fd", chunk_size=None)
        torch.testing.assert_close(b, ref, atol=1e-12, rtol=1e-10)


def test_conv_decoder_with_batchnorm_eval_all_methods_agree():
    dec, c = _conv_decoder(), _codes(b=3, dtype=torch.float32)
    Q = local_tangent_basis(dec, c)
    assert Q.shape == (3, 3 * 16 * 16, K)
    Qr = local_tangent_basis(dec, c, method="jacrev", chunk_size=256)
    assert principal_angles(Q, Qr, degrees=True).max() < 0.1


def test_bases_are_orthonormal_and_span_the_jacobian():
    dec, c = _smooth_decoder(), _codes()
    J = tangent_jacobian(dec, c)
    Q = orthonormal_basis(J)
    eye = torch.eye(K, dtype=Q.dtype).expand(4, K, K)
    torch.testing.assert_close(Q.transpose(1, 2) @ Q, eye, atol=1e-12, rtol=0)
    # each Jacobian column lies in span(Q)
    resid = J - Q @ (Q.transpose(1, 2) @ J)
    assert resid.abs().max() < 1e-10


def test_local_basis_is_deterministic_and_batched():
    dec, c = _smooth_decoder(), _codes(b=3)
    a = local_tangent_basis(dec, c)
    b = local_tangent_basis(dec, c)
    assert torch.equal(a, b)
    single = local_tangent_basis(dec, c[1:2])
    torch.testing.assert_close(a[1:2], single, atol=1e-12, rtol=0)


def test_principal_angles_known_cases():
    # span(e1, e2) vs span(e1, cos t e2 + sin t e3): angles (0, t)
    for t in (1e-6, 0.3, 1.2):
        A = torch.eye(4, dtype=torch.float64)[:, :2]
        B = torch.zeros(4, 2, dtype=torch.float64)
        B[0, 0] = 1
        B[1, 1], B[2, 1] = math.cos(t), math.sin(t)
        ang = principal_angles(A, 3.0 * B)
        torch.testing.assert_close(ang, torch.tensor([0.0, t], dtype=torch.float64), atol=1e-12, rtol=1e-9)
    A = torch.eye(5, dtype=torch.float64)[:, :2]
    B = torch.eye(5, dtype=torch.float64)[:, 2:4]
    torch.testing.assert_close(principal_angles(A, B, degrees=True), torch.tensor([90.0, 90.0], dtype=torch.float64))


def test_principal_angles_batched_symmetric_and_invariant():
    A = torch.randn(3, 30, 4, dtype=torch.float64)
    B = torch.randn(3, 30, 6, dtype=torch.float64)
    ab = principal_angles(A, B)
    assert ab.shape == (3, 4)
    torch.testing.assert_close(ab, principal_angles(B, A))
    mix = torch.randn(4, 4, dtype=torch.float64)
    torch.testing.assert_close(ab, principal_angles(A @ mix, B), atol=1e-10, rtol=1e-8)
    assert (ab[:, 1:] >= ab[:, :-1]).all()
    assert principal_angles(A, A).abs().max() < 1e-7


def test_projection_idempotent_and_on_perpendicular_off():
    U = _orthonormal(4, N, K)
    v = torch.randn(4, *IMG, dtype=torch.float64)
    on, off = project_onto(v, U), project_off(v, U)
    assert on.shape == v.shape and off.shape == v.shape
    torch.testing.assert_close(project_onto(on, U), on)
    torch.testing.assert_close(project_off(off, U), off)
    assert project_onto(off, U).abs().max() < 1e-12
    assert (on.reshape(4, -1) * off.reshape(4, -1)).sum(1).abs().max() < 1e-12
    torch.testing.assert_close(on + off, v)
    # Pythagoras
    torch.testing.assert_close(v.reshape(4, -1).norm(dim=1) ** 2,
                               on.reshape(4, -1).norm(dim=1) ** 2 + off.reshape(4, -1).norm(dim=1) ** 2)


def test_shared_basis_equals_broadcast_basis():
    U = _orthonormal(1, N, K)[0]
    v = torch.randn(3, N, dtype=torch.float64)
    torch.testing.assert_close(project_onto(v, U), project_onto(v, U.expand(3, N, K)))
    torch.testing.assert_close(coordinates(v, U), coordinates(v, U.expand(3, N, K)))


def test_norm_ratio_values():
    U = _orthonormal(3, N, K)
    inside = (U @ torch.randn(3, K, 1, dtype=torch.float64)).squeeze(2)
    torch.testing.assert_close(norm_ratio(inside, U), torch.ones(3, dtype=torch.float64))
    outside = project_off(torch.randn(3, N, dtype=torch.float64), U)
    half = inside / inside.norm(dim=1, keepdim=True) + outside / outside.norm(dim=1, keepdim=True)
    torch.testing.assert_close(norm_ratio(half, U), torch.full((3,), math.sqrt(2), dtype=torch.float64))
    assert torch.isinf(norm_ratio(outside, U)).all() or norm_ratio(outside, U).min() > 1e10


def test_relative_effect_linear_model():
    """For a linear model the effect is additive: E(on) + E(off) = 1, and E(on) = 1 for d in M."""
    torch.manual_seed(0)
    W = torch.randn(3, N, dtype=torch.float64)
    model = lambda z: z.reshape(z.shape[0], -1) @ W.T  # noqa: E731
    U = _orthonormal(4, N, K)
    x = torch.rand(4, *IMG, dtype=torch.float64)
    d = torch.randn(4, *IMG, dtype=torch.float64)
    src, tgt = torch.tensor([0, 1, 2, 0]), torch.tensor([1, 2, 0, 2])
    e_on = relative_effect(model, x, d, U, src, tgt)
    e_off = relative_effect(model, x, project_off(d, U), U, src, tgt)
    z = (d.reshape(4, -1) @ W.T)
    total = z.gather(1, tgt[:, None])[:, 0] - z.gather(1, src[:, None])[:, 0]
    zon = project_onto(d, U).reshape(4, -1) @ W.T
    on = zon.gather(1, tgt[:, None])[:, 0] - zon.gather(1, src[:, None])[:, 0]
    torch.testing.assert_close(e_on, on / total)
    assert e_off.abs().max() < 1e-10  # off-part has no on-manifold component
    torch.testing.assert_close(relative_effect(model, x, project_onto(d, U), U, src, tgt), torch.ones(4, dtype=torch.float64))


def test_relative_effect_binary_model():
    torch.manual_seed(0)
    w = torch.randn(N, dtype=torch.float64)
    model = lambda z: z.reshape(z.shape[0], -1) @ w  # noqa: E731
    U = _orthonormal(2, N, K)
    x, d = torch.rand(2, N, dtype=torch.float64), torch.randn(2, N, dtype=torch.float64)
    e = relative_effect(model, x, d, U, torch.zeros(2, dtype=torch.long), torch.ones(2, dtype=torch.long))
    torch.testing.assert_close(e, (project_onto(d, U) @ w) / (d @ w))


def test_bad_inputs_raise():
    dec = _smooth_decoder()
    with pytest.raises(ValueError, match="codes"):
        tangent_jacobian(dec, torch.randn(K, dtype=torch.float64))
    with pytest.raises(ValueError, match="non-finite"):
        tangent_jacobian(dec, torch.full((2, K), float("nan"), dtype=torch.float64))
    with pytest.raises(ValueError, match="method"):
        tangent_jacobian(dec, _codes(), method="magic")
    with pytest.raises(ValueError, match="fd_eps"):
        tangent_jacobian(dec, _codes(), method="fd", fd_eps=0.0)
    with pytest.raises(ValueError, match="chunk_size"):
        tangent_jacobian(dec, _codes(), chunk_size=0)
    U = _orthonormal(4, N, K)
    with pytest.raises(ValueError, match="does not match"):
        project_onto(torch.randn(4, N + 1, dtype=torch.float64), U)
    with pytest.raises(ValueError, match="does not match"):
        project_onto(torch.randn(3, N, dtype=torch.float64), U)
    with pytest.raises(ValueError, match="basis must"):
        norm_ratio(torch.randn(4, N), torch.randn(N))
    with pytest.raises(ValueError, match="same n"):
        principal_angles(torch.randn(10, 2), torch.randn(11, 2))
    with pytest.raises(ValueError, match="k <= n"):
        orthonormal_basis(torch.randn(2, 3, 5))
    with pytest.raises(ValueError, match="shape of x"):
        relative_effect(lambda z: z, torch.rand(2, N), torch.rand(3, N), U[:2], torch.zeros(2).long(), torch.ones(2).long())
    with pytest.raises(ValueError, match="source"):
        relative_effect(lambda z: z, torch.rand(2, N), torch.rand(2, N), U[:2], torch.zeros(2), torch.ones(2).long())


def test_local_manifold_of_the_zoo_autoencoders():
    ae_mod = pytest.importorskip("dmmlib.models.autoencoders")
    from dmmlib.manifold import local_manifold

    torch.manual_seed(0)
    ae = ae_mod.MnistAutoencoder().eval()
    x = torch.rand(3, 1, 28, 28)
    x_prime, U = local_manifold(ae.encode, ae.decode, x)
    assert x_prime.shape == x.shape and U.shape == (3, 784, ae.latent_dim)
    eye = torch.eye(ae.latent_dim).expand(3, -1, -1)
    torch.testing.assert_close(U.transpose(1, 2) @ U, eye, atol=1e-5, rtol=0)
    ae64 = ae.double()
    _, U64 = local_manifold(ae64.encode, ae64.decode, x.double(), method="jacrev", chunk_size=200)
    assert principal_angles(U.double(), U64, degrees=True).max() < 0.01


def test_finite_difference_angles_shrink_with_the_step_in_fp64():
    from dmmlib.manifold import finite_difference_angles

    dec, c = _smooth_decoder(), _codes(b=3)
    ang = finite_difference_angles(dec, c, (1e-1, 1e-3, 1e-5))
    assert ang.shape == (3, 3) and (ang >= 0).all()
    assert (ang[0] > ang[1]).all() and (ang[1] > ang[2]).all()  # first-order error ~ step
    assert ang[2].max() < 1e-2
    central = finite_difference_angles(dec, c, (1e-3,), method="fd_central")
    assert (central[0] < ang[1]).all()  # second order beats first order
    with pytest.raises(ValueError, match="method"):
        finite_difference_angles(dec, c, (1e-3,), method="jvp")
