"""The kernels of the chapter manifold_projection on tiny constructed inputs: the defence, the
detector's ROC, the restarted and penalised attacks, and the per-image measurements."""
import numpy as np
import pytest
import torch
from torch import nn

from dmmlib.chapters.manifold_projection import attacks, defence, detection, experiment

SIDE = 4
N_PIX = SIDE * SIDE


class LinearAE(nn.Module):
    """The affine projection x -> m + U U^T (x - m) onto a k-dim subspace through m = 0.5."""

    def __init__(self, U: torch.Tensor):
        super().__init__()
        self.register_buffer("U", U)
        self.latent_dim = U.shape[1]

    def encode(self, x):
        return (x.flatten(1) - 0.5) @ self.U

    def decode(self, c):
        return (0.5 + c @ self.U.T).view(-1, 1, SIDE, SIDE)


class LinearClf(nn.Module):
    """Two logits [0, s w.(x - m)]: class 1 where w.(x - m) > 0 (w a unit vector)."""

    def __init__(self, w: torch.Tensor, scale: float = 10.0):
        super().__init__()
        self.register_buffer("w", w / w.norm())
        self.scale = scale

    def forward(self, x):
        z = self.scale * ((x.flatten(1) - 0.5) @ self.w)
        return torch.stack([torch.zeros_like(z), z], dim=1)


def toy(k: int = 3, w_in_span: bool = True, n: int = 6, seed: int = 0):
    """A linear AE of a random k-subspace, a linear classifier whose weight lies in it (or has a
    part off it), and n images on the subspace at signed distances 0.1..0.3 from the boundary."""
    g = torch.Generator().manual_seed(seed)
    U = torch.linalg.qr(torch.randn(N_PIX, k, generator=g)).Q
    w = U[:, 0].clone() if w_in_span else (U[:, 0] + torch.linalg.qr(torch.randn(N_PIX, 1, generator=g)).Q[:, 0])
    clf, ae = LinearClf(w).eval(), LinearAE(U).eval()
    s = torch.linspace(0.1, 0.3, n) * torch.tensor([1.0, -1.0]).repeat(n // 2 + 1)[:n]
    x = (0.5 + s[:, None] * U[:, 0][None]).view(n, 1, SIDE, SIDE)
    y = (s > 0).long()
    return clf, ae, x, y, s.abs()


CFG = {"mn_steps": 60, "mn_step": 0.2, "check_step_factor": 2, "restarts": 2, "restart_radius": 0.5,
       "penalties": [1.0, 5.0], "penalty_steps": 40, "penalty_radius": 2.0}


# -- the defence --------------------------------------------------------------------------------


def test_projected_classifies_the_reconstruction():
    clf, ae, x, y, _ = toy()
    g = defence.Projected(clf, ae)
    off = torch.linalg.qr(torch.cat([ae.U, torch.randn(N_PIX, 1)], 1)).Q[:, -1]  # a direction off the subspace
    z = (x + 0.05 * off.view(1, 1, SIDE, SIDE)).clamp(0, 1)
    assert torch.allclose(g.reconstruct(z), x, atol=1e-5)  # the off-subspace part is removed
    assert torch.allclose(g(z), clf(x), atol=1e-4)
    with pytest.raises(TypeError, match="encode and decode"):
        defence.Projected(clf, nn.Identity())


def test_reconstruction_error_is_the_distance_to_the_subspace():
    clf, ae, x, y, _ = toy()
    assert defence.reconstruction_error(ae, x).abs().max() < 1e-5
    off = torch.linalg.qr(torch.cat([ae.U, torch.randn(N_PIX, 1)], 1)).Q[:, -1]
    z = x + 0.05 * off.view(1, 1, SIDE, SIDE)
    assert torch.allclose(defence.reconstruction_error(ae, z), torch.full((len(x),), 0.05), atol=1e-4)
    with pytest.raises(ValueError, match="image batch"):
        defence.reconstruction_error(ae, x.flatten(1))


def test_select_correct_draws_disjoint_correct_blocks():
    clf, ae, x, y, _ = toy(n=12)
    y_bad = y.clone()
    y_bad[:4] = 1 - y_bad[:4]  # four images now misclassified
    a = defence.select_correct([clf], x, y_bad, 3, 0)
    b = defence.select_correct([clf], x, y_bad, 3, 1)
    assert len(set(a.tolist()) | set(b.tolist())) == 6 and (a >= 4).all() and (b >= 4).all()
    with pytest.raises(ValueError, match="only 8"):
        defence.select_correct([clf], x, y_bad, 5, 1)


# -- detection ----------------------------------------------------------------------------------


def test_auc_extremes_ties_and_interval():
    assert detection.roc_auc([2.0, 3.0], [0.0, 1.0]) == 1.0
    assert detection.roc_auc([0.0, 1.0], [2.0, 3.0]) == 0.0
    assert detection.roc_auc([1.0, 1.0], [1.0, 1.0]) == 0.5
    assert detection.roc_auc([1.0, 3.0], [2.0, 0.0]) == 0.75
    rng = np.random.default_rng(0)
    clean = rng.normal(size=200)
    iv = detection.auc_interval(clean + 1.0, clean + rng.normal(size=200), n_boot=300)
    assert iv.lo <= iv.estimate <= iv.hi and iv.lo > 0.5
    fpr, tpr = detection.roc_curve([2.0, 3.0], [0.0, 1.0])
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1 and (np.diff(fpr) >= 0).all()
    with pytest.raises(ValueError, match="non-finite"):
        detection.roc_auc([np.inf], [0.0])
    small = detection.auc_interval([4.37, 4.40, 4.30], [4.36, 4.41, 4.29], n_boot=500)
    assert small.lo <= small.estimate <= small.hi  # the interval holds its estimate, even for three images
    with pytest.raises(ValueError, match="n_boot"):
        detection.auc_interval([1.0, 2.0], [0.0], n_boot=5)


# -- the attacks --------------------------------------------------------------------------------


def test_restart_fmn_finds_the_linear_distance_from_x():
    clf, ae, x, y, dist = toy()
    d = attacks.restart_fmn(clf, x, y, 0.5 * dist, restarts=2, generator=torch.Generator().manual_seed(0),
                            steps=60, step_size=0.2)
    assert d.shape == (2, len(x)) and torch.isfinite(d).all()
    assert (d >= dist - 1e-3).all() and (d <= 1.1 * dist + 0.01).all()  # never below the true distance
    with pytest.raises(ValueError, match="radius"):
        attacks.restart_fmn(clf, x, y, -dist, restarts=1, generator=torch.Generator())


def test_penalised_attack_lowers_the_reconstruction_error():
    """Warm-started at an adversarial point that has left the subspace: without the penalty it stays
    there (the margin term is satisfied), with it the point moves back towards the subspace."""
    clf, ae, x, y, dist = toy()
    g = defence.Projected(clf, ae).eval()
    eps = 3.0 * dist
    off = torch.linalg.qr(torch.cat([ae.U, torch.randn(N_PIX, 1, generator=torch.Generator().manual_seed(1))], 1)).Q[:, -1]
    sign = torch.where(y == 1, -1.0, 1.0).view(-1, 1, 1, 1)
    start = sign * 1.2 * dist.view(-1, 1, 1, 1) * ae.U[:, 0].view(1, 1, SIDE, SIDE) + 0.1 * off.view(1, 1, SIDE, SIDE)
    free = attacks.penalised_attack(g, x, y, eps, penalty=0.0, steps=40, start=start)
    pen = attacks.penalised_attack(g, x, y, eps, penalty=5.0, steps=40, start=start)
    assert free.success.all() and pen.success.all()
    assert torch.allclose(free.recon_error, torch.full((len(x),), 0.1), atol=1e-3)
    assert (pen.norm <= eps + 1e-5).all()
    with torch.no_grad():
        assert (g(pen.x_adv).argmax(1) != y).all()
    assert pen.recon_error.mean() < 0.5 * free.recon_error.mean()
    sweep = attacks.penalised_sweep(g, x, y, eps, penalties=[0.0, 5.0], steps=40, start=start)
    assert torch.allclose(sweep.recon_error, torch.minimum(free.recon_error, pen.recon_error))  # the best of the two
    with pytest.raises(ValueError, match="eps"):
        attacks.penalised_attack(g, x, y, torch.zeros(len(x)), penalty=1.0, steps=5)


# -- the measurements ---------------------------------------------------------------------------


def test_measure_on_a_linear_defence_whose_classifier_lies_in_the_subspace():
    """w in span(U): the projection changes nothing the classifier sees, so the defended, the plain
    and the on-manifold distances all equal the distance to the hyperplane."""
    clf, ae, x, y, dist = toy()
    g = defence.Projected(clf, ae).eval()
    r = experiment.measure(g, x, y, CFG, seed=0)
    for key in ("dist/plain", "dist/on", "dist/adaptive", "dist/best"):
        assert torch.allclose(r[key], dist, rtol=0.05, atol=1e-3), key
    assert r["dist/restarts"].shape == (len(x), CFG["restarts"])
    assert r["transfer_fools"].all()
    assert (r["dist/best"] <= r["dist/adaptive"]).all()
    assert torch.allclose(r["R/adaptive"], torch.ones(len(x)), atol=1e-3)  # the perturbation lies in M
    assert r["x_adv/plain"].shape == x.shape


def test_measure_when_the_classifier_leans_off_the_subspace():
    """w half off span(U): the plain classifier is closer than the defended one, whose attack must stay in M."""
    clf, ae, x, y, dist = toy(w_in_span=False)
    g = defence.Projected(clf, ae).eval()
    r = experiment.measure(g, x, y, CFG, seed=0)
    ratio = r["dist/best"] / r["dist/plain"]
    assert (ratio > 1.2).all()
    assert torch.allclose(r["dist/best"], r["dist/on"], rtol=0.1)
    again = experiment.measure(g, x, y, CFG, seed=0)
    assert all(torch.equal(r[k], again[k]) or torch.allclose(r[k], again[k], equal_nan=True) for k in r)


def test_measure_validates():
    clf, ae, x, y, _ = toy()
    with pytest.raises(TypeError, match="Projected"):
        experiment.measure(clf, x, y, CFG)
    with pytest.raises(ValueError, match="cfg lacks"):
        experiment.measure(defence.Projected(clf, ae), x, y, {"mn_steps": 1})
    with pytest.raises(ValueError, match="shape"):
        experiment.measure(defence.Projected(clf, ae), x, y[:2], CFG)
    with pytest.raises(ValueError, match="at least one"):
        attacks.penalised_sweep(defence.Projected(clf, ae), x, y, torch.ones(len(x)), penalties=[], steps=2)
