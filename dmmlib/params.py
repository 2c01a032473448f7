"""Each chapter's knobs and the values the profiles give them: the one place they live.

A chapter's notebook has a papermill ``parameters`` cell that sets ``profile`` and every
knob to ``None`` ("take the profile's value"); its next cell calls
:func:`from_namespace` to get the resolved values. An explicitly passed value overrides
the profile. Profiles:

- ``smoke``: exercises the code in seconds, for tests; its numbers mean nothing.
- ``quick``: the default; shows the phenomenon on a 2-core CPU in minutes, with several
  seeds and the statistics to judge it.
- ``paper``: the paper's settings, for people with a GPU.

The type of a knob is the type of its ``quick`` value (an ``int`` is accepted where a
``float`` is expected; a list's elements are checked against its first element).
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

PROFILE_NAMES = ("smoke", "quick", "paper")

# chapter name -> profile -> knob -> value. Every profile of a chapter has the same knobs.
PROFILES: dict[str, dict[str, dict[str, Any]]] = {}

PROFILES["clinging_dimpling"] = {
    # filled in by the chapter "Clinging and dimpling" (section 6, appendix C)
    "smoke": {"seeds": 1},
    "quick": {"seeds": 3},
    "paper": {"seeds": 5},
}

PROFILES["shared_models"] = {
    # the trained models every natural-image chapter shares (dmmlib/zoo.py; appendix G).
    # *_train_size 0 = all available training images (MNIST: 60,000 with torchvision's files,
    # else the 5,000 offline digits; CIFAR-10: the 10,000 airplane+automobile images).
    # paper: G.1's SGD (no momentum stated) and Adam settings; quick: shorter CPU runs (SGD
    # with momentum 0.9 makes up for 12x fewer MNIST steps).
    "smoke": {
        "mnist_train_size": 1000, "mnist_clf_epochs": 10, "mnist_clf_lr": 0.05, "mnist_clf_momentum": 0.9,
        "mnist_clf_weight_decay": 1e-4, "mnist_clf_batch_size": 200, "mnist_ae_epochs": 2, "mnist_ae_lr": 1e-3,
        "mnist_ae_batch_size": 144, "mnist_ae_latent_dim": 16, "cifar_train_size": 256, "cifar_ae_epochs": 1,
        "cifar_ae_lr": 1e-3, "cifar_ae_batch_size": 32, "cifar_ae_latent_dim": 128, "cifar_ae_width": 8, "seed": 0,
    },
    "quick": {
        "mnist_train_size": 0, "mnist_clf_epochs": 100, "mnist_clf_lr": 0.01, "mnist_clf_momentum": 0.9,
        "mnist_clf_weight_decay": 1e-4, "mnist_clf_batch_size": 200, "mnist_ae_epochs": 100, "mnist_ae_lr": 1e-3,
        "mnist_ae_batch_size": 144, "mnist_ae_latent_dim": 16, "cifar_train_size": 0, "cifar_ae_epochs": 8,
        "cifar_ae_lr": 1e-3, "cifar_ae_batch_size": 32, "cifar_ae_latent_dim": 128, "cifar_ae_width": 32, "seed": 0,
    },
    "paper": {
        "mnist_train_size": 0, "mnist_clf_epochs": 40, "mnist_clf_lr": 0.01, "mnist_clf_momentum": 0.0,
        "mnist_clf_weight_decay": 1e-4, "mnist_clf_batch_size": 200, "mnist_ae_epochs": 1000, "mnist_ae_lr": 1e-3,
        "mnist_ae_batch_size": 144, "mnist_ae_latent_dim": 16, "cifar_train_size": 0, "cifar_ae_epochs": 400,
        "cifar_ae_lr": 1e-3, "cifar_ae_batch_size": 32, "cifar_ae_latent_dim": 128, "cifar_ae_width": 64, "seed": 0,
    },
}

PROFILES["local_manifolds"] = {
    # chapter "Local image manifolds" (section 7, appendices D, G, I). n_test: test images for
    # reconstruction and accuracy (0 = all: 10,000 MNIST, 2,000 CIFAR airplane+automobile);
    # n_tangent: test images per seed at which tangent spaces are compared; fd_eps: the
    # finite-difference steps (code units); n_random: random vectors per image (appendix I).
    "smoke": {"seeds": 1, "n_test": 200, "n_tangent": 2, "fd_eps": [1e-3, 1e-1], "n_random": 20, "n_show": 4},
    "quick": {"seeds": 3, "n_test": 0, "n_tangent": 10, "fd_eps": [1e-4, 1e-3, 1e-2, 1e-1, 1.0], "n_random": 200, "n_show": 8},
    "paper": {"seeds": 5, "n_test": 0, "n_tangent": 40, "fd_eps": [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0], "n_random": 1000, "n_show": 8},
}

# -- chapters add their block above this line ------------------------------------------


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
    values["profile"] = profile
    return MappingProxyType(values)


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
