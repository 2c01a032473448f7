"""The on-disk cache of trained models and expensive results.

An entry is keyed by a name, the parameters that produced it and a hash of the source of
the code that made it, so changing either recomputes it. Entries are written atomically
(temporary file, then rename) with a SHA-256 of their bytes; an entry that is missing,
truncated, corrupt or from other code is recomputed, never trusted.

Several processes, on one machine or on the nodes of a cluster sharing ``$DMM_CACHE``, may
compute the same entry at once (``tools/book.py`` on Ray, :mod:`dmmlib.parallel`). An entry
is two files (the data, ``<key>.pt``, and its metadata with the checksum, ``<key>.json``),
so they are written and read under a lock on ``<key>.lock`` (``flock``: exclusive to write,
shared to read), and the first writer wins: a writer that finds a valid entry already there
keeps it and returns its value, so every process gets the same value and no reader sees the
data of one writer with the checksum of another. On a filesystem without ``flock`` the
lock is skipped: the renames still leave no torn file, and a mixed pair fails its checksum
and is recomputed, never trusted.

An entry holds data only, and reading it runs no code: it is read with
``torch.load(weights_only=True)``, which unpickles tensors, numbers, strings and containers
and refuses anything else. Values that such a load cannot hold are encoded first
(:func:`encode`): numpy arrays as tensors, numpy scalars as numbers, and the named tuples and
dataclasses of ``dmmlib`` as their fields with the type's name, rebuilt on reading only when
the name is such a type of ``dmmlib``. An entry that cannot be read this way (a pickle that
would call a function, say) is refused with the warning a corrupt one gets, and recomputed.
A cache is therefore safe to share: the worst a tampered entry can do is hold wrong numbers.

The cache lives in ``$DMM_CACHE`` (the Makefile points it at ``.cache/`` in the
repository), else ``~/.cache/dmm-book``. ``make clean-cache`` deletes it.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
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


def dmmlib_imports(module: str) -> set[str]:
    """The ``dmmlib`` modules that ``module``'s source imports (anywhere in the file, also
    inside functions), read from its syntax tree. Packages resolve to their ``__init__``."""
    import ast

    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return set()
    tree = ast.parse(Path(spec.origin).read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # "from dmmlib.x import y": y may be a submodule or a name in dmmlib.x
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] == "dmmlib" and _is_module(name):
                found.add(name)
    return found


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, AttributeError, ValueError):  # "dmmlib.cache.cached" is a name, not a module
        return False


def code_closure(modules: Iterable[str | ModuleType]) -> tuple[str, ...]:
    """``modules`` and every ``dmmlib`` module they import, transitively, sorted: the code a
    cached result depends on."""
    todo = [m if isinstance(m, str) else m.__name__ for m in modules]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(dmmlib_imports(name) - seen)
    return tuple(sorted(seen))


# modules that compute no cached value: the parameter registry (the values it resolves are in
# every key themselves) and the progress bars. Editing them must not retrain the shared models.
# The cache itself and dmmlib.parallel (a loop or Ray tasks, same values) decide no value either.
KEY_NEUTRAL = ("dmmlib.params", "dmmlib.progress", "dmmlib.cache", "dmmlib.parallel")


def hashed_modules(modules: Iterable[str | ModuleType]) -> tuple[str, ...]:
    """The modules of ``code_closure(modules)`` whose sources enter a cache key (all but :data:`KEY_NEUTRAL`)."""
    return tuple(m for m in code_closure(modules) if m not in KEY_NEUTRAL)


def _closure_version(modules: Iterable[str | ModuleType]) -> str:
    """SHA-256 of the sources of :func:`hashed_modules`, one file per module (a package
    counts its ``__init__.py`` only; what it imports is in the closure by itself)."""
    digest = hashlib.sha256()
    for name in hashed_modules(modules):
        spec = importlib.util.find_spec(name)
        digest.update(name.encode())
        digest.update(Path(spec.origin).read_bytes())
    return digest.hexdigest()


def cache_key(name: str, params: Mapping[str, Any], code: Iterable[str | ModuleType]) -> str:
    """The hex key of an entry: name, parameters (JSON, sorted), the hash of the code closure of
    ``code`` (see :func:`code_closure`), the identity of the data that code reads when it reads
    any (:func:`dmmlib.data.paths.data_identity`) and the torch version."""
    closure = code_closure(code)
    data = None
    if any(m.startswith("dmmlib.data") for m in closure):
        from dmmlib.data.paths import data_identity

        data = data_identity()
    blob = json.dumps(
        {"name": name, "params": params, "code": _closure_version(code), "data": data, "torch": torch.__version__},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def cached(
    name: str,
    params: Mapping[str, Any],
    compute: Callable[[], T],
    *,
    code: Iterable[str | ModuleType] | None = None,
) -> T:
    """Return the cached result of ``compute()`` for ``(name, params, code)``, computing and
    storing it when absent or invalid.

    ``code``: the modules whose code makes the result; the key covers them and every ``dmmlib``
    module they import, transitively. Default: the module that defines ``compute`` (which
    must then be a ``dmmlib`` module: a lambda from a notebook must name ``code``).
    ``compute`` must return data :func:`encode` can hold: tensors, numpy arrays and scalars,
    numbers, strings, bytes, None, and dicts, lists, tuples, named tuples and dataclasses
    (of ``dmmlib``) of them; anything else is refused with a ``TypeError``. Loaded tensors are
    on the CPU. When the cache cannot be
    written (a read-only or full disk), the result is returned uncached with one warning.
    """
    if code is None:
        module = getattr(compute, "__module__", "") or ""
        if not module.startswith("dmmlib"):
            raise ValueError(f"cached({name!r}): compute is defined in {module!r}, not in dmmlib; pass code=(modules...)")
        code = (module,)
    key = cache_key(name, dict(params), tuple(code))
    path = cache_dir() / name / f"{key[:32]}.pt"
    value = _load(path, key)
    if value is not _MISSING:
        return value
    value = compute()
    try:
        value = _store(path, key, name, dict(params), value)
    except OSError as err:
        if not _UNWRITABLE_WARNED:
            _UNWRITABLE_WARNED.append(str(err))
            _warn(f"the cache {cache_dir()} cannot be written ({err}); continuing without caching")
    return value


_UNWRITABLE_WARNED: list[str] = []


def _warn(message: str) -> None:
    """A warning shown in the notebook and in the terminal: under ``tools/book.py`` (which sets
    ``DMM_WARNINGS_FILE``) appended to that file, which the tool prints after the chapter ran;
    otherwise printed to the process's original stderr."""
    import sys

    warnings.warn(message, stacklevel=3)
    line = f"[dmmlib] warning: {message}"
    target = os.environ.get("DMM_WARNINGS_FILE")
    if target:
        try:
            with open(target, "a") as f:
                f.write(line + "\n")
            return
        except OSError:
            pass
    if sys.__stderr__ is not None:
        print(line, file=sys.__stderr__, flush=True)


_MISSING = object()


def _load(path: Path, key: str, *, warn: bool = True) -> Any:
    """The value of the entry at ``path`` (its data file) if it is complete and valid for
    ``key``, else ``_MISSING`` (with a warning, when ``warn``, for an invalid one)."""
    meta_path = path.with_suffix(".json")
    if not path.exists() or not meta_path.exists():
        return _MISSING
    try:
        with entry_lock(path, exclusive=False):
            meta = json.loads(meta_path.read_text())
            data = path.read_bytes()
        if meta.get("key") != key or meta.get("sha256") != hashlib.sha256(data).hexdigest():
            raise ValueError("key or checksum mismatch")
        # weights_only: a full unpickler would run whatever code the entry names
        return decode(torch.load(io.BytesIO(data), map_location="cpu", weights_only=True))
    except Exception as err:  # corrupt or unsafe entry: say so, then recompute
        if warn:
            _warn(f"cache entry {path} is invalid ({err}); recomputing")
        return _MISSING


def _store(path: Path, key: str, name: str, params: dict, value: Any) -> Any:
    """Write ``value`` as the entry at ``path`` unless another process wrote a valid one since
    this one looked (the first writer wins); return the entry's value: the one written, or
    the one found (loaded, on the CPU)."""
    buffer = io.BytesIO()
    torch.save(encode(value), buffer)
    data = buffer.getvalue()
    meta = {"key": key, "name": name, "params": params, "sha256": hashlib.sha256(data).hexdigest()}
    path.parent.mkdir(parents=True, exist_ok=True)
    with entry_lock(path, exclusive=True):
        meta_path = path.with_suffix(".json")
        if path.exists() and meta_path.exists():
            try:
                old = json.loads(meta_path.read_text())
                found = path.read_bytes()
                if old.get("key") == key and old.get("sha256") == hashlib.sha256(found).hexdigest():
                    return decode(torch.load(io.BytesIO(found), map_location="cpu", weights_only=True))
            except Exception:  # corrupt or unsafe: overwritten below
                pass
        atomic_write_bytes(path, data)
        atomic_write_bytes(meta_path, json.dumps(meta, indent=1, default=str).encode())
    return value


@contextlib.contextmanager
def entry_lock(path: Path, *, exclusive: bool):
    """Hold ``flock`` on ``<path without suffix>.lock`` (exclusive, or shared) for the ``with``
    block. Skipped (no lock) where the lock file cannot be made (a read-only cache) or the
    filesystem has no ``flock``: the renames and checksums then keep the entry safe alone."""
    import fcntl

    try:
        fd = os.open(Path(path).with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        except OSError:
            pass
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


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


_TAG = "__dmm_cache__"  # marks an encoded value; a dict of the caller's never holds this key


def encode(value: Any) -> Any:
    """``value`` as data that ``torch.load(weights_only=True)`` reads back: tensors (moved to
    the CPU), None, bools, numbers, strings and bytes as they are; dicts, lists and tuples
    with their items encoded; numpy arrays as tensors and numpy scalars as Python numbers
    (tagged, so :func:`decode` returns numpy again); named tuples and dataclasses defined in
    ``dmmlib`` as their type's name and fields. Raises ``TypeError`` for anything else."""
    import dataclasses

    import numpy as np

    if isinstance(value, np.generic):  # first: np.float64 is also a float
        return {_TAG: "npscalar", "dtype": value.dtype.str, "value": value.item()}
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes, torch.dtype, torch.Size)):
        return value
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise TypeError("a numpy array of Python objects cannot be cached safely")
        return {_TAG: "ndarray", "data": torch.from_numpy(np.ascontiguousarray(value).copy())}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return {_TAG: "namedtuple", "type": _type_name(value), "fields": [encode(v) for v in value]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        return {_TAG: "dataclass", "type": _type_name(value), "fields": fields}
    if isinstance(value, dict):
        if _TAG in value:
            raise TypeError(f"a dict with the key {_TAG!r} cannot be cached")
        return {_plain_key(k): encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, tuple):
        return tuple(encode(v) for v in value)
    raise TypeError(f"a {type(value).__module__}.{type(value).__qualname__} cannot be cached safely; "
                    "return tensors, arrays, numbers, strings and containers of them")


def decode(value: Any) -> Any:
    """The inverse of :func:`encode`. A type name is resolved only to a named tuple or a
    dataclass defined in ``dmmlib``; any other name raises ``ValueError``."""
    import numpy as np

    if isinstance(value, dict):
        tag = value.get(_TAG)
        if tag is None:
            return {k: decode(v) for k, v in value.items()}
        if tag == "ndarray":
            return value["data"].numpy()
        if tag == "npscalar":
            return np.dtype(value["dtype"]).type(value["value"])
        cls = _safe_type(value["type"], tag)
        if tag == "namedtuple":
            return cls(*[decode(v) for v in value["fields"]])
        return cls(**{k: decode(v) for k, v in value["fields"].items()})
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, tuple):
        return tuple(decode(v) for v in value)
    return value


def _plain_key(key: Any) -> Any:
    import numpy as np

    return key.item() if isinstance(key, np.generic) else key


def _type_name(value: Any) -> str:
    cls = type(value)
    if not cls.__module__.startswith("dmmlib.") or "<" in cls.__qualname__:
        raise TypeError(f"only named tuples and dataclasses defined at the top of a dmmlib module can be cached, "
                        f"got {cls.__module__}.{cls.__qualname__}")
    return f"{cls.__module__}:{cls.__qualname__}"


def _safe_type(name: str, tag: str) -> type:
    """The named tuple or dataclass ``name`` (``module:qualname``) of ``dmmlib``, else ValueError."""
    import dataclasses

    module, _, qualname = str(name).partition(":")
    if not module.startswith("dmmlib.") or tag not in ("namedtuple", "dataclass") or not qualname.isidentifier():
        raise ValueError(f"refused type {name!r} in a cache entry")
    cls = getattr(importlib.import_module(module), qualname, None)
    ok = isinstance(cls, type) and (
        (tag == "namedtuple" and issubclass(cls, tuple) and hasattr(cls, "_fields"))
        or (tag == "dataclass" and dataclasses.is_dataclass(cls)))
    if not ok:
        raise ValueError(f"refused type {name!r} in a cache entry")
    return cls


def model_fingerprint(model: torch.nn.Module) -> str:
    """SHA-256 (hex, 16 characters) of a model's parameter and buffer names and values: the
    part of a cache key that says which trained weights a result was computed with."""
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]
