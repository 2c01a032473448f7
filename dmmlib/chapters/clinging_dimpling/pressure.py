"""Figure 2 of the DMM paper, computed: does bending the boundary to fit misclassified training
points push it toward the manifold ("inward pressure")?

Between two checkpoints t and t' of a run, for each training point x misclassified at t, the
boundary point nearest to x is found at both (DeepFool then bisection,
:func:`dmmlib.attacks.deepfool.boundary_distance`): b and b'. The boundary's displacement
there, D = b' - b, is split into its component along the manifold's normal *toward the
manifold* (from b's side of the manifold: ``inward`` = D . n_in, n_in = -sign((b - o) . n) n;
negative when it moves away) and the rest (``rest`` = |D - (D . n) n|, the part along the
manifold). :func:`inward_share` pools them: the signed share of the squared displacement that
lies along the inward normal.

All lengths are L2 in cube units.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch

from dmmlib.attacks.deepfool import boundary_distance
from dmmlib.data.synthetic import ManifoldSet
from dmmlib.evaluate import predict


class Displacement(NamedTuple):
    """The boundary's displacement at M points: ``inward`` (M,) signed component along the
    manifold's normal toward the manifold, ``rest`` (M,) length of the remainder, ``found`` (M,)
    bool (a boundary point was found at both checkpoints; the other two are NaN where not)."""

    inward: torch.Tensor
    rest: torch.Tensor
    found: torch.Tensor


def displacement(model_a, model_b, data: ManifoldSet, x: torch.Tensor, *, max_iter: int = 50) -> Displacement:
    """:class:`Displacement` of the boundary between ``model_a`` (checkpoint t) and ``model_b``
    (t') at the boundary points nearest to ``x`` (M, d); see the module's docstring."""
    if x.ndim != 2 or x.shape[1] != data.x.shape[1]:
        raise ValueError(f"x must be (M, {data.x.shape[1]}), got {tuple(x.shape)}")
    if len(x) == 0:
        empty = torch.zeros(0)
        return Displacement(empty, empty, torch.zeros(0, dtype=torch.bool))
    a = boundary_distance(model_a, x, max_iter=max_iter)
    b = boundary_distance(model_b, x, max_iter=max_iter)
    found = a.converged & b.converged & torch.isfinite(a.distance) & torch.isfinite(b.distance)
    n = data.normal.float()
    d = (b.x_boundary - a.x_boundary).float()
    side = torch.sign((a.x_boundary.float() - data.origin.float()) @ n)  # b's side of the manifold
    along = d @ n
    inward = -side * along
    rest = (d - along[:, None] * n).norm(dim=1)
    nan = torch.full_like(inward, math.nan)
    return Displacement(torch.where(found, inward, nan), torch.where(found, rest, nan), found)


def inward_share(inward, rest) -> float:
    """Signed share of the squared displacement along the inward normal, pooled over points:
    sum(sign(a) a^2) / sum(a^2 + r^2) over the finite pairs (1: all of it toward the manifold,
    -1: all away from it, 0 for random directions on average). NaN when nothing moved."""
    a, r = np.asarray(inward, dtype=np.float64), np.asarray(rest, dtype=np.float64)
    keep = np.isfinite(a) & np.isfinite(r)
    total = float((a[keep] ** 2 + r[keep] ** 2).sum())
    return float((np.sign(a[keep]) * a[keep] ** 2).sum() / total) if total > 0 else math.nan


def pressure_trace(models, data: ManifoldSet, *, max_iter: int = 50) -> dict:
    """The displacements between consecutive checkpoints ``models`` (a list of models at epochs
    t_0 < t_1 < ...), at the training points misclassified at the earlier one, and for
    comparison at those classified correctly. Returns {"inward", "rest" (float64 arrays over
    every point and pair), "pair" (int64, the index of the earlier checkpoint of each),
    "misclassified" (bool), "found" (bool)}."""
    if len(models) < 2:
        raise ValueError(f"need at least two checkpoints, got {len(models)}")
    parts = {k: [] for k in ("inward", "rest", "pair", "misclassified", "found")}
    for i, (ma, mb) in enumerate(zip(models[:-1], models[1:])):
        wrong = predict(ma, data.x) != data.y
        d = displacement(ma, mb, data, data.x, max_iter=max_iter)
        parts["inward"].append(d.inward.double().numpy())
        parts["rest"].append(d.rest.double().numpy())
        parts["found"].append(d.found.numpy())
        parts["misclassified"].append(wrong.numpy())
        parts["pair"].append(np.full(len(wrong), i, dtype=np.int64))
    return {k: np.concatenate(v) for k, v in parts.items()}


def summarise(trace: dict) -> dict:
    """The numbers of one run's :func:`pressure_trace`: ``share`` (:func:`inward_share` at the
    misclassified points, pooled over pairs), ``share_correct`` (the same at the correctly
    classified points), ``n_wrong`` (misclassified point-pairs), ``found_wrong`` (share of them
    with a boundary at both checkpoints), ``inward_mean`` and ``rest_mean`` (mean components at
    the misclassified points, cube units per checkpoint step)."""
    wrong = trace["misclassified"]
    a, r, f = trace["inward"], trace["rest"], trace["found"]
    return {"share": inward_share(a[wrong], r[wrong]), "share_correct": inward_share(a[~wrong], r[~wrong]),
            "n_wrong": int(wrong.sum()), "found_wrong": float(f[wrong].mean()) if wrong.any() else math.nan,
            "inward_mean": float(np.nanmean(a[wrong])) if (wrong & f).any() else math.nan,
            "rest_mean": float(np.nanmean(r[wrong])) if (wrong & f).any() else math.nan}
