import pytest
import torch
from torch import nn

from dmmlib.models.autoencoders import MnistAutoencoder
from dmmlib.train import train_autoencoder, train_classifier


def _blobs(seed=0, n=200):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 5, generator=g) + 2.0 * y[:, None].float()
    return x, y


def _net(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 2))


def test_classifier_loss_falls_and_callback_runs_each_epoch():
    x, y = _blobs()
    seen = []
    hist = train_classifier(_net(0), x, y, epochs=8, lr=0.1, batch_size=20, seed=0, momentum=0.9, device="cpu",
                            callback=lambda epoch, model: seen.append((epoch, model.training)) or epoch)
    assert hist["loss"][-1] < 0.6 * hist["loss"][0]
    assert hist["accuracy"][-1] > 0.85
    assert seen == [(e, False) for e in range(8)] and hist["callback"] == list(range(8))


def test_seed_fixes_the_weights():
    x, y = _blobs()
    runs = []
    for train_seed in (3, 3, 4):
        model = _net(0)
        train_classifier(model, x, y, epochs=2, lr=0.1, batch_size=32, seed=train_seed, device="cpu", progress=False)
        runs.append(torch.cat([p.flatten() for p in model.parameters()]))
    assert torch.equal(runs[0], runs[1])
    assert not torch.equal(runs[0], runs[2])


def test_autoencoder_loss_falls():
    torch.manual_seed(0)
    x = torch.rand(64, 1, 28, 28) * (torch.rand(1, 1, 28, 28) > 0.5)  # a shared pattern
    model = MnistAutoencoder(latent_dim=4)
    hist = train_autoencoder(model, x, epochs=15, lr=1e-3, batch_size=16, seed=0, device="cpu", progress=False)
    assert hist["loss"][-1] < 0.5 * hist["loss"][0]
    assert not model.training


def test_bad_inputs():
    x, y = _blobs()
    with pytest.raises(ValueError, match="y must"):
        train_classifier(_net(0), x, y[:-1], epochs=1, lr=0.1)
    with pytest.raises(ValueError, match="optimizer"):
        train_classifier(_net(0), x, y, epochs=1, lr=0.1, optimizer="rmsprop", device="cpu")
    with pytest.raises(TypeError, match="encode"):
        train_autoencoder(_net(0), x, epochs=1, lr=0.1)
