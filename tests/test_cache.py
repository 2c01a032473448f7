import hashlib
import json
import os

import pytest
import torch

from dmmlib import cache

CODE = ("dmmlib.cache",)  # compute functions defined here are not dmmlib code: name the code


@pytest.fixture(autouse=True)
def tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DMM_CACHE", str(tmp_path))
    return tmp_path


def test_computes_once_then_reads(tmp_cache):
    calls = []

    def compute():
        calls.append(1)
        return {"w": torch.arange(4.0)}

    a = cache.cached("demo", {"seed": 0}, compute, code=CODE)
    b = cache.cached("demo", {"seed": 0}, compute, code=CODE)
    assert len(calls) == 1 and torch.equal(a["w"], b["w"])
    cache.cached("demo", {"seed": 1}, compute, code=CODE)
    assert len(calls) == 2, "other parameters must be another entry"


def test_corrupt_entry_is_recomputed_not_trusted(tmp_cache):
    cache.cached("demo", {"seed": 0}, lambda: torch.ones(3), code=CODE)
    (entry,) = (tmp_cache / "demo").glob("*.pt")
    entry.write_bytes(entry.read_bytes()[:-7] + b"garbage")
    with pytest.warns(UserWarning, match="invalid"):
        value = cache.cached("demo", {"seed": 0}, lambda: torch.zeros(3), code=CODE)
    assert torch.equal(value, torch.zeros(3))


def test_truncated_metadata_is_recomputed(tmp_cache):
    cache.cached("demo", {"seed": 0}, lambda: torch.ones(3), code=CODE)
    (meta,) = (tmp_cache / "demo").glob("*.json")
    meta.write_text("{")
    with pytest.warns(UserWarning):
        assert torch.equal(cache.cached("demo", {"seed": 0}, lambda: torch.zeros(3), code=CODE), torch.zeros(3))


def test_key_depends_on_code(tmp_path, monkeypatch):
    a = tmp_path / "mod_a_for_cache_test.py"
    a.write_text("x = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    k1 = cache.cache_key("n", {}, ["mod_a_for_cache_test"])
    assert cache.cache_key("n", {}, ["mod_a_for_cache_test"]) == k1
    a.write_text("x = 2\n")
    assert cache.cache_key("n", {}, ["mod_a_for_cache_test"]) != k1


def test_the_shared_models_key_covers_training_code_but_not_the_parameter_registry():
    closure = cache.code_closure(["dmmlib.zoo"])
    hashed = cache.hashed_modules(["dmmlib.zoo"])
    assert "dmmlib.params" in closure and "dmmlib.params" not in hashed  # its resolved values are in the key
    assert "dmmlib.train" in hashed and "dmmlib.models" in {m.rsplit(".", 1)[0] for m in hashed} | set(hashed)


def test_failed_compute_writes_nothing(tmp_cache):
    def boom():
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        cache.cached("demo", {"seed": 0}, boom, code=CODE)
    assert not list(tmp_cache.rglob("*.pt"))


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    cache.atomic_write_bytes(tmp_path / "a" / "f.bin", b"123")
    assert (tmp_path / "a" / "f.bin").read_bytes() == b"123"
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["f.bin"]


def test_corruption_warning_reaches_the_book_tool(tmp_cache, tmp_path, monkeypatch):
    """Under tools/book.py the warning goes to the file the tool prints in the terminal."""
    cache.cached("demo", {"seed": 0}, lambda: torch.ones(3), code=CODE)
    (entry,) = (tmp_cache / "demo").glob("*.pt")
    entry.write_bytes(b"garbage")
    log = tmp_path / "warnings.txt"
    monkeypatch.setenv("DMM_WARNINGS_FILE", str(log))
    with pytest.warns(UserWarning, match="invalid"):
        cache.cached("demo", {"seed": 0}, lambda: torch.zeros(3), code=CODE)
    assert "invalid" in log.read_text() and str(entry) in log.read_text()


def test_unwritable_cache_warns_once_and_returns_the_result(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("DMM_CACHE", str(blocker))
    monkeypatch.setattr(cache, "_UNWRITABLE_WARNED", [])
    with pytest.warns(UserWarning, match="cannot be written"):
        assert torch.equal(cache.cached("demo", {"seed": 0}, lambda: torch.ones(2), code=CODE), torch.ones(2))


# --- the cache holds data only: reading an entry runs no code (issue 30) -------------------------

class _Payload:
    """A pickle that runs a shell command when unpickled by a full unpickler."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def test_a_malicious_entry_runs_no_code_and_is_recomputed(tmp_cache, tmp_path):
    import hashlib
    import io
    import json

    cache.cached("demo", {"seed": 0}, lambda: {"w": torch.ones(3)}, code=CODE)
    (entry,) = (tmp_cache / "demo").glob("*.pt")
    marker = tmp_path / "pwned"
    buffer = io.BytesIO()
    torch.save({"w": _Payload(marker)}, buffer)  # torch.save pickles it, as an attacker would
    data = buffer.getvalue()
    entry.write_bytes(data)
    meta_path = entry.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["sha256"] = hashlib.sha256(data).hexdigest()  # a valid sidecar: the checksum is no defence
    meta_path.write_text(json.dumps(meta))
    with pytest.warns(UserWarning, match="invalid"):
        value = cache.cached("demo", {"seed": 0}, lambda: {"w": torch.zeros(3)}, code=CODE)
    assert not marker.exists(), "reading a cache entry ran code"
    assert torch.equal(value["w"], torch.zeros(3)), "the refused entry must be recomputed"


def test_values_round_trip_through_the_safe_encoding(tmp_cache):
    import numpy as np

    from dmmlib.stats import Interval

    value = {"t": torch.arange(3.0), "a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([True, False]),
             "s": np.float64(0.5), "i": np.int64(7), "iv": Interval(1.0, 0.5, 1.5, 10), "nested": [(1, "x"), None],
             np.int64(3): "numpy key", "nan": float("nan"), "dtype": torch.float32}
    back = cache.cached("demo", {"seed": 0}, lambda: value, code=CODE)
    back = cache.cached("demo", {"seed": 0}, lambda: None, code=CODE)  # read from disk this time
    assert torch.equal(back["t"], value["t"]) and back["dtype"] == torch.float32
    assert isinstance(back["a"], np.ndarray) and back["a"].dtype == np.float32 and (back["a"] == value["a"]).all()
    assert back["b"].dtype == bool and isinstance(back["s"], np.float64) and isinstance(back["i"], np.int64)
    assert isinstance(back["iv"], Interval) and back["iv"] == value["iv"]
    assert back["nested"] == [(1, "x"), None] and back[3] == "numpy key" and back["nan"] != back["nan"]


def test_a_value_that_cannot_be_stored_safely_is_refused(tmp_cache):
    import numpy as np

    with pytest.raises(TypeError, match="cannot be cached safely"):
        cache.encode({"f": lambda: 0})
    with pytest.raises(TypeError, match="objects"):
        cache.encode(np.array([object()]))
    with pytest.raises(ValueError, match="refused type"):
        cache.decode({"__dmm_cache__": "namedtuple", "type": "os:system", "fields": ["true"]})
    with pytest.raises(ValueError, match="refused type"):  # a dmmlib name that is not a named tuple
        cache.decode({"__dmm_cache__": "dataclass", "type": "dmmlib.cache:cached", "fields": {}})


def test_no_unsafe_load_in_the_code():
    """No full unpickler anywhere in dmmlib/ or tools/: a cache or checkpoint must never run code."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    bad = ("weights_only=" + "False", "pickle." + "load(", "pickle." + "loads(", "import " + "dill")
    found = [f"{p.relative_to(root)}: {b}" for d in ("dmmlib", "tools") for p in (root / d).rglob("*.py")
             for b in bad if b in p.read_text()]
    assert not found, found


# --- concurrent writers in separate processes (several nodes sharing $DMM_CACHE) ------------------

RACE_KEYS = 12


def _race_writer(cache_dir: str, barrier, out, tag: int) -> None:
    """A process that computes every race entry with its own value (``tag``, to tell writers
    apart) and reports what ``cached`` returned and the warnings it raised."""
    import warnings

    os.environ["DMM_CACHE"] = cache_dir
    os.environ.pop("DMM_WARNINGS_FILE", None)
    torch.set_num_threads(1)
    barrier.wait()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = [int(cache.cached("race", {"k": k}, lambda: torch.full((50_000,), float(tag)), code=CODE)[0])
               for k in range(RACE_KEYS)]
    out.put((tag, got, [str(w.message) for w in caught]))


def _race_reader(cache_dir: str, barrier, stop, out) -> None:
    """A process that reads every race entry as fast as it can until ``stop``: counts entries
    seen whole and entries seen torn or mixed (data of one writer, checksum of another)."""
    import warnings

    os.environ["DMM_CACHE"] = cache_dir
    os.environ.pop("DMM_WARNINGS_FILE", None)
    torch.set_num_threads(1)  # a forked child must not use the parent's OpenMP pool (it hangs with 2 threads)
    barrier.wait()
    whole = torn = 0
    keys = [cache.cache_key("race", {"k": k}, CODE) for k in range(RACE_KEYS)]
    while not stop.is_set():
        for key in keys:
            with warnings.catch_warnings(record=True) as caught:  # "invalid": a torn or mixed pair was read
                warnings.simplefilter("always")
                value = cache._load(cache.cache_dir() / "race" / f"{key[:32]}.pt", key)
            torn += sum("invalid" in str(w.message) for w in caught)
            if value is not cache._MISSING:  # absent, or its metadata not written yet: not an entry yet
                whole += 1
                torn += int(not torch.all(value == value[0]))
    out.put((whole, torn))


def test_concurrent_writers_in_separate_processes_agree_and_leave_no_torn_entry(tmp_path):
    """4 processes write the same 12 entries at once, each with its own value, while 2 read
    them: every writer gets the first writer's value for every entry, no reader sees a torn or
    mixed entry, and every entry on disk is whole (its checksum matches its data)."""
    import multiprocessing as mp
    import queue

    ctx = mp.get_context("fork")  # as DataLoader workers: no second import of torch
    barrier, out, stop = ctx.Barrier(6), ctx.Queue(), ctx.Event()
    writers = [ctx.Process(target=_race_writer, args=(str(tmp_path), barrier, out, tag)) for tag in range(1, 5)]
    readers = [ctx.Process(target=_race_reader, args=(str(tmp_path), barrier, stop, out)) for _ in range(2)]
    for p in writers + readers:
        p.start()
    try:
        results = [out.get(timeout=120) for _ in writers]
        stop.set()
        seen = [out.get(timeout=60) for _ in readers]
    except queue.Empty:
        pytest.fail("a racing process did not report in time")
    finally:
        stop.set()
        for p in writers + readers:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    assert all(p.exitcode == 0 for p in writers + readers)
    got = {tag: values for tag, values, _ in results}
    assert not [w for _, _, ws in results for w in ws if "invalid" in w], "a writer found an invalid entry"
    for k in range(RACE_KEYS):
        assert len({got[tag][k] for tag in got}) == 1, f"entry {k}: writers got different values {[got[t][k] for t in got]}"
    assert sum(torn for _, torn in seen) == 0, f"readers saw torn or mixed entries: {seen}"
    assert all(whole > 0 for whole, _ in seen), "the readers must have read whole entries"
    entries = sorted((tmp_path / "race").glob("*.pt"))
    assert len(entries) == RACE_KEYS
    for entry in entries:
        meta = json.loads(entry.with_suffix(".json").read_text())
        assert meta["sha256"] == hashlib.sha256(entry.read_bytes()).hexdigest()
    assert not list((tmp_path / "race").glob(".*.tmp")), "a temporary file was left behind"


def test_model_fingerprint_follows_the_weights_not_the_object():
    a, b = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    b.load_state_dict(a.state_dict())
    assert cache.model_fingerprint(a) == cache.model_fingerprint(b) and len(cache.model_fingerprint(a)) == 16
    with torch.no_grad():
        b.bias[0] += 1e-3
    assert cache.model_fingerprint(a) != cache.model_fingerprint(b)
