"""The book's chapters and shared models as tasks on a Ray cluster (``RAY_ADDRESS``).

``tools/book.py`` comes here when ``RAY_ADDRESS`` is set (``make book PROFILE=paper
RAY_ADDRESS=<address>``, ``make chapter ... RAY_ADDRESS=<address>``):

1. :func:`connect`: ``RAY_ADDRESS=local`` starts a Ray cluster on this machine's own cores
   and GPUs (``ray.init()``; ``DMM_RAY_CPUS`` caps the cores it uses); any other value is the
   address of a running cluster (``ray.init(address=...)``: ``auto``, ``<head>:6379``,
   ``ray://<head>:10001``).
2. :func:`train_models`: the shared models (:mod:`dmmlib.zoo`) that the chapters to run ask for,
   one task each, into the cache (:func:`model_requests`). This is a schedule, not a
   dependency: a model this step does not foresee is trained by its chapter, as in a local
   run, with the same result.
3. :func:`run_chapters`: one task per chapter, executing its notebook with papermill on the
   worker (:meth:`book.Book.run_notebook`) in a temporary folder there. The executed notebook
   comes back to the driver as bytes through Ray's object store, with its run time and its
   kernel's log; the driver writes it atomically (temporary file, then rename) beside its stamp,
   so nothing half-written reaches ``executed/`` or the site, which is then built here.

Each task asks for the resources of its row in the dry run's table
(``benchmarks/results/paper_dry_run.json``, written by ``tools/dry_run.py``): under the
``paper`` profile its peak memory (x :data:`MEMORY_MARGIN`) and one GPU when the cluster has
any; ``DMM_RAY_TASK_CPUS`` cores (default 1). Ray retries a task whose worker died (a killed
process, the out-of-memory killer) up to ``DMM_RAY_RETRIES`` times (default 2), and one whose
notebook ran out of memory or lost its kernel (:data:`RETRYABLE`); a cell that fails otherwise
is not retried (it would fail again). A chapter that still fails stops the build with one
:class:`ChapterFailed` naming the chapter and the cause; the chapters that finished before
it are kept (each whole), the others are cancelled.

Shared state: ``DMM_DATA`` and ``DMM_CACHE`` (absolute paths) and the repository with its
``.venv`` must be at the same paths on every node (a shared filesystem): the tasks read the data
there, hand the trained models to each other through the cache (:mod:`dmmlib.cache` is safe for
concurrent writers) and import ``dmmlib`` from the checkout. The driver sends each task these
variables, and ``OMP_NUM_THREADS`` (the driver's, else the task's cores), so a task's results
are those of a local run with the same thread count. A node without the data fails like a
local run, with the one-line "missing data" error of :mod:`dmmlib.data.paths`.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DRY_RUN_TABLE = ROOT / "benchmarks" / "results" / "paper_dry_run.json"
MEMORY_MARGIN = 1.25  # a task asks for its dry-run peak memory times this
FORWARDED_ENV = ("DMM_DATA", "DMM_CACHE", "DMM_IMAGENET", "DMM_RESNET50_WEIGHTS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
# what a notebook error is called when the kernel ran out of memory or died: retried by Ray
RETRYABLE = ("OutOfMemoryError", "MemoryError", "DeadKernelError")
# the shared models (dmmlib.zoo) that are trained; cifar_classifier is pretrained and the
# ImageNet autoencoder needs the user's ImageNet folder: their chapters load them
ZOO_TRAINED = ("mnist_classifier", "mnist_autoencoder", "cifar_autoencoder")
# {chapter: {zoo function: knob}}: the chapter uses seeds 0 .. P[knob] - 1 of that model;
# a zoo function not named here is asked for with the profile's own seed
MODEL_SEED_KNOBS = {
    "local_manifolds": {"mnist_autoencoder": "autoencoders", "cifar_autoencoder": "autoencoders",
                        "mnist_classifier": "models"},
    "boundary_tilting": {"mnist_classifier": "mlp_models"},
}


class ChapterFailed(RuntimeError):
    """A chapter's task failed for good (after Ray's retries): ``chapter`` and ``cause``."""

    def __init__(self, chapter: str, cause: str, log: str = ""):
        super().__init__(f"chapter {chapter!r} failed on the Ray cluster: {cause}")
        self.chapter, self.cause, self.log = chapter, cause, log

    def __reduce__(self):  # back from a Ray worker with its fields
        return (type(self), (self.chapter, self.cause, self.log))


class RetryableError(RuntimeError):
    """Raised in a task for a failure worth running again (memory, a dead kernel): Ray retries it."""


def ray_module():
    """``ray``, or an ImportError that says how to install it."""
    try:
        import ray
    except ImportError as err:
        raise ImportError("RAY_ADDRESS is set but Ray is not installed: pip install -c requirements-lock.txt "
                          "-e '.[cluster]' (or unset RAY_ADDRESS to build on this machine)") from err
    return ray


def connect(address: str) -> None:
    """Attach this process to the Ray cluster at ``address`` ("local": start one on this
    machine, ``DMM_RAY_CPUS`` cores at most); a no-op when already attached."""
    ray = ray_module()
    if ray.is_initialized():
        return
    if not address:
        raise ValueError("connect: an empty RAY_ADDRESS")
    # the tasks are functions of this module, which imports tools/book.py: both are found on tools/
    runtime_env = {"env_vars": {"PYTHONPATH": _pythonpath(str(ROOT / "tools"))}}
    if address == "local":
        # a busy machine starts Ray's processes slowly: wait for them longer than Ray's defaults
        os.environ.setdefault("RAY_agent_register_timeout_ms", "300000")
        os.environ.setdefault("RAY_raylet_start_wait_time_s", "300")
        cpus = os.environ.get("DMM_RAY_CPUS")
        ray.init(address="local", num_cpus=int(cpus) if cpus else None, include_dashboard=False,
                 object_store_memory=_object_store_bytes(), runtime_env=runtime_env)
    else:
        ray.init(address=address, runtime_env=runtime_env)


def _object_store_bytes() -> int:
    """The local cluster's object store: 1 GiB, or ``DMM_RAY_OBJECT_STORE_GB``. Executed
    notebooks are a few MB each; Ray's default (30 % of the memory) is far more than needed."""
    return int(float(os.environ.get("DMM_RAY_OBJECT_STORE_GB", "1")) * 2**30)


def task_env(num_cpus: int) -> dict[str, str]:
    """The variables a task runs with: :data:`FORWARDED_ENV` of the driver (paths made absolute),
    and ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` = ``num_cpus`` where the driver sets none."""
    env = {k: os.environ[k] for k in FORWARDED_ENV if os.environ.get(k)}
    for k in ("DMM_DATA", "DMM_CACHE"):
        if k in env:
            env[k] = str(Path(env[k]).resolve())
    env.setdefault("OMP_NUM_THREADS", str(num_cpus))
    env.setdefault("MKL_NUM_THREADS", env["OMP_NUM_THREADS"])
    return env


def dry_run_rows(table: Path = DRY_RUN_TABLE) -> dict[str, dict]:
    """{chapter: row} of the dry run's table, or {} when there is none."""
    try:
        return json.loads(Path(table).read_text())["rows"]
    except (OSError, ValueError, KeyError):
        return {}


def chapter_resources(chapter: str, profile: str, cluster_gpus: float, rows: dict | None = None) -> dict:
    """What a chapter's task asks Ray for: ``DMM_RAY_TASK_CPUS`` cores (default 1); under the
    ``paper`` profile one GPU when the cluster has any, and the dry run's peak memory (GB) x
    :data:`MEMORY_MARGIN` (in bytes) when the table has the chapter's row."""
    out: dict[str, Any] = {"num_cpus": int(os.environ.get("DMM_RAY_TASK_CPUS", "1"))}
    if cluster_gpus > 0 and profile == "paper":
        out["num_gpus"] = 1
    row = (dry_run_rows() if rows is None else rows).get(chapter)
    if profile == "paper" and row and row.get("ok") and row.get("peak_rss_gb", 0) == row.get("peak_rss_gb", 0):
        out["memory"] = int(row["peak_rss_gb"] * MEMORY_MARGIN * 2**30)
    return out


# --- the shared models ---------------------------------------------------------------------------

def zoo_functions(chapter: str, root: Path = ROOT) -> set[str]:
    """The trained zoo functions (:data:`ZOO_TRAINED`) the chapter's package or page calls."""
    files = [*(root / "dmmlib" / "chapters" / chapter).glob("*.py"), root / "book" / "chapters" / f"{chapter}.md"]
    found = set()
    for f in (f for f in files if f.exists()):
        found |= set(re.findall(r"zoo\.(\w+)\(", f.read_text()))
    return found & set(ZOO_TRAINED)


def model_requests(chapters: dict[str, dict], profile: str, root: Path = ROOT) -> list[tuple[str, str, int | None]]:
    """The shared models the chapters ask for, each once: ``(zoo function, profile, seed)``
    (seed None: the profile's own), from ``{chapter: overrides}``. The models' profile is the
    chapter's ``models_profile`` knob when it has one, else its profile."""
    from dmmlib import params

    out = set()
    for chapter, overrides in chapters.items():
        fns = zoo_functions(chapter, root)
        if not fns:
            continue
        P = params.resolve(chapter, profile, **overrides)
        zoo_profile = P.get("models_profile", profile)
        knobs = MODEL_SEED_KNOBS.get(chapter, {})
        for fn in fns:
            seeds = range(int(P[knobs[fn]])) if fn in knobs and knobs[fn] in P else [None]
            out |= {(fn, zoo_profile, s) for s in seeds}
    return sorted(out, key=lambda r: (r[0], r[1], -1 if r[2] is None else r[2]))


def _model_task(fn: str, profile: str, seed: int | None, env: dict) -> float:
    """In a worker: train (or find in the cache) one shared model; return the seconds it took."""
    os.environ.update(env)
    import torch

    torch.set_num_threads(int(env["OMP_NUM_THREADS"]))
    from dmmlib import zoo

    start = time.perf_counter()
    getattr(zoo, fn)(profile, seed=seed)
    return time.perf_counter() - start


def train_models(requests: list[tuple[str, str, int | None]], retries: int | None = None) -> dict:
    """Train ``requests`` (:func:`model_requests`) as Ray tasks, one each; return
    {(fn, profile, seed): seconds}. A model whose task fails is left to its chapter (which
    trains it itself, or fails with the same error): one line says so."""
    ray = ray_module()
    if not requests:
        return {}
    gpus = ray.cluster_resources().get("GPU", 0)
    cpus = int(os.environ.get("DMM_RAY_TASK_CPUS", "1"))
    task = ray.remote(_model_task).options(num_cpus=cpus, num_gpus=1 if gpus > 0 else 0,
                                           max_retries=_retries(retries), retry_exceptions=False)
    env = task_env(cpus)
    refs = {task.remote(fn, profile, seed, env): (fn, profile, seed) for fn, profile, seed in requests}
    done = {}
    for ref, request in refs.items():
        try:
            done[request] = ray.get(ref)
            print(f"[ray] model {_describe(request)}: ready in {done[request]:.1f} s", flush=True)
        except Exception as err:  # the chapter meets the same model and reports it in its own run
            print(f"[ray] model {_describe(request)}: not trained here ({_cause(err)}); "
                  "its chapter trains it", flush=True)
    return done


def _describe(request) -> str:
    fn, profile, seed = request
    return f"{fn}({profile!r}{'' if seed is None else f', seed={seed}'})"


# --- the chapters --------------------------------------------------------------------------------

def _chapter_task(root: str, name: str, profile: str, overrides: dict, env: dict) -> dict:
    """In a worker: execute one chapter with papermill in a temporary folder; return its notebook
    (bytes), run time, thread count and kernel log. A notebook that ran out of memory or lost
    its kernel raises :class:`RetryableError` (Ray retries it); another failed cell raises
    :class:`ChapterFailed` with the cell's error."""
    os.environ.update(env)
    import book as book_tool
    from nbclient.exceptions import DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    tmp = Path(tempfile.mkdtemp(prefix=f"dmm-ray-{name}-"))
    try:
        b = book_tool.Book(root, build_root=tmp)
        out = b.executed_path(name, profile)
        log = b.log_path(name, profile)
        try:
            seconds = b.run_notebook(name, profile, overrides, out)
        except PapermillExecutionError as err:
            cause = f"cell [{err.exec_count}]: {err.ename}: {book_tool._one_line(err.evalue)}"
            if err.ename in RETRYABLE:
                raise RetryableError(cause) from None
            raise ChapterFailed(name, cause, _tail(log)) from None
        except DeadKernelError as err:
            raise RetryableError(f"DeadKernelError: {book_tool._one_line(str(err))}") from None
        return {"notebook": out.read_bytes(), "seconds": seconds, "threads": int(env["OMP_NUM_THREADS"]),
                "log": _tail(log), "node": os.uname().nodename}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _tail(path: Path, limit: int = 20_000) -> str:
    try:
        return Path(path).read_text(errors="replace")[-limit:]
    except OSError:
        return ""


def run_chapters(book, plan: dict[str, dict], profile: str, on_done, retries: int | None = None) -> dict[str, float]:
    """Execute ``plan`` ({chapter: overrides}) as Ray tasks on ``book`` (a ``tools/book.py``
    ``Book``); as each finishes, ``on_done(name, result)`` stores it (the driver's atomic write).
    Returns {name: seconds}. The first chapter that fails for good cancels the others and
    raises :class:`ChapterFailed` (its kernel log appended to ``book.log_path``)."""
    ray = ray_module()
    if not plan:
        return {}
    gpus = ray.cluster_resources().get("GPU", 0)
    rows = dry_run_rows()
    pending = {}
    for name, overrides in plan.items():
        res = chapter_resources(name, profile, gpus, rows)
        task = ray.remote(_chapter_task).options(**res, max_retries=_retries(retries),
                                                 retry_exceptions=[RetryableError])
        env = task_env(res["num_cpus"])
        if os.environ.get("DMM_PARALLEL", "").lower() == "ray":  # opted in: the chapter's units as tasks too
            env.update(DMM_PARALLEL="ray", RAY_ADDRESS=ray.get_runtime_context().gcs_address)
        ref = task.remote(str(book.root), name, profile, overrides, env)
        pending[ref] = name
        print(f"[ray] {name}: submitted ({', '.join(f'{k}={v}' for k, v in res.items())})", flush=True)
    ran = {}
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            name = pending.pop(ready[0])
            try:
                result = ray.get(ready[0])
            except Exception as err:
                failure = _unwrap(err)
                log = failure.log if isinstance(failure, ChapterFailed) else ""
                _append_log(book.log_path(name, profile), f"{_cause(err)}\n{log}")
                cause = failure.cause if isinstance(failure, ChapterFailed) else _cause(err)
                raise ChapterFailed(name, f"{cause} (log: {book.log_path(name, profile)})", log) from None
            on_done(name, result)
            ran[name] = result["seconds"]
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
    return ran


def _pythonpath(extra: str) -> str:
    current = os.environ.get("PYTHONPATH", "")
    return extra + (os.pathsep + current if current else "")


def _retries(retries: int | None) -> int:
    value = int(os.environ.get("DMM_RAY_RETRIES", "2")) if retries is None else retries
    if value < 0:
        raise ValueError(f"retries must be >= 0, got {value}")
    return value


def _unwrap(err: BaseException) -> BaseException:
    """The exception a task raised, out of Ray's wrapper."""
    cause = getattr(err, "cause", None)
    return cause if isinstance(cause, BaseException) else err


def _cause(err: BaseException) -> str:
    """One line for a task's failure: the task's own error, or what killed its worker."""
    inner = _unwrap(err)
    if isinstance(inner, ChapterFailed):
        return inner.cause
    text = " ".join(str(inner).split())
    kind = type(inner).__name__
    if "WorkerCrashedError" in kind or "worker died" in text.lower():
        text = "its worker died (killed, or out of memory) after Ray's retries: " + text
    return f"{kind}: {text[:500]}"


def _append_log(path: Path, text: str) -> None:
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as f:
            f.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}: Ray task\n{text}\n")
    except OSError:
        pass
