"""Execute the book's chapters with papermill and build the static site with Jupyter Book.

    python tools/book.py execute [--chapter NAME ...] [--profile quick] [--param k=v ...] [--force]
    python tools/book.py build   [--profile quick] [--output book]
    python tools/book.py list

Layout under ``book/_build/<profile>/``:

- ``executed/chapters/<name>.ipynb``: the executed notebook, with ``<name>.stamp.json``
  beside it (the hash of the chapter's source, its parameters and dmmlib's code, and the
  run time). A chapter whose stamp matches is not executed again.
- ``site/``: the sources Jupyter Book reads: the book's pages with each chapter replaced
  by its executed notebook. Files are copied only when their content changed, so Sphinx
  rebuilds only what changed.

``build`` writes the HTML to ``<output>/_build/html`` (``book/_build/html`` by default).
Parameters are validated for every chapter before any chapter runs; an executed notebook
is written atomically, so a failed run leaves the previous one (or none) in place.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
CHAPTERS = BOOK / "chapters"
PAGES = ("_config.yml", "_toc.yml", "references.bib", "*.md", "_static", "_ext/*.py")
CELL_TIMEOUT_S = 3600

sys.path.insert(0, str(ROOT))
from dmmlib import params  # noqa: E402
from dmmlib.cache import atomic_write_bytes, code_version  # noqa: E402


def chapter_names() -> list[str]:
    """The chapters listed in ``book/_toc.yml``, in book order."""
    names = []
    for line in (BOOK / "_toc.yml").read_text().splitlines():
        entry = line.strip().removeprefix("- ").strip()
        if entry.startswith("file: chapters/"):
            names.append(entry.removeprefix("file: chapters/").removesuffix(".md"))
    return names


def build_dir(profile: str) -> Path:
    return BOOK / "_build" / profile


def executed_path(name: str, profile: str) -> Path:
    return build_dir(profile) / "executed" / "chapters" / f"{name}.ipynb"


def stamp_of(name: str, profile: str, overrides: dict) -> str:
    """Hash of what decides a chapter's output: its source, parameters and dmmlib's code."""
    blob = json.dumps(
        {
            "source": (CHAPTERS / f"{name}.md").read_text(),
            "profile": profile,
            "overrides": overrides,
            "code": code_version(["dmmlib"]),
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def validate(names: list[str], profile: str, overrides: dict) -> None:
    """Raise a clear error for an unknown chapter, profile, parameter or wrong type, before any work."""
    known = chapter_names()
    for name in names:
        if name not in known:
            raise params.ParameterError(f"unknown chapter {name!r}; chapters: {', '.join(known)}")
        if not (CHAPTERS / f"{name}.md").exists():
            raise params.ParameterError(f"chapter {name!r} is in _toc.yml but book/chapters/{name}.md is missing")
        params.resolve(name, profile, **overrides)


def execute(names: list[str], profile: str, overrides: dict, force: bool = False) -> dict[str, float]:
    """Execute ``names`` (incrementally); return {name: seconds} for the chapters that ran."""
    validate(names, profile, overrides)
    ran = {}
    for name in names:
        out = executed_path(name, profile)
        stamp_file = out.with_suffix(".stamp.json")
        stamp = stamp_of(name, profile, overrides)
        if not force and out.exists() and stamp_file.exists():
            try:
                if json.loads(stamp_file.read_text())["stamp"] == stamp:
                    print(f"[book] {name} ({profile}): up to date", flush=True)
                    continue
            except (ValueError, KeyError):
                pass
        print(f"[book] {name} ({profile}): executing", flush=True)
        seconds = _run_papermill(name, profile, overrides, out)
        record = {"stamp": stamp, "seconds": round(seconds, 1), "profile": profile, "overrides": overrides,
                  "finished": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "threads": _threads()}
        atomic_write_bytes(stamp_file, json.dumps(record, indent=1).encode())
        print(f"[book] {name} ({profile}): done in {seconds:.1f} s", flush=True)
        ran[name] = seconds
    return ran


def _run_papermill(name: str, profile: str, overrides: dict, out: Path) -> float:
    import jupytext
    import papermill

    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        source = Path(tmp) / f"{name}.ipynb"
        target = Path(tmp) / f"{name}.out.ipynb"
        jupytext.write(jupytext.read(CHAPTERS / f"{name}.md"), source)
        env_before = os.environ.get("TQDM_DISABLE")
        os.environ["TQDM_DISABLE"] = "1"  # no widget progress bars in the pages; papermill shows progress
        start = time.perf_counter()
        try:
            papermill.execute_notebook(
                str(source), str(target), parameters={"profile": profile, **overrides},
                kernel_name="python3", cwd=str(CHAPTERS), progress_bar=True,
                execution_timeout=CELL_TIMEOUT_S, request_save_on_cell_execute=False,
            )
        finally:
            if env_before is None:
                os.environ.pop("TQDM_DISABLE", None)
            else:
                os.environ["TQDM_DISABLE"] = env_before
        seconds = time.perf_counter() - start
        os.replace(target, out)
    return seconds


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def stage(profile: str) -> Path:
    """Lay out ``book/_build/<profile>/site`` for Jupyter Book; return its path."""
    site = build_dir(profile) / "site"
    wanted: dict[Path, bytes] = {}
    for pattern in PAGES:
        for src in BOOK.glob(pattern):
            files = [src] if src.is_file() else [p for p in src.rglob("*") if p.is_file()]
            for f in files:
                wanted[site / f.relative_to(BOOK)] = f.read_bytes()
    for name in chapter_names():
        nb = executed_path(name, profile)
        if not nb.exists():
            raise FileNotFoundError(f"chapter {name!r} has not been executed for profile {profile!r}: {nb}")
        wanted[site / "chapters" / f"{name}.ipynb"] = for_static_site(nb.read_bytes())
    wanted[site / "_generated" / "benchmarks.md"] = benchmark_tables().encode()
    wanted[site / "_generated" / "chapter_times.md"] = chapter_times_table(profile).encode()
    for path in [p for p in site.rglob("*") if p.is_file()] if site.exists() else []:
        if path not in wanted:
            path.unlink()
    for path, data in wanted.items():
        if not path.exists() or path.read_bytes() != data:
            atomic_write_bytes(path, data)
    return site


_EXTERNAL_LINK = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']https?://[^>]*>", re.IGNORECASE)


def for_static_site(data: bytes) -> bytes:
    """An executed notebook made fit for the offline site: saved ipywidget state dropped (widgets
    are for Jupyter) and stylesheets linked from the internet removed from HTML outputs
    (matplotlib's ``to_jshtml`` links Font Awesome from a CDN; the theme bundles it)."""
    nb = json.loads(data)
    nb.get("metadata", {}).pop("widgets", None)
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html")
            if html is not None:
                text = "".join(html) if isinstance(html, list) else html
                output["data"]["text/html"] = _EXTERNAL_LINK.sub("", text)
    return (json.dumps(nb, indent=1, ensure_ascii=False) + "\n").encode()


def chapter_times_table(profile: str) -> str:
    """A Markdown table of the last execution time of each chapter, read from the stamps."""
    rows = ["| chapter | profile | seconds | threads | finished |", "| --- | --- | ---: | ---: | --- |"]
    for name in chapter_names():
        stamp = executed_path(name, profile).with_suffix(".stamp.json")
        if stamp.exists():
            r = json.loads(stamp.read_text())
            rows.append(f"| {name} | {r['profile']} | {r['seconds']:.1f} | {r.get('threads', '?')} | {r['finished']} |")
    return "\n".join(rows) + "\n"


def benchmark_tables() -> str:
    """The Markdown tables of ``benchmarks/results/*.md``, one after the other."""
    tables = sorted((ROOT / "benchmarks" / "results").glob("*.md"))
    if not tables:
        return "No benchmark has been run on this checkout yet: `make bench` runs them.\n"
    return "\n\n".join(t.read_text().strip() for t in tables) + "\n"


def build(profile: str, output: Path) -> Path:
    """Execute what changed, stage, and run Jupyter Book (warnings are errors); return the HTML folder."""
    execute(chapter_names(), profile, {})
    site = stage(profile)
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(site), "--path-output", str(output),
           "-W", "-n", "--keep-going", "--builder", "html"]
    print("[book] " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    html = output / "_build" / "html"
    print(f"[book] built: open {html / 'index.html'}", flush=True)
    return html


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("execute", help="execute chapters with papermill (incrementally)")
    ex.add_argument("--chapter", action="append", help="chapter name (repeatable); default: all")
    ex.add_argument("--profile", default="quick")
    ex.add_argument("--param", action="append", default=[], help="name=value, overrides the profile")
    ex.add_argument("--force", action="store_true", help="execute even when up to date")
    bd = sub.add_parser("build", help="execute what changed, then build the HTML")
    bd.add_argument("--profile", default="quick")
    bd.add_argument("--output", type=Path, default=BOOK, help="the HTML goes to OUTPUT/_build/html")
    sub.add_parser("list", help="list the chapters")
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            print("\n".join(chapter_names()))
        elif args.command == "execute":
            overrides = dict(params.parse_assignment(p) for p in args.param)
            execute(args.chapter or chapter_names(), args.profile, overrides, force=args.force)
        else:
            build(args.profile, args.output.resolve())
    except params.ParameterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
