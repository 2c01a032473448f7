"""Control subspaces of the same dimension k as a local manifold (random, PCA, another
image's, low-frequency DCT), and the random-vector
norm ratio of appendix I of the Dimpled Manifold paper.

A k-dimensional subspace of the n-dimensional image space is given by an (n, k) or, one per
image, a (B, n, k) tensor of orthonormal columns, as in :mod:`dmmlib.manifold`.

Appendix I: for a Gaussian vector r in R^n and a fixed k-dimensional subspace M,
``R = ||r|| / ||Proj_M r||`` satisfies ``1 / R^2 ~ Beta(k/2, (n-k)/2)``. Hence, exactly,

- ``E[R] = Gamma((k-1)/2) Gamma(n/2) / (Gamma(k/2) Gamma((n-1)/2))`` (finite for k >= 2),
- ``E[R^2] = (n-2)/(k-2)`` (k >= 3),

and by Jensen ``sqrt(n/k) <= E[R] <= sqrt((n-2)/(k-2))``: the paper's ``sqrt(n/k)``
(which it derives from ``E[R^2] = n/k``, taking the expectation of a ratio as the ratio of
expectations) is an *under*-estimate of E[R]: 7.00 against 7.34 for MNIST
(n = 784, k = 16), 4.90 against 4.93 for CIFAR-10 (n = 3072, k = 128).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor


def random_subspace(
    n: int,
    k: int,
    *,
    batch: int | None = None,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    """A uniformly random k-dimensional subspace (QR of a Gaussian matrix): (n, k), or
    (batch, n, k) independent ones."""
    _check_nk(n, k)
    shape = (n, k) if batch is None else (batch, n, k)
    g = torch.randn(shape, generator=generator, dtype=torch.float64)
    return torch.linalg.qr(g, mode="reduced").Q.to(dtype=dtype, device=device)


def pca_subspace(data: Tensor, k: int) -> Tensor:
    """The top-k principal directions of ``data`` (N, ...) (centred), (n, k) orthonormal.

    Computed in float64: from the n x n covariance when N > n (60000 MNIST images), else from
    the thin SVD of the (N, n) centred data (a few thousand CIFAR images: about 20x faster).
    """
    if not isinstance(data, Tensor) or data.dim() < 2 or data.shape[0] < 2:
        raise ValueError(f"data must be a tensor (N, ...) with N >= 2, got {tuple(getattr(data, 'shape', ()))}")
    X = data.reshape(data.shape[0], -1).to(torch.float64)
    _check_nk(X.shape[1], k)
    if not torch.isfinite(X).all():
        raise ValueError("data contains non-finite values (nan or inf)")
    X = X - X.mean(dim=0)
    if X.shape[0] < X.shape[1]:
        if k > X.shape[0]:
            raise ValueError(f"k={k} principal directions need at least k images, got {X.shape[0]}")
        U = torch.linalg.svd(X, full_matrices=False).Vh[:k].T.contiguous()
    else:
        _, vecs = torch.linalg.eigh(X.T @ X)  # ascending eigenvalues
        U = vecs[:, -k:].flip(1)
    return U.to(dtype=data.dtype if data.is_floating_point() else torch.float32)


def other_image_subspace(basis: Tensor, shift: int = 1) -> Tensor:
    """The local basis of a different image of the batch: image b gets image (b - shift) mod B's
    basis, (B, n, k). Requires B >= 2 and shift not a multiple of B."""
    if not isinstance(basis, Tensor) or basis.dim() != 3:
        raise ValueError(f"basis must be (B, n, k), got {tuple(getattr(basis, 'shape', ()))}")
    if basis.shape[0] < 2 or shift % basis.shape[0] == 0:
        raise ValueError(f"need B >= 2 and shift not a multiple of B (B={basis.shape[0]}, shift={shift})")
    return basis.roll(shift, dims=0)


def dct_subspace(shape: tuple[int, ...], k: int, *, dtype: torch.dtype = torch.float32) -> Tensor:
    """The k lowest-frequency orthonormal 2-D DCT-II basis images of images of ``shape``
    (C, H, W), as (n, k) orthonormal columns, n = C*H*W.

    Basis image (c, u, v) is ``a_u cos(pi (2i+1) u / 2H) a_v cos(pi (2j+1) v / 2W)`` on channel c
    and zero on the others (a_0 = sqrt(1/H), a_u = sqrt(2/H)); they are ordered by total
    frequency u + v, then u, then channel, and the first k are kept. A "smooth images"
    subspace that knows nothing about any data set or image: a control for a learned manifold.
    """
    if len(shape) != 3 or not all(isinstance(d, int) and d >= 1 for d in shape):
        raise ValueError(f"shape must be (C, H, W) of positive ints, got {shape!r}")
    C, H, W = shape
    _check_nk(C * H * W, k)

    def dct_matrix(m: int) -> Tensor:  # (m frequencies, m positions), orthonormal rows
        i = torch.arange(m, dtype=torch.float64)
        D = torch.cos(math.pi * (2 * i[None, :] + 1) * i[:, None] / (2 * m))
        D[0] *= math.sqrt(1 / m)
        D[1:] *= math.sqrt(2 / m)
        return D

    DH, DW = dct_matrix(H), dct_matrix(W)
    order = sorted(((u + v, u, c, v) for c in range(C) for u in range(H) for v in range(W)))[:k]
    cols = []
    for _, u, c, v in order:
        img = torch.zeros(C, H, W, dtype=torch.float64)
        img[c] = DH[u][:, None] * DW[v][None, :]
        cols.append(img.reshape(-1))
    return torch.stack(cols, dim=1).to(dtype)


def random_vector_ratio(
    n: int,
    k: int,
    samples: int,
    *,
    basis: Tensor | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Monte Carlo draws of R = ||r|| / ||Proj_M r|| for Gaussian r in R^n, float64.

    M is ``basis`` (n, k) when given, else the span of the first k coordinates (the same
    distribution, by rotation invariance, and cheaper): returns (samples,). With a per-image
    basis (B, n, k) (orthonormal columns) every image gets ``samples`` vectors of its own:
    returns (B, samples); the vectors are drawn sample by sample, each a (B, n) block.
    """
    _check_nk(n, k)
    if not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be a positive int, got {samples!r}")
    if basis is not None and basis.dim() == 3:
        if basis.shape[1:] != (n, k) or basis.shape[0] < 1:
            raise ValueError(f"basis must have shape (B, n={n}, k={k}), got {tuple(basis.shape)}")
        return _per_image_ratio(basis.detach().to("cpu", torch.float64), samples, generator)
    r = torch.randn(samples, n, generator=generator, dtype=torch.float64)
    if basis is None:
        on = r[:, :k].norm(dim=1)
    else:
        if basis.shape != (n, k):
            raise ValueError(f"basis must have shape (n={n}, k={k}) or (B, n, k), got {tuple(basis.shape)}")
        on = (r @ basis.to(torch.float64)).norm(dim=1)
    return r.norm(dim=1) / on


def _per_image_ratio(basis: Tensor, samples: int, generator, chunk_elems: int = 1 << 22) -> Tensor:
    """(B, n, k) float64 bases -> (B, samples) ratios, evaluated ``chunk_elems`` numbers at a time."""
    B, n, _ = basis.shape
    step = max(1, chunk_elems // (B * n))
    out = []
    for s in range(0, samples, step):
        # one (B, n) draw per sample, so the stream does not depend on the chunking
        m = min(step, samples - s)
        r = torch.stack([torch.randn(B, n, generator=generator, dtype=torch.float64) for _ in range(m)])
        on = torch.einsum("sbn,bnk->sbk", r, basis).norm(dim=2)
        out.append(r.norm(dim=2) / on)
    return torch.cat(out).T.contiguous()


def paper_random_ratio(n: int, k: int) -> float:
    """The paper's reference value sqrt(n/k) for the random-vector ratio (appendix I)."""
    _check_nk(n, k)
    return math.sqrt(n / k)


def expected_random_ratio(n: int, k: int) -> float:
    """Exact E[||r|| / ||Proj_M r||] for Gaussian r (see the module docstring); inf for k = 1."""
    _check_nk(n, k)
    if k == n:
        return 1.0
    if k == 1:
        return math.inf
    lg = math.lgamma
    return math.exp(lg((k - 1) / 2) + lg(n / 2) - lg(k / 2) - lg((n - 1) / 2))


def expected_random_ratio_squared(n: int, k: int) -> float:
    """Exact E[R^2] = (n-2)/(k-2) for k >= 3 (the paper's derivation gives n/k); inf for k <= 2 < n."""
    _check_nk(n, k)
    if k == n:
        return 1.0
    if k <= 2:
        return math.inf
    return (n - 2) / (k - 2)


def _check_nk(n: int, k: int) -> None:
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (n, k)) or not (1 <= k <= n):
        raise ValueError(f"need integers 1 <= k <= n, got n={n!r}, k={k!r}")
