"""dmmlib.parallel.map: a plain loop here (no Ray attached), the same results as the loop it
replaces, inputs checked at the boundary. Its run as Ray tasks: tests/test_ray_build.py."""
import sys

import pytest
import torch

from dmmlib import parallel


def _seeded_step(context, seed: int) -> torch.Tensor:
    """A unit that fixes its own randomness: a few SGD steps of a small linear model (3,) from ``seed``."""
    x, y = context
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(3, generator=g, requires_grad=True)
    for _ in range(5):
        loss = ((x @ w - y) ** 2).mean()
        (grad,) = torch.autograd.grad(loss, w)
        w = (w - 0.1 * grad).detach().requires_grad_()
    return w.detach()


@pytest.fixture(autouse=True)
def no_cluster(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv(parallel.ENV, raising=False)
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        pytest.skip("a Ray cluster is attached in this process (tests/test_ray_build.py)")


def test_map_is_the_loop_in_order_without_a_cluster():
    assert not parallel.ray_attached()
    assert parallel.map(lambda v: v * v, range(5)) == [0, 1, 4, 9, 16]
    assert parallel.map(lambda c, v: c + v, [3, 1, 2], context=10) == [13, 11, 12]
    assert parallel.map(abs, []) == []


def test_seeded_units_give_the_loops_results_bit_for_bit():
    g = torch.Generator().manual_seed(0)
    context = (torch.randn(20, 3, generator=g), torch.randn(20, generator=g))
    loop = [_seeded_step(context, s) for s in range(4)]
    mapped = parallel.map(_seeded_step, range(4), context=context, desc="units")
    assert all(torch.equal(a, b) for a, b in zip(loop, mapped))
    assert not torch.equal(mapped[0], mapped[1]), "different seeds must give different units"


def test_opting_in_without_an_address_stays_a_loop(monkeypatch):
    monkeypatch.setenv(parallel.ENV, "ray")
    assert not parallel.ray_attached()
    assert parallel.map(str, [1, 2]) == ["1", "2"]


def test_an_error_in_a_unit_is_raised_as_the_loop_raises_it():
    def unit(v):
        if v == 2:
            raise KeyError("unit 2")
        return v

    with pytest.raises(KeyError, match="unit 2"):
        parallel.map(unit, range(4))


@pytest.mark.parametrize("kwargs, error, message", [
    ({"fn": 3, "items": [1]}, TypeError, "fn must be callable"),
    ({"fn": abs, "items": 5}, TypeError, "items must be iterable"),
    ({"fn": abs, "items": [1], "resources": {"gpus": 1}}, ValueError, "unknown resources"),
    ({"fn": abs, "items": [1], "resources": [1]}, TypeError, "resources must be a dict"),
    ({"fn": abs, "items": [1], "retries": -1}, ValueError, "retries must be an int"),
])
def test_bad_input_is_one_clear_error(kwargs, error, message):
    fn, items = kwargs.pop("fn"), kwargs.pop("items")
    with pytest.raises(error, match=message):
        parallel.map(fn, items, **kwargs)
