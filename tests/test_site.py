"""The smoke build of the whole book, opened page by page in headless Chromium.

Builds every chapter in the ``smoke`` profile through ``tools/book.py`` (the same path as
``make book``), serves the HTML on 127.0.0.1 and fails on page errors, console errors,
failed or off-machine requests and images that did not load. Needs Debian's ``chromium``;
without it the browser test is skipped, unless ``DMM_REQUIRE_BROWSER=1`` (set by CI).
"""
from __future__ import annotations

import functools
import http.server
from html.parser import HTMLParser
import os
import re
import shutil
import threading
from pathlib import Path

import pytest

from tests.chapter_runner import book

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def smoke_site(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("smoke-book")
    return book.build("smoke", output)


def test_build_has_every_page(smoke_site):
    for name in book.chapter_names():
        page = smoke_site / "chapters" / f"{name}.html"
        assert page.exists(), f"no page for chapter {name}"
        assert "Traceback" not in page.read_text(), f"an error is shown on {page}"
    for page in ("intro.html", "reproducibility.html", "bibliography.html", "index.html"):
        assert (smoke_site / page).exists()


def test_every_ledger_link_reaches_its_section(smoke_site):
    """The ledger links each claim to the MyST label of the section that shows it: the page and
    the anchor must exist (a raw link is not checked by the -W build, so this test does)."""
    intro = (smoke_site / "intro.html").read_text()
    links = re.findall(r'href="(chapters/[\w]+\.html)(?:#([\w-]+))?"', intro)
    assert links, "the ledger links no claim"
    for page, anchor in set(links):
        target = smoke_site / page
        assert target.exists(), f"the ledger links a missing page {page}"
        if anchor:
            assert f'id="{anchor}"' in target.read_text(), f"{page} has no section {anchor!r} for the ledger's link"
    assert 'data-verdict="' in intro and "ledger.js" in intro
    # the findings open the page, and their tally counts the ledger's rows
    assert intro.index('id="what-the-book-finds"') < intro.index('id="sec-ledger"')
    told = re.search(r"the chapters test (\d+) claims", intro)
    assert told and int(told.group(1)) == intro.count('<tr data-verdict="'), "the findings' tally differs from the ledger"


def _article(html: str) -> str:
    """The page's article (its content, without the navigation and sidebars)."""
    return html[html.index('<article class="bd-article">'):html.index("</article>")]


def _plain(fragment: str) -> str:
    return re.sub(r"<[^>]+>", "", fragment).replace("#", "").strip()


def test_every_chapter_page_opens_with_its_findings(smoke_site):
    """Issue 25: under the title, the run note, the run's parameters folded in a table, then the
    first section, *What this chapter finds*, whose links reach sections of the same page; the
    parameter cells are in the notebook but not on the page."""
    for name in book.chapter_names():
        html = (smoke_site / "chapters" / f"{name}.html").read_text()
        article = _article(html)
        sections = [_plain(h) for h in re.findall(r"<h2[^>]*>(.*?)</h2>", article, re.S)]
        assert sections[:2] == ["What this chapter finds", "The question"], f"{name}: first sections {sections[:2]}"
        opening = article[:article.index('id="what-this-chapter-finds"')]
        assert "This run" in opening and "admonition" in opening, f"{name}: no run note above the findings"
        folded = re.search(r'<details class="dmm-details dmm-run-parameters"[^>]*>(.*?)</details>', opening, re.S)
        assert folded and " open" not in folded.group(0).split(">", 1)[0], f"{name}: the parameters are not folded"
        assert "<table>" in folded.group(1) and folded.group(1).count("<tr") > 1, f"{name}: no table of parameters"
        assert "tag_parameters" not in html and "tag_injected-parameters" not in html, f"{name}: parameter cells shown"
        findings = article[article.index('id="what-this-chapter-finds"'):article.index('id="the-question"')]
        assert re.search(r"tests \d+ claims?:", findings), f"{name}: the findings give no tally"
        for anchor in set(re.findall(r'href="#([\w-]+)"', findings)) - {"what-this-chapter-finds"}:
            assert f'id="{anchor}"' in html, f"{name}: the findings link a missing section #{anchor}"


class _VisibleText(HTMLParser):
    """The text a reader sees on a page: no script or style, no code-cell input (the source of
    a hidden-input cell, which may well hold a dict literal)."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.skipping, self.parts = [], 0, []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        skip = tag in ("script", "style") or "cell_input" in (dict(attrs).get("class") or "").split()
        self.stack.append((tag, skip))
        self.skipping += skip

    def handle_endtag(self, tag):
        while self.stack and tag in (t for t, _ in self.stack):
            t, skip = self.stack.pop()
            self.skipping -= skip
            if t == tag:
                break

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return "".join(parser.parts)


def test_visible_text_leaves_out_code_and_scripts():
    html = ("<div class='cell_input docutils'><pre>x = {'a': 1}</pre></div><script>var m = {'b': 2};</script>"
            "<p>seeds<br>3</p><div class='cell_output'><pre>{'seeds': 3}</pre></div>")
    assert visible_text(html) == "seeds3{'seeds': 3}"


def test_no_page_shows_a_raw_dict(smoke_site):
    """No page shows a Python dict or mappingproxy repr (a chapter's parameters printed raw):
    they are in the folded table, formatted."""
    for page in smoke_site.rglob("*.html"):
        if "_static" in page.parts or "_sources" in page.parts:
            continue
        text = visible_text(page.read_text())
        found = re.search(r"mappingproxy|\{'", text)
        assert found is None, f"{page.name} shows a raw dict: {text[max(found.start() - 60, 0):found.start() + 80]!r}"


EXTERNAL = re.compile(r"""<(script|img|iframe)\b[^>]*\bsrc\s*=\s*["']https?://|<link\b[^>]*\bhref\s*=\s*["']https?://""",
                      re.IGNORECASE)


def test_site_loads_nothing_from_the_internet(smoke_site):
    for page in smoke_site.rglob("*.html"):
        if "_static" in page.parts:
            continue
        html = page.read_text()
        found = EXTERNAL.search(html)
        assert found is None, f"{page.name} loads from the network: {html[found.start():found.start() + 120]!r}"
        assert "THEBE_JS_URL" not in html, f"{page.name} carries thebe's script"


def test_static_site_notebooks_drop_external_stylesheets():
    """matplotlib's to_jshtml links Font Awesome from a CDN; staging removes such links."""
    import json

    nb = {"metadata": {"widgets": {"state": {}}}, "cells": [{"cell_type": "code", "outputs": [{"output_type": "display_data",
          "data": {"text/html": ['<link rel="stylesheet"\nhref="https://cdn.example/fa.css">\n', "<div>anim</div>"]}}]}]}
    out = json.loads(book.for_static_site(json.dumps(nb).encode()))
    html = out["cells"][0]["outputs"][0]["data"]["text/html"]
    assert "https://" not in html and "<div>anim</div>" in html
    assert "widgets" not in out["metadata"]


@pytest.fixture(scope="session")
def server(smoke_site):
    handler = functools.partial(_QuietHandler, directory=str(smoke_site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _browser_or_skip():
    if not Path(CHROMIUM).exists():
        if os.environ.get("DMM_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Chromium not found at {CHROMIUM} (install Debian's chromium)")
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    return sync_playwright


# [content width, box width] of every table whose content is wider than the nearest box that
# clips it, where that box does not scroll horizontally
CLIPPED_TABLES = """() => Array.from(document.querySelectorAll('table')).flatMap(t => {
    for (let box = t.parentElement; box && box !== document.body; box = box.parentElement) {
        const style = getComputedStyle(box);
        if (style.overflowX === 'visible') continue;
        if (t.scrollWidth <= box.clientWidth + 1) return [];
        return (style.overflowX === 'auto' || style.overflowX === 'scroll') ? [] : [[t.scrollWidth, box.clientWidth]];
    }
    return t.getBoundingClientRect().right > document.documentElement.clientWidth + 1
        ? [[Math.round(t.getBoundingClientRect().width), document.documentElement.clientWidth]] : [];
})"""


def test_every_page_opens_without_errors(smoke_site, server):
    sync_playwright = _browser_or_skip()
    pages = sorted(p.relative_to(smoke_site).as_posix() for p in smoke_site.rglob("*.html")
                   if "_static" not in p.parts and "_sources" not in p.parts)
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for rel in pages:
            page = browser.new_page()
            page.on("pageerror", lambda e, rel=rel: problems.append(f"{rel}: page error {e}"))
            page.on("console", lambda m, rel=rel: m.type == "error" and problems.append(f"{rel}: console error {m.text}"))
            page.on("requestfailed", lambda r, rel=rel: problems.append(f"{rel}: request failed {r.url} {r.failure}"))
            page.on("response", lambda r, rel=rel: r.status >= 400 and problems.append(f"{rel}: HTTP {r.status} {r.url}"))

            def route(r, rel=rel):
                url = r.request.url
                if url.startswith(server) or url.startswith("data:") or url.startswith("blob:"):
                    return r.continue_()
                problems.append(f"{rel}: request off this machine {url}")
                return r.abort()

            page.route("**/*", route)
            page.goto(f"{server}/{rel}", wait_until="load")
            page.wait_for_timeout(300)
            broken = page.evaluate(
                "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
            )
            problems.extend(f"{rel}: image did not load {src}" for src in broken)
            # a table wider than its box must scroll inside it, never be cut off at the page's edge
            clipped = page.evaluate(CLIPPED_TABLES)
            problems.extend(f"{rel}: table clipped ({w} px of content in a {c} px box that does not scroll)"
                            for w, c in clipped)
            page.close()
        browser.close()
    assert not problems, "\n".join(problems)


def test_the_clipped_table_check_catches_a_clipped_table():
    sync_playwright = _browser_or_skip()
    wide = "<table><tr>" + "<td>0.123456789</td>" * 40 + "</tr></table>"
    html = (f"<div style='width:200px;overflow:hidden'>{wide}</div>"
            f"<div style='width:200px;overflow-x:auto'>{wide}</div>")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_content(html)
        clipped = page.evaluate(CLIPPED_TABLES)
        browser.close()
    assert len(clipped) == 1 and clipped[0][1] == 200  # the hidden box is caught, the scrolling one is fine


SCREENSHOTS = Path(__file__).resolve().parent.parent / "book" / "_build" / "screenshots"
WINDOW = {"width": 1300, "height": 1000}

# [src, right edge, column's right edge] of every image or figure wider than the article's column
OVERFLOWING_FIGURES = """() => {
    const main = document.querySelector('article.bd-article') || document.body;
    const right = main.getBoundingClientRect().right;
    return Array.from(main.querySelectorAll('img, svg, video, canvas')).flatMap(el => {
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.right <= right + 1) return [];
        for (let box = el.parentElement; box && box !== main; box = box.parentElement) {
            const o = getComputedStyle(box).overflowX;
            if (o === 'auto' || o === 'scroll') return [];
        }
        return [[el.getAttribute('src') || el.tagName, Math.round(r.right), Math.round(right)]];
    });
}"""
# the top (px from the top of the page) of the first element matching a selector, or null
TOP_OF = "(sel) => { const e = document.querySelector(sel); return e ? e.getBoundingClientRect().top + window.scrollY : null; }"


def test_the_readers_first_screens(smoke_site, server):
    """Issue 25, at a 1,300 x 1,000 window (screenshots in book/_build/screenshots/): the landing
    page's findings and per-chapter summary start in the first screen; every chapter's title,
    run note and findings start in its first screen; no figure leaves its column unscrolled."""
    sync_playwright = _browser_or_skip()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    pages = ["intro", "paper_map"] + [f"chapters/{name}" for name in book.chapter_names()]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=WINDOW)
        for rel in pages:
            page.goto(f"{server}/{rel}.html", wait_until="load")
            page.wait_for_timeout(200)
            page.screenshot(path=str(SCREENSHOTS / f"{rel.replace('/', '_')}.png"))
            problems.extend(f"{rel}: figure {src} ends at {r} px, its column at {c} px"
                            for src, r, c in page.evaluate(OVERFLOWING_FIGURES))
            if rel == "intro":
                wanted = {"findings": "#what-the-book-finds", "per-chapter summary": "#what-the-book-finds table"}
            elif rel.startswith("chapters/"):
                wanted = {"title": "article h1", "run note": "article .admonition",
                          "findings": "#what-this-chapter-finds"}
            else:
                wanted = {}
            for what, sel in wanted.items():
                top = page.evaluate(TOP_OF, sel)
                if top is None or top >= WINDOW["height"]:
                    problems.append(f"{rel}: the {what} ({sel}) does not start in the first screen (top {top})")
        page.goto(f"{server}/intro.html#sec-ledger", wait_until="load")
        page.screenshot(path=str(SCREENSHOTS / "ledger.png"))
        browser.close()
    assert not problems, "\n".join(problems)


def test_the_first_screen_check_catches_a_wide_figure():
    sync_playwright = _browser_or_skip()
    html = ("<article class='bd-article' style='width:300px'><img src='data:image/gif;base64,"
            "R0lGODlhAQABAAAAACw=' style='width:600px;height:10px'>"
            "<div style='overflow-x:auto'><img src='data:image/gif;base64,R0lGODlhAQABAAAAACw=' "
            "style='width:600px;height:10px'></div></article>")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=WINDOW)
        page.set_content(html)
        wide = page.evaluate(OVERFLOWING_FIGURES)
        browser.close()
    assert len(wide) == 1 and wide[0][2] <= 310  # the unscrolled image is caught, the scrolling one is fine


def test_the_map_of_the_papers_links_sections_and_figures_of_the_built_site(smoke_site):
    """The map's links reach ids of the chapters' built pages, and its "Fig. N" are Sphinx's."""
    from tests.test_paper_map import check_figure_numbers, check_links_reach_ids

    check_links_reach_ids(smoke_site / "chapters")
    check_figure_numbers(smoke_site / "chapters")
