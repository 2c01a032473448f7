"""CONTRIBUTING's "Adding a chapter", followed as written with book/chapters/TEMPLATE.md.example:
the new chapter runs in smoke and its site builds with Sphinx's -W (issue 31)."""
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

import dmmlib.chapters
from dmmlib import params

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import book  # noqa: E402

PROFILES = '''QUICK = {"seeds": 3}
SMOKE = {"seeds": 2}
PAPER = {"seeds": 5}
RANGES = {"seeds": (1, 50)}
CONSTRAINTS = [("seeds below 40", lambda P: P["seeds"] < 40)]
DOCS = {"seeds": "training seeds: the intervals are over them"}
'''
EXPERIMENT = '''def run(P):
    return {"my_number": 0.25 * P["seeds"]}
'''
CLAIMS = '''from dmmlib.claims import Criterion, Estimate, claim


def claims(results, P):
    x = results["my_number"]
    return [claim("my_chapter.my_claim", "the number is positive", kind="extension", source="a test",
                  ours=Estimate(x, x - 0.1, x + 0.1, P["seeds"], "seeds"), criterion=Criterion(">", 0.0),
                  scale=P["profile"])]
'''
PAPER_ITEMS = '''from dmmlib.paper_map import PaperItem

ITEMS = [PaperItem("dmm", "Figure 6", "partial", ("sec-my-claim",), ("my_chapter.my_claim",), "{seeds} seeds",
                   note="a test of the steps")]
'''


def steps_of_contributing() -> str:
    text = (ROOT / "CONTRIBUTING.md").read_text()
    return text[text.index("## Adding a chapter"):text.index("## Code")]


def test_contributing_names_every_file_a_chapter_needs():
    steps = steps_of_contributing()
    for needed in ("__init__.py", "profiles.py", "experiment.py", "claims.py", "TEMPLATE.md.example", "_toc.yml",
                   "CHOICES", "CONSTRAINTS", "DATA", "DOCS", "make site", "paper_items.py", "PaperItem"):
        assert needed in steps, needed


def test_template_glues_every_key_its_prose_uses():
    page = (ROOT / "book" / "chapters" / "TEMPLATE.md.example").read_text()
    used = set(re.findall(r"\{glue:(?:text|md)\}`([A-Za-z_]\w*)", page))
    glued = set(re.findall(r"glue\(\"(\w+)\"", page))
    claims = set(re.findall(r"verdict_(\w+)", page))
    assert used and used - {f"verdict_{c}" for c in claims} <= glued, used - glued


@pytest.mark.slow  # executes the new chapter and builds its site with Jupyter Book (a minute)
def test_a_chapter_made_from_the_template_runs_and_builds(tmp_path, monkeypatch):
    # step 1-3: the package, outside the repository (dmmlib.chapters.__path__ extended, here and in the kernel)
    extra = tmp_path / "chapters"
    package = extra / "my_chapter"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "profiles.py").write_text(PROFILES)
    (package / "experiment.py").write_text(EXPERIMENT)
    (package / "claims.py").write_text(CLAIMS)
    (package / "paper_items.py").write_text(PAPER_ITEMS)  # step 5
    monkeypatch.setattr(dmmlib.chapters, "__path__", [*dmmlib.chapters.__path__, str(extra)])
    monkeypatch.setitem(params.PROFILES, "my_chapter", params._load_profiles("dmmlib.chapters.my_chapter.profiles"))
    startup = tmp_path / "startup"
    startup.mkdir()
    (startup / "sitecustomize.py").write_text(
        f"import dmmlib.chapters\ndmmlib.chapters.__path__.append({str(extra)!r})\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(startup), str(ROOT)]))
    # step 4: the page from the template, in a book of its own
    root = tmp_path / "book"
    (root / "chapters").mkdir(parents=True)
    for name in ("_config.yml", "references.bib"):
        shutil.copy(ROOT / "book" / name, root / name)
    for name in ("_static", "_ext"):
        shutil.copytree(ROOT / "book" / name, root / name)
    (root / "intro.md").write_text("# A book\n\nOne chapter.\n")
    (root / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: chapters/my_chapter\n")
    shutil.copy(ROOT / "book" / "chapters" / "TEMPLATE.md.example", root / "chapters" / "my_chapter.md")
    b = book.Book(root)
    # make chapter NAME=my_chapter PROFILE=smoke, then make site PROFILE=smoke
    assert book.main(["execute", "--chapter", "my_chapter", "--profile", "smoke"], book=b) == 0
    assert book.main(["site", "--profile", "smoke"], book=b) == 0
    html = (root / "_build" / "smoke" / "_build" / "html" / "chapters" / "my_chapter.html").read_text()
    assert "0.5" in html and "supports" in html
    paper_map = (root / "_build" / "smoke" / "site" / "_generated" / "paper_map.md").read_text()  # step 5
    assert 'href="chapters/my_chapter.html#sec-my-claim"' in paper_map and "my_chapter.my_claim" in paper_map
    # the page opens with its findings; its parameters are folded in a table, with their meaning
    assert html.index('id="what-this-chapter-finds"') < html.index('id="the-question"')
    assert "training seeds: the intervals are over them" in html and "mappingproxy" not in html
