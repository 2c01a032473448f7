"""tools/book.py on a throwaway one-chapter book: validation, incremental execution, atomic output,
the parameters a page ran with, the claims ledger, the cost guard and stale temporary folders."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from dmmlib import params
from dmmlib.claims import Criterion, Estimate, claim, to_json
from tests.chapter_runner import book, read_glued

CHAPTER = """---
jupytext:
  text_representation: {extension: .md, format_name: myst}
kernelspec: {display_name: Python 3, language: python, name: python3}
---
# Tiny

Intro.

```{code-cell} ipython3
:tags: [parameters]
profile = "quick"
n = None
seeds = None
digits = None
```

```{code-cell} ipython3
import time
from myst_nb import glue
n_value = {"smoke": 2, "quick": 3, "paper": 4}[profile] if n is None else n
assert n_value >= 0, "n must be non-negative"
time.sleep(max(0, n_value - 100))  # n > 100: a slow chapter (for the interruption test)
glue("square", n_value ** 2, display=False)
glue("digits", digits, display=False)
```
"""
TOC = """format: jb-book
root: intro
parts:
  - caption: Part
    chapters:
      - file: chapters/tiny
      - file: reproducibility
"""


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    root = tmp_path / "book"
    (root / "chapters").mkdir(parents=True)
    # isolated from other people's edits of dmmlib and from the shared data while a test runs
    monkeypatch.setattr(book, "code_version", lambda modules: "fixed")
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("DMM_DATA", str(tmp_path / "data"))
    (root / "_toc.yml").write_text(TOC)
    (root / "chapters" / "tiny.md").write_text(CHAPTER)
    monkeypatch.setitem(params.PROFILES, "tiny", {
        "smoke": {"n": 2, "seeds": 1, "digits": [2, 3]}, "quick": {"n": 3, "seeds": 3, "digits": [2, 3]},
        "paper": {"n": 4, "seeds": 10, "digits": [2, 3]},
        "ranges": {"n": (-5, 1000), "seeds": (1, 100000), "digits": (0, 9)}})
    return book.Book(root)


def test_toc_is_read_as_yaml(tiny):
    assert tiny.chapter_names() == ["tiny"]


@pytest.mark.slow  # executes the tiny chapter with papermill (seconds each)
def test_executes_glues_and_skips_when_up_to_date(tiny):
    ran = tiny.execute(["tiny"], "smoke", {"n": 5})
    assert set(ran) == {"tiny"}
    out = tiny.executed_path("tiny", "smoke")
    assert read_glued(out)["square"] == 25
    stamp = json.loads(out.with_suffix(".stamp.json").read_text())
    assert stamp["profile"] == "smoke" and stamp["seconds"] > 0 and stamp["overrides"] == {"n": 5}
    assert tiny.execute(["tiny"], "smoke", {"n": 5}) == {}, "unchanged chapter must not run again"
    assert set(tiny.execute(["tiny"], "smoke", {"n": 6})) == {"tiny"}, "new parameters must re-run"
    (tiny.chapters / "tiny.md").write_text(CHAPTER + "\nMore prose.\n")
    assert set(tiny.execute(["tiny"], "smoke", {"n": 6})) == {"tiny"}, "changed source must re-run"


@pytest.mark.slow  # executes the tiny chapter with papermill (seconds each)
def test_changed_data_reruns(tiny, tmp_path):
    data = tmp_path / "data"
    tiny.execute(["tiny"], "smoke", {})
    assert tiny.execute(["tiny"], "smoke", {}) == {}
    (data / "labels.bin").write_bytes(b"\x01\x02")
    assert set(tiny.execute(["tiny"], "smoke", {})) == {"tiny"}, "changed data must re-run"


@pytest.mark.slow  # executes the tiny chapter with papermill (seconds each)
def test_build_keeps_the_parameters_of_the_last_chapter_run(tiny, monkeypatch, tmp_path):
    """make chapter ... PARAMS=... then make book: the chapter is not re-run with the defaults."""
    (tmp_path / "site").mkdir()
    monkeypatch.setattr(book.Book, "stage", lambda self, profile: tmp_path / "site")  # no Sphinx here
    monkeypatch.setattr(book.subprocess, "run", lambda *a, **k: None)
    tiny.execute(["tiny"], "smoke", {"n": 7})
    ran = []
    original = book.Book._run_papermill
    monkeypatch.setattr(book.Book, "_run_papermill", lambda self, *a: ran.append(a[2]) or original(self, *a))
    tiny.build("smoke")
    assert ran == [], "an up-to-date chapter run with PARAMS must be kept by build"
    assert read_glued(tiny.executed_path("tiny", "smoke"))["square"] == 49
    (tiny.chapters / "tiny.md").write_text(CHAPTER + "\nMore prose.\n")
    tiny.build("smoke")
    assert ran == [{"n": 7}], "a changed chapter re-runs with the parameters of its last run"
    tiny.build("smoke", defaults=True)
    assert ran == [{"n": 7}, {}] and read_glued(tiny.executed_path("tiny", "smoke"))["square"] == 4


@pytest.mark.slow  # executes the tiny chapter with papermill (seconds each)
def test_page_says_which_parameters_it_ran_with(tiny):
    tiny.execute(["tiny"], "smoke", {"n": 5, "digits": [1, 7]})
    nb = json.loads(book.for_static_site(tiny.executed_path("tiny", "smoke").read_bytes(),
                                         tiny.record("tiny", "smoke")))
    md = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    assert md[0].startswith("# Tiny"), "the note comes after the title"
    assert "profile `smoke`" in md[1] and "digits=[1, 7]; n=5" in md[1]
    nb = json.loads(book.for_static_site(tiny.executed_path("tiny", "smoke").read_bytes(),
                                         tiny.record("tiny", "smoke"), paper="The `paper` profile fits."))
    assert "The `paper` profile fits." in "".join(nb["cells"][1]["source"])
    table = tiny.chapter_times_table("smoke")
    assert "| tiny | smoke | digits=[1, 7]; n=5 |" in table


@pytest.mark.parametrize("names, profile, overrides, message", [
    (["tiny"], "fast", {}, "unknown profile 'fast'"),
    (["tiny"], "smoke", {"m": 1}, "unknown parameter.*'m'"),
    (["tiny"], "smoke", {"n": "three"}, "'n'.*type int"),
    (["tiny"], "smoke", {"n": 5000}, r"'n'.*must lie in"),
    (["tiny"], "smoke", {"seeds": 100}, r"seeds=100 is 33.3x its quick value 3.*FORCE=1"),
    (["nope"], "smoke", {}, "unknown chapter 'nope'"),
])
def test_bad_input_fails_before_any_work(tiny, names, profile, overrides, message):
    with pytest.raises(params.ParameterError, match=message):
        tiny.execute(names, profile, overrides)
    assert not (tiny.root / "_build").exists()


def test_cost_guard_allows_moderate_values_and_refuses_large_ones(monkeypatch):
    quick = {"seeds": 3, "tol": 0.001, "n_lambdas": 13, "fig_epochs": [0, 10, 50], "train_size": 0,
             "n_images": {"mnist": 100, "cifar10": 16}}
    monkeypatch.setitem(params.PROFILES, "costly", {"smoke": quick, "quick": quick, "paper": {**quick, "seeds": 30}, "ranges": {}})
    assert book.cost_check("costly", "quick", {"seeds": 12}) == {"seeds": 4.0}
    assert book.cost_check("costly", "quick", {"tol": 1.0}) == {}, "tol does not scale the cost"
    assert book.cost_check("costly", "quick", {"train_size": 60000}) == {}, "quick value 0 (all) is not checked"
    assert book.cost_check("costly", "paper", {}) == {}, "a profile itself is not refused"
    with pytest.raises(book.CostError, match=r"n_lambdas=100 is 7.69x"):
        book.cost_check("costly", "quick", {"n_lambdas": 100})
    with pytest.raises(book.CostError, match=r"fig_epochs=.* is 10x"):
        book.cost_check("costly", "quick", {"fig_epochs": [0, 500]})
    with pytest.raises(book.CostError, match=r"n_images=.* is 10x"):
        book.cost_check("costly", "quick", {"n_images": {"mnist": 1000, "cifar10": 16}})


@pytest.mark.slow  # executes the tiny chapter with papermill (seconds each)
def test_forced_costly_run_executes(tiny):
    assert set(tiny.execute(["tiny"], "smoke", {"seeds": 100}, force=True)) == {"tiny"}


@pytest.mark.slow  # executes the tiny chapter with papermill (seconds each)
def test_failing_chapter_leaves_the_previous_output(tiny):
    import papermill

    tiny.execute(["tiny"], "smoke", {})
    before = tiny.executed_path("tiny", "smoke").read_bytes()
    with pytest.raises(papermill.PapermillExecutionError, match="n must be non-negative"):
        tiny.execute(["tiny"], "smoke", {"n": -1})
    assert tiny.executed_path("tiny", "smoke").read_bytes() == before
    assert not list(tiny.executed_path("tiny", "smoke").parent.glob("tmp*")), "no half-written files"


def test_stale_temporary_folders_are_removed(tiny):
    folder = tiny.executed_path("tiny", "smoke").parent
    dead = folder / "tmpdead"
    dead.mkdir(parents=True)
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (dead / book.OWNER).write_text(proc.stdout.strip())  # a process that has exited
    live = folder / "tmplive"
    live.mkdir()
    (live / book.OWNER).write_text(str(os.getpid()))  # a concurrent run still going
    fresh = folder / "tmpfresh"
    fresh.mkdir()  # just created, owner not written yet
    removed = tiny.clean_stale("smoke")
    assert removed == [dead] and live.exists() and fresh.exists()


@pytest.mark.slow  # executes the tiny chapter with papermill (seconds each)
def test_sigterm_is_handled_like_ctrl_c(tiny, tmp_path):
    """SIGTERM during a run: exit 130, no temporary folder left, the previous output kept."""
    tiny.execute(["tiny"], "smoke", {})
    before = tiny.executed_path("tiny", "smoke").read_bytes()
    script = (f"import sys; sys.path.insert(0, {str(book.ROOT)!r}); sys.path.insert(0, {str(book.ROOT / 'tools')!r})\n"
              "from dmmlib import params\n"
              "params.PROFILES['tiny'] = {'smoke': {'n': 2, 'seeds': 1, 'digits': [2, 3]}, "
              "'quick': {'n': 3, 'seeds': 3, 'digits': [2, 3]}, 'paper': {'n': 4, 'seeds': 3, 'digits': [2, 3]}, "
              "'ranges': {'n': (-5, 1000)}}\n"
              "import book\n"
              f"sys.exit(book.main(['--root', {str(tiny.root)!r}, 'execute', '--chapter', 'tiny', '--profile', 'smoke', "
              "'--param', 'n=400']))\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    folder = tiny.executed_path("tiny", "smoke").parent
    deadline = time.time() + 60
    while time.time() < deadline and not list(folder.glob("tmp*/*.out.ipynb")) and proc.poll() is None:
        time.sleep(0.5)
    time.sleep(3)  # inside the slow cell
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    assert "Traceback" not in out and "ZMQError" not in out, out  # one line, not the kernel's noise
    log = tiny.log_path("tiny", "smoke")
    assert f"[book] interrupted; the previous output is kept (traceback: {log})" in out
    assert "KeyboardInterrupt" in log.read_text()
    assert not list(folder.glob("tmp*")), "the temporary folder must be removed"
    assert tiny.executed_path("tiny", "smoke").read_bytes() == before


def test_ledger_follows_the_glued_claims(tiny, tmp_path):
    def notebook(value):
        c = claim("tiny.big", "the value is large", kind="extension", source="DMM §1",
                  ours=Estimate(value, value - 0.1, value + 0.1, 3, "seeds"),
                  criterion=Criterion(">", 1.0, meaning="larger than one"), scale="smoke")
        text = to_json([c])
        nb = {"cells": [{"cell_type": "code", "outputs": [{
            "output_type": "display_data", "metadata": {"scrapbook": {"name": "claims", "mime_prefix": ""}},
            "data": {"text/plain": repr(text)}}]}]}
        path = tmp_path / f"nb{value}.ipynb"
        path.write_text(json.dumps(nb))
        return path

    empty = tmp_path / "empty.ipynb"
    empty.write_text(json.dumps({"cells": [{"cell_type": "markdown", "source": "x"}]}))
    above = book.ledger([notebook(2.0), empty])
    assert "the value is large" in above and "<b>supports</b>" in above and "1 claims from 1 chapters" in above
    below = book.ledger([notebook(0.5), empty])
    assert "<b>contradicts</b>" in below and "<b>supports</b>" not in below
    assert "No chapter has recorded claims" in book.ledger([empty])


@pytest.mark.slow  # executes the tiny chapter with papermill (seconds each)
def test_ledger_reads_a_real_executed_chapter(tiny):
    page = CHAPTER + """
```{code-cell} ipython3
from dmmlib.claims import Criterion, Estimate, claim, glue_claims
glue_claims([claim("tiny.sq", "the square is large", kind="extension", source="test", scale=profile,
                   ours=Estimate(n_value ** 2, n_value ** 2 - 1, n_value ** 2 + 1, 1),
                   criterion=Criterion(">", 10.0))])
```
"""
    (tiny.chapters / "tiny.md").write_text(page)
    tiny.execute(["tiny"], "smoke", {"n": 5})
    assert "<b>supports</b>" in book.ledger([tiny.executed_path("tiny", "smoke")])
    tiny.execute(["tiny"], "smoke", {"n": 2})
    assert "<b>contradicts</b>" in book.ledger([tiny.executed_path("tiny", "smoke")])


def test_params_with_blanks_are_split_safely():
    assert book.split_params("seeds=5 width=2000") == ["seeds=5", "width=2000"]
    assert book.split_params("digits=[1, 7] seeds=5") == ["digits=[1, 7]", "seeds=5"]
    assert book.split_params("digits=[1, 7]; name=a b") == ["digits=[1, 7]", "name=a b"]
    assert book.split_params("") == []


def test_command_line_reports_bad_parameters(tiny, capsys):
    assert book.main(["execute", "--chapter", "tiny", "--profile", "smoke", "--param", "n=x"], book=tiny) == 2
    assert "'n'" in capsys.readouterr().err
    assert book.main(["execute", "--chapter", "tiny", "--profile", "smoke", "--params", "seeds=1000"], book=tiny) == 2
    assert "FORCE=1" in capsys.readouterr().err


@pytest.mark.slow  # executes the tiny chapter with papermill (seconds each)
def test_command_line_params_with_blanks(tiny, capsys):
    assert book.main(["execute", "--chapter", "tiny", "--profile", "smoke", "--params", "digits=[1, 7]; n=3"],
                     book=tiny) == 0
    assert read_glued(tiny.executed_path("tiny", "smoke"))["digits"] == [1, 7]
    out = capsys.readouterr().out
    assert "done in" in out and str(tiny.executed_path("tiny", "smoke")) in out


def test_smoke_site_goes_to_its_own_folder(tiny):
    assert tiny.default_output("quick") == tiny.root
    assert tiny.default_output("smoke") == tiny.root / "_build" / "smoke"


def test_thread_verdict_check_lists_differing_verdicts():
    sys.path.insert(0, str(book.ROOT / "benchmarks"))
    import bench_thread_verdicts as tv

    def c(value):  # a claim as a worker process returns it: its verdict and value
        cl = claim("ch.x", "x is large", kind="extension", source="s", scale="quick", ours=Estimate(value, value - 0.1, value + 0.1, 3),
                   criterion=Criterion(">", 1.0))
        return {"verdict": cl.verdict, "ours": cl.ours.text()}

    same = {1: {"ch": {"ch.x": c(2.0)}}, 2: {"ch": {"ch.x": c(2.05)}}}
    rows, differ, failed = tv.compare(same, ["ch"])
    assert differ == [] and failed == [] and rows[0]["same"]
    flips = {1: {"ch": {"ch.x": c(2.0)}}, 2: {"ch": {"ch.x": c(0.5)}}}
    rows, differ, failed = tv.compare(flips, ["ch"])
    assert differ == ["ch.x"]
    text = tv.markdown(rows, differ, failed, [1, 2], "quick", ["ch"], 60.0)
    assert "1 verdict(s) differ" in text and "supports: 2.00 [1.90, 2.10]" in text and "contradicts" in text
    _, _, failed = tv.compare({1: {"ch": "RuntimeError: boom"}, 2: {"ch": {}}}, ["ch"])
    assert failed == ["ch (1 thread(s)): RuntimeError: boom"]


def test_thread_verdict_check_merges_a_rerun_chapter(tmp_path):
    sys.path.insert(0, str(book.ROOT / "benchmarks"))
    import bench_thread_verdicts as tv

    def row(chapter, same):
        return {"id": f"{chapter}.x", "chapter": chapter, "same": same}

    store = tmp_path / "tv.json"
    store.write_text(json.dumps({"chapters": ["a", "b"], "seconds": 60.0, "failed": ["b (2 thread(s)): boom"],
                                 "rows": [row("a", True), row("b", True)]}))
    rows, differ, failed, runs, names = tv.merged(store, [row("b", False)], ["b.x"], [],
                                                  [{"chapters": ["b"], "seconds": 6.0, "finished": "now"}], ["b"])
    assert [r["chapter"] for r in rows] == ["a", "b"] and differ == ["b.x"] and failed == []
    assert names == ["a", "b"] and [r["seconds"] for r in runs] == [60.0, 6.0]


def test_glued_numpy_scalars_become_plain_numbers_on_the_site():
    nb = {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "display_data", "data": {"application/papermill.record/text/plain": "np.float64(30.5)"},
         "metadata": {"scrapbook": {"name": "x", "mime_prefix": "application/papermill.record/"}}},
        {"output_type": "execute_result", "metadata": {}, "data": {"text/plain": "np.float64(1.0)"}}]}]}
    outs = json.loads(book.for_static_site(json.dumps(nb).encode()))["cells"][0]["outputs"]
    assert outs[0]["data"]["application/papermill.record/text/plain"] == "30.5"  # glued: formatted by {glue:text}
    assert outs[1]["data"]["text/plain"] == "np.float64(1.0)"  # not glued: left as printed


# --- issue 25: a chapter page opens with its findings; its parameters are folded, out of the way ------

def _executed_tiny(claims_json: str) -> dict:
    """A tiny executed notebook as papermill leaves it: title and prose, the parameters cell, the
    injected parameters, and a cell that glued the claims."""
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "id": "t", "metadata": {}, "source": "# Tiny\n\nWhy this chapter asks its question.\n"},
        {"cell_type": "code", "id": "p", "metadata": {"tags": ["parameters"]}, "outputs": [],
         "source": "profile = 'quick'\nn = None"},
        {"cell_type": "code", "id": "i", "metadata": {"tags": ["injected-parameters"]}, "outputs": [],
         "source": "# Parameters\nprofile = 'smoke'\nn = 5\n"},
        {"cell_type": "code", "id": "g", "metadata": {}, "source": "glue_claims(C)", "outputs": [{
            "output_type": "display_data", "data": {"application/papermill.record/text/plain": repr(claims_json)},
            "metadata": {"scrapbook": {"name": "claims", "mime_prefix": "application/papermill.record/"}}}]},
        {"cell_type": "markdown", "id": "s", "metadata": {}, "source": "(sec-big)=\n## The value\n"}]}


def test_static_page_opens_with_title_run_note_parameters_and_findings(tiny):
    params.PROFILES["tiny"]["docs"] = {"n": "how many things, in units of things", "seeds": "training seeds"}
    claims = [claim("tiny.big", "the value is large", kind="extension", source="test", section="sec-big",
                    ours=Estimate(25.0, 24.0, 26.0, 3, "seeds"), criterion=Criterion(">", 10.0), scale="smoke"),
              claim("tiny.small", "the value is small", kind="extension", source="test", scale="smoke",
                    ours=Estimate(25.0, 24.0, 26.0, 3, "seeds"), criterion=Criterion("<", 10.0))]
    record = {"profile": "smoke", "overrides": {"n": 5, "digits": [1, 7]}, "seconds": 3.0, "threads": 1,
              "finished": "2026-01-01 00:00:00 UTC"}
    nb = json.loads(book.for_static_site(json.dumps(_executed_tiny(to_json(claims))).encode(), record, chapter="tiny"))
    cells = nb["cells"]
    md = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    # the title alone, then the run note, the parameters folded, the findings, and the prose under a heading
    assert md[0].strip() == "# Tiny" and cells[0]["id"] == "t"
    assert md[1].startswith("```{admonition} This run") and "profile `smoke`" in md[1]
    assert md[2].startswith('<details class="dmm-details dmm-run-parameters"><summary>') and "<table>" in md[2]
    assert "\n\n" not in md[2].strip(), "a blank line would end the raw HTML block"
    assert md[3].startswith("## What this chapter finds\n")
    assert "tests 2 claims: 1 holds and 1 fails" in md[3] and '<a href="#sec-big">the value is large</a>' in md[3]
    assert md[4] == "## The question\n\nWhy this chapter asks its question.\n"
    assert [m.split("\n")[0] for m in md].index("## What this chapter finds") == 3
    assert len({c["id"] for c in cells}) == len(cells), "cell ids stay unique"
    # the parameters: one row per knob with the value used, the profile's value and the meaning
    rows = re.findall(r"<tr( class=\"dmm-set\")?><td><code>(\w+)</code></td><td>([^<]*)</td><td>([^<]*)</td>"
                      r"<td>([^<]*)</td></tr>", md[2])
    assert rows == [(' class="dmm-set"', "n", "5", "2", "how many things, in units of things"),
                    ("", "seeds", "1", "1", "training seeds"),
                    (' class="dmm-set"', "digits", "1, 7", "2, 3", "")]
    assert "2 of 3 set for this run" in md[2] and "{'" not in md[2] and "mappingproxy" not in md[2]
    # the parameter cells stay in the notebook, tagged to be removed from the page
    tags = {c["id"]: c["metadata"].get("tags", []) for c in cells}
    assert tags["p"] == ["parameters", "remove-cell"] and tags["i"] == ["injected-parameters", "remove-cell"]
    assert "remove-cell" not in tags["g"]


def test_static_page_without_claims_or_record_still_opens_with_findings():
    nb = _executed_tiny("[]")
    nb["cells"][3]["outputs"] = []
    out = json.loads(book.for_static_site(json.dumps(nb).encode()))
    md = ["".join(c["source"]) for c in out["cells"] if c["cell_type"] == "markdown"]
    assert md[0].strip() == "# Tiny" and md[1].startswith("## What this chapter finds\n\nThis run recorded no claims")
    assert md[2].startswith("## The question")


# --- issue 31: one line for every bad input, interrupt and failure; the site alone; stale tables ----

TINY_PROFILES = ("{'smoke': {'n': 2, 'seeds': 1, 'digits': [2, 3]}, 'quick': {'n': 3, 'seeds': 3, 'digits': [2, 3]}, "
                 "'paper': {'n': 4, 'seeds': 3, 'digits': [2, 3]}, 'ranges': {'n': (-5, 1000), 'digits': (0, 9)}, "
                 "'choices': {}, 'data': [], "
                 "'constraints': [('digits: two distinct digits', lambda P: len(set(P['digits'])) == len(P['digits']) == 2)]}")
CHECKED_CHAPTER = CHAPTER.replace('''```{code-cell} ipython3
import time''', f'''```{{code-cell}} ipython3
from dmmlib import params
params.PROFILES["tiny"] = {TINY_PROFILES}  # the test chapter registers itself in the kernel
P = params.from_namespace("tiny", globals())
```

```{{code-cell}} ipython3
import time''')


@pytest.mark.parametrize("argv, message", [
    (["--params", "profile=paper"], "'profile' is not one of chapter 'tiny''s parameters"),
    (["--params", "seeds=2 seeds=3"], "'seeds' is given twice"),
    (["--params", "digits=[1, 2, 3]"], "two distinct digits"),
])
def test_command_line_refuses_in_one_line(tiny, capsys, argv, message, monkeypatch):
    monkeypatch.setitem(params.PROFILES["tiny"], "constraints",
                        [("digits: two distinct digits", lambda P: len(set(P["digits"])) == len(P["digits"]) == 2)])
    assert book.main(["execute", "--chapter", "tiny", "--profile", "smoke", *argv], book=tiny) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tiny.root / "_build").exists()


def test_missing_data_is_refused_before_work(tiny, capsys, monkeypatch):
    monkeypatch.setitem(params.PROFILES["tiny"], "data", ["mnist/t10k-images-idx3-ubyte.gz"])
    assert book.main(["execute", "--chapter", "tiny", "--profile", "smoke"], book=tiny) == 2
    err = capsys.readouterr().err
    assert "chapter 'tiny' needs mnist/t10k-images-idx3-ubyte.gz in DMM_DATA=" in err and err.count("\n") == 1
    assert not (tiny.root / "_build").exists()


@pytest.mark.slow  # papermill on the tiny chapter, as README shows it
def test_papermill_route_refuses_a_misspelled_name(tiny, tmp_path):
    (tiny.chapters / "tiny.md").write_text(CHECKED_CHAPTER)
    bin_ = os.path.dirname(sys.executable)
    nb = tmp_path / "ch.ipynb"
    subprocess.run([os.path.join(bin_, "jupytext"), "--to", "ipynb", "-o", str(nb), str(tiny.chapters / "tiny.md")],
                   check=True, capture_output=True)
    env = {**os.environ, "PYTHONPATH": str(book.ROOT)}
    run = subprocess.run([os.path.join(bin_, "papermill"), str(nb), str(tmp_path / "out.ipynb"), "-p", "profile", "smoke",
                          "-p", "seedz", "2"], capture_output=True, text=True, env=env, cwd=str(tiny.chapters))
    assert run.returncode != 0
    assert "unknown parameter(s) 'seedz' for chapter 'tiny' (injected by papermill)" in run.stdout + run.stderr
    ok = subprocess.run([os.path.join(bin_, "papermill"), str(nb), str(tmp_path / "out.ipynb"), "-p", "profile", "smoke",
                         "-p", "seeds", "2"], capture_output=True, text=True, env=env, cwd=str(tiny.chapters))
    assert ok.returncode == 0, ok.stderr[-2000:]


@pytest.mark.slow  # executes the tiny chapter with papermill
def test_a_failing_cell_is_one_line_naming_the_log(tiny, capsys):
    assert book.main(["execute", "--chapter", "tiny", "--profile", "smoke", "--param", "n=-1"], book=tiny) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    log = tiny.log_path("tiny", "smoke")
    assert err.startswith("error: chapter 'tiny' failed in cell") and "n must be non-negative" in err and str(log) in err
    assert "AssertionError" in log.read_text() and "Traceback" in log.read_text()


def test_site_builds_only_from_executed_notebooks(tiny, monkeypatch, capsys):
    monkeypatch.setattr(book.Book, "_run_papermill", lambda *a: pytest.fail("site must execute nothing"))
    assert book.main(["site", "--profile", "smoke"], book=tiny) == 2
    err = capsys.readouterr().err
    assert "not executed for profile 'smoke': tiny" in err and "make chapter NAME=tiny PROFILE=smoke" in err
    out = tiny.executed_path("tiny", "smoke")
    out.parent.mkdir(parents=True)
    out.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    built = []
    monkeypatch.setattr(book.Book, "_jupyter_book", lambda self, profile, output=None: built.append(profile) or output)
    assert book.main(["site", "--profile", "smoke"], book=tiny) == 0
    assert built == ["smoke"]
    assert "tiny: its page, dmmlib code or data changed since this run" in capsys.readouterr().out  # no stamp: stale


def test_benchmark_tables_are_marked_stale_when_their_code_changed(tmp_path):
    sys.path.insert(0, str(book.ROOT / "benchmarks"))
    import common

    common.write_results(tmp_path / "fresh", {"x": 1}, "### Fresh\n\n| a |\n| --- |\n| 1 |", code=("dmmlib.stats",))
    common.write_results(tmp_path / "old", {"x": 1}, "### Old\n\n| a |", code=("dmmlib.stats",))
    stored = json.loads((tmp_path / "old.json").read_text())
    assert stored["code"]["modules"] == ["dmmlib.stats"] and len(stored["code"]["version"]) == 16
    stored["code"]["version"] = "0" * 16  # measured on other code
    (tmp_path / "old.json").write_text(json.dumps(stored))
    (tmp_path / "legacy.md").write_text("### Legacy\n\n| a |")
    (tmp_path / "legacy.json").write_text(json.dumps({"x": 1}))
    text = book.benchmark_tables(tmp_path)
    fresh, legacy, old = text.split("### ")[1:]
    assert "stale" not in fresh.lower() and "{warning}" not in fresh
    assert old.startswith("Old\n\n```{warning}\nStale: this table measured `dmmlib.stats`") and "make bench" in old
    assert "does not record the version of the code" in legacy


def test_the_dry_run_table_records_its_memory_cap_and_code_per_row(tmp_path):
    sys.path.insert(0, str(book.ROOT / "tools"))
    import dry_run

    class Args:
        memory_gb, gpu_tflops = 16.0, 60.0

    row = {"chapter": "a", "ok": True, "error": "", "extra": {}, "loops": {}, "t1_s": 1.0, "t2_s": 1.0, "peak_rss_gb": 1.0,
           "cpu_hours": [0.1, 0.1], "gpu_hours": [0.01, 0.01], "cpu_gflops": 50.0, "memory_gb": 16.0, "code": dry_run._code()}
    old = {**row, "chapter": "b", "code": "0" * 16, "memory_gb": 20.0}
    dry_run.write_results([row, old], 50.0, Args, "test machine", tmp_path)
    md = (tmp_path / "paper_dry_run.md").read_text()
    assert "capped at 16 GB and 20 GB" in md
    assert "| a | ok |" in md and "| b | ok (older code) |" in md
    assert json.loads((tmp_path / "paper_dry_run.json").read_text())["code"]["version"] == "mixed"


def test_an_edited_stylesheet_replaces_its_built_copy(tmp_path):
    """Sphinx 7.4 never overwrites a static file in the output: the tool drops stale copies first."""
    source, built = tmp_path / "site" / "_static", tmp_path / "html" / "_static"
    source.mkdir(parents=True), built.mkdir(parents=True)
    (source / "tables.css").write_text("new")
    (source / "same.js").write_text("same")
    (built / "tables.css").write_text("old")
    (built / "same.js").write_text("same")
    (built / "basic.css").write_text("sphinx's own")
    assert book._drop_stale_static(source, built)
    assert not (built / "tables.css").exists() and (built / "same.js").exists() and (built / "basic.css").exists()
    (built / "tables.css").write_text("new")
    assert not book._drop_stale_static(source, built)  # all up to date: no full rebuild
