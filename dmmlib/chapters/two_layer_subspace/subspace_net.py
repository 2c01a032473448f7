"""Data on a k-dimensional linear subspace of R^n and the two-layer ReLU network of Melamed,
Yehudai and Vardi (2023), batched over B independent networks.

The network is ``N(x) = sum_i u_i relu(w_i . x + b_i)`` with m hidden units. As in the paper's
authors' experiments (github.com/odeliamel/off-manifold-robustness, diagonal/train.py), both
layers are trained, by full-batch gradient descent on the logistic loss with optional weight
decay (L2 regularisation), until every training point has margin ``(2y - 1) N(x)`` at least a
target (their 0.3); the initialisation scale ``s`` multiplies the fan-in initialisation of both
layers (their ``factor`` divides it): ``w_i ~ s N(0, I_n / n)``, ``u_i ~ s N(0, 1 / m)``,
``b_i = 0``.

Why the orthogonal directions matter: the gradient of the loss with respect to ``w_i`` is a
combination of the training points, so it lies in the data subspace; the component of ``w_i``
orthogonal to the subspace therefore never changes except through the weight decay, which
shrinks it by ``(1 - lr * wd)`` per step. The input gradient of N orthogonal to the subspace,
``P_perp sum_i u_i 1[active] w_i``, is built from these frozen initial components.

Shapes: B networks, m hidden units, n input dimensions, T points per network. All tensors are
float32 unless said otherwise; distances are plain Euclidean (L2) norms in R^n.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from dmmlib.subspaces import random_subspace


class SubspaceData(NamedTuple):
    """One data set on a subspace: ``basis`` (n, k) orthonormal, ``label_dir`` (k,) unit,
    ``x`` (N, n) points, ``y`` (N,) int64 labels in {0, 1}, ``coords`` (N, k) = x @ basis."""

    basis: Tensor
    label_dir: Tensor
    x: Tensor
    y: Tensor
    coords: Tensor


class TwoLayer(NamedTuple):
    """B two-layer ReLU networks: ``w`` (B, m, n), ``b`` (B, m), ``u`` (B, m) (fixed, +-1/sqrt(m))."""

    w: Tensor
    b: Tensor
    u: Tensor


def subspace_data(n: int, k: int, n_points: int, *, margin: float, seed: int) -> SubspaceData:
    """``n_points`` points on a random k-dimensional subspace of R^n with linearly separable labels.

    In-subspace coordinates ``c ~ N(0, I_k / k)`` (so ``||x||`` is about 1 for every k); label ``y = 1[v . c >= 0]`` for a random unit
    ``v`` (k,); then each point moves ``margin`` further from the boundary along ``+-v`` (so
    every point is at least ``margin`` from the true boundary ``v . c = 0``, inside the
    subspace); ``x = basis c``. Seeded by ``seed`` alone (the same seed gives the same subspace
    and points for every network trained on it).
    """
    for name, v, lo in (("n", n, 2), ("k", k, 1), ("n_points", n_points, 2)):
        if not isinstance(v, int) or isinstance(v, bool) or v < lo:
            raise ValueError(f"{name} must be an int >= {lo}, got {v!r}")
    if k >= n:
        raise ValueError(f"the subspace dimension k must be below the ambient n, got k={k}, n={n}")
    if not (isinstance(margin, (int, float)) and math.isfinite(margin) and margin >= 0):
        raise ValueError(f"margin must be a finite number >= 0, got {margin!r}")
    g = torch.Generator().manual_seed(int(seed))
    basis = random_subspace(n, k, generator=g)
    v = torch.randn(k, generator=g, dtype=torch.float64)
    v = (v / v.norm()).float()
    c = torch.randn(n_points, k, generator=g) / math.sqrt(k)
    side = torch.where(c @ v >= 0, 1.0, -1.0)
    c = c + margin * side[:, None] * v
    return SubspaceData(basis, v, c @ basis.T, (side > 0).long(), c)


def init_two_layer(n: int, m: int, scales: Tensor, seeds) -> TwoLayer:
    """B = len(scales) networks; network j draws its weights from ``seeds[j]`` (so networks
    with the same seed and different scales share their weight directions) and multiplies them
    by ``scales[j]``: ``w ~ s N(0, I_n / n)``, ``u ~ s N(0, 1 / m)`` (fan-in), ``b = 0``."""
    scales = torch.as_tensor(scales, dtype=torch.float32).reshape(-1)
    seeds = [int(s) for s in seeds]
    if len(seeds) != len(scales):
        raise ValueError(f"one seed per network: {len(seeds)} seeds for {len(scales)} scales")
    if not (torch.isfinite(scales).all() and (scales > 0).all()):
        raise ValueError("initialisation scales must be finite and > 0")
    if not (isinstance(m, int) and m >= 1 and isinstance(n, int) and n >= 1):
        raise ValueError(f"n and the width m must be ints >= 1, got n={n!r}, m={m!r}")
    ws, us = [], []
    for s in seeds:  # one generator per network (B draws; no loop over data)
        g = torch.Generator().manual_seed(s)
        ws.append(torch.randn(m, n, generator=g) / math.sqrt(n))
        us.append(torch.randn(m, generator=g) / math.sqrt(m))
    w = torch.stack(ws) * scales[:, None, None]
    u = torch.stack(us) * scales[:, None]
    return TwoLayer(w, torch.zeros(len(seeds), m), u)


def _pre(net: TwoLayer, x: Tensor) -> Tensor:
    return torch.baddbmm(net.b[:, None, :], x, net.w.transpose(1, 2))


def forward(net: TwoLayer, x: Tensor) -> Tensor:
    """The networks' outputs: x (B, T, n) -> (B, T) (a binary logit: class 1 when > 0)."""
    return torch.bmm(F.relu(_pre(net, x)), net.u[:, :, None])[..., 0]


def input_gradient(net: TwoLayer, x: Tensor) -> Tensor:
    """dN/dx at x (B, T, n) -> (B, T, n): ``sum_i u_i 1[w_i . x + b_i > 0] w_i`` (exact)."""
    return torch.bmm((_pre(net, x) > 0).to(x.dtype) * net.u[:, None, :], net.w)


def margins(net: TwoLayer, x: Tensor, y: Tensor) -> Tensor:
    """Signed outputs ``(2y - 1) N(x)`` (B, T): > 0 where the network is right."""
    return (2.0 * y.to(x.dtype) - 1.0) * forward(net, x)


class Training(NamedTuple):
    """What :func:`train` returns: ``net`` (the trained networks), ``steps`` (B,) int64 (the
    step at which each network reached the target margin; ``max_steps`` where it did not),
    ``reached`` (B,) bool, ``curve`` (B, R) the mean logistic loss at R evenly spaced steps
    (frozen at its final value once a network stopped)."""

    net: TwoLayer
    steps: Tensor
    reached: Tensor
    curve: Tensor


def train(net: TwoLayer, x: Tensor, y: Tensor, *, lr: float, max_steps: int, target_margin: float,
          weight_decay: Tensor, record: int = 50) -> Training:
    """Full-batch gradient descent on both layers of each network, until it fits its training
    set with margin ``target_margin`` (as the authors' code stops: every training point has
    ``(2y - 1) N(x) >= target_margin``) or ``max_steps`` steps.

    x (B, N, n), y (B, N) labels in {0, 1}; ``weight_decay`` (B,) >= 0: each step is
    ``theta <- theta - lr (grad L + wd theta)`` for every parameter theta (w, b, u), with L the
    network's mean logistic loss. A network that reached the margin stops (its parameters
    freeze) while the others go on.
    """
    if not (isinstance(max_steps, int) and max_steps >= 1):
        raise ValueError(f"max_steps must be an int >= 1, got {max_steps!r}")
    for name, v in (("lr", lr), ("target_margin", target_margin)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
    B = net.w.shape[0]
    if x.dim() != 3 or x.shape[0] != B or y.shape != x.shape[:2] or x.shape[2] != net.w.shape[2]:
        raise ValueError(f"x must be (B={B}, N, n={net.w.shape[2]}) and y (B, N); got {tuple(x.shape)}, {tuple(y.shape)}")
    wd = torch.as_tensor(weight_decay, dtype=x.dtype).reshape(-1)
    if wd.shape != (B,) or not (wd >= 0).all():
        raise ValueError(f"weight_decay must be (B={B},) values >= 0, got {tuple(wd.shape)}")
    sign = 2.0 * y.to(x.dtype) - 1.0
    params = [p.clone().requires_grad_(True) for p in net]
    active = torch.ones(B, dtype=torch.bool)
    stop = torch.full((B,), max_steps, dtype=torch.long)
    at = torch.linspace(0, max_steps - 1, min(record, max_steps)).round().long().tolist()
    curve, last = [], torch.zeros(B)
    for t in range(max_steps):
        out = sign * forward(TwoLayer(*params), x)
        loss = F.softplus(-out).mean(1)  # (B,)
        with torch.no_grad():
            done = active & (out.min(1).values >= target_margin)
            stop[done] = t
            active &= ~done
            last = torch.where(active | done, loss.detach(), last)
        if t in at:
            curve.append(last.clone())
        if not active.any():
            break
        grads = torch.autograd.grad(loss.sum(), params)
        with torch.no_grad():
            keep = active.to(x.dtype)
            for p, g in zip(params, grads):
                shape = (B,) + (1,) * (p.dim() - 1)
                p -= (lr * keep).view(shape) * (g + wd.view(shape) * p)
    while len(curve) < len(at):
        curve.append(last.clone())
    trained = TwoLayer(*(p.detach() for p in params))
    return Training(trained, stop, ~active, torch.stack(curve, 1))
