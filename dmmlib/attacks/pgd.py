"""Projected gradient descent (Madry et al. 2018), greedy, optionally on or off a local manifold.

One step, per sample (appendix F of the Dimpled Manifold paper):

1. gradient ``g`` of the loss with respect to the input at ``x + delta``;
2. with a ``basis`` U (orthonormal columns), ``g <- U U^T g`` ("on") or ``g - U U^T g`` ("off");
3. normalise: ``step_size * g / ||g||_2`` (L2) or ``step_size * sign(g)`` (Linf; not with a basis:
   ``sign(U U^T g)`` leaves span(U), so an L-inf attack with a basis raises ``ValueError``);
4. ``delta <- delta + step``, projected onto the eps-ball, then ``x + delta`` clamped to [0, 1].

Greedy early stop: a sample whose prediction has changed (untargeted: ``argmax != y``;
targeted: ``argmax == y``) is frozen at that ``delta`` and leaves the batch, so no further
forward or backward passes are spent on it. Norms are of [0,1]-scaled pixels.

The projection of step 2 lives in :mod:`dmmlib.attacks.projection` (shared with
:mod:`dmmlib.attacks.minimal_norm`).
"""
from __future__ import annotations

import math
from functools import partial
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from dmmlib.attacks.projection import ActiveSubspace, basis_rows, project, step_scale
from dmmlib.evaluate import as_logits


class AttackResult(NamedTuple):
    """``delta`` (B, ...) perturbation, ``x + delta`` in [0, 1]; ``success`` (B,) bool: the
    prediction at ``x + delta`` changed (untargeted) or equals the target (targeted);
    ``steps_used`` (B,) int64: gradient steps taken before the sample stopped."""

    delta: Tensor
    success: Tensor
    steps_used: Tensor


NORMS = ("l2", "linf")
LOSSES = ("margin", "ce")
BASIS_MODES = ("on", "off")
_TINY = 1e-12


def pgd(
    model: Callable[[Tensor], Tensor],
    x: Tensor,
    y: Tensor,
    *,
    norm: str = "l2",
    eps: float,
    step_size: float,
    steps: int,
    loss: str = "margin",
    targeted: bool = False,
    early_stop: bool = True,
    random_start: bool = False,
    basis: Tensor | None = None,
    basis_mode: str | None = None,
    generator: torch.Generator | None = None,
) -> AttackResult:
    """PGD attack on ``model`` at images ``x`` with labels ``y``.

    Args:
        model: maps (B, ...) images in [0, 1] to logits (B, C), or a binary logit (B,) or
            (B, 1) read as logits ``[0, z]`` (label 1 when ``z > 0``). Must be in eval mode
            if it contains batch norm.
        x: (B, ...) float images in [0, 1].
        y: (B,) int labels; the true labels (untargeted) or the target labels (targeted).
        norm: "l2" or "linf": the norm of the eps-ball and of the step normalisation.
        eps: radius of the ball (> 0). step_size: length of each step (> 0). steps: >= 1.
        loss: "margin" (``max_{j != y} z_j - z_y``, ascended; targeted: ``z_t - max_{j != t} z_j``)
            or "ce" (cross-entropy, ascended; targeted: its negative on the target).
        early_stop: stop each sample at its first success (greedy attack of appendix F).
        random_start: start from a random point of the ball (L2: Gaussian direction, radius
            uniform in [0, eps], as torchattacks; Linf: uniform in the cube), projected onto
            or off the basis when one is given.
        basis: (B, n, k) orthonormal columns per sample, n = prod(x.shape[1:]).
        basis_mode: "on" (project each gradient onto span(basis)) or "off" (onto its
            orthogonal complement); required with ``basis`` and only with it. L2 only:
            ``norm="linf"`` with a basis raises ValueError (the sign of a projected gradient
            is not in the subspace, and the steepest L-inf step within it is a linear program
            per step that this attack does not solve).
        generator: torch.Generator for the random start (reproducibility).

    Returns:
        :class:`AttackResult` (delta, success, steps_used), all on ``x``'s device.
    """
    _validate(model, x, y, norm, eps, step_size, steps, loss, basis, basis_mode)
    x = x.detach()
    y = y.detach().long().to(x.device)
    rows = None if basis is None else basis_rows(basis.detach().to(x))
    with torch.no_grad():
        delta = _initial_delta(x, norm, eps, random_start, rows, basis_mode, generator)
    B, shape = x.shape[0], x.shape[1:]
    success = torch.zeros(B, dtype=torch.bool, device=x.device)
    steps_used = torch.full((B,), steps, dtype=torch.long, device=x.device)
    idx = torch.arange(B, device=x.device)
    delta = delta.reshape(B, -1)  # the loop works on flat (b, n) views
    xa, ya, da = x.reshape(B, -1), y, delta.clone()
    Ua = None if rows is None else ActiveSubspace(rows, basis_mode)
    for t in range(steps):
        da.requires_grad_(True)
        with torch.enable_grad():
            logits = as_logits(model, (xa + da).view(-1, *shape))
            if t == 0:
                check_labels(y, logits)
            keep = None
            if early_stop:
                hit = reached(logits.detach(), ya, targeted)
                if hit.any():
                    # integer indices + index_select: much cheaper than repeated boolean masking
                    hit_rows = hit.nonzero().squeeze(1)
                    done = idx.index_select(0, hit_rows)
                    success[done] = True
                    steps_used[done] = t
                    delta.index_copy_(0, done, da.detach().index_select(0, hit_rows))
                    keep = (~hit).nonzero().squeeze(1)
                    if keep.numel() == 0:
                        break
                    idx, xa, ya = idx.index_select(0, keep), xa.index_select(0, keep), ya.index_select(0, keep)
                    if Ua is not None:
                        Ua.keep(keep)
                    logits = logits.index_select(0, keep)
            objective = _objective(logits, ya, loss, targeted)
            g = torch.autograd.grad(objective, da)[0]
        da = da.detach()
        if keep is not None:
            g, da = g.index_select(0, keep), da.index_select(0, keep)
        with torch.no_grad():
            da = _step(xa, da, g, norm, eps, step_size, Ua, basis_mode)
    else:
        if idx.numel() > 0:
            with torch.no_grad():
                logits = as_logits(model, (xa + da).view(-1, *shape))
                success[idx] = reached(logits, ya, targeted)
                delta.index_copy_(0, idx, da)
    return AttackResult(delta.detach().view_as(x), success, steps_used)


pgd_l2 = partial(pgd, norm="l2")
pgd_linf = partial(pgd, norm="linf")


# -- one step -----------------------------------------------------------------------------


def _step(x, delta, g, norm, eps, step_size, sub, basis_mode):
    """Flat x, delta, g (b, n) -> the next delta (b, n): inside the eps-ball, x + delta in [0, 1].
    ``sub``: the :class:`ActiveSubspace` of the active samples, or None."""
    if norm == "l2":
        if sub is not None:
            g, gnorm = sub.project_direction(g)
            delta = delta.addcmul_(g, step_scale(step_size, gnorm))
        else:
            delta = delta.addcmul_(g, step_size / (g.norm(dim=1, keepdim=True) + _TINY))
    else:
        delta = delta.add_(g.sign_().mul_(step_size))
    delta = _project_ball(delta, norm, eps)
    return (x + delta).clamp_(0.0, 1.0).sub_(x)


def _project_ball(delta: Tensor, norm: str, eps: float) -> Tensor:
    """delta (b, n) -> its projection onto the eps-ball of ``norm`` (in place)."""
    if norm == "linf":
        return delta.clamp_(-eps, eps)
    factor = (eps / (delta.norm(dim=1, keepdim=True) + _TINY)).clamp_(max=1.0)
    return delta.mul_(factor)


def _initial_delta(x, norm, eps, random_start, rows, basis_mode, generator):
    if not random_start:
        return torch.zeros_like(x)
    b = x.shape[0]
    gen_device = generator.device if generator is not None else x.device
    if norm == "linf" and rows is None:
        d = (torch.rand(x.shape, generator=generator, device=gen_device, dtype=x.dtype) * 2 - 1) * eps
        d = d.to(x.device)
    else:
        d = torch.randn(x.shape, generator=generator, device=gen_device, dtype=x.dtype).to(x.device)
        d = d.reshape(b, -1)
        if rows is not None:
            d = project(d, rows, basis_mode)
        r = torch.rand(b, 1, generator=generator, device=gen_device, dtype=x.dtype).to(x.device)
        if norm == "l2":
            d = d * (r * eps / (d.norm(dim=1, keepdim=True) + _TINY))
        else:
            d = d * (r * eps / (d.abs().amax(dim=1, keepdim=True) + _TINY))
        d = d.view_as(x)
    return (x + d).clamp(0.0, 1.0) - x


# -- logits, objectives, success ------------------------------------------------------------


def margin(logits: Tensor, y: Tensor) -> Tensor:
    """(b, C), (b,) -> (b,) ``max_{j != y} z_j - z_y``."""
    zy = logits.gather(1, y[:, None])[:, 0]
    others = logits.scatter(1, y[:, None], -math.inf)
    return others.amax(dim=1) - zy


def _objective(logits: Tensor, y: Tensor, loss: str, targeted: bool) -> Tensor:
    """The sum over the batch of the per-sample quantity the attack ascends (a scalar)."""
    if loss == "margin":
        m = margin(logits, y).sum()
        return -m if targeted else m
    ce = F.cross_entropy(logits, y, reduction="sum")
    return -ce if targeted else ce


def reached(logits: Tensor, y: Tensor, targeted: bool) -> Tensor:
    pred = logits.argmax(dim=1)
    return pred == y if targeted else pred != y


# -- validation -----------------------------------------------------------------------------


def _validate(model, x, y, norm, eps, step_size, steps, loss, basis, basis_mode) -> None:
    validate_inputs(model, x, y)
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    for name, v in (("eps", eps), ("step_size", step_size)):
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v <= 0:
            raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}")
    if (basis is None) != (basis_mode is None):
        raise ValueError("basis and basis_mode go together: pass both or neither")
    if basis is not None:
        if norm != "l2":
            raise ValueError(
                f"norm={norm!r} with a basis is not supported: sign(U U^T g) leaves span(U) (about 60 % of "
                "the step off it), and the steepest L-inf step within a subspace is a linear program; "
                "use norm='l2' with a basis"
            )
        validate_basis(basis, x, basis_mode)


def validate_inputs(model, x: Tensor, y: Tensor) -> None:
    """One clear error unless ``model`` is callable (and not a batch-norm module in training
    mode), x (B, ...) is a finite float batch in [0, 1] and y (B,) integer labels."""
    if not callable(model):
        raise TypeError(f"model must be callable, got {type(model).__name__}")
    if isinstance(model, torch.nn.Module):
        bn = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.training]
        if bn:
            raise ValueError("model is in training mode and contains batch norm; call model.eval() before attacking")
    if not isinstance(x, Tensor) or not x.is_floating_point() or x.dim() < 2:
        raise ValueError(f"x must be a floating tensor of shape (B, ...) with at least 2 dims, got "
                         f"{type(x).__name__} {tuple(getattr(x, 'shape', ()))}")
    if x.shape[0] == 0:
        raise ValueError("x is an empty batch")
    if not all_finite(x):
        raise ValueError("x contains non-finite values (nan or inf)")
    if x.min() < 0 or x.max() > 1:
        raise ValueError(f"x must lie in [0, 1], got range [{x.min().item():.4g}, {x.max().item():.4g}]")
    if not isinstance(y, Tensor) or y.dim() != 1 or y.shape[0] != x.shape[0] or y.is_floating_point():
        raise ValueError(f"y must be an integer tensor of shape ({x.shape[0]},), got "
                         f"{getattr(y, 'dtype', type(y).__name__)} {tuple(getattr(y, 'shape', ()))}")


def validate_basis(basis: Tensor, x: Tensor, basis_mode: str) -> None:
    """One clear ValueError unless ``basis`` (B, n, k) has orthonormal columns for the
    images x (B, ...) and ``basis_mode`` is "on" or "off"."""
    if basis_mode not in BASIS_MODES:
        raise ValueError(f"basis_mode must be one of {BASIS_MODES}, got {basis_mode!r}")
    n = x[0].numel()
    if not isinstance(basis, Tensor) or basis.dim() != 3 or basis.shape[0] != x.shape[0] or basis.shape[1] != n:
        raise ValueError(f"basis must have shape (B={x.shape[0]}, n={n}, k), got {tuple(getattr(basis, 'shape', ()))}")
    if not (1 <= basis.shape[2] <= n):
        raise ValueError(f"basis must have 1 <= k <= n columns, got k={basis.shape[2]}")
    if not all_finite(basis):
        raise ValueError("basis contains non-finite values (nan or inf)")
    # cheap orthonormality probe: U^T u_0 = e_0 for the first column u_0 of each sample
    gram0 = torch.bmm(basis[:, :, :1].transpose(1, 2), basis)[:, 0]
    target = torch.zeros_like(gram0)
    target[:, 0] = 1
    if (gram0 - target).abs().max() > 1e-3:
        raise ValueError("basis columns must be orthonormal (U^T U = I); orthonormalise with local_tangent_basis/QR")


def all_finite(t: Tensor) -> bool:
    """True when no entry of t is nan or inf. One sum screens the whole tensor (a nan or inf
    makes it non-finite; on a CPU ``torch.isfinite(t).all()`` is about 40x slower); only a
    non-finite sum, which an overflow of finite entries can also give, is checked entry by entry."""
    return bool(torch.isfinite(t.sum())) or bool(torch.isfinite(t).all())


def check_labels(y: Tensor, logits: Tensor) -> None:
    C = logits.shape[1]
    if y.min() < 0 or y.max() >= C:
        raise ValueError(f"labels must lie in [0, {C - 1}] for a model with {C} logits, got [{y.min().item()}, {y.max().item()}]")
