"""The manifold attack: stays on its sphere, finds known errors, nearest vs worst case."""

import pytest
import torch

from dmmlib.attacks.sphere import manifold_attack
from dmmlib.data.spheres import sample_sphere
from dmmlib.models.sphere_nets import perfect_quadnet
from dmmlib.chapters.adversarial_spheres.theory import cap_distance_to_point


class CapModel(torch.nn.Module):
    """Label 1 ("outer") on the cap x_1 > t of any sphere (scaled), else by radius."""

    def __init__(self, t: float):
        super().__init__()
        self.t = t

    def forward(self, x):
        return 50 * (x[:, 0] / x.norm(dim=1) - self.t)


def test_attack_stays_on_the_starting_sphere():
    x = torch.cat([sample_sphere(20, 30, 1.0), sample_sphere(20, 30, 1.3)])
    y = torch.cat([torch.zeros(20), torch.ones(20)])
    net = perfect_quadnet(30, 30, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        net.W1[0].mul_(1.4)  # one alpha > 1: an error cap on the inner sphere
    for mode in ("nearest", "worst"):
        res = manifold_attack(net, x, y, steps=50, step_size=0.02, mode=mode)
        assert torch.allclose(res.x_adv.norm(dim=1), x.norm(dim=1), atol=1e-5)


def test_nearest_error_distance_matches_the_exact_cap_distance():
    t = 0.2
    x = sample_sphere(64, 40, generator=torch.Generator().manual_seed(0))
    x = x[x[:, 0] < t]
    res = manifold_attack(CapModel(t), x, torch.zeros(len(x)), steps=400, step_size=0.005)
    assert res.found.all()
    exact = cap_distance_to_point(x, t)
    assert (res.distance >= exact - 1e-4).all()  # cannot beat the true nearest error
    assert (res.distance <= exact + 0.011).all()  # within two steps of it


def test_worst_case_goes_further_than_nearest():
    t = 0.1
    x = sample_sphere(32, 20, generator=torch.Generator().manual_seed(1))
    x = x[x[:, 0] < t]
    y = torch.zeros(len(x))
    near = manifold_attack(CapModel(t), x, y, steps=300, step_size=0.01, mode="nearest")
    worst = manifold_attack(CapModel(t), x, y, steps=300, step_size=0.01, mode="worst")
    assert near.found.all() and worst.found.all()
    assert (worst.distance > near.distance + 0.1).all()
    assert (worst.x_adv[:, 0] > 0.9).all()  # towards the pole, where the margin is largest


def test_free_attack_leaves_the_sphere_and_is_closer():
    class Radial(torch.nn.Module):
        def forward(self, x):
            return 10 * (x.norm(dim=1) - 1.15)

    x = sample_sphere(10, 20, generator=torch.Generator().manual_seed(2))
    y = torch.zeros(10)
    free = manifold_attack(Radial(), x, y, steps=100, step_size=0.005, constraint="free")
    assert free.found.all()
    assert torch.allclose(free.distance, torch.full((10,), 0.15), atol=0.006)
    on = manifold_attack(Radial(), x, y, steps=100, step_size=0.005)
    assert not on.found.any()  # a perfect radial model has no on-manifold error


def test_points_already_wrong_stop_at_step_zero_and_attack_is_deterministic():
    x = sample_sphere(16, 10, generator=torch.Generator().manual_seed(3))
    y = torch.zeros(16)
    model = CapModel(0.0)
    a = manifold_attack(model, x, y, steps=100, step_size=0.01)
    b = manifold_attack(model, x, y, steps=100, step_size=0.01)
    assert torch.equal(a.x_adv, b.x_adv)
    wrong = x[:, 0] > 0
    assert (a.steps_used[wrong] == 0).all() and (a.distance[wrong] == 0).all()


def test_validation():
    x = sample_sphere(4, 5)
    with pytest.raises(ValueError, match="training mode"):
        net = torch.nn.Sequential(torch.nn.Linear(5, 3), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 1))
        manifold_attack(net, x, torch.zeros(4), steps=1, step_size=0.1)
    with pytest.raises(ValueError, match="mode"):
        manifold_attack(CapModel(0.1), x, torch.zeros(4), steps=1, step_size=0.1, mode="far")
    with pytest.raises(ValueError, match="values in"):
        manifold_attack(CapModel(0.1), x, torch.full((4,), 2.0), steps=1, step_size=0.1)
