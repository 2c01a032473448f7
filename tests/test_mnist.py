import pytest
import torch

from dmmlib.data.mnist import load_mnist
from dmmlib.data.paths import MissingDataError


def test_offline_mnist_shapes_and_range():
    test = load_mnist("test")
    assert test.x.shape == (10000, 1, 28, 28) and test.y.shape == (10000,)
    assert test.x.dtype == torch.float32 and 0 <= test.x.min() and test.x.max() <= 1
    assert torch.bincount(test.y).tolist()[:2] == [980, 1135]  # the official test set's class counts
    train = load_mnist("train")
    assert len(train.y) in (5000, 60000) and set(train.y.tolist()) == set(range(10))


def test_missing_data_says_what_and_where(monkeypatch, tmp_path):
    monkeypatch.setenv("DMM_DATA", str(tmp_path))
    with pytest.raises(MissingDataError, match="MNIST test images not found.*DMM_DATA"):
        load_mnist("test")


def test_bad_split():
    with pytest.raises(ValueError, match="split"):
        load_mnist("validation")
