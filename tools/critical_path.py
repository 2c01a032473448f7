#!/usr/bin/env python3
"""The expected wall time of the ``paper`` profile on 1, 4 and 16 GPUs, from the dry run's table.

    tools/critical_path.py [--gpus 1 4 16] [--table benchmarks/results/paper_dry_run.json]

The task graph of a build on Ray (``tools/ray_build.py``): the shared models, then the
chapters, then inside a chapter its independent units (the seeds it maps over with
:func:`dmmlib.parallel.map`, :data:`UNIT_KNOBS`). The dry run (``tools/dry_run.py``) estimated
each chapter's GPU hours as a bracket (low: loops add up; high: the seeds repeat everything),
each chapter measured with an empty cache, so a chapter's hours include training the shared
models it uses; the table does not time the models apart. This tool therefore folds the models
into the chapters (a chapter that shares a model with another pays for it in both: an upper
bound, when the model phase trains it once), splits a chapter with units into that many equal
tasks, and schedules all tasks by list scheduling, longest first (LPT: each task to the GPU
free first), on G GPUs. The makespan is the expected wall time; the longest single task is the
critical path, the floor no number of GPUs goes below. One task per GPU; data loading,
Ray's start and the site's build are left out. ImageNet, which the table runs on a stand-in,
comes on top.
"""
from __future__ import annotations

import argparse
import heapq
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "benchmarks" / "results" / "paper_dry_run.json"
GPUS = (1, 4, 16)
# chapters whose units run as tasks (dmmlib.parallel.map over seeds) and the loop knob that counts them
UNIT_KNOBS = {"distance_during_training": "seeds", "relabelling": "seeds", "local_manifolds": "seeds",
              "leaving_the_manifold": "seeds"}


def tasks(rows: dict, which: int) -> list[tuple[str, float]]:
    """[(chapter, GPU hours)] of every task: one per chapter, or one per unit (equal shares)
    for the chapters of :data:`UNIT_KNOBS`; ``which`` 0: the low estimate, 1: the high.
    Rows that failed or have no estimate are left out."""
    if which not in (0, 1):
        raise ValueError(f"which must be 0 (low) or 1 (high), got {which!r}")
    out = []
    for name, row in rows.items():
        hours = (row.get("gpu_hours") or [math.nan, math.nan])[which]
        if not row.get("ok") or not isinstance(hours, (int, float)) or not math.isfinite(hours):
            continue
        knob = UNIT_KNOBS.get(name)
        loop = (row.get("loops") or {}).get(knob) if knob else None
        units = int(loop[2]) if isinstance(loop, (list, tuple)) and len(loop) == 3 else 1
        out += [(name, hours / units)] * max(units, 1)
    return out


def makespan(durations: list[float], gpus: int) -> float:
    """Wall time of list scheduling, longest first, of independent ``durations`` on ``gpus`` machines."""
    if not isinstance(gpus, int) or gpus < 1:
        raise ValueError(f"gpus must be a positive int, got {gpus!r}")
    if any(d < 0 for d in durations):
        raise ValueError("durations must be >= 0")
    free = [0.0] * gpus
    for d in sorted(durations, reverse=True):
        heapq.heapreplace(free, free[0] + d)
    return max(free)


def estimates(rows: dict, gpus=GPUS) -> list[dict]:
    """Per GPU count: wall hours (low, high), the critical path (longest task, low and high) and
    the total GPU hours (low, high)."""
    low, high = tasks(rows, 0), tasks(rows, 1)
    out = []
    for g in gpus:
        out.append({"gpus": g,
                    "wall": (makespan([h for _, h in low], g), makespan([h for _, h in high], g)),
                    "critical": (max((h for _, h in low), default=0.0), max((h for _, h in high), default=0.0)),
                    "total": (sum(h for _, h in low), sum(h for _, h in high))})
    return out


def markdown(rows: dict, gpus=GPUS) -> str:
    """The table of :func:`estimates` for a page, with what it assumes."""
    from dmmlib.report import fmt_number

    if not rows:
        return "The dry run has not been run on this checkout: `make dry-run` writes its table.\n"
    est = estimates(rows, gpus)
    longest = max(tasks(rows, 1), key=lambda t: t[1], default=("—", 0.0))[0]
    left_out = sorted(n for n, r in rows.items() if not r.get("ok"))
    lines = ["| GPUs | expected wall time (hours) | critical path: longest task (hours) | GPU hours in all |",
             "| ---: | ---: | ---: | ---: |"]
    for e in est:
        lines.append(f"| {e['gpus']} | {fmt_number(e['wall'][0], 2)} – {fmt_number(e['wall'][1], 2)} "
                     f"| {fmt_number(e['critical'][0], 2)} – {fmt_number(e['critical'][1], 2)} "
                     f"| {fmt_number(e['total'][0], 2)} – {fmt_number(e['total'][1], 2)} |")
    units = ", ".join(f"{n} ({k})" for n, k in UNIT_KNOBS.items() if n in rows)
    note = (f"\nComputed by `tools/critical_path.py` from the dry run's table (`benchmarks/results/paper_dry_run.json`, "
            f"{len(rows) - len(left_out)} chapters): the low and the high estimate of each chapter, split into one task "
            f"per unit for {units}, scheduled longest first on each number of GPUs. The longest task ({longest}, "
            "high estimate) is the critical path. Shared models are inside the chapters' hours "
            "(an upper bound); ImageNet comes on top.")
    if left_out:
        note += f" Left out (their dry run failed): {', '.join(left_out)}."
    return "\n".join(lines) + "\n" + note + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gpus", type=int, nargs="+", default=list(GPUS))
    ap.add_argument("--table", type=Path, default=TABLE)
    args = ap.parse_args(argv)
    try:
        rows = json.loads(args.table.read_text())["rows"]
    except (OSError, ValueError, KeyError) as err:
        print(f"error: cannot read the dry run's table {args.table} ({err}); `make dry-run` writes it", file=sys.stderr)
        return 2
    print(markdown(rows, args.gpus), end="")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
