"""Data files: the full MNIST training set, checksums on first use, clear errors for missing,
truncated and malformed files, and a data identity that follows the files' content.
Every test builds tiny fake files in a temporary DMM_DATA."""
import gzip
import hashlib
import io
import os
import tarfile

import numpy as np
import pytest

from dmmlib import cache
from dmmlib.data import checksums
from dmmlib.data.mnist import load_mnist
from dmmlib.data.paths import CorruptDataError, MissingDataError, data_identity


def idx_bytes(arr: np.ndarray) -> bytes:
    arr = np.asarray(arr, dtype=np.uint8)
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in arr.shape)
    return header + arr.tobytes()


def write_gz(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, mtime=0))
    return path


@pytest.fixture
def data(tmp_path, monkeypatch):
    """An empty DMM_DATA with no known checksums (the fakes are not MNIST) and a fresh memo."""
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("DMM_DATA", str(root))
    monkeypatch.setenv("DMM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(checksums, "FILES", {})
    monkeypatch.setattr(checksums, "IDX_CONTENT", {})
    return root


def fake_mnist(root, prefix="train", n=3, folder="mnist"):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 28, 28))
    labels = np.arange(n) % 10
    write_gz(root / folder / f"{prefix}-images-idx3-ubyte.gz", idx_bytes(images))
    write_gz(root / folder / f"{prefix}-labels-idx1-ubyte.gz", idx_bytes(labels))
    return images, labels


def fake_csv(root, n=4):
    rows = np.zeros((n, 785), dtype=np.uint8)
    rows[:, 784] = np.arange(n) % 10
    text = "\n".join(",".join(map(str, r)) for r in rows) + "\n"
    return write_gz(root / "mnist" / "mnist_train_5k.csv.gz", text.encode())


def test_full_training_set_is_read_when_present_else_the_csv(data):
    fake_csv(data, n=4)
    small = load_mnist("train")
    assert len(small.y) == 4 and "CSV" in small.source
    images, labels = fake_mnist(data, "train", n=3)
    full = load_mnist("train")
    assert full.x.shape == (3, 1, 28, 28) and full.y.tolist() == labels.tolist()
    assert "IDX" in full.source and "training set" in full.source
    assert np.allclose(full.x[:, 0].numpy() * 255, images)


def test_torchvision_layout_uncompressed_is_read(data):
    labels = np.array([1, 2], dtype=np.uint8)
    raw = data / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(np.zeros((2, 28, 28))))
    (raw / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(labels))
    assert load_mnist("test").y.tolist() == [1, 2]


def test_missing_data_names_the_variable_and_the_layout(data):
    with pytest.raises(MissingDataError, match=r"MNIST test images not found.*DMM_DATA.*mnist/"):
        load_mnist("test")
    with pytest.raises(MissingDataError, match=r"mnist_train_5k.csv.gz.*DMM_DATA"):
        load_mnist("train")


def test_truncated_gzip_names_the_file(data):
    fake_mnist(data, "t10k", n=5)
    path = data / "mnist" / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(CorruptDataError, match="t10k-images-idx3-ubyte.gz.*truncated"):
        load_mnist("test")


def test_wrong_size_names_the_file(data):
    fake_mnist(data, "t10k", n=5)
    blob = idx_bytes(np.zeros((5, 28, 28)))[:-784]  # header says 5 images, 4 follow
    write_gz(data / "mnist" / "t10k-images-idx3-ubyte.gz", blob)
    with pytest.raises(CorruptDataError, match=r"t10k-images-idx3-ubyte.gz.*\(5, 28, 28\)"):
        load_mnist("test")
    write_gz(data / "mnist" / "t10k-images-idx3-ubyte.gz", b"not an idx file at all")
    with pytest.raises(CorruptDataError, match="t10k-images-idx3-ubyte.gz.*header"):
        load_mnist("test")


def test_truncated_csv_names_the_file(data):
    path = fake_csv(data)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(CorruptDataError, match="mnist_train_5k.csv.gz"):
        load_mnist("train")


def test_altered_file_fails_its_checksum_naming_it(data, monkeypatch):
    fake_mnist(data, "t10k", n=5)
    path = data / "mnist" / "t10k-labels-idx1-ubyte.gz"
    monkeypatch.setattr(checksums, "FILES", {"mnist/t10k-labels-idx1-ubyte.gz": hashlib.sha256(path.read_bytes()).hexdigest()})
    assert load_mnist("test").y.tolist() == [0, 1, 2, 3, 4]
    write_gz(path, idx_bytes(np.array([9, 1, 2, 3, 4])))  # still valid gzip and IDX, one label changed
    with pytest.raises(CorruptDataError, match="t10k-labels-idx1-ubyte.gz.*known content"):
        load_mnist("test")


def test_official_archives_are_recognised_by_their_decompressed_content(data, monkeypatch):
    labels = idx_bytes(np.array([3, 1]))
    path = write_gz(data / "mnist" / "t10k-labels-idx1-ubyte.gz", labels)
    monkeypatch.setattr(checksums, "FILES", {"mnist/t10k-labels-idx1-ubyte.gz": "0" * 64})  # other compressed bytes
    monkeypatch.setattr(checksums, "IDX_CONTENT", {"t10k-labels-idx1-ubyte": hashlib.sha256(labels).hexdigest()})
    checksums.verify(path)  # the compressed bytes differ, the content is the known one: accepted
    write_gz(path, idx_bytes(np.array([3, 2])))
    with pytest.raises(CorruptDataError, match="t10k-labels-idx1-ubyte.gz"):
        checksums.verify(path)


def test_verification_is_memoised_by_path_size_and_mtime(data, monkeypatch):
    path = data / "f.bin"
    path.write_bytes(b"abcd")
    monkeypatch.setattr(checksums, "FILES", {"f.bin": hashlib.sha256(b"abcd").hexdigest()})
    checksums.verify(path)
    st = path.stat()
    path.write_bytes(b"abce")  # same size; restore the modification time: the memo is not consulted again
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    checksums.verify(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    with pytest.raises(CorruptDataError, match="f.bin"):
        checksums.verify(path)


def test_data_identity_and_cache_keys_follow_the_content(data):
    fake_mnist(data, "t10k", n=5)
    ident = data_identity()
    key = cache.cache_key("x", {}, ["dmmlib.data.mnist"])
    assert data_identity() == ident
    path = data / "mnist" / "t10k-labels-idx1-ubyte.gz"
    write_gz(path, idx_bytes(np.array([9, 1, 2, 3, 4])))  # same size, other content
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert data_identity() != ident
    assert cache.cache_key("x", {}, ["dmmlib.data.mnist"]) != key
    (data / "README.md").write_text("documentation is not data")
    assert data_identity() == data_identity()


def test_truncated_cifar_tarball_names_the_file(data):
    from dmmlib.data.cifar10 import load_cifar10

    folder = data / "cifar10"
    folder.mkdir()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        payload = os.urandom(20000)
        info = tarfile.TarInfo("test/cat/0001.png")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    (folder / "cifar10_test_png.tar.gz").write_bytes(buf.getvalue()[:-200])
    with pytest.raises(CorruptDataError, match="cifar10_test_png.tar.gz"):
        load_cifar10("test")


def test_shared_checksums_table_matches_the_shared_sums_file():
    sums = os.path.join(os.environ.get("DMM_DATA", ""), "SHA256SUMS")
    if not os.path.exists(sums):
        pytest.skip("no shared data folder with SHA256SUMS")
    listed = {p.removeprefix("./"): h for h, p in (line.split() for line in open(sums) if line.strip())}
    assert listed == checksums.FILES
