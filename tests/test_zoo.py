import pytest
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


def test_seed_gives_independent_models_each_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("DMM_CACHE", str(tmp_path))
    calls = []
    original = cache.cached
    monkeypatch.setattr(zoo, "cached", lambda name, params, compute, **kw: original(name, params, lambda: calls.append(name) or compute(), **kw))
    a0, a1 = zoo.mnist_classifier("smoke", seed=0), zoo.mnist_classifier("smoke", seed=1)
    e0, e1 = zoo.mnist_autoencoder("smoke", seed=0), zoo.mnist_autoencoder("smoke", seed=1)
    assert calls == ["zoo_mnist_classifier"] * 2 + ["zoo_mnist_autoencoder"] * 2
    assert a0.zoo_info["seed"] == 0 and a1.zoo_info["seed"] == 1
    for m0, m1 in ((a0, a1), (e0, e1)):
        assert not all(torch.equal(p, q) for p, q in zip(m0.state_dict().values(), m1.state_dict().values()))
    again = zoo.mnist_classifier("smoke", seed=1)
    assert len(calls) == 4 and all(torch.equal(p, q) for p, q in zip(a1.state_dict().values(), again.state_dict().values()))
    # seed=None is the profile's seed (0): the same cache entry as seed=0
    assert all(torch.equal(p, q) for p, q in zip(a0.state_dict().values(), zoo.mnist_classifier("smoke").state_dict().values()))
    assert len(calls) == 4
    from dmmlib.params import ParameterError

    with pytest.raises(ParameterError):
        zoo.cifar_autoencoder("smoke", seed=-1)


def test_quick_mnist_training_budget():
    """quick trains on all 60,000 digits (train size 0): the classifier gets the paper's 40 epochs
    (with momentum: G.1's literal recipe stops short of its 98 %), the autoencoder at least 40
    epochs (below that its held-out MSE still falls by more than the convergence rule allows:
    the measurement is in dmmlib/zoo_profiles.py) and at most a tenth of the paper's 1,000."""
    from dmmlib import params

    P, paper = params.resolve("shared_models", "quick"), params.resolve("shared_models", "paper")
    assert P["mnist_train_size"] == 0
    assert P["mnist_clf_epochs"] == paper["mnist_clf_epochs"] == 40 and P["mnist_clf_momentum"] == 0.9
    assert 40 <= P["mnist_ae_epochs"] <= paper["mnist_ae_epochs"] / 10


def test_pretrained_cifar_classifier():
    m = zoo.cifar_classifier(20)
    assert not m.training and m(torch.rand(1, 3, 32, 32)).shape == (1, 10)


# -- ImageNet: a fake ImageNet folder and fake ResNet-50 weights (the real ones are not here) --

def fake_imagenet(root):
    """An ImageFolder tree root/{train,val}/<wnid>/ built from the two shared sample images:
    train holds 4 distinct flips/rotations per class, val 2 others (transposes)."""
    from PIL import Image

    from dmmlib.data.imagenet import PAIR
    from dmmlib.data.paths import data_dir

    T = Image.Transpose
    splits = {"train": [None, T.FLIP_LEFT_RIGHT, T.FLIP_TOP_BOTTOM, T.ROTATE_180], "val": [T.TRANSPOSE, T.TRANSVERSE]}
    for wnid in PAIR:
        src = Image.open(next((data_dir() / "imagenet-samples").glob(f"{wnid}_*.JPEG"))).convert("RGB")
        for split, ops in splits.items():
            folder = root / split / wnid
            folder.mkdir(parents=True)
            for i, op in enumerate(ops):
                (src if op is None else src.transpose(op)).save(folder / f"{wnid}_{i}.JPEG", quality=95)
    return root


def fake_resnet50(seed=0):
    """torchvision's ResNet-50 architecture with random weights (eval mode)."""
    from torchvision.models import resnet50

    torch.manual_seed(seed)
    return resnet50(weights=None).eval()


def _no_download(monkeypatch):
    calls = []

    def fail(url, *args, **kwargs):
        calls.append(url)
        raise OSError("no internet in this test")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", fail)
    return calls


def test_imagenet_classifier_loads_weights_from_argument_env_and_hub(tmp_path, monkeypatch):
    from dmmlib.models.normalized import Normalized

    net = fake_resnet50(seed=1)
    hub = tmp_path / "hub"
    (hub / "checkpoints").mkdir(parents=True)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    monkeypatch.delenv("DMM_RESNET50_WEIGHTS", raising=False)
    downloads = _no_download(monkeypatch)
    x = torch.rand(2, 3, 64, 64)  # small images: ResNet-50's global pooling takes any size >= 32
    with torch.no_grad():
        expected = Normalized(net)(x)

    torch.save(net.state_dict(), tmp_path / "plain.pth")
    torch.save({"state_dict": {"module." + k: v for k, v in net.state_dict().items()}}, tmp_path / "wrapped.pth")
    torch.save(net.state_dict(), hub / "checkpoints" / "resnet50-0676ba61.pth")
    models = [zoo.imagenet_classifier(tmp_path / "wrapped.pth"), zoo.imagenet_classifier()]  # argument; hub folder
    assert "resnet50-0676ba61.pth" in models[1].zoo_info["source"]
    monkeypatch.setenv("DMM_RESNET50_WEIGHTS", str(tmp_path / "plain.pth"))
    models.append(zoo.imagenet_classifier())
    assert str(tmp_path / "plain.pth") in models[2].zoo_info["source"]
    for m in models:
        assert not m.training
        with torch.no_grad():
            out = m(x.to(next(m.parameters()).device)).cpu()
        assert out.shape == (2, 1000) and torch.allclose(out, expected, atol=1e-4)
    assert downloads == []
    torch.save({"fc.weight": torch.zeros(3, 3)}, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="not a torchvision ResNet-50"):
        zoo.imagenet_classifier(tmp_path / "bad.pth")


def test_imagenet_classifier_without_weights_says_what_is_missing(tmp_path, monkeypatch):
    from dmmlib.data.paths import MissingDataError

    monkeypatch.delenv("DMM_RESNET50_WEIGHTS", raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "empty-hub"))
    downloads = _no_download(monkeypatch)
    with pytest.raises(MissingDataError) as err:
        zoo.imagenet_classifier()
    msg = str(err.value)
    for part in ("DMM_RESNET50_WEIGHTS", "resnet50-0676ba61.pth", str(tmp_path / "empty-hub" / "checkpoints"),
                 "downloading it failed", "no internet in this test"):
        assert part in msg, part
    assert downloads == [zoo.RESNET50_URL]
    # a named file that is not there is an error of its own, and nothing is downloaded instead
    monkeypatch.setenv("DMM_RESNET50_WEIGHTS", str(tmp_path / "nope.pth"))
    with pytest.raises(MissingDataError, match="nope.pth.*does not exist"):
        zoo.imagenet_classifier()
    with pytest.raises(MissingDataError, match="weights argument"):
        zoo.imagenet_classifier(tmp_path / "nope2.pth")
    assert len(downloads) == 1


def test_imagenet_autoencoder_trains_on_the_train_split_then_comes_from_the_cache(tmp_path, monkeypatch):
    from dmmlib.models.autoencoders import ImageNetAutoencoder

    root = fake_imagenet(tmp_path / "imagenet")
    monkeypatch.setenv("DMM_CACHE", str(tmp_path / "cache"))
    calls = []
    original = cache.cached
    monkeypatch.setattr(zoo, "cached", lambda name, params, compute, **kw: original(name, params, lambda: calls.append(name) or compute(), **kw))
    first = zoo.imagenet_autoencoder("smoke", root=root)
    assert calls == ["zoo_imagenet_autoencoder"]
    second = zoo.imagenet_autoencoder("smoke", root=root)
    assert len(calls) == 1  # a cache hit
    assert isinstance(second, ImageNetAutoencoder) and not second.training and second.latent_dim == 8
    info = second.zoo_info
    assert info["n"] == 8 and "ImageNet train" in info["data"] and len(info["history"]["loss"]) == 1
    for (k, a), b in zip(first.state_dict().items(), second.state_dict().values()):
        assert torch.equal(a.cpu(), b.cpu()), k
    assert second.decode(torch.zeros(1, 8, device=next(second.parameters()).device)).shape == (1, 3, 224, 224)
    # the seed fixes the weights: a fresh cache retrains to the same state dict
    monkeypatch.setenv("DMM_CACHE", str(tmp_path / "cache2"))
    third = zoo.imagenet_autoencoder("smoke", root=root)
    assert len(calls) == 2
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), third.state_dict().values()))
    # other training images (here: fewer) are another cache entry
    zoo.imagenet_autoencoder("smoke", root=root, imagenet_train_per_class=2)
    assert len(calls) == 3
    with pytest.raises(ValueError, match="imagenet_train_per_class"):
        zoo.imagenet_autoencoder("smoke", root=root, imagenet_train_per_class=-1)
