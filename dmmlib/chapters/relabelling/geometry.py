"""How close N2's decision boundary lies to N1's near clean test points: directions and distances.

The DMM's explanation of the relabelling experiment (section 5.2, figure 4) is that N2 ends
up with a decision boundary very similar to N1's. Measured here at test points ``x``:

- :func:`pair_gradient`: the input gradient of the logit difference ``z_y - z_t`` (the
  normal of the boundary between the true class ``y`` and a rival class ``t``);
- :func:`cosine`: the cosine between two such gradients, per point (1: same direction);
- :func:`random_cosine`: the same against uniformly random directions (about 0 with spread
  1/sqrt(n) in n dimensions: shown for scale only; every trained network beats it, so the
  claims compare N2 with N1's clean twin instead);
- :func:`boundary_points`: the nearest boundary point of each model (DeepFool), its
  distance (the model's minimal adversarial distance) and the gap between the two models'
  boundary points.

All distances are L2 norms in input units (cube units, or [0,1]-scaled pixels).
"""
from __future__ import annotations

import torch
from torch import Tensor

from dmmlib.attacks.deepfool import boundary_distance
from dmmlib.evaluate import as_logits, model_device


def rival_class(model, x: Tensor, y: Tensor) -> Tensor:
    """(N,) the class other than ``y`` with the largest logit of ``model`` at ``x`` (N, ...)."""
    with torch.no_grad():
        z = as_logits(model, x.to(model_device(model))).cpu()
    return z.scatter(1, y[:, None].long(), float("-inf")).argmax(1)


def pair_gradient(model, x: Tensor, y: Tensor, t: Tensor) -> Tensor:
    """(N, n) flat input gradient of ``z_y - z_t`` of ``model`` at ``x`` (N, ...), on the CPU."""
    if not (len(x) == len(y) == len(t)):
        raise ValueError(f"x, y, t must have the same length, got {len(x)}, {len(y)}, {len(t)}")
    dev = model_device(model)
    xr = x.detach().to(dev).clone().requires_grad_(True)
    with torch.enable_grad():
        z = as_logits(model, xr)
        diff = z.gather(1, y.to(dev)[:, None].long())[:, 0] - z.gather(1, t.to(dev)[:, None].long())[:, 0]
        (g,) = torch.autograd.grad(diff.sum(), xr)
    return g.flatten(1).detach().cpu()


def cosine(a: Tensor, b: Tensor) -> Tensor:
    """(N,) cosine between the rows of ``a`` and ``b`` (N, n); NaN where either row is zero."""
    if a.shape != b.shape or a.dim() != 2:
        raise ValueError(f"a and b must be (N, n) of the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    na, nb = a.norm(dim=1), b.norm(dim=1)
    c = (a * b).sum(1) / (na * nb)
    return torch.where((na > 0) & (nb > 0), c, torch.full_like(c, float("nan")))


def random_cosine(a: Tensor, *, seed: int = 0) -> Tensor:
    """(N,) cosine between each row of ``a`` (N, n) and an independent uniformly random direction."""
    g = torch.Generator().manual_seed(int(seed))
    return cosine(a, torch.randn(a.shape, generator=g, dtype=a.dtype))


def nearest_boundary(model, x: Tensor, *, clip: tuple[float, float] | None = (0.0, 1.0), max_iter: int = 50,
                     candidates: int = 4, batch_size: int = 250):
    """DeepFool's nearest boundary point of ``model`` from each point of ``x`` (N, ...):
    :class:`dmmlib.attacks.deepfool.BoundaryDistance` on the CPU (``candidates``: the rival
    classes with the largest logits that are tried)."""
    r = boundary_distance(model, x.to(model_device(model)), max_iter=max_iter, clip=clip, candidates=candidates,
                          batch_size=batch_size)
    return type(r)(*(t.cpu() for t in r))


def compare_boundaries(x: Tensor, b1, b2) -> dict[str, Tensor]:
    """Two models' nearest boundary points ``b1``, ``b2`` (from :func:`nearest_boundary`) from the
    same points ``x`` (N, ...). Returns (N,) tensors: ``d1``, ``d2`` (each model's distance to
    its own boundary, inf where not found), ``gap`` (||b1 - b2||) and ``direction`` (cosine
    between b1 - x and b2 - x); NaN where a search failed."""
    x = x.cpu()
    s1, s2 = (b1.x_boundary - x).flatten(1), (b2.x_boundary - x).flatten(1)
    ok = b1.converged & b2.converged
    gap = (s1 - s2).norm(dim=1)
    nan = torch.full_like(gap, float("nan"))
    return {"d1": b1.distance, "d2": b2.distance, "gap": torch.where(ok, gap, nan),
            "direction": torch.where(ok, cosine(s1, s2), nan)}


def boundary_points(m1, m2, x: Tensor, *, clip: tuple[float, float] | None = (0.0, 1.0), max_iter: int = 50,
                    candidates: int = 4) -> dict[str, Tensor]:
    """:func:`compare_boundaries` of two models from ``x`` (both searches run here)."""
    kw = dict(clip=clip, max_iter=max_iter, candidates=candidates)
    return compare_boundaries(x, nearest_boundary(m1, x, **kw), nearest_boundary(m2, x, **kw))
