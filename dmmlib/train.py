"""Minibatch training of classifiers (cross-entropy) and autoencoders (pixel MSE).

Both train ``model`` in place on ``dmmlib.device.get_device()`` (or ``device``), shuffle with
a generator seeded by ``seed`` (which also seeds dropout), show a tqdm bar, call an optional
``callback(epoch, model)`` after every epoch, and return the per-epoch history. The model is
left in eval mode on the training device. Weights are fixed by the seed used when the model
was built plus ``seed`` here.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from dmmlib.progress import progress as tqdm

from dmmlib.device import get_device, seed_everything

Callback = Callable[[int, nn.Module], object]


def train_classifier(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    lr: float,
    weight_decay: float = 0.0,
    batch_size: int = 128,
    seed: int = 0,
    optimizer: str = "sgd",
    momentum: float = 0.0,
    callback: Callback | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> dict[str, list]:
    """Minimise cross-entropy of ``model(x)`` (logits (N, classes)) against labels ``y`` (N,) int64.

    ``optimizer`` is 'sgd' (with ``momentum``) or 'adam'. Returns ``{'loss': [...], 'accuracy': [...],
    'callback': [...]}``: per-epoch mean training loss, training accuracy (of the minibatches, in
    train mode) and whatever ``callback(epoch, model)`` returned (the model is in eval mode then).
    """
    _check_xy(x, y)
    if y.dtype != torch.int64:
        raise TypeError(f"labels y must be int64, got {y.dtype}")

    def step(model: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, float]:
        logits = model(xb)
        return F.cross_entropy(logits, yb), (logits.argmax(1) == yb).float().sum().item()

    return _fit(model, (x, y), step, epochs, lr, weight_decay, batch_size, seed, optimizer, momentum, callback, device, progress)


def train_autoencoder(
    model: nn.Module,
    x: torch.Tensor,
    *,
    epochs: int,
    lr: float,
    weight_decay: float = 0.0,
    batch_size: int = 32,
    seed: int = 0,
    optimizer: str = "adam",
    momentum: float = 0.0,
    callback: Callback | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> dict[str, list]:
    """Minimise the pixel MSE between ``x`` (N, C, H, W) in [0, 1] and ``model.decode(model.encode(x))``.

    Returns ``{'loss': [...], 'callback': [...]}`` (per-epoch mean training MSE per pixel).
    """
    _check_xy(x, None)
    for name in ("encode", "decode"):
        if not callable(getattr(model, name, None)):
            raise TypeError(f"an autoencoder needs a .{name} method; {type(model).__name__} has none")

    def step(model: nn.Module, xb: torch.Tensor) -> tuple[torch.Tensor, None]:
        return F.mse_loss(model.decode(model.encode(xb)), xb), None

    return _fit(model, (x,), step, epochs, lr, weight_decay, batch_size, seed, optimizer, momentum, callback, device, progress)


def _fit(model, tensors, step, epochs, lr, weight_decay, batch_size, seed, optimizer, momentum, callback, device, progress):
    if epochs < 0 or batch_size < 1 or lr <= 0:
        raise ValueError(f"need epochs >= 0, batch_size >= 1, lr > 0; got {epochs}, {batch_size}, {lr}")
    device = torch.device(device) if device is not None else get_device()
    generator = seed_everything(seed)
    model.to(device)
    opt = _optimizer(model, optimizer, lr, weight_decay, momentum)
    n = tensors[0].shape[0]
    history: dict[str, list] = {"loss": [], "callback": []}
    quiet = {} if progress else {"disable": True}  # unset, so TQDM_DISABLE=1 still silences the bar
    for epoch in tqdm(range(epochs), desc=f"training {type(model).__name__}", **quiet):
        model.train()
        order = torch.randperm(n, generator=generator)
        total, correct = 0.0, 0.0
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            batch = [t[idx].to(device) for t in tensors]
            loss, hits = step(model, *batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            correct += hits or 0.0
        history["loss"].append(total / n)
        if len(tensors) == 2:
            history.setdefault("accuracy", []).append(correct / n)
        model.eval()
        if callback is not None:
            with torch.enable_grad():
                history["callback"].append(callback(epoch, model))
    model.eval()
    return history


def _optimizer(model: nn.Module, name: str, lr: float, weight_decay: float, momentum: float) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be 'sgd' or 'adam', got {name!r}")


def _check_xy(x: torch.Tensor, y: torch.Tensor | None) -> None:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"x must be a float tensor, got {type(x).__name__} {getattr(x, 'dtype', '')}")
    if y is not None and (not isinstance(y, torch.Tensor) or y.shape != (x.shape[0],)):
        raise ValueError(f"y must be a tensor of shape ({x.shape[0]},), got {getattr(y, 'shape', type(y).__name__)}")
