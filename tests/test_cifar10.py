import pytest
import torch

from dmmlib.data import cifar10
from dmmlib.data.cifar10 import CLASSES, load_cifar10
from dmmlib.data.paths import MissingDataError


def test_test_split_shapes_labels_and_order():
    s = load_cifar10("test")
    assert s.x.shape == (10000, 3, 32, 32) and s.x.dtype == torch.float32
    assert 0.0 <= s.x.min() and s.x.max() <= 1.0 and s.x.std() > 0.1
    assert s.y.dtype == torch.int64
    assert torch.equal(s.y.bincount(), torch.full((10,), 1000))
    assert torch.equal(s.y, s.y.sort().values)  # sorted by (class, file name)
    assert torch.equal(load_cifar10("test").x[:5], s.x[:5])  # deterministic


def test_class_subset_reads_only_the_needed_tarball(monkeypatch):
    read = []
    original = cifar10._tarball
    monkeypatch.setattr(cifar10, "_tarball", lambda name: read.append(name) or original(name))
    s = load_cifar10("train", classes=(1, 0))
    assert read == ["cifar10_train_airplane_automobile_png.tar.gz"]
    assert s.x.shape == (10000, 3, 32, 32) and set(s.y.tolist()) == {0, 1}
    assert "airplane" in s.source and CLASSES[1] == "automobile"


def test_bad_arguments():
    with pytest.raises(ValueError, match="split"):
        load_cifar10("val")
    with pytest.raises(ValueError, match="classes"):
        load_cifar10("test", classes=(10,))


def test_missing_data_names_the_file(monkeypatch, tmp_path):
    monkeypatch.setenv("DMM_DATA", str(tmp_path))
    with pytest.raises(MissingDataError, match="cifar10_test_png.tar.gz"):
        load_cifar10("test")
