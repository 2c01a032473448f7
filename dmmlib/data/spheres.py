"""The concentric spheres dataset of Gilmer et al. (2018), section 2.

Two spheres in ``d`` dimensions centred at the origin: the inner one of radius 1 (label 0)
and the outer one of radius ``R`` (label 1, ``R = 1.3`` in the paper), each drawn with
probability 1/2. A point is sampled uniformly on a sphere as ``x = r * z / ||z||`` with
``z ~ N(0, I_d)``. Distances are Euclidean (L2) in the ambient space R^d.

Two training regimes: *online* (every minibatch is a fresh sample, N = infinity) and a
*fixed* training set of size N reused for many epochs. Every sampler takes a
``torch.Generator`` so a seed fixes the data.
"""
from __future__ import annotations

from typing import Iterator

import torch

R_PAPER = 1.3


def _check(d: int, n: int) -> None:
    if not isinstance(d, int) or d < 2:
        raise ValueError(f"dimension d must be an int >= 2, got {d!r}")
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"number of samples n must be an int >= 0, got {n!r}")


def sample_sphere(n: int, d: int, radius: float = 1.0, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` points uniform on the sphere of ``radius`` in R^d: shape ``(n, d)``, float32."""
    _check(d, n)
    if radius < 0:
        raise ValueError(f"radius must be >= 0, got {radius}")
    z = torch.randn(n, d, generator=generator)
    return radius * z / z.norm(dim=1, keepdim=True).clamp_min(1e-12)


def sample_spheres(
    n: int, d: int, R: float = R_PAPER, *, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` labelled points: ``x`` of shape ``(n, d)`` with ``||x|| in {1, R}`` and ``y`` of
    shape ``(n,)`` (float, 0 for the inner sphere, 1 for the outer), each sphere with
    probability 1/2."""
    if R <= 1:
        raise ValueError(f"outer radius R must be > 1, got {R}")
    x = sample_sphere(n, d, 1.0, generator=generator)
    y = (torch.rand(n, generator=generator) < 0.5).float()
    return x * (1 + (R - 1) * y)[:, None], y


def labels_from_norm(x: torch.Tensor, R: float = R_PAPER) -> torch.Tensor:
    """The label of the max-margin classifier: 1 where ``||x|| > (1 + R) / 2``. ``x``: ``(n, d)``
    -> ``(n,)`` float. On the two spheres it is the true label."""
    if x.ndim != 2:
        raise ValueError(f"x must have shape (n, d), got {tuple(x.shape)}")
    return (x.norm(dim=1) > (1 + R) / 2).float()


def fixed_training_set(
    N: int, d: int, R: float = R_PAPER, *, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed training set of ``N`` labelled points (``(N, d)``, ``(N,)``), fixed by ``seed``."""
    return sample_spheres(N, d, R, generator=torch.Generator().manual_seed(seed))


def batches(
    d: int,
    batch_size: int,
    steps: int,
    *,
    R: float = R_PAPER,
    N: int | None = None,
    seed: int = 0,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``steps`` minibatches ``(x, y)`` of ``batch_size``: fresh samples when ``N`` is None
    (online, N = infinity), else reshuffled epochs over a fixed set of ``N`` points."""
    if batch_size < 1 or steps < 0:
        raise ValueError(f"batch_size must be >= 1 and steps >= 0, got {batch_size}, {steps}")
    g = torch.Generator().manual_seed(seed)
    if N is None:
        for _ in range(steps):
            yield sample_spheres(batch_size, d, R, generator=g)
        return
    x, y = fixed_training_set(N, d, R, seed=seed)
    order, pos = torch.randperm(N, generator=g), 0
    for _ in range(steps):
        if pos + batch_size > N:
            order, pos = torch.randperm(N, generator=g), 0
        idx = order[pos : pos + min(batch_size, N)]
        pos += len(idx)
        yield x[idx], y[idx]
