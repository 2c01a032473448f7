"""The manifold attack of *Adversarial Spheres* (Gilmer et al. 2018, section 3.1).

Gradient ascent on the wrong class's margin under the constraint ``||x_adv|| = ||x||``:
each step moves along the input gradient of ``s * logit`` (``s = +1`` for the inner
sphere, label 0, ``-1`` for the outer one), projected onto the sphere's tangent space and
normalised to length ``step_size``, then renormalises the point onto its starting sphere
(the projection of PGD). The margin and the paper's cross-entropy give the same direction
once the step is normalised per point.

- ``mode="nearest"``: a point stops at its first misclassified iterate (the paper's
  "nearest neighbor examples"); its L2 distance to the start is an upper bound on the
  distance to the nearest error, within one step.
- ``mode="worst"``: every point runs all steps ("worst-case examples", not restricted to a
  neighbourhood); the iterate with the largest wrong-class margin is returned.

``constraint="free"`` drops the tangent projection and the renormalisation: the same
search off the manifold, in all of R^d (the nearest point of the other class, section 3).
It is here, not in :mod:`dmmlib.attacks.pgd`, because that attack works on images in
[0, 1] inside an eps-ball, and the spheres' points have coordinates in [-R, R] and no ball.

Distances are Euclidean (L2) in R^d.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import torch
from torch import Tensor

MODES = ("nearest", "worst")
CONSTRAINTS = ("sphere", "free")


class SphereAttackResult(NamedTuple):
    """``x_adv`` (n, d); ``found`` (n,) bool: misclassified at ``x_adv``; ``distance`` (n,)
    ``||x_adv - x||_2``; ``steps_used`` (n,) int64 (0 for points misclassified at the start)."""

    x_adv: Tensor
    found: Tensor
    distance: Tensor
    steps_used: Tensor


def manifold_attack(
    model: Callable[[Tensor], Tensor],
    x: Tensor,
    y: Tensor,
    *,
    steps: int,
    step_size: float,
    mode: str = "nearest",
    constraint: str = "sphere",
) -> SphereAttackResult:
    """Attack a one-logit model (positive logit = label 1) at points ``x`` (n, d) with labels
    ``y`` (n,) in {0, 1}; batched over the points, model in eval mode."""
    _validate(model, x, y, steps, step_size, mode, constraint)
    x0 = x.detach()
    y = y.detach().to(x0.dtype)
    sign = 1 - 2 * y  # ascend sign * logit: towards the wrong class
    radius = x0.norm(dim=1, keepdim=True)
    n = x0.shape[0]
    x_adv, best = x0.clone(), torch.full((n,), -torch.inf, dtype=x0.dtype, device=x0.device)
    found = torch.zeros(n, dtype=torch.bool, device=x0.device)
    steps_used = torch.full((n,), steps, dtype=torch.long, device=x0.device)
    idx, xa = torch.arange(n, device=x0.device), x0.clone()
    for t in range(steps + 1):
        xa = xa.detach().requires_grad_(True)
        with torch.enable_grad():
            margin = sign[idx] * model(xa).reshape(-1)
            g = torch.autograd.grad(margin.sum(), xa)[0] if t < steps else None
        margin, xa = margin.detach(), xa.detach()
        better = margin > best[idx]
        best[idx[better]] = margin[better]
        x_adv[idx[better]] = xa[better]
        if mode == "nearest":
            hit = margin > 0
            found[idx[hit]], steps_used[idx[hit]] = True, t
            x_adv[idx[hit]] = xa[hit]
            keep = ~hit
            idx, xa = idx[keep], xa[keep]
            g = None if g is None else g[keep]
            if idx.numel() == 0:
                break
        if g is not None:
            xa = _step(xa, g, radius[idx], step_size, constraint)
    if mode == "worst":
        found = best > 0
    return SphereAttackResult(x_adv, found, (x_adv - x0).norm(dim=1), steps_used)


def _step(x: Tensor, g: Tensor, radius: Tensor, step_size: float, constraint: str) -> Tensor:
    """One normalised step along ``g`` (b, d); on the sphere: tangent part only, then back onto it."""
    if constraint == "sphere":
        u = x / radius
        g = g - (g * u).sum(1, keepdim=True) * u
    x = x + step_size * g / g.norm(dim=1, keepdim=True).clamp_min(1e-20)
    if constraint == "sphere":
        x = radius * x / x.norm(dim=1, keepdim=True)
    return x


def _validate(model, x, y, steps, step_size, mode, constraint) -> None:
    if not callable(model):
        raise TypeError(f"model must be callable, got {type(model).__name__}")
    if isinstance(model, torch.nn.Module):
        if any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.training for m in model.modules()):
            raise ValueError("model is in training mode and contains batch norm; call model.eval() before attacking")
    if not isinstance(x, Tensor) or x.ndim != 2 or not x.is_floating_point() or x.shape[0] == 0:
        raise ValueError(f"x must be a non-empty float tensor of shape (n, d), got {tuple(getattr(x, 'shape', ()))}")
    if constraint == "sphere" and (x.norm(dim=1) == 0).any():
        raise ValueError("x contains the origin, which lies on no sphere")
    if not isinstance(y, Tensor) or y.shape != x.shape[:1] or not torch.isin(y, torch.tensor([0, 1], device=y.device)).all():
        raise ValueError(f"y must be a tensor of shape ({x.shape[0]},) with values in {{0, 1}}")
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}")
    if not isinstance(step_size, (int, float)) or not step_size > 0:
        raise ValueError(f"step_size must be a number > 0, got {step_size!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if constraint not in CONSTRAINTS:
        raise ValueError(f"constraint must be one of {CONSTRAINTS}, got {constraint!r}")
