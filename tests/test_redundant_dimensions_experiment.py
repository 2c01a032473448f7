"""The kernels of the chapter "Is it just redundant dimensions?" on tiny inputs."""
import numpy as np
import pytest
import torch

from dmmlib.chapters.redundant_dimensions import embedding as E
from dmmlib.chapters.redundant_dimensions import experiment as X


@pytest.mark.parametrize("geometry", ["linear", "curved"])
def test_embedding_is_isometric_and_fixed_across_n(geometry):
    a = E.synthetic_manifold(geometry, 16, 2, 30, seed=3, split=1)
    b = E.synthetic_manifold(geometry, 300, 2, 30, seed=3, split=1)
    assert a.x.shape == (30, 16) and b.x.shape == (30, 300) and b.tangent.shape == (30, 300, 2)
    assert torch.equal(a.y, b.y) and torch.allclose(a.u, b.u)
    da, db = (a.x[:, None] - a.x[None]).norm(dim=-1), (b.x[:, None] - b.x[None]).norm(dim=-1)
    assert torch.allclose(da, db, atol=1e-5)  # the same geometry at every n
    assert 0 < b.x.min() and b.x.max() < 1
    eye = torch.eye(2).expand(30, 2, 2)
    assert torch.allclose(b.tangent.transpose(1, 2) @ b.tangent, eye, atol=1e-5)


def test_tangent_is_the_manifold_direction():
    # a point moved a little along the manifold stays (to first order) in the span of its tangent
    s = E.synthetic_manifold("curved", 40, 3, 5, seed=0, curvature=1.0)
    R = E.rotation(40, 3, seed=0)
    h = 1e-4
    du = torch.zeros(5, 3, dtype=torch.float64)
    du[:, 1] = h
    u = s.u.double()
    f = lambda u: 0.5 + E.SCALE * (u @ R[:, :3].T + 1.0 * torch.sin(E.OMEGA * u) @ R[:, 3:].T)  # noqa: E731
    step = (f(u + du) - f(u)).float()
    on = torch.einsum("bnk,bn->bk", s.tangent, step).norm(dim=1)
    assert torch.allclose(on, step.norm(dim=1), rtol=1e-3)
    flat = E.synthetic_manifold("linear", 40, 3, 5, seed=0)
    assert torch.allclose(flat.tangent[0].abs(), flat.tangent[1].abs(), atol=1e-6)  # one tangent space
    assert not torch.allclose(s.tangent[0].abs(), s.tangent[1].abs(), atol=1e-3)  # curved: it turns


def test_synthetic_inputs_are_validated():
    with pytest.raises(ValueError, match="geometry"):
        E.synthetic_manifold("round", 16, 2, 5)
    with pytest.raises(ValueError, match="n >= 2 k"):
        E.synthetic_manifold("linear", 6, 4, 5)
    with pytest.raises(ValueError, match="shape"):
        E.label_rule(torch.zeros(3))


@pytest.mark.parametrize("embedding,factor", [("upsample", 2), ("pad", 3), ("upsample", 1)])
def test_image_and_basis_embedding(embedding, factor):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 1, 28, 28, generator=g)
    d = torch.randn(3, 1, 28, 28, generator=g) * 0.01
    ex, exd = E.embed_images(x, embedding, factor), E.embed_images(x + d, embedding, factor)
    assert ex.shape == (3, (28 * factor) ** 2)
    scale = E.native_scale(embedding, factor)
    # the native metric: an embedded perturbation's norm divided by the scale is the 28 x 28 norm
    assert torch.allclose((exd - ex).norm(dim=1) / scale, d.reshape(3, -1).norm(dim=1), rtol=1e-4)
    basis = torch.linalg.qr(torch.randn(3, 784, 5, generator=g)).Q
    eb = E.embed_basis(basis, embedding, factor)
    assert eb.shape == (3, (28 * factor) ** 2, 5)
    assert torch.allclose(eb.transpose(1, 2) @ eb, torch.eye(5).expand(3, 5, 5), atol=1e-5)
    # the embedded basis spans the embedded directions: coordinates agree
    coords = torch.einsum("bnk,bn->bk", basis, d.reshape(3, -1))
    ecoords = torch.einsum("bnk,bn->bk", eb, exd - ex) / scale
    assert torch.allclose(coords, ecoords, atol=1e-5)
    with pytest.raises(ValueError, match="embedding"):
        E.embed_images(x, "stretch", 2)
    with pytest.raises(ValueError, match="784"):
        E.embed_basis(torch.zeros(2, 100, 3), embedding, factor)


def test_margin_gradient_of_a_linear_model():
    lin = torch.nn.Linear(6, 3)
    x = torch.rand(4, 6)
    y = torch.tensor([0, 1, 2, 0])
    g = X.margin_gradient(lin, x, y)
    z = lin(x).detach()
    other = z.clone()
    other[torch.arange(4), y] = -float("inf")
    runner = other.argmax(1)
    expect = lin.weight[y] - lin.weight[runner]
    assert torch.allclose(g, expect.detach(), atol=1e-6)
    with pytest.raises(ValueError, match="x must be"):
        X.margin_gradient(lin, x[0], y)


def test_measure_on_a_linear_classifier_is_exact():
    # two classes split by w.x + b with w half on, half off a fixed 2-d subspace: the distances are known
    n, B = 8, 6
    w = torch.zeros(n)
    w[0], w[5] = 1.0, 1.0
    lin = torch.nn.Linear(n, 2)
    with torch.no_grad():
        lin.weight.copy_(torch.stack([-w / 2, w / 2]))
        lin.bias.copy_(torch.tensor([0.5, -0.5]))
    x = torch.full((B, n), 0.5)
    x[:, 0] = torch.linspace(0.55, 0.8, B)  # margin z1 - z0 = w.x - 1 = x0 - 0.5 > 0: class 1
    y = torch.ones(B, dtype=torch.long)
    basis = torch.zeros(B, n, 2)
    basis[:, 0, 0] = 1.0
    basis[:, 1, 1] = 1.0
    out = X.measure(lin, x, y, basis, steps=200, step_size=0.5)
    f = x[:, 0] - 0.5
    free = f / w.norm()
    assert np.allclose(out["free"], free.numpy(), rtol=2e-2)
    assert np.allclose(out["on"], f.numpy(), rtol=2e-2)       # only w's on-part (1) can move the logit
    assert np.allclose(out["off"], f.numpy(), rtol=2e-2)      # only w's off-part (1)
    assert np.allclose(out["g_on"], 1.0, atol=1e-5) and np.allclose(out["g_off"], 1.0, atol=1e-5)
    assert out["correct"].all()


def test_training_is_seeded_and_learns():
    s = E.synthetic_manifold("curved", 16, 2, 300, seed=0)
    m1, h1 = X.train_mlp(s.x, s.y, width=16, classes=2, epochs=15, lr=3e-3, seed=1, centre=0.5)
    m2, _ = X.train_mlp(s.x, s.y, width=16, classes=2, epochs=15, lr=3e-3, seed=1, centre=0.5)
    assert torch.equal(m1(s.x), m2(s.x))
    assert h1["loss"][-1] < h1["loss"][0] and (m1(s.x).argmax(1) == s.y).float().mean() > 0.8
    with pytest.raises(ValueError, match=">= 1"):
        X.mlp(0, 4, 2)


def test_stack_shapes():
    u = {"free": np.ones(3), "on": np.ones(3), "off": np.ones(3), "g_on": np.ones(3), "g_off": np.ones(3),
         "accuracy": 0.9, "converged": True}
    s = X.stack([[u, u], [u, u]], [16, 64], k=2)
    assert s["free"].shape == (2, 2, 3) and s["accuracy"].shape == (2, 2) and s["k"] == 2
    assert np.array_equal(s["scale"], [1, 1])


def test_figures_survive_failed_attacks():
    # a dry run's one-step attacks fail everywhere: the figures must still draw (what is finite)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dmmlib.chapters.redundant_dimensions import claims as RC
    from dmmlib.chapters.redundant_dimensions import plots

    shape = (2, 3, 5)
    ok = {"free": np.full(shape, 0.1), "on": np.full(shape, 0.2), "off": np.full(shape, 0.15),
          "g_on": np.ones(shape), "g_off": np.full(shape, 2.0), "accuracy": np.full(shape[:2], 0.95),
          "ns": np.array([16.0, 64.0, 256.0]), "k": 2, "scale": np.ones(3)}
    failed = {**ok, "free": np.full(shape, np.inf), "on": np.full(shape, np.inf), "off": np.full(shape, np.inf)}
    fig = plots.scaling_figure({"linear": ok, "mnist": failed})
    assert len(fig.axes) == 6 and fig.axes[0].get_yscale() == "log" and fig.axes[1].get_yscale() == "linear"
    cl = RC.claims({"synthetic": {"linear": ok}, "mnist": failed}, {"profile": "test"})
    fig2 = plots.exponent_figure(cl)
    assert fig2.axes[0].get_xlabel().startswith("exponent")
    plt.close("all")
