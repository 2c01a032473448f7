"""Do the book's verdicts depend on the number of torch threads? Run each chapter with 1 and 2.

    python benchmarks/bench_thread_verdicts.py [--chapter NAME ...] [--profile quick]
                                               [--threads 1 2] [--out benchmarks/results/thread_verdicts]

For each thread count, one after the other (never side by side: two torch processes with two
threads each on two cores slow each other down tenfold; with one thread, as many chapters
run side by side as there are cores), every chapter is executed afresh with
``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` set to it, into its own build folder
(``book/_build/threads-<n>/<profile>/``) and with its own empty cache (so every model is
trained again: trained weights differ with the thread count, since floating-point sums are
taken in another order). The claims each chapter glued (``claims``, see
:mod:`dmmlib.claims`) are then compared: the table lists every claim's verdict and value
under each thread count and the claims whose verdict differs. A differing verdict means the
claim's interval does not cover what varies between machines (see the reproducibility page).

Writes ``<out>.md`` (shown on the reproducibility page when under benchmarks/results) and
``<out>.json``; exits 1 when a verdict differs or a chapter failed. Takes about twice a
cold ``make book`` of the profile.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import book  # noqa: E402
from common import hardware, write_results  # noqa: E402


def _execute_one(task: tuple) -> tuple[str, dict | str]:
    """Execute one chapter afresh (in a worker process); its claims as {id: {verdict, ours}} or an error text."""
    root, build_root, name, profile = task
    b = book.Book(root, build_root=build_root)
    try:
        b.execute([name], profile, {}, force=True)
        claims = book.glued_claims(b.executed_path(name, profile))
        return name, {c.id: {"verdict": c.verdict, "ours": c.ours.text()} for c in claims}
    except Exception as err:  # a failed chapter is reported, the others still run
        traceback.print_exc()
        return name, f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"


def longest_first(names: list[str], profile: str) -> list[str]:
    """``names`` ordered by the seconds of their last recorded run (longest first), so parallel workers finish together."""
    def seconds(name):
        record = book.DEFAULT.record(name, profile) or {}
        return record.get("seconds", 0.0) * (record.get("threads") or 1)
    return sorted(names, key=seconds, reverse=True)


def run(names: list[str], profile: str, threads: int, jobs: int = 1) -> dict:
    """Execute ``names`` with ``threads`` threads and a fresh cache; {chapter: {claim id: claim} | error text}.

    ``jobs`` chapters run side by side (each in its own process); keep ``jobs * threads`` at most
    the number of cores, or the runs slow each other down."""
    build_root = book.BOOK / "_build" / f"threads-{threads}"
    saved = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "DMM_CACHE")}
    with tempfile.TemporaryDirectory(prefix=f"dmm-cache-threads-{threads}-") as cache:
        os.environ.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), DMM_CACHE=cache)
        try:
            tasks = [(book.BOOK, build_root, name, profile) for name in longest_first(names, profile)]
            if jobs > 1:
                with multiprocessing.get_context("spawn").Pool(jobs, maxtasksperchild=1) as pool:
                    out = dict(pool.imap_unordered(_execute_one, tasks))
            else:
                out = dict(map(_execute_one, tasks))
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    return out


def compare(results: dict[int, dict], names: list[str]) -> tuple[list[dict], list[str], list[str]]:
    """Rows (one per claim), the ids whose verdict differs, and the chapters that failed."""
    counts = sorted(results)
    rows, differ, failed = [], [], []
    for name in names:
        per = {t: results[t].get(name) for t in counts}
        bad = [f"{name} ({t} thread(s)): {v}" for t, v in per.items() if isinstance(v, str)]
        if bad:
            failed += bad
            continue
        ids = sorted(set().union(*(set(v) for v in per.values())))
        for cid in ids:
            row = {"id": cid, "chapter": name}
            for t in counts:
                c = per[t].get(cid)
                row[f"verdict_{t}"] = c["verdict"] if c else "missing"
                row[f"ours_{t}"] = c["ours"] if c else "—"
            row["same"] = len({row[f"verdict_{t}"] for t in counts}) == 1
            if not row["same"]:
                differ.append(cid)
            rows.append(row)
    return rows, differ, failed


def markdown(rows, differ, failed, counts, profile, names, seconds) -> str:
    machine = re.sub(r", \d+ thread\(s\)$", "", hardware())  # this process's own thread count is irrelevant
    lines = ["### Verdicts with 1 and 2 threads", "",
             f"Every claim of {len(names)} chapter(s) (profile `{profile}`), each run afresh (models retrained) "
             f"with {' and with '.join(str(t) for t in counts)} torch thread(s), one run after the other; "
             f"{seconds / 60:.0f} min in all on {machine}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.", ""]
    if differ:
        lines += [f"**{len(differ)} verdict(s) differ**: " + ", ".join(f"`{d}`" for d in differ) + ".", ""]
    elif rows:
        lines += [f"All {len(rows)} verdicts are the same under every thread count.", ""]
    if failed:
        lines += ["Chapters that failed: " + "; ".join(failed) + ".", ""]
    if not rows:
        lines += ["No chapter recorded claims.", ""]
        return "\n".join(lines)
    head = ["claim"] + [f"{t} thread(s)" for t in counts] + ["same verdict"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [f"`{r['id']}`"] + [f"{r[f'verdict_{t}']}: {r[f'ours_{t}']}" for t in counts]
        cells.append("yes" if r["same"] else "**no**")
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def merged(store: Path, rows, differ, failed, runs, names):
    """This run's rows, differing ids, failures, runs and chapters, with the rows of the other
    chapters from the earlier check in ``store`` (its .json) added in front."""
    old = json.loads(store.read_text()) if store.exists() else {}
    keep = [r for r in old.get("rows", []) if r["chapter"] not in names]
    chapters = [c for c in old.get("chapters", []) if c not in names] + list(names)
    earlier = old.get("runs") or ([{"chapters": old["chapters"], "seconds": old["seconds"], "finished": "earlier"}]
                                  if old else [])
    return (keep + rows, [r["id"] for r in keep if not r["same"]] + differ,
            [f for f in old.get("failed", []) if f.split(" (")[0] not in names] + failed, earlier + runs, chapters)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chapter", action="append", help="chapter (repeatable); default: every chapter of _toc.yml")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--jobs", type=int, default=0,
                        help="chapters side by side per thread count; default: cores // threads (at least 1)")
    parser.add_argument("--merge", action="store_true",
                        help="keep the rows of the chapters not run now from the last check's --out .json")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "thread_verdicts")
    args = parser.parse_args(argv)
    names = args.chapter or book.chapter_names()
    book.DEFAULT.validate(names, args.profile, {})
    start = time.perf_counter()
    results = {}
    for t in args.threads:  # sequentially, never side by side
        print(f"[threads] {t} thread(s): {', '.join(names)} ({args.profile})", flush=True)
        jobs = args.jobs or max(1, (os.cpu_count() or 1) // t)
        results[t] = run(names, args.profile, t, jobs)
    seconds = time.perf_counter() - start
    rows, differ, failed = compare(results, names)
    runs = [{"chapters": names, "seconds": round(seconds, 1), "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}]
    if args.merge:  # keep the other chapters' rows of the last check
        rows, differ, failed, runs, names = merged(args.out.with_suffix(".json"), rows, differ, failed, runs, names)
    text = markdown(rows, differ, failed, args.threads, args.profile, names, sum(r["seconds"] for r in runs))
    if len(runs) > 1:
        text = text.rstrip() + "\n\nRuns merged into this table: " + "; ".join(
            f"{', '.join(r['chapters'])} ({r['seconds'] / 60:.0f} min, {r['finished']})" for r in runs) + ".\n"
    write_results(args.out, {"profile": args.profile, "chapters": names, "threads": args.threads, "rows": rows,
                             "differ": differ, "failed": failed, "seconds": round(seconds, 1), "runs": runs}, text,
                  code=("dmmlib",), files=("book/chapters/*.md",))
    print(text, flush=True)
    print(f"[threads] wrote {args.out.with_suffix('.md')}", flush=True)
    return 1 if differ or failed else 0


if __name__ == "__main__":
    sys.exit(main())
