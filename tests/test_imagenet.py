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


# -- the chapter on_off_manifold's ImageNet path, end to end on a fake folder (issue 26, item 9) ---------


def _fake_imagenet(root, copies=3):
    """An ImageFolder with val and train splits of the two classes, made of the shared sample images."""
    for split in ("val", "train"):
        for wnid in PAIR:
            (root / split / wnid).mkdir(parents=True)
            src = next((data_dir() / "imagenet-samples").glob(f"{wnid}_*.JPEG"))
            for i in range(copies):
                shutil.copy(src, root / split / wnid / f"img{i}.JPEG")
    return root


def _tiny_imagenet_classifier(root):
    """A stand-in for the ResNet-50 (images (B, 3, 224, 224) in [0, 1] -> 1000 logits): 8 x 8 average
    colours and a linear layer, fitted to the fake folder's two classes."""
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.AvgPool2d(28), nn.Flatten(), nn.Linear(3 * 8 * 8, 1000))
    data = load_imagenet_pair(root, "val")
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(100):
        opt.zero_grad()
        nn.functional.cross_entropy(model(data.x), data.y).backward()
        opt.step()
    model.eval().zoo_info = {"source": "a tiny stand-in for the ResNet-50 (test)"}
    return model


def test_on_off_manifold_imagenet_path_gives_rows_figures_and_claims(tmp_path, monkeypatch):
    """What the chapter does with ImageNet present (its notebook's steps, through the same
    functions): the data check passes, the ImageNet rows of tables 1 and 2, the example figures
    (17, 22, 23, 26, 28), the appendix-B.1 figure and the ImageNet claims come out."""
    import matplotlib.pyplot as plt

    from dmmlib import params, zoo
    from dmmlib.chapters.on_off_manifold import appendix_b, plots, summary, tables
    from dmmlib.chapters.on_off_manifold import claims as cl
    from dmmlib.chapters.on_off_manifold import experiment as oom
    from dmmlib.claims import VERDICTS

    root = _fake_imagenet(tmp_path / "imagenet")
    weights = tmp_path / "resnet50-stand-in.pth"
    weights.write_bytes(b"not read: the classifier is replaced below")
    monkeypatch.setenv("DMM_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DMM_IMAGENET", raising=False)
    monkeypatch.setenv("DMM_RESNET50_WEIGHTS", str(weights))
    tiny = _tiny_imagenet_classifier(root)
    monkeypatch.setattr(zoo, "imagenet_classifier", lambda weights=None: tiny)
    P = params.resolve("on_off_manifold", "smoke", datasets=["imagenet"], imagenet_path=str(root),
                       controls=["random", "other", "dct"], compare_fd=False, t2_steps=10, mn_steps=10)
    assert oom.imagenet_missing(P["imagenet_path"]) == []
    assert "other" not in oom.attack_settings(P, "imagenet")["controls"]  # one image per batch: no other image

    setups, records = oom.run_dataset("imagenet", P, progress=False)
    s = setups[0]
    n, k = s.x[0].numel(), s.autoencoder.latent_dim
    assert (n, k) == (3 * 224 * 224, 8) and len(records["label"]) == P["n_images"]["imagenet"]
    r = summary.summarize(records, "imagenet", n, k, n_boot=P["n_boot"])
    r["accuracy"] = oom.test_accuracy(s)
    r["ae_last_drop"] = summary.last_epoch_drop([s.autoencoder.zoo_info["history"]["loss"]])
    assert r["accuracy"] == 1.0
    t1, t2 = tables.table1({"imagenet": r}), tables.table2({"imagenet": r})
    assert t1["dataset"].tolist() == t2["dataset"].tolist() == ["ImageNet"]
    assert float(t1["R paper"].iloc[0]) == 5.5

    b1_records, info = appendix_b.run_dataset(setups, records, P)
    b = {**appendix_b.summarize(b1_records, n_boot=P["n_boot"]), **info}
    assert "shift" not in b and "ResNet-50" in info["other"]
    C = cl.claims({"imagenet": r}, P) + cl.b1_claims({"imagenet": r}, {"imagenet": b}, P)
    ids = {c.id.split(".", 1)[1]: c for c in C}
    for name in ("R_paper", "R", "E", "off_close", "clamp", "step_free", "special_R_imagenet_dct", "b1_off", "b1_on"):
        key = name if name.endswith("_dct") else f"{name}_imagenet"
        assert key in ids and ids[key].verdict in VERDICTS, key
    assert "special_R_imagenet_other" not in ids

    figs = plots.example_figures(s, records, P, l2_and_linf=oom.l2_and_linf)
    figs["b1"] = plots.b1_figure(b, title="ImageNet")
    assert set(figs) == {"proj", "gallery", "sep", "linf", "b1"}
    for name, fig in figs.items():
        assert isinstance(fig, plt.Figure) and fig.axes, name
    # the logit panels of figure 17 draw the true classes and the targets, not 1000 lines
    assert 2 <= len(figs["proj"].axes[3].get_lines()) <= 2 * P["n_show"]
    plt.close("all")
