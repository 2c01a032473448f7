import numpy as np
import pytest
import torch

from dmmlib.boundary import (boundary_mesh, boundary_offsets, contours_2d, evaluate, grid_2d, height_surface,
                             logit_grid_2d)


def plane_3d(x):  # boundary: z = 0.3 + 0.2 x
    return x[:, 2] - 0.3 - 0.2 * x[:, 0]


def circle_2d(x):  # boundary: circle of radius 0.3 around (0.5, 0.5)
    return (x - 0.5).norm(dim=1) - 0.3


def test_evaluate_chunks_agree():
    x = torch.rand(1000, 3)
    assert torch.allclose(evaluate(plane_3d, x, chunk=7), plane_3d(x))
    with pytest.raises(ValueError, match="shape"):
        evaluate(plane_3d, torch.rand(3))


def test_grid_orientation():
    axis, pts = grid_2d(5)
    assert pts.shape == (25, 2)
    g = logit_grid_2d(lambda x: x[:, 0], 5)
    assert torch.allclose(g[0], axis)  # row = x2 index, column = x1 value


def test_refined_grid_matches_full_grid():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
    for model in (circle_2d, lambda x: net(x)[:, 0]):
        full, refined = logit_grid_2d(model, 81), logit_grid_2d(model, 81, coarse=21)
        assert ((full > 0) == (refined > 0)).all()
        near = (full > 0) != (torch.nn.functional.max_pool2d((full > 0)[None, None].float(), 3, 1, 1)[0, 0] > 0)
        assert torch.allclose(full[near], refined[near])  # exact next to the boundary


def test_contours_2d_on_circle():
    cs = contours_2d(logit_grid_2d(circle_2d, 101))
    assert len(cs) == 1
    r = np.linalg.norm(cs[0] - 0.5, axis=1)
    assert np.allclose(r, 0.3, atol=2e-3)


def test_boundary_offsets_exact_on_plane():
    base = torch.rand(50, 3)
    base[:, 2] = 0.5
    t = boundary_offsets(plane_3d, base, torch.tensor([0.0, 0.0, 1.0]), t_min=-0.5, t_max=0.5)
    assert torch.allclose(t, 0.3 + 0.2 * base[:, 0] - 0.5, atol=1e-5)


def test_boundary_offsets_nearest_crossing_and_nan():
    f = lambda x: torch.cos(20 * x[:, 1])  # noqa: E731  crossings at y = pi/40 + k pi/20
    base = torch.tensor([[0.5, 0.5]])
    t = boundary_offsets(f, base, torch.tensor([0.0, 1.0]), t_min=-0.5, t_max=0.5, n_coarse=201)
    crossings = torch.pi / 40 + torch.arange(7) * torch.pi / 20 - 0.5
    assert abs(float(t) - float(crossings[crossings.abs().argmin()])) < 1e-5
    none = boundary_offsets(lambda x: x[:, 0] + 5, base, torch.tensor([0.0, 1.0]), t_min=-0.5, t_max=0.5)
    assert torch.isnan(none).all()


def test_height_surface_and_mesh_on_plane():
    axis, z = height_surface(plane_3d, 11)
    assert z.shape == (11, 11)
    assert torch.allclose(z, (0.3 + 0.2 * axis)[None, :].expand(11, 11), atol=1e-4)
    verts, faces = boundary_mesh(plane_3d, 20)
    assert verts.shape[1] == 3 and len(faces) > 0
    assert np.allclose(verts[:, 2], 0.3 + 0.2 * verts[:, 0], atol=1e-3)
    empty, _ = boundary_mesh(lambda x: x[:, 0] + 2, 8)
    assert len(empty) == 0
