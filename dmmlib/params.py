"""The registry of every chapter's knobs: resolution and validation of parameters.

Each chapter declares its knobs beside its code, in ``dmmlib/chapters/<name>/profiles.py``:
``QUICK`` (every knob's value under the default profile), ``SMOKE`` and ``PAPER`` (overrides
of ``QUICK``) and ``RANGES`` (the valid inclusive range of every number a knob holds). The
trained models that several chapters share declare theirs in ``dmmlib/zoo_profiles.py``
(registered as ``shared_models``). A chapter's notebook has a papermill ``parameters`` cell
that sets ``profile`` and every knob to ``None`` ("take the profile's value"); its next cell
calls :func:`from_namespace` to get the resolved values. Profiles:

- ``smoke``: exercises the code in seconds, for tests; its numbers mean nothing.
- ``quick``: the default; shows the phenomenon on a 2-core CPU in minutes, with several
  seeds and the statistics to judge it.
- ``paper``: the paper's settings, for people with a GPU.

The type of a knob is the type of its ``quick`` value (an ``int`` is accepted where a
``float`` is expected; a list's elements are checked against its first element); its
numbers must lie in its range. A wrong name, type or value raises :class:`ParameterError`
(one line naming the knob and what is allowed) before any work starts.
"""
from __future__ import annotations

import importlib
import importlib.util
import math
import os
import pkgutil
from types import MappingProxyType
from typing import Any, Mapping

PROFILE_NAMES = ("smoke", "quick", "paper")
# knobs that count iterations of a loop: what a dry run of the paper profile cuts (tools/dry_run.py)
LOOP_NAMES = ("seeds",)
LOOP_SUFFIXES = ("epochs", "steps", "iters", "iter", "restarts", "checkpoints", "samples", "_eval", "_seeds")
DRY_RUN_ENV = "DMM_DRY_RUN_CUT"
# loop knobs that count Monte Carlo samples evaluated in batches: a dry run cuts them to a
# percentage (cut 1: 1 %, cut 2: 2 %) of their value instead of to 1 or 2 samples, so that the
# batches keep their shape and the cost per sample can be measured
SAMPLE_SUFFIXES = ("samples", "_eval")
SHARED = {"shared_models": "dmmlib.zoo_profiles"}


def _load_profiles(module_name: str) -> dict[str, dict[str, Any]]:
    mod = importlib.import_module(module_name)
    quick = dict(mod.QUICK)
    for name, over in (("SMOKE", mod.SMOKE), ("PAPER", mod.PAPER)):
        unknown = set(over) - set(quick)
        if unknown:
            raise ImportError(f"{module_name}.{name} overrides unknown knob(s) {sorted(unknown)}")
    return {"smoke": {**quick, **mod.SMOKE}, "quick": quick, "paper": {**quick, **mod.PAPER},
            "ranges": dict(getattr(mod, "RANGES", {}))}


def _discover() -> dict[str, dict[str, dict[str, Any]]]:
    """chapter name -> {"smoke"|"quick"|"paper": {knob: value}, "ranges": {knob: (lo, hi)}}."""
    import dmmlib.chapters as chapters

    found = {}
    for info in pkgutil.iter_modules(chapters.__path__):
        if info.ispkg and importlib.util.find_spec(f"dmmlib.chapters.{info.name}.profiles") is not None:
            found[info.name] = _load_profiles(f"dmmlib.chapters.{info.name}.profiles")
    for name, module in SHARED.items():
        found[name] = _load_profiles(module)
    return found


# chapter name -> profile -> knob -> value (and "ranges" -> knob -> (lo, hi)).
PROFILES: dict[str, dict[str, dict[str, Any]]] = _discover()




class ParameterError(ValueError):
    """An unknown chapter, profile or knob, or a value of the wrong type."""


def knobs(chapter: str) -> tuple[str, ...]:
    """The knob names of ``chapter`` (without ``profile``)."""
    return tuple(_chapter(chapter)["quick"])


def resolve(chapter: str, profile: str = "quick", **overrides: Any) -> Mapping[str, Any]:
    """The values of ``chapter``'s knobs under ``profile``, with ``overrides`` applied.

    ``None`` in ``overrides`` means "the profile's value". Returns a read-only mapping that
    also holds ``profile``. Raises :class:`ParameterError` naming the unknown profile or
    knob and the allowed values, or the knob whose value has the wrong type.
    """
    table = _chapter(chapter)
    if profile not in PROFILE_NAMES:
        raise ParameterError(
            f"unknown profile {profile!r} for chapter {chapter!r}; allowed: {', '.join(PROFILE_NAMES)}"
        )
    values = dict(table[profile])
    unknown = sorted(set(overrides) - set(values))
    if unknown:
        raise ParameterError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for chapter {chapter!r}; "
            f"allowed: profile, {', '.join(sorted(values))}"
        )
    for name, value in overrides.items():
        if value is not None:
            values[name] = _checked(chapter, name, value, table["quick"][name])
            _check_range(chapter, name, values[name], table.get("ranges", {}).get(name))
    cut = os.environ.get(DRY_RUN_ENV)
    if cut:  # a dry run (tools/dry_run.py): every loop knob cut, also those of the shared models
        lows = table.get("ranges", {})
        for name in loop_knobs(chapter, values):
            values[name] = dry_run_value(name, values[name], int(cut), int(lows.get(name, (1, None))[0]))
    values["profile"] = profile
    return MappingProxyType(values)


def dry_run_value(name: str, value: int, cut: int, low: int = 1) -> int:
    """The value of the loop knob ``name`` (at ``value`` in the full run) in a dry run cut to
    ``cut`` (1 or 2): ``cut`` % of a Monte Carlo sample count (:data:`SAMPLE_SUFFIXES`);
    otherwise ``cut`` iterations, or ``cut`` per mille of a loop longer than 1,000 iterations
    (a million SGD steps: 1,000 and 2,000), so that doubling it costs measurably more time;
    a knob whose range starts above 1 (at least 3 checkpoints) takes ``low`` and ``low + 1``.
    Never above ``value``."""
    if name.endswith(SAMPLE_SUFFIXES):
        return max(min(value, math.ceil(value * cut / 100)), low)
    return min(value, max(math.ceil(value * cut / 1000), cut) + max(low - 1, 0))


def loop_knobs(chapter: str, values: Mapping[str, Any]) -> list[str]:
    """The integer knobs of ``values`` (a chapter's resolved knobs) that count loop iterations
    and are above 1: seeds, epochs, steps, iterations, restarts, checkpoints, samples."""
    return [k for k, v in values.items() if k != "profile" and isinstance(v, int) and not isinstance(v, bool)
            and (k in LOOP_NAMES or k.endswith(LOOP_SUFFIXES)) and v > 1]


def from_namespace(chapter: str, namespace: Mapping[str, Any]) -> Mapping[str, Any]:
    """:func:`resolve` with ``profile`` and the knobs read from a notebook's ``globals()``."""
    profile = namespace.get("profile", "quick")
    return resolve(chapter, profile, **{k: namespace[k] for k in knobs(chapter) if k in namespace})


def parse_assignment(text: str) -> tuple[str, Any]:
    """``"name=value"`` from the command line -> ``(name, value)``; the value is a Python literal
    (``3``, ``0.02``, ``[1, 2]``, ``True``) or, failing that, a string."""
    import ast

    if "=" not in text:
        raise ParameterError(f"expected name=value, got {text!r}")
    name, raw = text.split("=", 1)
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return name.strip(), value


def ranges(chapter: str) -> Mapping[str, tuple]:
    """{knob: (lo, hi)}: the valid inclusive range of every number each knob holds."""
    return MappingProxyType(dict(_chapter(chapter).get("ranges", {})))


def _numbers(value: Any):
    """Every number inside ``value`` (itself, a list's elements, a dict's values), bools excluded."""
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _numbers(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _numbers(v)


def _check_range(chapter: str, name: str, value: Any, bounds) -> None:
    if bounds is None:
        return
    lo, hi = bounds
    for x in _numbers(value):
        if not lo <= x <= hi:
            raise ParameterError(
                f"parameter {name!r} of chapter {chapter!r} must lie in [{lo}, {hi}], got {value!r}"
            )


def _chapter(chapter: str) -> dict[str, dict[str, Any]]:
    if chapter not in PROFILES:
        raise ParameterError(f"unknown chapter {chapter!r}; known: {', '.join(sorted(PROFILES))}")
    return PROFILES[chapter]


def _checked(chapter: str, name: str, value: Any, example: Any) -> Any:
    def ok(v: Any, ex: Any) -> bool:
        if isinstance(ex, bool) or isinstance(v, bool):
            return isinstance(v, bool) and isinstance(ex, bool)
        if isinstance(ex, float):
            return isinstance(v, (int, float))
        if isinstance(ex, (list, tuple)):
            return isinstance(v, (list, tuple)) and (not ex or all(ok(e, ex[0]) for e in v))
        return isinstance(v, type(ex))

    if not ok(value, example):
        raise ParameterError(
            f"parameter {name!r} of chapter {chapter!r} must be of type {_type_name(example)} "
            f"(e.g. {example!r}), got {value!r} of type {type(value).__name__}"
        )
    if isinstance(example, float):
        return float(value)
    if isinstance(example, tuple):
        return tuple(value)
    return value


def _type_name(example: Any) -> str:
    if isinstance(example, (list, tuple)) and example:
        return f"{type(example).__name__} of {type(example[0]).__name__}"
    return type(example).__name__
