"""The trained models of the known-manifold stress test (issue 11, item 8;
:mod:`dmmlib.chapters.on_off_manifold.known_manifold`): the FONTS data, a classifier of the MNIST
architecture on the letters and an autoencoder of the MNIST architecture on the images, each
trained once per seed and cached (in a module of their own, so that a change to the measures
does not retrain them). Images (N, 1, 28, 28) in [0, 1].
"""
from __future__ import annotations

from typing import Any, Mapping

from torch import nn

from dmmlib.cache import cached
from dmmlib.data.fonts import FontsDecoder, FontsSet, make_fonts
from dmmlib.device import get_device, seed_everything
from dmmlib.models.autoencoders import MnistAutoencoder
from dmmlib.models.mlp import MnistMLP
from dmmlib.train import train_autoencoder, train_classifier

TRAIN_SEED, TEST_SEED = 20_000, 30_000  # the FONTS draws: one training set, one test pool, for every unit
KNOBS = ("known_n_fonts", "known_train_size", "known_test_size", "known_latent_dim", "known_clf_epochs",
         "known_ae_epochs")
CLASSIFIER = {"optimizer": "adam", "lr": 1e-3, "batch_size": 100}  # as the FONTS chapter's classifiers
AUTOENCODER = {"lr": 1e-3, "batch_size": 144}  # as the zoo's MNIST autoencoder under quick


def settings(P: Mapping[str, Any]) -> dict:
    """The FONTS knobs of the chapter's parameters ``P``."""
    return {k: P[k] for k in KNOBS}


def fonts_sets(cfg: Mapping[str, Any]) -> tuple[FontsDecoder, FontsSet, FontsSet]:
    """The decoder of ``known_n_fonts`` fonts, the training set and the test pool."""
    dec = FontsDecoder(cfg["known_n_fonts"])
    return (dec, make_fonts(cfg["known_train_size"], seed=TRAIN_SEED, decoder=dec),
            make_fonts(cfg["known_test_size"], seed=TEST_SEED, decoder=dec))


def classifier(cfg: Mapping[str, Any], seed: int, *, progress: bool = True) -> MnistMLP:
    """An MnistMLP trained on the FONTS letters (Adam, :data:`CLASSIFIER`, ``known_clf_epochs``
    epochs, seed ``seed``), cached; eval mode, on the device, ``zoo_info`` with its history."""
    key = {**{k: cfg[k] for k in ("known_n_fonts", "known_train_size", "known_clf_epochs")}, **CLASSIFIER,
           "seed": seed}

    def compute() -> dict:
        _, train, _ = fonts_sets(cfg)
        seed_everything(seed)
        model = MnistMLP()
        hist = train_classifier(model, train.x, train.y, epochs=cfg["known_clf_epochs"], seed=seed, progress=progress,
                                **CLASSIFIER)
        return _entry(model, hist)

    return _restore(MnistMLP(), cached("on_off_known_classifier", key, compute), key)


def autoencoder(cfg: Mapping[str, Any], seed: int, *, progress: bool = True) -> MnistAutoencoder:
    """An MnistAutoencoder (k = ``known_latent_dim``) trained on the FONTS training images (Adam,
    pixel MSE, :data:`AUTOENCODER`, ``known_ae_epochs`` epochs, seed ``seed``), cached."""
    key = {**{k: cfg[k] for k in ("known_n_fonts", "known_train_size", "known_latent_dim", "known_ae_epochs")},
           **AUTOENCODER, "seed": seed}

    def compute() -> dict:
        _, train, _ = fonts_sets(cfg)
        seed_everything(seed)
        model = MnistAutoencoder(latent_dim=cfg["known_latent_dim"])
        hist = train_autoencoder(model, train.x, epochs=cfg["known_ae_epochs"], seed=seed, progress=progress,
                                 **AUTOENCODER)
        return _entry(model, hist)

    return _restore(MnistAutoencoder(latent_dim=cfg["known_latent_dim"]),
                    cached("on_off_known_autoencoder", key, compute), key)


def _entry(model: nn.Module, history: dict) -> dict:
    return {"state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "history": {k: v for k, v in history.items() if k != "callback"}}


def _restore(model: nn.Module, entry: dict, key: dict) -> nn.Module:
    model.load_state_dict(entry["state_dict"], strict=True)
    model = model.to(get_device()).eval()
    model.zoo_info = {**key, "history": entry["history"]}
    return model
