"""A reader's path through the widgets: JupyterLab in Chromium, every widget driven by hand.

For each chapter with a widget cell (tagged ``skip-execution``: papermill does not run it,
JupyterLab does), the chapter is written as a notebook whose parameters cell says
``profile = "smoke"`` and which ends with its last widget cell. A JupyterLab server from
the project's venv starts on a free port of 127.0.0.1 with a token; Chromium (Debian's,
through Playwright) opens the notebook, runs all cells, then changes each control of each
widget cell's widget (slider, dropdown, checkbox, toggle, button) and checks that the
widget's output changes (its pictures or text; not the control's own readout) once the
kernel has handled the change, that no error appears in any output or in the browser
console, and that nothing is requested from outside the machine. A setting that applies
only when the widget's button is pressed ("train") is followed by a press of it. The time
from a change to the new output, and each chapter's run time, are written to
``benchmarks/results/widgets.md`` (a measurement, not an assertion). The kernels and the
server are shut down also when the test fails.

Needs Debian's ``chromium`` and JupyterLab (``make jupyter`` installs it); skipped without
them unless ``DMM_REQUIRE_BROWSER=1`` (CI), where their absence fails.
"""
from __future__ import annotations

import contextlib
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
    """A JupyterLab server on 127.0.0.1 serving a folder of smoke notebooks; yields (url, token, folder).

    Shut down (its kernels through the REST API, then the server) also when a test fails; as
    a last resort, a server left behind by a killed pytest culls idle kernels and exits by
    itself after ten idle minutes."""
    _need(Path(CHROMIUM).exists(), "Debian's chromium")
    lab_bin = Path(sys.executable).parent / "jupyter-lab"
    _need(lab_bin.exists(), "JupyterLab (make jupyter installs it)")
    folder = tmp_path_factory.mktemp("lab")
    settings = folder / ".settings"
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    port, token = _free_port(), secrets.token_hex(16)
    # its own workspaces: JupyterLab would otherwise reopen the notebooks of an earlier run
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(settings), "JUPYTERLAB_WORKSPACES_DIR": str(folder / ".workspaces"),
           "TQDM_DISABLE": "1",
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [str(lab_bin), "--no-browser", "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
           "--allow-root", f"--ServerApp.root_dir={folder}", "--expose-app-in-browser",
           "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--MappingKernelManager.cull_idle_timeout=600", "--MappingKernelManager.cull_interval=60",
           "--ServerApp.shutdown_no_activity_timeout=600"]
    log = open(folder / "server.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(CHAPTERS))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while not _api(url, token, "GET", "/api/status"):
            if proc.poll() is not None:
                pytest.fail("JupyterLab exited: " + (folder / "server.log").read_text()[-2000:])
            if time.time() > deadline:
                pytest.fail("JupyterLab did not answer within 120 s: " + (folder / "server.log").read_text()[-2000:])
            time.sleep(0.5)
        yield url, token, folder
    finally:
        for kernel in _api(url, token, "GET", "/api/kernels") or []:
            _api(url, token, "DELETE", f"/api/kernels/{kernel['id']}")
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)
        log.close()


def _api(url: str, token: str, method: str, path: str):
    """JSON answer of the server's REST API (None when it does not answer)."""
    import urllib.request

    req = urllib.request.Request(url + path, method=method, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
    except OSError:
        return None
    return json.loads(body) if body else {}


CONTROLS = {
    "slider": ".widget-slider .noUi-handle, .widget-slider input[type=range]",
    "dropdown": ".widget-dropdown select",
    "checkbox": ".widget-checkbox input[type=checkbox]",
    "toggle": ".widget-toggle-buttons button, .widget-toggle-button",
    "button": "button.jupyter-button:not(.widget-toggle-button)",
}

# the notebook panel's kernel: a count of its "busy" states (each message it handles) and its status
_WATCH_KERNEL = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    window.__dmm = {panel, busy: 0};
    panel.sessionContext.session.kernel.statusChanged.connect((_, s) => { if (s === 'busy') window.__dmm.busy++; });
}"""
_KERNEL_STATE = "() => [window.__dmm.busy, window.__dmm.panel.sessionContext.session.kernel.status]"


def _output_signature(widget) -> str:
    """What the widget shows: its images' sources, the text of its outputs, labels and HTML
    (not the readouts of its own controls: a slider that moves but redraws nothing must fail)."""
    return widget.evaluate("""el => {
        const imgs = [...el.querySelectorAll('img')].map(i => i.src.length + ':' + i.src.slice(-64));
        const texts = [...el.querySelectorAll('.jp-OutputArea-output, .widget-label, .widget-html-content')]
                      .map(t => t.innerText);
        return JSON.stringify([imgs, texts]);
    }""")


_MARK_OUTPUTS = "el => el.querySelectorAll('.jp-OutputArea-output').forEach(o => o.setAttribute('data-dmm-old', ''))"
_FRESH_OUTPUT = "el => el.querySelector('.jp-OutputArea-output:not([data-dmm-old])') !== null"


def _wait_response(page, widget, before: str, busy_before: int, timeout_s: float, fresh_ok: bool = False) -> float | None:
    """Seconds until the kernel has handled the change (it was busy since, and is idle now) and
    the widget's signature differs from ``before`` (or, with ``fresh_ok``, for a button that
    recomputes the same settings: the widget shows an output drawn after :data:`_MARK_OUTPUTS`);
    None when it did not change: within ``timeout_s``, or 3 s after the kernel went idle with
    the signature unchanged. The kernel sends a callback's outputs before it reports idle, so
    no redraw is missed."""
    start = time.perf_counter()
    idle_since = None
    while time.perf_counter() - start < timeout_s:
        busy, status = page.evaluate(_KERNEL_STATE)
        if busy > busy_before and status == "idle":
            if _output_signature(widget) != before or (fresh_ok and widget.evaluate(_FRESH_OUTPUT)):
                return time.perf_counter() - start
            idle_since = idle_since or time.perf_counter()
            if time.perf_counter() - idle_since > 3:
                return None
        else:
            idle_since = None
        time.sleep(0.05)
    return None


def _act(page, control, kind: str) -> None:
    if kind == "slider":
        at_max = control.evaluate("h => h.getAttribute('aria-valuenow') !== null && "
                                  "Number(h.getAttribute('aria-valuenow')) >= Number(h.getAttribute('aria-valuemax'))")
        control.focus()
        page.keyboard.press("ArrowLeft" if at_max else "ArrowRight")  # one step: one message to the kernel
    elif kind == "dropdown":
        options = control.evaluate("s => [...s.options].map(o => o.value)")
        current = control.evaluate("s => s.value")
        control.select_option(next(o for o in options if o != current))
    else:
        control.click()


def _drive(page, widget, name: str, cell: int, timings: list) -> int:
    """Change each control of ``widget`` in turn; append (control, seconds) to ``timings`` and
    return how many were driven. A control whose change shows nothing fails the test, unless
    it is a setting that a button of the widget applies ("draw", "train"): then that button is
    pressed and the output must change."""
    prefix = f"cell {cell}: " if cell else ""
    proven = set()  # buttons that already changed the output (pressed after a setting)
    driven = 0
    for kind, selector in CONTROLS.items():
        controls = widget.locator(selector)
        for i in range(controls.count()):
            control = controls.nth(i)
            if (kind, i) in proven or not control.is_visible() or not control.is_enabled():
                continue
            before, busy = _output_signature(widget), page.evaluate(_KERNEL_STATE)[0]
            widget.evaluate(_MARK_OUTPUTS)
            _act(page, control, kind)
            # a button ("run", "train") may recompute what is shown: then it must draw it anew
            seconds = _wait_response(page, widget, before, busy, 300 if kind == "button" else 60, fresh_ok=kind == "button")
            how = f"{kind} {i}"
            if seconds is None and kind != "button":
                buttons = widget.locator(CONTROLS["button"])
                assert buttons.count(), f"{name}: {prefix}changing {kind} {i} did not change the widget's output"
                busy = page.evaluate(_KERNEL_STATE)[0]
                buttons.first.click()
                seconds = _wait_response(page, widget, before, busy, 300)
                proven.add(("button", 0))
                how += " + button"
            assert seconds is not None, f"{name}: {prefix}changing {kind} {i} did not change the widget's output"
            timings.append((prefix + how, seconds))
            driven += 1
    return driven


@pytest.mark.parametrize("name", widget_chapters())
def test_widgets_respond_in_jupyterlab(lab, name):
    from playwright.sync_api import sync_playwright

    url, token, folder = lab
    smoke_notebook(name, folder)
    timings, errors, off_machine = [], [], []
    t0 = time.perf_counter()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = None
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("response", lambda r: errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)

            def route(r):
                host = r.request.url.split("/")[2] if "://" in r.request.url else ""
                if host.split(":")[0] in ("127.0.0.1", "localhost", ""):
                    return r.continue_()
                off_machine.append(r.request.url)
                return r.abort()

            page.route("**/*", route)
            page.goto(f"{url}/lab/tree/{name}.ipynb?reset&token={token}", wait_until="domcontentloaded")  # reset: only this notebook
            page.wait_for_function("() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                                   " return w && w.sessionContext && w.sessionContext.session"
                                   " && w.sessionContext.session.kernel && w.content && w.content.widgets.length > 0; }",
                                   timeout=120_000)
            page.evaluate(_WATCH_KERNEL)
            t_run = time.perf_counter()
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            # every code cell has run, or one failed (run-all stops there); and the kernel is idle
            page.wait_for_function(
                "() => { const w = window.__dmm.panel;"
                " const failed = w.node.querySelector(\".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']\");"
                " return (failed || w.content.widgets.every(c => c.model.type !== 'code' || c.model.executionCount !== null))"
                " && window.__dmm.busy > 0 && w.sessionContext.session.kernel.status === 'idle'; }",
                timeout=900_000, polling=500)
            run_s = time.perf_counter() - t_run
            tracebacks = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']")
            assert tracebacks.count() == 0, f"{name}: an error in an output: {tracebacks.first.inner_text()[:1500]}"
            # the widget cells (tagged skip-execution): each one's outermost widget, not a progress bar above
            n_cells = page.evaluate("() => window.__dmm.panel.content.widgets.filter(c => "
                                    "(c.model.getMetadata('tags') || []).includes('skip-execution'))"
                                    ".map((c, i) => c.node.setAttribute('data-dmm-widget', i)).length")
            assert n_cells > 0, f"{name}: no cell tagged skip-execution in the notebook"
            for cell in range(n_cells):
                widget = page.locator(f"[data-dmm-widget='{cell}'] .jp-OutputArea-output .jupyter-widgets.widget-container").first
                widget.wait_for(state="attached", timeout=60_000)
                widget.scroll_into_view_if_needed()
                driven = _drive(page, widget, name, cell, timings)
                assert driven, (f"{name}: widget cell {cell} has no control that could be driven: "
                                f"{widget.evaluate('el => el.className')} | {widget.inner_text()[:500]}")
            assert tracebacks.count() == 0, f"{name}: an error after a change: {tracebacks.first.inner_text()[:1500]}"
        finally:
            if page is not None:  # free the kernel's memory before the next chapter (the server's teardown
                with contextlib.suppress(Exception):  # shuts down any kernel left; do not hide the failure)
                    page.evaluate("() => window.__dmm && window.__dmm.panel.sessionContext.shutdown()")
            browser.close()
    assert not off_machine, f"{name}: requests leaving the machine: {off_machine[:5]}"
    # "Failed to load resource" names no URL; the failed response itself is in ``errors`` with it
    bad = [e for e in errors if "favicon" not in e and not e.startswith("Failed to load resource")]
    assert not bad, f"{name}: browser console errors: {bad[:5]}"
    assert timings, f"{name}: the widget has no control that could be driven"
    _record(name, timings, run_s, time.perf_counter() - t0)


def _record(name: str, timings: list, run_s: float, total_s: float) -> None:
    """Store this chapter's response times in benchmarks/results/widgets.json and rewrite the table."""
    import platform

    RESULTS.mkdir(parents=True, exist_ok=True)
    store = RESULTS / "widgets.json"
    data = json.loads(store.read_text()) if store.exists() else {}
    data[name] = {"controls": [{"control": c, "seconds": round(s, 2)} for c, s in timings],
                  "run_all_s": round(run_s, 1), "test_s": round(total_s, 1),
                  "measured": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} cores"}
    store.write_text(json.dumps(data, indent=1))
    lines = ["## Widgets in JupyterLab: response times", "",
             "Measured by `tests/test_jupyterlab.py` (Chromium driving JupyterLab, chapters in `smoke`): seconds from a "
             "change of a control until the kernel has redrawn the widget's output (the first picture of a setting; "
             "revisited ones are kept). Goal: under 1 s for 2D pictures, 3 s for 3D. \"+ button\": a setting that "
             "applies when its button (\"train\") is pressed, timed with the computation it starts.", "",
             "| chapter | control | seconds | chapter run (s) | test (s) | measured |",
             "| --- | --- | ---: | ---: | ---: | --- |"]
    for chapter, row in sorted(data.items()):
        for c in row["controls"]:
            lines.append(f"| {chapter} | {c['control']} | {c['seconds']:.2f} | {row.get('run_all_s', '')} | "
                         f"{row.get('test_s', '')} | {row['measured']}, {row['machine']} |")
    (RESULTS / "widgets.md").write_text("\n".join(lines) + "\n")
