"""Training and measuring the networks of *Adversarial Spheres* (Gilmer et al. 2018).

- :func:`build_net` / :func:`train_sphere_net`: Adam on the sigmoid cross-entropy, online
  (fresh minibatches, N = infinity) or on a fixed set of N points, with checkpoints.
- :func:`error_rate`: errors on many fresh samples of one sphere, in chunks, with an exact
  Clopper-Pearson interval (zero errors in n samples bounds the rate; it is not zero).
- :func:`nearest_error_distances`: the manifold attack (or its off-manifold form) from
  uniform points of a sphere, the mean L2 distance to the nearest error (section 3, fig. 5).
- :func:`gradient_normal_cosine`: ``|cos|`` of the angle between the input gradient of the
  logit and the sphere's normal ``x / ||x||`` at data points.
- :func:`quad_losses`: average (sampled) and worst-case (exact, from the eigen form) loss of
  a quadratic network (figure 3, right).
"""
from __future__ import annotations

import copy
import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from dmmlib.progress import progress as tqdm

from dmmlib.attacks.sphere import manifold_attack
from dmmlib.data.spheres import R_PAPER, batches, sample_sphere
from dmmlib.evaluate import model_device
from dmmlib.models.sphere_nets import QuadNet, ReluNet
from dmmlib.stats import clopper_pearson

Callback = Callable[[int, nn.Module], dict]


def build_net(kind: str, d: int, hidden: int, depth: int = 2, *, seed: int = 0) -> nn.Module:
    """``kind`` "relu" (:class:`ReluNet`, batch norm) or "quad" (:class:`QuadNet`), weights fixed by ``seed``."""
    if kind == "relu":
        torch.manual_seed(seed)
        return ReluNet(d, hidden, depth)
    if kind == "quad":
        return QuadNet(d, hidden, generator=torch.Generator().manual_seed(seed))
    raise ValueError(f"kind must be 'relu' or 'quad', got {kind!r}")


def train_sphere_net(
    model: nn.Module,
    *,
    d: int,
    steps: int,
    batch_size: int = 50,
    lr: float = 1e-4,
    R: float = R_PAPER,
    N: int | None = None,
    seed: int = 0,
    checkpoints: tuple[int, ...] | list[int] = (),
    callback: Callback | None = None,
    keep_states: bool = False,
    progress: bool = True,
) -> dict[str, list]:
    """Adam on the mean sigmoid cross-entropy for ``steps`` minibatches (online if ``N`` is
    None). At each step in ``checkpoints`` (0 = before training) the model is put in eval
    mode and ``callback(step, model)`` (a dict of numbers) and/or a copy of its state dict are
    recorded. Returns ``{"loss": per-step training loss, "records": [{"step", ...}],
    "states": [(step, state_dict)]}``; the model is left trained, in eval mode."""
    if steps < 0 or batch_size < 1 or lr <= 0:
        raise ValueError(f"need steps >= 0, batch_size >= 1, lr > 0; got {steps}, {batch_size}, {lr}")
    bad = [c for c in checkpoints if not 0 <= c <= steps]
    if bad:
        raise ValueError(f"checkpoints must lie in [0, steps={steps}], got {bad}")
    marks = set(checkpoints)
    out: dict[str, list] = {"loss": [], "records": [], "states": []}

    def record(step: int) -> None:
        model.eval()
        if callback is not None:
            out["records"].append({"step": step, **callback(step, model)})
        if keep_states:
            out["states"].append((step, copy.deepcopy(model.state_dict())))
        model.train()

    device = model_device(model)  # data are drawn on the CPU (seeded), then moved
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    if 0 in marks:
        record(0)
    data = batches(d, batch_size, steps, R=R, N=N, seed=seed)
    for step, (x, y) in enumerate(tqdm(data, total=steps, disable=not progress, desc="train"), start=1):
        loss = F.binary_cross_entropy_with_logits(model(x.to(device)), y.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        out["loss"].append(float(loss.detach()))
        if step in marks:
            record(step)
    model.eval()
    return out


@torch.no_grad()
def error_rate(
    model: nn.Module,
    d: int,
    n: int,
    *,
    R: float = R_PAPER,
    sphere: str = "inner",
    chunk: int = 100_000,
    seed: int = 0,
    confidence: float = 0.95,
    progress: bool = False,
) -> dict[str, float]:
    """Errors of ``model`` (eval mode) on ``n`` fresh uniform points of the inner (label 0)
    or outer (label 1) sphere, drawn in chunks. Returns ``{"errors", "n", "rate", "lo",
    "hi"}`` with the exact Clopper-Pearson interval at ``confidence``."""
    if sphere not in ("inner", "outer"):
        raise ValueError(f"sphere must be 'inner' or 'outer', got {sphere!r}")
    if n < 1 or chunk < 1:
        raise ValueError(f"n and chunk must be >= 1, got {n}, {chunk}")
    radius, label = (1.0, 0) if sphere == "inner" else (R, 1)
    g = torch.Generator().manual_seed(seed)
    errors, done = 0, 0
    with tqdm(total=n, disable=not progress, desc=f"error rate ({sphere})") as bar:
        while done < n:
            m = min(chunk, n - done)
            pred = model(sample_sphere(m, d, radius, generator=g).to(model_device(model))) > 0
            errors += int((pred != bool(label)).sum())
            done += m
            bar.update(m)
    lo, hi = clopper_pearson(errors, n, confidence)
    return {"errors": errors, "n": n, "rate": errors / n, "lo": lo, "hi": hi}


def nearest_error_distances(
    model: nn.Module,
    d: int,
    n_points: int,
    *,
    steps: int,
    step_size: float,
    R: float = R_PAPER,
    sphere: str = "inner",
    constraint: str = "sphere",
    mode: str = "nearest",
    seed: int = 0,
) -> dict[str, torch.Tensor]:
    """Run :func:`manifold_attack` from ``n_points`` uniform points of a sphere. Returns
    ``{"x", "x_adv", "distance" (n,), "found" (n,) bool, "norm_adv" (n,)}``; ``distance`` is
    the L2 distance to the error found (meaningful where ``found``)."""
    radius, label = (1.0, 0) if sphere == "inner" else (R, 1)
    x = sample_sphere(n_points, d, radius, generator=torch.Generator().manual_seed(seed))
    y = torch.full((n_points,), label)
    dev = model_device(model)
    res = manifold_attack(model, x.to(dev), y.to(dev), steps=steps, step_size=step_size, mode=mode,
                          constraint=constraint)
    x_adv = res.x_adv.cpu()
    return {"x": x, "x_adv": x_adv, "distance": res.distance.cpu(), "found": res.found.cpu(),
            "norm_adv": x_adv.norm(dim=1)}


def gradient_normal_cosine(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``|cos|`` of the angle between ``grad_x logit`` and the normal ``x / ||x||`` at each
    point of ``x`` (n, d) -> (n,). 1: the gradient points straight off the sphere (along the
    normal); a random direction gives about ``1/sqrt(d)``. Model in eval mode."""
    if x.ndim != 2:
        raise ValueError(f"x must have shape (n, d), got {tuple(x.shape)}")
    x = x.detach().to(model_device(model)).requires_grad_(True)
    with torch.enable_grad():
        g = torch.autograd.grad(model(x).sum(), x)[0]
    return (F.cosine_similarity(g, x.detach(), dim=1)).abs().cpu()


@torch.no_grad()
def quad_losses(model: QuadNet, x: torch.Tensor, y: torch.Tensor, R: float = R_PAPER) -> dict[str, float]:
    """Average sigmoid cross-entropy on ``(x, y)`` and the exact worst case over both spheres:
    on the inner sphere the largest logit is ``max_i c_i + b``, on the outer one the smallest
    is ``R^2 min_i c_i + b`` (``c_i = w s_i^2``, eigen form). Also the number of incorrect
    ``alpha_i`` (NaN when ``b >= 0``)."""
    dev = model_device(model)
    avg = float(F.binary_cross_entropy_with_logits(model(x.to(dev)), y.to(dev)))
    c, b = model.eigen_form()
    worst = max(F.softplus(c.max() + b).item(), F.softplus(-(R**2 * c.min() + b)).item())
    if b < 0:
        alpha = c / (-b)
        n_bad = int(((alpha > 1) | (alpha < 1 / R**2)).sum())
    else:
        n_bad = math.nan
    return {"avg_loss": avg, "worst_loss": worst, "n_incorrect": n_bad}

