"""On-manifold adversarial examples on FONTS (a search in the code z) and on-manifold
adversarial training (Stutz, Hein, Schiele 2019).

An on-manifold adversarial example of ``dec(font, letter, a0)`` is ``dec(font, letter, a)``
with ``a`` in the parameter box and the classifier's label != letter. Every such image is a
valid sample of its class, so finding one is finding a generalisation error.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor
from dmmlib.progress import progress as tqdm

from dmmlib.data.fonts import FontsDecoder, FontsSet, param_bounds
from dmmlib.device import seed_everything
from dmmlib.models.mlp import MnistMLP


class ZAttack(NamedTuple):
    """``params`` (B, 5): the adversarial parameters (for a failure: the last iterate of the
    first start); ``success`` (B,) bool: the label differs from the letter."""

    params: Tensor
    success: Tensor


def attack_z(model, decoder: FontsDecoder, font: Tensor, letter: Tensor, params0: Tensor, *,
             steps: int, step: float, restarts: int = 1, generator: torch.Generator | None = None) -> ZAttack:
    """Signed-gradient ascent of the margin ``max_{j != y} f_j - f_y`` over the parameters, in
    units of each parameter's range (``step`` a share of it), projected onto the box; a start
    stops at its first label change (greedy, like PGD's early stop). Start 0 is ``params0``,
    the other ``restarts - 1`` are uniform in the box. All images and starts form one batch."""
    if not isinstance(steps, int) or steps < 0 or not isinstance(restarts, int) or restarts < 1:
        raise ValueError(f"need steps >= 0 and restarts >= 1, got {steps}, {restarts}")
    lo, hi = param_bounds(params0.dtype)
    B = len(params0)
    u = ((params0 - lo) / (hi - lo)).clamp(0, 1)[:, None].repeat(1, restarts, 1)
    if restarts > 1:
        gen = generator if generator is not None else torch.Generator().manual_seed(0)
        u[:, 1:] = torch.rand(B, restarts - 1, 5, generator=gen, dtype=params0.dtype)
    u = u.reshape(-1, 5)
    f, y = font.repeat_interleave(restarts), letter.repeat_interleave(restarts)
    done = torch.zeros(len(u), dtype=torch.bool)
    for t in range(steps + 1):
        u.requires_grad_(True)
        with torch.enable_grad():
            logits = model(decoder(f, y, lo + (hi - lo) * u))
            done = done | (logits.detach().argmax(1) != y)
            if t == steps or bool(done.all()):
                break
            zy = logits.gather(1, y[:, None])[:, 0]
            margin = logits.scatter(1, y[:, None], float("-inf")).amax(1) - zy
            g = torch.autograd.grad(margin.sum(), u)[0]
        with torch.no_grad():
            u = (u + step * g.sign() * (~done)[:, None].to(u.dtype)).clamp(0, 1)
    u = u.detach().view(B, restarts, 5)
    done = done.view(B, restarts)
    first = torch.where(done.any(1), done.to(torch.int64).argmax(1), torch.zeros(B, dtype=torch.int64))
    return ZAttack(lo + (hi - lo) * u[torch.arange(B), first], done.any(1))


ARMS = ("clean", "on_manifold", "random_aug")


def train_fonts_classifier(decoder: FontsDecoder, data: FontsSet, *, epochs: int, lr: float, batch_size: int,
                           seed: int, arm: str = "clean", adv_steps: int = 5, z_step: float = 0.2,
                           progress: bool = False) -> MnistMLP:
    """A 784-256-256-10 MLP (dropout 0.2) trained with Adam on cross-entropy.

    ``arm``: "clean" (the training images only); "on_manifold" (on-manifold adversarial
    training: each batch is the clean images plus, from the same codes, on-manifold
    adversarial examples, :func:`attack_z` with ``adv_steps`` steps of ``z_step`` and one
    start, half and half as in Stutz et al.); "random_aug" (the control: the same, with the
    extra images at parameters drawn uniformly from the box instead of adversarially). All
    arms see the same batches in the same order (``seed``).
    """
    if arm not in ARMS:
        raise ValueError(f"arm must be one of {ARMS}, got {arm!r}")
    gen = seed_everything(seed)
    aug_gen = torch.Generator().manual_seed(seed + 1)  # the augmentation's own draws: batches stay the same
    lo, hi = param_bounds()
    model = MnistMLP()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n = len(data.y)
    for _ in tqdm(range(epochs), desc=f"FONTS classifier ({arm})", disable=not progress):
        order = torch.randperm(n, generator=gen)
        for s in range(0, n, batch_size):
            i = order[s : s + batch_size]
            xb, yb = data.x[i], data.y[i]
            if arm == "on_manifold":
                model.eval()
                extra = attack_z(model, decoder, data.font[i], yb, data.params[i], steps=adv_steps, step=z_step).params
            elif arm == "random_aug":
                extra = lo + (hi - lo) * torch.rand(len(i), 5, generator=aug_gen)
            if arm != "clean":
                with torch.no_grad():
                    xb = torch.cat([xb, decoder(data.font[i], yb, extra)])
                yb = torch.cat([yb, yb])
            model.train()
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return model.eval()
