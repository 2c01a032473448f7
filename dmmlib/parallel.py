"""A chapter's independent units of work (seeds, model units): a plain loop, or tasks on Ray.

    results = parallel.map(fn, items)                     # [fn(item) for item in items]
    results = parallel.map(fn, items, context=shared)     # [fn(shared, item) for item in items]

:func:`map` returns the results in the order of ``items``. It runs a plain loop in this
process unless a Ray cluster is attached (https://docs.ray.io):

- ``ray`` is imported and initialised in this process (``ray.is_initialized()``), or
- the caller opted in with ``DMM_PARALLEL=ray`` and ``RAY_ADDRESS`` names a cluster: the
  first call connects to it (``ray.init(address=$RAY_ADDRESS)``).

Then each item is one Ray task (``ray.remote``) asking for ``resources`` (default: one CPU,
and one GPU when the cluster has GPUs), retried by Ray up to ``retries`` times when its worker
dies (a killed process, the node's out-of-memory killer). ``context`` is put into Ray's object
store once and handed to every task, so large shared inputs (training images, tangent bases)
are not copied into each task's definition.

The results are the loop's, bit for bit, when ``fn`` fixes its own randomness from the item
(a seed argument, ``torch.Generator().manual_seed(...)``, :func:`dmmlib.device.seed_everything`)
and reads no global state another unit changed: each task runs ``fn`` in a fresh worker with
torch set to this process's thread count (the summation order of floating-point reductions
depends on it) on the same kind of device. The values come back through Ray's object store
(pickled): tensors, arrays, numbers, containers. ``tools/book.py`` on Ray passes
``DMM_PARALLEL`` (and the cluster's address) to its chapter tasks only when its own
environment sets it: a chapter task that waits on unit tasks holds its own resources
meanwhile, so opt in only where the cluster has room for both (``book/cluster.md``).
"""
from __future__ import annotations

import os
import sys
from typing import Any, Callable, Iterable, Mapping, TypeVar

T = TypeVar("T")
R = TypeVar("R")

ENV = "DMM_PARALLEL"  # "ray": connect to $RAY_ADDRESS on the first map
RESOURCE_KEYS = ("num_cpus", "num_gpus", "memory", "resources")
DEFAULT_RETRIES = 3

_NO_CONTEXT = object()


def ray_attached() -> bool:
    """Whether :func:`map` runs tasks on Ray: ``ray`` initialised in this process, or
    ``DMM_PARALLEL=ray`` with ``RAY_ADDRESS`` set (then it connects; a cluster that cannot be
    reached raises Ray's ``ConnectionError``)."""
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        return True
    if os.environ.get(ENV, "").lower() != "ray" or not os.environ.get("RAY_ADDRESS"):
        return False
    try:
        import ray
    except ImportError as err:
        raise ImportError(f"{ENV}=ray needs Ray: pip install '.[cluster]' (requirements-lock.txt pins it)") from err
    if not ray.is_initialized():
        ray.init(address=os.environ["RAY_ADDRESS"], log_to_driver=False, ignore_reinit_error=True)
    return True


def map(fn: Callable[..., R], items: Iterable[T], *, context: Any = _NO_CONTEXT,
        resources: Mapping[str, Any] | None = None, retries: int = DEFAULT_RETRIES,
        desc: str | None = None) -> list[R]:
    """``[fn(item) for item in items]`` (``[fn(context, item) ...]`` when ``context`` is given),
    in order: a loop here, or one Ray task per item when :func:`ray_attached`.

    ``desc``: show a progress bar with this label (:func:`dmmlib.progress.progress`), one step per item.

    ``resources``: what each task asks Ray for (``num_cpus``, ``num_gpus``, ``memory`` in bytes,
    custom ``resources``); default one CPU, plus one GPU when the cluster has any. ``retries``:
    how many times Ray runs a task again after its worker died (>= 0). An exception raised by
    ``fn`` is not retried: it is raised here, as the loop would raise it."""
    if not callable(fn):
        raise TypeError(f"parallel.map: fn must be callable, got {type(fn).__name__}")
    try:
        items = list(items)
    except TypeError as err:
        raise TypeError(f"parallel.map: items must be iterable, got {type(items).__name__}") from err
    if resources is not None:
        if not isinstance(resources, Mapping):
            raise TypeError(f"parallel.map: resources must be a dict, got {type(resources).__name__}")
        unknown = sorted(set(resources) - set(RESOURCE_KEYS))
        if unknown:
            raise ValueError(f"parallel.map: unknown resources {unknown}; known: {', '.join(RESOURCE_KEYS)}")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"parallel.map: retries must be an int >= 0, got {retries!r}")
    if not items:
        return []
    if not ray_attached():
        if desc is not None:
            from dmmlib.progress import progress

            items = progress(items, desc=desc, leave=False)
        if context is _NO_CONTEXT:
            return [fn(item) for item in items]
        return [fn(context, item) for item in items]
    return _ray_map(fn, items, context, resources, retries)


def default_resources() -> dict:
    """One CPU per task, plus one GPU when the attached cluster has GPUs."""
    import ray

    return {"num_cpus": 1, **({"num_gpus": 1} if ray.cluster_resources().get("GPU", 0) > 0 else {})}


def _ray_map(fn, items: list, context, resources, retries: int) -> list:
    import ray
    import torch

    options = dict(resources) if resources is not None else default_resources()
    task = ray.remote(_call).options(max_retries=retries, **options)
    has_context = context is not _NO_CONTEXT
    shared = ray.put(context) if has_context else None
    threads = torch.get_num_threads()
    refs = [task.remote(fn, has_context, shared, item, threads) for item in items]
    try:
        return ray.get(refs)
    except ray.exceptions.RayTaskError as err:  # fn raised: raise its own exception, as the loop would
        raise err.as_instanceof_cause() from None


def _call(fn, has_context: bool, context, item, threads: int):
    """In a Ray worker: torch at the caller's thread count, then ``fn``."""
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return fn(context, item) if has_context else fn(item)

