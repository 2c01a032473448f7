"""ImageNet images as float tensors (N, 3, 224, 224) in [0, 1], labels = ImageNet class indices.

ImageNet itself cannot be shipped: :func:`load_imagenet_pair` reads the paper's two classes,
goldfish (n01443537, index 1) and great white shark (n01484850, index 2), from a folder the
user supplies (ImageFolder layout ``<root>/[<split>/]<wnid>/*.JPEG``; ``root`` argument or
``$DMM_IMAGENET``). :func:`load_imagenet_samples` reads the 20 sample images of the shared data
folder, ``$DMM_DATA/imagenet-samples/<wnid>_<name>.JPEG``. Images are resized (shorter side
256, bilinear) and centre-cropped to 224, torchvision's usual evaluation transform.
The sample images are verified against their known SHA-256 (:mod:`dmmlib.data.checksums`);
an unreadable image raises :class:`~dmmlib.data.paths.CorruptDataError` naming it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import numpy as np
import torch

from dmmlib.data.checksums import verify
from dmmlib.data.mnist import ImageSet
from dmmlib.data.paths import CorruptDataError, MissingDataError, data_dir, require

PAIR = {"n01443537": 1, "n01484850": 2}  # goldfish, great white shark (appendix D.3)
IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png")


def load_imagenet_pair(root: str | os.PathLike | None = None, split: str = "val", per_class: int | None = None) -> ImageSet:
    """Goldfish and great-white-shark images of a user-supplied ImageNet folder, labels 1 and 2.

    ``root`` (else ``$DMM_IMAGENET``) holds ``<split>/<wnid>/`` or directly ``<wnid>/``;
    ``per_class`` keeps the first images (sorted by file name) of each class.
    """
    root = root or os.environ.get("DMM_IMAGENET")
    if not root:
        raise MissingDataError(
            "ImageNet is not on this machine: pass root=<folder> or set DMM_IMAGENET to a folder with "
            "<split>/n01443537/*.JPEG (goldfish) and <split>/n01484850/*.JPEG (great white shark)."
        )
    base = Path(root) / split if (Path(root) / split).is_dir() else Path(root)
    files, labels = [], []
    for wnid, label in PAIR.items():
        folder = require(base / wnid, f"ImageNet class folder {wnid}", f"Expected ImageFolder layout under {root}.")
        found = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)[:per_class]
        if not found:
            raise MissingDataError(f"ImageNet class folder {folder} holds no images")
        files += found
        labels += [label] * len(found)
    return ImageSet(_read(files), torch.tensor(labels), f"ImageNet {split} (goldfish, great white shark; {len(files)} images from {root})")


def load_imagenet_samples(wnids: Iterable[str] | None = None) -> ImageSet:
    """The shared sample images (one per class), sorted by wnid; ``wnids`` selects some of them.

    Labels are ImageNet indices, looked up by class name in torchvision's category list.
    """
    folder = require(data_dir() / "imagenet-samples", "ImageNet sample images", "Point DMM_DATA at the shared data folder.")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
    if wnids is not None:
        wanted = set(wnids)
        files = [p for p in files if p.name.split("_")[0] in wanted]
        missing = wanted - {p.name.split("_")[0] for p in files}
        if missing:
            raise MissingDataError(f"no sample image for {', '.join(sorted(missing))} in {folder}")
    for p in files:
        verify(p)
    labels = torch.tensor([imagenet_index(p.stem.split("_", 1)[1].replace("_", " ")) for p in files])
    return ImageSet(_read(files), labels, f"ImageNet sample images ({len(files)}, {folder})")


def imagenet_index(name: str) -> int:
    """ImageNet class index of a class name ('goldfish' -> 1), from torchvision's category list."""
    from torchvision.models import ResNet50_Weights

    categories = ResNet50_Weights.IMAGENET1K_V1.meta["categories"]
    lowered = [c.lower() for c in categories]
    if name.lower() not in lowered:
        raise ValueError(f"{name!r} is not an ImageNet class name")
    return lowered.index(name.lower())


def _read(files: list[Path], size: int = 224, resize: int = 256) -> torch.Tensor:
    """JPEG/PNG files -> (N, 3, size, size) float32 in [0, 1] (shorter side ``resize``, centre crop)."""
    from PIL import Image

    out = np.empty((len(files), size, size, 3), dtype=np.uint8)
    for i, path in enumerate(files):
        try:
            img = Image.open(path).convert("RGB")
        except OSError as err:  # PIL's UnidentifiedImageError and truncated files
            raise CorruptDataError(f"image file {path} cannot be read ({type(err).__name__}: {err})") from err
        scale = resize / min(img.size)
        img = img.resize((max(size, round(img.width * scale)), max(size, round(img.height * scale))), Image.BILINEAR)
        left, top = (img.width - size) // 2, (img.height - size) // 2
        out[i] = np.asarray(img.crop((left, top, left + size, top + size)))
    return torch.from_numpy(out).permute(0, 3, 1, 2).float().div_(255.0)
