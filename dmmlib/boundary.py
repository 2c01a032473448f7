"""Where a classifier's decision boundary lies in a low-dimensional input cube.

- :func:`evaluate` runs a model on many points in chunks, without gradients.
- :func:`logit_grid_2d` and :func:`contours_2d`: the boundary of a 2D classifier as the
  zero level set of its logit on a grid (figure 5a).
- :func:`boundary_offsets`: along lines x = base + t * normal, the offset t of the sign
  change of the logit nearest to t = 0, by a coarse scan refined by bisection only where
  the sign changes. With ``base`` on a flat manifold and ``normal`` its normal this is the
  height of the boundary above (t > 0) or below (t < 0) the manifold.
- :func:`height_surface`: that height over a grid of the plane z = z0 in [0, 1]^3, the
  boundary as a surface z(x, y) (figures 1 right, 5b).
- :func:`boundary_mesh`: the whole boundary in [0, 1]^3 by marching cubes (scikit-image),
  including parts that are not a graph over the plane.

The model maps (B, d) to one logit per point, (B,) or (B, 1); the boundary is logit = 0.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

Model = Callable[[torch.Tensor], torch.Tensor]


def evaluate(model: Model, points: torch.Tensor, *, chunk: int = 4096) -> torch.Tensor:
    """Logits (M,) of ``points`` (M, d), computed ``chunk`` points at a time without gradients."""
    if points.ndim != 2:
        raise ValueError(f"points must have shape (M, d), got {tuple(points.shape)}")
    if not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be a positive int, got {chunk!r}")
    with torch.no_grad():
        return torch.cat([model(c).reshape(-1) for c in points.split(chunk)]) if len(points) else points.new_zeros(0)


def grid_2d(n: int, lo: float = 0.0, hi: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """An ``n`` x ``n`` grid of [lo, hi]^2: the axis values (n,) and the points (n*n, 2), row i = x2 index."""
    if not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an int >= 2, got {n!r}")
    axis = torch.linspace(lo, hi, n)
    x2, x1 = torch.meshgrid(axis, axis, indexing="ij")
    return axis, torch.stack([x1.reshape(-1), x2.reshape(-1)], 1)


def logit_grid_2d(
    model: Model, n: int = 200, lo: float = 0.0, hi: float = 1.0, *, coarse: int | None = None, chunk: int = 4096
) -> torch.Tensor:
    """Logits on an ``n`` x ``n`` grid of [lo, hi]^2, shape (n, n): entry [i, j] is at (x1=axis[j], x2=axis[i]).

    With ``coarse`` (< n), the model is evaluated on a ``coarse`` x ``coarse`` grid first;
    the fine grid is filled by bilinear interpolation and evaluated exactly only in the
    coarse cells where the sign changes and their neighbours. The zero level set is then
    exact wherever the coarse grid saw it (a boundary that enters and leaves one coarse
    cell between its corners can be missed).
    """
    if coarse is None or coarse >= n:
        _, pts = grid_2d(n, lo, hi)
        return evaluate(model, pts, chunk=chunk).reshape(n, n)
    if not isinstance(coarse, int) or coarse < 2:
        raise ValueError(f"coarse must be an int >= 2, got {coarse!r}")
    zc = logit_grid_2d(model, coarse, lo, hi, chunk=chunk)
    fine = F.interpolate(zc[None, None], size=(n, n), mode="bilinear", align_corners=True)[0, 0]
    pos = zc > 0
    cell = (pos[:-1, :-1] != pos[1:, :-1]) | (pos[:-1, :-1] != pos[:-1, 1:]) | (pos[:-1, :-1] != pos[1:, 1:])
    cell = F.max_pool2d(cell[None, None].float(), 3, stride=1, padding=1)[0, 0] > 0  # and neighbours
    # fine index i lies in coarse cell floor(i * (coarse - 1) / (n - 1)) (clipped to the last cell)
    owner = (torch.arange(n) * (coarse - 1) // (n - 1)).clamp(max=coarse - 2)
    mask = cell[owner][:, owner]
    if mask.any():
        axis = torch.linspace(lo, hi, n)
        ii, jj = mask.nonzero(as_tuple=True)
        fine[ii, jj] = evaluate(model, torch.stack([axis[jj], axis[ii]], 1), chunk=chunk)
    return fine


def contours_2d(logits: torch.Tensor, lo: float = 0.0, hi: float = 1.0) -> list[np.ndarray]:
    """The boundary (logit = 0) of a grid from :func:`logit_grid_2d` as polylines (K, 2) in (x1, x2) coordinates."""
    from skimage.measure import find_contours

    if logits.ndim != 2 or logits.shape[0] != logits.shape[1]:
        raise ValueError(f"logits must be a square (n, n) grid, got {tuple(logits.shape)}")
    n = logits.shape[0]
    scale = (hi - lo) / (n - 1)
    return [lo + c[:, ::-1] * scale for c in find_contours(logits.double().numpy(), 0.0)]


def boundary_offsets(
    model: Model,
    base: torch.Tensor,
    normal: torch.Tensor,
    *,
    t_min: float,
    t_max: float,
    n_coarse: int = 41,
    n_refine: int = 20,
    chunk: int = 4096,
) -> torch.Tensor:
    """Offset t (M,) of the boundary along each line ``base[m] + t * normal``, t in [t_min, t_max].

    The logit is scanned at ``n_coarse`` evenly spaced t (which must include the sign
    change: a pair of crossings closer than the spacing is missed); of the intervals where
    the sign changes, the one nearest to t = 0 is bisected ``n_refine`` times. NaN where
    the sign does not change on [t_min, t_max]. Units: those of ``normal`` (unit normal:
    cube units). ``base`` (M, d), ``normal`` (d,).
    """
    if base.ndim != 2 or normal.shape != (base.shape[1],):
        raise ValueError(f"base must be (M, d) and normal (d,), got {tuple(base.shape)} and {tuple(normal.shape)}")
    if not t_min < t_max or n_coarse < 2:
        raise ValueError(f"need t_min < t_max and n_coarse >= 2, got {t_min}, {t_max}, {n_coarse}")
    m, d = base.shape
    ts = torch.linspace(t_min, t_max, n_coarse)
    pts = base[:, None, :] + ts[None, :, None] * normal  # (M, n_coarse, d)
    z = evaluate(model, pts.reshape(-1, d), chunk=chunk).reshape(m, n_coarse)
    change = (z[:, :-1] > 0) != (z[:, 1:] > 0)  # (M, n_coarse - 1)
    mid = (ts[:-1] + ts[1:]) / 2
    score = torch.where(change, mid.abs()[None], torch.full_like(change, float("inf"), dtype=ts.dtype))
    k = score.argmin(1)
    found = change.gather(1, k[:, None])[:, 0]
    lo, hi = ts[k], ts[k + 1]
    sign_lo = z.gather(1, k[:, None])[:, 0] > 0
    for _ in range(n_refine):
        t_mid = (lo + hi) / 2
        s_mid = evaluate(model, base + t_mid[:, None] * normal, chunk=chunk) > 0
        same = s_mid == sign_lo
        lo, hi = torch.where(same, t_mid, lo), torch.where(same, hi, t_mid)
    t = (lo + hi) / 2
    return torch.where(found, t, torch.full_like(t, float("nan")))


def height_surface(
    model: Model, n: int = 60, *, z0: float = 0.5, lo: float = 0.0, hi: float = 1.0, n_coarse: int = 41,
    n_refine: int = 16, chunk: int = 4096
) -> tuple[torch.Tensor, torch.Tensor]:
    """The boundary of a 3D classifier as a height map over [lo, hi]^2 (default: the unit square).

    Returns the axis (n,) and Z (n, n): Z[i, j] is the z in [0, 1] of the boundary point
    above (x=axis[j], y=axis[i]) nearest to the plane z = ``z0`` (NaN where the vertical
    line does not cross the boundary inside the cube).
    """
    axis, xy = grid_2d(n, lo, hi)
    base = torch.cat([xy, torch.full((xy.shape[0], 1), float(z0))], 1)
    t = boundary_offsets(
        model, base, torch.tensor([0.0, 0.0, 1.0]), t_min=-z0, t_max=1.0 - z0,
        n_coarse=n_coarse, n_refine=n_refine, chunk=chunk,
    )
    return axis, (z0 + t).reshape(n, n)


def boundary_mesh(model: Model, n: int = 48, *, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """The boundary of a 3D classifier in [0, 1]^3 as a triangle mesh (marching cubes on an n^3 grid).

    Returns vertices (V, 3) in cube coordinates (x, y, z) and faces (F, 3) of vertex
    indices; both empty when the logit has one sign on the whole grid.
    """
    from skimage.measure import marching_cubes

    if not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an int >= 2, got {n!r}")
    axis = torch.linspace(0.0, 1.0, n)
    pts = torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 3)
    vol = evaluate(model, pts, chunk=chunk).reshape(n, n, n).double().numpy()
    if vol.min() > 0 or vol.max() < 0:
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)
    verts, faces, _, _ = marching_cubes(vol, level=0.0, spacing=(1.0 / (n - 1),) * 3)
    return verts, faces
