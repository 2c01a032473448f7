"""Where adversarially findable errors appear as the dimension grows (Gilmer et al. 2018, §3).

Gilmer et al. observe that "the highest dimension we were able to train the ReLU net where no
errors can be found adversarially (local or not) seems to be around d = 60". The sweep here
trains one ReLU network per dimension ``d`` and seed (the same architecture, steps and learning
rate at every ``d``), then asks two things of each:

- the sampled error rate on both spheres (``n_eval`` fresh points each, exact Clopper-Pearson
  interval): how rare the errors are;
- the worst-case manifold attack (:func:`dmmlib.attacks.sphere.manifold_attack`, ``mode="worst"``:
  all steps, no early stop, renormalised onto the starting sphere) from ``n_points`` uniform
  points of each sphere: the fraction of points from which it ends in an error, the "errors
  found adversarially". A network with rare errors that the attack cannot reach scores 0.

Distances are L2 in R^d; rates and fractions are in [0, 1].
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from dmmlib.cache import cached
from dmmlib.device import get_device
from dmmlib.stats import clopper_pearson
from dmmlib.chapters.adversarial_spheres.training import (build_net, error_rate, nearest_error_distances,
                                                          train_sphere_net)


def _check(dims: Sequence[int], seeds: int, n_points: int) -> list[int]:
    dims = [int(d) for d in dims]
    if not dims or min(dims) < 2:
        raise ValueError(f"dims must be a non-empty list of dimensions >= 2, got {dims}")
    if sorted(set(dims)) != dims:
        raise ValueError(f"dims must be strictly increasing, got {dims}")
    if seeds < 1 or n_points < 1:
        raise ValueError(f"seeds and n_points must be >= 1, got {seeds}, {n_points}")
    return dims


def sweep_unit(*, d: int, seed: int, hidden: int, depth: int, steps: int, lr: float, batch_size: int, R: float,
               n_eval: int, n_points: int, attack_steps: int, step_size: float) -> dict:
    """Train one ReLU network at dimension ``d`` (online, ``steps`` Adam steps) and measure it.

    Returns ``{"errors": int, "n": int}`` (sampled errors over both spheres, ``n_eval`` points
    each), ``"found"`` ((2 * n_points,) float, 1 where the worst-case manifold attack from that
    point ends in an error; inner-sphere points first) and ``"final_loss"`` (mean training
    loss of the last 100 steps). Cached by every argument and this code."""
    params = dict(d=d, seed=seed, hidden=hidden, depth=depth, steps=steps, lr=lr, batch_size=batch_size, R=R,
                  n_eval=n_eval, n_points=n_points, attack_steps=attack_steps, step_size=step_size)

    def compute() -> dict:
        net = build_net("relu", d, hidden, depth, seed=seed).to(get_device())
        out = train_sphere_net(net, d=d, steps=steps, batch_size=batch_size, lr=lr, R=R, seed=seed, progress=False)
        errs = [error_rate(net, d, n_eval, R=R, sphere=s, seed=seed + 7_000 + i) for i, s in enumerate(("inner", "outer"))]
        found = [nearest_error_distances(net, d, n_points, steps=attack_steps, step_size=step_size, R=R, sphere=s,
                                         mode="worst", seed=seed + 8_000 + i)["found"]
                 for i, s in enumerate(("inner", "outer"))]
        return {"errors": sum(e["errors"] for e in errs), "n": sum(e["n"] for e in errs),
                "found": torch.cat(found).float().numpy(),
                "final_loss": float(np.mean(out["loss"][-100:])) if out["loss"] else float("nan")}

    return cached("spheres_dim_sweep", params, compute)


def dimension_sweep(dims: Sequence[int], *, seeds: int, hidden: int, depth: int, steps: int, lr: float,
                    batch_size: int, R: float, n_eval: int, n_points: int, attack_steps: int,
                    step_size: float) -> dict:
    """:func:`sweep_unit` for every dimension in ``dims`` (increasing) and seed ``0 .. seeds-1``.

    Returns arrays, D = len(dims), S = seeds, P = 2 * n_points:

    - ``dims`` (D,); ``found`` (D, S, P): 1 where the worst-case attack from that point found an
      error; ``found_share`` (D, S): its mean per network (the attack's success rate);
    - ``errors``, ``n`` (D, S): sampled errors and samples (both spheres) per network;
      ``rate``, ``lo``, ``hi`` (D,): the error rate pooled over seeds with its exact 95 %
      Clopper-Pearson interval; ``final_loss`` (D, S).
    """
    dims = _check(dims, seeds, n_points)
    units = [[sweep_unit(d=d, seed=s, hidden=hidden, depth=depth, steps=steps, lr=lr, batch_size=batch_size, R=R,
                         n_eval=n_eval, n_points=n_points, attack_steps=attack_steps, step_size=step_size)
              for s in range(seeds)] for d in dims]
    found = np.array([[u["found"] for u in row] for row in units], dtype=np.float64)
    errors = np.array([[u["errors"] for u in row] for row in units], dtype=np.int64)
    n = np.array([[u["n"] for u in row] for row in units], dtype=np.int64)
    ci = np.array([clopper_pearson(int(k), int(m)) for k, m in zip(errors.sum(1), n.sum(1))]).reshape(-1, 2)
    return {"dims": np.asarray(dims), "found": found, "found_share": found.mean(2), "errors": errors, "n": n,
            "rate": errors.sum(1) / n.sum(1), "lo": ci[:, 0], "hi": ci[:, 1],
            "final_loss": np.array([[u["final_loss"] for u in row] for row in units])}


def error_free_dimension(dims, found_share) -> float:
    """The largest ``d`` of ``dims`` (D,) up to which no network (row of ``found_share`` (D, S))
    had an error the attack found, scanning from the smallest ``d``: Gilmer et al.'s "highest
    dimension ... where no errors can be found adversarially". nan when the smallest ``d``
    already has one."""
    dims = np.asarray(dims)
    share = np.asarray(found_share, dtype=np.float64).reshape(len(dims), -1)
    clean = share.max(1) == 0
    if not clean[0]:
        return float("nan")
    first_bad = int(np.argmin(clean)) if not clean.all() else len(dims)
    return float(dims[first_bad - 1])
