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
"""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from dmmlib import params
from dmmlib.cache import cached
from dmmlib.data.cifar10 import load_cifar10
from dmmlib.data.mnist import load_mnist
from dmmlib.device import get_device, seed_everything
from dmmlib.models.autoencoders import CifarAutoencoder, MnistAutoencoder
from dmmlib.models.mlp import MnistMLP
from dmmlib.models.resnet_cifar import load_pretrained
from dmmlib.train import train_autoencoder, train_classifier

CIFAR_AE_CLASSES = (0, 1)  # airplane, automobile (appendix D.3)
_CODE = ("dmmlib.zoo", "dmmlib.train", "dmmlib.models.mlp", "dmmlib.models.autoencoders",
         "dmmlib.data.mnist", "dmmlib.data.cifar10")


def mnist_classifier(profile: str = "quick", **overrides: Any) -> MnistMLP:
    """The MNIST MLP of appendix G.1, trained with SGD on the MNIST training set (eval mode, on device)."""
    P = params.resolve("shared_models", profile, **overrides)
    x, y, source = _subset(load_mnist("train"), P["mnist_train_size"], P["seed"])
    cfg = {"data": source, "n": len(y), **{k: P[k] for k in P if k.startswith("mnist_clf_")}, "seed": P["seed"]}

    def train() -> dict:
        model = _seeded(MnistMLP, P["seed"])
        hist = train_classifier(
            model, x, y, epochs=P["mnist_clf_epochs"], lr=P["mnist_clf_lr"], weight_decay=P["mnist_clf_weight_decay"],
            batch_size=P["mnist_clf_batch_size"], momentum=P["mnist_clf_momentum"], seed=P["seed"], optimizer="sgd",
        )
        return _entry(model, hist)

    return _restore(MnistMLP(), cached("zoo_mnist_classifier", cfg, train, code=_CODE), cfg)


def mnist_autoencoder(profile: str = "quick", **overrides: Any) -> MnistAutoencoder:
    """The MNIST autoencoder (k = ``mnist_ae_latent_dim``, 16), trained with Adam on pixel MSE."""
    P = params.resolve("shared_models", profile, **overrides)
    x, _, source = _subset(load_mnist("train"), P["mnist_train_size"], P["seed"])
    cfg = {"data": source, "n": len(x), **{k: P[k] for k in P if k.startswith("mnist_ae_")}, "seed": P["seed"]}
    build = lambda: MnistAutoencoder(latent_dim=P["mnist_ae_latent_dim"])  # noqa: E731

    def train() -> dict:
        model = _seeded(build, P["seed"])
        hist = train_autoencoder(model, x, epochs=P["mnist_ae_epochs"], lr=P["mnist_ae_lr"],
                                 batch_size=P["mnist_ae_batch_size"], seed=P["seed"])
        return _entry(model, hist)

    return _restore(build(), cached("zoo_mnist_autoencoder", cfg, train, code=_CODE), cfg)


def cifar_classifier(depth: int = 20) -> nn.Module:
    """The pretrained CIFAR-10 ResNet-``depth`` (20: 91.7 %, 56: 93.4 % test accuracy), eval mode, on device."""
    model = load_pretrained(depth).to(get_device()).eval()
    model.zoo_info = {"source": f"pretrained ResNet-{depth} (akamaster/pytorch_resnet_cifar10)"}
    return model


def cifar_autoencoder(profile: str = "quick", **overrides: Any) -> CifarAutoencoder:
    """The CIFAR-10 conv autoencoder (k = ``cifar_ae_latent_dim``, 128), trained with Adam on the
    airplane and automobile training images."""
    P = params.resolve("shared_models", profile, **overrides)
    x, _, source = _subset(load_cifar10("train", classes=CIFAR_AE_CLASSES), P["cifar_train_size"], P["seed"])
    cfg = {"data": source, "n": len(x), **{k: P[k] for k in P if k.startswith("cifar_ae_")}, "seed": P["seed"]}
    build = lambda: CifarAutoencoder(latent_dim=P["cifar_ae_latent_dim"], width=P["cifar_ae_width"])  # noqa: E731

    def train() -> dict:
        model = _seeded(build, P["seed"])
        hist = train_autoencoder(model, x, epochs=P["cifar_ae_epochs"], lr=P["cifar_ae_lr"],
                                 batch_size=P["cifar_ae_batch_size"], seed=P["seed"])
        return _entry(model, hist)

    return _restore(build(), cached("zoo_cifar_autoencoder", cfg, train, code=_CODE), cfg)


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
