"""Run a chapter through the book's own papermill path and read back what it glued."""
from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import book  # noqa: E402


def run_chapter(name: str, profile: str = "smoke", **overrides) -> dict:
    """Execute ``book/chapters/<name>.md`` (skipped when up to date) and return its glued values.

    Numbers, lists and dicts come back as Python objects parsed from their text/plain
    representation; anything else (figures, tables) as that text.
    """
    book.execute([name], profile, overrides)
    return read_glued(book.executed_path(name, profile))


def read_glued(notebook: Path) -> dict:
    """{glue key: value} of every ``myst_nb.glue`` output in an executed notebook."""
    values = {}
    for cell in json.loads(Path(notebook).read_text())["cells"]:
        for output in cell.get("outputs", []):
            scrap = output.get("metadata", {}).get("scrapbook", {})
            if "name" in scrap:
                text = output.get("data", {}).get(scrap.get("mime_prefix", "") + "text/plain", "")
                values[scrap["name"]] = _parse(text)
    return values


_NUMPY_SCALAR = re.compile(r"np\.\w+\(([^()]*)\)")


def _parse(text: str):
    """A Python literal from a text/plain repr (numpy scalars unwrapped; nan and inf as floats)."""
    plain = _NUMPY_SCALAR.sub(r"\1", text).strip()
    if plain in ("nan", "inf", "-inf"):
        return float(plain)
    try:
        return ast.literal_eval(plain)
    except (ValueError, SyntaxError):
        return text
