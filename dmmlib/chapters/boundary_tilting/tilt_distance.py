"""The boundary-tilting picture and the adversarial distance against the tilting angle.

Tanay and Griffin draw the phenomenon as one picture: the two class centroids on the axis
``z_hat``, and a boundary that turns about their midpoint, from the perpendicular bisector
(the nearest-centroid classifier, tilt 0) towards the data (tilt near 90 degrees), so that the
data lie ever closer to it. The functions here compute that picture from the book's own SVMs
(one :func:`dmmlib.chapters.boundary_tilting.experiment.analyse_sweep` dict per split seed) and
the held-out test digits' distances that the figure of distance against tilt shows.

Every boundary is drawn in its own tilting plane (``z_hat`` and its ``n_hat``); ``z_hat`` and
the centroids are common to all planes, so the horizontal axis and the centroids are shared
and only the vertical axis (the direction the boundary tilts into) differs from one lambda to
the next. Distances are L2 norms of [0, 1]-scaled pixels; angles in degrees.
"""
from __future__ import annotations

import numpy as np
import torch

from dmmlib.chapters.boundary_tilting.experiment import plane_coordinates, signed_distance


def foot_of_perpendicular(points: torch.Tensor, line: torch.Tensor) -> torch.Tensor:
    """The nearest point of each line ``p u + q v + r = 0`` (``line`` (L, 3)) to each point
    (``points`` (N, 2) or (L, N, 2), plane coordinates): (L, N, 2). The segment from a point to
    its foot is the smallest perturbation that puts the point on that boundary, drawn in the
    plane (for a linear classifier it lies in the tilting plane, which contains ``w``)."""
    line = torch.as_tensor(line, dtype=torch.float64)
    if line.ndim != 2 or line.shape[1] != 3:
        raise ValueError(f"line must have shape (L, 3), got {tuple(line.shape)}")
    pts = torch.as_tensor(points, dtype=torch.float64)
    if pts.ndim == 2:
        pts = pts.expand(len(line), -1, -1)
    if pts.ndim != 3 or pts.shape[0] != len(line) or pts.shape[2] != 2:
        raise ValueError(f"points must have shape (N, 2) or ({len(line)}, N, 2), got {tuple(pts.shape)}")
    normal = line[:, None, :2]                                    # (L, 1, 2)
    value = (pts * normal).sum(-1, keepdim=True) + line[:, None, 2:]  # (L, N, 1)
    return pts - value * normal / (normal * normal).sum(-1, keepdim=True).clamp_min(1e-300)


def tilting_picture(study: dict) -> dict:
    """The data of the boundary-tilting picture for one sweep (``analyse_sweep``'s dict, L
    lambdas): ``lambdas`` (L,), ``theta`` (L,) deg, ``line`` (L, 3) each boundary in its own
    plane, ``centroids`` (2, 2) (c0 and c1 in plane coordinates: ``(-g/2, 0)`` and ``(g/2, 0)``,
    ``g = ||c1 - c0||``), ``centroid_feet`` (L, 2, 2) their nearest boundary points,
    ``example`` (L, 2) the example test digit in each plane and ``example_feet`` (L, 2) its
    nearest boundary point (its smallest adversarial perturbation, drawn); ``data`` (P, 2) and
    ``data_y`` (P,) in {-1, +1}: the study's training subsample in the smallest lambda's plane."""
    z_hat, n_hat, origin = study["z_hat"], study["n_hat"], study["origin"]
    cents = torch.stack([study["c0"], study["c1"]])
    cent_xy = plane_coordinates(cents, z_hat, n_hat, origin)           # (L, 2, 2), the same in every plane
    ex_xy = plane_coordinates(study["example"][:1], z_hat, n_hat, origin)  # (L, 1, 2)
    line = study["line"].to(torch.float64)
    return {"lambdas": study["lambdas"].numpy(), "theta": study["theta"].numpy(), "line": line.numpy(),
            "centroids": cent_xy[0].numpy(), "centroid_feet": foot_of_perpendicular(cent_xy, line).numpy(),
            "example": ex_xy[:, 0].numpy(), "example_feet": foot_of_perpendicular(ex_xy, line)[:, 0].numpy(),
            "data": study["plane_xy"][0].numpy(), "data_y": study["plane_y"].numpy()}


def end_distances(x_test: torch.Tensor, study: dict) -> tuple[np.ndarray, np.ndarray]:
    """|distance| of every held-out test digit ``x_test`` (N, 784) to the boundary at the
    smallest lambda (the strongest tilt) and at the largest (the weakest): two (N,) arrays,
    paired digit by digit. For a linear classifier it is the L2 norm of the digit's smallest
    adversarial perturbation."""
    w, b = study["w"], study["b"]
    if w.ndim != 2 or len(w) < 2:
        raise ValueError(f"the study needs at least two lambdas (w of shape (L, d)), got {tuple(w.shape)}")
    d = signed_distance(x_test, w[[0, -1]], b.reshape(-1)[[0, -1]]).abs().numpy()
    return d[0], d[1]


def distance_against_tilt(studies: list) -> dict:
    """Per seed (S) and lambda (L): ``theta`` (S, L) deg, ``dist`` (S, L) the median test
    digit's distance to the boundary, ``gap`` (S,) ``||c1 - c0||``; ``formula_theta`` (91,)
    and ``formula`` (S, 91): the article's ``0.5 ||c1 - c0|| cos theta`` over 0..90 degrees;
    ``spearman`` (S,): the rank correlation of ``theta`` and ``dist`` over the sweep, per seed
    (-1: the distance falls whenever the tilt grows; nan when either is constant)."""
    from scipy.stats import spearmanr

    if not studies:
        raise ValueError("need at least one study")
    theta = np.stack([s["theta"].numpy() for s in studies])
    dist = np.stack([s["median_dist_test"].numpy() for s in studies])
    gap = np.array([float((s["c1"] - s["c0"]).norm()) for s in studies])
    grid = np.linspace(0.0, 90.0, 91)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.array([float(spearmanr(t, d).statistic) if np.ptp(t) > 0 and np.ptp(d) > 0 else float("nan")
                        for t, d in zip(theta, dist)])
    return {"theta": theta, "dist": dist, "gap": gap, "formula_theta": grid,
            "formula": 0.5 * gap[:, None] * np.cos(np.deg2rad(grid))[None, :],
            "lambdas": studies[0]["lambdas"].numpy(), "spearman": rho}
