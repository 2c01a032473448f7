"""The defence of the reading notes' question: classify the autoencoder's reconstruction.

:class:`Projected` wraps a classifier f and an autoencoder (E, D) into the defended classifier
x -> f(clamp(D(E(x)), 0, 1)): the input is replaced by its reconstruction, the autoencoder's
(nonlinear) projection onto its learnt image manifold, before it is classified. It is
differentiable end to end, so an attack can go through it without any gradient approximation.
:func:`reconstruction_error` is the detector's score ||x - D(E(x))|| (L2 of [0,1]-scaled pixels).
:func:`select_correct` draws the test images both classifiers get right.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from dmmlib.evaluate import apply_batched, predict

#: the fixed order in which test images are drawn (the on/off chapter draws with the same seed)
ORDER_SEED = 12345


class Projected(nn.Module):
    """The defended classifier ``x -> classifier(clamp(D(E(x)), 0, 1))``.

    Args:
        classifier: images (B, C, H, W) in [0, 1] -> logits (B, classes), eval mode.
        autoencoder: has ``encode`` (B, C, H, W) -> (B, k) and ``decode`` (B, k) -> images of
            B x C x H x W values (any shape; reshaped to the input's), eval mode.
    """

    def __init__(self, classifier: nn.Module, autoencoder: nn.Module):
        super().__init__()
        for name, m in (("classifier", classifier), ("autoencoder", autoencoder)):
            if not callable(m):
                raise TypeError(f"{name} must be callable, got {type(m).__name__}")
        if not (hasattr(autoencoder, "encode") and hasattr(autoencoder, "decode")):
            raise TypeError(f"autoencoder must have encode and decode, got {type(autoencoder).__name__}")
        self.classifier = classifier
        self.autoencoder = autoencoder

    def reconstruct(self, x: Tensor) -> Tensor:
        """clamp(D(E(x)), 0, 1), the shape of x (B, C, H, W)."""
        return self.autoencoder.decode(self.autoencoder.encode(x)).reshape(x.shape).clamp(0, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.reconstruct(x))


def reconstruction_error(autoencoder: nn.Module, x: Tensor, *, batch_size: int = 500) -> Tensor:
    """||x - clamp(D(E(x)), 0, 1)|| per image, (N,) on the CPU, for images x (N, C, H, W) in
    [0, 1] (L2 of [0,1]-scaled pixels); no gradients. The detector's score: high = flagged."""
    if not isinstance(x, Tensor) or x.dim() != 4 or len(x) == 0:
        raise ValueError(f"x must be a non-empty image batch (N, C, H, W), got {tuple(getattr(x, 'shape', ()))}")
    rec = Projected(nn.Identity(), autoencoder)
    return apply_batched(lambda xb: (xb - rec.reconstruct(xb)).flatten(1).norm(dim=1), x, batch_size=batch_size)


def select_correct(models: list, x: Tensor, y: Tensor, n: int, block: int = 0, *, batch_size: int = 500) -> Tensor:
    """Indices (n,) into x of images every model in ``models`` classifies correctly: the
    ``block``-th run of n such images in a fixed random order (seed :data:`ORDER_SEED`; block 0
    takes the first n, block 1 the next n, ...), so blocks are disjoint.

    Raises ValueError naming the shortfall when fewer than (block + 1) n images qualify."""
    if not isinstance(n, int) or n < 1 or not isinstance(block, int) or block < 0:
        raise ValueError(f"need an int n >= 1 and an int block >= 0, got n={n!r}, block={block!r}")
    if not models:
        raise ValueError("need at least one model")
    if y.shape != (len(x),):
        raise ValueError(f"y must have shape ({len(x)},), got {tuple(y.shape)}")
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(ORDER_SEED))
    need, found = (block + 1) * n, []
    for chunk in order.split(max(batch_size, need)):
        ok = torch.ones(len(chunk), dtype=torch.bool)
        for m in models:
            ok &= predict(m, x[chunk], batch_size=batch_size) == y[chunk]
        found.append(chunk[ok])
        if sum(len(f) for f in found) >= need:
            break
    found = torch.cat(found)
    if len(found) < need:
        raise ValueError(f"only {len(found)} images are classified correctly by every model, need {need} "
                         f"(n={n}, block={block})")
    return found[block * n : need]
