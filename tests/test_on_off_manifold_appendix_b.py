"""Appendix B.1 measured (issue 26, items 5 and 6): the margins, parts and transfer gains of
:mod:`dmmlib.chapters.on_off_manifold.appendix_b` on constructed linear models whose answers are
known, and the B.1 claims' four verdicts on constructed results."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from dmmlib.chapters.on_off_manifold import appendix_b as ab
from dmmlib.chapters.on_off_manifold import claims as cl
from dmmlib.claims import Estimate

N, K = 20, 3  # pixels and the dimension of the "manifold" M = span(e_0, e_1, e_2)


class Linear(nn.Module):
    """Logits (B, 2) = x (B, 1, 1, N) flattened @ W.T + b."""

    def __init__(self, w0, w1, b=(0.0, 0.0)):
        super().__init__()
        self.W = nn.Parameter(torch.stack([torch.as_tensor(w0, dtype=torch.float64),
                                           torch.as_tensor(w1, dtype=torch.float64)]), requires_grad=False)
        self.b = nn.Parameter(torch.tensor(b, dtype=torch.float64), requires_grad=False)

    def forward(self, x):
        return x.flatten(1) @ self.W.T + self.b


def _setup(n_img=6):
    """Images at 0.5 (class 0), a linear classifier whose margin f_0 - f_1 depends on pixels
    off M only (pixels 3..19), d along its gradient plus a part in M."""
    off_dir = torch.zeros(N, dtype=torch.float64)
    off_dir[K:] = 1.0 / math.sqrt(N - K)
    model = Linear(off_dir, -off_dir, b=(0.3 - math.sqrt(N - K), 0.0))  # margin f_0 - f_1 = 0.3 at x = 0.5
    x = torch.full((n_img, 1, 1, N), 0.5, dtype=torch.float64)
    d = torch.zeros_like(x)
    d.view(n_img, N)[:, K:] = -0.3 * off_dir[K:]  # margin 0.3 - 0.6 = -0.3 at x + d
    d.view(n_img, N)[:, :K] = 0.05  # a part in M that the model ignores
    d_on = torch.zeros_like(d)
    d_on.view(n_img, N)[:, :K] = 0.05
    y = torch.zeros(n_img, dtype=torch.long)
    return model, x, y, d, d_on


def test_margin_and_target_margin():
    z = torch.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 1.0]])
    y = torch.tensor([0, 0])
    assert ab.margin(z, y).tolist() == [1.0, -5.0]
    assert ab.target_margin(z, y, torch.tensor([2, 1])).tolist() == [-1.0, 5.0]
    with pytest.raises(ValueError, match="logits must be"):
        ab.margin(z[0], y)


def test_parts_add_up_and_lie_in_their_subspaces():
    g = torch.Generator().manual_seed(0)
    d = torch.randn(4, 1, 2, 5, generator=g)
    U = torch.linalg.qr(torch.randn(4, 10, 3, generator=g))[0]
    d_on = torch.randn(4, 1, 2, 5, generator=g)
    p = ab.parts(d, d_on, U)
    assert torch.allclose(p["on"] + p["off"], d) and torch.allclose(p["on_rand"] + p["off_rand"], d)
    coords = torch.bmm(U.transpose(1, 2), p["off_rand"].view(4, 10, 1))
    assert coords.abs().max() < 1e-5  # the off part is orthogonal to S
    with pytest.raises(ValueError, match="basis must be"):
        ab.parts(d, d_on, U[:, :9])


def test_a_model_blind_to_M_gets_nothing_from_the_on_part():
    model, x, y, d, d_on = _setup()
    target = torch.ones(len(y), dtype=torch.long)
    out = ab.measure(model, x, y, target, d, d_on, K, batch_size=4)
    assert (out["m/x"] > 0).all() and (out["m/d"] < 0).all()
    assert torch.allclose(out["drop/on"], torch.zeros(len(y), dtype=torch.float64), atol=1e-9)
    assert torch.allclose(out["change/on"], torch.zeros(len(y), dtype=torch.float64), atol=1e-9)
    assert torch.allclose(out["drop/off"], torch.ones(len(y), dtype=torch.float64))
    assert torch.allclose(out["m/off"], out["m/d"])  # the off part is the whole attack here
    # a random 3-subspace of 20 dimensions takes a share of the off-M direction: its off part does less
    assert (out["drop/off_rand"] < 1).all() and (out["change/on_rand"] > 0).all()
    assert torch.allclose(out["norm/on"], d_on.flatten(1).norm(dim=1))
    assert "g/shift/on" not in out


def test_a_separately_trained_model_that_reads_M_is_moved_by_the_on_part():
    model, x, y, d, d_on = _setup()
    in_m = torch.zeros(N, dtype=torch.float64)
    in_m[:K] = 1.0
    other = Linear(-in_m, in_m)  # g_1 - g_0 grows along the part of d in M only
    target = torch.ones(len(y), dtype=torch.long)
    out = ab.measure(model, x, y, target, d, d_on, K, other=other, batch_size=4)
    assert (out["g/shift/on"] > 0).all()
    assert torch.allclose(out["g/shift/off"], torch.zeros(len(y), dtype=torch.float64), atol=1e-9)
    # per unit L2: the on part moves g by 2 ||in_m|| cos(angle) = 2 sqrt(3) (d_on is along in_m)
    assert torch.allclose(out["g/shift/on"], torch.full((len(y),), 2 * math.sqrt(K), dtype=torch.float64))
    assert (out["g/shift/on"] > out["g/shift/on_rand"]).all()


def test_a_seed_fixes_the_random_subspace_and_inputs_are_checked():
    model, x, y, d, d_on = _setup()
    t = torch.ones(len(y), dtype=torch.long)
    a = ab.measure(model, x, y, t, d, d_on, K, seed=1)
    b = ab.measure(model, x, y, t, d, d_on, K, seed=1)
    c = ab.measure(model, x, y, t, d, d_on, K, seed=2)
    assert torch.equal(a["drop/off_rand"], b["drop/off_rand"]) and not torch.equal(a["drop/off_rand"], c["drop/off_rand"])
    # chunking does not change the result
    assert torch.allclose(ab.measure(model, x, y, t, d, d_on, K, seed=1, batch_size=1)["m/on"], a["m/on"])
    with pytest.raises(ValueError, match="target must have shape"):
        ab.measure(model, x, y, t[:2], d, d_on, K)
    with pytest.raises(ValueError, match="d_on must have the shape"):
        ab.measure(model, x, y, t, d, d_on[:2], K)
    with pytest.raises(ValueError, match="k must be"):
        ab.measure(model, x, y, t, d, d_on, N)


def _records(n=40, units=2, shift_on=1.0):
    g = torch.Generator().manual_seed(0)
    rec = {"unit": torch.arange(units).repeat_interleave(n // units), "success": torch.ones(n, dtype=torch.bool)}
    for p in ("x",) + ab.PARTS:
        rec[f"m/{p}"] = torch.randn(n, generator=g, dtype=torch.float64) + (2.0 if p in ("x", "on", "on_rand") else -1)
    for p in ab.PARTS:
        rec[f"drop/{p}"] = torch.rand(n, generator=g, dtype=torch.float64)
        rec[f"change/{p}"] = torch.rand(n, generator=g, dtype=torch.float64)
    rec["g/correct"] = torch.ones(n, dtype=torch.bool)
    for p in ab.TRANSFER_PARTS:
        rec[f"g/gain/{p}"] = torch.rand(n, generator=g, dtype=torch.float64)
        rec[f"g/shift/{p}"] = torch.rand(n, generator=g, dtype=torch.float64) + (shift_on if p == "on" else 0.0)
    rec["success"][:3] = False
    return rec


def test_summarize_counts_the_successful_images_and_pairs_the_comparisons():
    s = ab.summarize(_records(), n_boot=200)
    assert s["n"] == 37 and s["images"] == 40 and s["units"] == 2
    assert set(s["cmp"]) == {"off_drop", "on_change", "shift_off", "shift_rand"}
    assert s["cmp"]["shift_off"].value > 0.5 and s["cmp"]["shift_off"].lo > 0  # the on part was made larger
    assert 0 <= s["flip"]["d"].value <= 1 and s["margin"]["x"].value > 1
    table = ab.table({"mnist": {**s, "other": "seed 1"}})
    assert len(table) == 5 and table.iloc[2]["x + d"] == "1 (by definition)"


# -- the claims: four verdicts each ----------------------------------------------------------------

P = {"profile": "smoke"}


def E(v, half=0.01, n=100):
    return Estimate(v, v - half, v + half, n, "images, 3 models")


def base(accuracy=0.98, t1_success=0.99, r_change=0.01):
    return {"mnist": {"accuracy": accuracy, "ae_error": E(2.0), "ae_last_drop": 0.005, "t1_success": E(t1_success, 0),
                      "ae_quality_changes": {"R": r_change}}}


def b1(off=0.05, on=-0.05, shift_off=0.3, shift_rand=0.3, half=0.01, other_accuracy=0.98):
    parts = {p: E(0.5) for p in ab.PARTS}
    return {"mnist": {"units": 3, "images": 300, "n": 290, "margin": {"x": E(3.0), **parts}, "flip": parts,
                      "drop": parts, "change": parts, "shift": {p: E(0.5) for p in ab.TRANSFER_PARTS},
                      "gain": {p: E(0.5) for p in ab.TRANSFER_PARTS}, "g_correct": E(0.97), "other": "seed 1",
                      "other_accuracy": other_accuracy,
                      "cmp": {"off_drop": E(off, half), "on_change": E(on, half), "shift_off": E(shift_off, half),
                              "shift_rand": E(shift_rand, half)}}}


def verdicts(results, b):
    return {c.id.split(".", 1)[1]: c.verdict for c in cl.b1_claims(results, b, P)}


def test_b1_claims_ids_kinds_quotes_and_pairing():
    cs = cl.b1_claims(base(), b1(), P)
    assert sorted(c.id.split(".", 1)[1] for c in cs) == sorted(cl.b1_names(("mnist",)))
    for c in cs:
        assert c.kind == "paper" and c.quote and c.paired and c.section == "oom-b1" and c.preconditions
    # without a separately trained classifier (ImageNet) the transfer claims are not made
    b = b1()
    del b["mnist"]["shift"]
    assert set(verdicts(base(), b)) == {"b1_off_mnist", "b1_on_mnist"}


@pytest.mark.parametrize("kwargs, want", [
    ({}, "supports"),
    (dict(off=-0.05, on=0.05, shift_off=-0.3, shift_rand=-0.3), "contradicts"),
    (dict(off=0.0, on=0.0, shift_off=0.0, shift_rand=0.0, half=0.05), "inconclusive"),
])
def test_b1_claims_verdicts(kwargs, want):
    assert set(verdicts(base(), b1(**kwargs)).values()) == {want}


def test_b1_claims_not_tested_when_a_precondition_fails():
    assert set(verdicts(base(accuracy=0.5), b1()).values()) == {"not tested"}
    assert set(verdicts(base(t1_success=0.2), b1()).values()) == {"not tested"}
    assert set(verdicts(base(r_change=0.2), b1()).values()) == {"not tested"}  # R still moving with the autoencoder
    v = verdicts(base(), b1(other_accuracy=0.3))  # the separately trained classifier has not learnt the task
    assert v["b1_meaningful_mnist"] == v["b1_meaningful_random_mnist"] == "not tested"
    assert v["b1_off_mnist"] == v["b1_on_mnist"] == "supports"
