"""The two attacks the defence needs beyond the book's minimal-norm attack.

- :func:`restart_fmn`: :func:`dmmlib.attacks.minimal_norm.fmn_l2` started from random points
  near x (the random restarts of a gradient-masking check): the distances *from x* of the
  adversarial points it finds.
- :func:`penalised_attack`: an L2 attack on the defended classifier that, once adversarial,
  also minimises the (squared) reconstruction error ||z - D(E(z))||, and :func:`penalised_sweep`,
  the same over several weights of the penalty, the best per image: the attack a reconstruction-error
  detector must survive.

Distances are L2 norms of [0,1]-scaled pixels.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from dmmlib.attacks.minimal_norm import fmn_l2
from dmmlib.attacks.pgd import margin, validate_inputs

_TINY = 1e-12


def restart_fmn(model, x: Tensor, y: Tensor, radius: Tensor, *, restarts: int, generator: torch.Generator,
                **fmn) -> Tensor:
    """Distances (restarts, B) from x of the adversarial points :func:`fmn_l2` finds when started
    at ``x0 = clamp(x + radius_i u_i, 0, 1)``, u_i a uniformly random unit direction per image and
    restart; ``inf`` where a run found none.

    Args:
        model: images -> logits (the defended classifier), eval mode.
        x: (B, ...) images in [0, 1]; y: (B,) labels.
        radius: (B,) distance of each random start from x (>= 0, finite; L2 of [0,1] pixels).
        restarts: runs per image (>= 1). generator: fixes the directions (CPU generator).
        fmn: keyword arguments of :func:`fmn_l2` (steps, step_size, ...).

    A run that starts at an adversarial x0 returns x0 itself (distance <= radius_i).
    """
    validate_inputs(model, x, y)
    if not isinstance(restarts, int) or isinstance(restarts, bool) or restarts < 1:
        raise ValueError(f"restarts must be an int >= 1, got {restarts!r}")
    if not isinstance(radius, Tensor) or radius.shape != (len(x),) or not torch.isfinite(radius).all() \
            or (radius < 0).any():
        raise ValueError(f"radius must be a finite tensor >= 0 of shape ({len(x)},), got "
                         f"{tuple(getattr(radius, 'shape', ()))}")
    B = len(x)
    r = radius.to(x).view(B, *([1] * (x.dim() - 1)))
    out = torch.full((restarts, B), math.inf, dtype=x.dtype)
    for i in range(restarts):  # a handful of restarts, each batched over the images
        u = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
        u = u / u.flatten(1).norm(dim=1).clamp_min(_TINY).view_as(r)
        x0 = (x + r * u).clamp(0, 1)
        res = fmn_l2(model, x0, y, **fmn)
        dist = (res.x_adv - x).flatten(1).norm(dim=1)
        out[i] = torch.where(res.success, dist, torch.full_like(dist, math.inf)).cpu()
    return out


class PenalisedResult(NamedTuple):
    """Result of :func:`penalised_attack` (B rows, on x's device).

    - ``x_adv`` (B, ...): the adversarial point of lowest reconstruction error found (x where none).
    - ``success`` (B,) bool: an adversarial point was found.
    - ``recon_error`` (B,): ||x_adv - D(E(x_adv))|| there (nan where none).
    - ``norm`` (B,): ||x_adv - x|| (inf where none).
    """

    x_adv: Tensor
    success: Tensor
    recon_error: Tensor
    norm: Tensor


def penalised_attack(defended, x: Tensor, y: Tensor, eps: Tensor, *, penalty: float, steps: int,
                     start: Tensor | None = None, kappa: float = 0.0) -> PenalisedResult:
    """L2 attack on ``defended`` (a :class:`~dmmlib.chapters.manifold_projection.defence.Projected`)
    minimising ``max(m(z), -kappa) + penalty * ||z - D(E(z))||^2`` over z = x + delta,
    ``||delta|| <= eps_i``, z in [0, 1]; m(z) = z_y - max_{j != y} z_j is the defended margin
    (> 0 while correct). Each step moves ``2.5 eps_i / steps`` along the normalised gradient
    (the usual PGD share), then projects onto the ball and the box. Of the iterates that fool the
    defended classifier the one of lowest reconstruction error is kept.

    Args:
        x: (B, C, H, W) images in [0, 1]; y: (B,) labels.
        eps: (B,) radius per image (> 0, finite).
        penalty: weight of the squared reconstruction error (>= 0; 0: a plain margin attack). The
            square is smooth where the error vanishes (the norm's gradient keeps a length of 1
            there, and the iterate would chatter around the manifold).
        steps: gradient steps (>= 1).
        start: optional (B, C, H, W) initial delta (e.g. the adaptive minimal-norm perturbation:
            a warm start from an adversarial point), projected onto the ball and the box.
        kappa: confidence (>= 0): the margin term stops pulling once m < -kappa.
    """
    validate_inputs(defended, x, y)
    if not hasattr(defended, "reconstruct"):
        raise TypeError("defended must have a reconstruct method (dmmlib.chapters.manifold_projection.defence.Projected)")
    if not isinstance(eps, Tensor) or eps.shape != (len(x),) or not torch.isfinite(eps).all() or (eps <= 0).any():
        raise ValueError(f"eps must be a finite tensor > 0 of shape ({len(x)},)")
    if not (isinstance(penalty, (int, float)) and math.isfinite(penalty) and penalty >= 0):
        raise ValueError(f"penalty must be a finite number >= 0, got {penalty!r}")
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}")
    if not (isinstance(kappa, (int, float)) and math.isfinite(kappa) and kappa >= 0):
        raise ValueError(f"kappa must be a finite number >= 0, got {kappa!r}")
    if start is not None and start.shape != x.shape:
        raise ValueError(f"start must have the shape of x {tuple(x.shape)}, got {tuple(start.shape)}")
    x = x.detach()
    y = y.detach().long().to(x.device)
    B = len(x)
    col = (B,) + (1,) * (x.dim() - 1)
    e = eps.to(x).view(col)
    alpha = 2.5 * e / steps
    delta = torch.zeros_like(x) if start is None else _project(start.detach().to(x), x, e)
    best_x, best_err = x.clone(), torch.full((B,), math.inf, dtype=x.dtype, device=x.device)
    for t in range(steps + 1):
        delta.requires_grad_(True)
        with torch.enable_grad():
            z = x + delta
            rec = defended.reconstruct(z)
            err = (z - rec).flatten(1).norm(dim=1)
            m = -margin(defended.classifier(rec), y)
            with torch.no_grad():  # the iterate before this step: keep it if it fools and is closer to the manifold
                better = (m < 0) & (err < best_err)
                best_err = torch.where(better, err, best_err)
                best_x = torch.where(better.view(col), z, best_x)
            if t == steps:
                break
            obj = m.clamp_min(-kappa) + penalty * err.square()
            g = torch.autograd.grad(obj.sum(), delta)[0]
        with torch.no_grad():
            g = g / g.flatten(1).norm(dim=1).clamp_min(_TINY).view(col)
            delta = _project(delta.detach() - alpha * g, x, e)
    success = torch.isfinite(best_err)
    norm = torch.where(success, (best_x - x).flatten(1).norm(dim=1), torch.full_like(best_err, math.inf))
    recon = torch.where(success, best_err, torch.full_like(best_err, math.nan))
    return PenalisedResult(best_x.detach(), success, recon.detach(), norm.detach())


def penalised_sweep(defended, x: Tensor, y: Tensor, eps: Tensor, *, penalties, steps: int,
                    start: Tensor | None = None) -> PenalisedResult:
    """:func:`penalised_attack` for each weight of ``penalties`` (a non-empty sequence of numbers
    >= 0): per image, of the adversarial points the runs found, the one of lowest reconstruction
    error. The best weight differs between images and data sets (too large a weight pulls the
    iterate back onto the manifold, where it no longer fools; too small a one ignores the error),
    so a sweep is the stronger attack."""
    penalties = list(penalties)
    if not penalties:
        raise ValueError("penalties must hold at least one weight")
    best = None
    for lam in penalties:  # a handful of weights, each run batched over the images
        r = penalised_attack(defended, x, y, eps, penalty=float(lam), steps=steps, start=start)
        if best is None:
            best = r
            continue
        better = r.success & (~best.success | (r.recon_error < best.recon_error))
        col = better.view(-1, *([1] * (x.dim() - 1)))
        best = PenalisedResult(torch.where(col, r.x_adv, best.x_adv), best.success | r.success,
                               torch.where(better, r.recon_error, best.recon_error),
                               torch.where(better, r.norm, best.norm))
    return best


def _project(delta: Tensor, x: Tensor, eps: Tensor) -> Tensor:
    """delta onto the L2 ball of radius eps (B, 1, ...) and x + delta into [0, 1]."""
    n = delta.flatten(1).norm(dim=1).view_as(eps)
    delta = delta * (eps / n.clamp_min(_TINY)).clamp(max=1.0)
    return (x + delta).clamp(0, 1) - x
