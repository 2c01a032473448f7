"""The stress tests of the on/off-manifold chapter (issue 11, item 8): the autoencoder-quality
sweep's measurement and summaries (:mod:`stress`), and the known manifold (:mod:`known_manifold`,
:mod:`known_models`): the containment measure against principal angles and a random subspace's
k/n, the measures on a linear model whose geometry is known exactly, the summaries on constructed
records, and the seeded, cached FONTS models."""
import math

import matplotlib
import numpy as np
import pytest
import torch
from torch import nn

from dmmlib.chapters.on_off_manifold import known_manifold as km
from dmmlib.chapters.on_off_manifold import known_models
from dmmlib.chapters.on_off_manifold import stress
from dmmlib.chapters.on_off_manifold.experiment import Setup
from dmmlib.data.fonts import PARAM_NAMES
from dmmlib.manifold import orthonormal_basis, principal_angles
from dmmlib.models.autoencoders import MnistAutoencoder
from dmmlib.subspaces import expected_random_ratio, random_subspace
from tests.linear_models import Linear2

matplotlib.use("Agg")


# -- captured_share: how much of one subspace lies in another ------------------------------------


def test_captured_share_is_one_inside_zero_outside_and_the_mean_cos2_of_the_principal_angles():
    g = torch.Generator().manual_seed(0)
    U = random_subspace(50, 6, batch=4, generator=g, dtype=torch.float64)
    inside = U[:, :, :3] @ torch.randn(4, 3, 2, generator=g, dtype=torch.float64)  # in span(U)
    torch.testing.assert_close(km.captured_share(U, inside), torch.ones(4, 2, dtype=torch.float64))
    out = torch.randn(4, 50, 2, generator=g, dtype=torch.float64)
    out = out - U @ (U.transpose(1, 2) @ out)  # orthogonal to span(U)
    assert km.captured_share(U, out).abs().max() < 1e-12
    T = random_subspace(50, 3, batch=4, generator=g, dtype=torch.float64)
    cos2 = principal_angles(U, T).cos().pow(2).mean(1)
    torch.testing.assert_close(km.captured_share(U, T).mean(1), cos2)
    # the share of a column does not depend on its length
    torch.testing.assert_close(km.captured_share(U, 7.0 * T), km.captured_share(U, T))


def test_captured_share_of_a_random_subspace_is_k_over_n_on_average():
    g = torch.Generator().manual_seed(1)
    n, k = 100, 10
    T = orthonormal_basis(torch.randn(400, n, 5, generator=g, dtype=torch.float64))
    U = random_subspace(n, k, batch=400, generator=g, dtype=torch.float64)
    assert km.captured_share(U, T).mean().item() == pytest.approx(k / n, rel=0.05)


def test_captured_share_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="share B and n"):
        km.captured_share(torch.zeros(2, 10, 3), torch.zeros(2, 11, 3))
    with pytest.raises(ValueError, match="share B and n"):
        km.captured_share(torch.zeros(10, 3), torch.zeros(10, 3))


# -- the measures on a linear model (exact geometry) -------------------------------------------


def test_measure_on_a_linear_model_matches_the_exact_geometry_on_every_subspace():
    torch.manual_seed(0)
    n, B = 64, 6
    w = torch.randn(n, dtype=torch.float64)
    model = Linear2(w, -0.5 * w.sum().item()).double().eval()  # boundary through the grey image
    x = (0.5 + 0.02 * torch.randn(B, 1, 8, 8, dtype=torch.float64)).clamp(0, 1)
    z = model(x)
    y = (z > 0).long()
    bases = {s: random_subspace(n, k, batch=B, generator=torch.Generator().manual_seed(i), dtype=torch.float64)
             for i, (s, k) in enumerate((("true", 5), ("random_true", 5), ("est", 12), ("random_est", 12)))}
    out = km.measure(model, x, y, bases, {"steps": 200, "step_size": 0.5})
    assert out["mn/none/success"].all()
    torch.testing.assert_close(out["mn/none/dist"], z.abs() / w.norm(), rtol=0.02, atol=1e-4)
    for s, U in bases.items():
        Pw = torch.einsum("bnk,bk->bn", U, torch.einsum("bnk,n->bk", U, w)).norm(dim=1)
        # d is parallel to w: R(d, S) = ||w|| / ||P_S w||, E = ||P_S w||^2 / ||w||^2, on-S distance |z| / ||P_S w||
        torch.testing.assert_close(out[f"R/{s}"], w.norm() / Pw, rtol=0.02, atol=0)
        torch.testing.assert_close(out[f"E/{s}"], (Pw / w.norm()) ** 2, rtol=0.03, atol=1e-6)
        ok = out[f"mn/on/{s}/success"]
        torch.testing.assert_close(out[f"mn/on/{s}/dist"][ok], (z.abs() / Pw)[ok], rtol=0.03, atol=1e-4)
        # only the two tangent spaces are attacked off the subspace too
        assert (f"mn/off/{s}/dist" in out) == (s in km.TANGENTS)
    for s in km.TANGENTS:
        assert (out[f"mn/off/{s}/dist"] >= out["mn/none/dist"] * 0.99).all()


# -- summaries on constructed records ------------------------------------------------------------


def known_records(n=60, units=(0, 1), contain=0.6, seed=0):
    g = np.random.default_rng(seed)
    N = n * len(units)
    t = lambda a: torch.tensor(np.asarray(a, dtype=np.float64))  # noqa: E731
    rec = {"unit": torch.tensor(np.repeat(units, n)), "label": torch.zeros(N, dtype=torch.long),
           "index": torch.arange(N), "ae_error": t(3 + 0.1 * g.standard_normal(N)),
           "contain/est": t(contain + 0.02 * g.standard_normal(N)), "contain/random_est": t(0.02 + 0.002 * g.random(N)),
           "param_share/est": t(np.linspace(0.2, 0.8, 5) + 0.01 * g.standard_normal((N, 5))),
           "param_share/random_est": t(0.02 + 0.001 * g.random((N, 5))),
           "mn/none/dist": t(1 + 0.05 * g.standard_normal(N)), "mn/none/success": torch.ones(N, dtype=torch.bool)}
    for s, (R, E, on) in {"true": (12.0, 0.01, 7.0), "random_true": (15.0, 0.005, 7.5), "est": (2.0, 0.2, 2.2),
                          "random_est": (7.4, 0.02, 5.5)}.items():
        rec[f"R/{s}"] = t(R * (1 + 0.05 * g.standard_normal(N)))
        rec[f"E/{s}"] = t(E * (1 + 0.05 * g.standard_normal(N)))
        rec[f"mn/on/{s}/dist"] = rec["mn/none/dist"] * on
        rec[f"mn/on/{s}/success"] = torch.ones(N, dtype=torch.bool)
        if s in km.TANGENTS:
            rec[f"mn/off/{s}/dist"] = rec["mn/none/dist"] * 1.05
            rec[f"mn/off/{s}/success"] = torch.ones(N, dtype=torch.bool)
    rec["mn/on/true/success"][::2] = False  # half of the 5-d on-manifold attacks fail
    rec["mn/on/true/dist"][::2] = float("inf")
    rec["mn/none/success"][1] = False  # an image whose unconstrained attack failed drops out
    return rec


def test_known_summarize_means_masks_and_units():
    rec = known_records()
    r = km.summarize(rec, 16, n_boot=200)
    ok = rec["mn/none/success"].numpy()
    assert r["units"] == 2 and r["images"] == 120 and r["k"] == 16 and r["dims"]["true"] == 5
    assert r["expected_contain"] == pytest.approx(16 / 784)
    assert r["expected_R"]["true"] == pytest.approx(expected_random_ratio(784, 5))
    assert r["sqrt_nk"]["est"] == pytest.approx(math.sqrt(784 / 16))
    assert r["contain"].value == pytest.approx(rec["contain/est"].mean().item())
    assert r["contain"].lo < 0.6 < r["contain"].hi and r["contain_random"].hi < 0.05
    assert r["R"]["est"].value == pytest.approx(rec["R/est"].numpy()[ok].mean()) and r["R"]["est"].n == 119
    assert "2 model units" in r["R"]["est"].n_of
    # the on-ratio rests on the images where both attacks succeeded; its success share counts them
    assert r["on_ratio"]["true"].value == pytest.approx(7.0) and r["on_ratio"]["true"].n == 59
    assert r["on_success"]["true"].value == pytest.approx(59 / 119) and r["on_success"]["est"].value == 1.0
    assert set(r["off_ratio"]) == set(km.TANGENTS) and r["off_ratio"]["est"].value == pytest.approx(1.05)
    # the paired comparisons with the random subspace of the same dimension (the claims judge these)
    R_ok = rec["R/est"].numpy()[ok].mean() / rec["R/random_est"].numpy()[ok].mean()
    assert r["cmp"]["R/est"].value == pytest.approx(R_ok) and r["cmp"]["R/est"].n == 119
    assert set(r["cmp"]) == {f"{q}/{s}" for q in ("R", "E", "on") for s in km.TANGENTS}
    assert r["none_success"].value == pytest.approx(119 / 120) and set(r["off_success"]) == set(km.TANGENTS)
    shares = [r["param_share"][p].value for p in PARAM_NAMES]
    assert shares == sorted(shares) and shares[0] == pytest.approx(0.2, abs=0.01)
    table = km.table(r)
    assert list(table.columns) == ["measure", *km.SPACES.values()] and len(table) == 8
    assert table.iloc[1][km.SPACES["est"]] == r["contain"].text()
    fig = km.figure(r)
    assert all(ax.get_xlabel() and ax.get_ylabel() and ax.get_legend() for ax in fig.axes)


def stress_records(n=40, seeds=(0, 1), R=3.0, seed=0):
    g = np.random.default_rng(seed)
    N = n * len(seeds)
    t = lambda a: torch.tensor(np.asarray(a, dtype=np.float64))  # noqa: E731
    rec = {"unit": torch.tensor(np.repeat(seeds, n)), "ae_error": t(5 + 0.1 * g.standard_normal(N)),
           "mn/none/dist": t(1.3 + 0.05 * g.standard_normal(N)), "mn/none/success": torch.ones(N, dtype=torch.bool),
           "R/tangent": t(R + 0.1 * g.standard_normal(N)), "R/random": t(7.3 + 0.1 * g.standard_normal(N)),
           "E/tangent": t(0.2 + 0.01 * g.standard_normal(N)), "E/random": t(0.02 + 0.001 * g.standard_normal(N))}
    for key, f in (("on/tangent", 2.5), ("off/tangent", 1.1), ("on/random", 5.0)):
        rec[f"mn/{key}/dist"] = rec["mn/none/dist"] * f
        rec[f"mn/{key}/success"] = torch.ones(N, dtype=torch.bool)
    return rec


def test_stress_summaries_over_autoencoder_seeds_and_the_table():
    res = stress.summarize_quality({1: stress_records(R=4.0), 6: stress_records(R=2.0, seed=1)}, 16, n_boot=200)
    assert set(res) == {1, 6}
    r = res[6]
    assert r["units"] == 2 and r["images"] == 80 and "2 autoencoders" in r["R"].n_of
    assert r["R"].value == pytest.approx(2.0, abs=0.05) and r["R"].lo < r["R"].value < r["R"].hi
    assert r["expected_R"] == pytest.approx(expected_random_ratio(784, 16))
    assert r["on_ratio"].value == pytest.approx(2.5) and r["on_random_ratio"].value == pytest.approx(5.0)
    # records without "unit" (the k sweep) are one autoencoder
    one = stress.summarize({4: {q: v for q, v in stress_records(seeds=(0,)).items() if q != "unit"}}, n_boot=200)
    assert one[4]["units"] == 1 and "1 autoencoder" in one[4]["R"].n_of
    assert one[4]["expected_R"] == pytest.approx(expected_random_ratio(784, 4))
    # each seed's own value (seed 1's R is shifted up)
    rec = stress_records(R=2.0)
    rec["R/tangent"][40:] += 1.0
    per = stress.summarize_one(rec, 16, n_boot=200)["per_unit"]["R"]
    assert per[0] == pytest.approx(2.0, abs=0.05) and per[1] == pytest.approx(3.0, abs=0.05)
    table = stress.table(res, index="training epochs")
    assert list(table["training epochs"]) == [1, 6] and table.iloc[1]["R(d, M)"] == r["R"].text()
    assert table.iloc[1]["R(d, M) per seed"] == ", ".join(f"{v:.3g}" for v in r["per_unit"]["R"])
    assert "R(d, M) per seed" not in stress.table(one)
    fig = stress.quality_figure(res)
    assert all(ax.get_xlabel() == "autoencoder training epochs" and ax.get_ylabel() and ax.get_legend() for ax in fig.axes)


class Threshold(nn.Module):
    """Ten logits from the mean pixel: class round(10 * mean) (a deterministic toy classifier)."""

    def __init__(self):
        super().__init__()
        self.c = nn.Parameter(torch.arange(10, dtype=torch.float32) / 10 + 0.05)

    def forward(self, x):
        return -(x.flatten(1).mean(1, keepdim=True) - self.c).pow(2) * 100


def test_measure_autoencoder_records_every_image_and_its_reconstruction_error(tmp_path, monkeypatch):
    monkeypatch.setenv("DMM_CACHE", str(tmp_path))
    g = torch.Generator().manual_seed(0)
    x = torch.rand(60, 1, 28, 28, generator=g)
    clf = Threshold().eval()
    y = clf(x).argmax(1)
    torch.manual_seed(0)
    ae = MnistAutoencoder(latent_dim=4).eval()
    setup = Setup("mnist", clf, ae, x, y, x, tuple("0123456789"), {"test": "toy"}, 0)
    P = {"stress_n_images": 10, "mn_steps": 10, "mn_step": {"mnist": 1.0}, "basis_method": "jvp", "fd_eps": 1e-3}
    rec = stress.measure_autoencoder(setup, ae, P)
    assert all(len(v) == 10 for v in rec.values())
    with torch.no_grad():
        xr = ae(x)
    err = (x - xr).flatten(1).norm(dim=1)
    assert set(rec["ae_error"].tolist()) <= set(err.tolist())  # the images' own reconstruction errors
    assert {"R/tangent", "R/random", "E/tangent", "mn/on/tangent/dist", "mn/off/tangent/dist", "mn/on/random/dist"} <= set(rec)
    again = stress.measure_autoencoder(setup, ae, P)  # from the cache
    torch.testing.assert_close(again["R/tangent"], rec["R/tangent"])


# -- the FONTS models: seeded and cached; one unit end to end --------------------------------------

TINY = {"known_n_fonts": 2, "known_train_size": 400, "known_test_size": 120, "known_latent_dim": 6,
        "known_clf_epochs": 10, "known_ae_epochs": 1}


def test_fonts_models_are_seeded_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("DMM_CACHE", str(tmp_path))
    c1, a1 = known_models.classifier(TINY, 0, progress=False), known_models.autoencoder(TINY, 0, progress=False)
    assert not c1.training and not a1.training and a1.latent_dim == 6
    assert c1.zoo_info["seed"] == 0 and len(c1.zoo_info["history"]["loss"]) == 10
    assert len(a1.zoo_info["history"]["loss"]) == 1
    monkeypatch.setenv("DMM_CACHE", str(tmp_path / "other"))  # trained again: the seed fixes the weights
    c2, a2 = known_models.classifier(TINY, 0, progress=False), known_models.autoencoder(TINY, 0, progress=False)
    for m1, m2 in ((c1, c2), (a1, a2)):
        for (k, v1), v2 in zip(m1.state_dict().items(), m2.state_dict().values()):
            torch.testing.assert_close(v1, v2, msg=k)
    c3 = known_models.classifier(TINY, 1, progress=False)
    assert not torch.equal(c3.state_dict()["net.1.weight"], c1.state_dict()["net.1.weight"])
    _, train, test = known_models.fonts_sets(TINY)
    assert len(train.y) == 400 and len(test.y) == 120 and not torch.equal(train.x[:5], test.x[:5])


def test_run_unit_on_tiny_fonts(tmp_path, monkeypatch):
    monkeypatch.setenv("DMM_CACHE", str(tmp_path))
    P = {**TINY, "known_n_images": 6, "mn_steps": 10, "mn_step": {"mnist": 1.0}, "basis_method": "jvp", "fd_eps": 1e-3}
    clf = known_models.classifier(TINY, 1, progress=False)
    _, _, test = known_models.fonts_sets(TINY)
    assert (clf(test.x).argmax(1) == test.y).sum() >= 60  # enough correct letters for unit 1's block (12)
    rec = km.run_unit(P, 1, progress=False)
    assert (rec["unit"] == 1).all() and len(rec["index"]) == 6
    assert (rec["label"] == test.y[rec["index"]]).all()
    for s in ("est", "random_est"):
        assert ((rec[f"contain/{s}"] >= 0) & (rec[f"contain/{s}"] <= 1 + 1e-5)).all()
        assert rec[f"param_share/{s}"].shape == (6, 5)
    assert (rec["contain/random_est"] < 0.3).all()  # a random 6-d subspace of 784 holds about 6/784
    ok = rec["mn/none/success"]
    # R >= 1 always (a projection is never longer than the vector)
    for s in km.SPACES:
        assert (rec[f"R/{s}"][ok] >= 1 - 1e-4).all()


def test_known_per_unit_table_gives_each_unit_its_own_means():
    rec = known_records()
    rec["contain/est"][60:] += 0.2  # unit 1 holds more of the true tangent
    info = [{"unit": 0, "test accuracy (%)": 99.0}, {"unit": 1, "test accuracy (%)": 98.0}]
    t = km.per_unit_table(rec, info)
    assert list(t["unit"]) == [0, 1] and list(t["images"]) == [60, 60]
    assert t["share of the true tangent inside"][1] - t["share of the true tangent inside"][0] == pytest.approx(0.2, abs=0.02)
    assert t["on true / unconstrained"][0] == pytest.approx(7.0) and t["R(d, est)"][0] == pytest.approx(2.0, rel=0.05)


def test_quality_change_is_the_largest_relative_move_between_the_two_longest_trainings():
    from dmmlib.claims import Estimate

    def row(R, on, off):
        return {"R": Estimate(R, R, R, 1, ""), "E": Estimate(0.1, 0.1, 0.1, 1, ""),
                "on_ratio": Estimate(on, on, on, 1, ""), "off_ratio": Estimate(off, off, off, 1, "")}

    results = {1: row(1.0, 9.0, 9.0), 10: row(2.0, 3.0, 1.0), 40: row(2.1, 3.0, 1.2)}
    worst, each = stress.quality_change(results)  # 1 epoch is ignored: only 10 -> 40 counts
    assert each["R"] == pytest.approx(0.1 / 2.1) and each["on_ratio"] == 0.0
    assert worst == pytest.approx(0.2 / 1.2) == each["off_ratio"]
    assert math.isnan(stress.quality_change({40: row(2.0, 3.0, 1.0)})[0])
