"""The toy problem of Tanay's figure 3: the same two classes in 2 and in 785 dimensions.

Our construction (the article shows the figure without its numbers): class I (label -1)
and class J (label +1) lie on one line, the "manifold of normal data", along ``e1``:
x = -t e1 for I and x = +t e1 for J, t ~ U[t_min, t_max], plus isotropic Gaussian noise of
standard deviation ``noise`` in every coordinate (a nearly flat manifold). In 2 dimensions
and in 785 the classes have the same structure: the noise across any fixed direction has
the same spread, whatever the dimension.

A linear boundary through the origin with weight w = cos(theta) e1 + sin(theta) v
(v a unit vector orthogonal to e1: e2 in 2 dimensions, a seeded random direction in more)
separates the classes for any tilt theta < 90 deg up to a few noise standard deviations,
yet puts every point at distance about t cos(theta): theta = 0 bisects the classes,
theta near 90 deg lies close to the data. Distances are in the problem's own units.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch


class ToyProblem(NamedTuple):
    """Points ``x`` (N, dim) float64, labels ``y`` (N,) in {-1, +1}, the manifold direction
    ``e1`` (dim,) and the tilt direction ``v`` (dim,) (unit, orthogonal to e1)."""

    x: torch.Tensor
    y: torch.Tensor
    e1: torch.Tensor
    v: torch.Tensor


def toy_problem(
    dim: int,
    n_per_class: int = 200,
    *,
    t_min: float = 0.5,
    t_max: float = 1.5,
    noise: float = 0.003,
    seed: int = 0,
) -> ToyProblem:
    """The two classes in ``dim`` >= 2 dimensions (see the module docstring)."""
    if not isinstance(dim, int) or dim < 2:
        raise ValueError(f"dim must be an int >= 2, got {dim!r}")
    if not isinstance(n_per_class, int) or n_per_class < 1:
        raise ValueError(f"n_per_class must be an int >= 1, got {n_per_class!r}")
    if not 0 <= t_min < t_max or noise < 0:
        raise ValueError(f"need 0 <= t_min < t_max and noise >= 0, got {t_min}, {t_max}, {noise}")
    gen = torch.Generator().manual_seed(int(seed))
    n = 2 * n_per_class
    y = torch.cat([-torch.ones(n_per_class), torch.ones(n_per_class)]).double()
    t = t_min + (t_max - t_min) * torch.rand(n, generator=gen, dtype=torch.float64)
    e1 = torch.zeros(dim, dtype=torch.float64)
    e1[0] = 1.0
    x = (y * t)[:, None] * e1 + noise * torch.randn(n, dim, generator=gen, dtype=torch.float64)
    if dim == 2:
        v = torch.tensor([0.0, 1.0], dtype=torch.float64)
    else:
        v = torch.randn(dim, generator=gen, dtype=torch.float64)
        v[0] = 0.0
        v = v / v.norm()
    return ToyProblem(x, y, e1, v)


def tilted_boundary(problem: ToyProblem, theta_deg: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(w (dim,), b ()) of the boundary through the origin tilted by ``theta_deg`` from e1
    towards v; ||w|| = 1, so w . x + b is the signed distance."""
    if not 0 <= theta_deg < 90:
        raise ValueError(f"theta_deg must be in [0, 90), got {theta_deg!r}")
    th = math.radians(theta_deg)
    w = math.cos(th) * problem.e1 + math.sin(th) * problem.v
    return w, torch.zeros((), dtype=torch.float64)
