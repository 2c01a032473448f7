"""The two-layer network of the paper's low-dimensional experiments (appendix C).

Linear(d, width) with PyTorch's default initialisation, ReLU, then a fixed output layer
Linear(width, 1) without bias whose weights are drawn uniformly from {-1, +1} and never
trained (a buffer, so optimisers and weight decay do not see it). The output is one
logit; the class is ``logit > 0`` (the sigmoid rounded), class 1 = blue.
"""
from __future__ import annotations

import math

import torch
from torch import nn


class ShallowNet(nn.Module):
    """``x`` (B, d) in [0, 1]^d -> logit (B,). Only ``hidden`` is trainable.

    ``seed`` fixes both the hidden layer's default initialisation (weights and biases
    uniform in +-1/sqrt(d), as ``nn.Linear.reset_parameters``) and the +-1 output weights.
    """

    def __init__(self, d: int, width: int = 4000, *, seed: int = 0):
        super().__init__()
        if not isinstance(d, int) or d < 1:
            raise ValueError(f"input dimension d must be a positive int, got {d!r}")
        if not isinstance(width, int) or width < 1:
            raise ValueError(f"width must be a positive int, got {width!r}")
        self.hidden = nn.Linear(d, width)
        g = torch.Generator().manual_seed(int(seed))
        bound = 1.0 / math.sqrt(d)
        with torch.no_grad():
            self.hidden.weight.uniform_(-bound, bound, generator=g)
            self.hidden.bias.uniform_(-bound, bound, generator=g)
        signs = torch.randint(0, 2, (width,), generator=g).float() * 2 - 1
        self.register_buffer("out_weight", signs)

    @property
    def d(self) -> int:
        return self.hidden.in_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.d:
            raise ValueError(f"expected input of shape (B, {self.d}), got {tuple(x.shape)}")
        return torch.relu(self.hidden(x)) @ self.out_weight


def predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Class labels (B,) int64 in {0, 1}: 1 where the logit is positive."""
    with torch.no_grad():
        return (model(x) > 0).long()


OUT_INITS = ("sign", "uniform")


def shallow_net(d: int, width: int = 4000, *, seed: int = 0, out_init: str = "sign", out_scale: float = 1.0) -> ShallowNet:
    """A :class:`ShallowNet` with another reading of appendix C's fixed output layer.

    Appendix C draws the output weights "u.a.r from -1,1": ``out_init`` "sign" reads it as
    the set {-1, +1} (the default of :class:`ShallowNet`), "uniform" as the interval
    [-1, 1]. ``out_scale`` multiplies them (``1 / width`` gives the mean-field scaling in
    which the logit is an average over hidden units instead of a sum). The hidden layer is
    that of ``ShallowNet(d, width, seed=seed)``; the uniform draw uses its own generator
    seeded by ``seed``.
    """
    if out_init not in OUT_INITS:
        raise ValueError(f"out_init must be one of {OUT_INITS}, got {out_init!r}")
    if not out_scale > 0:
        raise ValueError(f"out_scale must be > 0, got {out_scale!r}")
    model = ShallowNet(d, width, seed=seed)
    with torch.no_grad():
        if out_init == "uniform":
            g = torch.Generator().manual_seed(int(seed) + 7919)
            model.out_weight.copy_(torch.rand(width, generator=g) * 2 - 1)
        model.out_weight.mul_(float(out_scale))
    return model
