"""The shared models' training record: recipe and epochs beside the paper's, and the convergence rule."""
import math

import matplotlib
import pytest
from torch import nn

from dmmlib import zoo_training
from dmmlib.convergence import CONVERGED_BELOW

matplotlib.use("Agg")


def _model(kind: str, loss, seed=0, **settings):
    m = nn.Linear(2, 2)
    defaults = {"mnist_clf": {"mnist_clf_epochs": len(loss), "mnist_clf_lr": 0.01, "mnist_clf_momentum": 0.9,
                              "mnist_clf_batch_size": 200},
                "mnist_ae": {"mnist_ae_epochs": len(loss), "mnist_ae_lr": 0.001, "mnist_ae_batch_size": 144,
                             "mnist_ae_latent_dim": 16}}[kind]
    m.zoo_info = {"data": "fake", "n": 100, "seed": seed, **defaults, **settings, "history": {"loss": list(loss)}}
    return m


def test_a_flat_curve_has_converged_and_a_falling_one_has_not():
    flat = [1.0 / (e + 1) for e in range(20)] + [0.05] * 20
    falling = [1.0 / (e + 1) for e in range(40)]
    rows = zoo_training.training_rows([_model("mnist_clf", flat), _model("mnist_ae", falling, seed=1)])
    assert rows[0]["converged"] and rows[0]["loss drop, last 10 %"] < CONVERGED_BELOW
    assert not rows[1]["converged"] and rows[1]["loss drop, last 10 %"] > CONVERGED_BELOW
    assert rows[0]["paper's epochs"] == 40 and rows[1]["paper's epochs"] == 1000
    assert rows[0]["recipe"] == "SGD, lr 0.01, momentum 0.9, batch 200"
    assert rows[1]["recipe"] == "Adam, lr 0.001, batch 144" and rows[1]["seed"] == 1
    assert rows[1]["final training loss"] == pytest.approx(1 / 40)


def test_too_short_a_curve_is_not_converged():
    row = zoo_training.training_rows([_model("mnist_ae", [1.0, 0.5, 0.4])])[0]
    assert math.isnan(row["loss drop, last 10 %"]) and not row["converged"]


def test_a_model_the_zoo_did_not_train_is_refused():
    with pytest.raises(ValueError, match="zoo_info"):
        zoo_training.training_rows([nn.Linear(2, 2)])


def test_loss_curves_one_panel_per_kind():
    fig = zoo_training.loss_curves([_model("mnist_clf", [1, 0.5, 0.3]), _model("mnist_ae", [0.1, 0.05]),
                                    _model("mnist_clf", [1, 0.6, 0.2], seed=1)])
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 2
    assert "40" in fig.axes[0].get_xlabel()


def test_the_rule_judges_the_held_out_curve_when_there_is_one():
    falling_train = [1.0 / (e + 1) for e in range(40)]
    flat_val = [1.0 / (e + 1) for e in range(20)] + [0.05] * 20
    m = _model("mnist_ae", falling_train)
    m.zoo_info["history"]["val_loss"] = flat_val
    row = zoo_training.training_rows([m])[0]
    assert row["judged"] == "validation loss" and row["converged"]
    assert row["final held-out loss"] == pytest.approx(0.05) and row["final training loss"] == pytest.approx(1 / 40)
    fig = zoo_training.loss_curves([m])
    assert len(fig.axes[0].lines) == 2  # training and held-out


def test_training_records_the_held_out_loss_per_epoch():
    import torch

    from dmmlib.models.autoencoders import MnistAutoencoder
    from dmmlib.train import train_autoencoder, train_classifier

    torch.manual_seed(0)
    x = torch.rand(64, 1, 28, 28)
    hist = train_autoencoder(MnistAutoencoder(4), x[:48], epochs=3, lr=1e-3, batch_size=16, progress=False,
                             validation=x[48:])
    assert len(hist["val_loss"]) == 3 and all(v > 0 for v in hist["val_loss"])
    clf = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    y = torch.randint(0, 10, (64,))
    hist = train_classifier(clf, x[:48], y[:48], epochs=2, lr=0.1, batch_size=16, progress=False,
                            validation=(x[48:], y[48:]))
    assert len(hist["val_loss"]) == 2 and all(0 <= a <= 1 for a in hist["val_accuracy"])
    with pytest.raises(ValueError, match="shape"):
        train_autoencoder(MnistAutoencoder(4), x, epochs=1, lr=1e-3, progress=False, validation=torch.rand(4, 3, 28, 28))
