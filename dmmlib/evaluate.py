"""Running a trained model over a data set: logits, labels, accuracy, the model's device.

- :func:`model_device`: where a module's parameters live (the CPU for plain callables).
- :func:`as_logits`: ``model(x)`` as (B, C) logits; a binary logit becomes ``[0, z]``.
- :func:`apply_batched`: a function over (N, ...) in chunks, without gradients, on the CPU.
- :func:`predict`: predicted labels (N,). :func:`accuracy`: share of correct labels.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn


def model_device(model) -> torch.device:
    """The device of ``model``'s first parameter; the CPU for parameter-free callables."""
    if isinstance(model, nn.Module):
        for p in model.parameters():
            return p.device
    return torch.device("cpu")


def as_logits(model, x: Tensor) -> Tensor:
    """``model(x)`` as (B, C) logits; a binary logit z, (B,) or (B, 1), becomes [0, z]."""
    z = model(x)
    if z.dim() == 2 and z.shape[1] == 1:
        z = z[:, 0]
    if z.dim() == 1:
        z = torch.stack([torch.zeros_like(z), z], dim=1)
    if z.dim() != 2 or z.shape[0] != x.shape[0]:
        raise ValueError(f"model must return (B, C), (B,) or (B, 1) logits for B={x.shape[0]}, got {tuple(z.shape)}")
    return z


def apply_batched(fn: Callable[[Tensor], Tensor], x: Tensor, *, batch_size: int = 500, device=None) -> Tensor:
    """``fn`` on ``x`` (N, ...) in chunks of ``batch_size`` on ``device`` (default: ``fn``'s own
    device), without gradients; the outputs (N, ...) concatenated on the CPU."""
    if not isinstance(x, Tensor) or x.dim() < 1 or len(x) == 0:
        raise ValueError(f"x must be a non-empty batch (N, ...), got {tuple(getattr(x, 'shape', ()))}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    device = model_device(fn) if device is None else torch.device(device)
    with torch.no_grad():
        return torch.cat([fn(c.to(device)).cpu() for c in x.split(batch_size)])


def predict(model, x: Tensor, *, batch_size: int = 500, device=None) -> Tensor:
    """Predicted labels (N,) (arg-max of :func:`as_logits`) of inputs x (N, ...)."""
    if len(x) == 0:
        return torch.zeros(0, dtype=torch.long)
    return apply_batched(lambda xb: as_logits(model, xb).argmax(1), x, batch_size=batch_size,
                         device=model_device(model) if device is None else device)


def accuracy(model, x: Tensor, y: Tensor, *, batch_size: int = 500, device=None) -> float:
    """Share (in [0, 1]) of inputs x (N, ...) whose predicted label equals y (N,)."""
    if len(x) == 0 or y.shape != (len(x),):
        raise ValueError(f"x must be non-empty and y of shape ({len(x)},), got {tuple(y.shape)}")
    return (predict(model, x, batch_size=batch_size, device=device) == y.cpu()).float().mean().item()
