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
