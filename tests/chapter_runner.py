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


def glued_images(name: str, profile: str = "smoke") -> set[str]:
    """The glue keys of an executed chapter whose output is a PNG figure."""
    images = set()
    for cell in json.loads(book.executed_path(name, profile).read_text())["cells"]:
        for out in cell.get("outputs", []):
            scrap = out.get("metadata", {}).get("scrapbook", {})
            if "name" in scrap and scrap.get("mime_prefix", "") + "image/png" in out.get("data", {}):
                images.add(scrap["name"])
    return images


def html_tables(name: str, profile: str = "smoke") -> list[str]:
    """The HTML outputs of an executed chapter that hold a table."""
    found = []
    for cell in json.loads(book.executed_path(name, profile).read_text())["cells"]:
        for out in cell.get("outputs", []):
            h = out.get("data", {}).get("text/html")
            h = "".join(h) if isinstance(h, list) else h
            if h and "<table" in h:
                found.append(h)
    return found


def long_numbers(html: list[str], digits: int = 3) -> list[str]:
    """Decimal numbers in ``html`` with more than ``digits`` significant digits (raw floats)."""
    def significant(number):
        return len(number.replace(".", "").lstrip("0"))

    return [n for h in html for n in re.findall(r"\d+\.\d+", h) if significant(n) > digits]


def checked_claims(values: dict, profile: str = "smoke") -> dict:
    """The chapter's glued claims, checked: each verdict is one of the four verdicts, its kind one of the kinds, equals its
    glued ``verdict_word_<name>``, follows from its own estimate and criterion (and control)
    when decided again, and the scale names ``profile``. Returns {name: Claim}."""
    from dmmlib import claims as C

    out = {}
    for c in C.from_json(values["claims"]):
        name = c.id.split(".")[1]
        assert c.verdict in C.VERDICTS and values[f"verdict_word_{name}"] == c.verdict, c.id
        assert c.kind in C.KINDS, c.id
        assert c.verdict == C.claim(c.id, c.statement, kind=c.kind, quote=c.quote, source=c.source, ours=c.ours,
                                    criterion=c.criterion, scale=c.scale, preconditions=c.preconditions,
                                    control=c.control, control_name=c.control_name, paired=c.paired).verdict, c.id
        assert c.scale.startswith(profile), c.id
        out[name] = c
    return out


def assert_prose_glues_verdicts(chapter: str, names, banned=()) -> None:
    """The page's prose (its Markdown outside code cells) types no verdict (nor any of the
    ``banned`` phrases) and glues ``verdict_<name>`` for each claim name."""
    text = (ROOT / "book" / "chapters" / f"{chapter}.md").read_text()
    prose = re.sub(r"```\{code-cell\}.*?```", "", text, flags=re.S)
    for word in ("supports", "contradicts", "inconclusive", *banned):
        assert word not in prose, word
    for name in names:
        assert f"{{glue:md}}`verdict_{name}`" in prose, name
