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
``float`` is expected; a list's elements are checked against its first element; a dict must
have exactly the keys of its ``quick`` value, each entry of that entry's type); its numbers
must lie in its range. A chapter's ``profiles.py`` may also declare

- ``CHOICES``: ``{knob: allowed values}`` for a text (or other) knob, or for the elements of
  a list knob (``{"basis_method": ("jvp", "fd"), "controls": ("random", "pca")}``);
- ``CONSTRAINTS``: ``[(description, predicate), ...]``, each predicate a function of the
  resolved parameters ``P`` that must be true (``("lambda_min < lambda_max", lambda P:
  P["lambda_min"] < P["lambda_max"])``); the error names the knobs the description names;
- ``DOCS``: ``{knob: "what it means, with its units"}``, one line per knob, shown beside the
  values in the table of parameters on each chapter's page (:func:`parameter_rows`);
- ``DATA``: the data files the chapter reads, a list (or a function of ``P`` returning one)
  of data-set names of :data:`DATA_SETS` (``"mnist"``), paths relative to ``$DMM_DATA``, or
  tuples of alternative paths (one must exist). :func:`validate` checks that each is there
  and, for a file of known checksum, that its content is right.

A wrong name, type, value, combination or a missing data file raises
:class:`ParameterError` (one line naming the knob and what is allowed) before any work
starts: :func:`validate` is the one check, called by ``tools/book.py`` and
``tools/dry_run.py`` before they start a chapter and by the chapter's own first cell
(:func:`from_namespace`), so a notebook run directly with papermill is checked the same way;
a name that papermill injects (``-p seedz 2``) and the chapter does not know is refused there.
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
    choices = {k: tuple(v) for k, v in dict(getattr(mod, "CHOICES", {})).items()}
    constraints = list(getattr(mod, "CONSTRAINTS", []))
    unknown = set(choices) - set(quick)
    if unknown:
        raise ImportError(f"{module_name}.CHOICES names unknown knob(s) {sorted(unknown)}")
    for c in constraints:
        if not (isinstance(c, tuple) and len(c) == 2 and isinstance(c[0], str) and callable(c[1])):
            raise ImportError(f"{module_name}.CONSTRAINTS: each entry is (description, predicate of P), got {c!r}")
    data = getattr(mod, "DATA", [])
    docs = dict(getattr(mod, "DOCS", {}))
    unknown = set(docs) - set(quick)
    if unknown:
        raise ImportError(f"{module_name}.DOCS names unknown knob(s) {sorted(unknown)}")
    return {"smoke": {**quick, **mod.SMOKE}, "quick": quick, "paper": {**quick, **mod.PAPER},
            "ranges": dict(getattr(mod, "RANGES", {})), "choices": choices, "constraints": constraints,
            "data": data if callable(data) else list(data), "docs": docs}


def _discover() -> dict[str, dict[str, dict[str, Any]]]:
    """chapter name -> {"smoke"|"quick"|"paper": {knob: value}, "ranges": {knob: (lo, hi)},
    "choices": {knob: allowed}, "constraints": [(description, predicate)], "data": [...] or a function}."""
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
    """An unknown chapter, profile or knob, a value of the wrong type, range or choice, a broken
    constraint between knobs, or a missing data file. Its message is one line; in a notebook
    (IPython) it is shown as that line alone, without a traceback."""

    def _render_traceback_(self) -> list[str]:  # IPython: the one line, not the traceback
        return [f"{type(self).__name__}: {self}"]


class DataRequirementError(ParameterError):
    """A data file a chapter declares (``DATA``) is missing or corrupt."""


def knobs(chapter: str) -> tuple[str, ...]:
    """The knob names of ``chapter`` (without ``profile``)."""
    return tuple(_chapter(chapter)["quick"])


def docs(chapter: str) -> Mapping[str, str]:
    """{knob: what it means, in one line with its units}: the chapter's ``DOCS``."""
    return MappingProxyType(dict(_chapter(chapter).get("docs", {})))


def parameter_rows(chapter: str, profile: str, overrides: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The parameters a run of ``chapter`` used, one row per knob in the order of ``QUICK``:
    ``name``, ``value`` (the value used: the override when one was given, else the profile's),
    ``profile_value`` (the profile's own value), ``set`` (whether an override gave it) and
    ``meaning`` (:func:`docs`). The values are the raw Python values, not checked again: an
    override that names a knob the chapter no longer has gets a row of its own, its
    ``profile_value`` None and its meaning saying so. For the page's table of the run
    (``tools/book.py``)."""
    table = _chapter(chapter)
    if profile not in PROFILE_NAMES:
        raise ParameterError(f"unknown profile {profile!r}; allowed: {', '.join(PROFILE_NAMES)}")
    given = {k: v for k, v in dict(overrides or {}).items() if v is not None}
    meaning = docs(chapter)
    rows = [{"name": k, "value": given.get(k, v), "profile_value": v, "set": k in given, "meaning": meaning.get(k, "")}
            for k, v in table[profile].items()]
    rows += [{"name": k, "value": v, "profile_value": None, "set": True,
              "meaning": "not a parameter of this chapter any more"} for k, v in given.items() if k not in table[profile]]
    return rows


def resolve(chapter: str, profile: str = "quick", **overrides: Any) -> Mapping[str, Any]:
    """The values of ``chapter``'s knobs under ``profile``, with ``overrides`` applied.

    ``None`` in ``overrides`` means "the profile's value". Returns a read-only mapping that
    also holds ``profile``. Raises :class:`ParameterError` naming the unknown profile or
    knob and the allowed values, the knob whose value has the wrong type, range or choice,
    or the chapter's ``CONSTRAINTS`` the values break. Reads no data (see :func:`validate`).
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
            _check_choice(chapter, name, values[name], table.get("choices", {}).get(name))
    _check_constraints(chapter, values, table.get("constraints", ()))
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


def validate(chapter: str, profile: str = "quick", overrides: Mapping[str, Any] | None = None,
             data: bool = True) -> Mapping[str, Any]:
    """The one check of a chapter's parameters before any work: :func:`resolve` (names, types,
    ranges, dict keys, ``CHOICES``, ``CONSTRAINTS``) of ``overrides`` (a dict, as parsed from the
    command line: ``profile`` in it is refused, it is chosen apart), then, with ``data``, the
    chapter's ``DATA`` (:func:`check_data`). Returns the resolved parameters."""
    overrides = dict(overrides or {})
    if "profile" in overrides:
        raise ParameterError(
            f"'profile' is not one of chapter {chapter!r}'s parameters: choose it apart "
            "(make: PROFILE=paper; tools/book.py: --profile paper; papermill: -p profile paper)")
    P = resolve(chapter, profile, **overrides)
    if data:
        check_data(chapter, P)
    return P


# Data sets a chapter's DATA may name: each a list of requirements, a requirement a tuple of
# alternative paths relative to $DMM_DATA (one of them must exist), as dmmlib.data reads them.
def _mnist(stem: str) -> tuple[str, ...]:
    return tuple(f"{folder}/{stem}{ext}" for folder in ("mnist", "MNIST/raw") for ext in (".gz", ""))


_CIFAR_TORCHVISION = "cifar-10-batches-py"
DATA_SETS: dict[str, list[tuple[str, ...]]] = {
    "mnist": [_mnist("t10k-images-idx3-ubyte"), _mnist("t10k-labels-idx1-ubyte"),
              (*_mnist("train-images-idx3-ubyte"), "mnist/mnist_train_5k.csv.gz"),
              (*_mnist("train-labels-idx1-ubyte"), "mnist/mnist_train_5k.csv.gz")],
    # all ten classes
    "cifar10": [(_CIFAR_TORCHVISION, "cifar10/cifar10_test_png.tar.gz"),
                (_CIFAR_TORCHVISION, "cifar10/cifar10_train_airplane_automobile_png.tar.gz"),
                (_CIFAR_TORCHVISION, "cifar10/cifar10_train_other8_png.tar.gz")],
    # airplane and automobile only (the shared CIFAR autoencoder's classes)
    "cifar10_airplane_automobile": [(_CIFAR_TORCHVISION, "cifar10/cifar10_test_png.tar.gz"),
                                    (_CIFAR_TORCHVISION, "cifar10/cifar10_train_airplane_automobile_png.tar.gz")],
    "cifar10_resnet20": [("cifar10-resnet/resnet20-12fca82f.th",)],
    "cifar10_resnet56": [("cifar10-resnet/resnet56-4bfd9763.th",)],
    "imagenet_samples": [("imagenet-samples",)],
}


def data_requirements(chapter: str, P: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """The chapter's ``DATA`` under the resolved ``P``: a list of tuples of alternative paths
    (relative to ``$DMM_DATA``, or absolute)."""
    declared = _chapter(chapter).get("data") or []
    if callable(declared):
        declared = declared(P)
    out: list[tuple[str, ...]] = []
    for entry in declared:
        if isinstance(entry, str) and entry in DATA_SETS:
            out += DATA_SETS[entry]
        elif isinstance(entry, str):
            out.append((entry,))
        elif isinstance(entry, (tuple, list)) and entry and all(isinstance(e, str) for e in entry):
            out.append(tuple(entry))
        else:
            raise ParameterError(f"chapter {chapter!r}: DATA entry {entry!r} is neither a data set "
                                 f"({', '.join(DATA_SETS)}), a path nor a tuple of alternative paths")
    return out


def check_data(chapter: str, P: Mapping[str, Any]) -> list[Any]:
    """Check that every file of the chapter's ``DATA`` (:func:`data_requirements`) is there and,
    when its checksum is known (:mod:`dmmlib.data.checksums`), intact; return the paths found.
    Raises :class:`DataRequirementError` (one line: the file, ``DMM_DATA`` and where the layout
    is described) for the first one missing or corrupt."""
    from pathlib import Path

    from dmmlib.data.checksums import verify
    from dmmlib.data.paths import DataError, data_dir

    root = data_dir()
    found = []
    for alternatives in data_requirements(chapter, P):
        path = next((root / a for a in alternatives if (root / a).exists()), None)
        if path is None:
            names = " or ".join(str(Path(a)) for a in alternatives)
            raise DataRequirementError(
                f"chapter {chapter!r} needs {names} in DMM_DATA={root}, not found "
                "(README.md, section Data, lists the files and where to put them)")
        if path.is_file():
            try:
                verify(path)
            except DataError as err:
                raise DataRequirementError(f"chapter {chapter!r}: {err}".replace("\n", " ")) from err
        found.append(path)
    return found


def from_namespace(chapter: str, namespace: Mapping[str, Any]) -> Mapping[str, Any]:
    """:func:`validate` with ``profile`` and the knobs read from a notebook's ``globals()``.

    A name that papermill injected (its cell starts with ``# Parameters``; found in IPython's
    input history ``In``) and the chapter does not know is refused, like an unknown name on the
    command line: ``papermill ... -p seedz 2`` stops here instead of running with the default."""
    injected = injected_names(namespace)
    allowed = {"profile", *knobs(chapter)}
    unknown = sorted(set(injected) - allowed)
    if unknown:
        raise ParameterError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for chapter {chapter!r} (injected by papermill); "
            f"allowed: {', '.join(sorted(allowed))}")
    profile = namespace.get("profile", "quick")
    return validate(chapter, profile, {k: namespace[k] for k in knobs(chapter) if k in namespace})


PAPERMILL_MARK = "# Parameters"  # the first line of the cell papermill injects (papermill.translators)


def injected_names(namespace: Mapping[str, Any]) -> list[str]:
    """The names assigned by the cells papermill injected into this notebook run: the cells of
    IPython's input history (``In`` in ``namespace``) whose first line is ``# Parameters``."""
    import ast

    names: list[str] = []
    history = namespace.get("In") or namespace.get("_ih") or []
    for source in history if isinstance(history, (list, tuple)) else []:
        if not isinstance(source, str) or source.lstrip().split("\n", 1)[0].strip() != PAPERMILL_MARK:
            continue
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Assign):
                names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return names


def parse_assignments(items: list[str]) -> dict[str, Any]:
    """``["seeds=5", "width=2000"]`` -> ``{"seeds": 5, "width": 2000}``; a name given twice is
    refused (:class:`ParameterError`) instead of keeping the last value."""
    out: dict[str, Any] = {}
    for text in items:
        name, value = parse_assignment(text)
        if name in out:
            raise ParameterError(f"parameter {name!r} is given twice ({name}={out[name]!r} and {name}={value!r}); give it once")
        out[name] = value
    return out


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


def _check_choice(chapter: str, name: str, value: Any, allowed) -> None:
    """``value`` (or, for a list knob, each of its elements) must be one of ``allowed``."""
    if allowed is None:
        return
    listed = isinstance(value, (list, tuple))
    for v in value if listed else [value]:
        if not any(v == a and isinstance(v, bool) == isinstance(a, bool) for a in allowed):
            what = f"each element of parameter {name!r}" if listed else f"parameter {name!r}"
            raise ParameterError(f"{what} of chapter {chapter!r} must be one of "
                                 f"{', '.join(map(repr, allowed))}, got {v!r}")


def _check_constraints(chapter: str, values: Mapping[str, Any], constraints) -> None:
    import re

    for description, predicate in constraints:
        try:
            ok = bool(predicate(MappingProxyType(values)))
        except ValueError as err:  # a predicate may say why (a chapter's own check_params(P) raising)
            ok, description = False, f"{description} ({' '.join(str(err).split())})"
        except Exception as err:  # a predicate that cannot evaluate these values: they break it
            ok, description = False, f"{description} (could not be checked: {type(err).__name__}: {err})"
        if not ok:
            named = [k for k in values if re.search(rf"\b{re.escape(k)}\b", description)]
            got = "; ".join(f"{k}={values[k]!r}" for k in named)
            raise ParameterError(f"parameters of chapter {chapter!r} must satisfy: {description}"
                                 + (f"; got {got}" if got else ""))


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
        if isinstance(ex, dict):
            return isinstance(v, dict) and set(v) == set(ex) and all(ok(v[k], ex[k]) for k in ex)
        return isinstance(v, type(ex))

    if isinstance(example, dict) and isinstance(value, dict):
        missing = [k for k in example if k not in value]
        unknown = [k for k in value if k not in example]
        if missing or unknown:
            raise ParameterError(
                f"parameter {name!r} of chapter {chapter!r} must give every key of {example!r} and no other"
                + (f"; unknown key(s) {', '.join(map(repr, unknown))}" if unknown else "")
                + (f"; missing key(s) {', '.join(map(repr, missing))}" if missing else ""))
        for k in example:
            if not ok(value[k], example[k]):
                raise ParameterError(
                    f"parameter {name!r} of chapter {chapter!r}: entry {k!r} must be of type {_type_name(example[k])} "
                    f"(e.g. {example[k]!r}), got {value[k]!r} of type {type(value[k]).__name__}")
        return {k: float(value[k]) if isinstance(example[k], float) and not isinstance(value[k], bool) else value[k]
                for k in example}
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
