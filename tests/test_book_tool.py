"""tools/book.py on a throwaway one-chapter book: validation, incremental execution, atomic output."""
import json

import pytest

from dmmlib import params
from tests.chapter_runner import book, read_glued

CHAPTER = """---
jupytext:
  text_representation: {extension: .md, format_name: myst}
kernelspec: {display_name: Python 3, language: python, name: python3}
---
# Tiny

```{code-cell} ipython3
:tags: [parameters]
profile = "quick"
n = None
```

```{code-cell} ipython3
from myst_nb import glue
n_value = {"smoke": 2, "quick": 3, "paper": 4}[profile] if n is None else n
assert n_value >= 0, "n must be non-negative"
glue("square", n_value ** 2, display=False)
```
"""


@pytest.fixture
def tiny_book(tmp_path, monkeypatch):
    root = tmp_path / "book"
    (root / "chapters").mkdir(parents=True)
    (root / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: chapters/tiny\n")
    (root / "chapters" / "tiny.md").write_text(CHAPTER)
    monkeypatch.setattr(book, "BOOK", root)
    monkeypatch.setattr(book, "CHAPTERS", root / "chapters")
    monkeypatch.setitem(params.PROFILES, "tiny", {p: {"n": v} for p, v in (("smoke", 2), ("quick", 3), ("paper", 4))})
    return root


def test_executes_glues_and_skips_when_up_to_date(tiny_book):
    ran = book.execute(["tiny"], "smoke", {"n": 5})
    assert set(ran) == {"tiny"}
    out = book.executed_path("tiny", "smoke")
    assert read_glued(out) == {"square": 25}
    stamp = json.loads(out.with_suffix(".stamp.json").read_text())
    assert stamp["profile"] == "smoke" and stamp["seconds"] > 0
    assert book.execute(["tiny"], "smoke", {"n": 5}) == {}, "unchanged chapter must not run again"
    assert set(book.execute(["tiny"], "smoke", {"n": 6})) == {"tiny"}, "new parameters must re-run"
    (tiny_book / "chapters" / "tiny.md").write_text(CHAPTER + "\nMore prose.\n")
    assert set(book.execute(["tiny"], "smoke", {"n": 6})) == {"tiny"}, "changed source must re-run"


@pytest.mark.parametrize("names, profile, overrides, message", [
    (["tiny"], "fast", {}, "unknown profile 'fast'"),
    (["tiny"], "smoke", {"m": 1}, "unknown parameter.*'m'"),
    (["tiny"], "smoke", {"n": "three"}, "'n'.*type int"),
    (["nope"], "smoke", {}, "unknown chapter 'nope'"),
])
def test_bad_input_fails_before_any_work(tiny_book, names, profile, overrides, message):
    with pytest.raises(params.ParameterError, match=message):
        book.execute(names, profile, overrides)
    assert not (tiny_book / "_build").exists()


def test_failing_chapter_leaves_the_previous_output(tiny_book):
    import papermill

    book.execute(["tiny"], "smoke", {})
    before = book.executed_path("tiny", "smoke").read_bytes()
    with pytest.raises(papermill.PapermillExecutionError, match="n must be non-negative"):
        book.execute(["tiny"], "smoke", {"n": -1})
    assert book.executed_path("tiny", "smoke").read_bytes() == before
    assert not list(book.executed_path("tiny", "smoke").parent.glob("tmp*")), "no half-written files"


def test_command_line_reports_bad_parameters(tiny_book, capsys):
    assert book.main(["execute", "--chapter", "tiny", "--profile", "smoke", "--param", "n=x"]) == 2
    assert "'n'" in capsys.readouterr().err
