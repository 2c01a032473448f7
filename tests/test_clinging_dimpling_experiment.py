import math

import pytest
import torch

from dmmlib.chapters.clinging_dimpling import experiment as dimpling
from dmmlib.data.synthetic import chessboard_plane, line_dataset


@pytest.fixture(scope="module")
def line_run():
    """The appendix-C network on the line, 200 epochs (about a second on one thread)."""
    return dimpling.train(line_dataset(10), width=4000, lr=0.002, epochs=200, seed=0, snapshot_epochs=[0, 10, 200])


def test_train_snapshots_and_seed():
    data = chessboard_plane(2, 4)
    a = dimpling.train(data, width=64, epochs=5, seed=1)
    b = dimpling.train(data, width=64, epochs=5, seed=1)
    c = dimpling.train(data, width=64, epochs=5, seed=2)
    assert a.epochs.tolist() == list(range(6))
    assert a.weight.shape == (6, 64, 3) and a.bias.shape == (6, 64)
    assert a.loss.shape == (5,) and a.accuracy.shape == (6,)
    assert torch.equal(a.weight, b.weight) and not torch.equal(a.weight, c.weight)
    assert not torch.equal(a.weight[0], a.weight[-1])  # it trained
    m = dimpling.model_at(a, 5)
    assert float(((m(data.x) > 0).long() == data.y).float().mean()) == pytest.approx(float(a.accuracy[5]))
    with pytest.raises(ValueError, match="not snapshotted"):
        dimpling.model_at(dimpling.train(data, width=8, epochs=2, snapshot_epochs=[2]), 1)


def test_minibatch_and_adversarial_training_differ_from_clean():
    data = chessboard_plane(2, 4)
    clean = dimpling.train(data, width=64, epochs=3, seed=0, batch_size=4, snapshot_epochs=[3])
    adv = dimpling.train(data, width=64, epochs=3, seed=0, batch_size=4, adv_eps=0.1, snapshot_epochs=[3])
    assert not torch.equal(clean.weight, adv.weight)
    assert torch.isfinite(adv.loss).all()


def test_clinging_then_dimpling_on_the_line(line_run):
    data = line_dataset(10)
    curves = dimpling.measure(line_run, data, [0, 10, 200], n_grid=15)
    d = curves["manifold_distance"]
    assert d[1] < 0.5 * d[0]  # fast clinging: most of the distance gone by epoch 10
    assert curves["accuracy"][1] < 0.8  # ... before the labels are fitted
    assert curves["accuracy"][2] >= 0.9 and curves["dimple_depth"][2] > 0  # dimples fit the labels later
    assert curves["converged"].min() > 0.9
    assert all(v.shape == (3,) and torch.isfinite(v).all() for v in curves.values())


def test_dimple_depth_on_a_known_boundary():
    data = line_dataset(4)
    model = lambda x: x[:, 1] - 0.4  # noqa: E731  boundary at x2 = 0.4, every point predicted 1
    depth = dimpling.dimple_depth(model, data)
    assert torch.allclose(depth, torch.tensor([-0.1, 0.1, -0.1, 0.1]), atol=1e-4)
    far = dimpling.dimple_depth(lambda x: x[:, 1] + 3.0, data)  # no crossing inside the square: capped
    assert torch.allclose(far.abs(), torch.full((4,), 0.5))


def test_gradient_normal_angle_and_random_baseline():
    x = torch.rand(5, 2)
    v = torch.tensor([1.0, 1.0])
    ang = dimpling.gradient_normal_angle(lambda z: z @ v, x, torch.tensor([0.0, 1.0]))
    assert torch.allclose(ang, torch.full((5,), 45.0), atol=1e-3)
    ang0 = dimpling.gradient_normal_angle(lambda z: -z[:, 2], torch.rand(3, 3), torch.tensor([0.0, 0.0, 1.0]))
    assert torch.allclose(ang0, torch.zeros(3), atol=1e-2)
    assert dimpling.random_angle(2) == pytest.approx(45.0, abs=0.05)
    assert dimpling.random_angle(3) == pytest.approx(180 / math.pi, abs=0.05)


def test_phase_epochs_and_log_epochs():
    epochs = torch.tensor([0, 1, 2, 5, 10, 50, 100])
    dist = torch.tensor([1.0, 0.8, 0.3, 0.12, 0.1, 0.1, 0.11])
    assert dimpling.clinging_end_epoch(epochs, dist, 0.9) == 5
    depth = torch.tensor([0.0, 0.0, -0.01, 0.01, 0.02, 0.075, 0.08])
    assert dimpling.dimpling_end_epoch(epochs, depth, start_epoch=5) == 50
    assert dimpling.dimpling_end_epoch(epochs, -depth.abs()) == 100  # no dimples: last epoch
    le = dimpling.log_epochs(200, 10)
    assert le[0] == 0 and le[-1] == 200 and le == sorted(set(le)) and 1 in le
    with pytest.raises(ValueError, match="fraction"):
        dimpling.clinging_end_epoch(epochs, dist, 0.0)
