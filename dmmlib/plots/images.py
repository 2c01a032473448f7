"""Showing images and image-space perturbations on matplotlib axes.

Images are (C, H, W) tensors with [0, 1]-scaled pixels (C = 1: gray, C = 3: RGB).
Perturbations are shown "amplified to [0, 1]" as the Dimpled Manifold paper does:
``0.5 + 0.5 d / max|d|`` per image, so gray is no change, white the largest increase and
black the largest decrease.
"""
from __future__ import annotations

from torch import Tensor


def amplify(d: Tensor) -> Tensor:
    """Perturbations d (B, C, H, W) mapped to [0, 1]: 0.5 + 0.5 d / max|d| per image."""
    scale = d.flatten(1).abs().amax(dim=1).clamp_min(1e-12).view(-1, *([1] * (d.dim() - 1)))
    return (0.5 + 0.5 * d / scale).clamp(0, 1)


def show_image(ax, x: Tensor, title: str | None = None) -> None:
    """Show one image (C, H, W) in [0, 1] (clipped) without axes ticks."""
    if x.dim() != 3 or x.shape[0] not in (1, 3):
        raise ValueError(f"x must be one image (C, H, W) with C = 1 or 3, got {tuple(x.shape)}")
    a = x.detach().cpu().clamp(0, 1)
    if a.shape[0] == 1:
        ax.imshow(a[0].numpy(), cmap="gray", vmin=0, vmax=1)
    else:
        ax.imshow(a.permute(1, 2, 0).numpy())
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)
