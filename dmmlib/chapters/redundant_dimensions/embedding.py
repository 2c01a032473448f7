"""A fixed data manifold in a growing ambient space: the two embeddings of the chapter.

- :func:`synthetic_manifold`: k-dimensional points ``u`` in [-1, 1]^k, labelled by a curved
  rule inside the manifold, embedded isometrically in R^n (``x = 1/2 + s (A u + a B sin(pi u))``
  with ``A``, ``B`` (n, k) orthonormal columns of one random rotation, B orthogonal to A; a = 0
  gives the flat manifold). The data, their labels and the manifold's exact tangent basis at
  each point do not depend on n beyond the rotation: distances measured on them are in the
  manifold's own units for every n.
- :func:`embed_images` / :func:`embed_basis`: a 28 x 28 image (or a basis of 28 x 28
  directions) in (28 r)^2 pixels, by nearest-neighbour upsampling or by zero padding.
  Upsampling maps a 28 x 28 perturbation d to one of norm r ||d|| (each pixel becomes an
  r x r block): :func:`native_scale` is the factor that divides an L2 norm measured in the
  embedded image to give the native 28 x 28 metric (r for upsampling, 1 for padding).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

GEOMETRIES = ("linear", "curved")
EMBEDDINGS = ("upsample", "pad")
#: scale s of the embedding: |x_i - 1/2| <= s ||u + a sin|| stays well inside [0, 1] (no clamp by attacks)
SCALE = 0.15
#: frequency of the curved manifold's bend (radians per unit of u)
OMEGA = math.pi


class SyntheticSet(NamedTuple):
    """Points of a synthetic manifold in R^n.

    - ``x`` (N, n) float32 points in [0, 1]^n; ``y`` (N,) int64 labels in {0, 1};
    - ``u`` (N, k) the points' manifold coordinates in [-1, 1]^k;
    - ``tangent`` (N, n, k) orthonormal columns spanning the manifold's tangent space at each point.
    """

    x: Tensor
    y: Tensor
    u: Tensor
    tangent: Tensor


def label_rule(u: Tensor) -> Tensor:
    """Labels (N,) int64 of manifold coordinates ``u`` (N, k >= 1): 1 where
    ``u_1 + 0.5 sin(pi u_2) > 0`` (``u_2`` = 0 when k = 1), a curved boundary inside the manifold."""
    if u.dim() != 2 or u.shape[1] < 1:
        raise ValueError(f"u must have shape (N, k >= 1), got {tuple(u.shape)}")
    bend = 0.5 * torch.sin(math.pi * u[:, 1]) if u.shape[1] > 1 else torch.zeros_like(u[:, 0])
    return (u[:, 0] + bend > 0).long()


def rotation(n: int, k: int, *, seed: int) -> Tensor:
    """(n, 2k) orthonormal columns, seeded: the first k span the flat manifold (A), the next k
    the directions the curved one bends into (B)."""
    if not (isinstance(n, int) and isinstance(k, int) and 1 <= k and 2 * k <= n):
        raise ValueError(f"need integers k >= 1 and n >= 2 k, got n={n!r}, k={k!r}")
    g = torch.Generator().manual_seed(10_007 * seed + n)
    return torch.linalg.qr(torch.randn(n, 2 * k, generator=g, dtype=torch.float64), mode="reduced").Q


def synthetic_manifold(geometry: str, n: int, k: int, n_points: int, *, curvature: float = 0.5,
                       seed: int = 0, split: int = 0) -> SyntheticSet:
    """``n_points`` seeded points of the ``geometry`` ("linear" or "curved") k-manifold in R^n.

    The rotation depends on (``seed``, n) only, so the training (``split`` 0) and test
    (``split`` 1) points of one seed lie on one manifold; the coordinates ``u`` depend on
    (``seed``, ``split``) only, so every n sees the same points and labels. ``curvature`` is
    the bend's amplitude a (ignored by "linear"). Distances: L2 in R^n, the manifold's own units
    times :data:`SCALE`.
    """
    if geometry not in GEOMETRIES:
        raise ValueError(f"geometry must be one of {GEOMETRIES}, got {geometry!r}")
    if not isinstance(n_points, int) or n_points < 1:
        raise ValueError(f"n_points must be a positive int, got {n_points!r}")
    if not 0 <= curvature:
        raise ValueError(f"curvature must be >= 0, got {curvature!r}")
    R = rotation(n, k, seed=seed)
    A, B = R[:, :k], R[:, k:]
    g = torch.Generator().manual_seed(1_000_003 * seed + 17 * split + 1)
    u = torch.rand(n_points, k, generator=g, dtype=torch.float64) * 2 - 1
    a = curvature if geometry == "curved" else 0.0
    x = 0.5 + SCALE * (u @ A.T + a * torch.sin(OMEGA * u) @ B.T)
    # Jacobian dx/du = s (A + a omega B diag(cos(omega u))): (N, n, k)
    J = SCALE * (A[None] + (a * OMEGA * torch.cos(OMEGA * u))[:, None, :] * B[None])
    tangent = torch.linalg.qr(J, mode="reduced").Q
    return SyntheticSet(x.float(), label_rule(u), u.float(), tangent.float())


def native_scale(embedding: str, factor: int) -> float:
    """The factor that divides an L2 norm in the embedded image to give the 28 x 28 metric:
    ``factor`` for "upsample" (an r x r block repeats a pixel: norms grow by r), 1 for "pad"."""
    _check_embedding(embedding, factor)
    return float(factor) if embedding == "upsample" else 1.0


def embed_images(x: Tensor, embedding: str, factor: int) -> Tensor:
    """Images (B, 1, 28, 28) (or (B, 784)) in [0, 1] -> (B, (28 r)^2) flat, r = ``factor``:
    nearest-neighbour upsampling, or the digit centred on a zero background ("pad")."""
    _check_embedding(embedding, factor)
    img = _as_images(x)
    if embedding == "upsample":
        out = img.repeat_interleave(factor, dim=2).repeat_interleave(factor, dim=3)
    else:
        before = (28 * factor - 28) // 2
        after = 28 * factor - 28 - before
        out = F.pad(img, (before, after, before, after))
    return out.reshape(len(x), -1)


def embed_basis(basis: Tensor, embedding: str, factor: int) -> Tensor:
    """An orthonormal basis (B, 784, k) of 28 x 28 directions -> (B, (28 r)^2, k), still
    orthonormal: upsampled and divided by r, or zero padded."""
    if basis.dim() != 3 or basis.shape[1] != 784:
        raise ValueError(f"basis must have shape (B, 784, k), got {tuple(basis.shape)}")
    B, _, k = basis.shape
    cols = basis.permute(0, 2, 1).reshape(B * k, 1, 28, 28)
    out = embed_images(cols, embedding, factor) / native_scale(embedding, factor)
    return out.reshape(B, k, -1).permute(0, 2, 1).contiguous()


def _as_images(x: Tensor) -> Tensor:
    if not isinstance(x, Tensor) or x.shape[1:] not in ((1, 28, 28), (784,)):
        raise ValueError(f"expected images (B, 1, 28, 28) or (B, 784), got {tuple(getattr(x, 'shape', ()))}")
    return x.reshape(len(x), 1, 28, 28)


def _check_embedding(embedding: str, factor: int) -> None:
    if embedding not in EMBEDDINGS:
        raise ValueError(f"embedding must be one of {EMBEDDINGS}, got {embedding!r}")
    if not isinstance(factor, int) or factor < 1:
        raise ValueError(f"factor must be an int >= 1, got {factor!r}")
