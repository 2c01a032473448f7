"""The map of the papers (dmmlib/paper_map.py and the chapters' paper_items.py): the catalogue holds
every figure, table and appendix of the DMM paper; every chapter's declaration names an item of the
catalogue, a section or figure its page has and claims its claims.py makes; the page's tally equals
its rows; tools/book.py writes it (issue 25, item 4)."""
import json
import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from dmmlib import paper_map as pm
from dmmlib.paper_map import PaperItem, PaperMapError

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "book" / "chapters"
SEEDS = ROOT.parent / "shared" / "seeds"
SMOKE = ROOT / "book" / "_build" / "smoke"
sys.path.insert(0, str(ROOT / "tools"))
import book  # noqa: E402

CHAPTERS = book.Book(ROOT / "book").chapter_names()
DECLARED = pm.declarations(CHAPTERS)


def _claims_source(chapter: str) -> str:
    return (ROOT / "dmmlib" / "chapters" / chapter / "claims.py").read_text()


def _page(chapter: str) -> str:
    return (PAGES / f"{chapter}.md").read_text()


def test_the_catalogue_holds_every_figure_table_and_appendix_of_the_dmm_paper():
    dmm = [i.item for i in pm.CATALOGUE if i.paper == "dmm"]
    expected = ([f"Figure {n}" for n in range(1, 29)] + ["Table 1", "Table 2"]
                + [f"Appendix {a}" for a in "ABCDEFGHI"])
    assert sorted(dmm) == sorted(expected) and len(dmm) == len(set(dmm))
    assert len({(i.paper, i.item) for i in pm.CATALOGUE}) == len(pm.CATALOGUE)
    assert {i.paper for i in pm.CATALOGUE} == set(pm.PAPERS)
    assert all(i.what.strip() for i in pm.CATALOGUE)


@pytest.mark.skipif(not SEEDS.exists(), reason="no source documents (../shared/seeds)")
def test_the_catalogue_matches_the_captions_of_the_sources():
    dmm = next(SEEDS.glob("000_*.txt")).read_text()
    found = ({f"Figure {n}" for n in re.findall(r"^Figure (\d+):", dmm, re.M)}
             | {f"Table {n}" for n in re.findall(r"^Table (\d+):", dmm, re.M)}
             | {f"Appendix {a}" for a in re.findall(r"^([A-I]) Appendix", dmm, re.M)})
    assert found == {i.item for i in pm.CATALOGUE if i.paper == "dmm"}
    for paper, seed in (("gilmer", "003_*.txt"), ("tanay", "004_*.txt"), ("stutz", "001_*.txt")):
        text = next(SEEDS.glob(seed)).read_text()
        figures = {f"Figure {n}" for n in re.findall(r"^\W*Fig(?:ure|\.) (\d+):", text, re.M)}
        assert figures and figures == {i.item for i in pm.CATALOGUE if i.paper == paper and i.item.startswith("Fig")}
    assert "Theorem 5.1" in next(SEEDS.glob("003_*.txt")).read_text()


def test_every_chapter_of_the_book_declares_what_it_reproduces():
    assert CHAPTERS and all(DECLARED[ch] for ch in CHAPTERS), [ch for ch in CHAPTERS if not DECLARED[ch]]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_each_declaration_names_sections_and_claims_its_chapter_has(chapter):
    pm.check_declarations(chapter, DECLARED[chapter], _page(chapter), _claims_source(chapter))
    targets, templates = pm.page_targets(_page(chapter)), pm.claim_templates(_claims_source(chapter))
    for it in DECLARED[chapter]:  # the same, spelled out: what the check above enforces
        assert it.sections and all(label in targets for label in it.sections), it
        assert all(any(t.fullmatch(c) for t in templates) for c in it.claims), it


def _glued_ids(chapter: str) -> set[str] | None:
    nb = SMOKE / "executed" / "chapters" / f"{chapter}.ipynb"
    return {c.id for c in book.glued_claims(nb)} if nb.exists() else None


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_declared_claims_are_claims_the_chapter_made_in_its_last_smoke_run(chapter):
    ids = _glued_ids(chapter)
    if ids is None:
        pytest.skip("the chapter has not been executed in smoke here")
    declared = {c for it in DECLARED[chapter] for c in it.claims}
    assert declared <= ids, sorted(declared - ids)


def _site_is_fresh() -> bool:
    """A smoke site here, built after the notebooks staged for it (not one being rebuilt)."""
    html, staged = SMOKE / "_build" / "html" / "chapters", SMOKE / "site" / "chapters"
    pairs = [(html / f"{ch}.html", staged / f"{ch}.ipynb") for ch in CHAPTERS]
    return all(h.exists() and n.exists() and h.stat().st_mtime >= n.stat().st_mtime for h, n in pairs)


def check_links_reach_ids(html_dir: Path) -> None:
    """Every section a chapter declares is an id of its built page under ``html_dir`` (the site's
    ``chapters/`` folder)."""
    for chapter in CHAPTERS:
        ids = set(re.findall(r'id="([^"]+)"', (html_dir / f"{chapter}.html").read_text()))
        for it in DECLARED[chapter]:
            for label in it.sections:
                assert pm.html_id(label) in ids, (chapter, label)


def check_figure_numbers(html_dir: Path, staged: Path = SMOKE / "site" / "chapters") -> None:
    """The map's "Fig. N" are Sphinx's numbers: counted over the pages in book order, checked
    against a built site's ``chapters/`` and the notebooks staged for it (their Markdown is the pages')."""
    before, checked = 0, 0
    for ch in CHAPTERS:
        cells = json.loads((staged / f"{ch}.ipynb").read_text())["cells"]
        text = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        html = (html_dir / f"{ch}.html").read_text()
        shown = {i: int(n) for i, n in re.findall(r'<figure[^>]*id="([^"]+)".*?class="caption-number">Fig\. (\d+)',
                                                  html, re.S)}
        for name, t in pm.page_targets(text).items():
            if t.kind == "figure":
                assert shown[pm.html_id(name)] == before + t.number, (ch, name)
                checked += 1
        before += pm.figure_count(text)
        if (PAGES / f"{ch}.md").stat().st_mtime <= (staged / f"{ch}.ipynb").stat().st_mtime:
            assert pm.figure_count(text) == pm.figure_count(_page(ch)), ch  # staging adds no figure
    assert checked > 30


# On the smoke site CI builds, these run in tests/test_site.py; here, on a site built by hand.
def test_links_go_to_ids_of_the_built_page():
    if not _site_is_fresh():
        pytest.skip("no up-to-date smoke site here (tests/test_site.py checks the one it builds)")
    check_links_reach_ids(SMOKE / "_build" / "html" / "chapters")


def test_figure_numbers_follow_sphinx_through_the_book():
    if not _site_is_fresh():
        pytest.skip("no up-to-date smoke site here (tests/test_site.py checks the one it builds)")
    check_figure_numbers(SMOKE / "_build" / "html" / "chapters")


def _fake(**kw) -> PaperItem:
    base = dict(paper="dmm", item="Figure 5", coverage="full", sections=("sec-cling-phases",),
                claims=("clinging_dimpling.cling_fast_line",), scale="{seeds} seeds")
    return PaperItem(**{**base, **kw})


@pytest.mark.parametrize("bad, message", [
    (dict(sections=("sec-no-such-label",)), "sec-no-such-label"),
    (dict(sections=()), "non-empty"),
    (dict(claims=("clinging_dimpling.no_such_claim",)), "no_such_claim"),
    (dict(claims=("relabelling.line_flip_beats_chance",)), "not one of this chapter's"),
    (dict(item="Figure 29"), "not in the catalogue"),
    (dict(paper="nosuch"), "not in the catalogue"),
    (dict(coverage="partial"), "needs a note"),
    (dict(coverage="most"), "coverage"),
    (dict(scale="{no_such_knob} seeds"), "does not format"),
])
def test_a_wrong_declaration_is_refused(bad, message):
    page, source = _page("clinging_dimpling"), _claims_source("clinging_dimpling")
    pm.check_declarations("clinging_dimpling", [_fake()], page, source)  # the fake itself is right
    with pytest.raises(PaperMapError, match=re.escape(message)):
        pm.check_declarations("clinging_dimpling", [_fake(**bad)], page, source)
    with pytest.raises(PaperMapError):
        pm.check_declarations("clinging_dimpling", [_fake(), _fake()], page, source)  # twice


def test_a_figure_name_is_a_section_too_and_a_label_only_in_prose_is_not():
    page = "# T\n\n(sec-a)=\n## A heading\n\n```{glue:figure} f\n:name: fig-b\n\nCaption.\n```\n\nSee (sec-c) here.\n"
    targets = pm.page_targets(page)
    assert targets["sec-a"] == pm.Target("section", "A heading") and "sec-c" not in targets
    assert targets["fig-b"] == pm.Target("figure", "A heading", 1) and pm.figure_count(page) == 1
    code = "```{code-cell} ipython3\n# a comment, no heading\n```\n\n```{figure} x.png\n\nNo name.\n```\n"
    assert pm.page_targets(page + code)["fig-b"].heading == "A heading" and pm.figure_count(page + code) == 2
    assert pm.page_title("---\nx: 1\n---\n\n# The title\n") == "The title"


def test_claim_templates_follow_the_f_strings_of_claims_py():
    source = 'CH = "ch"\nA = f"{CH}.x_{ds}"\nB = f"ch.{kind}_y"\nC = "ch.plain"\nD = "not an id"\n'
    templates = pm.claim_templates(source)
    ok = lambda cid: any(t.fullmatch(cid) for t in templates)  # noqa: E731
    assert ok("ch.x_mnist") and ok("ch.rand_y") and ok("ch.plain")
    assert not ok("ch.z_mnist") and not ok("other.x_mnist") and not ok("ch.plainer")


def test_merge_refuses_an_item_the_catalogue_lacks():
    with pytest.raises(PaperMapError, match="not in the catalogue"):
        pm.merge({"clinging_dimpling": [_fake(item="Figure 99")]})


def test_every_absent_item_has_a_reason_and_no_reproduced_item_keeps_one():
    rows = pm.merge(DECLARED)
    keys = {(r.item.paper, r.item.item) for r in rows}
    assert set(pm.REASONS) <= keys
    for r in rows:
        key = (r.item.paper, r.item.item)
        assert (r.coverage == "absent") == (key in pm.REASONS), (key, r.coverage)
        assert r.reason is None or r.reason.kind in pm.REASON_KINDS
    imagenet = pm.REASONS[("dmm", "Figure 17")].html()
    assert "needs ImageNet" in imagenet and ("not done yet" in imagenet or "<code>" in imagenet)


def test_coverage_is_full_if_one_chapter_covers_it_fully_else_partial():
    rows = {(r.item.paper, r.item.item): r for r in pm.merge({"a": [_fake(coverage="partial", note="x")],
                                                              "b": [_fake(item="Figure 6", coverage="partial",
                                                                          note="y")],
                                                              "c": [_fake(item="Figure 6")]})}
    assert rows[("dmm", "Figure 5")].coverage == "partial" and rows[("dmm", "Figure 6")].coverage == "full"
    assert rows[("dmm", "Figure 7")].coverage == "absent" and rows[("dmm", "Figure 7")].reason.kind == "not-done"


def _tally_and_rows(markdown: str):
    tally = {}
    for paper, cells in re.findall(r'<tr data-paper="(\w+)">(.*?)</tr>', markdown):
        tally[paper] = {c: int(n) for c, n in re.findall(r'<td data-coverage="(\w+)">(\d+)</td>', cells)}
    rows = {}
    for paper, table in re.findall(r'<div class="dmm-table dmm-paper-map" data-paper="(\w+)"><table>(.*?)</table>',
                                   markdown):
        found = re.findall(r'<tr data-coverage="(\w+)">', table)
        rows[paper] = {c: found.count(c) for c in pm.COVERAGES}
    return tally, rows


@pytest.mark.parametrize("profile", ["quick", "paper"])
def test_the_tally_at_the_top_equals_the_rows(profile):
    md = pm.paper_map_markdown(CHAPTERS, PAGES, profile)
    tally, rows = _tally_and_rows(md)
    assert set(rows) == set(pm.PAPERS) and tally.pop("all") == {c: sum(r[c] for r in rows.values()) for c in pm.COVERAGES}
    assert tally == rows
    assert sum(rows["dmm"].values()) == 39
    for paper, k in rows.items():  # the sentence under each heading says the same
        assert f"{k['full']} full, {k['partial']} partial, {k['absent']} absent." in md
    for ch in CHAPTERS:  # every chapter is linked, as the ledger links: chapters/<name>.html#<id>
        assert f'href="chapters/{ch}.html#' in md
    assert f"<code>{profile}</code>" in md and "not done yet" in md


def test_a_wrong_declaration_stops_the_page(monkeypatch):
    monkeypatch.setattr(pm, "declarations", lambda chapters: {"clinging_dimpling": [_fake(sections=("sec-gone",))]})
    with pytest.raises(PaperMapError, match="sec-gone"):
        pm.paper_map_markdown(["clinging_dimpling"], PAGES, "quick")


def test_the_page_is_in_the_book():
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())
    assert "paper_map" in [c["file"] for part in toc["parts"] for c in part["chapters"]]
    assert "```{include} _generated/paper_map.md" in (ROOT / "book" / "paper_map.md").read_text()
    assert "<paper_map>`" in (ROOT / "book" / "intro.md").read_text()


def test_book_stage_writes_the_paper_map(tmp_path, monkeypatch):
    root = tmp_path / "book"
    (root / "chapters").mkdir(parents=True)
    for ch in CHAPTERS:
        shutil.copy(PAGES / f"{ch}.md", root / "chapters" / f"{ch}.md")
    (root / "_toc.yml").write_text(yaml.safe_dump({"format": "jb-book", "root": "intro", "parts": [
        {"caption": "c", "chapters": [{"file": f"chapters/{ch}"} for ch in CHAPTERS] + [{"file": "paper_map"}]}]}))
    (root / "intro.md").write_text("# A book\n")
    shutil.copy(ROOT / "book" / "paper_map.md", root / "paper_map.md")
    b = book.Book(root)
    for ch in CHAPTERS:  # empty executed notebooks: the map needs none of their content
        nb = b.executed_path(ch, "smoke")
        nb.parent.mkdir(parents=True, exist_ok=True)
        nb.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    monkeypatch.setattr(book, "for_static_site", lambda data, *args, **kw: data)
    site = b.stage("smoke")
    written = (site / "_generated" / "paper_map.md").read_text()
    assert written == pm.paper_map_markdown(CHAPTERS, root / "chapters", "smoke")
    assert "<code>smoke</code>" in written and 'href="chapters/clinging_dimpling.html#fig-cling-3d"' in written
    assert (site / "paper_map.md").exists()


def test_scales_are_written_for_a_reader_never_as_a_python_repr():
    declared = pm.declarations(book.chapter_names())
    assert any("{" in it.scale for items in declared.values() for it in items if isinstance(it.scale, str))
    for chapter, items in declared.items():
        for it in items:
            for profile in ("smoke", "quick", "paper"):
                text = pm.scale_text(chapter, it, profile)
                assert "{'" not in text and "['" not in text and "mappingproxy" not in text, (chapter, it.item, text)
