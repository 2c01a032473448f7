"""The experiments of the chapter "Local image manifolds" (section 7, appendices D, G, I of
the Dimpled Manifold paper): how well an autoencoder reconstructs, how far the paper's
finite-difference tangent spaces are from the exact ones, how the decoder's Jacobian
spectrum looks, and the random-vector ratio measured on the tangent spaces.

- :func:`draw_indices`: seeded subsets (chunked evaluation: :mod:`dmmlib.evaluate`).
- :func:`reconstruction_errors`: reconstructions and per-image MSE / L2 errors.
- :func:`tangent_angle_study` (one batch) and :func:`tangent_study` (several seeds): the exact
  float64 Jacobian and the largest principal angle to it of the float32 forward-mode
  Jacobian and of one-sided finite differences in float32 and float64.
- :func:`spectrum_summary`: condition numbers and counts of strong singular values.
- :func:`angle_summary`, :func:`best_steps`, :func:`range_verdict`: the finite-difference
  table and its best steps.
- :func:`random_ratio_study`: the Monte Carlo random-vector ratio of appendix I per seed;
  :func:`random_ratio_samples`: the draws themselves, per image.

Images are (B, C, H, W) in [0, 1]; n = C*H*W pixels; errors are of [0,1]-scaled pixels;
codes are (B, k); Jacobians (B, n, k); angles in degrees; finite-difference steps in code units.
"""
from __future__ import annotations

import copy
from typing import NamedTuple, Sequence

import pandas as pd
import torch
from torch import Tensor

from dmmlib import parallel
from dmmlib.evaluate import apply_batched
from dmmlib.manifold import orthonormal_basis, principal_angles, tangent_jacobian
from dmmlib.subspaces import random_vector_ratio

METHODS = ("jvp fp32", "fd fp32", "fd fp64")


# -- subsets and chunked evaluation -----------------------------------------------------------


def draw_indices(total: int, n: int, seed: int = 0) -> Tensor:
    """The first ``n`` entries of a seeded permutation of range(total), (n,) long; n = 0 or
    n >= total: all of range(total), in order."""
    if not isinstance(total, int) or not isinstance(n, int) or total < 1 or n < 0:
        raise ValueError(f"need ints total >= 1 and n >= 0 (0 = all), got total={total!r}, n={n!r}")
    if n == 0 or n >= total:
        return torch.arange(total)
    return torch.randperm(total, generator=torch.Generator().manual_seed(seed))[:n]


def reconstruction_errors(ae, x: Tensor, *, batch_size: int = 500, device=None) -> tuple[Tensor, Tensor, Tensor]:
    """``(recon, mse, l2)``: reconstructions ae(x) (N, C, H, W), and per image the mean squared
    error per pixel (N,) and the L2 norm of the error (N,), of [0,1]-scaled pixels."""
    recon = apply_batched(ae, x, batch_size=batch_size, device=device)
    if recon.shape != x.shape:
        raise ValueError(f"the autoencoder must return images of shape {tuple(x.shape)}, got {tuple(recon.shape)}")
    err = (recon - x).flatten(1)
    return recon, err.pow(2).mean(1), err.norm(dim=1)


# -- tangent spaces: exact against finite differences -----------------------------------------


def tangent_angle_study(
    ae32, x: Tensor, *, fd_eps: Sequence[float], ae64=None, chunk_size: int | None = 1024, device=None
) -> tuple[Tensor, list[dict]]:
    """Exact tangent spaces at images x (B, C, H, W) and how far approximations are from them.

    The codes c = E(x) come from the float32 encoder. The reference is the float64 decoder's
    forward-mode Jacobian J64 (B, n, k). Each approximation's largest principal angle to
    span(J64), in degrees, is one record ``{"method", "eps", "angle"}`` per image, for
    "jvp fp32" (forward mode in float32: the precision floor; eps = nan) and, for every step
    in ``fd_eps`` (code units), "fd fp32" and "fd fp64" (the paper's one-sided differences,
    appendix D.2). ``ae64``: a float64 copy of ``ae32`` (made here when None).

    Returns ``(J64 on the CPU, records)``; records are ordered method by method, image by image.
    """
    if not fd_eps or any(not (float(e) > 0) for e in fd_eps):
        raise ValueError(f"fd_eps must be a non-empty sequence of steps > 0, got {fd_eps!r}")
    if not isinstance(x, Tensor) or x.dim() < 2 or len(x) == 0:
        raise ValueError(f"x must be a non-empty image batch (B, ...), got {tuple(getattr(x, 'shape', ()))}")
    ae64 = copy.deepcopy(ae32).double() if ae64 is None else ae64
    with torch.no_grad():
        c = ae32.encode(x.to(device) if device is not None else x)
    c64 = c.double()
    J64 = tangent_jacobian(ae64.decode, c64, method="jvp", chunk_size=chunk_size)

    def largest(J: Tensor) -> list[float]:
        return principal_angles(J.double(), J64, degrees=True)[:, -1].cpu().tolist()

    nan = float("nan")
    J32 = tangent_jacobian(ae32.decode, c, method="jvp", chunk_size=chunk_size)
    records = [{"method": "jvp fp32", "eps": nan, "angle": a} for a in largest(J32)]
    for eps in fd_eps:
        for method, dec, cc in (("fd fp32", ae32.decode, c), ("fd fp64", ae64.decode, c64)):
            J = tangent_jacobian(dec, cc, method="fd", fd_eps=float(eps), chunk_size=chunk_size)
            records += [{"method": method, "eps": float(eps), "angle": a} for a in largest(J)]
    return J64.cpu(), records


class TangentStudy(NamedTuple):
    """Per seed s: ``images[s]`` (B, C, H, W) drawn with seed ``seed_base + s``, their exact
    float64 Jacobians ``jacobians[s]`` (B, n, k); ``angles``: the records of
    :func:`tangent_angle_study` of every seed, each with its ``seed``."""

    images: list[Tensor]
    jacobians: list[Tensor]
    angles: list[dict]


def tangent_study(
    ae32,
    pool: Tensor,
    *,
    n_images: int,
    seeds: int,
    fd_eps: Sequence[float],
    seed_base: int = 100,
    chunk_size: int | None = 1024,
    device=None,
    progress: bool = False,
) -> TangentStudy:
    """:func:`tangent_angle_study` at ``n_images`` images drawn from ``pool`` (N, C, H, W)
    for each of ``seeds`` seeds (seed s draws with :func:`draw_indices` and seed ``seed_base + s``);
    ``progress`` shows a tqdm bar over the seeds."""
    if not isinstance(seeds, int) or seeds < 1 or not isinstance(n_images, int) or n_images < 1:
        raise ValueError(f"seeds and n_images must be positive ints, got seeds={seeds!r}, n_images={n_images!r}")
    ae64 = copy.deepcopy(ae32).double()
    context = (ae32, ae64, pool, n_images, tuple(fd_eps), seed_base, chunk_size, device)
    done = parallel.map(_tangent_seed, range(seeds), context=context, desc="tangent spaces" if progress else None)
    images = [x for x, _, _ in done]
    jacobians = [J64 for _, J64, _ in done]
    angles = [{"seed": s, **r} for s, (_, _, records) in enumerate(done) for r in records]
    return TangentStudy(images, jacobians, angles)


def _tangent_seed(context: tuple, s: int) -> tuple[Tensor, Tensor, list[dict]]:
    """One seed of :func:`tangent_study` (a unit for :func:`dmmlib.parallel.map`): the images
    (B, C, H, W) drawn with seed ``seed_base + s``, their float64 Jacobians (B, n, k) and the
    records of :func:`tangent_angle_study`."""
    ae32, ae64, pool, n_images, fd_eps, seed_base, chunk_size, device = context
    x = pool[draw_indices(len(pool), n_images, seed_base + s)]
    J64, records = tangent_angle_study(ae32, x, fd_eps=fd_eps, ae64=ae64, chunk_size=chunk_size, device=device)
    return x, J64, records


def spectrum_summary(singular_values: Tensor, threshold: float = 0.1) -> tuple[Tensor, Tensor]:
    """From singular values (N, k), descending per row (``torch.linalg.svdvals`` of Jacobians),
    the condition numbers sigma_1 / sigma_k (N,) and the counts (N,) of singular values above
    ``threshold`` times the largest."""
    S = singular_values
    if not isinstance(S, Tensor) or S.dim() != 2 or S.shape[1] < 1:
        raise ValueError(f"singular_values must be (N, k), got {tuple(getattr(S, 'shape', ()))}")
    if not torch.isfinite(S).all() or (S[:, 0] <= 0).any():
        raise ValueError("singular values must be finite with a positive largest value per row")
    rel = S / S[:, :1]
    return 1 / rel[:, -1], (rel > threshold).sum(1)


# -- the finite-difference table ---------------------------------------------------------------


def angle_summary(angles: pd.DataFrame) -> pd.DataFrame:
    """Finite-difference rows of ``angles`` (columns data, method, eps, angle) grouped by
    (data, method, eps): median, 25 % and 75 % quantiles of the angle, and the count n."""
    missing = {"data", "method", "eps", "angle"} - set(angles.columns)
    if missing:
        raise ValueError(f"angles lacks the columns {sorted(missing)}")
    fd = angles[angles.method != "jvp fp32"]
    return (fd.groupby(["data", "method", "eps"])["angle"]
            .agg(median="median", q25=lambda a: a.quantile(0.25), q75=lambda a: a.quantile(0.75), n="size")
            .reset_index())


def best_steps(summary: pd.DataFrame) -> pd.DataFrame:
    """Per (data, method) of :func:`angle_summary`: the step with the smallest median angle
    (columns best_eps, best_median) and the largest median over the steps (worst_median)."""
    rows = []
    for (name, method), g in summary.groupby(["data", "method"], sort=False):
        best = g.loc[g["median"].idxmin()]
        rows.append({"data": name, "method": method, "best_eps": float(best["eps"]),
                     "best_median": float(best["median"]), "worst_median": float(g["median"].max())})
    return pd.DataFrame(rows).set_index(["data", "method"])


def range_verdict(value: float, lo: float = 10.0, hi: float = 20.0) -> str:
    """"within", "below" or "above" the closed range [lo, hi]."""
    if not lo <= hi:
        raise ValueError(f"need lo <= hi, got {lo}, {hi}")
    return "within" if lo <= value <= hi else ("below" if value < lo else "above")


# -- appendix I: the random-vector ratio on the tangent spaces --------------------------------


def random_ratio_samples(jacobians: Sequence[Tensor], samples: int, *, seed_base: int = 1000) -> list[Tensor]:
    """Per seed s, the draws R = ||r|| / ||Proj_M r|| (B, samples), float64, of ``samples``
    Gaussian vectors per image, M the span of ``jacobians[s]`` (B, n, k) (seed ``seed_base + s``)."""
    out = []
    for s, J in enumerate(jacobians):
        basis = orthonormal_basis(J)
        g = torch.Generator().manual_seed(seed_base + s)
        out.append(random_vector_ratio(J.shape[1], J.shape[2], samples, basis=basis, generator=g))
    return out


def random_ratio_study(jacobians: Sequence[Tensor], samples: int, *, seed_base: int = 1000) -> list[float]:
    """Per seed s, the mean over images and ``samples`` Gaussian vectors of
    R = ||r|| / ||Proj_M r|| with M the span of ``jacobians[s]`` (B, n, k) (seed ``seed_base + s``)."""
    return [R.mean().item() for R in random_ratio_samples(jacobians, samples, seed_base=seed_base)]


# -- the finite-difference basis judged by its effect on R and E (appendix E.2) ---------------

#: The unconstrained L2 PGD of table 1 as the on/off-manifold chapter runs it under ``quick``
#: (radius, step, steps; norms of [0,1]-scaled pixels).
ATTACK = {"MNIST": {"eps": 2.0, "step_size": 0.04, "steps": 50},
          "CIFAR-10": {"eps": 0.5, "step_size": 0.04, "steps": 50}}


def fd_effect(model, ae32, x: Tensor, y: Tensor, jacobian: Tensor, *, fd_eps: float, eps: float,
              step_size: float, steps: int, chunk_size: int | None = 1024) -> dict[str, Tensor]:
    """R and E (appendix E.2) of an adversarial perturbation measured on the exact tangent space
    and on the paper's finite-difference one, at images x (B, C, H, W) with labels y (B,).

    ``jacobian`` (B, n, k): the exact (float64) decoder Jacobians at the codes of x
    (:func:`tangent_study`); the finite-difference span is the float32 one-sided construction of
    appendix D.2 with step ``fd_eps`` (code units). The perturbation d is the unconstrained L2
    PGD (margin loss, greedy) of radius ``eps``.

    Returns per image (B,): ``correct`` (the classifier is right at x), ``success`` (the attack
    changed the prediction of a correctly classified image), ``d_norm``, ``R_exact``, ``R_fd``
    (||d|| / ||Proj_M d||), ``E_exact``, ``E_fd`` (on-manifold relative effect at x, towards
    the adversarial class; nan where the attack failed).
    """
    from dmmlib.attacks.pgd import pgd
    from dmmlib.evaluate import as_logits
    from dmmlib.manifold import norm_ratio, relative_effect

    if jacobian.dim() != 3 or jacobian.shape[0] != len(x) or len(y) != len(x):
        raise ValueError(f"need x (B, ...), y (B,) and jacobian (B, n, k) of one B, got {tuple(x.shape)}, "
                         f"{tuple(y.shape)}, {tuple(jacobian.shape)}")
    from dmmlib.evaluate import model_device

    dev = model_device(model)
    x, y = x.to(model_device(ae32)), y.to(dev)
    with torch.no_grad():
        c = ae32.encode(x)
    U_fd = orthonormal_basis(tangent_jacobian(ae32.decode, c, method="fd", fd_eps=float(fd_eps), chunk_size=chunk_size))
    x = x.to(dev)
    U_fd, U_exact = U_fd.to(dev, x.dtype), orthonormal_basis(jacobian).to(dev, x.dtype)
    with torch.no_grad():
        correct = as_logits(model, x).argmax(1) == y
    r = pgd(model, x, y, norm="l2", eps=eps, step_size=step_size, steps=steps, loss="margin")
    d = r.delta
    success = r.success & correct
    with torch.no_grad():
        target = as_logits(model, x + d).argmax(1)
    out = {"correct": correct.cpu(), "success": success.cpu(), "d_norm": d.flatten(1).norm(dim=1).cpu()}
    nan = torch.full((len(x),), float("nan"), dtype=torch.float64)
    for name, U in (("exact", U_exact), ("fd", U_fd)):
        out[f"R_{name}"] = torch.where(success.cpu(), norm_ratio(d, U).double().cpu(), nan)
        out[f"E_{name}"] = torch.where(success.cpu(), relative_effect(model, x, d, U, y, target).double().cpu(), nan)
    return out


def fd_effect_change(R_fd, R_exact, E_fd, E_exact, *, n_boot: int = 1000, seed: int = 0) -> dict[str, float]:
    """How much the finite-difference basis moves R and E, from per-image paired values (N,)
    (images where the attack succeeded; nan rows are dropped).

    Returns ``{"R": ..., "E": ..., "worst": ...}`` relative changes of the means,
    |mean(fd) / mean(exact) - 1|, with ``worst`` their larger one, and ``worst_lo`` /
    ``worst_hi`` its 95 % paired bootstrap interval over images (nan with fewer than 2 images),
    and ``n`` the number of images.
    """
    import numpy as np

    from dmmlib.stats import bootstrap_ci

    arrs = [np.asarray(v, dtype=np.float64).reshape(-1) for v in (R_fd, R_exact, E_fd, E_exact)]
    if len({a.size for a in arrs}) != 1:
        raise ValueError("R_fd, R_exact, E_fd and E_exact must be paired arrays of one length")
    keep = np.logical_and.reduce([np.isfinite(a) for a in arrs])
    arrs = [a[keep] for a in arrs]
    n = int(keep.sum())
    nan = float("nan")
    if n == 0:
        return {"R": nan, "E": nan, "worst": nan, "worst_lo": nan, "worst_hi": nan, "n": 0}

    def change(rf, re, ef, ee):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.maximum(np.abs(rf.mean(1) / re.mean(1) - 1), np.abs(ef.mean(1) / ee.mean(1) - 1))

    rf, re, ef, ee = arrs
    out = {"R": float(abs(rf.mean() / re.mean() - 1)), "E": float(abs(ef.mean() / ee.mean() - 1)), "n": n}
    out["worst"] = max(out["R"], out["E"])
    if n < 2:
        out["worst_lo"] = out["worst_hi"] = nan
    else:
        ci = bootstrap_ci(rf, re, ef, ee, statistic=change, n_boot=n_boot, seed=seed)
        out["worst_lo"], out["worst_hi"] = ci.lo, ci.hi
    return out
