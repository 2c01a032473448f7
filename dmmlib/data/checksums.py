"""Known SHA-256 checksums of the data files, and their verification on first use.

``FILES``: the checksum of every file of the shared data folder, relative to ``$DMM_DATA``
(copied from its ``SHA256SUMS``). ``IDX_CONTENT``: the checksums of the *decompressed*
MNIST IDX files, so that the official ``*.gz`` archives (whose compressed bytes differ
from the shared folder's re-compressed ones), torchvision's ``MNIST/raw`` files and
uncompressed copies are recognised too.

:func:`verify` hashes a file once per process (memoised by its path, size and
modification time) and raises :class:`dmmlib.data.paths.CorruptDataError` naming the file
when its content is not the known one. Files we do not know are not verified (their
checksum still enters :func:`dmmlib.data.paths.data_identity`).
"""
from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

FILES = {
    "cifar10-resnet/LICENSE": "5fd77ac414b6e19f2d22f130ff9d7e29593f05fd9f0a472e07a15661bc16671e",
    "cifar10-resnet/resnet20-12fca82f.th": "12fca82f0bebc4135bf1f32f6e3710e61d5108578464b84fd6d7f5c1b04036c8",
    "cifar10-resnet/resnet56-4bfd9763.th": "4bfd97631478d6b638d2764fd2baff3edb1d7d82252d54439343b6596b9b5367",
    "cifar10/cifar10_test_png.tar.gz": "1c1632d5de41ff6e99836d88f938ed0d34782032aca47c06a9807c24a70397bc",
    "cifar10/cifar10_train_airplane_automobile_png.tar.gz": "a2ed7bf26b454c404887ba5133a1ba581af68ba2daf0faaaa015c613f976b156",
    "cifar10/cifar10_train_other8_png.tar.gz": "019bb11eae920f052732c671d74c3a276107172e4039244767f32c471f532936",
    "imagenet-samples/n01440764_tench.JPEG": "98f7e89b26142f7bdb61f3a627dee89729b0bb07a29e9e7f3be9d394c00c6f01",
    "imagenet-samples/n01443537_goldfish.JPEG": "61ff9f1e0c4ed5906efed08c19d0c501b5ba75e45df77818d533a28e825341aa",
    "imagenet-samples/n01484850_great_white_shark.JPEG": "2154d212dbb63a67f1436967223d846f687121cdd9ed1a37d6ca8f0821d385bc",
    "imagenet-samples/n01491361_tiger_shark.JPEG": "2a09866683cb1abba5551b2f48c2182b11df522ba9270201c68d67a90672f278",
    "imagenet-samples/n01518878_ostrich.JPEG": "0592f75d50591658aca0d09060d20303336b7b6e7ef4d47ac137fea6d42d9cb2",
    "imagenet-samples/n01580077_jay.JPEG": "44ae6bf885bcef44dbf99e6e90d201b18344ac1dd6af7c6b5870419b87ca742d",
    "imagenet-samples/n01614925_bald_eagle.JPEG": "603acc0ab92fdd66bfdc8ed51534e7a8830e9e1c3d0310228742214c29760388",
    "imagenet-samples/n02099601_golden_retriever.JPEG": "e3110d963cb53bb99caf2d26c04cbcf8c8d35a0bbbce81c4caef71ec268e411e",
    "imagenet-samples/n02123045_tabby.JPEG": "678cd3aca4149cf0ed354c19061cb51a0a972bbd713864b7cef3eba02c332984",
    "imagenet-samples/n02123394_Persian_cat.JPEG": "6392424586ff1c9b31dfa3a8d07f183f183073dfb9160edcbe15d6b664534d00",
    "imagenet-samples/n02124075_Egyptian_cat.JPEG": "c518629e3934dbff56f73b2f864b4a62711e6fcd4caeac307785151e98941789",
    "imagenet-samples/n02690373_airliner.JPEG": "7c485f53b3428876ae641e6241e0b4350decbe52a35fc3138d4b9fc46c092e06",
    "imagenet-samples/n03095699_container_ship.JPEG": "db16b841d6db9ba224e28430ce8a69912c7de69f016be920a0bf45bef1ee5ad2",
    "imagenet-samples/n03344393_fireboat.JPEG": "9c6cc73c30eab740548b3956fd2ac8d541385cf38b6c037d6b51190b5dbc5964",
    "imagenet-samples/n03977966_police_van.JPEG": "2c39852f78997198c432d5e0912c84c3d73c2db68fd847ab1d81c8d7d1b2d2df",
    "imagenet-samples/n04146614_school_bus.JPEG": "6d34a198fdf9ef56a00e8c401699a5f3fc529a7bf2f6aa164e7934e21413bca2",
    "imagenet-samples/n04273569_speedboat.JPEG": "38934f25706b469e52bc4479df83fe668c2593f916dddba17f3d4c4419b1226e",
    "imagenet-samples/n04285008_sports_car.JPEG": "e3416e6c8adb7ecf295a22a2637183ea01e00cd1ce888ecd3cc8c12d77d65caa",
    "imagenet-samples/n04552348_warplane.JPEG": "e7c809760af83933b38c26938d537b92f99aa0e537460c2e5f7e08bc65a23eb1",
    "imagenet-samples/n07583066_guacamole.JPEG": "dbb07f23fbac7e467e898cf9b49f2022347a6703a2e65855f2379f01dce24071",
    "mnist/mnist_train_5k.csv.gz": "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d",
    "mnist/t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "mnist/t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    "mnist/train-images-idx3-ubyte.gz": "0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971",
    "mnist/train-labels-idx1-ubyte.gz": "1787548bbe0bff1ec2ecdc0ef292b02df999e2d1a6002d27500982c652b17203",
}

IDX_CONTENT = {
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
}

_HASHES: dict[tuple, str] = {}  # (path, size, mtime_ns, "file"|"content") -> sha256
_VERIFIED: set[tuple] = set()


def _stat_key(path: Path, kind: str) -> tuple:
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns, kind)


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a file's bytes, computed once per process per (path, size, mtime)."""
    path = Path(path)
    key = _stat_key(path, "file")
    if key not in _HASHES:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        _HASHES[key] = digest.hexdigest()
    return _HASHES[key]


def _sha256_content(path: Path) -> str:
    """SHA-256 of a gzip file's decompressed bytes (of the file itself when not gzip)."""
    key = _stat_key(path, "content")
    if key not in _HASHES:
        from dmmlib.data.paths import CorruptDataError

        digest = hashlib.sha256()
        opener = gzip.open if path.suffix == ".gz" else open
        try:
            with opener(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
        except (EOFError, OSError) as err:
            raise CorruptDataError(f"data file {path} is truncated or not valid gzip ({err})") from err
        _HASHES[key] = digest.hexdigest()
    return _HASHES[key]


def expected(path: str | os.PathLike, root: str | os.PathLike | None = None) -> str | None:
    """The known checksum of ``path`` (a file under ``root``, default ``$DMM_DATA``), or None."""
    from dmmlib.data.paths import data_dir

    path = Path(path)
    try:
        rel = path.resolve().relative_to(Path(root or data_dir()).resolve()).as_posix()
    except ValueError:
        rel = None
    return FILES.get(rel) if rel else None


def verify(path: str | os.PathLike, root: str | os.PathLike | None = None) -> None:
    """Check ``path`` against its known checksum, once per process; raise
    :class:`~dmmlib.data.paths.CorruptDataError` naming the file on a mismatch.

    A file listed in :data:`FILES` must match it, or (an MNIST IDX file) its decompressed
    content must match :data:`IDX_CONTENT`; an MNIST IDX file under another name or folder is
    checked by its content; any other file is not checked.
    """
    from dmmlib.data.paths import CorruptDataError

    path = Path(path)
    if not path.is_file():
        return
    key = _stat_key(path, "verified")
    if key in _VERIFIED:
        return
    want = expected(path, root)
    stem = path.name.removesuffix(".gz")
    content = IDX_CONTENT.get(stem)
    if want is None and content is None:
        return
    got = sha256_file(path) if want is not None else None
    if want is not None and got == want:
        _VERIFIED.add(key)
        return
    if content is not None and _sha256_content(path) == content:
        _VERIFIED.add(key)
        return
    raise CorruptDataError(
        f"data file {path} does not have its known content (SHA-256 "
        f"{got or _sha256_content(path)}, expected {want or content}{' of the decompressed bytes' if want is None else ''}): "
        "it is corrupt, truncated or another version. Replace it with a fresh copy "
        "(the shared data folder's SHA256SUMS lists every file's checksum)."
    )
