"""Small models with exact geometry, shared by tests."""
import torch
from torch import nn


class Linear2(nn.Module):
    """Binary logit z = w . x + b (label 1 when z > 0): distance to the boundary |z| / ||w||."""

    def __init__(self, w, b):
        super().__init__()
        self.w, self.b = nn.Parameter(w), nn.Parameter(torch.tensor(b))

    def forward(self, x):
        return x.flatten(1) @ self.w + self.b
