"""MNIST as float tensors in [0, 1].

Files are read from ``$DMM_DATA`` (see :func:`dmmlib.data.paths.data_dir`), in
``$DMM_DATA/mnist/`` (the shared data folder's layout) or ``$DMM_DATA/MNIST/raw/``
(torchvision's layout), each file gzipped (``.gz``) or not:

- test: ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (the official 10,000 digits);
- train: ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte`` (the official 60,000
  digits) when both are present, else ``mnist/mnist_train_5k.csv.gz`` (5,000 of them, 500
  per class). ``ImageSet.source`` says which.

Every file is verified against its known SHA-256 on first use
(:mod:`dmmlib.data.checksums`); a corrupt, truncated or malformed file raises
:class:`~dmmlib.data.paths.CorruptDataError` naming it. Nothing is downloaded.
"""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from dmmlib.data.checksums import verify
from dmmlib.data.paths import CorruptDataError, MissingDataError, data_dir, require  # noqa: F401  (named in the docstring)

FULL_TRAIN = 60_000
_FOLDERS = ("mnist", "MNIST/raw")


class ImageSet(NamedTuple):
    """Images ``x`` (N, C, H, W) float32 in [0, 1], labels ``y`` (N,) int64, and where they came from."""

    x: torch.Tensor
    y: torch.Tensor
    source: str


def load_mnist(split: str = "train") -> ImageSet:
    """MNIST ``split`` ('train' or 'test') as an :class:`ImageSet` of shape (N, 1, 28, 28).

    ``train`` has the 60,000 official digits when their IDX files are present, else the
    5,000 offline digits; ``source`` says which. Raises :class:`MissingDataError` (what is
    missing, where it was looked for, ``DMM_DATA`` and the layout) or :class:`CorruptDataError`.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    prefix = "t10k" if split == "test" else "train"
    images, labels = _find(f"{prefix}-images-idx3-ubyte"), _find(f"{prefix}-labels-idx1-ubyte")
    if images is not None and labels is not None:
        x, y = _read_idx(images), _read_idx(labels)
        n = len(y)
        what = "test set" if split == "test" else "training set"
        return _as_set(x, y, f"MNIST {what} ({n:,} digits, IDX files)", images)
    folder = data_dir() / "mnist"
    if split == "test":
        require(images or folder / "t10k-images-idx3-ubyte.gz", "MNIST test images")
        require(labels or folder / "t10k-labels-idx1-ubyte.gz", "MNIST test labels")
    csv = require(folder / "mnist_train_5k.csv.gz", "MNIST training digits (train-*-idx?-ubyte.gz or mnist_train_5k.csv.gz)")
    table = _read_csv(csv)
    source = f"MNIST training subset ({len(table):,} digits, offline CSV)"
    return _as_set(table[:, :784].reshape(-1, 28, 28), table[:, 784], source, csv)


def _find(stem: str) -> Path | None:
    """The first existing ``<folder>/<stem>[.gz]`` of the known layouts, or None."""
    for folder in _FOLDERS:
        for name in (f"{stem}.gz", stem):
            path = data_dir() / folder / name
            if path.is_file():
                return path
    return None


_ARRAYS: dict[tuple, np.ndarray] = {}  # (path, size, mtime_ns) -> read-only array, per process


def _memo(path: Path, read) -> np.ndarray:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _ARRAYS:
        arr = read()
        arr.setflags(write=False)
        _ARRAYS[key] = arr
    return _ARRAYS[key]


def _read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzipped or not) as a uint8 array of the shape its header gives."""
    verify(path)

    def read():
        try:
            with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as f:
                data = f.read()
        except (EOFError, OSError, zlib.error) as err:
            raise CorruptDataError(f"MNIST file {path} is truncated or not valid gzip ({err})") from err
        if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08 or not 1 <= data[3] <= 4:
            raise CorruptDataError(f"MNIST file {path} is not an IDX file of bytes (bad header {data[:4]!r})")
        ndim = data[3]
        header = 4 + 4 * ndim
        shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
        need = int(np.prod(shape))
        if len(data) != header + need:
            raise CorruptDataError(
                f"MNIST file {path} is truncated or padded: its header says shape {shape} "
                f"({need:,} values), the file holds {max(len(data) - header, 0):,}"
            )
        return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)

    return _memo(path, read)


def _read_csv(path: Path) -> np.ndarray:
    """The 5k CSV: one row per image, 784 pixel values then the label."""

    def read():
        try:
            table = np.loadtxt(path, delimiter=",", dtype=np.uint8, ndmin=2)
        except (EOFError, OSError, zlib.error, ValueError) as err:
            raise CorruptDataError(f"MNIST file {path} is truncated or malformed ({err})") from err
        if table.shape[1] != 785:
            raise CorruptDataError(f"MNIST file {path}: expected 785 columns (784 pixels, label), got {table.shape[1]}")
        return table

    return _memo(path, read)


def _as_set(images: np.ndarray, labels: np.ndarray, source: str, path: Path) -> ImageSet:
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise CorruptDataError(f"MNIST images near {path} have shape {images.shape}, expected (N, 28, 28)")
    if labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise CorruptDataError(f"MNIST files near {path} are inconsistent: {images.shape[0]} images, {labels.shape} labels")
    if labels.size and labels.max() > 9:
        raise CorruptDataError(f"MNIST labels near {path} hold {int(labels.max())}, expected 0..9")
    x = torch.from_numpy(np.array(images, copy=True)).float().div_(255.0).unsqueeze(1)
    y = torch.from_numpy(np.asarray(labels).astype(np.int64))
    return ImageSet(x, y, source)
