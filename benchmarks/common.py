"""What every benchmark shares: the hardware it ran on, how its results are written, and the
version of the code it measured (so that the reproducibility page can mark a table stale)."""
from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent


def hardware(device: torch.device | None = None) -> str:
    """CPU model (from /proc/cpuinfo), logical cores, torch version and threads, GPU name if used."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    text = f"{cpu}, {os.cpu_count()} logical cores, torch {torch.__version__}, {torch.get_num_threads()} thread(s)"
    if device is not None and device.type == "cuda":
        text += f", GPU {torch.cuda.get_device_name(device)}"
    return text


def code_stamp(modules=("dmmlib",), files=()) -> str:
    """A short hash of the code a benchmark measures: each of ``modules`` with every ``dmmlib``
    module it imports (a package such as ``dmmlib``: all its ``.py`` files), and the files of
    ``files`` (glob patterns relative to the repository, such as ``book/chapters/*.md``)."""
    import hashlib
    import importlib.util

    from dmmlib.cache import code_closure, code_version

    digest = hashlib.sha256(b"bench-code-v1\n")
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:  # a package: all of it
            digest.update(f"{name}:{code_version([name])}\n".encode())
            continue
        for m in code_closure([name]):
            origin = importlib.util.find_spec(m).origin
            digest.update(m.encode() + b"\n" + Path(origin).read_bytes())
    for pattern in files:
        for f in sorted(ROOT.glob(pattern)):
            digest.update(f.relative_to(ROOT).as_posix().encode() + b"\n" + f.read_bytes())
    return digest.hexdigest()[:16]


def stale_note(result: dict, script: str) -> str:
    """Markdown for the reproducibility page: a warning when the code ``result`` records
    (``result["code"]``, see :func:`write_results`) has changed since it was measured, a note
    when it records none; "" when it is current."""
    code = result.get("code")
    again = f"`make bench` (or `.venv/bin/python {script}`) measures it again."
    if not code:
        return ("```{note}\nThis table does not record the version of the code it measured (it was written "
                f"before the tables recorded it), so it may describe older code. {again}\n```\n\n")
    now = code_stamp(code.get("modules", ()), code.get("files", ()))
    if now == code.get("version"):
        return ""
    what = ", ".join(f"`{m}`" for m in [*code.get("modules", ()), *code.get("files", ())])
    return (f"```{{warning}}\nStale: this table measured {what} as of {code.get('recorded', '?')} (code "
            f"{code.get('version')}); that code has changed since (now {now}). {again}\n```\n\n")


def write_results(out: Path, result: dict, markdown: str, code=("dmmlib",), files=()) -> None:
    """Write ``result`` to ``out``.json and ``markdown`` to ``out``.md, each atomically. ``code``
    (module names) and ``files`` (glob patterns): what the benchmark measures; their
    :func:`code_stamp` is recorded as ``result["code"]``, and the reproducibility page marks the
    table stale once it changes."""
    import time

    from dmmlib.cache import atomic_write_bytes

    result = {**result, "code": {"modules": list(code), "files": list(files), "version": code_stamp(code, files),
                                 "recorded": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}}
    out = Path(out)
    atomic_write_bytes(out.with_suffix(".json"), (json.dumps(result, indent=1, default=str) + "\n").encode())
    atomic_write_bytes(out.with_suffix(".md"), (markdown.rstrip("\n") + "\n").encode())
