"""Minimal-norm L2 distance from points to a classifier's decision boundary (DeepFool).

DeepFool (Moosavi-Dezfooli et al. 2016) linearises the classifier at the current point
and jumps to the nearest point of the linearised boundary (a Newton step on the margin),
repeating until the predicted class changes. For a piecewise-linear (ReLU) network each
step is exact inside one linear region, so a few steps usually suffice. We then bisect
on the segment between the start point and the first point past the boundary, so the
reported distance is the distance to the boundary (to ``bisect_steps`` halvings), not
inflated by the overshoot.

Two points are returned, because a point *on* the boundary is not an adversarial example:
at the boundary two logits tie, and which class ``argmax`` picks then depends on rounding
(the CPU, the thread count). ``x_boundary`` is the bisected boundary point (its margin is
about 0; use it for geometry), ``x_adv`` the crossing point: ``x + 1.02 (x_boundary - x)``
(DeepFool's own overshoot convention, ``1 + overshoot``), checked to be classified
differently from ``x``; where that check fails (a curved boundary), the search's own
overshoot point, which was checked when the search stopped, is used instead.

A point whose search reaches a region where the gradient vanishes (every ReLU off: the
linearisation points nowhere) or that does not cross within ``max_iter`` steps is
reported as not converged (distance ``inf``).

The returned distance is an upper bound on the true minimal L2 distance (DeepFool finds a
nearby boundary point, not always the nearest); on a linear model it is exact:
|w.x + b| / ||w||.

Works for

- binary models with one logit, output (B,) or (B, 1): label = logit > 0, margin = +-logit;
- multi-class models, output (B, C): label = argmax, margin = f_label - max_{j != label} f_j,
  the step goes towards the nearest of the ``candidates`` other classes with the largest
  logits (all classes when C <= candidates);

and inputs of any shape (B, ...). Distances are L2 norms over all non-batch dimensions,
in the units of the input (for images in [0, 1], L2 norms of [0,1]-scaled pixels).
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import torch
from torch import nn


class BoundaryDistance(NamedTuple):
    """Result of :func:`boundary_distance`.

    - ``distance``: (B,) L2 distance from ``x`` to the boundary point found (``inf`` where
      none was found within ``max_iter`` steps, 0 where ``x`` is on the boundary).
    - ``x_boundary``: (B, ...) the boundary point (``x`` itself where none was found). It
      lies on the boundary to within ``2^-bisect_steps`` of the segment, on either side: do
      not use it as an adversarial example.
    - ``converged``: (B,) bool, whether the class changed within ``max_iter`` steps.
    - ``iterations``: (B,) int64, the DeepFool steps used.
    - ``x_adv``: (B, ...) the crossing point, classified differently from ``x`` wherever
      ``converged`` (``x`` itself where not): ``x + (1 + overshoot) (x_boundary - x)``, or
      the search's last point where that one is still on ``x``'s side.
    - ``adv_distance``: (B,) L2 distance from ``x`` to ``x_adv`` (``inf`` where not converged);
      about ``(1 + overshoot) * distance``.
    """

    distance: torch.Tensor
    x_boundary: torch.Tensor
    converged: torch.Tensor
    iterations: torch.Tensor
    x_adv: torch.Tensor
    adv_distance: torch.Tensor


def boundary_distance(
    model: nn.Module | Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    *,
    max_iter: int = 50,
    overshoot: float = 0.02,
    bisect_steps: int = 20,
    candidates: int = 10,
    clip: tuple[float, float] | None = None,
    batch_size: int | None = None,
) -> BoundaryDistance:
    """L2 distance (B,) from each point of ``x`` (B, ...) to ``model``'s decision boundary.

    ``max_iter``: DeepFool steps at most. ``overshoot``: each step goes ``1 + overshoot``
    times as far as the linearised boundary, so the class does change, and the returned
    crossing point ``x_adv`` lies ``1 + overshoot`` times as far from ``x`` as the boundary
    point (0.02: DeepFool's 1.02). ``bisect_steps``:
    halvings of the segment x -> first point past the boundary (0 keeps the overshoot
    point). ``candidates``: multi-class only, the other classes considered (largest
    logits first). ``clip``: optional box (lo, hi) that iterates are clipped to (the
    distance is then to the boundary inside the box). ``batch_size``: points per chunk
    (default: all at once). The model's train/eval mode is set to eval during the search
    and restored; parameter gradients are not touched.
    """
    if not isinstance(x, torch.Tensor) or x.ndim < 1 or x.shape[0] == 0:
        raise ValueError(f"x must be a non-empty tensor of shape (B, ...), got {getattr(x, 'shape', type(x))}")
    if not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive int, got {max_iter!r}")
    if overshoot < 0:
        raise ValueError(f"overshoot must be >= 0, got {overshoot!r}")
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size must be a positive int or None, got {batch_size!r}")
    is_module = isinstance(model, nn.Module)
    was_training = model.training if is_module else False
    if is_module:
        model.eval()
    try:
        chunks = x.split(batch_size or x.shape[0])
        parts = [_chunk(model, c, max_iter, overshoot, bisect_steps, candidates, clip) for c in chunks]
    finally:
        if is_module:
            model.train(was_training)
    return BoundaryDistance(*(torch.cat(p) for p in zip(*parts)))


def margin(logits: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """Signed margin (B,) of ``label``: positive while the model still predicts ``label``.

    Binary logits (B,) or (B, 1): ``logit`` for label 1, ``-logit`` for label 0.
    Multi-class (B, C): ``f_label - max_{j != label} f_j``.
    """
    if _is_binary(logits):
        z = logits.reshape(-1)
        return torch.where(label == 1, z, -z)
    own = logits.gather(1, label[:, None])[:, 0]
    others = logits.scatter(1, label[:, None], float("-inf"))
    return own - others.max(1).values


def predicted_label(logits: torch.Tensor) -> torch.Tensor:
    """(B,) int64: ``logit > 0`` for binary outputs, ``argmax`` for (B, C) outputs."""
    if _is_binary(logits):
        return (logits.reshape(-1) > 0).long()
    return logits.argmax(1)


def _is_binary(logits: torch.Tensor) -> bool:
    if logits.ndim == 1 or (logits.ndim == 2 and logits.shape[1] == 1):
        return True
    if logits.ndim == 2:
        return False
    raise ValueError(f"model output must be (B,), (B, 1) or (B, C), got {tuple(logits.shape)}")


def _chunk(model, x0, max_iter, overshoot, bisect_steps, candidates, clip):
    x0 = x0.detach()
    b = x0.shape[0]
    with torch.no_grad():
        logits0 = model(x0)
    label = predicted_label(logits0)
    classes = _candidate_classes(logits0, label, candidates)
    r_total = torch.zeros_like(x0)
    x_adv = x0.clone()
    converged = margin(logits0, label) <= 0  # already on the boundary (binary: logit exactly 0)
    stuck = torch.zeros_like(converged)  # the gradient vanished (e.g. every ReLU off): cannot move
    iters = torch.zeros(b, dtype=torch.long, device=x0.device)
    for _ in range(max_iter):
        active = ~(converged | stuck)
        if not active.any():
            break
        xa = x_adv[active].clone().requires_grad_(True)
        step = _linearised_step(model, xa, label[active], None if classes is None else classes[active])
        stuck[active] = step.flatten(1).norm(dim=1) == 0
        r_total[active] += step
        x_new = x0[active] + (1 + overshoot) * r_total[active]
        if clip is not None:
            x_new = x_new.clamp(*clip)
        x_adv[active] = x_new
        iters[active] += 1
        with torch.no_grad():
            flipped = predicted_label(model(x_new)) != label[active]
        converged[active] = flipped
    x_b = _bisect(model, x0, x_adv, label, converged, bisect_steps)
    dist = (x_b - x0).flatten(1).norm(dim=1)
    inf = torch.full_like(dist, float("inf"))
    dist = torch.where(converged, dist, inf)
    x_b = torch.where(_expand(converged, x0), x_b, x0)
    # the crossing point: overshoot the boundary point by 1 + overshoot, check the class changed
    x_cross = x0 + (1 + overshoot) * (x_b - x0)
    if clip is not None:
        x_cross = x_cross.clamp(*clip)
    with torch.no_grad():
        crossed = predicted_label(model(x_cross)) != label
    x_cross = torch.where(_expand(crossed, x0), x_cross, x_adv)
    x_cross = torch.where(_expand(converged, x0), x_cross, x0)
    adv_dist = torch.where(converged, (x_cross - x0).flatten(1).norm(dim=1), inf)
    return dist.detach(), x_b.detach(), converged, iters, x_cross.detach(), adv_dist.detach()


def _candidate_classes(logits0, label, candidates):
    if _is_binary(logits0):
        return None
    k = min(int(candidates) + 1, logits0.shape[1])
    return logits0.topk(k, dim=1).indices  # includes label (the top class)


def _linearised_step(model, xa, label, classes):
    """Step (B, ...) to the nearest point of the linearised boundary of each point."""
    logits = model(xa)
    if classes is None:  # binary: Newton step on the logit
        z = logits.reshape(-1)
        (g,) = torch.autograd.grad(z.sum(), xa)
        gn2 = g.flatten(1).pow(2).sum(1).clamp_min(1e-12)
        return (-(z.detach() / gn2)).view(-1, *[1] * (xa.ndim - 1)) * g
    own = logits.gather(1, label[:, None])[:, 0]
    grad_own = torch.autograd.grad(own.sum(), xa, retain_graph=True)[0]
    best_ratio = torch.full((xa.shape[0],), float("inf"), device=xa.device)
    best_step = torch.zeros_like(xa)
    for c in range(classes.shape[1]):
        j = classes[:, c]
        other = logits.gather(1, j[:, None])[:, 0]
        g = torch.autograd.grad(other.sum(), xa, retain_graph=True)[0] - grad_own
        f = (other - own).detach()  # < 0 while label is predicted
        gn = g.flatten(1).norm(dim=1).clamp_min(1e-12)
        ratio = torch.where(j == label, torch.full_like(f, float("inf")), f.abs() / gn)
        better = ratio < best_ratio
        step = ((f.abs() + 1e-6) / gn**2).view(-1, *[1] * (xa.ndim - 1)) * g
        best_step = torch.where(_expand(better, xa), step, best_step)
        best_ratio = torch.where(better, ratio, best_ratio)
    return best_step


def _bisect(model, x0, x_adv, label, converged, steps):
    """Point on the segment x0 -> x_adv where the class changes (within 2^-steps of the segment)."""
    lo = torch.zeros(x0.shape[0], device=x0.device)  # fraction of the segment still on label's side
    hi = torch.ones_like(lo)
    direction = x_adv - x0
    with torch.no_grad():
        for _ in range(steps):
            mid = (lo + hi) / 2
            xm = x0 + _expand(mid, x0) * direction
            inside = margin(model(xm), label) > 0
            lo = torch.where(inside, mid, lo)
            hi = torch.where(inside, hi, mid)
    t = torch.where(converged, hi, torch.zeros_like(hi))
    return x0 + _expand(t, x0) * direction


def _expand(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return v.view(-1, *[1] * (like.ndim - 1))
