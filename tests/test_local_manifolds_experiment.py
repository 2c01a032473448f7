"""Tests of dmmlib.chapters.local_manifolds.experiment and dmmlib.chapters.local_manifolds.plots on a tiny autoencoder."""

import matplotlib
import pandas as pd
import pytest
import torch
from torch import nn

from dmmlib.chapters.local_manifolds import experiment as lm
from dmmlib.chapters.local_manifolds import plots as lmplots
from dmmlib.subspaces import expected_random_ratio

matplotlib.use("Agg")


class TinyAE(nn.Module):
    """Images (B, 1, 4, 4) <-> codes (B, 3); decoder sigmoid(c W^T + b), or linear."""

    def __init__(self, linear=False, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.We = nn.Parameter(torch.randn(16, 3, generator=g))
        self.Wd = nn.Parameter(torch.randn(16, 3, generator=g))
        self.b = nn.Parameter(torch.randn(16, generator=g) * 0.1)
        self.linear = linear

    def encode(self, x):
        return x.flatten(1) @ self.We

    def decode(self, c):
        z = c @ self.Wd.T + self.b
        return (z if self.linear else torch.sigmoid(z)).view(-1, 1, 4, 4)

    def forward(self, x):
        return self.decode(self.encode(x))


def _images(n, seed=0):
    return torch.rand(n, 1, 4, 4, generator=torch.Generator().manual_seed(seed))


def test_draw_indices_seeded_and_all():
    a, b, c = lm.draw_indices(50, 10, 3), lm.draw_indices(50, 10, 3), lm.draw_indices(50, 10, 4)
    assert a.shape == (10,) and torch.equal(a, b) and not torch.equal(a, c) and len(set(a.tolist())) == 10
    assert torch.equal(lm.draw_indices(5, 0), torch.arange(5)) and torch.equal(lm.draw_indices(5, 9), torch.arange(5))
    with pytest.raises(ValueError, match="total"):
        lm.draw_indices(5, -1)


def test_reconstruction_errors():
    x = _images(23)
    recon, mse, l2 = lm.reconstruction_errors(lambda v: v + 0.1, x, batch_size=7)
    assert recon.shape == x.shape and torch.allclose(mse, torch.full((23,), 0.01), atol=1e-6)
    assert torch.allclose(l2, torch.full((23,), 0.1 * 4), atol=1e-5)
    with pytest.raises(ValueError, match="shape"):
        lm.reconstruction_errors(lambda v: v.flatten(1), x)


def test_tangent_angle_study_exact_jacobian_and_fd_angles():
    ae, x = TinyAE(), _images(4)
    J64, records = lm.tangent_angle_study(ae, x, fd_eps=[1e-6, 1e-3, 1.0])
    # the exact Jacobian of sigmoid(c W^T + b) is diag(s (1 - s)) W
    with torch.no_grad():
        c = ae.encode(x).double()
        s = torch.sigmoid(c @ ae.Wd.double().T + ae.b.double())
    expected = (s * (1 - s)).unsqueeze(2) * ae.Wd.double()
    assert J64.shape == (4, 16, 3) and J64.dtype == torch.float64 and torch.allclose(J64, expected, atol=1e-10)
    df = pd.DataFrame(records)
    assert len(df) == 4 * (1 + 2 * 3) and set(df.method) == set(lm.METHODS)
    assert ((df.angle >= 0) & (df.angle <= 90)).all()
    med = df.groupby(["method", "eps"], dropna=False).angle.median()
    # float64 differences: truncation error shrinks with the step; float32 rounding error grows as it shrinks
    assert med[("fd fp64", 1e-6)] < 1e-3 < med[("fd fp64", 1.0)]
    assert med[("fd fp32", 1e-6)] > med[("fd fp32", 1e-3)]
    assert df[df.method == "jvp fp32"].angle.max() < 1e-2
    # a linear decoder: every finite difference is exact up to rounding
    _, lin = lm.tangent_angle_study(TinyAE(linear=True), x, fd_eps=[1e-2, 1.0])
    assert pd.DataFrame(lin).query("method == 'fd fp64'").angle.max() < 1e-5
    with pytest.raises(ValueError, match="fd_eps"):
        lm.tangent_angle_study(ae, x, fd_eps=[0.0])


def test_tangent_study_is_seeded():
    ae, pool = TinyAE(), _images(30)
    a = lm.tangent_study(ae, pool, n_images=3, seeds=2, fd_eps=[1e-2])
    b = lm.tangent_study(ae, pool, n_images=3, seeds=2, fd_eps=[1e-2])
    c = lm.tangent_study(ae, pool, n_images=3, seeds=2, fd_eps=[1e-2], seed_base=7)
    assert len(a.images) == len(a.jacobians) == 2 and a.images[0].shape == (3, 1, 4, 4)
    assert torch.equal(a.images[1], pool[lm.draw_indices(30, 3, 101)])
    assert all(torch.equal(p, q) for p, q in zip(a.jacobians, b.jacobians))
    assert pd.DataFrame(a.angles).equals(pd.DataFrame(b.angles))
    assert not torch.equal(a.images[0], c.images[0])
    assert {r["seed"] for r in a.angles} == {0, 1} and len(a.angles) == 2 * 3 * 3


def test_spectrum_summary():
    S = torch.tensor([[4.0, 2.0, 1.0], [1.0, 0.05, 0.01]])
    cond, count = lm.spectrum_summary(S)
    assert torch.allclose(cond, torch.tensor([4.0, 100.0])) and count.tolist() == [3, 1]
    assert lm.spectrum_summary(S, threshold=0.3)[1].tolist() == [2, 1]
    with pytest.raises(ValueError):
        lm.spectrum_summary(torch.tensor([[0.0, 0.0]]))


def test_angle_summary_best_steps_and_verdict():
    rows = [{"data": "A", "method": "fd fp32", "eps": e, "angle": a}
            for e, angs in ((0.1, [5, 6, 7]), (0.01, [1, 2, 3]), (0.001, [30, 40, 50])) for a in angs]
    rows += [{"data": "A", "method": "jvp fp32", "eps": float("nan"), "angle": 0.0}]
    summary = lm.angle_summary(pd.DataFrame(rows))
    assert len(summary) == 3 and summary.n.tolist() == [3, 3, 3]
    best = lm.best_steps(summary)
    assert best.loc[("A", "fd fp32"), "best_eps"] == 0.01 and best.loc[("A", "fd fp32"), "best_median"] == 2
    assert best.loc[("A", "fd fp32"), "worst_median"] == 40
    assert [lm.range_verdict(v) for v in (5, 10, 15, 20, 25)] == ["below", "within", "within", "within", "above"]
    with pytest.raises(ValueError, match="columns"):
        lm.angle_summary(pd.DataFrame({"angle": [1.0]}))


def test_random_ratio_samples_match_the_study():
    J = [torch.randn(3, 30, 4, generator=torch.Generator().manual_seed(s), dtype=torch.float64) for s in range(2)]
    draws = lm.random_ratio_samples(J, 50)
    assert [d.shape for d in draws] == [(3, 50), (3, 50)] and all((d >= 1).all() for d in draws)
    assert [d.mean().item() for d in draws] == lm.random_ratio_study(J, 50)


def test_random_ratio_study_seeded_and_near_expectation():
    J = [torch.randn(4, 40, 5, generator=torch.Generator().manual_seed(s), dtype=torch.float64) for s in range(2)]
    a = lm.random_ratio_study(J, 2000)
    assert a == lm.random_ratio_study(J, 2000) and a != lm.random_ratio_study(J, 2000, seed_base=5)
    for m in a:
        assert abs(m - expected_random_ratio(40, 5)) < 0.05 * expected_random_ratio(40, 5)


def test_figures_are_drawn():
    ae, x = TinyAE(), _images(6)
    gray = torch.rand(6, 1, 28, 28)
    col = torch.rand(6, 3, 8, 8)
    fig = lmplots.reconstruction_figure({"A": (gray, gray), "B": (col, col)}, 3)
    assert len(fig.axes) == 12
    J_gray, J_col = torch.randn(784, 4, dtype=torch.float64), torch.randn(192, 5, dtype=torch.float64)
    fig = lmplots.tangent_basis_figure({"MNIST": (gray[0], gray[0], J_gray), "CIFAR-10": (col[0], col[0], J_col)})
    assert len(fig.axes) == 12 and fig.axes[2].get_title().startswith("$u_1$")
    with pytest.raises(ValueError, match="J must be"):
        lmplots.tangent_basis_figure({"MNIST": (gray[0], gray[0], J_col)})
    spec = torch.linalg.svdvals(torch.randn(5, 30, 4))
    assert len(lmplots.spectrum_figure({"MNIST": spec}).axes[0].lines) == 1
    _, rec = lm.tangent_angle_study(ae, x, fd_eps=[1e-3, 1e-1])
    summary = lm.angle_summary(pd.DataFrame([{"data": "MNIST", **r} for r in rec]))
    ax = lmplots.fd_angle_figure(summary).axes[0]
    assert ax.get_xscale() == "log" and "degrees" in ax.get_ylabel()
    matplotlib.pyplot.close("all")


def test_fd_effect_linear_decoder_gives_the_exact_basis():
    """With a linear decoder the finite-difference span is the exact one: R and E agree; the
    attack's failures are nan rows; a wrong batch size raises."""
    torch.manual_seed(0)
    ae = TinyAE(linear=True).double()
    clf = nn.Sequential(nn.Flatten(), nn.Linear(16, 3)).double()
    x = _images(6).double()
    with torch.no_grad():
        y = clf(x).argmax(1)
        J = ae.Wd.detach().expand(6, 16, 3).clone()
    out = lm.fd_effect(clf, ae, x, y, J, fd_eps=1e-3, eps=5.0, step_size=0.5, steps=30)
    ok = out["success"]
    assert ok.any() and (out["correct"]).all()
    assert torch.allclose(out["R_fd"][ok], out["R_exact"][ok], rtol=1e-4)
    assert torch.allclose(out["E_fd"][ok], out["E_exact"][ok], rtol=1e-3, atol=1e-6)
    assert torch.isnan(out["R_fd"][~ok]).all()
    change = lm.fd_effect_change(out["R_fd"], out["R_exact"], out["E_fd"], out["E_exact"])
    assert change["worst"] < 1e-3 and change["n"] == int(ok.sum())
    with pytest.raises(ValueError, match="one B"):
        lm.fd_effect(clf, ae, x, y[:3], J, fd_eps=1e-3, eps=1.0, step_size=0.1, steps=2)
