import torch

from dmmlib import cache, zoo
from dmmlib.models.autoencoders import CifarAutoencoder, MnistAutoencoder
from dmmlib.models.mlp import MnistMLP


def test_smoke_models_train_then_come_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DMM_CACHE", str(tmp_path))
    calls = []
    original = cache.cached
    monkeypatch.setattr(zoo, "cached", lambda name, params, compute, **kw: original(name, params, lambda: calls.append(name) or compute(), **kw))
    first = [zoo.mnist_classifier("smoke"), zoo.mnist_autoencoder("smoke"), zoo.cifar_autoencoder("smoke", cifar_train_size=64)]
    assert calls == ["zoo_mnist_classifier", "zoo_mnist_autoencoder", "zoo_cifar_autoencoder"]
    second = [zoo.mnist_classifier("smoke"), zoo.mnist_autoencoder("smoke"), zoo.cifar_autoencoder("smoke", cifar_train_size=64)]
    assert len(calls) == 3  # all three were cache hits
    for a, b, cls in zip(first, second, (MnistMLP, MnistAutoencoder, CifarAutoencoder)):
        assert isinstance(b, cls) and not b.training
        for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
            assert torch.equal(va.cpu(), vb.cpu()), k
    assert second[0](torch.rand(2, 1, 28, 28)).shape == (2, 10)
    assert second[2].decode(torch.zeros(1, 128)).shape == (1, 3, 32, 32)
    assert second[1].zoo_info["mnist_ae_latent_dim"] == 16 and len(second[1].zoo_info["history"]["loss"]) == 2


def test_pretrained_cifar_classifier():
    m = zoo.cifar_classifier(20)
    assert not m.training and m(torch.rand(1, 3, 32, 32)).shape == (1, 10)
