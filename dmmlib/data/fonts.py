"""FONTS-like images with a known, differentiable decoder (after Stutz, Hein, Schiele 2019).

Every image is ``dec(z)`` for a known code ``z = (font, letter, a)``:

- ``font`` indexes one of the TrueType fonts bundled with matplotlib (DejaVu Sans / Serif /
  Mono, STIX and Computer Modern variants: :data:`FONT_FILES`, available offline);
- ``letter`` is the class, one of the letters A to J (:data:`CLASSES`);
- ``a`` (5 numbers, :data:`PARAM_NAMES`) are the continuous parameters of an affine warp:
  translation ``tx, ty`` (in units of the half image width: 0.1 = 1.4 pixels), ``rotation``
  (radians), ``shear`` and ``scale``, each within :data:`PARAM_RANGES`.

The decoder renders a prototype of the letter in the font (28 x 28, anti-aliased, the glyph's
larger side filling ``fill`` of the image, centred), then a spatial transformer warps it:
the image at output point p is the prototype at ``M^{-1}(p - t)`` with
``M = scale * R(rotation) @ [[1, shear], [0, 1]]`` and ``t = (tx, ty)``, in the normalised
coordinates of ``torch.nn.functional.affine_grid`` (``align_corners=False``), sampled
bilinearly with zeros outside. The sampler is written out with ``gather`` (identical to
``affine_grid`` + ``grid_sample``, which has no forward-mode derivative), so the decoder is
differentiable in ``a`` in both modes and :func:`tangent` gives its exact Jacobian (the
tangent space of the manifold piece of ``(font, letter)``) by forward-mode AD.

The manifold is the union of ``n_fonts * 10`` pieces, each the image of the box
:data:`PARAM_RANGES` under ``a -> dec(font, letter, a)``, a 5-dimensional surface in the
784-dimensional image space (pixels in [0, 1]). Images are (B, 1, 28, 28) float32.
"""
from __future__ import annotations

import functools
import math
import os
import warnings
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

CLASSES = tuple("ABCDEFGHIJ")
PARAM_NAMES = ("tx", "ty", "rotation", "shear", "scale")
# the box of the continuous parameters: translation +-1.7 pixels, rotation +-14 degrees,
# shear +-0.3, scale 0.85 to 1.15 (Stutz's exact ranges are not stated in the article)
PARAM_RANGES = ((-0.12, 0.12), (-0.12, 0.12), (-0.25, 0.25), (-0.3, 0.3), (0.85, 1.15))
FONT_FILES = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSansMono-Oblique.ttf", "DejaVuSansMono-BoldOblique.ttf",
    "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf",
    "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "STIXGeneralBolIta.ttf",
    "cmr10.ttf", "cmss10.ttf", "cmtt10.ttf", "cmb10.ttf", "cmti10.ttf",
)
SIZE = 28


class FontsSet(NamedTuple):
    """Images ``x`` (N, 1, 28, 28) in [0, 1], labels ``y`` (N,) int64 (the letter), and the code
    of each image: ``font`` (N,) int64 and ``params`` (N, 5) float32 (:data:`PARAM_NAMES`)."""

    x: Tensor
    y: Tensor
    font: Tensor
    params: Tensor


def font_dir() -> str:
    import matplotlib

    return os.path.join(matplotlib.get_data_path(), "fonts", "ttf")


def param_bounds(dtype=torch.float32) -> tuple[Tensor, Tensor]:
    """(lo, hi), each (5,): the bounds of the continuous parameters."""
    r = torch.tensor(PARAM_RANGES, dtype=dtype)
    return r[:, 0], r[:, 1]


@functools.lru_cache(maxsize=8)
def _prototypes_np(n_fonts: int, fill: float) -> np.ndarray:
    from PIL import Image, ImageFont

    out = np.zeros((n_fonts, len(CLASSES), SIZE, SIZE), dtype=np.float32)
    for f, name in enumerate(FONT_FILES[:n_fonts]):  # rendering: one glyph at a time (PIL)
        font = ImageFont.truetype(os.path.join(font_dir(), name), 200)
        for c, letter in enumerate(CLASSES):
            mask = font.getmask(letter)
            glyph = Image.frombytes("L", mask.size, bytes(mask))
            w, h = glyph.size
            side = int(math.ceil(max(w, h) / fill))
            canvas = Image.new("L", (side, side), 0)
            canvas.paste(glyph, ((side - w) // 2, (side - h) // 2))
            small = canvas.resize((SIZE, SIZE), Image.Resampling.BOX)
            out[f, c] = np.asarray(small, dtype=np.float32) / 255.0
    return out


def prototypes(n_fonts: int | None = None, fill: float = 0.7) -> Tensor:
    """The undeformed glyphs, (n_fonts, 10, 28, 28) float32 in [0, 1] (letter ``c`` of font ``f``
    at ``[f, c]``); ``n_fonts`` (default: all of :data:`FONT_FILES`) takes the first ones."""
    n = len(FONT_FILES) if n_fonts is None else n_fonts
    if not isinstance(n, int) or not 1 <= n <= len(FONT_FILES):
        raise ValueError(f"n_fonts must be an int in [1, {len(FONT_FILES)}], got {n_fonts!r}")
    if not 0.2 <= fill <= 1.0:
        raise ValueError(f"fill must lie in [0.2, 1], got {fill!r}")
    missing = [f for f in FONT_FILES[:n] if not os.path.exists(os.path.join(font_dir(), f))]
    if missing:
        raise FileNotFoundError(f"matplotlib's bundled fonts {missing} are missing from {font_dir()}")
    return torch.from_numpy(_prototypes_np(n, float(fill)).copy())


def affine_matrix(params: Tensor) -> Tensor:
    """(B, 5) parameters -> (B, 2, 3) sampling matrices ``[M^{-1} | -M^{-1} t]`` (affine_grid's theta)."""
    tx, ty, rot, sh, sc = params.unbind(1)
    c, s = torch.cos(rot), torch.sin(rot)
    # M^{-1} = (1/scale) [[1, -shear], [0, 1]] R(-rotation)
    a11 = (c + sh * s) / sc
    a12 = (s - sh * c) / sc
    a21 = -s / sc
    a22 = c / sc
    b1 = -(a11 * tx + a12 * ty)
    b2 = -(a21 * tx + a22 * ty)
    return torch.stack([torch.stack([a11, a12, b1], 1), torch.stack([a21, a22, b2], 1)], 1)


def _base_grid(dtype, device) -> Tensor:
    """(H*W, 3) homogeneous pixel centres in affine_grid's normalised coordinates."""
    lin = (torch.arange(SIZE, dtype=dtype, device=device) * 2 + 1) / SIZE - 1
    yy, xx = torch.meshgrid(lin, lin, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1), torch.ones(SIZE * SIZE, dtype=dtype, device=device)], 1)


def bilinear_sample(images: Tensor, grid: Tensor) -> Tensor:
    """Bilinear sampling with zero padding, as ``grid_sample(align_corners=False)``.

    images (B, H, W); grid (B, P, 2) sampling points (x, y) in [-1, 1] coordinates -> (B, P).
    Written with ``gather`` so that forward-mode AD works (``grid_sample`` has none).
    """
    B, H, W = images.shape
    px = ((grid[..., 0] + 1) * W - 1) / 2
    py = ((grid[..., 1] + 1) * H - 1) / 2
    x0, y0 = torch.floor(px).detach(), torch.floor(py).detach()
    wx1, wy1 = px - x0, py - y0
    flat = images.reshape(B, H * W)
    out = 0
    for dx, wx in ((0, 1 - wx1), (1, wx1)):
        for dy, wy in ((0, 1 - wy1), (1, wy1)):
            xi, yi = x0 + dx, y0 + dy
            valid = ((xi >= 0) & (xi <= W - 1) & (yi >= 0) & (yi <= H - 1)).to(images.dtype)
            idx = (yi.clamp(0, H - 1) * W + xi.clamp(0, W - 1)).long()
            out = out + wx * wy * valid * flat.gather(1, idx)
    return out


class FontsDecoder(torch.nn.Module):
    """``dec(font, letter, params)``: (B,), (B,), (B, 5) -> images (B, 1, 28, 28) in [0, 1].

    Differentiable (reverse and forward mode) in ``params``; ``font`` and ``letter`` index the
    prototypes (``n_fonts`` fonts, 10 letters). Parameters outside :data:`PARAM_RANGES` are
    decoded too (the warp is defined everywhere); the manifold is the image of the box.
    """

    def __init__(self, n_fonts: int | None = None, fill: float = 0.7):
        super().__init__()
        self.register_buffer("protos", prototypes(n_fonts, fill))
        self.register_buffer("grid0", _base_grid(torch.float32, "cpu"))

    @property
    def n_fonts(self) -> int:
        return self.protos.shape[0]

    def forward(self, font: Tensor, letter: Tensor, params: Tensor, *, sampler: str = "grid_sample") -> Tensor:
        """``sampler``: "grid_sample" (torch's, fast, reverse-mode AD only) or "gather" (ours,
        the same values to float rounding, also forward-mode AD)."""
        _check_code(font, letter, params, self.n_fonts)
        src = self.protos[font, letter].to(params.dtype)  # (B, 28, 28)
        theta = affine_matrix(params)
        if sampler == "grid_sample":
            grid = torch.nn.functional.affine_grid(theta, (len(params), 1, SIZE, SIZE), align_corners=False)
            return torch.nn.functional.grid_sample(src[:, None], grid, mode="bilinear", padding_mode="zeros",
                                                   align_corners=False)
        if sampler != "gather":
            raise ValueError(f"sampler must be 'grid_sample' or 'gather', got {sampler!r}")
        grid = self.grid0.to(params.dtype) @ theta.transpose(1, 2)  # (B, 784, 2)
        out = bilinear_sample(src, grid)
        return out.view(-1, 1, SIZE, SIZE)  # in [0, 1]: convex weights (<= 1) of [0, 1] pixels


def tangent(decoder: FontsDecoder, font: Tensor, letter: Tensor, params: Tensor) -> Tensor:
    """Exact Jacobian of the decoder in the continuous parameters, (B, 784, 5): column i is
    d dec(font, letter, a) / d a_i at ``params`` (forward-mode AD, one batched jvp per
    parameter). Its span is the tangent space of the manifold at ``dec(font, letter, params)``
    (units: [0,1] pixel change per unit of the parameter)."""
    _check_code(font, letter, params, decoder.n_fonts)
    params = params.detach()
    cols = []
    for i in range(params.shape[1]):
        e = torch.zeros_like(params)
        e[:, i] = 1
        with torch.no_grad(), warnings.catch_warnings():
            # torch's forward-AD decompositions use torch.jit.script on first use and warn about it
            warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=FutureWarning)
            out = torch.func.jvp(lambda a: decoder(font, letter, a, sampler="gather"), (params,), (e,))[1]
        cols.append(out.reshape(len(params), -1))
    return torch.stack(cols, 2)


def sample_codes(n: int, n_fonts: int, *, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
    """``n`` codes drawn uniformly: font (n,), letter (n,) and params (n, 5) uniform in the box."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    font = torch.randint(0, n_fonts, (n,), generator=generator)
    letter = torch.randint(0, len(CLASSES), (n,), generator=generator)
    lo, hi = param_bounds()
    params = lo + (hi - lo) * torch.rand(n, len(PARAM_NAMES), generator=generator)
    return font, letter, params


def make_fonts(n: int, *, seed: int, decoder: FontsDecoder | None = None, batch_size: int = 4096) -> FontsSet:
    """``n`` images ``dec(z)`` with codes drawn by :func:`sample_codes` from ``seed``."""
    decoder = FontsDecoder() if decoder is None else decoder
    font, letter, params = sample_codes(n, decoder.n_fonts, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        x = torch.cat([decoder(f, c, a) for f, c, a in zip(font.split(batch_size), letter.split(batch_size),
                                                           params.split(batch_size))])
    return FontsSet(x, letter, font, params)


def _check_code(font: Tensor, letter: Tensor, params: Tensor, n_fonts: int) -> None:
    if not isinstance(params, Tensor) or params.dim() != 2 or params.shape[1] != len(PARAM_NAMES) or not params.is_floating_point():
        raise ValueError(f"params must be a float tensor (B, {len(PARAM_NAMES)}), got {tuple(getattr(params, 'shape', ()))}")
    B = params.shape[0]
    for name, t, hi in (("font", font, n_fonts), ("letter", letter, len(CLASSES))):
        if not isinstance(t, Tensor) or t.shape != (B,) or t.is_floating_point():
            raise ValueError(f"{name} must be an int tensor of shape ({B},), got {tuple(getattr(t, 'shape', ()))}")
        if B and (t.min() < 0 or t.max() >= hi):
            raise ValueError(f"{name} indices must lie in [0, {hi - 1}], got [{int(t.min())}, {int(t.max())}]")
