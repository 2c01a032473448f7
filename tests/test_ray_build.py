"""The book on a Ray cluster (``tools/ray_build.py``, ``book/cluster.md``), proved on this machine
with a local cluster of 2 workers (``ray.init(num_cpus=2)``):

- smoke chapters executed through Ray give every claim the verdict and the estimate of the
  plain local run (each run with its own empty cache, so both compute everything);
- a task whose worker is killed mid-write of a cache entry is retried by Ray, the build
  completes, and the cache holds no torn entry;
- a chapter whose cell fails stops the build with one error naming the chapter and the cause.

Needs Ray (``pip install '.[cluster]'``): skipped without it, unless ``DMM_REQUIRE_RAY=1`` (set
by CI), which makes a missing Ray or a cluster that does not start a failure.
``DMM_RAY_TEST_CHAPTERS``: the chapters of the first proof (default below; ``all``: every one).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from dmmlib import params
from tests.chapter_runner import book, read_glued

REQUIRED = os.environ.get("DMM_REQUIRE_RAY") == "1"
# cheap smoke chapters that between them use the shared models' phase (mnist_classifier per
# seed; the MNIST and CIFAR autoencoders) and dmmlib.parallel.map (local_manifolds' tangent study)
PROOF_CHAPTERS = ("boundary_tilting", "local_manifolds")


def _ray_or_skip():
    try:
        import ray
    except ImportError:
        if REQUIRED:
            pytest.fail("Ray is not installed (pip install -c requirements-lock.txt -e '.[cluster]')")
        pytest.skip("Ray is not installed (the optional extra 'cluster')")
    return ray


@pytest.fixture(scope="module")
def cluster():
    """A local Ray cluster of 2 CPUs for this module, shut down after it."""
    ray = _ray_or_skip()
    import ray_build

    before = os.environ.get("DMM_RAY_CPUS")
    os.environ["DMM_RAY_CPUS"] = "2"
    try:
        ray_build.connect("local")
    except Exception as err:  # Ray's processes did not come up (a very busy machine)
        if REQUIRED:
            raise
        pytest.skip(f"a local Ray cluster did not start: {err}")
    finally:
        if before is None:
            os.environ.pop("DMM_RAY_CPUS", None)
        else:
            os.environ["DMM_RAY_CPUS"] = before
    yield ray
    ray.shutdown()


def _claims(notebook: Path) -> dict:
    """{claim id: (verdict, estimate value, lo, hi, n)} of an executed notebook."""
    nb = json.loads(Path(notebook).read_text())
    return {c.id: (c.verdict, c.ours.value, c.ours.lo, c.ours.hi, c.ours.n) if c.ours else (c.verdict,)
            for c in book.claims_in(nb)}


def test_parallel_map_on_the_cluster_gives_the_loops_results_bit_for_bit(cluster):
    """dmmlib.parallel.map as Ray tasks (2 workers): the loop's results, in order, bit for bit."""
    import torch

    from dmmlib import parallel
    from tests.test_parallel import _seeded_step

    assert parallel.ray_attached()
    g = torch.Generator().manual_seed(0)
    context = (torch.randn(20, 3, generator=g), torch.randn(20, generator=g))
    loop = [_seeded_step(context, s) for s in range(4)]
    mapped = parallel.map(_seeded_step, range(4), context=context)
    assert all(torch.equal(a, b) for a, b in zip(loop, mapped))
    with pytest.raises(ZeroDivisionError):  # an error in a unit: raised as the loop raises it
        parallel.map(_divide, [1, 0])


def _divide(v):
    return 1 / v


def test_a_chapter_kernel_on_the_cluster_gives_the_loops_results(cluster, monkeypatch):
    """local_manifolds' tangent study (one unit per seed) as tasks equals the study as a loop."""
    import pandas as pd
    import torch

    from dmmlib.chapters.local_manifolds import experiment as lm
    from dmmlib.models.autoencoders import MnistAutoencoder

    torch.manual_seed(0)
    ae = MnistAutoencoder(latent_dim=4).eval()
    pool = torch.rand(30, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    kw = dict(n_images=3, seeds=3, fd_eps=[1e-3])
    on_ray = lm.tangent_study(ae, pool, **kw)
    monkeypatch.setattr(lm.parallel, "ray_attached", lambda: False)
    loop = lm.tangent_study(ae, pool, **kw)
    assert all(torch.equal(a, b) for a, b in zip(loop.jacobians, on_ray.jacobians))
    assert all(torch.equal(a, b) for a, b in zip(loop.images, on_ray.images))
    assert pd.DataFrame(loop.angles).equals(pd.DataFrame(on_ray.angles))  # NaN (no step size) equals NaN


@pytest.mark.slow  # executes smoke chapters twice (about a minute each way on 2 cores)
def test_chapters_on_ray_give_the_verdicts_and_estimates_of_the_local_run(cluster, tmp_path, monkeypatch):
    names = os.environ.get("DMM_RAY_TEST_CHAPTERS", ",".join(PROOF_CHAPTERS))
    names = book.chapter_names() if names == "all" else [n.strip() for n in names.split(",") if n.strip()]
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("DMM_CACHE", str(tmp_path / "cache-local"))
    local = book.Book(book.BOOK, build_root=tmp_path / "local")
    assert set(local.execute(names, "smoke", {})) == set(names)
    monkeypatch.setenv("DMM_CACHE", str(tmp_path / "cache-ray"))
    monkeypatch.setenv("RAY_ADDRESS", "local")  # the cluster of the fixture: already attached
    on_ray = book.Book(book.BOOK, build_root=tmp_path / "ray")
    assert set(on_ray.execute(names, "smoke", {})) == set(names)
    assert list((tmp_path / "cache-ray").rglob("*.pt")), "the Ray tasks must have used their own cache"
    for name in names:
        ours, theirs = _claims(local.executed_path(name, "smoke")), _claims(on_ray.executed_path(name, "smoke"))
        assert ours, f"{name}: no claims glued"
        assert theirs == ours, f"{name}: claims differ between the local run and the Ray run"
        record = on_ray.record(name, "smoke")
        assert record["threads"] == int(os.environ.get("OMP_NUM_THREADS", record["threads"]))
    # the executed notebooks came back to this process and nothing was left half-written
    for name in names:
        assert not list(on_ray.executed_path(name, "smoke").parent.glob(".*.tmp"))


TINY = """---
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
import os, signal
from pathlib import Path
import torch
from myst_nb import glue
from dmmlib import cache

n_value = 3 if n is None else n
assert n_value >= 0, "n must be non-negative"
marker = Path(os.environ["DMM_CACHE"]) / "killed-once"
marker.parent.mkdir(parents=True, exist_ok=True)

def compute():
    if not marker.exists():  # first attempt: die in the middle of writing the entry
        marker.write_text(str(os.getppid()))
        def die(*args, **kwargs):  # the data's temporary file is written; its rename never happens
            os.kill(os.getppid(), signal.SIGKILL)  # the Ray worker that runs this notebook
            os._exit(1)
        cache.os.replace = die
    return torch.arange(10_000, dtype=torch.float64) * n_value

value = cache.cached("kill_test", {"n": n_value}, compute, code=("dmmlib.cache",))
glue("total", float(value.sum()), display=False)
```
"""
TOC = """format: jb-book
root: intro
parts:
  - caption: Part
    chapters:
      - file: chapters/tiny
"""


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    root = tmp_path / "book"
    (root / "chapters").mkdir(parents=True)
    (root / "_toc.yml").write_text(TOC)
    (root / "chapters" / "tiny.md").write_text(TINY)
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("DMM_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("DMM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("RAY_ADDRESS", "local")
    monkeypatch.setattr(book, "code_version", lambda modules: "fixed")
    monkeypatch.setitem(params.PROFILES, "tiny", {"smoke": {"n": 2}, "quick": {"n": 3}, "paper": {"n": 4},
                                                  "ranges": {"n": (-5, 1000)}})
    return book.Book(root, build_root=tmp_path / "build")


@pytest.mark.slow  # two papermill runs on the cluster
def test_a_killed_worker_is_retried_and_the_cache_holds_no_torn_entry(cluster, tiny, tmp_path):
    ran = tiny.execute(["tiny"], "smoke", {})
    assert set(ran) == {"tiny"}
    marker = tmp_path / "cache" / "killed-once"
    assert marker.exists(), "the first attempt must have been killed"
    assert read_glued(tiny.executed_path("tiny", "smoke"))["total"] == 3 * sum(range(10_000))  # n is None: 3
    entries = sorted((tmp_path / "cache" / "kill_test").glob("*.pt"))
    assert len(entries) == 1, "the retry writes the entry once"
    for entry in entries:
        meta = json.loads(entry.with_suffix(".json").read_text())
        assert meta["sha256"] == hashlib.sha256(entry.read_bytes()).hexdigest(), "a torn entry"
    leftovers = list((tmp_path / "cache" / "kill_test").glob(".*.tmp"))
    assert len(leftovers) == 1, "the killed attempt stopped between writing and renaming the data"
    from dmmlib import cache

    value = cache.cached("kill_test", {"n": 3}, lambda: pytest.fail("must be read, not recomputed"),
                         code=("dmmlib.cache",))
    assert float(value.sum()) == 3 * sum(range(10_000))


@pytest.mark.slow  # one papermill run on the cluster
def test_a_failing_chapter_stops_the_build_with_one_error_naming_it(cluster, tiny, capsys):
    (Path(os.environ["DMM_CACHE"])).mkdir(parents=True, exist_ok=True)
    (Path(os.environ["DMM_CACHE"]) / "killed-once").write_text("no kill in this test")
    assert set(tiny.execute(["tiny"], "smoke", {})) == {"tiny"}
    before = tiny.executed_path("tiny", "smoke").read_bytes()
    code = book.main(["execute", "--chapter", "tiny", "--profile", "smoke", "--param", "n=-1"], book=tiny)
    err = capsys.readouterr().err
    assert code == 1
    assert "chapter 'tiny' failed on the Ray cluster" in err and "n must be non-negative" in err
    assert len([line for line in err.splitlines() if line.startswith("error:")]) == 1
    assert tiny.executed_path("tiny", "smoke").read_bytes() == before, "the previous output must be kept"


# --- the plan: resources, models, the critical path (no Ray needed) ------------------------------

def test_a_chapter_task_asks_for_its_dry_run_resources(monkeypatch):
    import ray_build

    monkeypatch.delenv("DMM_RAY_TASK_CPUS", raising=False)
    rows = {"x": {"ok": True, "peak_rss_gb": 2.0}}
    assert ray_build.chapter_resources("x", "paper", 2, rows) == {"num_cpus": 1, "num_gpus": 1,
                                                                  "memory": int(2.0 * ray_build.MEMORY_MARGIN * 2**30)}
    assert ray_build.chapter_resources("x", "paper", 0, rows) == {"num_cpus": 1, "memory": int(2.5 * 2**30)}
    assert ray_build.chapter_resources("x", "smoke", 2, rows) == {"num_cpus": 1}, "the table measures paper only"
    monkeypatch.setenv("DMM_RAY_TASK_CPUS", "8")
    assert ray_build.chapter_resources("y", "paper", 1, rows) == {"num_cpus": 8, "num_gpus": 1}


def test_tasks_get_the_drivers_paths_and_thread_count(monkeypatch, tmp_path):
    import ray_build

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DMM_CACHE", "relative-cache")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    env = ray_build.task_env(4)
    assert env["DMM_CACHE"] == str(tmp_path / "relative-cache")
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "4"
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert ray_build.task_env(4)["OMP_NUM_THREADS"] == "2", "the driver's thread count wins"


def test_the_model_phase_asks_for_the_models_the_chapters_use():
    import ray_build

    P = params.resolve("local_manifolds", "smoke")
    wanted = ray_build.model_requests({"local_manifolds": {}, "adversarial_spheres": {}}, "smoke")
    assert ("mnist_autoencoder", "smoke", P["autoencoders"] - 1) in wanted
    assert ("mnist_classifier", "smoke", P["models"] - 1) in wanted
    assert not [r for r in wanted if r[0] not in ray_build.ZOO_TRAINED]
    assert len(wanted) == len(set(wanted)), "each model once"


def test_list_scheduling_and_the_critical_path():
    import critical_path as cp

    assert cp.makespan([3, 3, 2, 2, 2], 2) == 7  # longest first: {3, 2, 2} and {3, 2}
    assert cp.makespan([1.5, 2.5, 1.0], 1) == 5.0
    assert cp.makespan([1.5, 2.5, 1.0], 16) == 2.5, "enough GPUs: the longest task"
    with pytest.raises(ValueError, match="gpus"):
        cp.makespan([1.0], 0)
    rows = {"distance_during_training": {"ok": True, "gpu_hours": [1.0, 5.0], "loops": {"seeds": [1, 2, 5]}},
            "boundary_tilting": {"ok": True, "gpu_hours": [0.5, 0.75], "loops": {"seeds": [1, 2, 5]}},
            "broken": {"ok": False, "gpu_hours": [float("nan")] * 2, "loops": {}}}
    assert sorted(h for _, h in cp.tasks(rows, 1)) == [0.75] + [1.0] * 5, "units of a mapped chapter are tasks"
    one, four = cp.estimates(rows, (1, 4))
    assert one["wall"] == pytest.approx((1.5, 5.75)) and one["total"] == pytest.approx((1.5, 5.75))
    assert four["wall"] == pytest.approx((0.5, 2.0)) and four["critical"] == pytest.approx((0.5, 1.0))
    text = cp.markdown(rows, (1, 4))
    assert "| 4 | 0.50 – 2.0 |" in text and "broken" in text
