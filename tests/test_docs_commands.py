"""README's and `make help`'s commands work as written (issue 31): the cheap ones are run, the
others are checked with `make -n` or their argument parser."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV_PY = ROOT / ".venv" / "bin" / "python"
needs_venv = pytest.mark.skipif(not VENV_PY.exists(), reason="no .venv (make creates it)")


def make(*args, env=None):
    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


def phony_targets() -> set[str]:
    line = next(line for line in (ROOT / "Makefile").read_text().splitlines() if line.startswith(".PHONY:"))
    return set(line.split(":", 1)[1].split())


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_make_help_names_every_target_in_whole_sentences():
    out = make("help").stdout
    for target in phony_targets() - {"help"}:
        assert re.search(rf"^make {re.escape(target)}\b", out, re.MULTILINE), f"make help omits {target}"
    assert "site" in phony_targets()
    entries = re.split(r"^(?=make )", out, flags=re.MULTILINE)
    for entry in filter(None, entries):  # each entry's text ends its sentence (none cut at "the profile's")
        last = entry.rstrip().split()[-1]
        assert last not in ("the", "a", "profile's", "with", "of", "and", "or"), entry


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_dry_runs_and_bench_need_no_mathjax():
    for args in (["-n", "book", "PROFILE=paper", "DRY_RUN=1"], ["-n", "dry-run"], ["-n", "bench"]):
        out = make(*args)
        assert out.returncode == 0, out.stderr
        assert "npm" not in out.stdout and "mathjax" not in out.stdout.lower(), (args, out.stdout)


@needs_venv
@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_a_dry_run_with_another_profile_is_refused_in_one_line():
    out = make("book", "PROFILE=smoke", "DRY_RUN=1")
    assert out.returncode == 2
    assert out.stderr.splitlines()[0] == ("error: a dry run is of the paper profile; PROFILE=smoke is not "
                                          "(drop PROFILE or say PROFILE=paper)")
    assert "Traceback" not in out.stdout + out.stderr


@needs_venv
@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_dry_run_of_an_unknown_chapter_is_one_line_and_status_2():
    out = make("dry-run", "NAME=nosuch")
    assert out.returncode == 2
    errors = [line for line in out.stderr.splitlines() if not re.match(r"make(\[\d+\])?:", line)]
    assert len(errors) == 1 and errors[0].startswith("error: unknown chapter 'nosuch'; chapters: "), out.stderr
    tool = subprocess.run([str(VENV_PY), "tools/dry_run.py", "--chapter", "nosuch"], cwd=ROOT, capture_output=True, text=True)
    assert tool.returncode == 2 and tool.stderr.count("\n") == 1


@needs_venv
def test_readme_commands_run_as_written(tmp_path):
    readme = (ROOT / "README.md").read_text()
    assert "`.venv/bin/python tools/book.py list`" in readme and "`tools/book.py list`" in readme
    for cmd in (["tools/book.py", "list"], [str(VENV_PY), "tools/book.py", "list"], [sys.executable, "tools/book.py", "list"]):
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0 and "boundary_tilting" in out.stdout.split(), (cmd, out.stderr)
    assert "`.venv/bin/python tools/dry_run.py --reestimate`" in readme
    results = ROOT / "benchmarks" / "results"
    for f in ("paper_dry_run.json", "paper_dry_run.md"):
        shutil.copy(results / f, tmp_path / f)
    out = subprocess.run(["tools/dry_run.py", "--reestimate", "--results", str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "paper_dry_run.md").read_text().startswith("## The `paper` profile")


@needs_venv
def test_book_usage_text_offers_only_what_it_accepts():
    doc = subprocess.run([str(VENV_PY), "-c", "import sys; sys.path.insert(0, 'tools'); import book; print(book.__doc__)"],
                         cwd=ROOT, capture_output=True, text=True).stdout
    usage = [line.strip() for line in doc.splitlines() if line.strip().startswith("tools/book.py ")]
    assert {u.split()[1] for u in usage} == {"execute", "build", "site", "list"}
    for line in usage:
        command = line.split()[1]
        helptext = subprocess.run([str(VENV_PY), "tools/book.py", command, "--help"], cwd=ROOT, capture_output=True,
                                  text=True).stdout
        for option in re.findall(r"--[a-z-]+", line.split("#")[0]):
            assert option in helptext, f"book.py {command} does not accept {option}"
