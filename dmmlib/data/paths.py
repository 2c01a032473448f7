"""Where real data is read from, the errors raised when it is missing or corrupt, and the
data's identity (for cache keys and chapter stamps)."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

# What the data folder holds (for error messages): the shared folder's layout.
LAYOUT = (
    "$DMM_DATA/mnist/{t10k,train}-{images-idx3,labels-idx1}-ubyte.gz (MNIST, IDX; train-* optional, "
    "else mnist/mnist_train_5k.csv.gz), $DMM_DATA/cifar10/cifar10_{test,train_airplane_automobile,"
    "train_other8}_png.tar.gz, $DMM_DATA/cifar10-resnet/resnet{20,56}-*.th, $DMM_DATA/imagenet-samples/*.JPEG"
)
# Files of the data folder that are documentation, not data: left out of data_identity().
_NOT_DATA = {"README.md", "SHA256SUMS", "LICENSE"}


class DataError(Exception):
    """Data the experiment needs cannot be used; the message names the file."""


class MissingDataError(DataError, FileNotFoundError):
    """Data the experiment needs is not on this machine; the message says what and where."""


class CorruptDataError(DataError, ValueError):
    """A data file is there but its content is wrong (checksum mismatch, truncated, bad format);
    the message names the file."""


def data_dir() -> Path:
    """The data folder: ``$DMM_DATA``, else ``~/.cache/dmm-book/data``. Nothing is downloaded:
    put the files there (see :data:`LAYOUT`) or point ``DMM_DATA`` at a folder that has them."""
    return Path(os.environ.get("DMM_DATA") or Path.home() / ".cache" / "dmm-book" / "data")


def require(path: Path, what: str, hint: str = "") -> Path:
    """Return ``path`` if it exists (a file is verified against its known checksum, see
    :func:`dmmlib.data.checksums.verify`), else raise :class:`MissingDataError` naming ``what``,
    where it was looked for, the variable to set and the folder layout."""
    from dmmlib.data.checksums import verify

    path = Path(path)
    if not path.exists():
        raise MissingDataError(
            f"{what} not found: looked for {path} (DMM_DATA={os.environ.get('DMM_DATA', '<unset>')}). "
            + (f"{hint} " if hint else "")
            + f"Set DMM_DATA to a folder laid out as {LAYOUT}."
        )
    verify(path)
    return path


def data_identity() -> str:
    """A short fingerprint of the data this machine reads: the SHA-256 of every data file in
    the data folder (with its path inside it). It goes into the key of every cached result
    whose code reads data and into every chapter's stamp, so changing, fixing or adding data
    (e.g. the 60,000 MNIST training digits beside the 5,000) recomputes what depends on it.

    Each file is hashed once per process (memoised by path, size and modification time):
    about half a second for the shared folder's 150 MB.
    """
    from dmmlib.data.checksums import sha256_file

    root = data_dir()
    digest = hashlib.sha256(b"dmm-data-v2\n")
    if root.is_dir():
        for f in sorted(p for p in root.rglob("*") if p.is_file() and p.name not in _NOT_DATA):
            digest.update(f"{f.relative_to(root).as_posix()}:{sha256_file(f)}\n".encode())
    return digest.hexdigest()[:16]
