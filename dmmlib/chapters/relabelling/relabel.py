"""Ilyas et al.'s relabelled data sets: adversarial examples of N1 labelled with their targets.

For every training image ``x`` with label ``y`` a target class ``t != y`` is chosen, and a
targeted L2 PGD attack on the clean network N1 moves ``x`` to ``x + delta`` (||delta|| <=
eps) where N1 says ``t`` with high confidence (cross-entropy on ``t`` minimised for all
steps, no early stop: Ilyas et al.'s recipe). The pair ``(x + delta, t)`` is the new
training example; a fresh network N2 trained only on these pairs is then tested on clean
images with their true labels.

- ``D_rand``: ``t`` uniform over the classes other than ``y``;
- ``D_det``: ``t = (y + 1) mod C`` (for two classes both are the flipped label).

Norms are L2 over all input dimensions (cube units, or [0,1]-scaled pixels).
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor
from dmmlib.progress import progress as tqdm

from dmmlib.attacks.pgd import pgd
from dmmlib.evaluate import model_device, predict
from dmmlib.stats import clopper_pearson

KINDS = ("rand", "det")


class Relabelled(NamedTuple):
    """A relabelled data set: ``x`` (N, ...) adversarial inputs in [0, 1], ``target`` (N,)
    int64 their (wrong) labels, ``success`` (N,) bool (N1 predicts the target at ``x``),
    ``norm`` (N,) the L2 norm of each perturbation."""

    x: Tensor
    target: Tensor
    success: Tensor
    norm: Tensor


def targets(y: Tensor, n_classes: int, kind: str, *, generator: torch.Generator | None = None) -> Tensor:
    """Target labels (N,) int64 for true labels ``y`` (N,): ``kind`` "rand" (uniform over the
    other ``n_classes - 1`` classes) or "det" (``(y + 1) mod n_classes``). Never equal to ``y``."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if not isinstance(n_classes, int) or n_classes < 2:
        raise ValueError(f"n_classes must be an int >= 2, got {n_classes!r}")
    y = y.long()
    if y.numel() and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes - 1}]")
    if kind == "det":
        return (y + 1) % n_classes
    shift = torch.randint(1, n_classes, y.shape, generator=generator)
    return (y + shift) % n_classes


def relabel(
    model,
    x: Tensor,
    target: Tensor,
    *,
    eps: float,
    steps: int,
    step_size: float | None = None,
    batch_size: int = 500,
    progress: bool = False,
) -> Relabelled:
    """Targeted L2 PGD on ``model`` (N1, eval mode) from every image of ``x`` (N, ...) towards
    ``target`` (N,): cross-entropy, ``steps`` steps of ``step_size`` (default 2.5 eps / steps,
    Madry et al.'s rule), inside the L2 ball of radius ``eps``, no early stop.
    Returns a :class:`Relabelled` on the CPU."""
    if step_size is None:
        step_size = 2.5 * eps / steps
    device = model_device(model)
    xs, ss, ns = [], [], []
    chunks = list(zip(x.split(batch_size), target.split(batch_size)))
    for xb, tb in tqdm(chunks, desc="targeted PGD", disable=not progress, leave=False):
        r = pgd(model, xb.to(device), tb.to(device), norm="l2", eps=float(eps), step_size=float(step_size),
                steps=int(steps), loss="ce", targeted=True, early_stop=False)
        xa = (xb.to(device) + r.delta).clamp(0, 1)
        xs.append(xa.cpu())
        ss.append(r.success.cpu())
        ns.append(r.delta.flatten(1).norm(dim=1).cpu())
    return Relabelled(torch.cat(xs), target.clone().long(), torch.cat(ss), torch.cat(ns))


def noise_like(x: Tensor, norm: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
    """``x`` (N, ...) in [0, 1] plus random noise of L2 norm ``norm`` (N,) per row, in a
    uniformly random direction (a normalised Gaussian), clipped to [0, 1] (the clipping can only
    shorten it). The control for "N2 learnt from the perturbations": a perturbation of the
    attack's size that does not point at the target."""
    if not isinstance(x, Tensor) or not x.is_floating_point() or x.dim() < 2:
        raise TypeError(f"x must be a float tensor (N, ...), got {type(x).__name__} {tuple(getattr(x, 'shape', ()))}")
    norm = torch.as_tensor(norm, dtype=x.dtype)
    if norm.shape != (x.shape[0],) or not torch.isfinite(norm).all() or (norm < 0).any():
        raise ValueError(f"norm must be ({x.shape[0]},) finite and >= 0, got shape {tuple(norm.shape)}")
    d = torch.randn(x.shape, generator=generator, dtype=x.dtype).flatten(1)
    d = d / d.norm(dim=1, keepdim=True).clamp_min(1e-12) * norm[:, None]
    return (x + d.view_as(x)).clamp(0, 1)


def agreement(model, x: Tensor, labels: Tensor) -> Tensor:
    """(N,) bool: ``model``'s prediction at ``x`` (N, ...) equals ``labels`` (N,)."""
    return predict(model, x) == labels.cpu()


def rate_interval(per_seed_hits: list[Tensor], confidence: float = 0.95) -> dict:
    """A rate over seeds with an interval that covers both training seeds and test images.

    ``per_seed_hits``: one (n,) bool tensor per seed (e.g. correct test predictions). The
    interval is the union of the t-interval of the per-seed rates (seed-to-seed variation;
    only with >= 2 seeds) and the Clopper-Pearson interval of the pooled counts (finite test
    set). Returns {"value", "lo", "hi", "per_seed" (list), "n_seeds", "n_images"}.
    """
    from scipy import stats as st

    if not per_seed_hits:
        raise ValueError("need at least one seed")
    rates = torch.tensor([h.float().mean().item() for h in per_seed_hits], dtype=torch.float64)
    k = int(sum(int(h.sum()) for h in per_seed_hits))
    n = int(sum(h.numel() for h in per_seed_hits))
    lo, hi = clopper_pearson(k, n, confidence)
    mean = float(rates.mean())
    if len(rates) >= 2:
        half = float(st.t.ppf(0.5 + confidence / 2, len(rates) - 1) * rates.std(unbiased=True) / len(rates) ** 0.5)
        lo, hi = min(lo, mean - half), max(hi, mean + half)
    return {"value": mean, "lo": max(0.0, lo), "hi": min(1.0, hi), "per_seed": rates.tolist(),
            "n_seeds": len(rates), "n_images": int(per_seed_hits[0].numel())}


def mean_interval(per_seed_values: list[float], per_seed_lo: list[float] | None = None,
                  per_seed_hi: list[float] | None = None, confidence: float = 0.95) -> dict:
    """A mean over seeds with its t-interval (>= 2 seeds), widened to contain every per-seed
    interval's average bounds when given (a single seed: its own interval)."""
    from scipy import stats as st

    v = torch.tensor(per_seed_values, dtype=torch.float64)
    if len(v) == 0:
        raise ValueError("need at least one seed")
    mean = float(v.mean())
    lo = hi = mean
    if len(v) >= 2:
        half = float(st.t.ppf(0.5 + confidence / 2, len(v) - 1) * v.std(unbiased=True) / len(v) ** 0.5)
        lo, hi = mean - half, mean + half
    if per_seed_lo is not None and per_seed_hi is not None:
        lo = min(lo, float(torch.tensor(per_seed_lo, dtype=torch.float64).mean()))
        hi = max(hi, float(torch.tensor(per_seed_hi, dtype=torch.float64).mean()))
    return {"value": mean, "lo": lo, "hi": hi, "per_seed": v.tolist(), "n_seeds": len(v)}
