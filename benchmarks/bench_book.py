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
from common import hardware  # noqa: E402
from dmmlib.cache import atomic_write_bytes  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--chapter", action="append")
    args = parser.parse_args()
    names = args.chapter or book.chapter_names()
    import torch

    rows = {}
    with tempfile.TemporaryDirectory() as cold_cache:
        saved = os.environ.get("DMM_CACHE")
        os.environ["DMM_CACHE"] = cold_cache
        try:
            for name in names:
                cold = book.execute([name], args.profile, {}, force=True)[name]
                warm = book.execute([name], args.profile, {}, force=True)[name]
                rows[name] = {"cold_s": round(cold, 1), "warm_s": round(warm, 1)}
        finally:
            if saved is None:
                os.environ.pop("DMM_CACHE", None)
            else:
                os.environ["DMM_CACHE"] = saved
    start = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "tools" / "book.py"), "build", "--profile", args.profile],
                   check=True, stdout=subprocess.DEVNULL)
    unchanged = time.perf_counter() - start
    hw = hardware(torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    lines = [
        f"### Building the book (profile `{args.profile}`)",
        "",
        f"Measured by `benchmarks/bench_book.py` on {time.strftime('%Y-%m-%d', time.gmtime())}: {hw}.",
        "Cold: empty cache (models trained); warm: the cache that run filled.",
        "",
        "| chapter | cold cache (s) | warm cache (s) |",
        "| --- | ---: | ---: |",
        *[f"| {n} | {r['cold_s']:.1f} | {r['warm_s']:.1f} |" for n, r in rows.items()],
        f"| **all chapters** | {sum(r['cold_s'] for r in rows.values()):.1f} | {sum(r['warm_s'] for r in rows.values()):.1f} |",
        "",
        f"`tools/book.py build` with nothing changed: {unchanged:.1f} s.",
    ]
    out = ROOT / "benchmarks" / "results"
    atomic_write_bytes(out / "book.md", ("\n".join(lines) + "\n").encode())
    atomic_write_bytes(out / "book.json", json.dumps({"hardware": hw, "chapters": rows, "unchanged_build_s": unchanged,
                                                       "profile": args.profile}, indent=1).encode())
    print("\n".join(lines))


if __name__ == "__main__":
    main()
