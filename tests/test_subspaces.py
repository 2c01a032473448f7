"""Tests of dmmlib.subspaces: control subspaces and the random-vector ratio (appendix I)."""
import math

import pytest
import torch

from dmmlib.manifold import principal_angles
from dmmlib.subspaces import (
    expected_random_ratio,
    expected_random_ratio_squared,
    other_image_subspace,
    paper_random_ratio,
    pca_subspace,
    random_subspace,
    random_vector_ratio,
)


def _is_orthonormal(U, tol=1e-5):
    k = U.shape[-1]
    return ((U.transpose(-1, -2) @ U) - torch.eye(k, dtype=U.dtype)).abs().max() < tol


def test_random_subspace_orthonormal_shapes_and_seed():
    U = random_subspace(40, 5, generator=torch.Generator().manual_seed(0))
    assert U.shape == (40, 5) and U.dtype == torch.float32 and _is_orthonormal(U)
    V = random_subspace(40, 5, batch=3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert V.shape == (3, 40, 5) and _is_orthonormal(V, 1e-12)
    again = random_subspace(40, 5, batch=3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    other = random_subspace(40, 5, batch=3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert torch.equal(V, again) and not torch.equal(V, other)


def test_pca_subspace_recovers_planted_directions():
    g = torch.Generator().manual_seed(0)
    n, k = 30, 3
    true = torch.linalg.qr(torch.randn(n, k, generator=g, dtype=torch.float64)).Q
    coeff = torch.randn(2000, k, generator=g, dtype=torch.float64) * torch.tensor([5.0, 4.0, 3.0], dtype=torch.float64)
    data = 0.3 + coeff @ true.T + 0.01 * torch.randn(2000, n, generator=g, dtype=torch.float64)
    U = pca_subspace(data.reshape(2000, 3, 10), k)
    assert U.shape == (n, k) and _is_orthonormal(U, 1e-10)
    overlap = torch.linalg.svdvals(U.T @ true)
    assert overlap.min() > 0.999
    # ordered by variance: first direction aligned with the largest-variance planted one
    assert abs(float(U[:, 0] @ true[:, 0])) > 0.99


def test_other_image_subspace_is_a_different_image():
    U = random_subspace(20, 3, batch=4, generator=torch.Generator().manual_seed(0))
    V = other_image_subspace(U)
    assert torch.equal(V[1], U[0]) and torch.equal(V[0], U[3])
    with pytest.raises(ValueError, match="B >= 2"):
        other_image_subspace(U[:1])
    with pytest.raises(ValueError, match="shift"):
        other_image_subspace(U, shift=4)


def test_exact_moments_and_bounds():
    for n, k in ((784, 16), (3072, 128), (100, 4), (10, 3)):
        e = expected_random_ratio(n, k)
        assert paper_random_ratio(n, k) < e < math.sqrt(expected_random_ratio_squared(n, k))
    assert paper_random_ratio(784, 16) == 7.0
    assert expected_random_ratio(5, 5) == 1.0 and math.isinf(expected_random_ratio(5, 1))
    assert expected_random_ratio_squared(784, 16) == pytest.approx(782 / 14)


@pytest.mark.parametrize("n,k", [(784, 16), (100, 4), (60, 30)])
def test_random_vector_ratio_matches_theory_within_monte_carlo_error(n, k):
    r = random_vector_ratio(n, k, 40000, generator=torch.Generator().manual_seed(0))
    mean, se = r.mean().item(), (r.std() / math.sqrt(r.numel())).item()
    assert abs(mean - expected_random_ratio(n, k)) < 4 * se
    r2 = (r**2).mean().item()
    se2 = ((r**2).std() / math.sqrt(r.numel())).item()
    assert abs(r2 - expected_random_ratio_squared(n, k)) < 5 * se2


def test_paper_sqrt_n_over_k_is_close_for_mnist_but_biased_low():
    """sqrt(n/k) is within 5% of the mean ratio for the paper's MNIST (n=784, k=16), yet the
    Monte Carlo mean is significantly above it (Jensen: sqrt(n/k) is a lower bound)."""
    r = random_vector_ratio(784, 16, 40000, generator=torch.Generator().manual_seed(1))
    mean, se = r.mean().item(), (r.std() / math.sqrt(r.numel())).item()
    assert abs(mean / paper_random_ratio(784, 16) - 1) < 0.05
    assert mean - paper_random_ratio(784, 16) > 10 * se


def test_random_vector_ratio_with_an_explicit_basis():
    U = random_subspace(50, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    r = random_vector_ratio(50, 5, 20000, basis=U, generator=torch.Generator().manual_seed(4))
    se = (r.std() / math.sqrt(r.numel())).item()
    assert abs(r.mean().item() - expected_random_ratio(50, 5)) < 4 * se
    assert (r >= 1).all()


def test_seed_fixes_the_draws():
    a = random_vector_ratio(30, 3, 100, generator=torch.Generator().manual_seed(5))
    b = random_vector_ratio(30, 3, 100, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="k <= n"):
        random_subspace(5, 6)
    with pytest.raises(ValueError, match="k <= n"):
        random_vector_ratio(5, 0, 10)
    with pytest.raises(ValueError, match="samples"):
        random_vector_ratio(5, 2, 0)
    with pytest.raises(ValueError, match="basis must"):
        random_vector_ratio(5, 2, 10, basis=torch.zeros(5, 3))
    with pytest.raises(ValueError, match="data"):
        pca_subspace(torch.zeros(1, 5), 2)
    with pytest.raises(ValueError, match="non-finite"):
        pca_subspace(torch.full((3, 5), float("inf")), 2)


def test_pca_thin_svd_path_matches_covariance_path():
    """Fewer images than pixels takes the thin SVD; it must span what the covariance gives."""
    data = torch.rand(30, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    svd = pca_subspace(data, 3)  # N = 30 < n = 64
    X = data.reshape(30, -1).double()
    X = X - X.mean(0)
    cov = torch.linalg.eigh(X.T @ X).eigenvectors[:, -3:]
    assert svd.shape == (64, 3)
    assert principal_angles(svd.double(), cov, degrees=True).max() < 1e-3
    with pytest.raises(ValueError, match="at least k images"):
        pca_subspace(data[:2], 3)


def test_random_vector_ratio_per_image_basis():
    n, k, B = 30, 4, 3
    basis = random_subspace(n, k, batch=B, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    R = random_vector_ratio(n, k, 50, basis=basis, generator=torch.Generator().manual_seed(1))
    assert R.shape == (B, 50) and R.dtype == torch.float64 and (R >= 1).all()
    # the vectors are drawn sample by sample as (B, n) blocks: recompute image b's sample s by hand
    g = torch.Generator().manual_seed(1)
    r = [torch.randn(B, n, generator=g, dtype=torch.float64) for _ in range(50)]
    by_hand = r[7][2].norm() / (r[7][2] @ basis[2]).norm()
    assert torch.allclose(R[2, 7], by_hand)
    # chunking over samples keeps the stream
    from dmmlib.subspaces import _per_image_ratio

    assert torch.allclose(_per_image_ratio(basis, 50, torch.Generator().manual_seed(1), chunk_elems=100), R)
    again = random_vector_ratio(n, k, 50, basis=basis, generator=torch.Generator().manual_seed(1))
    other = random_vector_ratio(n, k, 50, basis=basis, generator=torch.Generator().manual_seed(2))
    assert torch.equal(R, again) and not torch.equal(R, other)
    big = random_vector_ratio(n, k, 4000, basis=basis, generator=torch.Generator().manual_seed(3))
    assert abs(big.mean().item() - expected_random_ratio(n, k)) < 0.03 * expected_random_ratio(n, k)
    with pytest.raises(ValueError, match="basis"):
        random_vector_ratio(n, k, 5, basis=basis[:, :, :3])
