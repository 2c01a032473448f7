"""Tests of dmmlib.chapters.on_off_manifold.experiment (tables 1 and 2 with controls) and its figures."""
import math

import numpy as np

import matplotlib
import pytest
import torch
from torch import nn

matplotlib.use("Agg")

from dmmlib import params
from dmmlib.chapters.on_off_manifold import experiment as oom  # noqa: E402
from dmmlib.data.paths import MissingDataError  # noqa: E402
from dmmlib.manifold import principal_angles  # noqa: E402
from dmmlib.chapters.on_off_manifold import plots as plots  # noqa: E402
from dmmlib.chapters.on_off_manifold import summary  # noqa: E402
from dmmlib.evaluate import predict  # noqa: E402
from dmmlib.subspaces import pca_subspace  # noqa: E402

N_PIX, K = 16, 2


class LinearAE(nn.Module):
    """decode(c) = 0.5 + A c on 1x4x4 images: the tangent space is span(A) everywhere."""

    def __init__(self, A: torch.Tensor):
        super().__init__()
        self.A = nn.Parameter(A.clone())
        self.latent_dim = A.shape[1]

    def encode(self, x):
        return (x.flatten(1) - 0.5) @ torch.linalg.pinv(self.A).T

    def decode(self, c):
        return (0.5 + c @ self.A.T).view(-1, 1, 4, 4)


class MLPAE(nn.Module):
    """A small nonlinear autoencoder for 1x8x8 images with a 4-d code."""

    def __init__(self):
        super().__init__()
        self.latent_dim = 4
        self.enc = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 4))
        self.dec = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 64))

    def encode(self, x):
        return self.enc(x)

    def decode(self, c):
        return torch.sigmoid(self.dec(c)).view(-1, 1, 8, 8)

    def forward(self, x):
        return self.decode(self.encode(x))


def _cfg(**kw):
    cfg = dict(t1_eps=0.3, t1_step=0.05, t1_steps=40, t2_eps=0.5, t2_step=0.05, t2_steps=40, on_step_factor=2.0,
               step_factors=[1.0, 2.0], box_free=True, min_norm=True, mn_steps=40, mn_step=0.3,
               basis_method="jvp", fd_eps=1e-3, controls=["random", "pca", "other", "dct"], compare_fd=True,
               compare_recon=True, batch_size=4)
    cfg.update(kw)
    return cfg


def _linear_world(B=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    A = torch.linalg.qr(torch.randn(N_PIX, K, generator=g)).Q * 0.3
    W = torch.randn(3, K, generator=g) @ A.T  # rows of the classifier's weights lie in span(A)
    clf = nn.Sequential(nn.Flatten(), nn.Linear(N_PIX, 3))
    with torch.no_grad():
        clf[1].weight.copy_(W * 10)
        clf[1].bias.copy_(-(W * 10) @ torch.full((N_PIX,), 0.5))
    ae = LinearAE(A)
    codes = 0.3 * torch.randn(B, K, generator=g)
    x = ae.decode(codes).detach() + 0.02 * torch.randn(B, 1, 4, 4, generator=g)
    with torch.no_grad():
        y = clf(x).argmax(1)
    pca = torch.linalg.qr(torch.randn(N_PIX, K, generator=g)).Q
    return clf.eval(), ae, x, y, pca


def test_gradient_in_tangent_space_gives_ratio_one_and_on_manifold_pgd_is_plain_pgd():
    clf, ae, x, y, pca = _linear_world()
    rec = oom.experiment(clf, ae, x, y, _cfg(on_step_factor=1.0), pca=pca, seed=0, progress=False)
    ok = rec["t1/success"]
    assert ok.sum() >= 4
    assert torch.allclose(rec["t1/R/tangent"][ok], torch.ones(int(ok.sum())), atol=1e-4)
    assert torch.allclose(rec["t1/R/other"][ok], torch.ones(int(ok.sum())), atol=1e-4)  # same span everywhere
    assert torch.allclose(rec["t1/E/tangent"][ok], torch.ones(int(ok.sum())), atol=1e-3)  # linear model, d on M
    assert torch.allclose(rec["t1/E_xr/tangent"][ok], torch.ones(int(ok.sum())), atol=1e-3)
    assert rec["t1/flip_on"][ok].all()  # d lies in M: its projection is d itself
    assert (rec["t1/R/random"][ok] > 1.05).all()
    # the gradient already lies on span(A): projecting it on changes nothing
    assert torch.equal(rec["t2/on/tangent/success"], rec["t2/none/success"])
    assert torch.allclose(rec["t2/on/tangent/dist"], rec["t2/none/dist"], atol=1e-4)
    # the step-factor sweep: factor 1 is the main on-manifold run here (on_step_factor 1), copied
    assert torch.equal(rec["t2/onf/1/tangent/dist"], rec["t2/on/tangent/dist"])
    assert rec["t2/onf/2/tangent/dist"].shape == (len(x),)
    # box-free on-manifold PGD stays in M exactly (R = 1) and, the box inactive here, equals PGD's
    okb = rec["t2/boxfree/on/tangent/success"]
    assert okb.sum() >= 4 and torch.allclose(rec["t2/boxfree/on/tangent/R"][okb], torch.ones(int(okb.sum())), atol=1e-4)
    # the minimal-norm attack on a linear model: on M it finds the same distance as unconstrained
    okm = rec["t2/mn/none/success"] & rec["t2/mn/on/tangent/success"]
    assert okm.sum() >= 4
    assert torch.allclose(rec["t2/mn/on/tangent/dist"][okm], rec["t2/mn/none/dist"][okm], rtol=0.05)


def _mlp_world(B=6):
    torch.manual_seed(0)
    clf = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 4)).eval()
    ae = MLPAE().eval()
    x = torch.rand(B, 1, 8, 8) * 0.6 + 0.2
    with torch.no_grad():
        y = clf(x).argmax(1)
    return clf, ae, x, y, pca_subspace(torch.rand(50, 1, 8, 8), 4)


def test_records_shapes_ranges_and_seed():
    clf, ae, x, y, pca = _mlp_world()
    cfg = _cfg(t1_eps=3.0, t1_step=0.3, t2_eps=3.0, t2_step=0.3)
    rec = oom.experiment(clf, ae, x, y, cfg, pca=pca, seed=3, progress=False)
    B = len(x)
    for space in ("tangent", "random", "pca", "other", "dct", "tangent_fd"):
        R = rec[f"t1/R/{space}"]
        assert R.shape == (B,) and torch.all(R >= 1 - 1e-4)
        for mode in ("on", "off"):
            d = rec[f"t2/{mode}/{space}/dist"]
            assert d.shape == (B,) and torch.all(d <= cfg["t2_eps"] + 1e-4)
    assert rec["t1/d"].shape == x.shape and rec["xr_valid"].dtype == torch.bool
    assert torch.all(rec["t1/d_norm"] <= cfg["t1_eps"] + 1e-4)
    assert torch.allclose(rec["ae_error"], (x - ae(x).clamp(0, 1)).flatten(1).norm(dim=1), atol=1e-5)
    again = oom.experiment(clf, ae, x, y, cfg, pca=pca, seed=3, progress=False)
    same = lambda a, b: torch.equal(a, b) or (a.is_floating_point() and torch.allclose(a, b, rtol=0, atol=0, equal_nan=True))  # noqa: E731
    assert all(same(rec[k], again[k]) for k in rec)
    other = oom.experiment(clf, ae, x, y, cfg, pca=pca, seed=4, progress=False)
    assert torch.equal(rec["t1/R/tangent"], other["t1/R/tangent"])
    assert not torch.equal(rec["t1/R/random"], other["t1/R/random"])


def test_summarize_agrees_with_records():
    clf, ae, x, y, pca = _mlp_world(B=8)
    rec = oom.experiment(clf, ae, x, y, _cfg(t1_eps=3.0, t1_step=0.3, t2_eps=3.0, t2_step=0.3), pca=pca, progress=False)
    rec["unit"] = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    r = summary.summarize(rec, "mnist", 64, 4, n_boot=200)
    ok = rec["t1/success"]
    assert ok.sum() >= 4
    R = r["R"]["tangent"]
    assert R.value == pytest.approx(float(rec["t1/R/tangent"][ok].double().mean()), rel=1e-9)
    assert R.lo <= R.value <= R.hi and R.n == int(ok.sum()) and "2 models" in R.n_of
    assert r["sqrt_nk"] == pytest.approx(4.0) and r["expected_R"] > 4.0 and r["units"] == 2
    both = rec["t2/on/tangent/success"] & rec["t2/none/success"]
    ratio = rec["t2/on/tangent/dist"][both].double().mean() / rec["t2/none/dist"][both].double().mean()
    assert r["ratio"]["on/tangent"].value == pytest.approx(float(ratio), rel=1e-9)
    assert set(r["vs"]) == {"random", "pca", "other", "dct", "tangent_fd"}
    vs = rec["t1/R/tangent"][ok].double().mean() / rec["t1/R/pca"][ok].double().mean()
    assert r["vs"]["pca"]["R"].value == pytest.approx(float(vs), rel=1e-9)
    assert len(r["per_unit"]["R/tangent"]) == 2
    # the paired comparisons the claims judge: the same rows as the ratios above
    assert r["cmp"]["R/pca"].value == pytest.approx(float(vs), rel=1e-9)
    dE = rec["t1/E/tangent"][ok].double().mean() - rec["t1/E/random"][ok].double().mean()
    assert r["cmp"]["E/random"].value == pytest.approx(float(dE), rel=1e-9, abs=1e-12)
    assert set(r["cmp"]) >= {"R/random", "R/pca", "R/other", "R/dct", "on/random", "E/random", "mn_on/random"}
    assert r["inv_R2"]["tangent"].value == pytest.approx(float((1 / rec["t1/R/tangent"][ok].double() ** 2).mean()),
                                                         rel=1e-9)
    # the off-manifold share of the paper's on-manifold perturbation is sqrt(1 - 1/R^2)
    okon = rec["t2/on/tangent/success"]
    share = (1 - 1 / rec["t2/on/tangent/R"][okon].double() ** 2).clamp(min=0).sqrt().mean()
    assert r["offshare"]["on"].value == pytest.approx(float(share), rel=1e-9, abs=1e-12)
    assert 0 <= r["offshare"]["boxfree/on"].value < 1e-2  # box-free on-manifold: in M
    assert set(r["min_norm"]["ratio"]) == {"on/tangent", "off/tangent", "on/random"}
    assert r["factors"] == (1.0, 2.0) and math.isfinite(r["factor_effect"].value)
    ax = plots.distance_figure(r, title="t").axes[0]
    assert "L2" in ax.get_ylabel() and len(ax.patches) == 2 * len(r["R"])
    matplotlib.pyplot.close("all")


def test_hierarchical_bootstrap_covers_model_variance():
    from dmmlib.chapters.on_off_manifold.intervals import mean
    from dmmlib.stats import hierarchical_bootstrap as hier_bootstrap

    rng = np.random.default_rng(0)
    units = np.repeat(np.arange(3), 50)
    offsets = np.array([0.0, 1.0, 2.0])  # the models disagree much more than the images scatter
    values = offsets[units] + 0.01 * rng.standard_normal(150)
    h = hier_bootstrap(mean, [values], units, n_boot=500)
    flat = hier_bootstrap(mean, [values], np.zeros(150), n_boot=500)
    assert h.units == 3 and h.n == 150 and h.per_unit == pytest.approx((0.0, 1.0, 2.0), abs=0.01)
    assert (h.hi - h.lo) > 5 * (flat.hi - flat.lo)  # resampling models widens the interval
    assert h.lo <= 1.0 <= h.hi
    again = hier_bootstrap(mean, [values], units, n_boot=500)
    assert again == h  # seeded
    nan_row = values.copy()
    nan_row[0] = np.nan
    assert hier_bootstrap(mean, [nan_row], units, n_boot=500).n == 149
    with pytest.raises(ValueError, match="one length"):
        hier_bootstrap(mean, [values[:3]], units)


def test_box_free_pgd_leaves_the_box_and_stays_in_the_subspace():
    torch.manual_seed(0)
    clf = nn.Sequential(nn.Flatten(), nn.Linear(16, 3)).eval()
    x = torch.zeros(4, 1, 4, 4)  # on the box's corner: every clamped step would bind
    with torch.no_grad():
        y = clf(x).argmax(1)
    U = torch.linalg.qr(torch.randn(4, 16, 3)).Q
    boxed = oom.pgd(clf, x, y, norm="l2", eps=20.0, step_size=0.5, steps=200, loss="margin", basis=U, basis_mode="on")
    free = oom.box_free_pgd(clf, x, y, eps=20.0, step_size=0.5, steps=200, basis=U, basis_mode="on")
    from dmmlib.manifold import norm_ratio

    assert free.success.all()
    assert torch.allclose(norm_ratio(free.delta, U), torch.ones(4), atol=1e-4)  # exactly in span(U)
    assert (free.delta < 0).any()  # it left the box, which the clamped attack cannot
    assert (x + boxed.delta).min() >= 0
    with pytest.raises(ValueError, match="scale"):
        oom.box_free_pgd(clf, x, y, eps=1.0, step_size=0.1, steps=2, basis=U, basis_mode="on", scale=1.0)


def test_unit_seeds_and_range():
    P = params.resolve("on_off_manifold", "quick")
    assert [oom.unit_seeds("mnist", u, P) for u in range(3)] == [(0, 0), (1, 1), (2, 0)]
    assert [oom.unit_seeds("cifar10", u, P) for u in range(2)] == [(None, 0), (None, 1)]
    with pytest.raises(ValueError, match="unit"):
        oom.unit_seeds("mnist", 3, P)


def test_select_correct_disjoint_and_correct():
    x = torch.arange(40, dtype=torch.float32).view(40, 1, 1, 1) % 3 / 10
    model = lambda z: -((z.flatten(1)[:, :1] * 10 - torch.arange(3.0)) ** 2)  # noqa: E731  label = round(10 z)
    y = (torch.arange(40) % 3).clone()
    y[::4] = (y[::4] + 1) % 3  # every 4th image is misclassified
    a = oom.select_correct(model, x, y, 5, seed=0)
    b = oom.select_correct(model, x, y, 5, seed=1)
    assert len(a) == len(b) == 5 and not set(a.tolist()) & set(b.tolist())
    assert torch.all(predict(model, x[torch.cat([a, b])]) == y[torch.cat([a, b])])
    with pytest.raises(ValueError, match="correctly classified"):
        oom.select_correct(model, x, y, 20, seed=1)


def test_validation_errors():
    clf, ae, x, y, pca = _mlp_world()
    with pytest.raises(ValueError, match="unknown control"):
        oom.experiment(clf, ae, x, y, _cfg(controls=["nope"]), pca=pca, progress=False)
    with pytest.raises(ValueError, match="pca"):
        oom.experiment(clf, ae, x, y, _cfg(), pca=None, progress=False)
    with pytest.raises(ValueError, match="cfg lacks"):
        oom.experiment(clf, ae, x, y, {"controls": []}, progress=False)


def test_logits_along_line_endpoints():
    clf, _, x, _, _ = _mlp_world()
    x1 = (x + 0.1).clamp(0, 1)
    z = oom.logits_along_line(clf, x, x1, steps=10)
    assert z.shape == (len(x), 11, 4)
    with torch.no_grad():
        assert torch.allclose(z[:, 0], clf(x), atol=1e-6) and torch.allclose(z[:, -1], clf(x1), atol=1e-6)


def test_imagenet_missing_says_what():
    missing = oom.imagenet_missing("")
    assert any("ImageNet folder" in m for m in missing)


def test_imagenet_code_path_on_sample_images_with_random_weights():
    from torchvision.models import resnet50

    from dmmlib.data.imagenet import load_imagenet_samples
    from dmmlib.models.normalized import Normalized

    data = load_imagenet_samples(["n01443537", "n01484850"])  # goldfish, great white shark
    torch.manual_seed(0)
    clf = Normalized(resnet50(weights=None)).eval()

    class TinyAE(nn.Module):
        latent_dim = 3

        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.AvgPool2d(16), nn.Flatten(), nn.Linear(3 * 14 * 14, 3))
            self.dec = nn.Linear(3, 3 * 224 * 224)

        def encode(self, x):
            return self.enc(x)

        def decode(self, c):
            return torch.sigmoid(self.dec(c)).view(-1, 3, 224, 224)

    y = predict(clf, data.x)
    cfg = _cfg(t1_eps=2.0, t1_step=0.8, t1_steps=1, t2_eps=5.0, t2_step=0.01, t2_steps=1, controls=["other"],
               compare_fd=False, compare_recon=False, min_norm=False, box_free=False, step_factors=[2.0])
    rec = oom.experiment(clf, TinyAE().eval(), data.x, y, cfg, progress=False)
    assert rec["t1/R/tangent"].shape == (2,) and torch.all(rec["t1/R/tangent"] >= 1 - 1e-4)
    assert rec["t2/on/tangent/d"].shape == (2, 3, 224, 224)


def test_imagenet_missing_checks_splits_classes_and_weights(tmp_path, monkeypatch):
    from tests.test_zoo import fake_imagenet

    monkeypatch.delenv("DMM_RESNET50_WEIGHTS", raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    root = fake_imagenet(tmp_path / "imagenet")
    missing = oom.imagenet_missing(str(root))
    assert len(missing) == 1 and "DMM_RESNET50_WEIGHTS" in missing[0]  # only the weights
    assert oom.imagenet_missing(str(root), weights=False) == []
    for f in (root / "train" / "n01484850").iterdir():
        f.unlink()
    missing = oom.imagenet_missing(str(root), weights=False)
    assert len(missing) == 1 and "n01484850" in missing[0] and "train split" in missing[0]
    assert "does not exist" in oom.imagenet_missing(str(tmp_path / "nowhere"), weights=False)[0]
    flat = tmp_path / "flat"  # class folders without split folders: the folder serves as both splits
    flat.mkdir()
    for wnid in ("n01443537", "n01484850"):
        (root / "val" / wnid).rename(flat / wnid)
    assert oom.imagenet_missing(str(flat), weights=False) == []
    assert len(oom.imagenet_missing(str(root), weights=False)) == 2  # val lost both classes, train one
    P = params.resolve("on_off_manifold", "smoke", imagenet_path=str(root))
    with pytest.raises(MissingDataError, match="ImageNet experiment not run.*n01484850"):
        oom.load_setup("imagenet", P)


def test_imagenet_end_to_end_on_a_fake_folder_with_fake_weights(tmp_path, monkeypatch):
    """load_setup("imagenet") and run_dataset on the fake ImageNet folder of tests/test_zoo.py and
    a randomly initialised ResNet-50 saved as the user's weight file. A random ResNet-50 calls
    no image a goldfish or a shark, so the fake weights get a bias on the goldfish logit that
    makes it the top class on the val images: the goldfish are then "correctly classified" and
    go through the real selection (select_correct), the sharks are not."""
    from dmmlib.data.imagenet import load_imagenet_pair
    from dmmlib.models.autoencoders import ImageNetAutoencoder
    from dmmlib.models.normalized import Normalized
    from tests.test_zoo import fake_imagenet, fake_resnet50

    monkeypatch.setenv("DMM_CACHE", str(tmp_path / "cache"))
    root = fake_imagenet(tmp_path / "imagenet")
    val, train = load_imagenet_pair(root, "val"), load_imagenet_pair(root, "train")
    net = fake_resnet50(seed=0)
    with torch.no_grad():
        z = Normalized(net)(val.x)
        net.fc.bias[1] += z.max() - z[:, 1].min() + 1.0  # goldfish wins on every val image by >= 1
    torch.save(net.state_dict(), tmp_path / "resnet50.pth")
    monkeypatch.setenv("DMM_RESNET50_WEIGHTS", str(tmp_path / "resnet50.pth"))

    # the smoke profile, cut to one attack step and the PCA control (ResNet-50 on a CPU is slow)
    P = params.resolve("on_off_manifold", "smoke", imagenet_path=str(root), t1_steps=1, t2_steps=1,
                       controls=["pca"], compare_fd=False, compare_recon=False, min_norm=False, box_free=False,
                       step_factors=[10.0])
    assert oom.imagenet_missing(P["imagenet_path"]) == []
    setup = oom.load_setup("imagenet", P)
    assert torch.equal(setup.x, val.x) and torch.equal(setup.train_x, train.x)  # val: tests; train: PCA
    assert setup.y.tolist() == [1, 1, 2, 2] and setup.class_names[1:3] == ("goldfish", "great white shark")
    assert "val" in setup.info["test"] and "train" in setup.info["train"] and "warning" not in setup.info
    assert isinstance(setup.autoencoder, ImageNetAutoencoder) and setup.autoencoder.latent_dim == 8
    assert "train" in setup.autoencoder.zoo_info["data"] and setup.autoencoder.zoo_info["n"] == 8

    rec = oom.run_unit(setup, P, progress=False)
    assert sorted(rec["index"].tolist()) == [0, 1]  # the two goldfish, the only correct images
    assert torch.equal(rec["label"], torch.tensor([1, 1]))
    for space in ("tangent", "pca"):
        R = rec[f"t1/R/{space}"]
        assert R.shape == (2,) and torch.isfinite(R).all() and (R >= 1 - 1e-4).all()
        for mode in ("on", "off"):
            assert (rec[f"t2/{mode}/{space}/dist"] <= P["t2_eps"]["imagenet"] + 1e-4).all()
    assert rec["t1/d"].shape == (2, 3, 224, 224) and (rec["t1/d_norm"] <= P["t1_eps"]["imagenet"] + 1e-4).all()
    r = summary.summarize(rec, "imagenet", 3 * 224 * 224, 8, n_boot=100)
    assert r["sqrt_nk"] == pytest.approx(math.sqrt(150528 / 8)) and r["R"]["tangent"].n == 2


def test_plots():
    clf, ae, x, y, pca = _mlp_world(B=2)
    d = 0.1 * torch.randn_like(x)
    a = plots.amplify(d)
    assert a.min() >= 0 and a.max() <= 1 and torch.allclose(plots.amplify(torch.zeros_like(d)), torch.full_like(d, 0.5))
    names = [str(i) for i in range(4)]
    fig = plots.projection_figure(clf, x[0], d[0], 0.5 * d[0], names)
    assert len(fig.axes) == 12
    fig = plots.attacks_figure(clf, x, {"a": d, "b": -d}, names)
    assert len(fig.axes) == 2 * 2 * 3
    fig = plots.gallery_figure(clf, x, d, 0.5 * d, names)
    assert len(fig.axes) == 10
    with pytest.raises(ValueError):
        plots.projection_figure(clf, x[0], d[0, :, :4], d[0], names)


def test_explorer_builds_and_draws():
    clf, ae, x, y, _ = _mlp_world(B=4)
    setup = oom.Setup("mnist", clf, ae, x, y, x, tuple("abcd"), {})
    P = {"t1_eps": {"mnist": 1.0}, "t2_eps": {"mnist": 3.0}, "t2_step": {"mnist": 0.3}, "t2_steps": 5,
         "on_step_factor": 2.0, "basis_method": "jvp", "fd_eps": 1e-3}
    box = plots.explorer(setup, P, draw_now=True)
    image_choice, attack_choice = box.children[0].children[:2]
    assert len(image_choice.options) == 4
    attack_choice.value = "on-manifold PGD"  # redraws without error
