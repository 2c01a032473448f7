import math

import pytest
import torch

from dmmlib.models.shallow import ShallowNet, predict


def test_architecture_and_fixed_output_layer():
    m = ShallowNet(3, 100, seed=0)
    assert [n for n, _ in m.named_parameters()] == ["hidden.weight", "hidden.bias"]
    assert set(m.out_weight.unique().tolist()) == {-1.0, 1.0}
    bound = 1 / math.sqrt(3)
    assert m.hidden.weight.abs().max() <= bound and m.hidden.bias.abs().max() <= bound
    x = torch.rand(7, 3)
    assert m(x).shape == (7,)
    expected = torch.relu(x @ m.hidden.weight.T + m.hidden.bias) @ m.out_weight
    assert torch.allclose(m(x), expected, atol=1e-5)
    assert predict(m, x).dtype == torch.int64


def test_seed_fixes_initialisation():
    a, b, c = ShallowNet(2, 50, seed=1), ShallowNet(2, 50, seed=1), ShallowNet(2, 50, seed=2)
    assert torch.equal(a.hidden.weight, b.hidden.weight) and torch.equal(a.out_weight, b.out_weight)
    assert not torch.equal(a.hidden.weight, c.hidden.weight)


def test_output_weights_not_trained():
    m = ShallowNet(2, 20, seed=0)
    before = m.out_weight.clone()
    opt = torch.optim.SGD(m.parameters(), lr=0.1, weight_decay=0.1)
    m(torch.rand(5, 2)).sum().backward()
    opt.step()
    assert torch.equal(m.out_weight, before)
    assert "out_weight" in m.state_dict()


def test_validation():
    with pytest.raises(ValueError, match="width"):
        ShallowNet(2, 0)
    with pytest.raises(ValueError, match="shape"):
        ShallowNet(2, 5)(torch.rand(4, 3))
