"""Distance of images to a manifold: the known FONTS manifold (a search over the code z) and
MNIST's approximation by the affine hull of nearest training neighbours (Stutz's article).

Distances are L2 norms of [0,1]-scaled pixels over the 784 pixels.
"""
from __future__ import annotations

from typing import NamedTuple

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from dmmlib.data.fonts import CLASSES, FontsDecoder, param_bounds


GRID = 64  # parameter settings per piece in the screening stage


class Projection(NamedTuple):
    """The closest manifold point found for each image: ``distance`` (B,), its code
    (``font``, ``letter`` (B,) int64, ``params`` (B, 5)) and ``recon`` = dec(code) (B, 1, 28, 28)."""

    distance: Tensor
    font: Tensor
    letter: Tensor
    params: Tensor
    recon: Tensor


def project_fonts(
    decoder: FontsDecoder,
    x: Tensor,
    *,
    hint: tuple[Tensor, Tensor, Tensor] | None = None,
    top_k: int = 4,
    restarts: int = 2,
    steps: int = 150,
    lr: float = 0.03,
    grid: int = GRID,
    blur: float = 1.5,
    generator: torch.Generator | None = None,
) -> Projection:
    """``min_z ||dec(z) - x||_2`` over the whole manifold, for a batch x (B, 1, 28, 28).

    1. Screening: every piece (font, letter) is decoded at ``grid`` parameter settings (the
       centre of the box and ``grid - 1`` random ones); each image keeps the ``top_k`` pieces
       closest to it (distances between blurred images).
    2. Refinement: for each image, kept piece and restart (the piece's best grid point, then
       random points of the box), Adam on the parameters (rescaled to [0, 1] per parameter,
       step ``lr``, decayed linearly to a tenth) for ``steps`` steps, projected onto the box.
       The loss compares both images blurred by a Gaussian of standard deviation ``blur``
       pixels, shrinking to no blur over the first 70 % of the steps (coarse to fine: the
       blur widens the basin of thin strokes).
       ``hint`` (font, letter, params), e.g. the code an image was made from, adds one more
       start per image, so the distance found is never worse than the hint's.
    All images, pieces and restarts form one batch. Returns the best of all starts.
    """
    if x.dim() != 4 or x.shape[1:] != (1, 28, 28):
        raise ValueError(f"x must be (B, 1, 28, 28), got {tuple(x.shape)}")
    for name, v in (("top_k", top_k), ("restarts", restarts), ("steps", steps), ("grid", grid)):
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    n_pieces = decoder.n_fonts * len(CLASSES)
    top_k = min(top_k, n_pieces)
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    lo, hi = param_bounds()
    B = x.shape[0]
    xf = x.reshape(B, -1)
    # 1. screening
    u_grid = torch.cat([torch.full((1, 5), 0.5), torch.rand(grid - 1, 5, generator=gen)])
    pf = torch.arange(decoder.n_fonts).repeat_interleave(len(CLASSES))
    pc = torch.arange(len(CLASSES)).repeat(decoder.n_fonts)
    with torch.no_grad():
        templates = decoder(pf.repeat_interleave(grid), pc.repeat_interleave(grid),
                            (lo + (hi - lo) * u_grid).repeat(n_pieces, 1)).reshape(n_pieces, grid, -1)
        # distances between blurred images: robust to the misalignment of a coarse grid
        d = torch.cdist(_blur(xf, blur), _blur(templates.reshape(n_pieces * grid, -1), blur)).view(B, n_pieces, grid)
        best_d, best_g = d.min(2)  # (B, P)
        piece = best_d.topk(top_k, dim=1, largest=False).indices  # (B, K)
    # 2. refinement: rows = image x piece x restart (+ hint)
    g0 = best_g.gather(1, piece)  # (B, K)
    u0 = u_grid[g0].unsqueeze(2).expand(B, top_k, restarts, 5).clone()
    if restarts > 1:
        u0[:, :, 1:] = torch.rand(B, top_k, restarts - 1, 5, generator=gen)
    font = pf[piece].unsqueeze(2).expand(B, top_k, restarts).reshape(B, -1)
    letter = pc[piece].unsqueeze(2).expand(B, top_k, restarts).reshape(B, -1)
    u0 = u0.reshape(B, top_k * restarts, 5)
    if hint is not None:
        hf, hc, hp = hint
        font = torch.cat([font, hf.view(B, 1)], 1)
        letter = torch.cat([letter, hc.view(B, 1)], 1)
        u0 = torch.cat([u0, ((hp.float() - lo) / (hi - lo)).clamp(0, 1).view(B, 1, 5)], 1)
    R = font.shape[1]
    font, letter = font.reshape(-1), letter.reshape(-1)
    target = xf.repeat_interleave(R, dim=0)
    u = u0.reshape(-1, 5).clone().requires_grad_(True)
    opt = torch.optim.Adam([u], lr=lr)
    sched = torch.optim.lr_scheduler.LinearLR(opt, 1.0, 0.1, total_iters=steps)
    for t in range(steps):
        # coarse to fine: both images blurred, the blur shrinking to none over the first 70 %
        sigma = blur * max(0.0, 1 - t / (0.7 * steps))
        with torch.enable_grad():
            recon = decoder(font, letter, lo + (hi - lo) * u).reshape(len(u), -1)
            loss = (_blur(recon, sigma) - _blur(target, sigma)).pow(2).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            u.clamp_(0, 1)
    with torch.no_grad():
        params = lo + (hi - lo) * u.detach()
        recon = decoder(font, letter, params)
        dist = (recon.reshape(len(u), -1) - target).norm(dim=1).view(B, R)
        best = dist.argmin(1)
        rows = torch.arange(B) * R + best
    return Projection(dist.gather(1, best[:, None])[:, 0], font[rows], letter[rows], params[rows], recon[rows])


def _blur(flat: Tensor, sigma: float) -> Tensor:
    """Gaussian blur (standard deviation ``sigma`` pixels, separable, zero padding) of flat
    28 x 28 images (B, 784); the identity for sigma < 0.1."""
    if sigma < 0.1:
        return flat
    r = int(math.ceil(3 * sigma))
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=flat.dtype) / sigma) ** 2)
    k = k / k.sum()
    img = flat.view(-1, 1, 28, 28)
    img = F.conv2d(img, k.view(1, 1, 1, -1), padding=(0, r))
    img = F.conv2d(img, k.view(1, 1, -1, 1), padding=(r, 0))
    return img.reshape(flat.shape)


# -- MNIST: the affine hull of the nearest training neighbours -------------------------------


class KnnManifold(NamedTuple):
    """The approximate manifold at each image: the affine hull of its ``k`` nearest training
    images, through their ``mean`` (B, 784) with orthonormal ``basis`` (B, 784, k - 1);
    ``neighbours`` (B, k) their indices in the training set."""

    mean: Tensor
    basis: Tensor
    neighbours: Tensor


def knn_manifold(x: Tensor, train: Tensor, k: int = 50, *, chunk: int = 256) -> KnnManifold:
    """For images x (B, ...) and training images ``train`` (N, ...): the k nearest neighbours
    (L2, computed in chunks of ``chunk`` images) and the affine hull they span (dimension
    k - 1; the article projects onto the span of ``x_i - x``, which would contain x itself)."""
    if not 2 <= k <= min(train.shape[0], x[0].numel()):
        raise ValueError(f"k must lie in [2, min(N, n)], got {k}")
    xf = x.reshape(x.shape[0], -1)
    tf = train.reshape(train.shape[0], -1)
    if xf.shape[1] != tf.shape[1]:
        raise ValueError(f"x and train differ in size: {tuple(x.shape)} vs {tuple(train.shape)}")
    nb = torch.cat([torch.cdist(c, tf).topk(k, dim=1, largest=False).indices for c in xf.split(chunk)])
    pts = tf[nb]  # (B, k, n)
    mean = pts.mean(1)
    centred = (pts - mean[:, None]).transpose(1, 2).double()  # (B, n, k), rank k - 1
    U = torch.linalg.svd(centred, full_matrices=False).U[:, :, : k - 1]
    return KnnManifold(mean, U.to(x.dtype).contiguous(), nb)


def knn_distance(q: Tensor, manifold: KnnManifold) -> Tensor:
    """Distance (B,) of points q (B, ...) to their affine hulls."""
    r = q.reshape(q.shape[0], -1) - manifold.mean
    on = torch.bmm(torch.bmm(r.unsqueeze(1), manifold.basis), manifold.basis.transpose(1, 2)).squeeze(1)
    return (r - on).norm(dim=1)


def angle_to_subspace(d: Tensor, basis: Tensor) -> Tensor:
    """Angle in degrees (B,) between vectors d (B, ...) and the spans of ``basis`` (B, n, k)
    (orthonormal columns): ``arccos(||U^T d|| / ||d||)``; 90 = orthogonal to the subspace."""
    df = d.reshape(d.shape[0], -1)
    on = torch.bmm(df.unsqueeze(1), basis).squeeze(1).norm(dim=1)
    return torch.rad2deg(torch.arccos((on / df.norm(dim=1).clamp_min(1e-12)).clamp(0, 1)))


def random_like(delta: Tensor, *, generator: torch.Generator) -> Tensor:
    """A random perturbation per image with the L2 norm of ``delta`` (B, ...): a Gaussian
    direction, not clipped to the pixel box (a geometric control: equal norm, random direction)."""
    r = torch.randn(delta.shape, generator=generator, dtype=delta.dtype)
    scale = delta.reshape(len(delta), -1).norm(dim=1) / r.reshape(len(r), -1).norm(dim=1)
    return r * scale.view(-1, *([1] * (delta.dim() - 1)))
