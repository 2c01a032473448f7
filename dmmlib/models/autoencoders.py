"""Autoencoders whose decoders span the local image manifold (paper, appendices D and G).

All have ``.encode(x) -> (B, k)`` and ``.decode(c) -> (B, C, H, W)`` in [0, 1]. The decoders
are pure functions of the code (no batch norm, no dropout, no in-place ops), so
``torch.func.jvp``/``vmap`` give their exact Jacobians. Hidden activations are ReLU and the
upsampling is nearest-neighbour, so a decoder is piecewise linear up to its final sigmoid.

The CIFAR decoder upsamples with ``nn.Upsample`` and never sees the encoder's max-pooling
indices (appendix G.2: max-unpooling would leak information around the k-dimensional
bottleneck and widen it); the encoder downsamples with strided convolutions, so there are no
indices at all. :class:`ImageNetAutoencoder` is the same design for 224x224 images, with
five stages instead of three (appendix G.3: "the same architecture as in CIFAR10").
"""
from __future__ import annotations

import torch
from torch import nn


class MnistAutoencoder(nn.Module):
    """MLP autoencoder for MNIST: 784 -> 512 -> 256 -> k (=16) -> 256 -> 512 -> 784.

    ``encode``: images (B, 1, 28, 28) in [0, 1] -> codes (B, k).
    ``decode``: codes (B, k) -> images (B, 1, 28, 28) in [0, 1].
    """

    def __init__(self, latent_dim: int = 16, hidden: tuple[int, int] = (512, 256)):
        super().__init__()
        h1, h2 = hidden
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(
            nn.Flatten(), nn.Linear(784, h1), nn.ReLU(), nn.Linear(h1, h2), nn.ReLU(), nn.Linear(h2, latent_dim)
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, h2), nn.ReLU(), nn.Linear(h2, h1), nn.ReLU(), nn.Linear(h1, 784)
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        _check(x, (1, 28, 28), "MnistAutoencoder.encode")
        return self.encoder(x)

    def decode(self, c: torch.Tensor) -> torch.Tensor:
        _check(c, (self.latent_dim,), "MnistAutoencoder.decode")
        return torch.sigmoid(self.decoder(c)).view(-1, 1, 28, 28)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class CifarAutoencoder(nn.Module):
    """Convolutional autoencoder for 32x32 colour images with a k (=128) dimensional code.

    Encoder: three [conv3x3 stride 2 + ReLU + conv3x3 + ReLU] stages (32 -> 16 -> 8 -> 4 pixels,
    ``width``, 2 ``width``, 4 ``width`` channels), then a linear map to k. Decoder: linear map
    to 4 ``width`` x 4 x 4, then three [nearest upsampling x2 + conv3x3 + ReLU] stages and a
    final conv3x3 to 3 channels and a sigmoid.

    ``encode``: images (B, 3, 32, 32) in [0, 1] -> codes (B, k).
    ``decode``: codes (B, k) -> images (B, 3, 32, 32) in [0, 1].
    """

    def __init__(self, latent_dim: int = 128, width: int = 32):
        super().__init__()
        w = width
        self.latent_dim, self.width = latent_dim, width

        def down(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, 2, 1), nn.ReLU(), nn.Conv2d(cout, cout, 3, 1, 1), nn.ReLU()]

        def up(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, 1, 1), nn.ReLU()]

        self.encoder = nn.Sequential(
            *down(3, w), *down(w, 2 * w), *down(2 * w, 4 * w), nn.Flatten(), nn.Linear(4 * w * 16, latent_dim)
        )
        self.decoder_fc = nn.Sequential(nn.Linear(latent_dim, 4 * w * 16), nn.ReLU())
        self.decoder_conv = nn.Sequential(*up(4 * w, 2 * w), *up(2 * w, w), *up(w, w), nn.Conv2d(w, 3, 3, 1, 1))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        _check(x, (3, 32, 32), "CifarAutoencoder.encode")
        return self.encoder(x)

    def decode(self, c: torch.Tensor) -> torch.Tensor:
        _check(c, (self.latent_dim,), "CifarAutoencoder.decode")
        h = self.decoder_fc(c).view(-1, 4 * self.width, 4, 4)
        return torch.sigmoid(self.decoder_conv(h))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class ImageNetAutoencoder(nn.Module):
    """Convolutional autoencoder for 224x224 colour images with a k (=3584) dimensional code.

    k = 3584 is appendix D.3's latent dimension for ImageNet (sqrt(n/k) = sqrt(150528/3584)
    = 6.48 in table 1). Encoder: five [conv3x3 stride 2 + ReLU + conv3x3 + ReLU] stages
    (224 -> 112 -> 56 -> 28 -> 14 -> 7 pixels; ``width`` x (1, 2, 4, 8, 8) channels, so
    ``width`` = 64 ends in VGG16's 512 x 7 x 7), then a linear map to k. Decoder: linear map
    to 8 ``width`` x 7 x 7 and ReLU, five [nearest upsampling x2 + conv3x3 + ReLU] stages, a
    final conv3x3 to 3 channels and a sigmoid. No pooling indices, no batch norm.

    ``encode``: images (B, 3, 224, 224) in [0, 1] -> codes (B, k).
    ``decode``: codes (B, k) -> images (B, 3, 224, 224) in [0, 1].
    """

    MULTIPLIERS = (1, 2, 4, 8, 8)

    def __init__(self, latent_dim: int = 3584, width: int = 64):
        super().__init__()
        if latent_dim < 1 or width < 1:
            raise ValueError(f"latent_dim and width must be >= 1, got {latent_dim} and {width}")
        self.latent_dim, self.width = latent_dim, width
        ch = [width * m for m in self.MULTIPLIERS]
        self.bottom = ch[-1]

        down = []
        for cin, cout in zip([3] + ch[:-1], ch):
            down += [nn.Conv2d(cin, cout, 3, 2, 1), nn.ReLU(), nn.Conv2d(cout, cout, 3, 1, 1), nn.ReLU()]
        self.encoder = nn.Sequential(*down, nn.Flatten(), nn.Linear(self.bottom * 49, latent_dim))

        up = []
        for cin, cout in zip(ch[::-1], ch[::-1][1:] + [ch[0]]):
            up += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, 1, 1), nn.ReLU()]
        self.decoder_fc = nn.Sequential(nn.Linear(latent_dim, self.bottom * 49), nn.ReLU())
        self.decoder_conv = nn.Sequential(*up, nn.Conv2d(ch[0], 3, 3, 1, 1))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        _check(x, (3, 224, 224), "ImageNetAutoencoder.encode")
        return self.encoder(x)

    def decode(self, c: torch.Tensor) -> torch.Tensor:
        _check(c, (self.latent_dim,), "ImageNetAutoencoder.decode")
        h = self.decoder_fc(c).view(-1, self.bottom, 7, 7)
        return torch.sigmoid(self.decoder_conv(h))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


def _check(t: torch.Tensor, shape: tuple[int, ...], where: str) -> None:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{where} expects a tensor, got {type(t).__name__}")
    if t.ndim != len(shape) + 1 or tuple(t.shape[1:]) != shape:
        raise ValueError(f"{where} expects shape (B, {', '.join(map(str, shape))}), got {tuple(t.shape)}")
