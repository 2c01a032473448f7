import pytest
import torch

from dmmlib import cache


@pytest.fixture(autouse=True)
def tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DMM_CACHE", str(tmp_path))
    return tmp_path


def test_computes_once_then_reads(tmp_cache):
    calls = []

    def compute():
        calls.append(1)
        return {"w": torch.arange(4.0)}

    a = cache.cached("demo", {"seed": 0}, compute)
    b = cache.cached("demo", {"seed": 0}, compute)
    assert len(calls) == 1 and torch.equal(a["w"], b["w"])
    cache.cached("demo", {"seed": 1}, compute)
    assert len(calls) == 2, "other parameters must be another entry"


def test_corrupt_entry_is_recomputed_not_trusted(tmp_cache):
    cache.cached("demo", {"seed": 0}, lambda: torch.ones(3))
    (entry,) = (tmp_cache / "demo").glob("*.pt")
    entry.write_bytes(entry.read_bytes()[:-7] + b"garbage")
    with pytest.warns(UserWarning, match="invalid"):
        value = cache.cached("demo", {"seed": 0}, lambda: torch.zeros(3))
    assert torch.equal(value, torch.zeros(3))


def test_truncated_metadata_is_recomputed(tmp_cache):
    cache.cached("demo", {"seed": 0}, lambda: torch.ones(3))
    (meta,) = (tmp_cache / "demo").glob("*.json")
    meta.write_text("{")
    with pytest.warns(UserWarning):
        assert torch.equal(cache.cached("demo", {"seed": 0}, lambda: torch.zeros(3)), torch.zeros(3))


def test_key_depends_on_code(tmp_path):
    a = tmp_path / "mod_a.py"
    a.write_text("x = 1\n")
    import importlib.util

    spec = importlib.util.spec_from_file_location("mod_a", a)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    k1 = cache.cache_key("n", {}, [mod])
    a.write_text("x = 2\n")
    assert cache.cache_key("n", {}, [mod]) != k1


def test_failed_compute_writes_nothing(tmp_cache):
    def boom():
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        cache.cached("demo", {"seed": 0}, boom)
    assert not list(tmp_cache.rglob("*.pt"))


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    cache.atomic_write_bytes(tmp_path / "a" / "f.bin", b"123")
    assert (tmp_path / "a" / "f.bin").read_bytes() == b"123"
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["f.bin"]
