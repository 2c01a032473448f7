"""The low-frequency DCT control subspace (dmmlib.subspaces.dct_subspace)."""
import math

import pytest
import torch

from dmmlib.subspaces import dct_subspace


def test_orthonormal_and_ordered_by_frequency():
    U = dct_subspace((3, 8, 8), 10, dtype=torch.float64)
    assert U.shape == (192, 10)
    assert torch.allclose(U.T @ U, torch.eye(10, dtype=torch.float64), atol=1e-12)
    # the first three columns are the constant image of each channel
    for c in range(3):
        img = U[:, c].view(3, 8, 8)
        assert torch.allclose(img[c], torch.full((8, 8), 1 / 8, dtype=torch.float64))
        assert img.abs().sum() == pytest.approx(8.0)


def test_contains_smooth_images_and_not_checkerboards():
    U = dct_subspace((1, 16, 16), 16, dtype=torch.float64)
    i = torch.arange(16, dtype=torch.float64)
    ramp = (i[:, None] + i[None, :]).reshape(-1)  # a smooth gradient: mostly low frequencies
    checker = ((i[:, None] + i[None, :]) % 2 * 2 - 1).reshape(-1)  # near the highest frequency
    share = lambda v: float((U.T @ v).norm() / v.norm())  # noqa: E731
    assert share(ramp) > 0.95 and share(checker) < 0.05
    assert share(torch.randn(256, dtype=torch.float64)) < 0.5


def test_bad_input():
    with pytest.raises(ValueError, match="shape"):
        dct_subspace((28, 28), 4)
    with pytest.raises(ValueError):
        dct_subspace((1, 4, 4), 17)
    assert dct_subspace((1, 4, 4), 16).shape == (16, 16)
    assert math.isclose(float(dct_subspace((1, 4, 4), 1)[0, 0]), 0.25, rel_tol=1e-6)
