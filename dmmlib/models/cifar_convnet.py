"""A small CIFAR-10 convnet, cheap enough to train on a CPU in seconds per thousand images.

Three 3x3 conv blocks (``width``, 2 ``width``, 4 ``width`` channels; batch norm, ReLU, 2x2
max pooling), then a hidden linear layer of 256 units and 10 logits (``width`` 32: about
0.62 M parameters; 16: about 0.29 M). Used as the fresh network trained on relabelled
adversarial images (the relabelling chapter), where the paper's ResNet-50 is out of reach
of a CPU.
"""
from __future__ import annotations

import torch
from torch import nn


class CifarConvNet(nn.Module):
    """Images (B, 3, 32, 32) in [0, 1] -> logits (B, ``n_classes``). Put it in eval mode before
    attacking it (batch norm)."""

    def __init__(self, width: int = 32, n_classes: int = 10):
        super().__init__()
        if not isinstance(width, int) or width < 1:
            raise ValueError(f"width must be a positive int, got {width!r}")
        if not isinstance(n_classes, int) or n_classes < 2:
            raise ValueError(f"n_classes must be an int >= 2, got {n_classes!r}")

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2)]

        w = width
        self.net = nn.Sequential(
            *block(3, w), *block(w, 2 * w), *block(2 * w, 4 * w),
            nn.Flatten(), nn.Linear(4 * w * 16, 256), nn.ReLU(), nn.Linear(256, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1:] != (3, 32, 32):
            raise ValueError(f"CifarConvNet expects images (B, 3, 32, 32), got {tuple(x.shape)}")
        return self.net(x)
