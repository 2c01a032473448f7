"""Minibatch training of classifiers (cross-entropy) and autoencoders (pixel MSE).

Both train ``model`` in place on ``dmmlib.device.get_device()`` (or ``device``), shuffle with
a generator seeded by ``seed`` (which also seeds dropout), show a tqdm bar, call an optional
``callback(epoch, model)`` after every epoch, and return the per-epoch history. With
``validation`` (held-out data the model never trains on) the history also holds the loss on it
after every epoch, in eval mode: ``val_loss`` (the curve :mod:`dmmlib.convergence` judges). The
model is left in eval mode on the training device. Weights are fixed by the seed used when the model
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
    validation: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> dict[str, list]:
    """Minimise cross-entropy of ``model(x)`` (logits (N, classes)) against labels ``y`` (N,) int64.

    ``optimizer`` is 'sgd' (with ``momentum``) or 'adam'. Returns ``{'loss': [...], 'accuracy': [...],
    'callback': [...]}``: per-epoch mean training loss, training accuracy (of the minibatches, in
    train mode) and whatever ``callback(epoch, model)`` returned (the model is in eval mode then).
    ``validation``: held-out (images (M, ...), labels (M,) int64); adds ``val_loss`` (mean
    cross-entropy) and ``val_accuracy`` per epoch, in eval mode.
    """
    _check_xy(x, y)
    if y.dtype != torch.int64:
        raise TypeError(f"labels y must be int64, got {y.dtype}")
    if validation is not None:
        _check_xy(*validation)

    def step(model: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, float]:
        logits = model(xb)
        return F.cross_entropy(logits, yb), (logits.argmax(1) == yb).float().sum().item()

    def evaluate(model: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> dict[str, torch.Tensor]:
        logits = model(xb)
        return {"val_loss": F.cross_entropy(logits, yb, reduction="sum"),
                "val_accuracy": (logits.argmax(1) == yb).sum()}

    return _fit(model, (x, y), step, epochs, lr, weight_decay, batch_size, seed, optimizer, momentum, callback, device,
                progress, validation, evaluate)


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
    validation: torch.Tensor | None = None,
) -> dict[str, list]:
    """Minimise the pixel MSE between ``x`` (N, C, H, W) in [0, 1] and ``model.decode(model.encode(x))``.

    Returns ``{'loss': [...], 'callback': [...]}`` (per-epoch mean training MSE per pixel);
    ``validation``: held-out images (M, C, H, W) in [0, 1]; adds ``val_loss`` (their MSE per
    pixel) per epoch, in eval mode.
    """
    _check_xy(x, None)
    if validation is not None:
        _check_xy(validation, None)
        if validation.shape[1:] != x.shape[1:]:
            raise ValueError(f"validation images must have the training images' shape {tuple(x.shape[1:])}, "
                             f"got {tuple(validation.shape[1:])}")
    for name in ("encode", "decode"):
        if not callable(getattr(model, name, None)):
            raise TypeError(f"an autoencoder needs a .{name} method; {type(model).__name__} has none")

    def step(model: nn.Module, xb: torch.Tensor) -> tuple[torch.Tensor, None]:
        return F.mse_loss(model.decode(model.encode(xb)), xb), None

    def evaluate(model: nn.Module, xb: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"val_loss": F.mse_loss(model.decode(model.encode(xb)), xb, reduction="sum") / xb[0].numel()}

    return _fit(model, (x,), step, epochs, lr, weight_decay, batch_size, seed, optimizer, momentum, callback, device,
                progress, None if validation is None else (validation,), evaluate)


def _fit(model, tensors, step, epochs, lr, weight_decay, batch_size, seed, optimizer, momentum, callback, device, progress,
         validation=None, evaluate=None):
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
        if validation is not None:
            for key, value in _validate_epoch(model, validation, evaluate, batch_size, device).items():
                history.setdefault(key, []).append(value)
        if callback is not None:
            with torch.enable_grad():
                history["callback"].append(callback(epoch, model))
    model.eval()
    return history


def _validate_epoch(model, tensors, evaluate, batch_size, device) -> dict[str, float]:
    """Per-sample means of ``evaluate``'s sums over the held-out ``tensors``, in batches, without gradients."""
    sums: dict[str, float] = {}
    n = tensors[0].shape[0]
    with torch.no_grad():
        for start in range(0, n, max(batch_size, 256)):
            batch = [t[start : start + max(batch_size, 256)].to(device) for t in tensors]
            for key, value in evaluate(model, *batch).items():
                sums[key] = sums.get(key, 0.0) + float(value)
    return {key: value / n for key, value in sums.items()}


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
