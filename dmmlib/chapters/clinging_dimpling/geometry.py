"""Where the decision boundary sits relative to a flat synthetic manifold: the measurements.

Every function takes a model mapping (B, d) points of the cube [0, 1]^d to one logit (B,)
and a :class:`dmmlib.data.synthetic.ManifoldSet`. Distances are L2 in cube units.

- :func:`probe`: a grid of points of the manifold over the data region *and beyond it* (the
  rest of the manifold inside the cube), with a mask saying which are inside.
- :func:`label_scale`: half the median distance from a training point to the nearest point of
  the other class: the distance any boundary that fits the labels must come within.
- :func:`heights`: the signed height of the boundary above each manifold point along the
  manifold's normal (NaN where the normal line does not meet the boundary in the cube).
- :func:`wall_distance`: the distance from manifold points to the boundary of the
  nearest-neighbour classifier extended perpendicularly to the manifold (vertical walls, the
  "simplistic mental image" of figure 1, left): the control a clinging metric must fail.
- :func:`gradient_components`: normal and tangential parts of the input gradient.
- :func:`region_summary`: the numbers the chapter reports for one model.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import numpy as np
import torch

from dmmlib.attacks.deepfool import boundary_distance
from dmmlib.boundary import boundary_offsets
from dmmlib.data.synthetic import ManifoldSet
from dmmlib.evaluate import predict


class Probe(NamedTuple):
    """Points of the manifold: ``x`` (M, d) float32, ``inside`` (M,) bool (in the data
    region), ``shape`` the grid's shape (n,) or (n, n) (``x`` is the grid in C order),
    ``spacing`` the distance between grid neighbours along the first axis (cube units)."""

    x: torch.Tensor
    inside: torch.Tensor
    shape: tuple
    spacing: float


def probe(data: ManifoldSet, n: int, *, beyond: float = 0.1) -> Probe:
    """An ``n`` (per manifold axis) grid over the data region widened by ``beyond`` (cube units)
    on every side, clipped to the cube. The data region is ``data.extent``."""
    if not isinstance(n, int) or n < 3:
        raise ValueError(f"n must be an int >= 3, got {n!r}")
    if beyond < 0:
        raise ValueError(f"beyond must be >= 0, got {beyond!r}")
    lo, hi = data.extent[:, 0] - beyond, data.extent[:, 1] + beyond
    axes = [torch.linspace(float(a), float(b), n) for a, b in zip(lo, hi)]
    u = torch.stack(torch.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(axes))
    x = data.origin + u @ data.tangent
    x = x.clamp(0.0, 1.0)  # the widened region may touch the cube's faces
    inside = ((u >= data.extent[:, 0] - 1e-6) & (u <= data.extent[:, 1] + 1e-6)).all(1)
    return Probe(x.float(), inside, tuple([n] * len(axes)), float(axes[0][1] - axes[0][0]))


def label_scale(data: ManifoldSet) -> float:
    """Half the median over training points of the distance to the nearest point of the other
    class (cube units). Line of 10 points: half the spacing."""
    dist = torch.cdist(data.x, data.x)
    other = data.y[:, None] != data.y[None, :]
    nearest = torch.where(other, dist, torch.full_like(dist, math.inf)).min(1).values
    return float(nearest.median()) / 2


def normal_range(data: ManifoldSet) -> tuple[float, float]:
    """The range of t for which centre + t * normal stays in the cube (centre of the data region)."""
    centre = data.origin + data.extent.mean(1) @ data.tangent
    lo, hi = -math.inf, math.inf
    for o, nv in zip(centre.tolist(), data.normal.tolist()):
        if abs(nv) > 1e-12:
            a, b = (0 - o) / nv, (1 - o) / nv
            lo, hi = max(lo, min(a, b)), min(hi, max(a, b))
    return lo, hi


def heights(model, data: ManifoldSet, x: torch.Tensor, *, n_coarse: int = 41, n_refine: int = 14,
            chunk: int = 256) -> torch.Tensor:
    """Height t (M,) of the boundary along the normal above each point of ``x`` (M, d) on the
    manifold: the crossing nearest to the manifold, positive on the normal's side; NaN where
    the normal line meets no boundary inside the cube (no cap: report that share separately)."""
    t_lo, t_hi = normal_range(data)
    return boundary_offsets(model, x, data.normal, t_min=t_lo, t_max=t_hi, n_coarse=n_coarse, n_refine=n_refine,
                            chunk=chunk)


def dimple_depth(model, data: ManifoldSet) -> torch.Tensor:
    """Signed dimple depth (N,) at the training points: |height| of the boundary along the
    normal, + where the point is classified correctly (the boundary bends past it), - where
    not; NaN where the normal line meets no boundary inside the cube."""
    t = heights(model, data, data.x)
    correct = predict(model, data.x) == data.y
    return torch.where(correct, t.abs(), -t.abs())


def wall_distance(x: torch.Tensor, data: ManifoldSet) -> torch.Tensor:
    """Distance (M,) from manifold points ``x`` (M, d) to the walls of the nearest-neighbour
    classifier of the training points extended along the normal.

    For a point p whose nearest training point is a, the distance to the boundary of the set
    of points nearer to a than to every point b of the other class, min_b
    (|p - b|^2 - |p - a|^2) / (2 |a - b|): a lower bound of the distance to the walls (the
    control is given the benefit of the doubt). Exact on the line.
    """
    d_all = torch.cdist(x.double(), data.x.double())  # (M, N)
    a = d_all.argmin(1)
    other = data.y[None, :] != data.y[a][:, None]  # (M, N)
    ab = torch.cdist(data.x.double(), data.x.double())[a]  # |a - b| (M, N)
    da2 = d_all.gather(1, a[:, None]) ** 2
    dist = (d_all**2 - da2) / (2 * ab.clamp_min(1e-12))
    return torch.where(other, dist, torch.full_like(dist, math.inf)).min(1).values.float()


class Gradients(NamedTuple):
    """Input gradient of the logit at M points: ``normal`` |g . n| (M,), ``tangential``
    |g - (g . n) n| (M,) (logit units per cube unit), ``angle`` (M,) degrees between g and the
    normal's line (0: perpendicular to the manifold; NaN where g = 0)."""

    normal: torch.Tensor
    tangential: torch.Tensor
    angle: torch.Tensor


def gradient_components(model, x: torch.Tensor, normal: torch.Tensor) -> Gradients:
    """:class:`Gradients` of ``model``'s logit at ``x`` (M, d) against the unit ``normal`` (d,)."""
    if x.ndim != 2 or normal.shape != (x.shape[1],):
        raise ValueError(f"x must be (M, d) and normal (d,), got {tuple(x.shape)} and {tuple(normal.shape)}")
    xr = x.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(model(xr).sum(), xr)
    nv = normal / normal.norm()
    gn = g @ nv
    gt = (g - gn[:, None] * nv).norm(dim=1)
    angle = torch.rad2deg(torch.atan2(gt, gn.abs()))
    angle = torch.where((gt == 0) & (gn == 0), torch.full_like(angle, math.nan), angle)
    return Gradients(gn.abs().detach(), gt.detach(), angle.detach())


def random_angle(d: int) -> float:
    """Mean angle in degrees between a uniformly random direction of R^d and a fixed line:
    45 for d = 2, 180/pi (57.3) for d = 3. The baseline of :func:`gradient_components`' angle."""
    if not isinstance(d, int) or d < 2:
        raise ValueError(f"d must be an int >= 2, got {d!r}")
    c = torch.linspace(0, 1, 200001, dtype=torch.float64)[:-1] + 0.5 / 200000  # midpoints of |cos|
    density = (1 - c**2) ** ((d - 3) / 2)
    return float(torch.rad2deg((torch.arccos(c) * density).sum() / density.sum()))


def roughness(h: torch.Tensor, shape: Sequence[int], spacing: float) -> float:
    """Median |slope| of a height map ``h`` (M,) on a grid of ``shape`` with ``spacing``
    (cube units) between neighbours: finite differences along every grid axis, over the pairs
    where both heights exist. NaN when there is none."""
    grid = h.reshape(*shape)
    slopes = []
    for axis in range(grid.ndim):
        diff = grid.diff(dim=axis).reshape(-1) / spacing
        slopes.append(diff[torch.isfinite(diff)].abs())
    s = torch.cat(slopes)
    return float(s.median()) if len(s) else math.nan


def share_within(values: torch.Tensor, delta: float) -> float:
    """Share of ``values`` (distances; inf or NaN: none found) that are <= ``delta``."""
    v = torch.nan_to_num(values.float(), nan=math.inf, posinf=math.inf)
    return float((v <= delta).float().mean())


def median_inf(values: torch.Tensor) -> float:
    """Median with NaN counted as +inf (no boundary found counts as far)."""
    v = np.nan_to_num(values.double().numpy(), nan=np.inf, posinf=np.inf)
    m = float(np.median(v))
    return m if math.isfinite(m) else math.inf


def region_summary(model, data: ManifoldSet, pr: Probe, *, scale: float, deltas: Sequence[float] = (),
                   max_iter: int = 50, full: bool = True) -> dict:
    """The measurements of one model (floats): for the ``inside`` and ``beyond`` parts of the
    probe, the DeepFool distance to the boundary (median ``dist_*``, ``none_*`` share not
    found); with ``full`` also the share of points whose boundary height along the normal lies within
    ``scale`` (``cling_*``); with ``full`` also the shares within each of ``deltas``
    (``within_<delta>_*``), the mean finite distance (``distmean_*``), the median |height|
    (``height_*``), the roughness of the height map (``rough``), the dimple depth at the
    training points (``depth_median``, ``depth_mean``, ``depth_none``) and the gradient
    components at the training points and between them (``gn_train``, ``gt_train``,
    ``angle_train``, ``gn_between``, ``gt_between``, ``angle_between``; medians, mean angle;
    "between": the probe points of the data region farther than ``scale / 2`` from every
    training point).
    """
    dist = boundary_distance(model, pr.x, max_iter=max_iter).distance
    h = heights(model, data, pr.x) if full else None
    out = {}
    for part, mask in (("inside", pr.inside), ("beyond", ~pr.inside)):
        if not mask.any():
            continue
        out[f"dist_{part}"] = median_inf(dist[mask])
        out[f"none_{part}"] = float((~torch.isfinite(dist[mask])).float().mean())
        if full:
            out[f"cling_{part}"] = share_within(h[mask].abs(), scale)
            fin = dist[mask][torch.isfinite(dist[mask])]
            out[f"distmean_{part}"] = float(fin.mean()) if len(fin) else math.nan
            out[f"height_{part}"] = median_inf(h[mask].abs())
            for delta in deltas:
                out[f"within_{delta:g}_{part}"] = share_within(dist[mask], delta)
    if full:
        out["rough"] = roughness(h, pr.shape, pr.spacing)
        depth = dimple_depth(model, data)
        found = depth[torch.isfinite(depth)]
        out["depth_median"] = float(found.median()) if len(found) else math.nan
        out["depth_mean"] = float(found.mean()) if len(found) else math.nan
        out["depth_none"] = float((~torch.isfinite(depth)).float().mean())
        away = torch.cdist(pr.x, data.x).min(1).values > scale / 2  # probe points not next to a training point
        for part, x in (("train", data.x), ("between", pr.x[pr.inside & away])):
            g = gradient_components(model, x, data.normal)
            out[f"gn_{part}"] = float(g.normal.median())
            out[f"gt_{part}"] = float(g.tangential.median())
            out[f"angle_{part}"] = float(g.angle.nanmean())
    return out


def project(x: torch.Tensor, data: ManifoldSet) -> torch.Tensor:
    """Orthogonal projection (M, d) of points ``x`` (M, d) onto the (flat) manifold of ``data``."""
    if x.ndim != 2 or x.shape[1] != data.x.shape[1]:
        raise ValueError(f"x must be (M, {data.x.shape[1]}), got {tuple(x.shape)}")
    nv = data.normal.to(x.dtype)
    return x - ((x - data.origin.to(x.dtype)) @ nv)[:, None] * nv


def walls_logit(x: torch.Tensor, data: ManifoldSet) -> torch.Tensor:
    """The logit (M,) of the "simplistic mental image" of figure 1, left, at points ``x`` (M, d):
    the nearest-neighbour classifier of the training points on the manifold, extended
    perpendicularly off it (vertical walls). Distance of the projection of ``x`` to the nearest
    class-0 training point minus that to the nearest class-1 one (cube units; > 0: class 1)."""
    p = project(x.float(), data)
    dist = torch.cdist(p, data.x.float())  # (M, N)
    inf = torch.full_like(dist, math.inf)
    d0 = torch.where(data.y[None, :] == 0, dist, inf).min(1).values
    d1 = torch.where(data.y[None, :] == 1, dist, inf).min(1).values
    return d0 - d1


def away_mask(pr: Probe, data: ManifoldSet, scale: float) -> torch.Tensor:
    """(M,) bool: the probe points (inside the data region or beyond it) farther than
    ``scale / 2`` from every training point: the manifold away from the dimples."""
    return torch.cdist(pr.x, data.x).min(1).values > scale / 2


def orientation_summary(model, data: ManifoldSet, pr: Probe, *, scale: float, max_iter: int = 50) -> dict:
    """How the boundary sits near the manifold, for one model (floats):

    - ``bangle_inside``: mean angle (degrees) between the boundary's normal (the logit's input
      gradient) at the boundary point nearest to each probe point of the data region and the
      manifold's normal: 0 for a boundary parallel to the manifold, 90 for the vertical walls
      of figure 1 (left); ``bangle_found`` the share of those points where a boundary was found;
    - ``dist_away``: median L2 distance (cube units) from the probe points away from the
      training points (:func:`away_mask`) to the boundary (not found: +inf), ``none_away`` the
      share not found and ``n_away`` how many such points there are.
    """
    inside = pr.x[pr.inside]
    bd = boundary_distance(model, inside, max_iter=max_iter)
    found = bd.converged & torch.isfinite(bd.distance)
    out = {"bangle_found": float(found.float().mean())}
    if found.any():
        g = gradient_components(model, bd.x_boundary[found], data.normal)
        out["bangle_inside"] = float(g.angle.nanmean())
    else:
        out["bangle_inside"] = math.nan
    away = pr.x[away_mask(pr, data, scale)]
    out["n_away"] = int(len(away))
    if len(away):
        dist = boundary_distance(model, away, max_iter=max_iter).distance
        out["dist_away"] = median_inf(dist)
        out["none_away"] = float((~torch.isfinite(dist)).float().mean())
    else:
        out["dist_away"], out["none_away"] = math.nan, math.nan
    return out
