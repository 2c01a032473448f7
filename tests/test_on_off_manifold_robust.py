"""The robust-model comparison of the on/off-manifold chapter (issue 11, item 9): the measures
on a linear model whose geometry is known exactly, the paired summary, the image selection and
the seeded, cached adversarial training."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from dmmlib.chapters.on_off_manifold import robust
from dmmlib.subspaces import random_subspace
from tests.linear_models import Linear2


def test_measure_on_a_linear_model_matches_the_exact_geometry():
    torch.manual_seed(0)
    n, k, B = 64, 4, 6
    w = torch.randn(n, dtype=torch.float64)
    model = Linear2(w, -0.5 * w.sum().item()).double().eval()  # boundary through the grey image
    x = (0.5 + 0.02 * torch.randn(B, 1, 8, 8, dtype=torch.float64)).clamp(0, 1)
    z = model(x)
    y = (z > 0).long()
    U = random_subspace(n, k, batch=B, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    U2 = random_subspace(n, k, batch=B, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    out = robust.measure(model, x, y, {"tangent": U, "random": U2}, {"steps": 200, "step_size": 0.5})
    Pw = torch.einsum("bnk,bk->bn", U, torch.einsum("bnk,n->bk", U, w))
    assert out["mn/none/success"].all() and out["mn/on/tangent/success"].all()
    torch.testing.assert_close(out["mn/none/dist"], z.abs() / w.norm(), rtol=0.02, atol=1e-4)
    # d is parallel to w: R(d, U) = ||w|| / ||P_U w||, and the on-M distance is |z| / ||P_U w||
    torch.testing.assert_close(out["R/tangent"], w.norm() / Pw.norm(dim=1), rtol=0.02, atol=0)
    torch.testing.assert_close(out["mn/on/tangent/dist"], z.abs() / Pw.norm(dim=1), rtol=0.03, atol=1e-4)
    assert (out["mn/off/tangent/dist"] >= out["mn/none/dist"] * 0.99).all()
    # on a linear model, E is exactly ||P_U w||^2 / ||w||^2 for d parallel to w
    torch.testing.assert_close(out["E/tangent"], (Pw.norm(dim=1) / w.norm()) ** 2, rtol=0.03, atol=1e-6)


def records(R_std, R_rob, units=(0, 1), n=50, seed=0):
    g = np.random.default_rng(seed)
    N = n * len(units)
    rec = {"unit": torch.tensor(np.repeat(units, n)), "label": torch.zeros(N, dtype=torch.long)}
    for m, R in (("standard", R_std), ("robust", R_rob)):
        for s in robust.SPACES:
            rec[f"{m}/R/{s}"] = torch.tensor(R * (1 + 0.05 * g.standard_normal(N)) if s == "tangent" else
                                             7.0 + 0.1 * g.standard_normal(N))
            rec[f"{m}/E/{s}"] = torch.tensor(0.1 + 0.01 * g.standard_normal(N))
        scale = 2.0 if m == "robust" else 1.0
        for key in ("none", "on/tangent", "off/tangent", "on/random"):
            base = {"none": 1.0, "on/tangent": 3.0, "off/tangent": 1.05, "on/random": 5.0}[key] * scale
            rec[f"{m}/mn/{key}/dist"] = torch.tensor(base * (1 + 0.05 * g.standard_normal(N)))
            rec[f"{m}/mn/{key}/success"] = torch.ones(N, dtype=torch.bool)
    return rec


def test_summarize_pairs_the_models_and_covers_the_truth():
    rec = records(4.0, 3.0)
    rec["robust/mn/none/success"][0] = False  # an image whose robust attack failed drops out of the pair
    S = robust.summarize(rec, n_boot=200)
    ch = S["change"]
    both = rec["robust/mn/none/success"].numpy()
    want = rec["robust/R/tangent"].numpy()[both].mean() / rec["standard/R/tangent"].numpy()[both].mean()
    assert ch["R/tangent"].value == pytest.approx(want)
    assert ch["R/tangent"].lo < 0.75 < ch["R/tangent"].hi and ch["R/tangent"].hi < 0.9
    assert ch["R/random"].lo < 1.0 < ch["R/random"].hi
    assert ch["R/tangent_vs_pca"].value == pytest.approx(ch["R/tangent"].value / ch["R/pca"].value)
    assert ch["dist/none"].value == pytest.approx(2.0, rel=0.05)
    assert ch["on_ratio/tangent"].value == pytest.approx(1.0, rel=0.05)
    assert S["units"] == 2 and S["images"] == 100 and "2 models" in ch["R/tangent"].n_of
    assert S["R"][("robust", "tangent")].n == 99 and S["R"][("standard", "tangent")].n == 100
    table = robust.table(S)
    assert len(table) == len(robust.ROWS) and table["robust / standard"].str.len().gt(0).sum() == len(robust.CHANGE)


class Fixed(nn.Module):
    """Predicts label (x.sum() * 1000) mod 10 rounded: a deterministic classifier for the selection."""

    def __init__(self, shift):
        super().__init__()
        self.shift = shift
        self.p = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        lab = ((x.flatten(1).sum(1) * 1000).long() + self.shift) % 10
        return torch.nn.functional.one_hot(lab, 10).float() + 0 * self.p


def test_select_common_takes_images_correct_under_every_model_in_disjoint_blocks():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(400, 1, 4, 4, generator=g)
    a, b = Fixed(0).eval(), Fixed(0).eval()
    y = a(x).argmax(1)
    y[::3] = (y[::3] + 1) % 10  # a third wrong under both
    i0 = robust.select_common([a, b], x, y, 50, 0)
    i1 = robust.select_common([a, b], x, y, 50, 1)
    assert len(set(i0.tolist()) | set(i1.tolist())) == 100
    for m in (a, b):
        assert (m(x[torch.cat([i0, i1])]).argmax(1) == y[torch.cat([i0, i1])]).all()
    with pytest.raises(ValueError, match="correct under every model"):
        robust.select_common([a, Fixed(3).eval()], x, y, 50, 0)


def test_adversarial_training_is_seeded_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("DMM_CACHE", str(tmp_path))
    cfg = {"robust_eps": 1.5, "robust_pgd_steps": 1, "robust_epochs": 1, "robust_lr": 1e-3, "robust_train_size": 256}
    m1 = robust.robust_classifier(cfg, 0, progress=False)
    assert not m1.training and m1.zoo_info["n"] == 256
    h = m1.zoo_info["history"]
    assert len(h["adv_loss"]) == 1 and math.isfinite(h["adv_loss"][0]) and 0 <= h["adv_accuracy"][0] <= 1
    monkeypatch.setenv("DMM_CACHE", str(tmp_path / "other"))
    m2 = robust.robust_classifier(cfg, 0, progress=False)  # trained again: the same seed gives the same weights
    m3 = robust.robust_classifier(cfg, 1, progress=False)
    for (k, v), v2, v3 in zip(m1.state_dict().items(), m2.state_dict().values(), m3.state_dict().values()):
        torch.testing.assert_close(v, v2, msg=k)
    assert any(not torch.equal(v, v3) for v, v3 in zip(m1.state_dict().values(), m3.state_dict().values()))


def test_stress_summary_per_k():
    from dmmlib.chapters.on_off_manifold import stress
    from dmmlib.subspaces import expected_random_ratio

    rec = records(4.0, 3.0)
    per_k = {k: {q[len("standard/"):]: v for q, v in rec.items() if q.startswith("standard/")} for k in (4, 32)}
    for k in per_k:
        per_k[k]["ae_error"] = torch.full((100,), 3.0 + k, dtype=torch.float64)
    S = stress.summarize(per_k, n_boot=200)
    assert set(S) == {4, 32}
    assert S[4]["expected_R"] == pytest.approx(expected_random_ratio(784, 4))
    assert S[4]["expected_R"] > S[32]["expected_R"]
    assert S[4]["on_ratio"].value == pytest.approx(3.0, rel=0.05) and S[4]["off_ratio"].value == pytest.approx(1.05, rel=0.05)
    assert S[32]["ae_error"].value == pytest.approx(35.0) and S[4]["R"].n == 100
    assert list(stress.table(S)["k"]) == [4, 32]


def test_the_chapter_glues_the_robust_and_stress_claims_once():
    from dmmlib import params
    from dmmlib.claims import VERDICTS, from_json
    from tests.chapter_runner import run_chapter

    values = run_chapter("on_off_manifold", profile="smoke")
    P = params.resolve("on_off_manifold", "smoke")
    ids = [c.id for c in from_json(values["claims"])]
    assert len(ids) == len(set(ids))
    claims = {c.id: c for c in from_json(values["claims"])}
    want = ["robust_R_mnist", "robust_R_specific_mnist", "robust_on_mnist", "stress_R_mnist"]
    for name in want:
        c = claims[f"on_off_manifold.{name}"]
        assert c.verdict in VERDICTS and values[f"verdict_word_{name}"] == c.verdict
        assert c.section in ("oom-robust", "oom-stress")
    assert claims["on_off_manifold.robust_R_mnist"].ours.n == values["oom_robust_images"]
    assert values["oom_robust_images"] == P["robust_models"] * P["robust_n_images"]
    assert values["oom_robust_units"] == min(P["robust_models"], P["models"]["mnist"])
    assert 0 < values["oom_robust_acc"] <= 100 and values["oom_robust_epochs"] == P["robust_epochs"]
    # the glued ratio is the claim's detail; the claim is paired with the random subspace's change
    c = claims["on_off_manifold.robust_R_mnist"]
    assert values["oom_robust_change_R"].strip("'\"") == c.extra["R robust / standard, tangent"]
    assert c.paired and c.control is not None
    assert any("adversarial training" in p.name for p in c.preconditions)
