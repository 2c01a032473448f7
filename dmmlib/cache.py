"""The on-disk cache of trained models and expensive results.

An entry is keyed by a name, the parameters that produced it and a hash of the source of
the code that made it, so changing either recomputes it. Entries are written atomically
(temporary file, then rename) with a SHA-256 of their bytes; an entry that is missing,
truncated, corrupt or from other code is recomputed, never trusted.

The cache lives in ``$DMM_CACHE`` (the Makefile points it at ``.cache/`` in the
repository), else ``~/.cache/dmm-book``. ``make clean-cache`` deletes it.
"""
from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
import tempfile
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterable, Mapping, TypeVar

import torch

T = TypeVar("T")


def cache_dir() -> Path:
    """The cache folder (created on first write)."""
    return Path(os.environ.get("DMM_CACHE") or Path.home() / ".cache" / "dmm-book")


def code_version(modules: Iterable[str | ModuleType] = ("dmmlib",)) -> str:
    """SHA-256 (hex) of the source files of ``modules``; a package counts all its ``.py`` files."""
    digest = hashlib.sha256()
    for module in modules:
        mod = importlib.import_module(module) if isinstance(module, str) else module
        root = Path(mod.__file__)
        files = sorted(root.parent.rglob("*.py")) if root.name == "__init__.py" else [root]
        for f in files:
            digest.update(str(f.relative_to(root.parent.parent)).encode())
            digest.update(f.read_bytes())
    return digest.hexdigest()


def cache_key(name: str, params: Mapping[str, Any], code: Iterable[str | ModuleType] = ("dmmlib",)) -> str:
    """The hex key of an entry: name, parameters (JSON, sorted), code hash and torch version."""
    blob = json.dumps(
        {"name": name, "params": params, "code": code_version(code), "torch": torch.__version__},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def cached(
    name: str,
    params: Mapping[str, Any],
    compute: Callable[[], T],
    *,
    code: Iterable[str | ModuleType] = ("dmmlib",),
) -> T:
    """Return the cached result of ``compute()`` for ``(name, params, code)``, computing and
    storing it when absent or invalid.

    ``compute`` must return something ``torch.save`` can hold (tensors, state dicts, dicts
    and lists of numbers and arrays). Loaded tensors are on the CPU.
    """
    key = cache_key(name, dict(params), code)
    path = cache_dir() / name / f"{key[:32]}.pt"
    value = _load(path, key)
    if value is not _MISSING:
        return value
    value = compute()
    _store(path, key, name, dict(params), value)
    return value


_MISSING = object()


def _load(path: Path, key: str) -> Any:
    meta_path = path.with_suffix(".json")
    if not path.exists() or not meta_path.exists():
        return _MISSING
    try:
        meta = json.loads(meta_path.read_text())
        data = path.read_bytes()
        if meta.get("key") != key or meta.get("sha256") != hashlib.sha256(data).hexdigest():
            raise ValueError("key or checksum mismatch")
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=False)
    except Exception as err:  # corrupt entry: say so, then recompute
        warnings.warn(f"cache entry {path} is invalid ({err}); recomputing", stacklevel=3)
        return _MISSING


def _store(path: Path, key: str, name: str, params: dict, value: Any) -> None:
    buffer = io.BytesIO()
    torch.save(value, buffer)
    data = buffer.getvalue()
    meta = {"key": key, "name": name, "params": params, "sha256": hashlib.sha256(data).hexdigest()}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)
    atomic_write_bytes(path.with_suffix(".json"), json.dumps(meta, indent=1, default=str).encode())


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
