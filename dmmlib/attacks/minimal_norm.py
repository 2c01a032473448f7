"""Minimal-norm L2 adversarial examples: Fast Minimum-Norm (Pintor et al. 2021), batched,
with early exit, optionally on or off a per-sample subspace.

PGD answers "is there an adversarial example within eps?" and its greedy variant stops at
the first success, so its distance overshoots the boundary by up to one step: the step
size shapes the distance. FMN instead *minimises* the norm. Each step, per sample:

1. margin ``m = z_y - max_{j != y} z_j`` at ``x + delta`` (targeted: ``max_{j != t} z_j - z_t``)
   and the gradient ``g`` of the objective: the margin once the sample has been adversarial;
   before that (``start="free"``) minus the cross-entropy (targeted: the cross-entropy of the
   target), whose gradient weighs every other class by its probability and so heads for the
   nearest class boundary, where the margin heads for the runner-up class at x (issue 29: on
   the MNIST MLP, 86 % -> 97 % of digits within 2 % of the best norm any method found); with a
   basis, ``g`` is projected on or off span(U) (:func:`dmmlib.attacks.projection.project_direction`,
   the code PGD uses); for its first ``APPROACH_STEPS`` (5) steps before an adversarial point, a
   sample's step is at most ``APPROACH_OVERSHOOT`` (1.5) times its linearised distance to the
   boundary ``|m| / ||grad m||`` (projected with a basis; one more backward pass per such step,
   for every active sample, counted in ``backward_only``),
   so that the first adversarial point is not one long step out along a ray that crosses a far
   boundary (issue 29);
2. at a sample's first adversarial point, bisect along the ray from x back to the boundary
   (``bisect_steps`` forward passes without gradients: a first step far longer than the
   distance then costs nothing); if ``x + delta`` is adversarial and ``||delta||`` is the
   smallest so far, keep it;
3. the radius ``eps``: adversarial -> ``min(eps (1 - s), best norm)`` (shrink), where
   ``s = gamma 2^(r - 1)``, at most ``MAX_SHRINK`` (1/2), after ``r`` adversarial steps in a row
   (``s = gamma`` at the boundary, where the iterate alternates);
   not adversarial after one was found -> ``eps (1 + gamma)`` (grow); none found yet ->
   no radius (``start="free"``, the default: plain normalised gradient steps, as DDN
   starts), or, as in the paper (``start="linear"``), ``||delta|| + |m| / ||g||``, the
   linearised distance to the boundary, here times ``(1 + gamma)`` (without it the attack
   lands *on* a flat boundary and never crosses it);
4. ``delta <- delta - alpha g / ||g||``, projected onto the eps-ball, ``x + delta`` clamped to [0, 1].

``alpha`` falls from ``step_size`` to ``min_step_size`` (default ``step_size / 100``) and
``gamma`` from ``gamma`` to ``gamma_final`` by cosine annealing over ``steps``, as in the
paper and foolbox's ``L2FMNAttack``. The returned norm is that of the best adversarial point
visited, so it approaches the minimal distance from above; the radius adapts, so the result
depends little on ``step_size`` (tested: step sizes ten times apart, and linear models where
the distance is known exactly, also within and orthogonal to a subspace).

Two departures from the paper, both decided by measurement (``benchmarks/bench_minimal_norm.py``,
MNIST MLP, 200 digits, 100 steps): the paper's linearised start leaves some digits with no
adversarial example (those classified by a small logit margin whose linear estimate of the
distance is far too short: the radius stays pinned near it) and its median norm moves by
about 13 % between initial step sizes 0.25 and 3, where the free start finds all of them and
moves by < 0.2 %; and without the bisection a first step much longer than the distance (step
size 1 at distances of 0.01) leaves the norm several times too large after 200 steps.
foolbox 3.3.4's ``L2FMNAttack`` never projects onto its radius (its ``project`` computes
``min(1, norms / norms)``): it returns the best point of a plain normalised-gradient walk.

Early exit (per sample; a finished sample leaves the batch and costs no further passes):
a sample adversarial at ``x`` (norm 0), and, after the warm restart (below), a sample whose best norm
has improved by less than ``rtol`` (relative) in the last ``patience`` steps after an adversarial point was found,
counting only steps no longer than ``STALL_STEP_SHARE`` (1/4) of its radius. While the step
is longer than the radius the iterate jumps across the eps-ball and its best norm can stall
for ``patience`` steps although shorter steps would still shrink it: issue 29, CIFAR-10
ResNet-20 at distances of about 0.08 against an initial step of 0.5, where samples left after
20-30 passes with norms 10 % (median) and up to 90 % too large. The rule compares the step
with the sample's own radius, so it needs no per-dataset constant; where the step is long
against the distance (CIFAR-10 at step 0.5) samples now run (nearly) all ``steps``.

Issue 29 (CIFAR-10 ResNet-20 at the on/off chapter's settings, distances of about 0.08 against an
initial step of 0.5): the first adversarial point of some images lay far beyond their distance
(0.46 against 0.054 after the bisection: the ray of the first long step crosses a far boundary),
and with a shrink of ``gamma`` per step (0.05, annealed) the radius can fall by at most a factor
of about 13 over 100 steps and needs about 25 steps per halving: those images ended 15-75 % too
large. The doubling shrink brings such a radius down in a few steps (a bracket search: once the
iterate falls out of the adversarial region the radius grows again by ``gamma``), and the
approach cap makes the first adversarial point a near one; neither needs a per-dataset constant.

Before the warm restart (measured on 30 CIFAR-10 test images, all classes, 100 steps, step
0.5): fmn_l2 comes within 2 % of its own 1000-step run and of an exhaustive PGD + bisection
reference on every image, but on about 1 image in 6 foolbox's DDN with 1000 steps ends 2-5 %
lower, on the boundary of the same class in 4 of 5 of them (another local minimum of the
norm); fmn_l2 with 1000 steps does not reach it either. Tried and rejected there (no gain or
worse): the cross-entropy or a log-sum-exp margin after the first adversarial point, a step
capped at the radius (or 0.3 of it), no approach cap, an unannealed gamma, and a step to the
projection of x onto the linearised boundary.

Warm restart (issue 29, the rest of it): at ``RESTART_AT`` (1/2) of ``steps``, every sample that has an
adversarial point goes back to its best point, its radius to its best norm, and its step restarts at
``RESTART_STEP`` (1) times its best norm, annealed again (cosine) to ``min_step_size / step_size`` of
it over the remaining steps, gamma with it; a sample without one keeps the global schedule. The step
is thus scaled to the sample's own distance in the second half, whatever ``step_size`` is: on CIFAR-10
the chapter's step 0.5 is about 6 times the unconstrained distance (0.09) but half the on-manifold one
(0.95), so the absolute schedule anneals to steps too coarse for the first (5 % of the norm) and never
explores at the second's scale. Measured on 100 CIFAR-10 test images (ResNet-20, model unit 0's
tangent basis, k = 128, 100 steps, step 0.5; ``benchmarks/results/minimal_norm.md``): within 2 % of
the best norm of any method (DDN with 1000 steps and an exhaustive PGD + bisection reference
included) on 95 % of images on-manifold (worst 1.16x; before: 87 % of the best of fmn variants,
worst 1.51x), 99 % off, 86 % unconstrained (before: 83 %); MNIST 98-99 % in every setting. Early
exit waits for the restart (a stall before it ends no sample). Tried and rejected there: a step
capped at 1 or 2 times the best norm times the global schedule's annealing (on-manifold unchanged:
there the step is already shorter than the norm); a restart at 0.3 of the steps, or with a first
step of 2 or 4 times the best norm (no unconstrained failure fixed).

What is left (CIFAR-10 unconstrained, 14 of 100 images 2-25 % above the best): on 13 of them the
best is DDN's with 1000 steps (the reference only refines it); a fresh margin PGD at 1.05-1.5 times
that norm ends on the boundary of the same class as fmn_l2's point on 13 of the 14 but does not reach
the norm, nor does 100-step DDN: another local minimum of the norm that only a long trajectory reaches.

Budget: the approach cap's extra backward passes (``backward_only``) count against ``steps``,
so that forward+backward passes plus them are at most ``steps`` (DDN's budget at equal steps).

Subspace: with ``basis`` (B, n, k) and ``basis_mode`` "on", every step lies in span(U)
("on-manifold"); "off", in its orthogonal complement. Clamping to the [0, 1] box can move
``delta`` out of the subspace where the box is active: measure the share off the subspace
when it matters. Norms are L2 norms of [0,1]-scaled pixels.
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from dmmlib.attacks.pgd import check_labels, margin, reached, validate_basis, validate_inputs
from dmmlib.attacks.projection import ActiveSubspace, basis_rows, step_scale
from dmmlib.evaluate import as_logits

_TINY = 1e-12
STARTS = ("free", "linear")
#: a sample's best norm may stall (early exit) only once its step is at most this share of its radius:
#: while the step is longer, the iterate jumps across the eps-ball and stalls that a shorter step
#: would end (issue 29: CIFAR-10, radius 0.08 against a step of 0.5, samples left after ~20 passes)
STALL_STEP_SHARE = 0.25
#: before a sample's first adversarial point, for its first APPROACH_STEPS steps, a step is at most
#: APPROACH_OVERSHOOT times the linearised distance to the boundary, |m| / ||grad m|| (issue 29)
APPROACH_STEPS = 5
APPROACH_OVERSHOOT = 1.5
#: the radius shrinks by gamma * 2^(r - 1) after r adversarial steps in a row, at most by this share (issue 29)
MAX_SHRINK = 0.5
#: at this share of ``steps``, every sample with an adversarial point restarts from its best point with a step of
#: RESTART_STEP times its best norm, annealed again (cosine) to ``min_step_size / step_size`` of it; gamma too (issue 29)
RESTART_AT = 0.5
RESTART_STEP = 1.0


class MinimalNormResult(NamedTuple):
    """Result of :func:`fmn_l2`.

    - ``x_adv`` (B, ...): ``x + delta``, in [0, 1]; ``x`` itself where no adversarial point was found.
    - ``delta`` (B, ...): the smallest adversarial perturbation found (zeros where none).
    - ``norm`` (B,): ``||delta||_2`` (L2 of [0,1]-scaled pixels); ``inf`` where none was found.
    - ``success`` (B,) bool: ``x_adv`` is misclassified (untargeted) / classified as the target.
    - ``passes`` (B,) int64: forward+backward passes spent on each sample.
    - ``forward_only`` (B,) int64: forward passes without gradients (the bisection).
    - ``backward_only`` (B,) int64: backward passes without a forward pass of their own (the
      approach cap's gradient of the margin, taken on the step's graph: at most ``APPROACH_STEPS``).
    """

    x_adv: Tensor
    delta: Tensor
    norm: Tensor
    success: Tensor
    passes: Tensor
    forward_only: Tensor
    backward_only: Tensor


def fmn_l2(
    model: Callable[[Tensor], Tensor],
    x: Tensor,
    y: Tensor,
    *,
    steps: int = 100,
    step_size: float = 1.0,
    min_step_size: float | None = None,
    gamma: float = 0.05,
    gamma_final: float = 0.001,
    targeted: bool = False,
    basis: Tensor | None = None,
    basis_mode: str | None = None,
    start: str = "free",
    bisect_steps: int = 10,
    early_stop: bool = True,
    rtol: float = 1e-3,
    patience: int = 10,
) -> MinimalNormResult:
    """Fast Minimum-Norm L2 attack on ``model`` at images ``x`` with labels ``y``.

    Args:
        model: maps (B, ...) images in [0, 1] to logits (B, C), or a binary logit (B,) or
            (B, 1) read as logits ``[0, z]`` (:func:`dmmlib.evaluate.as_logits`). Eval mode.
        x: (B, ...) float images in [0, 1]. y: (B,) int labels (true labels; targets if ``targeted``).
        steps: the budget per sample (>= 1): forward+backward passes (``passes``) plus the approach
            cap's extra backward passes (``backward_only``) are at most ``steps``.
        step_size: initial L2 length of a step (> 0), in [0,1]-pixel units; annealed (cosine)
            to ``min_step_size`` (default ``step_size / 100``, > 0, <= step_size); after the warm
            restart a sample's step is scaled to its own best norm instead (module docstring).
        gamma: initial relative change of the radius per step, in (0, 1); annealed to
            ``gamma_final`` (in (0, gamma]).
        basis: (B, n, k) orthonormal columns per sample, n = prod(x.shape[1:]); with
            ``basis_mode`` "on" (search within span(basis)) or "off" (orthogonal to it).
        start: the radius before the first adversarial point: "free" (none: plain normalised
            gradient steps, as DDN starts; the default) or "linear" (the paper's linearised
            distance to the boundary, see the module docstring).
        bisect_steps: forward passes (no gradients) of a bisection along the ray from x to
            a sample's first adversarial point, back to the boundary (>= 0; 0: none).
        early_stop: let a sample leave the batch when it is done (see the module docstring):
            adversarial at x, or its best norm improved by less than ``rtol`` (in [0, 1))
            over the last ``patience`` (>= 1) steps.

    Returns:
        :class:`MinimalNormResult` (x_adv, delta, norm, success, passes, forward_only, backward_only)
        on ``x``'s device.
    """
    _validate(model, x, y, steps, step_size, min_step_size, gamma, gamma_final, basis, basis_mode, start,
              rtol, patience, bisect_steps)
    min_step_size = step_size / 100 if min_step_size is None else min_step_size
    x = x.detach()
    y = y.detach().long().to(x.device)
    B, shape = x.shape[0], x.shape[1:]
    xf = x.reshape(B, -1)
    dev, dt = x.device, x.dtype

    best_delta = torch.zeros_like(xf)
    best_norm = torch.full((B,), math.inf, device=dev, dtype=dt)
    passes = torch.zeros(B, dtype=torch.long, device=dev)
    forward_only = torch.zeros(B, dtype=torch.long, device=dev)
    backward_only = torch.zeros(B, dtype=torch.long, device=dev)

    # the active samples, compacted as they leave: a = "active"
    idx = torch.arange(B, device=dev)
    xa, ya = xf, y
    ra = None if basis is None else ActiveSubspace(basis_rows(basis.detach().to(x)), basis_mode)
    da = torch.zeros_like(xf)
    ba, bna = torch.zeros_like(xf), best_norm.clone()  # best delta and norm of the active samples
    eps = torch.full((B,), math.inf, device=dev, dtype=dt)
    worst = torch.maximum(xf, 1 - xf).norm(dim=1)  # no point of the box is further from x
    ref_norm, ref_step = best_norm.clone(), torch.zeros(B, dtype=torch.long, device=dev)
    found = torch.zeros(B, dtype=torch.bool, device=dev)
    streak = torch.zeros(B, dtype=torch.long, device=dev)  # adversarial steps in a row

    restart = int(RESTART_AT * steps)  # the step of the warm restart (0: none, steps < 2)
    floor = min_step_size / step_size  # the annealed step's last share of its first
    a2 = torch.full((B,), math.nan, device=dev, dtype=dt)  # the restart's first step per sample (nan: none)
    extra = 0  # the approach cap's backward passes so far: they count against the budget of ``steps``
    for t in range(steps):
        if t + extra >= steps:
            break
        cos = (1 + math.cos(math.pi * t / steps)) / 2
        alpha = min_step_size + (step_size - min_step_size) * cos
        gam = gamma_final + (gamma - gamma_final) * cos
        if restart and t == restart:  # warm restart: from the best point, a step scaled to the best norm
            da = torch.where(found[:, None], ba, da)
            eps = torch.where(found, bna, eps)
            a2 = torch.where(found, RESTART_STEP * bna, a2)
            streak = torch.zeros_like(streak)
            ref_norm, ref_step = bna.clone(), torch.full_like(ref_step, t)
        if restart and t >= restart:
            cos2 = (1 + math.cos(math.pi * (t - restart) / (steps - restart))) / 2
            gam = gamma_final + (gamma - gamma_final) * cos2

        da.requires_grad_(True)
        with torch.enable_grad():
            logits = as_logits(model, (xa + da).view(-1, *shape))
            if t == 0:
                check_labels(y, logits)
            m = -margin(logits, ya) if not targeted else margin(logits, ya)  # > 0 while not adversarial
            obj = m
            approach = start == "free" and t < APPROACH_STEPS and not bool(found.all())
            if approach:  # the linearised distance to the boundary, |m| / ||grad m|| (projected)
                gm = torch.autograd.grad(m.sum(), da, retain_graph=True)[0]
                gmn = gm.norm(dim=1) if ra is None else ra.project_direction(gm)[1][:, 0]
                dest = m.detach().abs() / gmn.clamp_min(_TINY)
                backward_only[idx] += 1  # one more backward pass for every active sample
                extra += 1
            if start == "free":  # before a sample's first adversarial point: the cross-entropy's direction
                ce = F.cross_entropy(logits, ya, reduction="none")
                obj = torch.where(found, m, ce if targeted else -ce)
            g = torch.autograd.grad(obj.sum(), da)[0]
        da = da.detach()
        m = m.detach()
        with torch.no_grad():
            adv = reached(logits.detach(), ya, targeted)
            dn = da.norm(dim=1)
            new = adv & ~found & (dn > 0)
            if bisect_steps and new.any():
                # the first adversarial point of a sample: back along its ray to the boundary
                rows = new.nonzero().squeeze(1)
                d0 = da.index_select(0, rows)
                d0 = d0 * _bisect(model, xa.index_select(0, rows), d0, ya.index_select(0, rows), targeted,
                                  bisect_steps, shape)[:, None]
                da.index_copy_(0, rows, d0)
                dn.index_copy_(0, rows, d0.norm(dim=1))
                forward_only[idx.index_select(0, rows)] += bisect_steps
            better = adv & (dn <= bna)
            bna = torch.where(better, dn, bna)
            ba = torch.where(better[:, None], da, ba)
            found = found | adv

            if ra is not None:
                gp, gn = ra.project_direction(g)
                gn = gn[:, 0]
            else:
                gp, gn = g, g.norm(dim=1)

            # 3. the radius
            if start == "linear":
                # (1 + gamma) past the linearised boundary, so that a flat boundary is crossed, not landed on
                boundary = (dn + m.abs() / gn) * (1 + gam)  # inf where the (projected) gradient vanishes
            else:
                boundary = torch.full_like(dn, math.inf)
            # r adversarial steps in a row: shrink by gamma * 2^(r - 1) (at most MAX_SHRINK)
            streak = torch.where(adv, streak + 1, torch.zeros_like(streak))
            shrink = (gam * torch.pow(2.0, (streak - 1).clamp(min=0).to(dt))).clamp(max=MAX_SHRINK)
            eps = torch.where(adv, torch.minimum(eps * (1 - shrink), bna),
                              torch.where(found, eps * (1 + gam), boundary))
            eps = torch.minimum(eps, worst)

            # 4. the step, the eps-ball, the box
            al = torch.full_like(dn, alpha)
            if restart and t >= restart:  # a restarted sample's own annealed step (the others keep alpha)
                al = torch.where(torch.isnan(a2), al, a2 * (floor + (1 - floor) * cos2))
            if approach:
                al = torch.where(found, al, torch.minimum(al, APPROACH_OVERSHOOT * dest))
            da = da - gp * step_scale(al, gn)[:, None]
            da = da * (eps / (da.norm(dim=1) + _TINY)).clamp(max=1.0)[:, None]
            da = (xa + da).clamp_(0.0, 1.0).sub_(xa)

            passes[idx] += 1
            if not early_stop:
                continue
            # a stall counts only once the step resolves the radius (STALL_STEP_SHARE)
            improved = (bna < ref_norm * (1 - rtol)) | (al > STALL_STEP_SHARE * eps)
            ref_norm = torch.where(improved, bna, ref_norm)
            ref_step = torch.where(improved, torch.full_like(ref_step, t), ref_step)
            # a stall ends a sample only after the restart (which every sample gets)
            done = (bna == 0) | (found & (t >= restart) & (t - ref_step >= patience))
            if done.any():
                rows = done.nonzero().squeeze(1)
                gone = idx.index_select(0, rows)
                best_delta.index_copy_(0, gone, ba.index_select(0, rows))
                best_norm.index_copy_(0, gone, bna.index_select(0, rows))
                keep = (~done).nonzero().squeeze(1)
                if keep.numel() == 0:
                    idx = keep
                    break
                idx, xa, ya, da, ba, bna, eps, worst, ref_norm, ref_step, found, streak, a2 = (
                    v.index_select(0, keep)
                    for v in (idx, xa, ya, da, ba, bna, eps, worst, ref_norm, ref_step, found, streak, a2)
                )
                if ra is not None:
                    ra.keep(keep)
    if idx.numel() > 0:
        best_delta.index_copy_(0, idx, ba)
        best_norm.index_copy_(0, idx, bna)

    success = torch.isfinite(best_norm)
    delta = best_delta.view_as(x)
    return MinimalNormResult(x + delta, delta, best_norm, success, passes, forward_only, backward_only)


def _bisect(model, x: Tensor, d: Tensor, y: Tensor, targeted: bool, steps: int, shape) -> Tensor:
    """For x, d (r, n) with x + d adversarial: the smallest t in (0, 1] (to 2^-steps) found
    by bisection with x + t d adversarial, (r,). ``steps`` forward passes, no gradients."""
    lo = torch.zeros(d.shape[0], device=d.device, dtype=d.dtype)
    hi = torch.ones_like(lo)
    for _ in range(steps):
        mid = (lo + hi) / 2
        a = reached(as_logits(model, (x + d * mid[:, None]).view(-1, *shape)), y, targeted)
        hi = torch.where(a, mid, hi)
        lo = torch.where(a, lo, mid)
    return hi


# -- validation -----------------------------------------------------------------------------


def _validate(model, x, y, steps, step_size, min_step_size, gamma, gamma_final, basis, basis_mode, start,
              rtol, patience, bisect_steps):
    validate_inputs(model, x, y)
    if start not in STARTS:
        raise ValueError(f"start must be one of {STARTS}, got {start!r}")

    def number(name, v, lo, hi, lo_open=True, hi_open=False):
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        ok = ok and (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
        if not ok:
            raise ValueError(f"{name} must be a finite number in {'(' if lo_open else '['}{lo}, {hi}"
                             f"{')' if hi_open else ']'}, got {v!r}")

    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}")
    if not isinstance(bisect_steps, int) or isinstance(bisect_steps, bool) or not 0 <= bisect_steps <= 60:
        raise ValueError(f"bisect_steps must be an int in [0, 60], got {bisect_steps!r}")
    if not isinstance(patience, int) or isinstance(patience, bool) or patience < 1:
        raise ValueError(f"patience must be an int >= 1, got {patience!r}")
    number("step_size", step_size, 0, math.inf)
    if min_step_size is not None:
        number("min_step_size", min_step_size, 0, step_size)
    number("gamma", gamma, 0, 1, hi_open=True)
    number("gamma_final", gamma_final, 0, gamma)
    number("rtol", rtol, 0, 1, lo_open=False, hi_open=True)
    if (basis is None) != (basis_mode is None):
        raise ValueError("basis and basis_mode go together: pass both or neither")
    if basis is not None:
        validate_basis(basis, x, basis_mode)
