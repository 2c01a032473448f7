"""dmmlib's L2 PGD against torchattacks' PGDL2: same perturbations, and the time ratio.

Like for like: the same model (MnistMLP of appendix G.1, trained here for a few epochs on
the 5,000 offline MNIST training digits), the same correctly classified test digits, eps,
step size and number of steps, cross-entropy loss and no random start (torchattacks' PGDL2
normalises the gradient by ``||g|| + 1e-10``, steps, rescales delta into the eps-ball and
clamps to [0, 1], as dmmlib does). torchattacks always runs every step; dmmlib runs
(a) every step (``early_stop=False``) and (b) the greedy attack of appendix F
(``early_stop=True``), whose finished samples leave the batch.

Writes ``benchmarks/results/pgd.md`` and ``pgd.json`` (atomically). All cases run as
interleaved repeats in one process, so the ratios compare like with like on this machine;
on the CPU the ratios use the minimum over repeats of the process's CPU time (robust when
other jobs share the cores), and medians and wall times are listed beside them.
"Sample forward passes" counts the work exactly
(torchattacks: images x steps; dmmlib: sum of (steps_used + 1), the last pass checking success).

Two settings of appendix F: eps 2, step 0.04, 50 steps (quick: 256 digits), and
eps 10, step 0.02, 1000 steps (quick: 32 digits), where the greedy early stop matters most.

Also measured (issue 11): the cost of a projected (on/off-manifold) step relative to an
unconstrained one (all steps, a random 16-d basis per digit, so the passes are equal; target
<= 1.3x), and for early exit the share of passes saved beside the share of time saved.

    python benchmarks/bench_pgd.py            # quick, about a minute on one thread
    python benchmarks/bench_pgd.py --full     # more digits and repeats
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dmmlib.attacks.pgd import pgd_l2  # noqa: E402
from dmmlib.data.mnist import load_mnist  # noqa: E402
from dmmlib.models.mlp import MnistMLP  # noqa: E402
from dmmlib.subspaces import random_subspace  # noqa: E402

from common import hardware, write_results  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def train_classifier(device: torch.device, epochs: int, seed: int = 0) -> tuple[MnistMLP, str]:
    torch.manual_seed(seed)
    data = load_mnist("train")
    model = MnistMLP().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = data.x.to(device), data.y.to(device)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=g).to(device)
        for i in range(0, len(x), 128):
            b = perm[i : i + 128]
            loss = torch.nn.functional.cross_entropy(model(x[b]), y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval(), data.source


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# (label, eps, step size, steps, images quick / full): the paper's L2 settings for MNIST
CONFIGS = (
    ("appendix F, unconstrained PGD of table 1 (eps 2, step 0.04, 50 steps)", 2.0, 0.04, 50, 256, 1000),
    ("appendix F, PGD of table 2 (eps 10, step 0.02, 1000 steps)", 10.0, 0.02, 1000, 32, 128),
)


def projection_apart(model, x, basis, device, reps: int = 30, rounds: int = 3) -> dict:
    """ms per call of: a forward+backward pass on x; the off-projection of its gradient alone
    (the bases stay in the cache between calls); the two alternating, as in the attack. The
    projection both as dmmlib runs it (the compiled kernel on a CPU) and by batched matrix
    products (``project_bmm``, the GPU path)."""
    from dmmlib.attacks.projection import basis_rows, project_bmm, project_direction

    rows = basis_rows(basis)
    xf = x.reshape(len(x), -1)

    def fb():
        d = torch.zeros_like(xf, requires_grad=True)
        return torch.autograd.grad(model((xf + d).view_as(x)).sum(), d)[0]

    g = fb()
    cases = {"forward_backward_ms": fb, "projection_alone_ms": lambda: project_direction(g, rows, "off"),
             "both_alternating_ms": lambda: project_direction(fb(), rows, "off"),
             "bmm_alone_ms": lambda: project_bmm(g, rows, "off"),
             "bmm_alternating_ms": lambda: project_bmm(fb(), rows, "off")}
    best = dict.fromkeys(cases, float("inf"))
    clock = time.process_time if device.type == "cpu" else time.perf_counter
    for _ in range(rounds):  # interleaved rounds, the minimum of each
        for name, fn in cases.items():
            fn()
            sync(device)
            c = clock()
            for _ in range(reps):
                fn()
            sync(device)
            best[name] = min(best[name], (clock() - c) / reps)
    return {name: 1e3 * t for name, t in best.items()}


def run_config(model, x, y, eps, step_size, steps, repeats, device, with_basis) -> dict:
    """Time every case on the same inputs, interleaved; check dmmlib against torchattacks."""
    import torchattacks

    kw = dict(eps=eps, step_size=step_size, steps=steps)
    ta = torchattacks.PGDL2(model, eps=eps, alpha=step_size, steps=steps, random_start=False)
    cases = {
        "torchattacks PGDL2 (CE, all steps)": lambda: ta(x, y) - x,
        "dmmlib pgd_l2 (CE, all steps)": lambda: pgd_l2(model, x, y, loss="ce", early_stop=False, **kw),
        "dmmlib pgd_l2 (CE, early stop)": lambda: pgd_l2(model, x, y, loss="ce", early_stop=True, **kw),
        "dmmlib pgd_l2 (margin, early stop)": lambda: pgd_l2(model, x, y, loss="margin", early_stop=True, **kw),
    }
    if with_basis:
        basis = random_subspace(784, 16, batch=len(x), generator=torch.Generator().manual_seed(0), device=device)
        for mode in ("on", "off"):
            cases[f"dmmlib pgd_l2 (CE, all steps, {mode} a 16-d basis)"] = lambda mode=mode: pgd_l2(
                model, x, y, loss="ce", early_stop=False, basis=basis, basis_mode=mode, **kw
            )
        cases["dmmlib pgd_l2 (CE, early stop, off a 16-d basis)"] = lambda: pgd_l2(
            model, x, y, loss="ce", early_stop=True, basis=basis, basis_mode="off", **kw
        )
    outputs = {name: fn() for name, fn in cases.items()}  # warm-up, and the results compared below
    wall: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            sync(device)
            s, c = time.perf_counter(), time.process_time()
            fn()
            sync(device)
            wall[name].append(time.perf_counter() - s)
            cpu[name].append(time.process_time() - c)
    # on the CPU the process's own CPU time is the robust measure on a shared machine
    # (waiting for a core is not counted), and its minimum over repeats the least disturbed
    # (as timeit advises); on a GPU, wall time
    times = cpu if device.type == "cpu" else wall

    ref = outputs["torchattacks PGDL2 (CE, all steps)"]
    ours = outputs["dmmlib pgd_l2 (CE, all steps)"]
    diff = (ours.delta - ref).reshape(len(x), -1)
    ref_norm = ref.reshape(len(x), -1).norm(dim=1)
    with torch.no_grad():
        same = (model(x + ours.delta).argmax(1) == model(x + ref).argmax(1)).float().mean().item()
    agree = {
        "max_abs_pixel_diff": diff.abs().max().item(),
        "max_l2_diff": diff.norm(dim=1).max().item(),
        "max_relative_l2_diff": (diff.norm(dim=1) / ref_norm.clamp_min(1e-12)).max().item(),
        "same_prediction_fraction": same,
    }
    base = min(times["torchattacks PGDL2 (CE, all steps)"])
    rows = []
    for name in cases:
        best = min(times[name])
        out = outputs[name]
        res = out if not isinstance(out, torch.Tensor) else None
        rows.append({
            "attack": name,
            "min_s": best,
            "median_s": statistics.median(times[name]),
            "median_wall_s": statistics.median(wall[name]),
            "speedup_vs_torchattacks": base / best,
            "sample_forwards": len(x) * steps if res is None else int((res.steps_used + 1).sum()),
            "success_rate": None if res is None else res.success.float().mean().item(),
            "mean_steps": None if res is None else res.steps_used.float().mean().item(),
        })
    by = {r["attack"]: r for r in rows}

    def saved(full, early):
        a, b = by[full], by[early]
        return {"full": full, "early": early,
                "passes_saved_pct": 100 * (1 - b["sample_forwards"] / a["sample_forwards"]),
                "time_saved_pct": 100 * (1 - b["min_s"] / a["min_s"])}

    early_exit = [saved("dmmlib pgd_l2 (CE, all steps)", "dmmlib pgd_l2 (CE, early stop)")]
    step_cost = {}  # ms per step by batch size: a step's fixed cost is why time saved < passes saved
    for b in (len(x), 16, 1):
        best = float("inf")
        for _ in range(3):
            sync(device)
            c = time.process_time() if device.type == "cpu" else time.perf_counter()
            pgd_l2(model, x[:b], y[:b], loss="ce", early_stop=False, eps=eps, step_size=step_size, steps=20)
            sync(device)
            best = min(best, (time.process_time() if device.type == "cpu" else time.perf_counter()) - c)
        step_cost[b] = 1e3 * best / 20
    projected = {}
    if with_basis:
        early_exit.append(saved("dmmlib pgd_l2 (CE, all steps, off a 16-d basis)",
                                "dmmlib pgd_l2 (CE, early stop, off a 16-d basis)"))
        for mode in ("on", "off"):
            projected[mode] = by[f"dmmlib pgd_l2 (CE, all steps, {mode} a 16-d basis)"]["min_s"] / by["dmmlib pgd_l2 (CE, all steps)"]["min_s"]
        projected["basis_mib"] = len(x) * 784 * 16 * 4 / 2**20
        projected.update(projection_apart(model, x, basis, device))
    return {"n_images": len(x), "eps": eps, "step_size": step_size, "steps": steps,
            "agreement_early_stop_off": agree, "rows": rows, "early_exit": early_exit, "step_ms_by_batch": step_cost,
            "projected_step_cost": projected}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="more digits (1000 and 128), 11 repeats")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--out", default=str(RESULTS / "pgd"), help="output path without extension")
    args = ap.parse_args(argv)
    import torchattacks

    device = torch.device(args.device)
    load = os.getloadavg()[0]
    repeats = args.repeats or (11 if args.full else 7)
    t0 = time.perf_counter()
    model, source = train_classifier(device, epochs=3)
    test = load_mnist("test")
    with torch.no_grad():
        correct = model(test.x.to(device)).argmax(1).cpu() == test.y
    accuracy = correct.float().mean().item()
    configs = []
    for i, (label, eps, step_size, steps, n_quick, n_full) in enumerate(CONFIGS):
        n = n_full if args.full else n_quick
        x = test.x[correct][:n].to(device)
        y = test.y[correct][:n].to(device)
        r = run_config(model, x, y, eps, step_size, steps, repeats if i == 0 else max(3, repeats // 2),
                       device, with_basis=(i == 0))
        configs.append({"setting": label, "repeats": repeats if i == 0 else max(3, repeats // 2), **r})
    result = {
        "benchmark": "pgd_l2 vs torchattacks.PGDL2",
        "hardware": hardware(device),
        "torchattacks": torchattacks.__version__,
        "model": f"MnistMLP (784-256-256-10), 3 epochs on {source}; clean test accuracy {accuracy:.3f}; "
                 "attacked: the first correctly classified test digits",
        "clock": "process CPU time" if device.type == "cpu" else "wall time",
        "configs": configs,
        "total_s": time.perf_counter() - t0,
        "load_average_1min_at_start": load,
        "note": f"interleaved repeats in one process; 1-minute load average {load:.1f} at the start on "
                f"{os.cpu_count()} cores (under contention, memory-bound work such as the projection suffers most)",
    }
    write_results(Path(args.out), result, markdown(result), code=("dmmlib.attacks.pgd", "dmmlib.attacks.projection", "dmmlib.subspaces"))
    print(markdown(result))
    return result


def markdown(r: dict) -> str:
    lines = [
        "### L2 PGD: dmmlib against torchattacks",
        "",
        "Same model, inputs, eps, step size and steps; cross-entropy loss, no random start.",
        "",
        f"Hardware: {r['hardware']}; torchattacks {r['torchattacks']}. Model: {r['model']}.",
        "",
    ]
    for c in r["configs"]:
        a = c["agreement_early_stop_off"]
        lines += [
            f"*{c['setting']}*: {c['n_images']} MNIST test digits, {c['repeats']} interleaved repeats",
            "",
            f"| attack | min {r['clock']} (s) | median {r['clock']} (s) | median wall time (s) | speed-up vs torchattacks | "
            "sample forward passes | success rate | mean steps |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in c["rows"]:
            sr = "–" if row["success_rate"] is None else f"{row['success_rate']:.3f}"
            ms = "–" if row["mean_steps"] is None else f"{row['mean_steps']:.1f}"
            lines.append(
                f"| {row['attack']} | {row['min_s']:.3f} | {row['median_s']:.3f} | {row['median_wall_s']:.3f} | "
                f"{row['speedup_vs_torchattacks']:.2f}x | {row['sample_forwards']} | {sr} | {ms} |"
            )
        if c.get("projected_step_cost"):
            pc = c["projected_step_cost"]
            fb = pc["forward_backward_ms"]
            lines += ["", "Cost of a projected step (same passes, all steps; time relative to the unconstrained step; "
                      f"target <= 1.3x): on the 16-d basis {pc['on']:.2f}x, off it {pc['off']:.2f}x, target "
                      f"**{'met' if max(pc['on'], pc['off']) <= 1.3 else 'NOT met'}**. "
                      f"The projection's arithmetic is small, but it reads the per-digit bases, {pc['basis_mib']:.1f} MiB, "
                      "at every step: memory traffic and call overhead, not flops. On a CPU dmmlib projects with a "
                      "compiled loop (numba) that reads each digit's basis once from memory and once more from the "
                      "core's cache and computes the norms in the same pass; the basis is checked once per attack "
                      "(finite, orthonormal) by one sum and one product with its first column. Measured apart (off-projection of one "
                      f"gradient): a forward+backward pass {fb:.2f} ms; the projection alone (bases in the cache) "
                      f"{pc['projection_alone_ms']:.2f} ms, alternating with the pass as in the attack "
                      f"{pc['both_alternating_ms']:.2f} ms ({pc['both_alternating_ms'] / fb:.2f}x); the same by two "
                      f"batched matrix products (`project_bmm`, the GPU path) {pc['bmm_alone_ms']:.2f} ms alone, "
                      f"{pc['bmm_alternating_ms']:.2f} ms alternating ({pc['bmm_alternating_ms'] / fb:.2f}x)."]
        for e in c.get("early_exit", []):
            lines += ["", f"Early exit, {e['early']} against {e['full']}: {e['passes_saved_pct']:.1f} % of the "
                      f"passes saved, {e['time_saved_pct']:.1f} % of the time saved."]
        if c.get("step_ms_by_batch"):
            sc = {int(k): v for k, v in c["step_ms_by_batch"].items()}
            big = max(sc)
            lines += ["", "Why time saved trails passes saved: a step has a fixed cost (the model's and the attack's "
                      "per-call overhead) that does not shrink with the batch. One step (unconstrained, CE) takes "
                      + ", ".join(f"{sc[b]:.2f} ms for {b} digit(s)" for b in sorted(sc, reverse=True))
                      + f", i.e. {1e3 * sc[big] / big:.0f} us per digit at {big} but {1e3 * sc[1]:.0f} us for a lone digit: "
                      "the last few digits of a batch cost almost a full step each."]
        lines += [
            "",
            f"Same perturbations with early stop off: max abs pixel difference {a['max_abs_pixel_diff']:.2e}, "
            f"max L2 difference {a['max_l2_diff']:.2e} (relative {a['max_relative_l2_diff']:.2e}), "
            f"same prediction on {100 * a['same_prediction_fraction']:.1f}% of the digits.",
            "",
        ]
    lines += [
        f"Speed-ups are ratios of the minimum {r['clock']} over the repeats. Total run time {r['total_s']:.0f} s. _{r['note']}._",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
