import shutil

import pytest
import torch

from dmmlib.data.imagenet import PAIR, imagenet_index, load_imagenet_pair, load_imagenet_samples
from dmmlib.data.paths import MissingDataError, data_dir


def test_samples_shapes_and_labels():
    s = load_imagenet_samples(["n01443537", "n01484850"])
    assert s.x.shape == (2, 3, 224, 224) and 0 <= s.x.min() and s.x.max() <= 1 and s.x.std() > 0.05
    assert s.y.tolist() == [1, 2]
    assert imagenet_index("tench") == 0 and imagenet_index("Persian cat") == 283
    assert len(load_imagenet_samples().y) == 20


def test_pair_from_an_imagefolder(tmp_path):
    for wnid in PAIR:
        (tmp_path / "val" / wnid).mkdir(parents=True)
        src = next((data_dir() / "imagenet-samples").glob(f"{wnid}_*.JPEG"))
        for i in range(2):
            shutil.copy(src, tmp_path / "val" / wnid / f"img{i}.JPEG")
    s = load_imagenet_pair(tmp_path, per_class=2)
    assert s.x.shape == (4, 3, 224, 224) and s.y.tolist() == [1, 1, 2, 2]


def test_missing_folder_says_what(monkeypatch, tmp_path):
    monkeypatch.delenv("DMM_IMAGENET", raising=False)
    with pytest.raises(MissingDataError, match="DMM_IMAGENET"):
        load_imagenet_pair()
    with pytest.raises(MissingDataError, match="n01443537"):
        load_imagenet_pair(tmp_path)


def test_resnet50_architecture_offline_with_random_weights():
    from torchvision.models import resnet50

    torch.manual_seed(0)
    model = resnet50(weights=None).eval()
    x = load_imagenet_samples(["n01443537"]).x
    with torch.no_grad():
        logits = model(x)
    assert logits.shape == (1, 1000) and torch.isfinite(logits).all()
