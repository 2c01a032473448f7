"""The trained models the natural-image chapters share, trained once and cached.

Settings per profile live in ``PROFILES["shared_models"]`` of :mod:`dmmlib.params`; keyword
overrides of those knobs are accepted. Each function returns a module in eval mode on
``get_device()``, with a ``zoo_info`` dict attribute (training data, settings, history).
The cache holds state dicts keyed by the settings, the training data's description and the
source of the model, training and data code.

- :func:`mnist_classifier`: the 784-256-256-10 MLP of appendix G.1.
- :func:`mnist_autoencoder`: MLP autoencoder with a 16-d code (appendix D.3).
- :func:`cifar_classifier`: the pretrained CIFAR-10 ResNet-20/56 (no training).
- :func:`cifar_autoencoder`: conv autoencoder with a 128-d code, trained on airplane+automobile.
- :func:`imagenet_classifier`: torchvision's ResNet-50 with ImageNet weights the user supplies
  (:func:`find_resnet50_weights` says where they are looked for), or downloads when online.
- :func:`imagenet_autoencoder`: conv autoencoder with a 3584-d code, trained on the goldfish and
  great-white-shark images of the user's ImageNet train split (appendix G.3).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from dmmlib import params
from dmmlib.cache import cached
from dmmlib.data.cifar10 import load_cifar10
from dmmlib.data.imagenet import load_imagenet_pair
from dmmlib.data.mnist import load_mnist
from dmmlib.data.paths import MissingDataError
from dmmlib.device import get_device, seed_everything
from dmmlib.models.autoencoders import CifarAutoencoder, ImageNetAutoencoder, MnistAutoencoder
from dmmlib.models.mlp import MnistMLP
from dmmlib.models.normalized import Normalized
from dmmlib.models.resnet_cifar import load_pretrained
from dmmlib.train import train_autoencoder, train_classifier

CIFAR_AE_CLASSES = (0, 1)  # airplane, automobile (appendix D.3)
_CODE = ("dmmlib.zoo", "dmmlib.train", "dmmlib.models.mlp", "dmmlib.models.autoencoders",
         "dmmlib.data.mnist", "dmmlib.data.cifar10")
_IMAGENET_CODE = ("dmmlib.zoo", "dmmlib.train", "dmmlib.models.autoencoders", "dmmlib.data.imagenet")
RESNET50_ENV = "DMM_RESNET50_WEIGHTS"
RESNET50_V1 = "resnet50-0676ba61.pth"  # torchvision's IMAGENET1K_V1 file, the weights of 2021 (76.1 % top-1)
RESNET50_URL = "https://download.pytorch.org/models/" + RESNET50_V1


def mnist_classifier(profile: str = "quick", seed: int | None = None, **overrides: Any) -> MnistMLP:
    """The MNIST MLP of appendix G.1, trained with SGD on the MNIST training set (eval mode, on device).

    ``seed`` (default: the profile's ``seed``) fixes the initialisation and the batch order:
    different seeds give independently trained classifiers, each cached."""
    P = _resolve(profile, seed, overrides)
    x, y, source = _subset(load_mnist("train"), P["mnist_train_size"], P["seed"])
    test = load_mnist("test")
    cfg = {"data": source, "n": len(y), **{k: P[k] for k in P if k.startswith("mnist_clf_")}, "seed": P["seed"],
           "validation": f"MNIST test set ({len(test.y):,} digits)"}

    def train() -> dict:
        model = _seeded(MnistMLP, P["seed"])
        hist = train_classifier(
            model, x, y, epochs=P["mnist_clf_epochs"], lr=P["mnist_clf_lr"], weight_decay=P["mnist_clf_weight_decay"],
            batch_size=P["mnist_clf_batch_size"], momentum=P["mnist_clf_momentum"], seed=P["seed"], optimizer="sgd",
            validation=(test.x, test.y),
        )
        return _entry(model, hist)

    return _restore(MnistMLP(), cached("zoo_mnist_classifier", cfg, train, code=_CODE), cfg)


def mnist_autoencoder(profile: str = "quick", seed: int | None = None, **overrides: Any) -> MnistAutoencoder:
    """The MNIST autoencoder (k = ``mnist_ae_latent_dim``, 16), trained with Adam on pixel MSE;
    ``seed`` as in :func:`mnist_classifier`."""
    P = _resolve(profile, seed, overrides)
    x, _, source = _subset(load_mnist("train"), P["mnist_train_size"], P["seed"])
    test = load_mnist("test").x
    cfg = {"data": source, "n": len(x), **{k: P[k] for k in P if k.startswith("mnist_ae_")}, "seed": P["seed"],
           "validation": f"MNIST test set ({len(test):,} digits)"}
    build = lambda: MnistAutoencoder(latent_dim=P["mnist_ae_latent_dim"])  # noqa: E731
    return _trained_autoencoder("zoo_mnist_autoencoder", build, x, cfg, P, "mnist_ae_", validation=test)


def cifar_classifier(depth: int = 20) -> nn.Module:
    """The pretrained CIFAR-10 ResNet-``depth`` (20: 91.7 %, 56: 93.4 % test accuracy), eval mode, on device."""
    model = load_pretrained(depth).to(get_device()).eval()
    model.zoo_info = {"source": f"pretrained ResNet-{depth} (akamaster/pytorch_resnet_cifar10)"}
    return model


def cifar_autoencoder(profile: str = "quick", seed: int | None = None, **overrides: Any) -> CifarAutoencoder:
    """The CIFAR-10 conv autoencoder (k = ``cifar_ae_latent_dim``, 128), trained with Adam on the
    airplane and automobile training images; ``seed`` as in :func:`mnist_classifier`."""
    P = _resolve(profile, seed, overrides)
    x, _, source = _subset(load_cifar10("train", classes=CIFAR_AE_CLASSES), P["cifar_train_size"], P["seed"])
    test = load_cifar10("test", classes=CIFAR_AE_CLASSES).x
    cfg = {"data": source, "n": len(x), **{k: P[k] for k in P if k.startswith("cifar_ae_")}, "seed": P["seed"],
           "validation": f"CIFAR-10 airplane and automobile test images ({len(test):,})"}
    build = lambda: CifarAutoencoder(latent_dim=P["cifar_ae_latent_dim"], width=P["cifar_ae_width"])  # noqa: E731
    return _trained_autoencoder("zoo_cifar_autoencoder", build, x, cfg, P, "cifar_ae_", validation=test)


def find_resnet50_weights(weights: str | os.PathLike | None = None) -> Path:
    """The local ResNet-50 weight file: ``weights``, else ``$DMM_RESNET50_WEIGHTS``, else torch
    hub's checkpoint folder (``<torch.hub.get_dir()>/checkpoints/resnet50-*.pth``, where
    torchvision caches its download; the IMAGENET1K_V1 file first).

    Raises :class:`MissingDataError` naming the file that does not exist, or every place
    looked in and how to supply the weights.
    """
    given = weights if weights is not None else os.environ.get(RESNET50_ENV) or None
    if given is not None:
        path = Path(given).expanduser()
        if not path.is_file():
            origin = "weights argument" if weights is not None else f"${RESNET50_ENV}"
            raise MissingDataError(f"ResNet-50 weights file {path} (from the {origin}) does not exist")
        return path
    hub = Path(torch.hub.get_dir()) / "checkpoints"
    found = sorted(hub.glob("resnet50-*.pth"), key=lambda p: (p.name != RESNET50_V1, p.name))
    if found:
        return found[0]
    raise MissingDataError(
        f"torchvision's ResNet-50 ImageNet weights are not on this machine: no weights argument, ${RESNET50_ENV} "
        f"unset, no resnet50-*.pth in {hub}. Download {RESNET50_URL} where there is internet, then set "
        f"{RESNET50_ENV}=<file> or copy the file into {hub}"
    )


def imagenet_classifier(weights: str | os.PathLike | None = None) -> nn.Module:
    """torchvision's ResNet-50 (appendix G.3) for images (B, 3, 224, 224) in [0, 1] -> logits
    (B, 1000), wrapped in :class:`Normalized`, eval mode, on device.

    Weights: the file :func:`find_resnet50_weights` finds (a state dict, possibly under a
    "state_dict"/"model" key, "module." prefixes allowed; loaded strictly), else torchvision's
    download into torch hub's folder when nothing was named and there is internet. Raises
    :class:`MissingDataError` saying what is missing and how to supply it.
    """
    from torchvision.models import resnet50

    try:
        path = find_resnet50_weights(weights)
        state, source = _read_state_dict(path), str(path)
    except MissingDataError as err:
        if weights is not None or os.environ.get(RESNET50_ENV):
            raise
        state, source = _download_resnet50(err), RESNET50_URL
    net = resnet50(weights=None)
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ValueError(f"{source} is not a torchvision ResNet-50 state dict: {str(err)[:300]}") from err
    model = Normalized(net).to(get_device()).eval()
    model.zoo_info = {"source": f"torchvision ResNet-50, weights {source}"}
    return model


def imagenet_autoencoder(profile: str = "quick", root: str | os.PathLike | None = None, seed: int | None = None,
                         **overrides: Any) -> ImageNetAutoencoder:
    """The ImageNet conv autoencoder (k = ``imagenet_ae_latent_dim``, 3584), trained with Adam on
    pixel MSE on the goldfish and great-white-shark images of the ``train`` split of ``root``
    (else ``$DMM_IMAGENET``; see :func:`dmmlib.data.imagenet.load_imagenet_pair`), the first
    ``imagenet_train_per_class`` images of each class (0: all). Cached by settings, the
    images' content hash and the code; ``seed`` as in :func:`mnist_classifier`."""
    P = _resolve(profile, seed, overrides)
    per_class = P["imagenet_train_per_class"]
    if per_class < 0:
        raise ValueError(f"imagenet_train_per_class must be >= 0 (0 = all), got {per_class}")
    data = load_imagenet_pair(root, "train", per_class=per_class or None)
    x = data.x
    cfg = {"data": data.source, "data_sha256": _content_hash(x), "n": len(x),
           **{k: P[k] for k in P if k.startswith("imagenet_")}, "seed": P["seed"]}
    build = lambda: ImageNetAutoencoder(latent_dim=P["imagenet_ae_latent_dim"], width=P["imagenet_ae_width"])  # noqa: E731
    return _trained_autoencoder("zoo_imagenet_autoencoder", build, x, cfg, P, "imagenet_ae_", code=_IMAGENET_CODE)


def _resolve(profile: str, seed: int | None, overrides: dict) -> Any:
    """The shared models' knobs under ``profile`` with ``overrides``; ``seed`` (when not None)
    replaces the ``seed`` knob (validated like any knob: an int in its range)."""
    if seed is not None:
        overrides = {**overrides, "seed": seed}
    return params.resolve("shared_models", profile, **overrides)


def _read_state_dict(path: Path) -> dict:
    """A state dict from a ``torch.save`` file (tensors only; "module." prefixes removed)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # unreadable or not a torch file
        raise ValueError(f"cannot read ResNet-50 weights from {path}: {err}") from err
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds a {type(state).__name__}, not a state dict")
    return {k.removeprefix("module."): v for k, v in state.items()}


def _download_resnet50(not_found: MissingDataError) -> dict:
    """torchvision's IMAGENET1K_V1 ResNet-50 state dict via torch hub (cached in its folder)."""
    try:
        return torch.hub.load_state_dict_from_url(RESNET50_URL, map_location="cpu", progress=True, check_hash=True)
    except Exception as err:  # offline, proxy, truncated file: all mean "not available"
        raise MissingDataError(f"{not_found}; downloading it failed ({type(err).__name__}: {err})") from err


def _trained_autoencoder(name: str, build: Callable[[], nn.Module], x: torch.Tensor, cfg: dict,
                         P: Any, prefix: str, code: tuple = _CODE, validation: torch.Tensor | None = None) -> nn.Module:
    """``build()`` trained with Adam on the pixel MSE of ``x`` (N, C, H, W) with the
    ``<prefix>epochs``, ``<prefix>lr`` and ``<prefix>batch_size`` settings of ``P``, seeded;
    its held-out MSE recorded per epoch on ``validation`` (M, C, H, W) when given; cached under
    ``name`` by ``cfg`` and the source of ``code``. Eval mode, on the device."""

    def train() -> dict:
        model = _seeded(build, P["seed"])
        hist = train_autoencoder(model, x, epochs=P[prefix + "epochs"], lr=P[prefix + "lr"],
                                 batch_size=P[prefix + "batch_size"], seed=P["seed"], validation=validation)
        return _entry(model, hist)

    return _restore(build(), cached(name, cfg, train, code=code), cfg)


def _content_hash(x: torch.Tensor) -> str:
    """SHA-256 (hex, 16 chars) of a tensor's bytes: ties a cache entry to the training images."""
    return hashlib.sha256(x.detach().cpu().contiguous().numpy().tobytes()).hexdigest()[:16]


def _subset(data, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, str]:
    """The first ``size`` images of a seeded permutation (0: all)."""
    if size < 0:
        raise ValueError(f"a training-set size must be >= 0 (0 = all), got {size}")
    if size == 0 or size >= len(data.y):
        return data.x, data.y, data.source
    idx = torch.randperm(len(data.y), generator=torch.Generator().manual_seed(seed))[:size]
    return data.x[idx], data.y[idx], data.source


def _seeded(build: Callable[[], nn.Module], seed: int) -> nn.Module:
    seed_everything(seed)
    return build()


def _entry(model: nn.Module, history: dict) -> dict:
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return {"state_dict": state, "history": {k: v for k, v in history.items() if k != "callback"}}


def _restore(model: nn.Module, entry: dict, cfg: dict) -> nn.Module:
    model.load_state_dict(entry["state_dict"], strict=True)
    model = model.to(get_device()).eval()
    model.zoo_info = {**cfg, "history": entry["history"]}
    return model
