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
