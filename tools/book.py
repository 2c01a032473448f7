#!/usr/bin/env python3
"""Execute the book's chapters with papermill and build the static site with Jupyter Book.

    tools/book.py execute [--chapter NAME ...] [--profile quick] [--param k=v ...]
                          [--params "k=v; k2=[1, 2]"] [--force]
    tools/book.py build   [--profile quick] [--output DIR] [--defaults]
    tools/book.py site    [--profile quick] [--output DIR]     # the site only: executes nothing
    tools/book.py list

(``tools/book.py`` runs itself with the project's ``.venv/bin/python`` when started by another
Python that lacks the requirements; ``.venv/bin/python tools/book.py ...`` is the same.)

Layout under ``book/_build/<profile>/``:

- ``executed/chapters/<name>.ipynb``: the executed notebook, with ``<name>.stamp.json``
  beside it (the hash of the chapter's source, its profile and parameter overrides,
  dmmlib's code and the data's identity; the overrides themselves, the run time and the
  thread count). A chapter whose stamp matches is not executed again.
- ``site/``: the sources Jupyter Book reads: the book's pages with each chapter replaced
  by its executed notebook (opened, under its title, by a note saying which profile and
  parameters it ran with, those parameters folded in a table, and what the chapter finds,
  written from its claims; the parameter cells are removed from the page: :func:`for_static_site`),
  and ``_generated/`` (the claims ledger, the landing page's findings, the map of the papers,
  the chapter times, the benchmark tables). Files
  are copied only when their content changed, so Sphinx rebuilds only what changed.

The HTML goes to ``book/_build/html`` for the quick profile and to
``book/_build/<profile>/_build/html`` for the others (``--output DIR``: ``DIR/_build/html``),
so a smoke build never overwrites the quick site.

What the site shows (``make chapter`` then ``make book``): the last executed run of each
chapter. ``build`` executes only the chapters that are missing or whose source, dmmlib code
or data changed, each with the parameter overrides recorded in its own stamp (those of the
last ``make chapter ... PARAMS=...``), and every page says which profile and parameters it
ran with. ``build --defaults`` re-runs every chapter that ran with overrides with the
profile's own values.

``site`` stages the executed notebooks and runs Jupyter Book without executing anything (a
chapter that has never been executed is an error; one whose source, code or data changed
since its run is shown as it ran, with a note in the terminal).

Parameters are validated for every chapter before any chapter runs (:func:`dmmlib.params.validate`:
names, types, ranges, dict keys, allowed values, the chapter's constraints and its data files);
a parameter that scales
the cost (seeds, epochs, steps, sample and image counts, widths) set to more than
``COST_LIMIT`` times its quick value is refused unless ``--force``. An executed notebook is
written atomically, so a failed or interrupted run (Ctrl-C or SIGTERM) leaves the previous
one (or none) in place; temporary folders left by a killed run are removed by the next. An
interrupt or a failed cell prints one line naming the log file that keeps the full traceback
and the kernel's own messages (``book/_build/<profile>/logs/<chapter>.log``).

With ``RAY_ADDRESS`` set (``make book RAY_ADDRESS=local``, or the address of a Ray cluster)
``execute`` and ``build`` run the chapters to execute as Ray tasks (``tools/ray_build.py``:
the shared models first, then one task per chapter with the resources of its dry-run row);
each executed notebook comes back to this machine, is written atomically with its stamp,
and the site is built here (``book/cluster.md``). Ray is the optional extra ``cluster``.
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
PAGES = ("_config.yml", "_toc.yml", "references.bib", "*.md", "_static", "_ext/*.py")
CELL_TIMEOUT_S = 3600
COST_LIMIT = 4.0  # a cost-scaling knob may be at most this many times its quick value without --force
# knobs whose value scales a run's time or memory (matched against the knob's name)
COST_KNOB = re.compile(
    r"(^|_)(seeds|epochs|steps|iters?|samples|points|images|boot|width|hidden|grid|checkpoints|eval|lambdas|N)($|_)"
    r"|^n_|_per_(class|cell)$|_train_size$"
)
# the kernel's own log (not the cells' output): drops its "running over TCP without encryption"
# warning; the kernel only listens on 127.0.0.1 for this one run
KERNEL_ARGS = ["--IPKernelApp.log_level=ERROR"]
STALE_TMP_S = 6 * 3600  # an orphaned temporary file or owner-less folder older than this is removed


if __name__ == "__main__":
    from project_python import ensure  # tools/: the script's own folder

    ensure("papermill", "torch", "yaml")

sys.path.insert(0, str(ROOT))
from dmmlib import params  # noqa: E402
from dmmlib.cache import atomic_write_bytes, code_version  # noqa: E402

sys.path.insert(0, str(ROOT / "tools"))
from dry_run import paper_note  # noqa: E402


class CostError(params.ParameterError):
    """A parameter would make the run far more expensive than the quick profile."""


class ProgressEcho:
    """Echoes the progress bars a chapter's kernel writes to ``path`` (see dmmlib.progress) to
    the terminal while it runs: the latest state of the bars, at most every ``every`` seconds."""

    def __init__(self, path: Path, name: str, every: float = 10.0):
        import threading

        self.path, self.name, self.every = Path(path), name, every
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._offset, self._last = 0, ""

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._echo()

    def _run(self) -> None:
        while not self._done.wait(self.every):
            self._echo()

    def _echo(self) -> None:
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                new = f.read()
                self._offset = f.tell()
        except OSError:
            return
        states = [t.strip() for t in re.split(r"[\r\n]+", new.decode("utf-8", "replace")) if t.strip()]
        if states and states[-1] != self._last:
            self._last = states[-1]
            print(f"[book] {self.name}: {self._last}", file=sys.stderr, flush=True)


class Book:
    """One book: ``root`` holds ``_toc.yml``, ``chapters/<name>.md`` and the other pages;
    builds go to ``build_root`` (default ``root/_build``)."""

    def __init__(self, root: str | os.PathLike = BOOK, build_root: str | os.PathLike | None = None):
        self.root = Path(root).resolve()
        self.chapters = self.root / "chapters"
        self.build_root = Path(build_root).resolve() if build_root else self.root / "_build"
        self.current = None  # (chapter, log file) of the run in progress: where an error's traceback goes

    # --- layout -----------------------------------------------------------------------------
    def chapter_names(self) -> list[str]:
        """The chapters (``chapters/<name>`` entries) of ``_toc.yml``, in book order."""
        import yaml

        toc = yaml.safe_load((self.root / "_toc.yml").read_text()) or {}
        names: list[str] = []

        def walk(node):
            if isinstance(node, dict):
                f = node.get("file")
                if isinstance(f, str) and f.startswith("chapters/"):
                    names.append(Path(f).with_suffix("").name if f.endswith(".md") else f.removeprefix("chapters/"))
                for key in ("parts", "chapters", "sections"):
                    walk(node.get(key))
            elif isinstance(node, list):
                for item in node:
                    walk(item)

        walk(toc)
        return names

    def build_dir(self, profile: str) -> Path:
        return self.build_root / profile

    def executed_path(self, name: str, profile: str) -> Path:
        return self.build_dir(profile) / "executed" / "chapters" / f"{name}.ipynb"

    def default_output(self, profile: str) -> Path:
        """Where ``build`` puts Jupyter Book's output (the HTML in ``<it>/_build/html``)."""
        return self.root if profile == "quick" else self.build_dir(profile)

    def log_path(self, name: str, profile: str) -> Path:
        """The log of the chapter's last run: the kernel's own messages, and the full traceback
        of an interrupt or a failed cell."""
        return self.build_dir(profile) / "logs" / f"{name}.log"

    def record(self, name: str, profile: str) -> dict | None:
        """The stamp record of the chapter's last run, or None."""
        stamp = self.executed_path(name, profile).with_suffix(".stamp.json")
        try:
            return json.loads(stamp.read_text())
        except (OSError, ValueError):
            return None

    # --- execution ----------------------------------------------------------------------------
    def stamp_of(self, name: str, profile: str, overrides: dict) -> str:
        """Hash of what decides a chapter's output: its source, parameters, dmmlib's code and the data."""
        from dmmlib.data.paths import data_identity

        blob = json.dumps(
            {
                "source": (self.chapters / f"{name}.md").read_text(),
                "profile": profile,
                "overrides": overrides,
                "code": code_version(["dmmlib"]),
                "data": data_identity(),
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()

    def validate(self, names: list[str], profile: str, overrides: dict, data: bool = True) -> None:
        """Raise a one-line :class:`~dmmlib.params.ParameterError` before any work for an unknown
        chapter, profile or parameter, a wrong type, range, dict key or choice, a broken constraint
        between knobs, or (``data``) a missing or corrupt data file (:func:`dmmlib.params.validate`)."""
        known = self.chapter_names()
        for name in names:
            if name not in known:
                raise params.ParameterError(f"unknown chapter {name!r}; chapters: {', '.join(known)}")
            if not (self.chapters / f"{name}.md").exists():
                raise params.ParameterError(f"chapter {name!r} is in _toc.yml but chapters/{name}.md is missing")
            if name not in params.PROFILES:
                raise params.ParameterError(
                    f"chapter {name!r} has a page but no parameters: dmmlib/chapters/{name}/ needs __init__.py "
                    "and profiles.py (CONTRIBUTING.md, Adding a chapter)")
            params.validate(name, profile, overrides, data=data)

    def execute(self, names: list[str], profile: str, overrides: dict, force: bool = False) -> dict[str, float]:
        """Execute ``names`` with ``overrides`` (incrementally); return {name: seconds} for the chapters that ran.

        ``force``: execute even when up to date, and accept costly parameters (see :func:`cost_check`)."""
        return self._execute({name: overrides for name in names}, profile, force=force, check_cost=not force)

    def _execute(self, plan: dict[str, dict], profile: str, force: bool = False, check_cost: bool = True) -> dict[str, float]:
        for name, overrides in plan.items():
            self.validate([name], profile, overrides)
            if check_cost:
                cost_check(name, profile, overrides)
        self.clean_stale(profile)
        todo = {}
        for name, overrides in plan.items():
            out = self.executed_path(name, profile)
            stamp = self.stamp_of(name, profile, overrides)
            previous = self.record(name, profile)
            if not force and out.exists() and previous and previous.get("stamp") == stamp:
                print(f"[book] {_label(name, profile, overrides)}: up to date: {out}", flush=True)
                continue
            todo[name] = (overrides, stamp)
        if os.environ.get("RAY_ADDRESS"):
            return self._execute_on_ray(todo, profile)
        ran = {}
        for name, (overrides, stamp) in todo.items():
            print(f"[book] {_label(name, profile, overrides)}: executing", flush=True)
            seconds = self._run_papermill(name, profile, overrides, self.executed_path(name, profile))
            self._write_stamp(name, profile, overrides, stamp, seconds, _threads())
            ran[name] = seconds
        return ran

    def _write_stamp(self, name: str, profile: str, overrides: dict, stamp: str, seconds: float, threads: int) -> None:
        out = self.executed_path(name, profile)
        record = {"stamp": stamp, "seconds": round(seconds, 1), "profile": profile, "overrides": overrides,
                  "finished": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "threads": threads}
        atomic_write_bytes(out.with_suffix(".stamp.json"), json.dumps(record, indent=1, default=str).encode())
        print(f"[book] {_label(name, profile, overrides)}: done in {seconds:.1f} s: {out}", flush=True)

    def _execute_on_ray(self, todo: dict[str, tuple[dict, str]], profile: str) -> dict[str, float]:
        """``todo`` ({chapter: (overrides, stamp)}) on the Ray cluster at ``$RAY_ADDRESS``
        (``tools/ray_build.py``): the shared models first, one task each, then one task per
        chapter; each executed notebook comes back as bytes and is written here atomically with
        its stamp as soon as its task finished."""
        import ray_build

        if not todo:
            return {}
        ray_build.connect(os.environ["RAY_ADDRESS"])
        plan = {name: overrides for name, (overrides, _) in todo.items()}
        print(f"[book] on Ray at {os.environ['RAY_ADDRESS']}: shared models, then {', '.join(plan)}", flush=True)
        ray_build.train_models(ray_build.model_requests(plan, profile))

        def store(name: str, result: dict) -> None:
            atomic_write_bytes(self.executed_path(name, profile), result["notebook"])
            atomic_write_bytes(self.log_path(name, profile), result.get("log", "").encode())
            overrides, stamp = todo[name]
            self._write_stamp(name, profile, overrides, stamp, result["seconds"], result["threads"])

        return ray_build.run_chapters(self, plan, profile, store)

    def run_notebook(self, name: str, profile: str, overrides: dict, out: Path) -> float:
        """Execute chapter ``name`` with papermill into ``out`` (atomically); return the seconds it
        took. No stamp is written (a Ray task runs this on a worker; the driver keeps the stamps)."""
        return self._run_papermill(name, profile, overrides, out)

    def _run_papermill(self, name: str, profile: str, overrides: dict, out: Path) -> float:
        import jupytext
        import papermill

        out.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path(name, profile)
        log.parent.mkdir(parents=True, exist_ok=True)
        self.current = (name, log)
        with tempfile.TemporaryDirectory(dir=out.parent) as tmp, open(log, "w") as kernel_log:
            (Path(tmp) / OWNER).write_text(str(os.getpid()))
            source = Path(tmp) / f"{name}.ipynb"
            target = Path(tmp) / f"{name}.out.ipynb"
            jupytext.write(jupytext.read(self.chapters / f"{name}.md"), source)
            env_before = os.environ.get("TQDM_DISABLE")
            os.environ["TQDM_DISABLE"] = "1"  # no widget progress bars in the pages; papermill shows progress
            warnings_file = Path(tmp) / "warnings.txt"  # dmmlib.cache writes its warnings there
            os.environ["DMM_WARNINGS_FILE"] = str(warnings_file)
            progress_file = Path(tmp) / "progress.txt"  # dmmlib.progress writes long loops' bars there
            os.environ["DMM_PROGRESS_FILE"] = str(progress_file)
            echo = ProgressEcho(progress_file, name)
            echo.start()
            start = time.perf_counter()
            try:
                papermill.execute_notebook(
                    str(source), str(target), parameters={"profile": profile, **overrides},
                    kernel_name="python3", cwd=str(self.chapters), progress_bar=True,
                    execution_timeout=CELL_TIMEOUT_S, request_save_on_cell_execute=False,
                    extra_arguments=KERNEL_ARGS, kernel_manager_class=_logged_kernel_manager(kernel_log),
                )
            finally:
                echo.stop()
                os.environ.pop("DMM_PROGRESS_FILE", None)
                os.environ.pop("DMM_WARNINGS_FILE", None)
                if env_before is None:
                    os.environ.pop("TQDM_DISABLE", None)
                else:
                    os.environ["TQDM_DISABLE"] = env_before
                if warnings_file.exists():
                    for line in warnings_file.read_text().splitlines():
                        print(f"[book] {name}: {line}", file=sys.stderr, flush=True)
            seconds = time.perf_counter() - start
            os.replace(target, out)
        self.current = None
        return seconds

    def clean_stale(self, profile: str) -> list[Path]:
        """Remove temporary folders (``tmp*``) that a killed run left in the executed-chapters
        folder: those whose owner process is gone (a folder without an owner file, from an older
        version of this tool, counts as stale after ``STALE_TMP_S``), and orphaned temporary
        files older than that. Returns them."""
        folder = self.executed_path("x", profile).parent
        removed = []
        if not folder.is_dir():
            return removed
        now = time.time()
        for path in folder.iterdir():
            try:
                if path.is_dir() and path.name.startswith("tmp"):
                    owner = path / OWNER
                    stale = (not _alive(int(owner.read_text()))) if owner.exists() else now - path.stat().st_mtime > STALE_TMP_S
                    if stale:
                        shutil.rmtree(path, ignore_errors=True)
                        removed.append(path)
                elif path.is_file() and path.name.startswith(".") and path.name.endswith(".tmp") \
                        and now - path.stat().st_mtime > STALE_TMP_S:
                    path.unlink(missing_ok=True)
                    removed.append(path)
            except (OSError, ValueError):
                continue
        for path in removed:
            print(f"[book] removed {path.name}, left behind by an interrupted run", flush=True)
        return removed

    # --- the site -----------------------------------------------------------------------------
    def stage(self, profile: str) -> Path:
        """Lay out ``_build/<profile>/site`` for Jupyter Book; return its path."""
        site = self.build_dir(profile) / "site"
        wanted: dict[Path, bytes] = {}
        for pattern in PAGES:
            for src in self.root.glob(pattern):
                files = [src] if src.is_file() else [p for p in src.rglob("*") if p.is_file()]
                for f in files:
                    wanted[site / f.relative_to(self.root)] = f.read_bytes()
        notebooks = []
        for name in self.chapter_names():
            nb = self.executed_path(name, profile)
            if not nb.exists():
                raise FileNotFoundError(f"chapter {name!r} has not been executed for profile {profile!r}: {nb}")
            notebooks.append(nb)
            wanted[site / "chapters" / f"{name}.ipynb"] = for_static_site(nb.read_bytes(), self.record(name, profile),
                                                                                paper_note(name) if self.root == BOOK else "",
                                                                                chapter=name)
        wanted[site / "_generated" / "benchmarks.md"] = benchmark_tables().encode()
        wanted[site / "_generated" / "chapter_times.md"] = self.chapter_times_table(profile).encode()
        wanted[site / "_generated" / "critical_path.md"] = critical_path_table().encode()  # book/cluster.md
        wanted[site / "_generated" / "ledger.md"] = ledger(notebooks).encode()
        wanted[site / "_generated" / "findings.md"] = ledger(notebooks, findings=True).encode()
        from dmmlib.paper_map import paper_map_markdown  # the map of the papers, from the chapters' declarations
        wanted[site / "_generated" / "paper_map.md"] = paper_map_markdown(self.chapter_names(), self.root / "chapters",
                                                                          profile).encode()
        for path in [p for p in site.rglob("*") if p.is_file()] if site.exists() else []:
            if path not in wanted:
                path.unlink()
        for path, data in wanted.items():
            if not path.exists() or path.read_bytes() != data:
                atomic_write_bytes(path, data)
        return site

    def chapter_times_table(self, profile: str) -> str:
        """A Markdown table of the last execution of each chapter (time, parameters), read from the stamps."""
        rows = ["| chapter | profile | parameters | seconds | threads | finished |",
                "| --- | --- | --- | ---: | ---: | --- |"]
        for name in self.chapter_names():
            r = self.record(name, profile)
            if r:
                over = describe(r.get("overrides") or {}).replace("|", "\\|") or "the profile's"
                rows.append(f"| {name} | {r['profile']} | {over} | {r['seconds']:.1f} | {r.get('threads', '?')} "
                            f"| {r['finished']} |")
        return "\n".join(rows) + "\n"

    def build(self, profile: str, output: Path | None = None, defaults: bool = False) -> Path:
        """Execute what changed (each chapter with the overrides of its last run, or the profile's
        values with ``defaults``), stage, and run Jupyter Book (warnings are errors); return the HTML folder."""
        plan = {}
        for name in self.chapter_names():
            r = self.record(name, profile)
            overrides = {} if defaults or not r else dict(r.get("overrides") or {})
            if overrides:
                try:
                    self.validate([name], profile, overrides, data=False)  # the data: checked below, once
                except params.ParameterError as err:
                    print(f"[book] {name}: the overrides of its last run are no longer valid ({err}); "
                          "using the profile's values", flush=True)
                    overrides = {}
            plan[name] = overrides
        # recorded overrides were accepted when they ran (make chapter checks their cost)
        self._execute(plan, profile, check_cost=False)
        return self._jupyter_book(profile, output)

    def site(self, profile: str, output: Path | None = None) -> Path:
        """Build the site from the executed notebooks as they are, executing nothing; return the
        HTML folder. A chapter never executed is a one-line error; one whose source, dmmlib code
        or data changed since its run is shown as it ran, and named in the terminal."""
        missing = [n for n in self.chapter_names() if not self.executed_path(n, profile).exists()]
        if missing:
            raise NotExecutedError(
                f"not executed for profile {profile!r}: {', '.join(missing)}; run `make chapter NAME={missing[0]}"
                f"{'' if profile == 'quick' else ' PROFILE=' + profile}` (or `make book`{'' if profile == 'quick' else ' PROFILE=' + profile}) first")
        for name in self.chapter_names():
            r = self.record(name, profile) or {}
            if r.get("stamp") != self.stamp_of(name, profile, dict(r.get("overrides") or {})):
                print(f"[book] {name}: its page, dmmlib code or data changed since this run; the site shows the run "
                      f"of {r.get('finished', '?')} (`make book` re-runs it)", flush=True)
        return self._jupyter_book(profile, output)

    def _jupyter_book(self, profile: str, output: Path | None = None) -> Path:
        site = self.stage(profile)
        output = Path(output or self.default_output(profile)).resolve()
        stale = _drop_stale_static(site / "_static", output / "_build" / "html" / "_static")
        cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(site), "--path-output", str(output),
               "-W", "-n", "--keep-going", "--builder", "html"] + (["--all"] if stale else [])
        print("[book] " + " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
        html = output / "_build" / "html"
        print(f"[book] built: open {html / 'index.html'}", flush=True)
        return html


def _drop_stale_static(source: Path, built: Path) -> bool:
    """Remove the built copies of the book's own static files (CSS, scripts) that differ from
    their source, and say whether one differed or was missing: Sphinx 7.4 never overwrites a
    static file already in the output, and copies none when no page changed, so the build must
    then rebuild every page (``--all``) for an edited stylesheet to reach the site."""
    if not source.is_dir() or not built.is_dir():
        return False
    stale = False
    for src in source.rglob("*"):
        out = built / src.relative_to(source)
        if src.is_file() and (not out.is_file() or out.read_bytes() != src.read_bytes()):
            out.unlink(missing_ok=True)
            stale = True
    return stale


OWNER = ".owner-pid"  # inside a run's temporary folder: the pid of the process that made it


class NotExecutedError(params.ParameterError):
    """``site``: a chapter has no executed notebook for the profile."""


def _logged_kernel_manager(log):
    """A kernel manager class whose kernels write their own messages (stderr: ipykernel's log,
    such as the ZMQ errors of a kernel shut down mid-reply) to the open file ``log``, not to the
    terminal."""
    from jupyter_client import AsyncKernelManager

    class LoggedKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw):
            kw.setdefault("stderr", log)
            return await super().start_kernel(**kw)

    return LoggedKernelManager


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _label(name: str, profile: str, overrides: dict) -> str:
    return f"{name} ({profile}{', ' + describe(overrides) if overrides else ''})"


def describe(overrides: dict) -> str:
    """``seeds=5; digits=[1, 7]``: overrides as the command line takes them."""
    return "; ".join(f"{k}={v!r}" for k, v in sorted(overrides.items()))


def split_params(text: str) -> list[str]:
    """``"seeds=5 width=2000"`` or ``"seeds=5; digits=[1, 7]"`` -> ``["seeds=5", ...]``: split at
    ``;`` and at blanks that are followed by ``name=``, so values may hold blanks."""
    parts = []
    for chunk in text.split(";"):
        parts += [p.strip() for p in re.split(r"\s+(?=[A-Za-z_]\w*\s*=)", chunk) if p.strip()]
    return parts


def cost_check(name: str, profile: str, overrides: dict, limit: float = COST_LIMIT) -> dict[str, float]:
    """Refuse (:class:`CostError`) an override of a cost-scaling knob (see ``COST_KNOB``: seeds,
    epochs, steps, counts of samples, points and images, widths) that is more than ``limit``
    times the knob's quick value; returns {knob: factor} of the overrides above 1.

    The factor of a list or dict knob is the largest of its elements' factors (a list's largest
    value against the quick list's largest). Knobs whose quick value is 0 ("all") are not checked."""
    if not overrides:
        return {}
    quick = params.resolve(name, "quick")
    values = params.resolve(name, profile, **overrides)
    factors = {}
    for knob in overrides:
        if overrides[knob] is None or not COST_KNOB.search(knob):
            continue
        f = _factor(values[knob], quick[knob])
        if f is not None and f > 1:
            factors[knob] = f
    too_big = {k: f for k, f in factors.items() if f > limit}
    if too_big:
        worst = max(too_big, key=too_big.get)
        raise CostError(
            f"chapter {name!r}: {', '.join(f'{k}={values[k]!r} is {f:.3g}x its quick value {quick[k]!r}' for k, f in too_big.items())}; "
            f"the run would cost about {too_big[worst]:.3g}x as much as the quick one (limit {limit:g}x). "
            "Add --force (make: FORCE=1) to run it anyway."
        )
    return factors


def _factor(value, quick) -> float | None:
    if isinstance(value, bool) or isinstance(quick, bool):
        return None
    if isinstance(value, (int, float)) and isinstance(quick, (int, float)):
        return value / quick if quick > 0 else None
    if isinstance(value, dict) and isinstance(quick, dict):
        fs = [_factor(value[k], quick[k]) for k in value if k in quick]
        fs = [f for f in fs if f is not None]
        return max(fs) if fs else None
    if isinstance(value, (list, tuple)) and isinstance(quick, (list, tuple)):
        nv = [v for v in value if isinstance(v, (int, float)) and not isinstance(v, bool)]
        nq = [v for v in quick if isinstance(v, (int, float)) and not isinstance(v, bool)]
        return _factor(max(nv), max(nq)) if nv and nq else None
    return None


def glued_claims(notebook: Path) -> list:
    """The claims a chapter glued under the name ``claims`` (a JSON string, see
    :func:`dmmlib.claims.glue_claims`), or [] when it glued none."""
    return claims_in(json.loads(Path(notebook).read_text()))


def claims_in(nb: dict) -> list:
    """The claims glued under ``claims`` in a notebook already read (a dict), or []."""
    from dmmlib.claims import from_json

    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            scrap = output.get("metadata", {}).get("scrapbook", {})
            if scrap.get("name") == "claims":
                text = output.get("data", {}).get(scrap.get("mime_prefix", "") + "text/plain", "")
                text = "".join(text) if isinstance(text, list) else text
                return from_json(ast.literal_eval(text))
    return []


def ledger(notebooks: list[Path], findings: bool = False) -> str:
    """The book's claims ledger (Markdown) from the executed notebooks, in book order; with
    ``findings``, the landing page's opening instead (:func:`dmmlib.ledger.findings_markdown`)."""
    from dmmlib.ledger import findings_markdown, ledger_markdown

    claims, titles = [], {}
    for nb in notebooks:
        found = glued_claims(nb)
        claims += found
        if found:
            titles[found[0].chapter] = page_title(nb) or found[0].chapter
    return (findings_markdown if findings else ledger_markdown)(claims, titles)


def page_title(notebook: Path) -> str:
    """The first level-1 heading of a notebook's Markdown cells, or ""."""
    for cell in json.loads(Path(notebook).read_text()).get("cells", []):
        if cell.get("cell_type") == "markdown":
            source = "".join(cell.get("source", ""))
            for line in source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return ""


_EXTERNAL_LINK = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']https?://[^>]*>", re.IGNORECASE)


def run_note(record: dict, paper: str = "") -> str:
    """The Markdown note a page carries about the run it shows (and ``paper``: what the dry run
    says of the chapter's ``paper`` profile, :func:`dry_run.paper_note`)."""
    over = record.get("overrides") or {}
    threads = record.get("threads", "?")
    threads = f"{threads} torch thread{'' if threads == 1 else 's'}"
    with_ = (f"with `{describe(over)}` (the rest: the profile's values)" if over
             else "with the profile's values")
    return (f"```{{admonition}} This run\n:class: note\n"
            f"Executed with profile `{record.get('profile', '?')}` {with_}, in {record.get('seconds', 0):.0f} s "
            f"on {threads}, finished {record.get('finished', '?')}." + (f"\n\n{paper}" if paper else "") + "\n```\n")


def run_parameters(chapter: str, record: dict) -> str:
    """The parameters a page's run used, folded: an HTML ``<details>`` (closed) holding a table
    with one row per knob (:func:`dmmlib.params.parameter_rows`): its name, the value used, the
    profile's value and what it means (the chapter's ``DOCS``); the knobs set on the command
    line are in bold. Values are written for a reader (:func:`dmmlib.report.fmt_value`)."""
    from html import escape

    from dmmlib.report import fmt_value

    profile = record.get("profile", "quick")
    rows = params.parameter_rows(chapter, profile, record.get("overrides") or {})
    n_set = sum(r["set"] for r in rows)
    bold = ' class="dmm-set"'
    body = "".join(
        f'<tr{bold if r["set"] else ""}><td><code>{escape(r["name"])}</code></td>'
        f'<td>{escape(fmt_value(r["value"]))}</td><td>{escape(fmt_value(r["profile_value"]))}</td>'
        f'<td>{escape(r["meaning"])}</td></tr>' for r in rows)
    head = f"<tr><th>parameter</th><th>this run</th><th>profile <code>{escape(profile)}</code></th><th>what it means</th></tr>"
    set_text = (f"{n_set} of {len(rows)} set for this run (in bold)" if n_set
                else f"all {len(rows)} at the profile's values")
    return (f'<details class="dmm-details dmm-run-parameters"><summary>Parameters of this run: '
            f"profile <code>{escape(profile)}</code>, {set_text}</summary>\n"
            f'<div class="dmm-table dmm-parameters"><table>{head}{body}</table></div>\n'
            "</details>\n")


def _opening(title_cell: dict, nb: dict, record: dict | None, paper: str, chapter: str) -> list[dict]:
    """The cells a chapter page opens with, in place of its first Markdown cell (title and
    prose): the title alone, the run note and the run's parameters (given the stamp
    ``record``), ``## What this chapter finds`` (:func:`dmmlib.ledger.chapter_findings_markdown`,
    from the claims the notebook glued), then the prose under ``## The question``."""
    from dmmlib.ledger import chapter_findings_markdown

    lines = "".join(title_cell.get("source", "")).splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("# "))
    title, prose = "\n".join(lines[:at + 1]), "\n".join(lines[at + 1:]).strip()
    cell_id = title_cell.get("id")

    def markdown(source: str, tag: str) -> dict:
        cell = {"cell_type": "markdown", "metadata": {"tags": [tag]}, "source": source}
        if cell_id is not None:
            cell["id"] = f"{cell_id}-{tag}"
        return cell

    cells = [{**title_cell, "source": title + "\n"}]
    if record is not None:
        cells.append(markdown(run_note(record, paper), "run-note"))
        if chapter:
            cells.append(markdown(run_parameters(chapter, record), "run-parameters"))
    cells.append(markdown("## What this chapter finds\n\n" + chapter_findings_markdown(claims_in(nb)), "findings"))
    if prose:
        cells.append(markdown(prose + "\n" if prose.startswith("#") else f"## The question\n\n{prose}\n", "question"))
    return cells


_NUMPY_SCALAR = re.compile(r"^np\.(?:float|int|uint|bool_)\w*\((.*)\)$", re.DOTALL)


def for_static_site(data: bytes, record: dict | None = None, paper: str = "", chapter: str = "") -> bytes:
    """An executed notebook made fit for the offline site: saved ipywidget state dropped (widgets
    are for Jupyter), stylesheets linked from the internet removed from HTML outputs
    (matplotlib's ``to_jshtml`` links Font Awesome from a CDN; the theme bundles it), glued numpy
    scalars shown as plain numbers (``np.float64(0.5)`` -> ``0.5``), the ``parameters`` cell and
    papermill's ``injected-parameters`` cell tagged ``remove-cell`` (they stay in the notebook,
    off the page), and the page opened with its findings: after the title, the run's note and its
    parameters folded (given the run's stamp ``record`` and the ``chapter``'s name), then
    ``## What this chapter finds`` from the glued claims, then the prose under ``## The question``
    (:func:`_opening`)."""
    nb = json.loads(data)
    nb.get("metadata", {}).pop("widgets", None)
    for cell in nb.get("cells", []):
        tags = cell.get("metadata", {}).get("tags", [])
        if {"parameters", "injected-parameters"} & set(tags) and "remove-cell" not in tags:
            cell["metadata"]["tags"] = [*tags, "remove-cell"]
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html")
            if html is not None:
                text = "".join(html) if isinstance(html, list) else html
                output["data"]["text/html"] = _EXTERNAL_LINK.sub("", text)
            scrap = output.get("metadata", {}).get("scrapbook")
            key = (scrap or {}).get("mime_prefix", "") + "text/plain"
            if scrap is not None and key in output.get("data", {}):
                # a glued numpy scalar prints as np.float64(0.5) under numpy 2, which {glue:text}`k:.3g` cannot format
                plain = output["data"][key]
                text = "".join(plain) if isinstance(plain, list) else plain
                output["data"][key] = _NUMPY_SCALAR.sub(r"\1", text)
    cells = nb.get("cells", [])
    at = next((i for i, c in enumerate(cells) if c.get("cell_type") == "markdown"
               and re.search(r"^# ", "".join(c.get("source", "")), re.MULTILINE)), None)
    if at is not None:
        cells[at:at + 1] = _opening(cells[at], nb, record, paper, chapter)
    elif record is not None:  # a page without a title: the note first
        cells.insert(0, {"cell_type": "markdown", "metadata": {"tags": ["run-note"]}, "source": run_note(record, paper)})
    return (json.dumps(nb, indent=1, ensure_ascii=False) + "\n").encode()


# the script that writes each table of benchmarks/results (the others: benchmarks/bench_<name>.py)
TABLE_SCRIPTS = {"paper_dry_run": "tools/dry_run.py", "widgets": "-m pytest tests/test_jupyterlab.py"}


def benchmark_tables(results: Path | None = None) -> str:
    """The Markdown tables of ``benchmarks/results/*.md``, one after the other, each behind a
    warning when the code it measured has changed since (its ``.json`` records the code's
    version: ``benchmarks/common.py``, ``code_stamp``), or a note when it records none."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from common import stale_note

    tables = sorted(Path(results or ROOT / "benchmarks" / "results").glob("*.md"))
    if not tables:
        return "No benchmark has been run on this checkout yet: `make bench` runs them.\n"
    out = []
    for t in tables:
        try:
            result = json.loads(t.with_suffix(".json").read_text())
        except (OSError, ValueError):
            result = {}
        script = TABLE_SCRIPTS.get(t.stem, f"benchmarks/bench_{t.stem}.py")
        text = t.read_text().strip()
        note = stale_note(result, script)
        if note:  # after the table's heading, when it has one
            head, sep, rest = text.partition("\n")
            text = f"{head}\n\n{note}{rest.lstrip()}" if head.startswith("#") and sep else note + text
        out.append(text)
    return "\n\n".join(out) + "\n"


def critical_path_table() -> str:
    """The expected wall time of the ``paper`` profile on 1, 4 and 16 GPUs (``tools/critical_path.py``)."""
    import critical_path

    try:
        rows = json.loads(critical_path.TABLE.read_text())["rows"]
    except (OSError, ValueError, KeyError):
        rows = {}
    return critical_path.markdown(rows)


def _threads() -> int:
    import torch

    return torch.get_num_threads()


# --- the default book (book/ of this repository), as module functions ---------------------------
DEFAULT = Book(BOOK)


def chapter_names() -> list[str]:
    return DEFAULT.chapter_names()


def build_dir(profile: str) -> Path:
    return DEFAULT.build_dir(profile)


def executed_path(name: str, profile: str) -> Path:
    return DEFAULT.executed_path(name, profile)


def execute(names: list[str], profile: str, overrides: dict, force: bool = False) -> dict[str, float]:
    return DEFAULT.execute(names, profile, overrides, force=force)


def stage(profile: str) -> Path:
    return DEFAULT.stage(profile)


def build(profile: str, output: Path | None = None, defaults: bool = False) -> Path:
    return DEFAULT.build(profile, output, defaults=defaults)


def _sigterm(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None, book: Book | None = None) -> int:
    book = book or DEFAULT
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=None, help="the book's folder (default: book/)")
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("execute", help="execute chapters with papermill (incrementally)")
    ex.add_argument("--chapter", action="append", help="chapter name (repeatable); default: all")
    ex.add_argument("--profile", default="quick")
    ex.add_argument("--param", action="append", default=[], help="name=value, overrides the profile (repeatable)")
    ex.add_argument("--params", default="", help='several, "k=v k2=v2" or "k=v; k2=[1, 2]" (split at ; and before name=)')
    ex.add_argument("--force", action="store_true", help="execute even when up to date; accept costly parameters")
    bd = sub.add_parser("build", help="execute what changed, then build the HTML")
    bd.add_argument("--profile", default="quick")
    bd.add_argument("--output", type=Path, default=None,
                    help="the HTML goes to OUTPUT/_build/html (default: book/ for quick, book/_build/<profile> otherwise)")
    bd.add_argument("--defaults", action="store_true", help="run every chapter with the profile's values, "
                    "not the parameters of its last run")
    st = sub.add_parser("site", help="build the HTML from the executed notebooks, executing nothing")
    st.add_argument("--profile", default="quick")
    st.add_argument("--output", type=Path, default=None,
                    help="the HTML goes to OUTPUT/_build/html (default: book/ for quick, book/_build/<profile> otherwise)")
    sub.add_parser("list", help="list the chapters")
    args = parser.parse_args(argv)
    if args.root is not None:
        book = Book(args.root)
    signal.signal(signal.SIGTERM, _sigterm)  # like Ctrl-C: temporary folders are removed, the old output stays
    try:
        if args.command == "list":
            print("\n".join(book.chapter_names()))
        elif args.command == "execute":
            overrides = params.parse_assignments([*args.param, *split_params(args.params)])
            book.execute(args.chapter or book.chapter_names(), args.profile, overrides, force=args.force)
        elif args.command == "site":
            book.site(args.profile, args.output)
        else:
            book.build(args.profile, args.output, defaults=args.defaults)
    except params.ParameterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        log = _log_traceback(book, getattr(args, "profile", "quick"))
        print(f"[book] interrupted; the previous output is kept (traceback: {log})", file=sys.stderr, flush=True)
        return 130
    except Exception as err:
        from papermill.exceptions import PapermillExecutionError
        from ray_build import ChapterFailed

        if isinstance(err, ChapterFailed):  # on Ray: the chapter, the cause and its log in one line
            print(f"error: {err} (the previous output is kept)", file=sys.stderr, flush=True)
            return 1
        if isinstance(err, ImportError) and os.environ.get("RAY_ADDRESS") and "Ray" in str(err):
            print(f"error: {err}", file=sys.stderr, flush=True)
            return 2
        if not isinstance(err, PapermillExecutionError):
            raise
        name = book.current[0] if book.current else "?"
        log = _log_traceback(book, args.profile)
        print(f"error: chapter {name!r} failed in cell [{err.exec_count}]: {err.ename}: {_one_line(err.evalue)} "
              f"(the previous output is kept; traceback: {log})", file=sys.stderr, flush=True)
        return 1
    return 0


def _one_line(text: str, limit: int = 500) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."


def _log_traceback(book: Book, profile: str) -> Path:
    """Append the exception being handled (its full traceback) to the log of the chapter that was
    running (:meth:`Book.log_path`), else to ``<build>/<profile>/logs/book.log``; return the log."""
    import traceback

    log = book.current[1] if book.current else book.build_dir(profile) / "logs" / "book.log"
    book.current = None
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a") as f:
            f.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}: tools/book.py {' '.join(sys.argv[1:])}\n")
            f.write(traceback.format_exc())
    except OSError:
        pass
    return log


if __name__ == "__main__":
    sys.exit(main())
