"""Kernels of the chapter distance_during_training: checkpoints, one measurement, a measured run."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from dmmlib.chapters.distance_during_training import experiment as ex
from dmmlib.subspaces import random_subspace


def test_log_checkpoints():
    c = ex.log_checkpoints(1000, 8)
    assert c[0] == 0 and c[-1] == 1000 and c[1] == 1
    assert all(b > a for a, b in zip(c, c[1:]))
    assert len(c) <= 8
    assert ex.log_checkpoints(3, 10) == [0, 1, 2, 3]
    with pytest.raises(ValueError):
        ex.log_checkpoints(0, 5)


def _linear(n_in=6, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(n_in, 2))


def test_measure_on_a_linear_model_is_exact():
    model = _linear()
    x = torch.rand(5, 6)
    basis = random_subspace(6, 2, batch=5, generator=torch.Generator().manual_seed(1))
    rand = random_subspace(6, 2, generator=torch.Generator().manual_seed(2))
    out = ex.measure(model, x, basis, rand, x, torch.zeros(5, dtype=torch.long), max_iter=10, candidates=1)
    w, b = model[1].weight.detach(), model[1].bias.detach()
    dw, db = w[1] - w[0], b[1] - b[0]
    exact = ((x @ dw + db).abs() / dw.norm()).numpy()
    assert np.allclose(out["distance"], exact, rtol=1e-3, atol=1e-5)
    assert out["converged"].all()
    # the perturbation is along dw: its tangent part is |P_T dw| / |dw| of its length
    on_share = torch.bmm(dw.expand(5, 1, 6), basis).squeeze(1).norm(dim=1) / dw.norm()
    assert np.allclose(out["r_on"], exact * on_share.numpy(), rtol=1e-3, atol=1e-5)
    assert np.allclose(np.hypot(out["r_on"], out["r_off"]), out["distance"], rtol=1e-4)
    # the margin gradient is +-dw too, so its tangent fraction is the same share
    assert np.allclose(out["g_tan"], on_share.numpy(), rtol=1e-4)
    assert np.allclose(out["g_rand"], (rand.T @ dw).norm().item() / dw.norm().item(), rtol=1e-4)
    assert 0 <= out["accuracy"] <= 1


def test_train_measured_is_seeded_and_records_every_checkpoint():
    x = torch.rand(40, 1, 28, 28)
    y = torch.randint(0, 10, (40,))
    basis = random_subspace(784, 4, batch=3, generator=torch.Generator().manual_seed(0))
    rand = random_subspace(784, 4, generator=torch.Generator().manual_seed(1))

    def run(seed):
        torch.manual_seed(seed)
        model = ex.build_model("mnist")
        fn = lambda m: ex.measure_checkpoint(m, x[:8], x[:3], basis, rand, x[:10], y[:10], max_iter=20,  # noqa: E731
                                             candidates=3)
        return ex.train_measured(model, x, y, epochs=3, lr=0.05, optimizer="sgd", momentum=0.0, weight_decay=0.0,
                                 batch_size=8, seed=seed, checkpoints=5, measure_fn=fn, progress=False)

    a, b = run(0), run(0)
    assert list(a["steps"]) == ex.log_checkpoints(15, 5)
    assert a["total_steps"] == 15 and a["steps_per_epoch"] == 5
    assert a["distance"].shape == (len(a["steps"]), 3)
    assert np.array_equal(a["distance"], b["distance"])
    assert math.isnan(a["train_loss"][0]) and np.isfinite(a["train_loss"][1:]).all()
    c = ex.curves(a)
    assert c["distance"].shape == a["steps"].shape and np.all(c["success"] <= 1)
    # the MLP has no batch norm: the eval-mode measurement is the same one
    assert np.array_equal(c["distance_eval"], c["distance"], equal_nan=True)


def test_recalibrated_batch_norm_holds_the_data_statistics_and_leaves_the_weights():
    torch.manual_seed(0)
    model = ex.build_model("cifar", "small_cnn", 4).eval()
    x = 0.5 + 0.2 * torch.randn(64, 3, 32, 32)
    twin = ex.recalibrated(model, x, batch_size=16)
    bn = next(m for m in twin.modules() if isinstance(m, torch.nn.BatchNorm2d))
    first = next(m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert torch.allclose(first.running_mean, torch.zeros_like(first.running_mean)), "the original is untouched"
    assert not torch.allclose(bn.running_mean, torch.zeros_like(bn.running_mean)), "statistics of the data"
    assert not twin.training and all(torch.equal(a, b) for a, b in zip(twin.parameters(), model.parameters()))
    # the first batch-norm layer's statistics are the mean over the 64 images of its input
    conv_out = {}
    layer = next(m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    h = layer.register_forward_pre_hook(lambda mod, inp: conv_out.setdefault("x", inp[0]))
    with torch.no_grad():
        model(x)
    h.remove()
    assert torch.allclose(bn.running_mean, conv_out["x"].mean((0, 2, 3)), atol=1e-5)
    mlp = ex.build_model("mnist")
    assert ex.recalibrated(mlp, torch.rand(8, 1, 28, 28)) is mlp and not ex.has_batch_norm(mlp)


def test_a_batch_norm_network_is_measured_both_ways():
    torch.manual_seed(0)
    model = ex.build_model("cifar", "small_cnn", 4).eval()
    x = torch.rand(6, 3, 32, 32)
    basis = random_subspace(3072, 4, batch=3, generator=torch.Generator().manual_seed(0))
    rand = random_subspace(3072, 4, generator=torch.Generator().manual_seed(1))
    out = ex.measure_checkpoint(model, torch.rand(32, 3, 32, 32), x[:3], basis, rand, x, torch.zeros(6, dtype=torch.long),
                                max_iter=20, candidates=3)
    assert out["distance_eval"].shape == out["distance"].shape == (3,)
    assert not np.allclose(out["distance_eval"], out["distance"]), "default statistics vs the data's"


def test_bad_knobs_raise_before_work():
    from dmmlib import params

    P = dict(params.resolve("distance_during_training", "smoke"))
    with pytest.raises(ValueError, match="alt_optimizer"):
        ex.check_params({**P, "mnist_alt_optimizer": "rmsprop"})
    with pytest.raises(ValueError, match="cifar_arch"):
        ex.check_params({**P, "cifar_arch": "vgg"})
    with pytest.raises(params.ParameterError):
        params.resolve("distance_during_training", "smoke", seeds=0)


def test_resnet50_for_paper_profile():
    from dmmlib import params

    assert params.resolve("distance_during_training", "paper")["cifar_arch"] == "resnet50"
    model = ex.build_model("cifar", "resnet50")
    assert model.fc.out_features == 10


def test_too_few_checkpoints_for_the_two_phase_fit_are_refused_before_work():
    from dmmlib import params

    P = dict(params.resolve("distance_during_training", "smoke"))
    ex.check_params(P)  # the smoke settings give enough checkpoints
    P.update(mnist_train_size=200, mnist_batch_size=200, mnist_epochs=1)  # one training step
    with pytest.raises(ValueError, match="two-phase fit needs 4"):
        ex.check_params(P)
    with pytest.raises(params.ParameterError):
        params.resolve("distance_during_training", "smoke", checkpoints=3)
