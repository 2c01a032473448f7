"""Time `make book` per chapter: from a cold cache, from a warm cache, and with nothing changed.

    python benchmarks/bench_book.py [--profile quick] [--chapter NAME ...]

Cold: every chapter executed with an empty temporary cache (models trained from scratch).
Warm: executed again with the cache that run filled (models read from disk).
Unchanged: `tools/book.py build` when nothing changed (no chapter runs; Sphinx only).
Writes benchmarks/results/book.md (shown on the reproducibility page) and book.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import book  # noqa: E402
from common import code_stamp, hardware, write_results  # noqa: E402


CODE = (("dmmlib",), ("book/chapters/*.md",))  # what the table measures: the library and the pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--chapter", action="append")
    parser.add_argument("--no-build", action="store_true", help="skip timing the unchanged build (keeps the last value)")
    parser.add_argument("--build-only", action="store_true", help="only time the build with nothing changed")
    args = parser.parse_args()
    names = [] if args.build_only else (args.chapter or book.chapter_names())
    import torch

    out = ROOT / "benchmarks" / "results"
    previous = json.loads((out / "book.json").read_text()) if (out / "book.json").exists() else {}
    rows = {n: r for n, r in previous.get("chapters", {}).items() if n in book.chapter_names() and n not in names}
    with tempfile.TemporaryDirectory() as cold_cache:
        saved = os.environ.get("DMM_CACHE")
        os.environ["DMM_CACHE"] = cold_cache
        try:
            for name in names:
                cold = book.execute([name], args.profile, {}, force=True)[name]
                warm = book.execute([name], args.profile, {}, force=True)[name]
                rows[name] = {"cold_s": round(cold, 1), "warm_s": round(warm, 1), "code": code_stamp(*CODE),
                              "load": round(os.getloadavg()[0], 1), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
        finally:
            if saved is None:
                os.environ.pop("DMM_CACHE", None)
            else:
                os.environ["DMM_CACHE"] = saved
    unchanged = previous.get("unchanged_build_s", float("nan"))
    if not args.no_build:
        subprocess.run([sys.executable, str(ROOT / "tools" / "book.py"), "build", "--profile", args.profile],
                       check=True, stdout=subprocess.DEVNULL)  # brings every chapter up to date first
        start = time.perf_counter()
        subprocess.run([sys.executable, str(ROOT / "tools" / "book.py"), "build", "--profile", args.profile],
                       check=True, stdout=subprocess.DEVNULL)
        unchanged = time.perf_counter() - start
    hw = hardware(torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    now = code_stamp(*CODE)
    lines = [
        f"### Building the book (profile `{args.profile}`)",
        "",
        f"Measured by `benchmarks/bench_book.py` on {time.strftime('%Y-%m-%d', time.gmtime())}: {hw}.",
        "Cold: a cache emptied before the chapters measured together (models trained once and shared",
        "among them, as in `make book`); warm: the cache that run filled. The load average",
        "(1 minute, at the end of the chapter's runs) shows how busy the machine was: above the",
        "number of cores, other work slowed the run down.",
        "",
        "| chapter | cold cache (s) | warm cache (s) | load average | measured |",
        "| --- | ---: | ---: | ---: | --- |",
        *[f"| {n} | {rows[n]['cold_s']:.1f} | {rows[n]['warm_s']:.1f} | {rows[n].get('load', float('nan')):.1f} | "
          f"{rows[n].get('date', '')}{'' if rows[n].get('code') == now else ' (older code: run it again)'} |"
          for n in book.chapter_names() if n in rows],
        *[f"| {n} | not measured | | | |" for n in book.chapter_names() if n not in rows],
        f"| **all chapters** | {sum(r['cold_s'] for r in rows.values()):.1f} | "
        f"{sum(r['warm_s'] for r in rows.values()):.1f} | | |",
        "",
        f"`tools/book.py build` with nothing changed: {unchanged:.1f} s.",
    ]
    write_results(out / "book", {"hardware": hw, "chapters": rows, "unchanged_build_s": unchanged,
                                 "profile": args.profile}, "\n".join(lines), code=CODE[0], files=CODE[1])
    print("\n".join(lines))


if __name__ == "__main__":
    main()
