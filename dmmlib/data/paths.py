"""Where real data is read from, and the one error raised when it is not there."""
from __future__ import annotations

import os
from pathlib import Path


class MissingDataError(FileNotFoundError):
    """Data the experiment needs is not on this machine; the message says what and where."""


def data_dir() -> Path:
    """The data folder: ``$DMM_DATA``, else ``~/.cache/dmm-book/data`` (torchvision downloads
    land there when online)."""
    return Path(os.environ.get("DMM_DATA") or Path.home() / ".cache" / "dmm-book" / "data")


def require(path: Path, what: str, hint: str = "") -> Path:
    """Return ``path`` if it exists, else raise :class:`MissingDataError` naming ``what``."""
    path = Path(path)
    if not path.exists():
        raise MissingDataError(
            f"{what} not found: looked for {path} (DMM_DATA={os.environ.get('DMM_DATA', '<unset>')})."
            + (f" {hint}" if hint else "")
        )
    return path


def data_identity() -> str:
    """A short fingerprint of the data this machine reads: the data folder's files with their
    sizes. It goes into the key of every cached result whose code reads data, so switching
    data (e.g. from the 5,000 offline MNIST digits to all 60,000) recomputes them."""
    import hashlib

    root = data_dir()
    digest = hashlib.sha256(str(root.name).encode())
    if root.is_dir():
        for f in sorted(p for p in root.rglob("*") if p.is_file()):
            digest.update(f"{f.relative_to(root)}:{f.stat().st_size}\n".encode())
    return digest.hexdigest()[:16]
