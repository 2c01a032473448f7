"""CIFAR-10 as float tensors in [0, 1], with the standard class indices (airplane=0 ... truck=9).

Sources, in order: torchvision's CIFAR-10 under ``$DMM_DATA/cifar-10-batches-py`` when
present (online users); else the PNG tarballs of the shared data folder,
``$DMM_DATA/cifar10/cifar10_{test,train_airplane_automobile,train_other8}_png.tar.gz``.
Decoding 10,000 PNGs takes a while, so each tarball is decoded once into a uint8 tensor kept
in the dmmlib cache; only the tarballs holding the requested classes are read. The PNG test
set has lost the original order: images are sorted by (class, file name).

Each tarball is verified against its known SHA-256 on first use (:mod:`dmmlib.data.checksums`);
a corrupt or truncated one raises :class:`~dmmlib.data.paths.CorruptDataError` naming it.
Nothing is downloaded.
"""
from __future__ import annotations

import io
import tarfile
from typing import Iterable

import numpy as np
import torch

from dmmlib.cache import cached
from dmmlib.data.mnist import ImageSet
from dmmlib.data.paths import CorruptDataError, data_dir, require

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
_TARBALLS = {  # split -> (file name, class indices it holds)
    "test": (("cifar10_test_png.tar.gz", tuple(range(10))),),
    "train": (
        ("cifar10_train_airplane_automobile_png.tar.gz", (0, 1)),
        ("cifar10_train_other8_png.tar.gz", tuple(range(2, 10))),
    ),
}
_HINT = (
    "Point DMM_DATA at the shared data folder (it holds cifar10/*.tar.gz), or put torchvision's "
    "CIFAR-10 folder 'cifar-10-batches-py' in DMM_DATA (with internet, once: "
    "python -c \"import os, torchvision; torchvision.datasets.CIFAR10(os.environ['DMM_DATA'], download=True)\")."
)


def load_cifar10(split: str = "train", classes: Iterable[int] | None = None) -> ImageSet:
    """CIFAR-10 ``split`` ('train' or 'test') as an :class:`ImageSet` with x (N, 3, 32, 32) in [0, 1].

    ``classes`` (e.g. ``(0, 1)``) keeps only those class indices; labels keep their standard
    CIFAR-10 values. Raises :class:`MissingDataError` when no source is present.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    wanted = tuple(range(10)) if classes is None else tuple(sorted({int(c) for c in classes}))
    if not wanted or any(c < 0 or c > 9 for c in wanted):
        raise ValueError(f"classes must be a non-empty subset of 0..9, got {classes!r}")
    full = _torchvision_cifar10(split)
    if full is not None:
        x, y, source = full
    else:
        parts = [_tarball(name) for name, held in _TARBALLS[split] if set(held) & set(wanted)]
        x = torch.cat([p["x"] for p in parts])
        y = torch.cat([p["y"] for p in parts])
        source = f"CIFAR-10 {split} PNG files"
    keep = torch.isin(y, torch.tensor(wanted))
    x, y = x[keep], y[keep]
    names = "all classes" if len(wanted) == 10 else "classes " + ", ".join(CLASSES[c] for c in wanted)
    return ImageSet(x.float().div_(255.0), y, f"{source} ({len(y)} images, {names})")


def _tarball(name: str) -> dict:
    path = require(data_dir() / "cifar10" / name, f"CIFAR-10 tarball {name}", _HINT)
    return cached("cifar10_png", {"file": name, "size": path.stat().st_size}, lambda: _decode(path), code=(__name__,))


def _decode(path) -> dict:
    """PNGs of a ``<split>/<class>/<name>.png`` tarball -> {'x': uint8 (N,3,32,32), 'y': int64 (N,)}."""
    from PIL import Image
    from dmmlib.progress import progress as tqdm

    import zlib

    from PIL import UnidentifiedImageError

    images: dict[tuple[int, str], np.ndarray] = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tqdm(tar, desc=f"decoding {path.name}", leave=False):
                parts = member.name.split("/")
                if not member.isfile() or not member.name.endswith(".png") or len(parts) < 3:
                    continue
                if parts[-2] not in CLASSES:
                    raise CorruptDataError(f"{path}: unexpected class folder {parts[-2]!r} in {member.name}")
                data = tar.extractfile(member).read()
                images[(CLASSES.index(parts[-2]), parts[-1])] = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    except (tarfile.TarError, EOFError, OSError, zlib.error, UnidentifiedImageError) as err:
        raise CorruptDataError(f"CIFAR-10 tarball {path} is truncated or corrupt ({type(err).__name__}: {err})") from err
    if not images:
        raise CorruptDataError(f"{path} holds no PNG images")
    if any(a.shape != (32, 32, 3) for a in images.values()):
        raise CorruptDataError(f"{path} holds images that are not 32 x 32 RGB")
    keys = sorted(images)
    x = torch.from_numpy(np.stack([images[k] for k in keys])).permute(0, 3, 1, 2).contiguous()
    y = torch.tensor([k[0] for k in keys], dtype=torch.int64)
    return {"x": x, "y": y}


def _torchvision_cifar10(split: str):
    if not (data_dir() / "cifar-10-batches-py").exists():
        return None
    try:
        from torchvision.datasets import CIFAR10

        ds = CIFAR10(str(data_dir()), train=(split == "train"), download=False)
    except Exception:  # incomplete or corrupt download: fall back to the PNG files
        return None
    x = torch.from_numpy(np.asarray(ds.data)).permute(0, 3, 1, 2).contiguous()
    return x, torch.tensor(ds.targets, dtype=torch.int64), f"CIFAR-10 {split} set (torchvision)"
