"""Local tangent spaces of a decoder, projections onto and off them, and the measures of
appendix E.2 of the Dimpled Manifold paper.

The local manifold at an image x is the span of the columns of the decoder's Jacobian at
the code c = E(x) (appendix D.2): a k-dimensional linear subspace of the n-dimensional
image space. Bases are (B, n, k) tensors with orthonormal columns, one per image, with
n = prod of the image shape (pixels flattened in C-order). A basis shared by every image
(a control subspace such as PCA) may be given as (n, k). Norms are L2 norms of
[0,1]-scaled pixels.
"""
from __future__ import annotations

import math
import warnings
from typing import Callable

import torch
from torch import Tensor
from dmmlib.progress import progress as tqdm

from dmmlib.evaluate import as_logits

JACOBIAN_METHODS = ("jvp", "jacrev", "fd", "fd_central")


# -- tangent spaces -------------------------------------------------------------------------


def tangent_jacobian(
    decode: Callable[[Tensor], Tensor],
    codes: Tensor,
    *,
    method: str = "jvp",
    fd_eps: float = 1e-3,
    chunk_size: int | None = 1024,
    progress: bool = False,
) -> Tensor:
    """The decoder's Jacobian at each code, (B, n, k); column i = d decode(c) / d c_i.

    Args:
        decode: maps codes (b, k) to images (b, ...), each output row depending only on its
            own code (eval mode: no batch statistics).
        codes: (B, k) codes c = E(x).
        method: "jvp" (exact, forward mode: one Jacobian-vector product per code dimension,
            all B*k of them batched), "jacrev" (exact, reverse mode: n vector-Jacobian
            products per image), "fd" (the paper's one-sided finite differences
            ``(decode(c + fd_eps e_i) - decode(c)) / fd_eps``) or "fd_central"
            (``(decode(c + h e_i) - decode(c - h e_i)) / 2h``, h = fd_eps).
        fd_eps: finite-difference step in code units (> 0).
        chunk_size: rows per decoder call (jvp, fd: of the B*k perturbed codes; jacrev: of
            the n cotangents); bounds memory. None: everything at once.
    """
    _check_codes(codes)
    if method not in JACOBIAN_METHODS:
        raise ValueError(f"method must be one of {JACOBIAN_METHODS}, got {method!r}")
    if method.startswith("fd") and not (math.isfinite(fd_eps) and fd_eps > 0):
        raise ValueError(f"fd_eps must be a finite number > 0, got {fd_eps!r}")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive int or None, got {chunk_size!r}")
    codes = codes.detach()
    if method == "jacrev":
        return _jacobian_reverse(decode, codes, chunk_size, progress)
    B, k = codes.shape
    base = codes.repeat_interleave(k, dim=0)  # row b*k + i holds c_b
    dirs = torch.eye(k, dtype=codes.dtype, device=codes.device).repeat(B, 1)  # ... and e_i
    rows = B * k
    step = rows if chunk_size is None else chunk_size
    cols = []
    for s in tqdm(range(0, rows, step), desc=f"tangent ({method})", disable=not progress):
        c, e = base[s : s + step], dirs[s : s + step]
        cols.append(_directional(decode, c, e, method, fd_eps).reshape(c.shape[0], -1))
    return torch.cat(cols).view(B, k, -1).transpose(1, 2)


def _directional(decode, c: Tensor, e: Tensor, method: str, h: float) -> Tensor:
    """(m, k) codes and directions -> (m, ...) directional derivatives of decode."""
    if method == "jvp":
        with torch.no_grad(), warnings.catch_warnings():
            # torch's forward-AD decompositions use torch.jit.script on first use and warn about it
            warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=FutureWarning)
            return torch.func.jvp(decode, (c,), (e,))[1]
    with torch.no_grad():
        if method == "fd":
            return (decode(c + h * e) - decode(c)) / h
        return (decode(c + h * e) - decode(c - h * e)) / (2 * h)


def _jacobian_reverse(decode, codes: Tensor, chunk_size: int | None, progress: bool) -> Tensor:
    """Reverse mode: one batched vjp per output pixel, vmapped over pixel chunks."""
    B, k = codes.shape
    out, vjp_fn = torch.func.vjp(decode, codes)
    out_shape = out.shape[1:]
    n = out[0].numel()
    step = n if chunk_size is None else chunk_size
    rows = []
    for s in tqdm(range(0, n, step), desc="tangent (jacrev)", disable=not progress):
        m = min(step, n - s)
        cot = torch.zeros(m, n, dtype=out.dtype, device=out.device)
        cot[torch.arange(m), torch.arange(s, s + m)] = 1
        cot = cot.view(m, 1, *out_shape).expand(m, B, *out_shape)
        with torch.no_grad():
            rows.append(torch.func.vmap(vjp_fn)(cot)[0])  # (m, B, k)
    return torch.cat(rows).permute(1, 0, 2).detach()


def orthonormal_basis(jacobian: Tensor) -> Tensor:
    """(B, n, k) spanning vectors -> (B, n, k) orthonormal columns with the same span (reduced QR).

    If a Jacobian has rank < k, QR still returns k orthonormal columns, some of them
    arbitrary; check :func:`torch.linalg.svdvals` of the Jacobian when that matters.
    """
    if jacobian.dim() != 3 or jacobian.shape[2] > jacobian.shape[1]:
        raise ValueError(f"jacobian must have shape (B, n, k) with k <= n, got {tuple(jacobian.shape)}")
    if not torch.isfinite(jacobian).all():
        raise ValueError("jacobian contains non-finite values (nan or inf)")
    return torch.linalg.qr(jacobian, mode="reduced").Q


def local_tangent_basis(
    decode: Callable[[Tensor], Tensor],
    codes: Tensor,
    *,
    method: str = "jvp",
    fd_eps: float = 1e-3,
    chunk_size: int | None = 1024,
    progress: bool = False,
) -> Tensor:
    """Orthonormal basis (B, n, k) of the decoder's tangent space at each code (appendix D.2).

    ``codes`` (B, k) are the encoder's codes of the images; see :func:`tangent_jacobian` for
    the methods ("jvp" exact, default; "fd" the paper's construction).
    """
    J = tangent_jacobian(decode, codes, method=method, fd_eps=fd_eps, chunk_size=chunk_size, progress=progress)
    return orthonormal_basis(J)


def local_manifold(
    encode: Callable[[Tensor], Tensor],
    decode: Callable[[Tensor], Tensor],
    x: Tensor,
    *,
    method: str = "jvp",
    fd_eps: float = 1e-3,
    chunk_size: int | None = 1024,
    progress: bool = False,
) -> tuple[Tensor, Tensor]:
    """The paper's local manifold at images x (B, ...): ``(x_prime, basis)``.

    ``x_prime = decode(encode(x))`` (B, ...) is the auto-encoded image, the point the
    manifold passes through (appendix D.2); ``basis`` (B, n, k) spans its tangent space
    (:func:`local_tangent_basis` at the codes ``encode(x)``).
    """
    with torch.no_grad():
        codes = encode(x)
        x_prime = decode(codes)
    basis = local_tangent_basis(decode, codes, method=method, fd_eps=fd_eps, chunk_size=chunk_size, progress=progress)
    return x_prime, basis


def principal_angles(A: Tensor, B: Tensor, *, degrees: bool = False) -> Tensor:
    """Principal angles between span(A) and span(B), ascending, (..., min(kA, kB)).

    A (..., n, kA) and B (..., n, kB) need not be orthonormal (they are orthonormalised by
    QR). Small angles come from sines and large ones from cosines, so both are accurate
    (Bjorck & Golub 1973; Knyazev & Argentati 2002). Radians unless ``degrees``.
    """
    if A.dim() < 2 or B.dim() < 2 or A.shape[-2] != B.shape[-2]:
        raise ValueError(f"A and B must be (..., n, k) with the same n, got {tuple(A.shape)} and {tuple(B.shape)}")
    if not (torch.isfinite(A).all() and torch.isfinite(B).all()):
        raise ValueError("A or B contains non-finite values (nan or inf)")
    if A.shape[-1] < B.shape[-1]:
        A, B = B, A
    Qa = torch.linalg.qr(A, mode="reduced").Q
    Qb = torch.linalg.qr(B, mode="reduced").Q
    M = Qa.transpose(-1, -2) @ Qb
    cos = torch.linalg.svdvals(M).clamp(0, 1)  # descending
    sin = torch.linalg.svdvals(Qb - Qa @ M).clamp(0, 1).flip(-1)  # ascending sines <-> descending cosines
    angles = torch.where(cos**2 < 0.5, torch.arccos(cos), torch.arcsin(sin))
    return torch.rad2deg(angles) if degrees else angles


def finite_difference_angles(
    decode: Callable[[Tensor], Tensor],
    codes: Tensor,
    fd_eps: tuple[float, ...] = (1e-1, 1e-2, 1e-3, 1e-4),
    *,
    method: str = "fd",
    chunk_size: int | None = 1024,
    degrees: bool = True,
) -> Tensor:
    """Largest principal angle between the finite-difference basis and the exact (jvp) one.

    Returns (len(fd_eps), B): row i for step ``fd_eps[i]`` (``method`` "fd", the paper's
    one-sided construction, or "fd_central"), in degrees unless ``degrees=False``. Both bases
    are computed in the dtype of ``codes`` and of the decoder.
    """
    if method not in ("fd", "fd_central"):
        raise ValueError(f"method must be 'fd' or 'fd_central', got {method!r}")
    exact = local_tangent_basis(decode, codes, method="jvp", chunk_size=chunk_size)
    rows = []
    for h in fd_eps:
        approx = local_tangent_basis(decode, codes, method=method, fd_eps=h, chunk_size=chunk_size)
        rows.append(principal_angles(approx, exact, degrees=degrees)[:, -1])
    return torch.stack(rows)


# -- projections and the measures of appendix E.2 --------------------------------------------


def coordinates(v: Tensor, basis: Tensor) -> Tensor:
    """Coordinates U^T v of a batch v (B, ...) in an orthonormal basis (B, n, k) or (n, k): (B, k)."""
    vf = _flat(v, basis)
    if basis.dim() == 2:
        return vf @ basis
    return torch.bmm(vf.unsqueeze(1), basis).squeeze(1)  # row-vector form: fastest on CPU


def project_onto(v: Tensor, basis: Tensor) -> Tensor:
    """Orthogonal projection U U^T v onto span(basis); same shape as v (B, ...)."""
    c = coordinates(v, basis)
    on = c @ basis.T if basis.dim() == 2 else torch.bmm(c.unsqueeze(1), basis.transpose(1, 2)).squeeze(1)
    return on.view_as(v)


def project_off(v: Tensor, basis: Tensor) -> Tensor:
    """Projection v - U U^T v onto the orthogonal complement of span(basis); shape of v."""
    return v - project_onto(v, basis)


def norm_ratio(d: Tensor, basis: Tensor) -> Tensor:
    """R(d, M) = ||d|| / ||Proj_M d|| (appendix E.2), (B,); inf where the projection is 0.

    1 when d lies in M; sqrt(n/k) is the paper's reference value for random d; an angle
    of 45 degrees between d and M gives sqrt(2).
    """
    on = coordinates(d, basis).norm(dim=1)
    full = d.reshape(d.shape[0], -1).norm(dim=1)
    return full / on


def relative_effect(
    model: Callable[[Tensor], Tensor],
    x: Tensor,
    d: Tensor,
    basis: Tensor,
    source: Tensor,
    target: Tensor,
) -> Tensor:
    """On-manifold relative effect E_{Proj_M(d)} of appendix E.2, (B,).

    With m(z) = f(z)_target - f(z)_source (f the logits),
    ``E = (m(x + Proj_M d) - m(x)) / (m(x + d) - m(x))``: the share of the logit-margin
    change that the on-manifold part of the perturbation achieves. The paper evaluates it
    at the auto-encoded image x' (pass that as ``x``), with ``source`` the original class
    and ``target`` the adversarial class. nan where the total effect is 0.

    Args: model (images -> logits, or a binary logit), x (B, ...) base images, d (B, ...)
    perturbations, basis (B, n, k) or (n, k), source and target (B,) int labels.
    """
    if d.shape != x.shape:
        raise ValueError(f"d must have the shape of x {tuple(x.shape)}, got {tuple(d.shape)}")
    for name, lab in (("source", source), ("target", target)):
        if lab.dim() != 1 or lab.shape[0] != x.shape[0] or lab.is_floating_point():
            raise ValueError(f"{name} must be an int tensor of shape ({x.shape[0]},), got {lab.dtype} {tuple(lab.shape)}")
    b = x.shape[0]
    with torch.no_grad():
        z = as_logits(model, torch.cat([x, x + d, x + project_onto(d, basis)]))
    m = z.gather(1, target.repeat(3)[:, None])[:, 0] - z.gather(1, source.repeat(3)[:, None])[:, 0]
    m0, m_full, m_on = m[:b], m[b : 2 * b], m[2 * b :]
    total = m_full - m0
    return torch.where(total != 0, (m_on - m0) / total, torch.full_like(total, float("nan")))


# -- validation -------------------------------------------------------------------------------


def _flat(v: Tensor, basis: Tensor) -> Tensor:
    if not isinstance(basis, Tensor) or basis.dim() not in (2, 3):
        raise ValueError(f"basis must be (B, n, k) or (n, k), got {tuple(getattr(basis, 'shape', ()))}")
    if v.dim() < 1:
        raise ValueError("v must be a batch (B, ...)")
    vf = v.reshape(v.shape[0], -1)
    n = basis.shape[-2]
    if vf.shape[1] != n or (basis.dim() == 3 and basis.shape[0] != v.shape[0]):
        raise ValueError(
            f"v {tuple(v.shape)} (n={vf.shape[1]}) does not match basis {tuple(basis.shape)}; "
            "expected basis (B, n, k) or (n, k) with the same B and n"
        )
    return vf


def _check_codes(codes: Tensor) -> None:
    if not isinstance(codes, Tensor) or codes.dim() != 2 or not codes.is_floating_point():
        raise ValueError(f"codes must be a floating tensor of shape (B, k), got {tuple(getattr(codes, 'shape', ()))}")
    if not torch.isfinite(codes).all():
        raise ValueError("codes contain non-finite values (nan or inf)")
