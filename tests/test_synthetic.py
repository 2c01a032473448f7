import pytest
import torch

from dmmlib.data.synthetic import chessboard_plane, line_dataset, make_dataset, manifold_grid


def test_line_shapes_labels_and_manifold():
    d = line_dataset(10)
    assert d.x.shape == (10, 2) and d.y.shape == (10,)
    assert d.y.tolist() == [0, 1] * 5
    assert torch.allclose(d.x[:, 1], torch.full((10,), 0.5))
    assert d.x[:, 0].min() >= 0 and d.x[:, 0].max() <= 1
    # every point satisfies (x - origin) . normal == 0, and the normal is a unit vector
    assert torch.allclose((d.x - d.origin) @ d.normal, torch.zeros(10), atol=1e-6)
    assert torch.isclose(d.normal.norm(), torch.tensor(1.0))


def test_diagonal_line_is_on_y_equals_x():
    d = line_dataset(7, orientation="diagonal")
    assert torch.allclose(d.x[:, 0], d.x[:, 1], atol=1e-6)
    assert torch.allclose((d.x - d.origin) @ d.normal, torch.zeros(7), atol=1e-6)
    assert abs(float(d.normal @ d.tangent[0])) < 1e-6


def test_chessboard_shapes_pattern_and_seed():
    d = chessboard_plane(4, 5, seed=3)
    assert d.x.shape == (80, 3) and d.y.shape == (80,)
    assert torch.all(d.x[:, 2] == 0.5)
    assert d.x[:, :2].min() >= 0.1 - 1e-6 and d.x[:, :2].max() <= 0.9 + 1e-6
    # chessboard: the label is the parity of the cell
    cell = ((d.x[:, :2] - 0.1) / 0.2).floor().clamp(0, 3).long()
    assert torch.equal(d.y, (cell[:, 0] + cell[:, 1]) % 2)
    assert d.y.float().mean() == 0.5
    assert torch.equal(chessboard_plane(4, 5, seed=3).x, d.x)
    assert not torch.equal(chessboard_plane(4, 5, seed=4).x, d.x)


def test_manifold_grid_covers_data_region():
    d = chessboard_plane(4, 2)
    g = manifold_grid(d, 5)
    assert g.shape == (25, 3)
    assert torch.all(g[:, 2] == 0.5)
    assert float(g[:, 0].min()) == pytest.approx(0.1) and float(g[:, 0].max()) == pytest.approx(0.9)
    gl = manifold_grid(line_dataset(10), 4)
    assert gl.shape == (4, 2) and torch.all(gl[:, 1] == 0.5)


def test_make_dataset_and_validation():
    assert make_dataset("line", 6).x.shape == (6, 2)
    assert make_dataset("chessboard", 32).x.shape == (32, 3)
    with pytest.raises(ValueError, match="dataset"):
        make_dataset("spiral", 10)
    with pytest.raises(ValueError, match="n_points"):
        line_dataset(1)
    with pytest.raises(ValueError, match="orientation"):
        line_dataset(4, orientation="vertical")
