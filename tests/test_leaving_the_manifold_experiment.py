"""The chapter leaving_the_manifold: projections, on-manifold search, training, intervals."""
import math

import numpy as np
import pytest
import torch

from dmmlib.chapters.leaving_the_manifold import intervals, on_manifold, projection
from dmmlib.data import fonts


@pytest.fixture(scope="module")
def dec():
    return fonts.FontsDecoder(n_fonts=3)


def test_projection_finds_images_of_the_manifold(dec):
    s = fonts.make_fonts(12, seed=7, decoder=dec)
    with_code = projection.project_fonts(dec, s.x, hint=(s.font, s.y, s.params), top_k=2, steps=20)
    assert float(with_code.distance.max()) < 1e-4
    alone = projection.project_fonts(dec, s.x, top_k=6, restarts=1, steps=120)
    # the search alone finds most on-manifold images (a few stay in a local minimum)
    assert float(alone.distance.median()) < 0.05
    assert float((alone.distance < 0.1).float().mean()) >= 0.75
    recon_d = (alone.recon - s.x).flatten(1).norm(dim=1)
    assert torch.allclose(recon_d, alone.distance, atol=1e-4)


def test_projection_of_a_perturbed_image_is_at_most_the_perturbation(dec):
    s = fonts.make_fonts(10, seed=8, decoder=dec)
    d = projection.random_like(torch.ones_like(s.x) * 0.02, generator=torch.Generator().manual_seed(0))
    norm = d.flatten(1).norm(dim=1)
    p = projection.project_fonts(dec, s.x + d, hint=(s.font, s.y, s.params), top_k=2, steps=60)
    assert bool((p.distance <= norm + 1e-4).all())
    # a random direction in 784 dimensions is nearly orthogonal to a 5-dimensional piece
    assert float((p.distance / norm).median()) > 0.9


def test_knn_manifold_contains_the_neighbours_and_not_the_query():
    g = torch.Generator().manual_seed(0)
    train = torch.rand(300, 1, 28, 28, generator=g)
    x = torch.rand(5, 1, 28, 28, generator=g)
    M = projection.knn_manifold(x, train, k=10)
    assert M.basis.shape == (5, 784, 9)
    eye = torch.bmm(M.basis.transpose(1, 2), M.basis)
    assert torch.allclose(eye, torch.eye(9).expand(5, 9, 9), atol=1e-4)
    d_nb = projection.knn_distance(train[M.neighbours[:, 3]], M)  # a neighbour lies in its hull
    assert float(d_nb.max()) < 1e-3
    assert float(projection.knn_distance(x, M).min()) > 1.0  # random images are far from it
    brute = torch.cdist(x.flatten(1), train.flatten(1)).argsort(1)[:, :10]
    assert torch.equal(M.neighbours.sort(1).values, brute.sort(1).values)


def test_angles_and_random_perturbations():
    basis = torch.linalg.qr(torch.randn(2, 50, 4, generator=torch.Generator().manual_seed(1))).Q
    inside = torch.bmm(basis, torch.randn(2, 4, 1)).squeeze(2)
    off = inside - torch.bmm(basis, torch.bmm(basis.transpose(1, 2), torch.randn(2, 50, 1))).squeeze(2)
    off = torch.randn(2, 50) - torch.bmm(basis, torch.bmm(basis.transpose(1, 2), torch.randn(2, 50, 1))).squeeze(2)
    off = off - torch.bmm(basis, torch.bmm(basis.transpose(1, 2), off.unsqueeze(2))).squeeze(2)
    assert float(projection.angle_to_subspace(inside, basis).max()) < 0.5
    assert float(projection.angle_to_subspace(off, basis).min()) > 89.5
    delta = torch.rand(7, 1, 28, 28)
    r = projection.random_like(delta, generator=torch.Generator().manual_seed(2))
    assert torch.allclose(r.flatten(1).norm(dim=1), delta.flatten(1).norm(dim=1), rtol=1e-5)
    r2 = projection.random_like(delta, generator=torch.Generator().manual_seed(2))
    assert torch.equal(r, r2)


class Constant(torch.nn.Module):
    """Predicts class 0 unless the image's ink exceeds ``ink``, then class 1."""

    def __init__(self, ink):
        super().__init__()
        self.ink = ink

    def forward(self, x):
        s = x.flatten(1).sum(1)
        return torch.stack([self.ink - s, s - self.ink], 1)


def test_attack_z_changes_the_label_within_the_box(dec):
    s = fonts.make_fonts(20, seed=9, decoder=dec)
    letter = torch.zeros(20, dtype=torch.long)  # all "A"
    ink = dec(s.font, letter, s.params).flatten(1).sum(1)
    model = Constant(float(ink.median()))  # the inkier half starts as class 1 (already wrong)
    res = on_manifold.attack_z(model, dec, s.font, letter, s.params, steps=30, step=0.2, restarts=2)
    lo, hi = fonts.param_bounds()
    assert bool(((res.params >= lo - 1e-6) & (res.params <= hi + 1e-6)).all())
    pred = model(dec(s.font, letter, res.params)).argmax(1)
    assert torch.equal(pred != letter, res.success)  # success means a label change
    # the other half gains ink (scale up) and changes label too
    assert float(res.success.float().mean()) > 0.8
    never = Constant(1e6)
    res0 = on_manifold.attack_z(never, dec, s.font, letter, s.params, steps=3, step=0.2)
    assert not bool(res0.success.any())
    assert torch.allclose(res0.params, s.params, atol=0.2 * 3 * float((hi - lo).max()))


def test_training_is_seeded_and_adversarial_training_differs(dec):
    data = fonts.make_fonts(60, seed=1, decoder=dec)
    kw = dict(epochs=1, lr=1e-3, batch_size=30, seed=3)
    a = on_manifold.train_fonts_classifier(dec, data, **kw)
    b = on_manifold.train_fonts_classifier(dec, data, **kw)
    c = on_manifold.train_fonts_classifier(dec, data, arm="on_manifold", adv_steps=2, **kw)
    d = on_manifold.train_fonts_classifier(dec, data, arm="random_aug", **kw)
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va, vb), k
    for other in (c, d):
        assert any(not torch.equal(va, vo) for va, vo in zip(a.state_dict().values(), other.state_dict().values()))
    with pytest.raises(ValueError, match="arm"):
        on_manifold.train_fonts_classifier(dec, data, arm="mixup", **kw)


def test_seeds_and_images_interval_covers_seed_spread():
    rng = np.random.default_rng(0)
    same = [rng.normal(1.0, 0.1, 200) for _ in range(4)]
    spread = [rng.normal(m, 0.1, 200) for m in (0.6, 1.0, 1.4, 1.0)]
    a = intervals.seeds_and_images(same)
    b = intervals.seeds_and_images(spread)
    assert a.lo <= a.value <= a.hi and b.lo <= b.value <= b.hi
    assert (b.hi - b.lo) > 3 * (a.hi - a.lo)
    assert a.n == 800 and "4 seeds" in a.n_of
    assert math.isclose(intervals.seeds_and_images([np.arange(5.0)], "median").value, 2.0)
    with pytest.raises(ValueError, match="nan"):
        intervals.seeds_and_images([np.array([1.0, np.nan])])
