"""A reader's path through the widgets: JupyterLab in Chromium, every widget driven by hand.

For each chapter with a widget cell (tagged ``skip-execution``: papermill does not run it,
JupyterLab does), the chapter is written as a notebook whose parameters cell says
``profile = "smoke"`` and which ends with its last widget cell. A JupyterLab server from
the project's venv starts on a free port of 127.0.0.1 with a token; Chromium (Debian's,
through Playwright) opens the notebook, runs all cells, then changes each control of each
widget (slider, dropdown, checkbox, toggle, button) and checks that the widget's output
changes and that no error appears in any output or in the browser console. The time from a
change to the new output is written to ``benchmarks/results/widgets.md`` (a measurement,
not an assertion). The server is shut down also when the test fails.

Needs Debian's ``chromium`` and JupyterLab (``make jupyter`` installs it); skipped without
them unless ``DMM_REQUIRE_BROWSER=1`` (CI), where their absence fails.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "book" / "chapters"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
RESULTS = ROOT / "benchmarks" / "results"
REQUIRED = os.environ.get("DMM_REQUIRE_BROWSER") == "1"

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _need(condition: bool, what: str):
    if not condition:
        if REQUIRED:
            pytest.fail(f"{what} is required here (DMM_REQUIRE_BROWSER=1)")
        pytest.skip(f"{what} is not installed")


def widget_chapters() -> list[str]:
    """Chapters with at least one cell tagged ``skip-execution`` (their widget cells)."""
    names = []
    for md in sorted(CHAPTERS.glob("*.md")):
        if re.search(r":tags: \[[^\]]*skip-execution", md.read_text()):
            names.append(md.stem)
    return names


def smoke_notebook(name: str, folder: Path) -> Path:
    """``book/chapters/<name>.md`` as ``folder/<name>.ipynb``: parameters set to smoke, cut
    after its last widget cell, widget cells' ``remove-output`` tags dropped."""
    import jupytext

    nb = jupytext.read(CHAPTERS / f"{name}.md")
    cells = nb.cells
    last = max(i for i, c in enumerate(cells) if "skip-execution" in c.metadata.get("tags", []))
    for c in cells:
        if "parameters" in c.metadata.get("tags", []):
            c.source = re.sub(r'^profile = "quick"', 'profile = "smoke"', c.source, flags=re.M)
            assert 'profile = "smoke"' in c.source, f"{name}: cannot set the profile in its parameters cell"
        c.metadata["tags"] = [t for t in c.metadata.get("tags", []) if t != "remove-output"]
    nb.cells = cells[: last + 1]
    path = folder / f"{name}.ipynb"
    jupytext.write(nb, path)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 serving a folder of smoke notebooks; yields (url, token, folder)."""
    _need(Path(CHROMIUM).exists(), "Debian's chromium")
    lab_bin = Path(sys.executable).parent / "jupyter-lab"
    _need(lab_bin.exists(), "JupyterLab (make jupyter installs it)")
    folder = tmp_path_factory.mktemp("lab")
    settings = folder / ".settings"
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(settings), "TQDM_DISABLE": "1",
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [str(lab_bin), "--no-browser", "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
           "--allow-root", f"--ServerApp.root_dir={folder}", "--expose-app-in-browser",
           "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    log = open(folder / "server.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(CHAPTERS))
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("JupyterLab exited: " + (folder / "server.log").read_text()[-2000:])
                time.sleep(0.5)
        yield url, token, folder
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


CONTROLS = {
    "slider": ".widget-slider .noUi-handle, .widget-slider input[type=range]",
    "dropdown": ".widget-dropdown select",
    "checkbox": ".widget-checkbox input[type=checkbox]",
    "toggle": ".widget-toggle-buttons button, .widget-toggle-button",
    "button": "button.jupyter-button:not(.widget-toggle-button)",
}


def _output_signature(widget) -> str:
    """What the widget shows: its images' sources, its text and its labels' values."""
    return widget.evaluate("""el => {
        const imgs = [...el.querySelectorAll('img')].map(i => i.src.length + ':' + i.src.slice(-64));
        const texts = [...el.querySelectorAll('.jp-OutputArea-output, .widget-label, .widget-readout, .widget-html-content')]
                      .map(t => t.innerText);
        return JSON.stringify([imgs, texts]);
    }""")


def _wait_change(widget, before: str, timeout_s: float) -> float | None:
    """Seconds until the widget's signature differs from ``before`` (None: it did not)."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout_s:
        if _output_signature(widget) != before:
            time.sleep(0.3)  # let a redraw finish
            return time.perf_counter() - start
        time.sleep(0.1)
    return None


def _act(page, control, kind: str) -> None:
    if kind == "slider":
        control.focus()
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
    elif kind == "dropdown":
        options = control.evaluate("s => [...s.options].map(o => o.value)")
        current = control.evaluate("s => s.value")
        control.select_option(next(o for o in options if o != current))
    else:
        control.click()


@pytest.mark.parametrize("name", widget_chapters())
def test_widgets_respond_in_jupyterlab(lab, name):
    from playwright.sync_api import sync_playwright

    url, token, folder = lab
    smoke_notebook(name, folder)
    timings, errors, off_machine = [], [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))

            def route(r):
                host = r.request.url.split("/")[2] if "://" in r.request.url else ""
                if host.split(":")[0] in ("127.0.0.1", "localhost", ""):
                    return r.continue_()
                off_machine.append(r.request.url)
                return r.abort()

            page.route("**/*", route)
            page.goto(f"{url}/lab/tree/{name}.ipynb?token={token}", wait_until="domcontentloaded")
            page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=120_000)
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget "
                                   "&& window.jupyterapp.shell.currentWidget.sessionContext.session", timeout=120_000)
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            page.wait_for_function(
                "() => { const w = window.jupyterapp.shell.currentWidget;"
                " return w.content.widgets.every(c => c.model.type !== 'code' || c.model.executionCount !== null)"
                " && w.sessionContext.session.kernel.status === 'idle'; }", timeout=900_000, polling=1000)
            tracebacks = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']")
            assert tracebacks.count() == 0, f"{name}: an error in an output: {tracebacks.first.inner_text()[:1500]}"
            widgets = page.locator(".jp-OutputArea-output .jupyter-widgets.widget-container, "
                                   ".jp-OutputArea-output .jupyter-widgets.widget-vbox")
            page.wait_for_timeout(1000)
            assert widgets.count() > 0, f"{name}: no widget was rendered"
            widget = widgets.first
            widget.scroll_into_view_if_needed()
            for kind, selector in CONTROLS.items():
                controls = widget.locator(selector)
                for i in range(controls.count()):
                    control = controls.nth(i)
                    if not control.is_visible() or not control.is_enabled():
                        continue
                    before = _output_signature(widget)
                    _act(page, control, kind)
                    seconds = _wait_change(widget, before, 120 if kind == "button" else 30)
                    if seconds is None and kind != "button":
                        # a manual widget ("draw", "run") shows the change when its button is pressed
                        buttons = widget.locator(CONTROLS["button"])
                        if buttons.count():
                            buttons.first.click()
                            seconds = _wait_change(widget, before, 120)
                    assert seconds is not None, f"{name}: changing a {kind} did not change the widget's output"
                    timings.append((kind, i, seconds))
            assert tracebacks.count() == 0, f"{name}: an error after a change: {tracebacks.first.inner_text()[:1500]}"
        finally:
            browser.close()
    assert not off_machine, f"{name}: requests leaving the machine: {off_machine[:5]}"
    bad = [e for e in errors if "favicon" not in e]
    assert not bad, f"{name}: browser console errors: {bad[:5]}"
    assert timings, f"{name}: the widget has no control that could be driven"
    _record(name, timings)


def _record(name: str, timings: list) -> None:
    """Append this chapter's response times to benchmarks/results/widgets.json and rewrite the table."""
    import platform

    RESULTS.mkdir(parents=True, exist_ok=True)
    store = RESULTS / "widgets.json"
    data = json.loads(store.read_text()) if store.exists() else {}
    data[name] = {"controls": [{"kind": k, "index": i, "seconds": round(s, 2)} for k, i, s in timings],
                  "measured": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} cores"}
    store.write_text(json.dumps(data, indent=1))
    lines = ["## Widgets in JupyterLab: response times", "",
             "Measured by `tests/test_jupyterlab.py` (Chromium driving JupyterLab, chapters in `smoke`): seconds from a "
             "change of a control to the widget's new output. Goal: under 1 s for 2D pictures, 3 s for 3D; a button "
             "that trains or attacks runs a computation and is listed for information.", "",
             "| chapter | control | seconds | measured |", "| --- | --- | ---: | --- |"]
    for chapter, row in sorted(data.items()):
        for c in row["controls"]:
            lines.append(f"| {chapter} | {c['kind']} {c['index']} | {c['seconds']:.2f} | {row['measured']}, {row['machine']} |")
    (RESULTS / "widgets.md").write_text("\n".join(lines) + "\n")
