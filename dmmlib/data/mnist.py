"""MNIST as float tensors in [0, 1].

Sources, in order: the full torchvision MNIST under ``$DMM_DATA/MNIST`` (downloaded there
when online and ``download=True``); else the offline files of the shared data folder:
``$DMM_DATA/mnist/t10k-*-idx?-ubyte.gz`` (the official 10,000 test digits) and
``$DMM_DATA/mnist/mnist_train_5k.csv.gz`` (5,000 training digits, 500 per class).
"""
from __future__ import annotations

import gzip
from typing import NamedTuple

import numpy as np
import torch

from dmmlib.data.paths import MissingDataError, data_dir, require


class ImageSet(NamedTuple):
    """Images ``x`` (N, C, H, W) float32 in [0, 1], labels ``y`` (N,) int64, and where they came from."""

    x: torch.Tensor
    y: torch.Tensor
    source: str


def load_mnist(split: str = "train", download: bool = False) -> ImageSet:
    """MNIST ``split`` ('train' or 'test') as an :class:`ImageSet` of shape (N, 1, 28, 28).

    ``train`` has 60,000 digits when the torchvision files are present (or ``download``
    succeeds), else the 5,000 offline digits; ``source`` says which.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    full = _torchvision_mnist(split, download)
    if full is not None:
        return full
    folder = data_dir() / "mnist"
    hint = "Point DMM_DATA at the shared data folder, or pass download=True with internet access."
    if split == "test":
        images = _read_idx(require(folder / "t10k-images-idx3-ubyte.gz", "MNIST test images", hint))
        labels = _read_idx(require(folder / "t10k-labels-idx1-ubyte.gz", "MNIST test labels", hint))
        return _as_set(images, labels, "MNIST test set (10,000 digits, IDX files)")
    table = np.loadtxt(require(folder / "mnist_train_5k.csv.gz", "MNIST training digits", hint), delimiter=",", dtype=np.uint8)
    return _as_set(table[:, :784].reshape(-1, 28, 28), table[:, 784], "MNIST training subset (5,000 digits, offline)")


def _torchvision_mnist(split: str, download: bool) -> ImageSet | None:
    raw = data_dir() / "MNIST" / "raw"
    if not download and not (raw / "train-images-idx3-ubyte").exists() and not (raw / "train-images-idx3-ubyte.gz").exists():
        return None
    try:
        from torchvision.datasets import MNIST

        ds = MNIST(str(data_dir()), train=(split == "train"), download=download)
    except Exception as err:  # offline: fall back to the shared files, saying why
        if download:
            raise MissingDataError(f"torchvision could not provide MNIST ({err})") from err
        return None
    return _as_set(ds.data.numpy(), ds.targets.numpy(), f"MNIST {split} set ({len(ds)} digits, torchvision)")


def _read_idx(path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _as_set(images: np.ndarray, labels: np.ndarray, source: str) -> ImageSet:
    x = torch.from_numpy(np.array(images, copy=True)).float().div_(255.0).unsqueeze(1)
    y = torch.from_numpy(np.asarray(labels).astype(np.int64))
    if x.shape[0] != y.shape[0]:
        raise MissingDataError(f"MNIST files are inconsistent: {x.shape[0]} images, {y.shape[0]} labels")
    return ImageSet(x, y, source)
