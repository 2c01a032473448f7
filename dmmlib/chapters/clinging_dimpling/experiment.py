"""Clinging and dimpling (section 6 and appendix C of the Dimpled Manifold paper).

Train the appendix-C network (:class:`dmmlib.models.shallow.ShallowNet`) on a flat
synthetic manifold (:mod:`dmmlib.data.synthetic`), keeping snapshots of the trainable
layer, cleanly or with single-step L2 PGD adversarial training (section 5.1); then
measure, at chosen epochs, how the decision boundary sits relative to the manifold:

- clinging curve: mean L2 distance from points of the data region of the manifold to the
  boundary, and from the training points to the boundary (both by DeepFool);
- dimple depth: mean signed height of the boundary above/below the training points,
  measured along the manifold's normal (positive: the point is on its correct side);
- gradient-normal angle: angle between the input gradient at each training point and the
  manifold's normal (0 degrees: the gradient is perpendicular to the manifold).

All distances are in units of the input cube [0, 1]^d.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from dmmlib.attacks.deepfool import boundary_distance
from dmmlib.boundary import boundary_offsets
from dmmlib.data.synthetic import ManifoldSet, manifold_grid
from dmmlib.models.shallow import ShallowNet


class TrainRun(NamedTuple):
    """Snapshots of one training run.

    - ``epochs``: (S,) int64, the epochs snapshotted (0 = initialisation).
    - ``weight``: (S, width, d), ``bias``: (S, width) the hidden layer after each of them.
    - ``out_weight``: (width,) the fixed +-1 output weights.
    - ``loss``: (E,) mean training loss of each epoch (on the adversarial points when
      adversarial). ``accuracy``: (E + 1,) clean training accuracy after each epoch.
    """

    epochs: torch.Tensor
    weight: torch.Tensor
    bias: torch.Tensor
    out_weight: torch.Tensor
    loss: torch.Tensor
    accuracy: torch.Tensor


def train(
    data: ManifoldSet,
    *,
    width: int = 4000,
    lr: float = 0.002,
    weight_decay: float = 0.01,
    epochs: int = 200,
    batch_size: int = 0,
    seed: int = 0,
    adv_eps: float = 0.0,
    snapshot_epochs: Sequence[int] | None = None,
    progress: bool = False,
) -> TrainRun:
    """Train a :class:`ShallowNet` on ``data`` with SGD and binary cross-entropy on the logit.

    ``batch_size`` 0 means full batch. ``seed`` fixes the initialisation and the order of
    mini-batches. ``adv_eps`` > 0: each batch is replaced by its single-step L2 PGD
    adversarial counterpart (step = ``adv_eps``, cube units), made by
    :func:`dmmlib.attacks.pgd.pgd_l2` on the current network (section 5.1).
    ``snapshot_epochs``: epochs (0..``epochs``) to keep; None keeps all.
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if not isinstance(batch_size, int) or batch_size < 0:
        raise ValueError(f"batch_size must be an int >= 0 (0: full batch), got {batch_size!r}")
    if lr <= 0 or weight_decay < 0 or adv_eps < 0:
        raise ValueError(f"need lr > 0, weight_decay >= 0, adv_eps >= 0; got {lr}, {weight_decay}, {adv_eps}")
    keep = set(range(epochs + 1)) if snapshot_epochs is None else {int(e) for e in snapshot_epochs}
    if not keep or min(keep) < 0 or max(keep) > epochs:
        raise ValueError(f"snapshot_epochs must lie in [0, {epochs}], got {sorted(keep)}")
    model = ShallowNet(data.x.shape[1], width, seed=seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=weight_decay)
    g = torch.Generator().manual_seed(int(seed) + 1)
    x, y = data.x, data.y
    bs = batch_size or len(x)
    snaps, losses, accs = {}, [], [_accuracy(model, x, y)]
    if 0 in keep:
        snaps[0] = _state(model)
    for epoch in tqdm(range(1, epochs + 1), disable=not progress, desc="epochs"):
        total = 0.0
        for idx in torch.randperm(len(x), generator=g).split(bs):
            xb, yb = x[idx], y[idx]
            if adv_eps > 0:
                xb = xb + _single_step_pgd(model, xb, yb, adv_eps)
            loss = F.binary_cross_entropy_with_logits(model(xb), yb.float())
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        losses.append(total / len(x))
        accs.append(_accuracy(model, x, y))
        if epoch in keep:
            snaps[epoch] = _state(model)
    order = sorted(snaps)
    return TrainRun(
        epochs=torch.tensor(order),
        weight=torch.stack([snaps[e][0] for e in order]),
        bias=torch.stack([snaps[e][1] for e in order]),
        out_weight=model.out_weight.clone(),
        loss=torch.tensor(losses),
        accuracy=torch.tensor(accs),
    )


def model_at(run: TrainRun, epoch: int) -> ShallowNet:
    """The network of ``run`` after ``epoch`` (which must have been snapshotted)."""
    hits = (run.epochs == int(epoch)).nonzero()
    if len(hits) == 0:
        raise ValueError(f"epoch {epoch} was not snapshotted; available: {run.epochs.tolist()}")
    i = int(hits[0, 0])
    width, d = run.weight.shape[1:]
    model = ShallowNet(int(d), int(width))
    with torch.no_grad():
        model.hidden.weight.copy_(run.weight[i])
        model.hidden.bias.copy_(run.bias[i])
        model.out_weight.copy_(run.out_weight)
    return model.eval()


def log_epochs(epochs: int, n: int) -> list[int]:
    """About ``n`` epochs from 0 to ``epochs``, log-spaced (0, 1, 2, ... denser early), sorted, unique."""
    if not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an int >= 2, got {n!r}")
    pts = torch.logspace(0, math.log10(epochs + 1), n - 1) - 1
    return sorted({0, epochs, *(int(round(float(p))) for p in pts)})


def dimple_depth(model, data: ManifoldSet, *, n_coarse: int = 41, n_refine: int = 14) -> torch.Tensor:
    """Signed height (N,) of the boundary along the normal at each training point, cube units.

    |value| is the distance from the point, along the manifold's normal, to the nearest
    crossing of the boundary inside the cube; the sign is + where the point is classified
    correctly (the boundary bends past it: a dimple) and - where not. Where the normal
    line does not meet the boundary inside the cube, |value| is capped at the longest
    in-cube offset (the point is then deep on one side).
    """
    t_lo, t_hi = _cube_range(data)
    t = boundary_offsets(model, data.x, data.normal, t_min=t_lo, t_max=t_hi, n_coarse=n_coarse, n_refine=n_refine)
    cap = max(-t_lo, t_hi)
    height = torch.where(torch.isnan(t), torch.full_like(t, cap), t.abs())
    with torch.no_grad():
        correct = (model(data.x) > 0).long() == data.y
    return torch.where(correct, height, -height)


def gradient_normal_angle(model, x: torch.Tensor, normal: torch.Tensor) -> torch.Tensor:
    """Angle (N,) in degrees, in [0, 90], between the input gradient of the logit at ``x`` (N, d) and the line of ``normal`` (d,).

    0 means the gradient is perpendicular to the manifold; NaN where the gradient is zero.
    """
    if x.ndim != 2 or normal.shape != (x.shape[1],):
        raise ValueError(f"x must be (N, d) and normal (d,), got {tuple(x.shape)} and {tuple(normal.shape)}")
    xr = x.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(xr).sum(), xr)
    cos = (grad @ (normal / normal.norm())).abs() / grad.norm(dim=1)
    return torch.rad2deg(torch.arccos(cos.clamp(max=1.0)))


def random_angle(d: int) -> float:
    """Mean angle in degrees between a uniformly random direction of R^d and a fixed line.

    45 for d = 2, 180/pi (57.3) for d = 3: the baseline for :func:`gradient_normal_angle`.
    """
    if not isinstance(d, int) or d < 2:
        raise ValueError(f"d must be an int >= 2, got {d!r}")
    c = torch.linspace(0, 1, 200001, dtype=torch.float64)[:-1] + 0.5 / 200000  # midpoints of |cos|
    density = (1 - c**2) ** ((d - 3) / 2)
    return float(torch.rad2deg((torch.arccos(c) * density).sum() / density.sum()))


def measure(
    run: TrainRun,
    data: ManifoldSet,
    epochs: Sequence[int],
    *,
    n_grid: int = 20,
    max_iter: int = 50,
    progress: bool = False,
) -> dict[str, torch.Tensor]:
    """The boundary's measurements at each of ``epochs`` (all snapshotted in ``run``).

    Returns (K,) tensors: ``epoch``; ``manifold_distance`` (mean DeepFool distance to the
    boundary from a grid of ``n_grid`` points per manifold axis over the data region);
    ``train_distance`` (the same from the training points); ``dimple_depth`` (mean of
    :func:`dimple_depth`); ``angle`` (mean :func:`gradient_normal_angle` at the training
    points, degrees); ``accuracy`` (training accuracy); ``converged`` (fraction of DeepFool
    searches that reached the boundary within ``max_iter`` steps).

    Distances are capped at the cube's diagonal sqrt(d): a point whose search does not
    reach the boundary (the boundary is far outside the cube, or the gradient vanished)
    counts as that far, and so does a boundary found beyond it.
    """
    grid = manifold_grid(data, n_grid)
    cap = math.sqrt(data.x.shape[1])
    rows = []
    for e in tqdm(list(epochs), disable=not progress, desc="measure"):
        model = model_at(run, e)
        on_grid = boundary_distance(model, grid, max_iter=max_iter)
        on_train = boundary_distance(model, data.x, max_iter=max_iter)
        conv = torch.cat([on_grid.converged, on_train.converged]).float().mean()
        rows.append([
            float(e),
            float(on_grid.distance.clamp(max=cap).mean()),
            float(on_train.distance.clamp(max=cap).mean()),
            float(dimple_depth(model, data).mean()),
            float(gradient_normal_angle(model, data.x, data.normal).nanmean()),
            float(run.accuracy[int(e)]),
            float(conv),
        ])
    cols = torch.tensor(rows, dtype=torch.float64).T
    keys = ("epoch", "manifold_distance", "train_distance", "dimple_depth", "angle", "accuracy", "converged")
    return dict(zip(keys, cols))


def clinging_end_epoch(epochs: torch.Tensor, distance: torch.Tensor, fraction: float = 0.9) -> int:
    """First epoch by which the manifold-boundary distance has made ``fraction`` of its total drop.

    Total drop: from ``distance[0]`` (initialisation) to the minimum of the curve.
    ``epochs`` and ``distance`` are (K,) with ``epochs`` increasing.
    """
    _check_curve(epochs, distance, fraction)
    if not torch.isfinite(distance).all():
        raise ValueError("distance must be finite (cap distances before calling)")
    d0, dmin = float(distance[0]), float(distance.min())
    done = distance <= d0 - fraction * (d0 - dmin)
    return int(epochs[int(done.nonzero()[0, 0])])


def dimpling_end_epoch(epochs: torch.Tensor, depth: torch.Tensor, start_epoch: int = 0, fraction: float = 0.9) -> int:
    """First epoch >= ``start_epoch`` at which the dimple depth reaches ``fraction`` of its final value.

    The final value is ``depth[-1]``; if it is not positive (no dimples formed) the last epoch is returned.
    """
    _check_curve(epochs, depth, fraction)
    final = float(depth[-1])
    if final <= 0:
        return int(epochs[-1])
    done = (depth >= fraction * final) & (epochs >= start_epoch)
    return int(epochs[int(done.nonzero()[0, 0])])


def experiment(data: ManifoldSet, *, seed: int, eval_epochs: Sequence[int], keep_epochs: Sequence[int] | None = (),
               n_grid: int = 20, max_iter: int = 50, **train_kw) -> dict:
    """Train on ``data`` (``train_kw`` as :func:`train`) and :func:`measure` at ``eval_epochs``.

    Returns {"curves": measure's dict, "cling_epoch", "dimple_epoch", "final_depth",
    "final_angle", "final_accuracy", "run": the :class:`TrainRun` restricted to
    ``keep_epochs`` (None: all epochs) plus the last epoch}.
    """
    epochs = train_kw.get("epochs", 200)
    keep = set(range(epochs + 1)) if keep_epochs is None else set(keep_epochs) | set(eval_epochs) | {epochs}
    run = train(data, seed=seed, snapshot_epochs=sorted(keep), **train_kw)
    curves = measure(run, data, eval_epochs, n_grid=n_grid, max_iter=max_iter)
    cling = clinging_end_epoch(curves["epoch"], curves["manifold_distance"])
    return {
        "curves": curves,
        "cling_epoch": cling,
        "dimple_epoch": dimpling_end_epoch(curves["epoch"], curves["dimple_depth"], start_epoch=cling),
        "final_depth": float(curves["dimple_depth"][-1]),
        "final_angle": float(curves["angle"][-1]),
        "final_accuracy": float(curves["accuracy"][-1]),
        "run": run,
    }


def _single_step_pgd(model, x, y, eps):
    from dmmlib.attacks.pgd import pgd_l2

    return pgd_l2(model, x, y, eps=eps, step_size=eps, steps=1, early_stop=False).delta


def _state(model: ShallowNet) -> tuple[torch.Tensor, torch.Tensor]:
    return model.hidden.weight.detach().clone(), model.hidden.bias.detach().clone()


def _accuracy(model, x, y) -> float:
    with torch.no_grad():
        return float(((model(x) > 0).long() == y).float().mean())


def _cube_range(data: ManifoldSet) -> tuple[float, float]:
    """The range of t for which centre + t * normal stays in the cube, centre = middle of the data region."""
    centre = data.origin + data.extent.mean(1) @ data.tangent
    lo, hi = -math.inf, math.inf
    for o, n in zip(centre.tolist(), data.normal.tolist()):
        if abs(n) > 1e-12:
            a, b = (0 - o) / n, (1 - o) / n
            lo, hi = max(lo, min(a, b)), min(hi, max(a, b))
    return lo, hi


def _check_curve(epochs, values, fraction):
    if epochs.ndim != 1 or epochs.shape != values.shape or len(epochs) < 2:
        raise ValueError(f"epochs and values must be (K,) with K >= 2, got {tuple(epochs.shape)}, {tuple(values.shape)}")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
