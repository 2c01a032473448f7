"""Tangent bases of a decoder: exact forward mode vs finite differences vs reverse mode.

For the MNIST-sized decoder (16-d code -> 1x28x28) and the CIFAR-sized conv decoder (128-d
code -> 3x32x32) of ``dmmlib.models.autoencoders`` (randomly initialised, seeded: timing and
the accuracy of the methods do not need trained weights; the trained decoders are measured
in the book), at codes of random images:

- time per image of ``local_tangent_basis`` with method "jvp" (forward mode, exact),
  "jacrev" (reverse mode, exact), "fd" (the paper's one-sided differences) and "fd_central";
- accuracy against the exact float64 basis: the largest principal angle (degrees) and the
  relative Frobenius error of the Jacobian, for several finite-difference steps.

Writes ``benchmarks/results/tangent.md`` and ``tangent.json`` (atomically). Ratios use the
minimum over repeats of the process's CPU time (robust when other jobs share the cores);
median wall times are listed beside them.

    python benchmarks/bench_tangent.py          # quick
    python benchmarks/bench_tangent.py --full   # more images and repeats
"""
from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dmmlib.manifold import orthonormal_basis, principal_angles, tangent_jacobian  # noqa: E402
from dmmlib.models.autoencoders import CifarAutoencoder, MnistAutoencoder  # noqa: E402

from common import hardware, write_results  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
FD_EPS = (1e-1, 1e-2, 1e-3, 1e-4)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, repeats: int, device: torch.device, warmup: bool = True) -> tuple[float, float, object]:
    """(min process CPU time, median wall time, last result) of ``repeats`` calls (after a warm-up)."""
    out = fn() if warmup else None
    cpu, wall = [], []
    for _ in range(repeats):
        sync(device)
        s, c = time.perf_counter(), time.process_time()
        out = fn()
        sync(device)
        wall.append(time.perf_counter() - s)
        cpu.append(time.process_time() - c)
    return min(cpu), statistics.median(wall), out


def bench_decoder(name: str, ae: torch.nn.Module, shape: tuple, batch: int, jacrev_batch: int,
                  repeats: int, device: torch.device, chunk: int) -> dict:
    torch.manual_seed(0)
    ae = ae.to(device).eval()
    images = torch.rand(batch, *shape, generator=torch.Generator().manual_seed(1)).to(device)
    with torch.no_grad():
        codes = ae.encode(images)
    ae64 = copy.deepcopy(ae).double()
    J_ref = tangent_jacobian(ae64.decode, codes.double(), method="jvp", chunk_size=chunk)
    Q_ref = orthonormal_basis(J_ref)

    def accuracy(J: torch.Tensor, idx: slice = slice(None)) -> dict:
        J, ref = J.double(), J_ref[idx]
        ang = principal_angles(orthonormal_basis(J), Q_ref[idx], degrees=True)[:, -1]
        rel = (J - ref).flatten(1).norm(dim=1) / ref.flatten(1).norm(dim=1)
        return {"max_angle_deg_mean": ang.mean().item(), "max_angle_deg_max": ang.max().item(),
                "rel_jacobian_error_mean": rel.mean().item()}

    rows = []
    methods = [("jvp", None), ("jacrev", None), ("fd_central", 1e-3)] + [("fd", e) for e in FD_EPS]
    for method, eps in methods:
        b = jacrev_batch if method == "jacrev" else batch
        kw = dict(method=method, chunk_size=256 if method == "jacrev" else chunk)
        if eps is not None:
            kw["fd_eps"] = eps
        # time the whole basis (Jacobian + QR), as a caller gets it
        slow = method == "jacrev"  # reverse mode is by far the slowest: one timed call, no warm-up
        cpu, wall, J = timed(lambda: tangent_jacobian(ae.decode, codes[:b], **kw), 1 if slow else repeats,
                             device, warmup=not slow)
        cpu_qr, wall_qr, _ = timed(lambda: orthonormal_basis(J), repeats, device)
        rows.append({"method": method, "fd_eps": eps, "images": b,
                     "cpu_s_per_image": (cpu + cpu_qr) / b, "wall_s_per_image": (wall + wall_qr) / b,
                     **accuracy(J, slice(0, b))})
    jvp = rows[0]["cpu_s_per_image"]
    for r in rows:
        r["time_vs_jvp"] = r["cpu_s_per_image"] / jvp
    k, n = codes.shape[1], images[0].numel()
    return {"decoder": name, "k": k, "n": n, "rows": rows}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--chunk", type=int, default=512, help="rows per decoder call (jvp, fd)")
    ap.add_argument("--out", default=str(RESULTS / "tangent"))
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    repeats = 5 if args.full else 3
    t0 = time.perf_counter()
    decoders = [
        bench_decoder("MnistAutoencoder.decode (MLP 16 -> 256 -> 512 -> 784)", MnistAutoencoder(), (1, 28, 28),
                      batch=64 if args.full else 16, jacrev_batch=16 if args.full else 4,
                      repeats=repeats, device=device, chunk=args.chunk),
        bench_decoder("CifarAutoencoder.decode (conv, 128 -> 3x32x32)", CifarAutoencoder(), (3, 32, 32),
                      batch=8 if args.full else 2, jacrev_batch=2 if args.full else 1,
                      repeats=repeats, device=device, chunk=args.chunk),
    ]
    result = {
        "benchmark": "local tangent bases: jvp vs jacrev vs finite differences",
        "hardware": hardware(device),
        "weights": "randomly initialised (torch.manual_seed(0)), codes of uniform-random images",
        "reference": "exact forward-mode Jacobian in float64; the methods run in float32",
        "repeats": repeats,
        "decoders": decoders,
        "total_s": time.perf_counter() - t0,
        "note": "repeats in one process; measured under CPU contention when others share the machine",
    }
    write_results(Path(args.out), result, markdown(result), code=("dmmlib.manifold", "dmmlib.models.autoencoders"))
    print(markdown(result))
    return result


def markdown(r: dict) -> str:
    lines = [
        "### Local tangent bases: exact forward mode (jvp), reverse mode (jacrev), finite differences",
        "",
        f"Hardware: {r['hardware']}. Weights: {r['weights']}. Reference: {r['reference']}. "
        f"{r['repeats']} repeats after a warm-up (jacrev: one call): minimum CPU time, median wall time; "
        "time per image includes the QR.",
        "",
    ]
    for d in r["decoders"]:
        lines += [
            f"*{d['decoder']}*, k = {d['k']}, n = {d['n']}",
            "",
            "| method | fd step | images | CPU s / image | wall s / image | time vs jvp | "
            "largest principal angle to exact (deg), mean / max | relative Jacobian error |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in d["rows"]:
            eps = "–" if row["fd_eps"] is None else f"{row['fd_eps']:g}"
            lines.append(
                f"| {row['method']} | {eps} | {row['images']} | {row['cpu_s_per_image']:.4f} | "
                f"{row['wall_s_per_image']:.4f} | {row['time_vs_jvp']:.2f}x | "
                f"{row['max_angle_deg_mean']:.3g} / {row['max_angle_deg_max']:.3g} | {row['rel_jacobian_error_mean']:.2e} |"
            )
        lines.append("")
    lines += [f"Total run time {r['total_s']:.0f} s. _{r['note']}._", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
