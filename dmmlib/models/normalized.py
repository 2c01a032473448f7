"""A wrapper that lets a classifier trained on normalised inputs take images in [0, 1].

torchvision's ImageNet models expect ``(x - mean) / std`` with ImageNet's channel statistics;
the attacks, norms and projections of this project work on [0, 1]-scaled pixels, so the
normalisation belongs inside the model.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Normalized(nn.Module):
    """``model((x - mean) / std)`` for images x (B, C, H, W) in [0, 1] -> the model's output.

    ``mean``, ``std``: per-channel statistics (C,) (default: ImageNet's), kept as buffers so
    they follow ``.to(device)``.
    """

    def __init__(self, model: nn.Module, mean=IMAGENET_MEAN, std=IMAGENET_STD):
        super().__init__()
        if len(mean) != len(std) or min(std) <= 0:
            raise ValueError(f"mean and std need equal lengths and std > 0, got {mean} and {std}")
        self.model = model
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.mean.shape[1]:
            raise ValueError(f"Normalized expects images (B, {self.mean.shape[1]}, H, W), got {tuple(x.shape)}")
        return self.model((x - self.mean) / self.std)
