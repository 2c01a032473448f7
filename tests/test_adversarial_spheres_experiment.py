"""Sphere data, theory (alphas, CLT, spherical caps, Clopper-Pearson, figure 4) and training."""
import math

import numpy as np
import pytest
import torch

from dmmlib.data.spheres import batches, fixed_training_set, labels_from_norm, sample_sphere, sample_spheres
from dmmlib.models.sphere_nets import perfect_quadnet
from dmmlib.chapters.adversarial_spheres.theory import (
    best_subspace_error,
    cap_distance_to_point,
    cap_mean_distance,
    cap_mean_distance_gaussian,
    cap_measure,
    cap_threshold,
    clt_error_rate,
    clt_error_rate_outer,
    incorrect_alphas,
    is_perfect,
    k_fraction_needed,
    sample_quadratic_tail,
    subspace_errors,
)
from dmmlib.stats import clopper_pearson
from dmmlib.chapters.adversarial_spheres.training import build_net, error_rate, gradient_normal_cosine, quad_losses, train_sphere_net


# -- data -------------------------------------------------------------------------------------

def test_samples_lie_on_their_spheres_and_labels_match():
    x, y = sample_spheres(2000, 30, 1.3, generator=torch.Generator().manual_seed(0))
    norms = x.norm(dim=1)
    assert torch.allclose(norms, 1 + 0.3 * y, atol=1e-5)
    assert 0.4 < y.mean() < 0.6
    assert torch.equal(labels_from_norm(x, 1.3), y)


def test_sampling_is_seeded_and_uniform():
    a = sample_sphere(5000, 10, generator=torch.Generator().manual_seed(3))
    b = sample_sphere(5000, 10, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert a.mean(0).abs().max() < 0.05  # no preferred direction
    assert abs(float((a**2).mean()) - 0.1) < 0.005  # E[x_i^2] = 1/d


def test_batches_online_fresh_and_fixed_reuse():
    online = [x for x, _ in batches(8, 10, 3, seed=0)]
    assert not torch.equal(online[0], online[1])
    fixed_x, _ = fixed_training_set(20, 8, seed=1)
    seen = torch.cat([x for x, _ in batches(8, 10, 4, N=20, seed=1)])
    assert seen.shape == (40, 8)
    # every batch point is one of the N training points
    assert ((seen[:, None] - fixed_x[None]).abs().amax(-1).min(dim=1).values < 1e-7).all()


def test_data_validation():
    with pytest.raises(ValueError, match="outer radius"):
        sample_spheres(3, 4, R=0.9)
    with pytest.raises(ValueError, match="dimension"):
        sample_sphere(3, 1)


# -- alphas and the CLT -------------------------------------------------------------------------

def test_perfect_iff_all_alphas_in_range():
    assert is_perfect([0.6, 0.8, 1.0])
    assert not is_perfect([0.5, 0.8])  # below 1/R^2 = 0.5917
    assert not is_perfect([0.8, 1.01])
    assert incorrect_alphas([0.5, 0.8, 1.2]).tolist() == [True, False, True]


def test_clt_sign_matches_sampling_on_a_measurable_rate():
    rng = np.random.default_rng(0)
    alpha = rng.uniform(0.55, 1.15, size=200)  # mean 0.85, many incorrect
    alpha += 0.97 - alpha.mean()  # error around a few percent
    k = sample_quadratic_tail(alpha - 1, 400_000, generator=torch.Generator().manual_seed(0))
    rate = k / 400_000
    clt = clt_error_rate(alpha)
    assert 1e-3 < rate < 0.3
    assert abs(math.log(clt / rate)) < 0.25  # within ~25 %
    # the misprinted sign 1 - Phi(mu/sigma) would give the complement
    assert abs((1 - clt) - rate) > 0.5


def test_clt_outer_matches_sampling():
    alpha = np.full(100, 0.62) + np.linspace(-0.2, 0.2, 100)
    k = sample_quadratic_tail(1 - 1.3**2 * alpha, 200_000, generator=torch.Generator().manual_seed(1))
    assert abs(clt_error_rate_outer(alpha) - k / 200_000) < 0.03


def test_perfect_quadnet_has_no_errors_and_tiny_clt():
    net = perfect_quadnet(100, 120, generator=torch.Generator().manual_seed(0))
    alpha = net.alphas().numpy()
    assert is_perfect(alpha)
    assert clt_error_rate(alpha) < 1e-10
    assert sample_quadratic_tail(alpha - 1, 200_000, generator=torch.Generator().manual_seed(0)) == 0
    assert error_rate(net, 100, 20_000)["errors"] == 0
    assert error_rate(net, 100, 20_000, sphere="outer")["errors"] == 0
    x, y = sample_spheres(2000, 100, generator=torch.Generator().manual_seed(2))
    p = torch.sigmoid(net(x))
    assert torch.allclose(p[y == 0], torch.full_like(p[y == 0], 0.0016), atol=1e-4)
    assert torch.allclose(p[y == 1], torch.full_like(p[y == 1], 0.9994), atol=1e-4)


# -- confidence bounds ----------------------------------------------------------------------------

def test_clopper_pearson_zero_errors_is_a_bound_not_zero():
    lo, hi = clopper_pearson(0, 1_000_000)
    assert lo == 0 and 3e-6 < hi < 4e-6  # ~ -ln(0.025)/n
    lo, hi = clopper_pearson(50, 1000)
    assert lo < 0.05 < hi and hi - lo < 0.03
    with pytest.raises(ValueError, match="0 <= k <= n"):
        clopper_pearson(5, 3)


# -- spherical caps -------------------------------------------------------------------------------

def test_cap_measure_and_threshold_invert_and_match_monte_carlo():
    d = 50
    t = np.array([-0.3, -0.05, 0.0, 0.1, 0.4])
    mu = cap_measure(t, d)
    assert np.allclose(cap_threshold(mu, d), t, atol=1e-8)
    x = sample_sphere(400_000, d, generator=torch.Generator().manual_seed(0))
    mc = [(x[:, 0] > tt).double().mean().item() for tt in t]
    assert np.allclose(mu, mc, atol=3e-3)


def test_cap_mean_distance_is_monotone_and_matches_monte_carlo():
    d = 60
    mus = np.geomspace(1e-9, 0.4, 25)
    dist = cap_mean_distance(mus, d)
    assert np.all(np.diff(dist) < 0)  # more error, closer errors
    x = sample_sphere(300_000, d, generator=torch.Generator().manual_seed(1))
    for mu in (1e-3, 0.05, 0.3):
        mc = cap_distance_to_point(x, float(cap_threshold(mu, d))).mean().item()
        assert abs(mc - float(cap_mean_distance(mu, d))) < 2e-3


def test_gaussian_cap_form_converges_to_exact_in_high_dimension():
    mu = 1e-4
    gaps = [abs(cap_mean_distance_gaussian(mu, d) / cap_mean_distance(mu, d) - 1) for d in (50, 500, 5000)]
    assert gaps[2] < gaps[0] and gaps[2] < 0.01


# -- figure 4 -----------------------------------------------------------------------------------

def test_subspace_errors_exact_match_sampling():
    d, k, b = 40, 20, 0.55
    inner, outer = subspace_errors(k, d, b)
    x = sample_sphere(200_000, d, generator=torch.Generator().manual_seed(0))
    s = (x[:, :k] ** 2).sum(1)
    assert abs(float(inner) - (s > b).double().mean().item()) < 3e-3
    assert abs(float(outer) - (1.3**2 * s < b).double().mean().item()) < 3e-3


def test_k_fraction_falls_with_dimension():
    fr = [k_fraction_needed(d, 1e-6) for d in (100, 1000, 3000)]
    assert fr[0] > fr[1] > fr[2]
    k = round(fr[2] * 3000)
    assert best_subspace_error(k, 3000) <= 1e-6 < best_subspace_error(k - 1, 3000)


# -- training and measurements ----------------------------------------------------------------------

def test_training_is_seeded_and_learns():
    def run():
        net = build_net("relu", 10, 32, seed=0)
        out = train_sphere_net(net, d=10, steps=150, lr=3e-3, seed=0, progress=False, checkpoints=[0, 150],
                               callback=lambda s, m: {"err": error_rate(m, 10, 4000, seed=1)["rate"]
                                                      + error_rate(m, 10, 4000, sphere="outer", seed=2)["rate"]})
        return net, out

    (n1, o1), (n2, o2) = run(), run()
    assert o1["loss"] == o2["loss"]
    assert all(torch.equal(a, b) for a, b in zip(n1.state_dict().values(), n2.state_dict().values()))
    assert o1["records"][-1]["err"] < o1["records"][0]["err"]
    assert o1["records"][-1]["err"] < 0.4


def test_error_rate_reports_interval():
    net = build_net("relu", 8, 16, seed=0).eval()
    r = error_rate(net, 8, 3000, chunk=700)
    assert r["n"] == 3000 and r["lo"] <= r["rate"] <= r["hi"]


def test_gradient_normal_cosine_of_a_radial_model_is_one():
    class Radial(torch.nn.Module):
        def forward(self, x):
            return x.pow(2).sum(1) - 1.3

    x = sample_sphere(50, 20, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(gradient_normal_cosine(Radial(), x), torch.ones(50), atol=1e-5)

    class Linear(torch.nn.Module):
        def forward(self, x):
            return x[:, 0]

    cos = gradient_normal_cosine(Linear(), x)
    assert torch.allclose(cos, x[:, 0].abs(), atol=1e-5)


def test_quad_losses_worst_case_is_exact():
    net = perfect_quadnet(30, 30, generator=torch.Generator().manual_seed(0))
    x, y = sample_spheres(500, 30, generator=torch.Generator().manual_seed(0))
    out = quad_losses(net, x, y)
    assert out["n_incorrect"] == 0
    assert abs(out["worst_loss"] - (-math.log(1 - 0.0016))) < 1e-4
    with torch.no_grad():
        net.W1[0].mul_(1.5)  # pushes one alpha above 1
    out = quad_losses(net, x, y)
    assert out["n_incorrect"] >= 1 and out["worst_loss"] > math.log(2)


# -- the chapter's experiments ------------------------------------------------------------------

def test_trained_net_records_tradeoff_points_and_is_reproducible(tmp_path, monkeypatch):
    from dmmlib.chapters.adversarial_spheres import experiment as S

    kw = dict(d=12, hidden=16, depth=2, steps=60, lr=3e-3, batch_size=20, N=200, seed=4, checkpoints=3,
              n_eval=2000, n_points=8, attack_steps=30, step_size=0.05)
    monkeypatch.setenv("DMM_CACHE", str(tmp_path / "a"))
    a = S.trained_net("relu", **kw)
    monkeypatch.setenv("DMM_CACHE", str(tmp_path / "b"))
    b = S.trained_net("relu", **kw)
    assert all(torch.equal(a["state"][k], b["state"][k]) for k in a["state"])
    assert [r["step"] for r in a["records"]] == S.checkpoint_steps(60, 3)
    for r in a["records"]:
        assert r["err_lo"] <= r["err_rate"] <= r["err_hi"] and 0 <= r["found"] <= 1
    net = S.load_net("relu", a["state"], d=12, hidden=16)
    assert not net.training


def test_slice_predictions_of_a_radial_model_are_a_disc():
    from dmmlib.chapters.adversarial_spheres import experiment as S

    class Radial(torch.nn.Module):
        def forward(self, x):
            return x.norm(dim=1) - 1.15

    sl = S.slice_predictions(Radial(), torch.randn(9), torch.randn(9), 2.0, 41)
    A, B = torch.meshgrid(sl["a"], sl["b"], indexing="xy")
    assert torch.equal(sl["outer"], (A**2 + B**2).sqrt() > 1.15)
