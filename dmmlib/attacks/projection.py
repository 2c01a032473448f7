"""Projection of per-sample vectors onto, or off, per-sample subspaces: the step that makes
an attack "on" or "off" a local manifold.

Every sample b has its own orthonormal basis U_b (n, k). The attacks keep it as rows,
(B, k, n) contiguous (:func:`basis_rows`, prepared once per attack), and project each
gradient ``v`` (b, n) with :func:`project` (``U U^T v`` "on", ``v - U U^T v`` "off") or
:func:`project_direction` (also the norms the step needs).

The arithmetic is tiny (4kn flops per sample) but the whole basis (50 kB per MNIST digit at
k = 16) is read at every step, so the cost is memory traffic and call overhead. On a CPU a
compiled loop (numba) projects one sample at a time: its rows are read once from memory and
a second time from the core's own cache, with the direction's norm (and the rounding-noise
rule of :func:`project_direction`) computed in the same pass, and the finished samples of an
early-exit attack skipped by index (no copy). That is 2-3x faster than two batched matrix
products (``torch.bmm``), which remain the path on a GPU, for dtypes
other than float32/float64, and where numba is not installed (``benchmarks/bench_pgd.py``
measures both).
"""
from __future__ import annotations

import torch
from torch import Tensor

try:  # the CPU kernel; the bmm path below is the fallback
    import numba
    import numpy as np
except ImportError:  # pragma: no cover - numba is a dependency; this keeps the library importable
    numba = None

_CHUNK_BYTES = 4 << 20  # bmm path on a CPU: chunks of ~4 MiB of basis, read twice while still in cache
_NOISE = 1e-6  # a projection with norm <= _NOISE * ||v|| is rounding noise, no direction


def basis_rows(basis: Tensor) -> Tensor:
    """Orthonormal columns (B, n, k) -> the same basis as rows, (B, k, n) contiguous: the
    layout :func:`project` reads fastest. Prepare it once per attack, not per step."""
    return basis.transpose(1, 2).contiguous()


def project(v: Tensor, rows: Tensor, mode: str) -> Tensor:
    """v (b, n), rows (b, k, n) from :func:`basis_rows` -> U U^T v ("on") or v - U U^T v ("off"), (b, n)."""
    return _project(v, rows, None, mode)[0]


def project_direction(g: Tensor, rows: Tensor, mode: str, positions: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """A gradient g (b, n) projected on or off the span of its rows, and the projection's
    norm (b, 1). ``rows`` (B, k, n); sample i of g uses ``rows[positions[i]]`` (positions
    (b,) int64; None: ``rows[i]``, b == B). A projection that leaves only rounding noise
    (norm <= 1e-6 of ``||g||``) is no direction: its norm is returned as 0 (scale steps with
    :func:`step_scale`)."""
    p, norm = _project(g, rows, positions, mode)
    return p, norm.unsqueeze(1)


def step_scale(length, norm: Tensor) -> Tensor:
    """``length / norm`` where ``norm > 0``, else 0 (no direction, no step); same shape as norm."""
    return torch.where(norm > 0, length / norm.clamp_min(1e-12), torch.zeros_like(norm))


class ActiveSubspace:
    """The basis rows (from :func:`basis_rows`) of the samples still in an attack's batch.

    When samples leave, the rows are not copied (a copy costs as much as a projection): the
    positions of the active samples are kept, and the projection reads their rows by index.
    Once fewer than 3/4 of the rows are active they are compacted, so the memory the
    projection touches shrinks with the batch."""

    def __init__(self, rows: Tensor, mode: str):
        self.rows, self.mode = rows, mode
        self.pos = None  # positions of the active samples in self.rows; None: all of them

    def keep(self, keep: Tensor) -> None:
        """Keep the active samples at indices ``keep`` (into the current active order)."""
        self.pos = keep if self.pos is None else self.pos.index_select(0, keep)
        if self.pos.numel() < 0.75 * self.rows.shape[0]:
            self.rows, self.pos = self.rows.index_select(0, self.pos), None

    def project_direction(self, g: Tensor) -> tuple[Tensor, Tensor]:
        """:func:`project_direction` of g (b_active, n) on or off the active samples' spans."""
        return project_direction(g, self.rows, self.mode, self.pos)


# -- the two implementations -------------------------------------------------------------------


def _project(v: Tensor, rows: Tensor, positions: Tensor | None, mode: str) -> tuple[Tensor, Tensor]:
    """(projection (b, n), its norm (b,), 0 where it is rounding noise: see :func:`project_direction`)."""
    _check_shapes(v, rows, positions)
    if _use_kernel(v, rows):
        pos = np.arange(v.shape[0]) if positions is None else positions.numpy()
        v = v.contiguous()
        out, norm = torch.empty_like(v), v.new_empty(v.shape[0])
        vn = v.numpy()
        _kernel(vn, rows.numpy(), pos, mode == "on", out.numpy(), norm.numpy(), vn.dtype.type(0))
        return out, norm
    r = rows if positions is None else rows.index_select(0, positions)
    out = project_bmm(v, r, mode)
    norm = out.norm(dim=1)
    return out, torch.where(norm > _NOISE * v.norm(dim=1), norm, torch.zeros_like(norm))


def _check_shapes(v: Tensor, rows: Tensor, positions: Tensor | None) -> None:
    """The compiled kernel does not check bounds, so the shapes are checked here."""
    if v.dim() != 2 or rows.dim() != 3 or rows.shape[2] != v.shape[1]:
        raise ValueError(f"v must be (b, n) and rows (B, k, n); got {tuple(v.shape)} and {tuple(rows.shape)}")
    if positions is None:
        if rows.shape[0] != v.shape[0]:
            raise ValueError(f"{v.shape[0]} vectors but {rows.shape[0]} bases")
    elif positions.shape != (v.shape[0],) or positions.dtype != torch.int64 or (
        positions.numel() and not (0 <= int(positions.min()) and int(positions.max()) < rows.shape[0])
    ):
        raise ValueError(f"positions must be {v.shape[0]} int64 indices into {rows.shape[0]} bases")


def _use_kernel(v: Tensor, rows: Tensor) -> bool:
    return (
        numba is not None
        and v.device.type == "cpu"
        and rows.device.type == "cpu"
        and v.dtype in (torch.float32, torch.float64)
        and rows.dtype == v.dtype
        and rows.is_contiguous()
        and not v.requires_grad
        and not rows.requires_grad
    )


def project_bmm(v: Tensor, rows: Tensor, mode: str) -> Tensor:
    """:func:`project` by two batched matrix products per sample (row-vector form): the path on a
    GPU and the fallback on a CPU, where it runs in chunks whose basis fits in the cache."""
    if rows.device.type != "cpu" or rows.element_size() * rows[0].numel() * v.shape[0] <= _CHUNK_BYTES:
        return _project_chunk(v, rows, mode)
    step = max(1, _CHUNK_BYTES // (rows.element_size() * rows[0].numel()))
    out = torch.empty_like(v)
    for i in range(0, v.shape[0], step):
        out[i : i + step] = _project_chunk(v[i : i + step], rows[i : i + step], mode)
    return out


def _project_chunk(v: Tensor, rows: Tensor, mode: str) -> Tensor:
    c = torch.bmm(v.unsqueeze(1), rows.transpose(1, 2))  # (b, 1, k) coordinates
    if mode == "on":
        return torch.bmm(c, rows).squeeze(1)
    return torch.baddbmm(v.unsqueeze(1), c, rows, alpha=-1).squeeze(1)


if numba is not None:

    @numba.njit(cache=True, nogil=True, fastmath=True)
    def _kernel(v, rows, positions, on, out, norm, zero):  # pragma: no cover - compiled
        """For each sample i: c = U^T v_i (k,), then out_i = U c ("on") or v_i - U c ("off"),
        with U the rows at positions[i]; norm[i] = ||out_i||, or 0 when it is at most
        _NOISE ||v_i||. Sums in the dtype of ``zero`` (the inputs' dtype, as BLAS sums)."""
        b, n = v.shape
        k = rows.shape[1]
        c = np.empty(k, dtype=v.dtype)
        for i in range(b):
            u = rows[positions[i]]
            for j in range(k):
                s = zero
                for m in range(n):
                    s += u[j, m] * v[i, m]
                c[j] = s
            for m in range(n):
                out[i, m] = zero if on else v[i, m]
            for j in range(k):
                cj = c[j] if on else -c[j]
                for m in range(n):
                    out[i, m] += cj * u[j, m]
            sv, sp = zero, zero
            for m in range(n):
                sv += v[i, m] * v[i, m]
                sp += out[i, m] * out[i, m]
            norm[i] = np.sqrt(sp) if sp > _NOISE * _NOISE * sv else zero
