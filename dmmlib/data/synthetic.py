"""Low-dimensional synthetic manifolds of the paper's section 6 and figure 1.

Both datasets lie on a flat manifold of codimension one inside the unit cube:

- :func:`line_dataset`: a 1D line in [0, 1]^2 (the horizontal line y = 0.5 of the
  authors' animation, or the diagonal y = x of figure 5a), points evenly spaced along it
  with alternating labels.
- :func:`chessboard_plane`: the plane z = 0.5 in [0, 1]^3 with red and blue clusters on
  a chessboard pattern (figure 1, middle).

Each returns a :class:`ManifoldSet` that carries the points, their labels and the
manifold itself (a point on it, its unit normal, an orthonormal basis of its tangent
space and the region of it the data covers), so the measurements of
:mod:`dmmlib.chapters.clinging_dimpling.experiment` need no knowledge of which dataset they are given.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch


class ManifoldSet(NamedTuple):
    """Points on a flat manifold of codimension one in [0, 1]^d, with labels.

    - ``x``: (N, d) float32 points, on the manifold (up to the in-manifold jitter).
    - ``y``: (N,) int64 labels in {0, 1} (0 = red, 1 = blue in the figures).
    - ``origin``: (d,) a point of the manifold.
    - ``normal``: (d,) unit normal of the manifold.
    - ``tangent``: (k, d) orthonormal rows spanning the manifold (k = d - 1).
    - ``extent``: (k, 2) the data region in manifold coordinates ``u``: a point of the
      region is ``origin + u @ tangent`` with ``extent[:, 0] <= u <= extent[:, 1]``.
    - ``name``: "line" or "chessboard".
    """

    x: torch.Tensor
    y: torch.Tensor
    origin: torch.Tensor
    normal: torch.Tensor
    tangent: torch.Tensor
    extent: torch.Tensor
    name: str


def line_dataset(n_points: int = 10, *, orientation: str = "horizontal", margin: float = 0.1) -> ManifoldSet:
    """``n_points`` evenly spaced points on a line in [0, 1]^2, labels alternating 0, 1, 0, ...

    ``orientation`` "horizontal" is the line y = 0.5 (x from ``margin`` to
    ``1 - margin``); "diagonal" is y = x over the same range of x (figure 5a). The data
    region (``extent``) is the segment between the first and the last point, in units of
    length along the line. Deterministic: no seed needed.
    """
    if not isinstance(n_points, int) or n_points < 2:
        raise ValueError(f"n_points must be an int >= 2, got {n_points!r}")
    if not 0.0 <= margin < 0.5:
        raise ValueError(f"margin must be in [0, 0.5), got {margin!r}")
    s = torch.linspace(margin, 1.0 - margin, n_points)
    if orientation == "horizontal":
        origin, tangent = torch.tensor([0.0, 0.5]), torch.tensor([[1.0, 0.0]])
    elif orientation == "diagonal":
        origin, tangent = torch.tensor([0.0, 0.0]), torch.tensor([[1.0, 1.0]]) / math.sqrt(2.0)
    else:
        raise ValueError(f"orientation must be 'horizontal' or 'diagonal', got {orientation!r}")
    u = s / tangent[0, 0]  # manifold coordinate (length along the line) of each point
    x = origin + u[:, None] * tangent
    normal = torch.stack([-tangent[0, 1], tangent[0, 0]])
    y = torch.arange(n_points) % 2
    extent = torch.stack([u[0], u[-1]])[None]
    return ManifoldSet(x.float(), y.long(), origin, normal, tangent, extent, "line")


def chessboard_plane(
    n_cells: int = 4,
    points_per_cell: int = 10,
    *,
    cluster_std: float = 0.03,
    z: float = 0.5,
    margin: float = 0.1,
    seed: int = 0,
) -> ManifoldSet:
    """Red and blue Gaussian clusters on an ``n_cells`` x ``n_cells`` chessboard in the plane z = ``z``.

    Cell (i, j) of the square [``margin``, 1 - ``margin``]^2 holds ``points_per_cell``
    points drawn around its centre with standard deviation ``cluster_std`` (cube units),
    clipped to the cell, and labelled ``(i + j) % 2``. Returns N = n_cells^2 *
    points_per_cell points of shape (N, 3), ordered cell by cell. ``seed`` fixes the draw.
    """
    if not isinstance(n_cells, int) or n_cells < 2:
        raise ValueError(f"n_cells must be an int >= 2, got {n_cells!r}")
    if not isinstance(points_per_cell, int) or points_per_cell < 1:
        raise ValueError(f"points_per_cell must be a positive int, got {points_per_cell!r}")
    if cluster_std < 0 or not 0.0 <= margin < 0.5 or not 0.0 <= z <= 1.0:
        raise ValueError(f"need cluster_std >= 0, 0 <= margin < 0.5, 0 <= z <= 1; got {cluster_std}, {margin}, {z}")
    g = torch.Generator().manual_seed(int(seed))
    side = (1.0 - 2 * margin) / n_cells
    i, j = torch.meshgrid(torch.arange(n_cells), torch.arange(n_cells), indexing="ij")
    i, j = i.reshape(-1).repeat_interleave(points_per_cell), j.reshape(-1).repeat_interleave(points_per_cell)
    centre = torch.stack([i, j], 1) * side + margin + side / 2
    noise = (torch.randn(centre.shape, generator=g) * cluster_std).clamp(-side / 2, side / 2)
    xy = centre + noise
    x = torch.cat([xy, torch.full((xy.shape[0], 1), float(z))], 1)
    y = (i + j) % 2
    return ManifoldSet(
        x.float(),
        y.long(),
        origin=torch.tensor([0.0, 0.0, float(z)]),
        normal=torch.tensor([0.0, 0.0, 1.0]),
        tangent=torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]),
        extent=torch.tensor([[margin, 1.0 - margin], [margin, 1.0 - margin]]),
        name="chessboard",
    )


def make_dataset(name: str, n_points: int, *, seed: int = 0) -> ManifoldSet:
    """The dataset ``name`` ("line" or "chessboard") with about ``n_points`` points.

    "line": ``n_points`` points on y = 0.5. "chessboard": a 4 x 4 board with
    ``max(1, n_points // 16)`` points per cell, drawn with ``seed``.
    """
    if name == "line":
        return line_dataset(n_points)
    if name == "chessboard":
        return chessboard_plane(4, max(1, n_points // 16), seed=seed)
    raise ValueError(f"dataset must be 'line' or 'chessboard', got {name!r}")


def manifold_grid(data: ManifoldSet, n: int) -> torch.Tensor:
    """Points of the data region of the manifold on a regular grid: (n^k, d) float32.

    ``n`` points per manifold axis, endpoints included (k = manifold dimension).
    """
    if not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an int >= 2, got {n!r}")
    axes = [torch.linspace(float(lo), float(hi), n) for lo, hi in data.extent]
    u = torch.stack(torch.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(axes))
    return (data.origin + u @ data.tangent).float()
