"""Run a tool with the project's Python: a tool started by a Python without the project's
requirements (``tools/book.py`` through its shebang, or ``python3 tools/dry_run.py``) runs
itself again with ``.venv/bin/python`` when it exists, or says how to create it."""
from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def ensure(*modules: str) -> None:
    """Re-run this process with ``.venv/bin/python`` if one of ``modules`` cannot be imported,
    or exit with one line saying what to do when there is no such venv."""
    try:
        for name in modules:
            importlib.import_module(name)
    except ImportError as err:
        venv = ROOT / ".venv" / "bin" / "python"
        if venv.exists() and Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
            os.execv(str(venv), [str(venv), *sys.argv])
        sys.exit(f"error: {err.name} is missing from {sys.executable}; run `make help` once (it creates .venv) "
                 "and use .venv/bin/python")
