"""The two networks of *Adversarial Spheres* (Gilmer et al. 2018), sections 3 and 4.

- :class:`ReluNet`: ``depth`` hidden ReLU layers of ``hidden`` units, batch norm on the
  hidden layers (not on the readout), one logit (section 3: d=500, 2 x 1000).
- :class:`QuadNet`: the quadratic network ``y(x) = w 1^T (W1 x)^2 + b`` with ``W1`` of
  shape ``(h, d)`` and scalars ``w, b`` (eq. 1). Appendix B: with ``W1 = U S V^T`` the
  logit is ``w sum_i s_i^2 z_i^2 + b`` with ``z = V^T x``, and the decision boundary is
  ``sum_i alpha_i z_i^2 = 1`` with ``alpha_i = w s_i^2 / (-b)`` (``s_i = 0`` for
  ``i > h`` when ``h < d``).

Both return one logit per input, shape ``(n,)``; a positive logit means "outer sphere".
"""
from __future__ import annotations

import math

import torch
from torch import nn


class ReluNet(nn.Module):
    """ReLU MLP ``d -> hidden (x depth) -> 1`` with batch norm after each hidden linear layer."""

    def __init__(self, d: int, hidden: int = 1000, depth: int = 2, batch_norm: bool = True):
        super().__init__()
        if min(d, hidden, depth) < 1:
            raise ValueError(f"d, hidden and depth must be >= 1, got {d}, {hidden}, {depth}")
        layers: list[nn.Module] = []
        width = d
        for _ in range(depth):
            layers += [nn.Linear(width, hidden)]
            layers += [nn.BatchNorm1d(hidden)] if batch_norm else []
            layers += [nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)
        self.d = d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(n, d)`` -> logits ``(n,)``."""
        return self.net(x).squeeze(-1)


class QuadNet(nn.Module):
    """The quadratic network ``w * sum_j (W1 x)_j^2 + b`` (no hidden bias). ``W1`` starts
    uniform in ``[-1/sqrt(d), 1/sqrt(d)]``, ``w = 1`` and ``b`` puts the mean boundary at
    radius 1.15 (the paper does not give its initialisation)."""

    def __init__(self, d: int, hidden: int = 1000, *, generator: torch.Generator | None = None):
        super().__init__()
        if min(d, hidden) < 1:
            raise ValueError(f"d and hidden must be >= 1, got {d}, {hidden}")
        bound = 1 / math.sqrt(d)
        self.W1 = nn.Parameter((torch.rand(hidden, d, generator=generator) * 2 - 1) * bound)
        self.w = nn.Parameter(torch.tensor(1.0))
        # the boundary starts on average at the max-margin radius (1 + R) / 2 = 1.15
        mean_c = float(self.W1.detach().pow(2).sum()) / d  # E[sum (W1 x)^2] on the unit sphere
        self.b = nn.Parameter(torch.tensor(-mean_c * 1.15**2))
        self.d = d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(n, d)`` -> logits ``(n,)``."""
        return self.w * (x @ self.W1.T).pow(2).sum(-1) + self.b

    @torch.no_grad()
    def eigen_form(self) -> tuple[torch.Tensor, float]:
        """``(c, b)`` with the logit ``= sum_i c_i z_i^2 + b`` in the rotated basis ``z = V^T x``:
        ``c_i = w s_i^2``, shape ``(d,)`` (float64, zeros where ``h < d``), sorted descending
        when ``w > 0``."""
        s = torch.linalg.svdvals(self.W1.detach().double().cpu())
        c = torch.zeros(self.d, dtype=torch.float64)
        c[: len(s)] = float(self.w) * s[: self.d] ** 2
        return c, float(self.b)  # c on the CPU

    def alphas(self) -> torch.Tensor:
        """The ``alpha_i = w s_i^2 / (-b)`` of appendix B, shape ``(d,)`` float64. Defined
        only for ``b < 0`` (then "inner" means ``sum alpha_i z_i^2 < 1``)."""
        c, b = self.eigen_form()
        if b >= 0:
            raise ValueError(f"alphas need a negative bias b (the boundary sum alpha_i z_i^2 = 1), got b={b:.4g}")
        return c / (-b)


def perfect_quadnet(
    d: int,
    hidden: int,
    *,
    R: float = 1.3,
    p_inner: float = 0.0016,
    p_outer: float = 0.9994,
    generator: torch.Generator | None = None,
) -> QuadNet:
    """A quadratic net with every ``alpha_i`` equal to one "correct" value in ``[1/R^2, 1]``,
    set so that the sigmoid output is ``p_inner`` on the whole inner sphere and ``p_outer``
    on the whole outer one (section 4: 0.0016 and 0.9994). Needs ``hidden >= d``;
    ``W1 = s Q`` with ``Q`` ``(hidden, d)`` of random orthonormal columns and ``w = 1``."""
    if hidden < d:
        raise ValueError(f"a perfect quadratic net needs hidden >= d, got hidden={hidden} < d={d}")
    if not 0 < p_inner < p_outer < 1:
        raise ValueError(f"need 0 < p_inner < p_outer < 1, got {p_inner}, {p_outer}")
    l_in, l_out = math.log(p_inner / (1 - p_inner)), math.log(p_outer / (1 - p_outer))
    # logit on a sphere of radius r is  c r^2 + b  with c = w s^2 = alpha (-b)
    c = (l_out - l_in) / (R**2 - 1)
    b = l_in - c
    net = QuadNet(d, hidden, generator=generator)
    q, _ = torch.linalg.qr(torch.randn(hidden, d, generator=generator, dtype=torch.float64))
    with torch.no_grad():
        net.W1.copy_((math.sqrt(c) * q).float())
        net.w.fill_(1.0)
        net.b.fill_(b)
    return net
