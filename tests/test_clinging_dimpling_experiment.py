"""Training the appendix-C network (dmmlib.chapters.clinging_dimpling.training) and the
readings of appendix C (dmmlib.models.shallow.shallow_net)."""
import pytest
import torch

from dmmlib.chapters.clinging_dimpling import training
from dmmlib.data.synthetic import chessboard_plane, line_dataset
from dmmlib.evaluate import accuracy
from dmmlib.models.shallow import shallow_net


@pytest.fixture(scope="module")
def line_run():
    """The chapter's reading on the line, 200 epochs at the paper's learning rate (about a second)."""
    return training.train(line_dataset(10), width=4000, lr=0.02, epochs=200, seed=0, out_init="uniform",
                          input_scale=2.0, input_shift=-1.0, snapshot_epochs=[0, 200])


def test_snapshots_seed_and_accuracy():
    data = chessboard_plane(2, 4)
    a = training.train(data, width=64, epochs=5, seed=1)
    b = training.train(data, width=64, epochs=5, seed=1)
    c = training.train(data, width=64, epochs=5, seed=2)
    assert a.epochs.tolist() == list(range(6)) and a.weight.shape == (6, 64, 3) and a.bias.shape == (6, 64)
    assert a.loss.shape == (5,) and a.accuracy.shape == (6,)
    assert torch.equal(a.weight, b.weight) and not torch.equal(a.weight, c.weight)
    assert not torch.equal(a.weight[0], a.weight[-1])  # it trained
    m = training.model_at(a, 5)
    assert accuracy(m, data.x, data.y) == pytest.approx(float(a.accuracy[5]))
    with pytest.raises(ValueError, match="not snapshotted"):
        training.model_at(training.train(data, width=8, epochs=2, snapshot_epochs=[2]), 1)


def test_measure_is_called_at_the_given_epochs():
    data = line_dataset(4)
    calls = []

    def measure(model):
        calls.append(model.training)
        with torch.no_grad():
            return {"logit0": float(model(data.x[:1])[0])}

    run = training.train(data, width=16, epochs=6, measure=measure, measure_epochs=[0, 2, 6], snapshot_epochs=[])
    assert run.trace["epoch"].tolist() == [0, 2, 6] and run.trace["logit0"].shape == (3,)
    assert calls == [False, False, False]  # measured in eval mode
    assert run.weight.shape[0] == 0
    with pytest.raises(ValueError, match="measure"):
        training.train(data, width=4, epochs=2, measure_epochs=[1])


def test_readings_change_training():
    data = chessboard_plane(2, 4)
    base = training.train(data, width=64, epochs=3, seed=0, batch_size=4, snapshot_epochs=[3])
    for kw in ({"adv_eps": 0.1}, {"loss": "sum"}, {"optimizer": "adam", "lr": 0.01}, {"optimizer": "momentum"},
               {"out_init": "uniform"}, {"input_scale": 2.0, "input_shift": -1.0}):
        other = training.train(data, width=64, epochs=3, seed=0, batch_size=4, snapshot_epochs=[3], **kw)
        assert not torch.equal(base.weight, other.weight), kw
        assert torch.isfinite(other.loss).all()
    with pytest.raises(ValueError, match="optimizer"):
        training.train(data, width=4, epochs=1, optimizer="rmsprop")


def test_model_at_sees_cube_coordinates_when_inputs_are_centred():
    data = line_dataset(6)
    run = training.train(data, width=32, epochs=2, seed=0, input_scale=2.0, input_shift=-1.0)
    m = training.model_at(run, 2)
    assert accuracy(m, data.x, data.y) == pytest.approx(float(run.accuracy[2]))


def test_shallow_net_readings():
    sign = shallow_net(2, 50, seed=3)
    uni = shallow_net(2, 50, seed=3, out_init="uniform")
    small = shallow_net(2, 50, seed=3, out_scale=0.02)
    assert set(sign.out_weight.tolist()) == {-1.0, 1.0}
    assert uni.out_weight.abs().max() <= 1 and len(set(uni.out_weight.tolist())) == 50
    assert torch.equal(sign.hidden.weight, uni.hidden.weight)  # the hidden layer does not depend on the reading
    assert torch.allclose(small.out_weight, 0.02 * sign.out_weight)
    with pytest.raises(ValueError, match="out_init"):
        shallow_net(2, 5, out_init="gaussian")


def test_paper_rate_trains_the_line_in_the_chapters_reading(line_run):
    assert float(line_run.accuracy[-1]) == 1.0
    assert float(line_run.accuracy[0]) < 0.9


def test_dense_epochs():
    e = training.dense_epochs(200, 5, 20)
    assert e[:21] == list(range(21)) and e[-1] == 200 and 25 in e and 23 not in e and e == sorted(set(e))


def test_measure_reading_gives_the_main_claims_numbers():
    """A reading that trains is measured like the main runs (experiment.measure_reading)."""
    from dmmlib import params
    from dmmlib.chapters.clinging_dimpling import experiment

    P = {**params.resolve("clinging_dimpling", "smoke"), "epochs": 200, "measure_every": 20, "dense_until": 5}
    data = line_dataset(P["n_line"])
    when = training.dense_epochs(P["epochs"], P["measure_every"], P["dense_until"])
    run = training.train(data, width=4000, lr=0.02, epochs=200, seed=0, out_init="uniform", input_scale=2.0,
                         input_shift=-1.0, snapshot_epochs=when)
    assert float(run.accuracy[-1]) == 1.0
    m = experiment.measure_reading(P, run, data, when)
    assert set(m["final"]) == set(m["init"]) == set(experiment.READING_KEYS)
    assert 0 <= m["final"]["cling_inside"] <= 1 and 0 <= m["final"]["angle_train"] <= 90
    assert 0 <= m["phases"]["changepoint_fraction"] <= 1
