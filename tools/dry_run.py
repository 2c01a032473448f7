#!/usr/bin/env python3
"""A dry run of the ``paper`` profile: every chapter at the paper's sizes, its long loops cut.

    tools/dry_run.py [--chapter NAME ...] [--memory-gb 20] [--gpu-tflops 60]
    tools/dry_run.py --reestimate     # the estimates again from the recorded times

(run by ``.venv/bin/python``: the script starts itself with it when another Python lacks the
requirements). Bad input (an unknown chapter, a ``DRY_RUN`` override out of range, a missing
data file) stops with one line and exit status 2 before any run; Ctrl-C or SIGTERM with one
line naming the log that keeps the traceback (``book/_build/dry-run/dry-run.log``).

Each chapter is executed twice with papermill under ``profile = "paper"``: once with every
loop knob (seeds, epochs, steps, iterations, restarts, Monte Carlo samples: see :data:`LOOP_SUFFIXES`) cut to 1
and once cut to 2, everything else (widths, dimensions, numbers of images, k, batch sizes)
at the paper's values, plus the chapter's own ``DRY_RUN`` overrides from its
``profiles.py`` (e.g. a fake ImageNet folder). A crash for shape, memory or data reasons
shows up here, on the CPU, in minutes. Each run is a separate process with its address
space capped at ``--memory-gb``, so an out-of-memory run fails alone instead of taking the
machine with it.

From the two run times t1 and t2 the estimate of the full ``paper`` run brackets the cost
of the cut loops between two assumptions (:func:`estimate`): the loops add up, or the seeds
repeat everything else; in both, each cut knob's share of t2 - t1 is taken as equal. It is
an order of magnitude, no more. Work the chapter scales (``DRY_RUN_SCALED``) and loops over
a set ``DRY_RUN`` cuts (``DRY_RUN_LOOPS_OVER``) enter the same way (:func:`scaled_loops`).
The GPU estimate divides by the ratio of a stated GPU FLOP rate (``--gpu-tflops``, at the
stated utilisation) to the CPU's measured float32 matmul rate; it is an order of magnitude,
not a promise. Results: ``benchmarks/results/paper_dry_run.md`` (shown on the
reproducibility page) and ``.json``; executed notebooks under ``book/_build/dry-run/``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


if __name__ == "__main__":
    from project_python import ensure  # tools/: the script's own folder

    ensure("papermill", "torch")
from dmmlib.params import DRY_RUN_ENV  # noqa: E402

OUT = ROOT / "book" / "_build" / "dry-run"
RESULTS = ROOT / "benchmarks" / "results"
GPU_UTILISATION = 0.3


def loop_knobs(chapter: str) -> dict[str, int]:
    """{knob: paper value} of the integer knobs that count iterations of a loop."""
    from dmmlib import params

    paper = params.resolve(chapter, "paper")
    return {k: paper[k] for k in params.loop_knobs(chapter, paper)}


def dry_overrides(chapter: str, cut: int) -> dict:
    """The overrides of one dry run: loop knobs cut to ``cut`` (:func:`dmmlib.params.dry_run_value`:
    ``cut`` iterations, or ``cut`` % of a Monte Carlo sample count), the chapter's ``DRY_RUN``
    dict, and its ``DRY_RUN_SCALED`` knobs (work that grows in proportion to them, such as
    the images measured at every checkpoint) at ``cut`` times their stated value."""
    from dmmlib import params

    lows = params.ranges(chapter)
    out = {k: params.dry_run_value(k, v, cut, int(lows.get(k, (1, None))[0])) for k, v in loop_knobs(chapter).items()}
    out.update(_profile_attr(chapter, "DRY_RUN"))
    paper = params.resolve(chapter, "paper")
    for k, v in _profile_attr(chapter, "DRY_RUN_SCALED").items():  # a dict knob: its entries scale
        out[k] = {**out.get(k, paper[k]), **{e: n * cut for e, n in v.items()}} if isinstance(v, dict) else v * cut
    if "imagenet_path" in params.knobs(chapter):
        out["imagenet_path"] = str(fake_imagenet())
    return out


def _profile_attr(chapter: str, name: str) -> dict:
    import importlib

    try:
        return dict(getattr(importlib.import_module(f"dmmlib.chapters.{chapter}.profiles"), name, {}))
    except ModuleNotFoundError:
        return {}


def shared_model_prefixes(chapter: str) -> set[str]:
    """The knob prefixes (``mnist_ae_``, ``cifar_ae_``, ...) of the shared models
    (:mod:`dmmlib.zoo`) the chapter's package or page trains: ``zoo.mnist_autoencoder(`` -> ``mnist_ae_``."""
    import re

    files = [*(ROOT / "dmmlib" / "chapters" / chapter).glob("*.py"), ROOT / "book" / "chapters" / f"{chapter}.md"]
    calls = set()
    for f in (f for f in files if f.exists()):
        calls |= set(re.findall(r"zoo\.(mnist|cifar|imagenet)_(autoencoder|classifier)\(", f.read_text()))
    return {f"{data}_{'ae' if kind == 'autoencoder' else 'clf'}_" for data, kind in calls}


def scaled_loops(chapter: str) -> dict[str, tuple[int, int, int]]:
    """{knob: (value at cut 1, value at cut 2, paper value)} of every knob the estimate
    extrapolates: the loop knobs, the chapter's ``DRY_RUN_SCALED`` knobs and the loop knobs
    of the shared models the chapter trains (``shared_models.<knob>``: the dry run cuts
    them through :data:`dmmlib.params.DRY_RUN_ENV`). A loop whose every iteration runs over a
    set the dry run cuts (the chapter's ``DRY_RUN_LOOPS_OVER``: epochs over a training set of
    ``cifar_train_size`` images) counts in iterations of the dry run's size: its paper value
    is multiplied by paper size / dry-run size (60 epochs over 50,000 images = 6,000 over 500)."""
    from dmmlib import params

    paper = params.resolve(chapter, "paper")
    one, two = dry_overrides(chapter, 1), dry_overrides(chapter, 2)
    triples = {k: (one[k], two[k], paper[k]) for k in loop_knobs(chapter)}
    for k, v in _profile_attr(chapter, "DRY_RUN_SCALED").items():  # a dict knob: one entry each ("n_images.mnist")
        triples.update({f"{k}.{e}": (one[k][e], two[k][e], paper[k][e]) for e in v} if isinstance(v, dict)
                       else {k: (one[k], two[k], paper[k])})
    for k, size in _profile_attr(chapter, "DRY_RUN_LOOPS_OVER").items():  # an iteration runs over a cut set
        if k in triples:
            a, b, v = triples[k]
            triples[k] = (a, b, v * _full_size(chapter, size) / one[size])
    out = {k: (int(a), int(b), round(v)) for k, (a, b, v) in triples.items() if int(b) > int(a)}
    prefixes = tuple(shared_model_prefixes(chapter))
    if prefixes:
        shared = params.resolve("shared_models", "paper")
        lows = params.ranges("shared_models")
        for k in (k for k in params.loop_knobs("shared_models", shared) if k.startswith(prefixes)):
            a, b = (params.dry_run_value(k, shared[k], c, int(lows.get(k, (1, None))[0])) for c in (1, 2))
            if b > a:
                out[f"shared_models.{k}"] = (a, b, int(shared[k]))
    return out


def fake_imagenet(per_class: int = 4) -> Path:
    """A folder ``train/<wnid>/``, ``val/<wnid>/`` of the two paper classes made of copies of the
    shared sample images: it exercises the ImageNet code path at full image size."""
    from dmmlib.data.imagenet import PAIR
    from dmmlib.data.paths import data_dir

    root = OUT / "fake-imagenet"
    for split in ("train", "val"):
        for wnid in PAIR:
            folder = root / split / wnid
            folder.mkdir(parents=True, exist_ok=True)
            src = next((data_dir() / "imagenet-samples").glob(f"{wnid}_*.JPEG"), None)
            if src is None:
                raise SystemExit(f"error: the fake ImageNet folder needs {data_dir() / 'imagenet-samples'}/{wnid}_*.JPEG "
                                 "(the shared sample images; set DMM_DATA)")
            for i in range(per_class):
                if not (folder / f"img{i}.JPEG").exists():
                    shutil.copy(src, folder / f"img{i}.JPEG")
    return root


def run_once(chapter: str, cut: int, memory_gb: float, timeout_s: int) -> dict:
    """Execute ``chapter`` (paper, :func:`dry_overrides` with loops cut to ``cut``) in a child
    process with a capped address space; return {seconds, peak_rss_gb, ok, error}."""
    overrides = dry_overrides(chapter, cut)
    OUT.mkdir(parents=True, exist_ok=True)
    record = OUT / f"{chapter}.run.json"
    cmd = [sys.executable, __file__, "--one", chapter, "--overrides", json.dumps(overrides), "--record", str(record)]
    # the shared models' loops (zoo_profiles: autoencoder epochs, ...) are cut by dmmlib.params too;
    # an empty cache of its own, so that every model is trained and every result computed in the run
    # measured (a cache kept from an earlier dry run would make it look free)
    cache = tempfile.mkdtemp(prefix=f"dmm-dry-run-{chapter}-{cut}-")
    env = {**os.environ, DRY_RUN_ENV: str(cut), "DMM_CACHE": cache}
    limit = int(memory_gb * 2**30)

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, preexec_fn=cap, capture_output=True, text=True, timeout=timeout_s, env=env)
        ok, err = proc.returncode == 0, proc.stderr[-2000:]
    except subprocess.TimeoutExpired:
        ok, err = False, f"timed out after {timeout_s} s"
    seconds = time.perf_counter() - start
    shutil.rmtree(cache, ignore_errors=True)
    peak = json.loads(record.read_text())["peak_rss_gb"] if record.exists() else float("nan")
    record.unlink(missing_ok=True)
    return {"seconds": seconds, "peak_rss_gb": peak, "ok": ok, "error": "" if ok else _last_error(err)}


def _last_error(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line or "error" in line]
    return (errors or lines or ["unknown error"])[-1][:300]


def execute_child(chapter: str, overrides: dict, record: Path) -> None:
    """In the child: papermill the chapter, then record the peak RSS of this process and the kernel."""
    import jupytext
    import papermill

    try:
        with tempfile.TemporaryDirectory(dir=OUT) as tmp:
            src = Path(tmp) / f"{chapter}.ipynb"
            jupytext.write(jupytext.read(ROOT / "book" / "chapters" / f"{chapter}.md"), src)
            os.environ["TQDM_DISABLE"] = "1"
            papermill.execute_notebook(str(src), str(OUT / f"{chapter}.ipynb"), parameters={"profile": "paper", **overrides},
                                       kernel_name="python3", cwd=str(ROOT / "book" / "chapters"), progress_bar=False)
    finally:  # the peak also when the run failed (an out-of-memory error is a finding too)
        kib = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        record.write_text(json.dumps({"peak_rss_gb": kib / 2**20}))


def cpu_gflops() -> float:
    """float32 matmul rate of this machine with torch's threads (GFLOP/s), best of 3."""
    import torch

    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    best = math.inf
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(5):
            a @ b
        best = min(best, time.perf_counter() - t)
    return 5 * 2 * 1024**3 / best / 1e9


def estimate(t1: float, t2: float, loops: dict[str, tuple[int, int, int]]) -> tuple[float, float]:
    """(low, high) estimates in seconds of the full run from the dry runs' times t1 and t2.

    ``loops``: {knob: (a, b, V)}, the knob's value in the first dry run, in the second, and in
    the full run. Going from a to b for the m knobs added t2 - t1, shared equally: each knob's
    share s = (t2 - t1) / m pays for its b - a extra iterations. Low: the loops add up,
    t1 + sum_k s (V_k - a_k) / (b_k - a_k). High: the seeds repeat everything else,
    seeds * (t1 + the same sum over the other knobs)."""
    m = len(loops)
    if m == 0:
        return t1, t1
    share = max(t2 - t1, 0.0) / m

    def extra(knobs):
        return sum(share * (v - a) / (b - a) for k, (a, b, v) in knobs.items())

    low = t1 + extra(loops)
    seeds = loops["seeds"][2] if "seeds" in loops else 1
    high = seeds * (t1 + extra({k: x for k, x in loops.items() if k != "seeds"}))
    return low, max(low, high)


def main(argv=None) -> int:
    """The command line: :func:`run_main`, with bad input and interrupts reported in one line."""
    import signal
    import traceback

    from dmmlib.params import ParameterError

    def term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, term)
    try:
        return run_main(argv)
    except ParameterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        log = OUT / "dry-run.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a") as f:
            f.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}\n{traceback.format_exc()}")
        print(f"[dry-run] interrupted; the recorded results are unchanged (traceback: {log})", file=sys.stderr, flush=True)
        return 130


def run_main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chapter", action="append")
    ap.add_argument("--memory-gb", type=float, default=20.0)
    ap.add_argument("--gpu-tflops", type=float, default=60.0, help="the GPU's float32 rate (H100/H200 class: about 60)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per dry run")
    ap.add_argument("--results", type=Path, default=RESULTS, help="folder for paper_dry_run.md/.json")
    ap.add_argument("--reestimate", action="store_true",
                    help="recompute the estimates of the recorded rows from their measured times (no run)")
    ap.add_argument("--one"), ap.add_argument("--overrides"), ap.add_argument("--record")
    args = ap.parse_args(argv)
    if args.one:
        execute_child(args.one, json.loads(args.overrides), Path(args.record))
        return 0
    if args.reestimate:
        return reestimate(args)
    sys.path.insert(0, str(ROOT / "tools"))
    import book
    from common import hardware  # benchmarks/common.py

    from dmmlib import params

    chapters = args.chapter or book.chapter_names()
    book.DEFAULT.validate(chapters, "paper", {}, data=False)  # an unknown chapter: one line, before any work
    for name in chapters:  # the dry run's own overrides, the chapter's constraints and its data, before any work
        params.validate(name, "paper", dry_overrides(name, 1))
    rate = cpu_gflops()
    rows = []
    for name in chapters:
        loops = scaled_loops(name)
        print(f"[dry-run] {name}: cut (dry run 1, dry run 2, paper) {loops}", flush=True)
        r1 = run_once(name, 1, args.memory_gb, args.timeout)
        r2 = run_once(name, 2, args.memory_gb, args.timeout) if r1["ok"] and loops else r1
        add, nest = estimate(r1["seconds"], r2["seconds"], loops) if r1["ok"] and r2["ok"] else (math.nan, math.nan)
        # loops whose doubling costs less than a tenth of the run are below this measurement's noise
        below_noise = bool(loops) and r2["seconds"] - r1["seconds"] < 0.1 * r1["seconds"]
        gpu_factor = args.gpu_tflops * 1e3 * GPU_UTILISATION / rate
        extra = fixed_overrides(name, loops)
        loops = {k: list(v) for k, v in loops.items()}
        rows.append({"chapter": name, "ok": r1["ok"] and r2["ok"], "error": r1["error"] or r2["error"], "extra": extra,
                     "loops_over": loops_over_text(name),
                     "t1_s": r1["seconds"], "t2_s": r2["seconds"], "peak_rss_gb": max(r1["peak_rss_gb"], r2["peak_rss_gb"]),
                     "loops": loops, "below_noise": below_noise, "cpu_hours": [add / 3600, nest / 3600],
                     "gpu_hours": [add / 3600 / gpu_factor, nest / 3600 / gpu_factor], "cpu_gflops": rate,
                     "load_average": os.getloadavg()[0], "memory_gb": args.memory_gb, "code": _code(),
                     "date": time.strftime("%Y-%m-%d", time.gmtime())})
        times = f"{r1['seconds']:.0f} s" + (f" + {r2['seconds']:.0f} s" if r2 is not r1 else "")
        print(f"[dry-run] {name}: {'ok' if rows[-1]['ok'] else 'FAILED: ' + rows[-1]['error']} "
              f"({times}, peak {rows[-1]['peak_rss_gb']:.2f} GB)", flush=True)
    write_results(rows, rate, args, hardware(), args.results)
    return 0 if all(r["ok"] for r in rows) else 1


def fixed_overrides(chapter: str, loops: dict) -> dict:
    """The dry run's overrides that the estimate does not extrapolate (the same in both runs):
    {knob: value}; of a dict knob, only its entries that are not scaled."""
    out = {}
    for k, v in dry_overrides(chapter, 1).items():
        if isinstance(v, dict):
            v = {e: x for e, x in v.items() if f"{k}.{e}" not in loops}
        if k not in loops and k != "imagenet_path" and v != {}:
            out[k] = v
    return out


def reestimate(args) -> int:
    """Recompute cpu_hours and gpu_hours of the recorded rows (``--chapter``: only those) from
    their measured t1 and t2 under the current rules (:func:`scaled_loops`), when the rows' cut
    values are still the current ones; rewrite the table."""
    store = args.results / "paper_dry_run.json"
    if not store.exists():
        from dmmlib.params import ParameterError

        raise ParameterError(f"no recorded dry runs in {store}")
    data = json.loads(store.read_text())
    unknown = sorted(set(args.chapter or ()) - set(data["rows"]))
    if unknown:
        from dmmlib.params import ParameterError

        raise ParameterError(f"no recorded dry run of {', '.join(map(repr, unknown))}; recorded: {', '.join(data['rows'])}")
    rows = []
    for name, row in data["rows"].items():
        if (args.chapter and name not in args.chapter) or not row["ok"]:
            continue
        loops = scaled_loops(name)
        if {k: tuple(v[:2]) for k, v in row["loops"].items()} != {k: v[:2] for k, v in loops.items()}:
            print(f"[dry-run] {name}: recorded with other cut values; run it again", flush=True)
            continue
        add, nest = estimate(row["t1_s"], row["t2_s"], loops)
        gpu_factor = args.gpu_tflops * 1e3 * GPU_UTILISATION / row["cpu_gflops"]
        rows.append({**row, "loops": {k: list(v) for k, v in loops.items()}, "loops_over": loops_over_text(name),
                     "extra": fixed_overrides(name, loops),
                     "cpu_hours": [add / 3600, nest / 3600], "gpu_hours": [add / 3600 / gpu_factor, nest / 3600 / gpu_factor]})
        print(f"[dry-run] {name}: {row['cpu_hours']} -> {rows[-1]['cpu_hours']} CPU hours", flush=True)
    write_results(rows, data["cpu_gflops"], args, data["hardware"], args.results)
    return 0


ONE_GPU_GB = 24.0  # an ordinary GPU's memory
ONE_GPU_HOURS = 24.0  # what we call feasible on one GPU: a day


def variant_estimate(row: dict, variant: dict) -> tuple[float, float] | None:
    """(low, high) GPU hours of the ``paper`` run with ``variant``'s overrides, from the dry
    run's ``row``; None when the variant changes a knob the dry run did not extrapolate (a size)."""
    if not row["ok"] or any(isinstance(v, int) for v in row["loops"].values()):  # a row without its cut values
        return None
    loops = {k: tuple(v) for k, v in row["loops"].items()}
    if not set(variant) <= set(loops):
        return None
    if set(variant) & set(row.get("loops_over", {})):  # counted over a cut set: not a plain value
        return None
    cut = {k: (a, b, int(variant.get(k, full))) for k, (a, b, full) in loops.items()}
    factor = row["cpu_hours"][0] / row["gpu_hours"][0] if row["gpu_hours"][0] else math.nan
    low, high = estimate(row["t1_s"], row["t2_s"], cut)
    return low / 3600 / factor, high / 3600 / factor


def paper_note(chapter: str, results: Path = RESULTS) -> str:
    """Markdown for the chapter's page: what the dry run says of its ``paper`` profile, whether it
    fits one ordinary GPU (``ONE_GPU_GB`` of memory, ``ONE_GPU_HOURS`` hours) and, if not, the
    chapter's ``PAPER_ONE_GPU`` overrides as the command of the nearest setting that does."""
    store = results / "paper_dry_run.json"
    row = json.loads(store.read_text())["rows"].get(chapter) if store.exists() else None
    if row is None:
        return "The `paper` profile has not been dry-run on this checkout (`make dry-run NAME=%s`)." % chapter
    from dmmlib.report import fmt_number

    if not row["ok"]:
        return (f"The `paper` profile's dry run failed ({row['error']}); see the reproducibility page.")
    gpu_low, gpu_high = row["gpu_hours"]
    cost = (f"at least {fmt_number(gpu_low, 2)} GPU hours" if row.get("below_noise") else
            f"an estimated {fmt_number(gpu_low, 2)} – {fmt_number(gpu_high, 2)} GPU hours")
    text = (f"The `paper` profile (the paper's settings, for a GPU) passed its dry run at full size: peak "
            f"{fmt_number(row['peak_rss_gb'])} GB of memory, {cost} (an order of magnitude; the reproducibility "
            "page says how it is estimated). ")
    if row.get("below_noise"):  # doubling the loops cost less than the noise: the hours are a lower bound
        fits = "fits" if row["peak_rss_gb"] <= ONE_GPU_GB else "does not fit"
        return text + (
            f"Its memory {fits} one {ONE_GPU_GB:g} GB GPU; its run time has no upper estimate, because doubling "
            "its loops cost less than the dry run's noise.")
    if row["peak_rss_gb"] <= ONE_GPU_GB and gpu_high <= ONE_GPU_HOURS:
        return text + f"It fits one {ONE_GPU_GB:g} GB GPU within a day."
    verdict = ("may not fit" if row["peak_rss_gb"] <= ONE_GPU_GB and gpu_low <= ONE_GPU_HOURS else "does not fit")
    text += f"It {verdict} one {ONE_GPU_GB:g} GB GPU within a day."
    variant = _profile_attr(chapter, "PAPER_ONE_GPU")
    if variant:
        params_text = "; ".join(f"{k}={v!r}" for k, v in variant.items())  # Python literals, as README's PARAMS
        est = variant_estimate(row, variant)
        cost = (f" (estimated {fmt_number(est[0], 2)} – {fmt_number(est[1], 2)} GPU hours)" if est else "")
        text += (f" The nearest setting that does{cost}: "
                 f'`make chapter NAME={chapter} PROFILE=paper PARAMS="{params_text}"`.')
    return text


def _rates(rows: dict, rate: float) -> str:
    values = [r["cpu_gflops"] for r in rows.values() if "cpu_gflops" in r] or [rate]
    low, high = min(values), max(values)
    return f"{low:.0f}" if round(low) == round(high) else f"{low:.0f}–{high:.0f}"


def _load(row: dict) -> str:
    return f"{row['load_average']:.1f}" if "load_average" in row else "—"


def _cut_text(knob: str, v, over: dict | None = None) -> str:
    """``epochs 100`` (cut to 1 and 2) or ``eval_samples 10,000,000 (1e5, 2e5)`` (cut otherwise);
    ``over``: {knob: text} for loops counted in iterations over a cut set."""
    if isinstance(v, int):  # a row written before the cut values were recorded
        return f"{knob} {v:,}"
    a, b, full = v
    if over and knob in over:
        return f"{knob} {over[knob]}"
    return f"{knob} {full:,}" + ("" if (a, b) == (1, 2) else f" (cut to {a:,}, {b:,})")


def _full_size(chapter: str, size: str) -> int:
    """The paper's value of a set-size knob; 0 means the whole set: the top of the knob's range."""
    from dmmlib import params

    return params.resolve(chapter, "paper")[size] or int(params.ranges(chapter)[size][1])


def loops_over_text(chapter: str) -> dict[str, str]:
    """{knob: "60 over 50,000 cifar_train_size (6,000 over the dry run's 500)"} for the chapter's ``DRY_RUN_LOOPS_OVER``."""
    from dmmlib import params

    paper, one = params.resolve(chapter, "paper"), dry_overrides(chapter, 1)
    loops = scaled_loops(chapter)
    return {k: f"{paper[k]:,} over {_full_size(chapter, size):,} {size} ({loops[k][2]:,} over the dry run's {one[size]:,})"
            for k, size in _profile_attr(chapter, "DRY_RUN_LOOPS_OVER").items() if k in loops}


CODE = (("dmmlib",), ("book/chapters/*.md",))  # what a dry run measures: the library and the pages


def _code() -> str:
    from common import code_stamp  # benchmarks/common.py

    return code_stamp(*CODE)


def _caps(rows: dict) -> str:
    """The address-space caps the rows ran under: "16 GB", "16 GB (older rows: not recorded)"."""
    caps = sorted({r["memory_gb"] for r in rows.values() if "memory_gb" in r})
    text = " and ".join(f"{c:g} GB" for c in caps) or "a cap not recorded"
    return text + (" (rows run before it was recorded: not known)" if caps and any("memory_gb" not in r for r in rows.values()) else "")


def write_results(rows, rate, args, hw: str, results: Path = RESULTS) -> None:
    """Merge ``rows`` into ``paper_dry_run.json`` (chapters not run this time keep their last
    row) and write the Markdown table."""
    from dmmlib.report import fmt_number

    def hours(pair):
        return "—" if any(math.isnan(x) for x in pair) else f"{fmt_number(pair[0], 2)} – {fmt_number(pair[1], 2)}"

    def note(r):
        return " (loop cost below the noise: a lower bound)" if r.get("below_noise") and r["ok"] else ""

    import fcntl

    results.mkdir(parents=True, exist_ok=True)
    store = results / "paper_dry_run.json"
    with open(results / ".paper_dry_run.lock", "w") as lock:  # two dry runs may finish at once
        fcntl.flock(lock, fcntl.LOCK_EX)
        merged = json.loads(store.read_text())["rows"] if store.exists() else {}
        merged.update({r["chapter"]: r for r in rows})
        now = _code()
        versions = {r.get("code") for r in merged.values()}
        # the table's code version (for the reproducibility page's stale mark): the rows' common one
        code = {"modules": list(CODE[0]), "files": list(CODE[1]), "version": versions.pop() if len(versions) == 1 else "mixed",
                "recorded": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
        store.write_text(json.dumps({"rows": merged, "cpu_gflops": rate, "hardware": hw, "code": code}, indent=1))
    lines = ["## The `paper` profile: dry run and cost estimate", "",
             f"Measured by `tools/dry_run.py` (`make dry-run`) on {hw}; CPU float32 matmul rate {_rates(merged, rate)} "
             "GFLOP/s, measured before each chapter (lower when other work shared the machine: the load average "
             "after each chapter's runs is in the table; CPU hours measured under load are upper bounds). "
             "Each chapter ran twice at the paper's sizes with its loop knobs cut: to 1 and to 2 iterations, Monte "
             "Carlo sample counts to 1 % and 2 %, and work the chapter scales (images measured at every checkpoint) "
             f"to its stated values and twice those (address space capped at {_caps(merged)}). A loop whose "
             "every iteration runs over a training set the dry run cuts (epochs, the relabelling attack) counts in "
             "iterations over the cut set (the last column shows both). The estimates "
             "bracket the full run between loops that add up and seeds that repeat everything else (each cut "
             "knob's share of the extra time taken as equal, so an order of magnitude, no more); the GPU column "
             f"assumes {args.gpu_tflops:g} TFLOP/s float32 at {GPU_UTILISATION:.0%} utilisation, which small "
             "networks (the MLPs, the spheres' networks) do not reach: their steps are bound by kernel launches, so "
             "their GPU hours are a lower bound. "
             "A peak above 24 GB does not fit an ordinary GPU as configured; where a number of images was cut "
             "(the last column shows it), the peak leaves out the larger arrays the full number needs.", "",
             "| chapter | dry run | peak memory (GB, CPU RSS) | est. CPU hours (1 thread) | est. GPU hours | load average | knobs cut (paper value) |",
             "| --- | --- | ---: | ---: | ---: | ---: | --- |"]
    lines[2] += (" A row run on older code than the others' is marked \"older code\" (`make dry-run NAME=<chapter>` "
                 "runs it again).")
    for r in merged.values():
        status = "ok" if r["ok"] else f"failed: {r['error']}".replace("|", "/")
        if r.get("code") != now:
            status += f" (older code{', ' + r['date'] if r.get('date') else ''})"
        loops = ", ".join(_cut_text(k, v, r.get("loops_over")) for k, v in r["loops"].items()) or "none"
        if r.get("extra"):
            loops += "; also set: " + ", ".join(f"{k} = {v}" for k, v in r["extra"].items())
        lines.append(f"| {r['chapter']} | {status} | {fmt_number(r['peak_rss_gb'])} | {hours(r['cpu_hours'])} | "
                     f"{hours(r['gpu_hours'])} | {_load(r)} | {loops}{note(r)} |")
    (results / "paper_dry_run.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
