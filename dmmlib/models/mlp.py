"""The MNIST classifier of the paper's appendix G.1: 784-256-256-10, ReLU, dropout 0.2."""
from __future__ import annotations

import torch
from torch import nn


class MnistMLP(nn.Module):
    """Two hidden layers of 256 ReLU units, each followed by dropout (p=0.2), then 10 logits.

    Takes images (B, 1, 28, 28) in [0, 1] (or already flat (B, 784)); returns logits (B, 10).
    Piecewise linear in its input (in eval mode).
    """

    def __init__(self, hidden: int = 256, dropout: float = 0.2, n_classes: int = 10):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1:] not in ((1, 28, 28), (784,)):
            raise ValueError(f"MnistMLP expects images (B, 1, 28, 28) or (B, 784), got {tuple(x.shape)}")
        return self.net(x)
