"""The boundary-tilting picture and the distance against the tilt, on constructed classifiers."""
import math

import numpy as np
import pytest
import torch

from dmmlib.chapters.boundary_tilting import experiment as T
from dmmlib.chapters.boundary_tilting import tilt_distance as TD


def study(angles=(70.0, 40.0, 0.0), d=20, seed=0, offset=0.0):
    """An analyse_sweep-like dict: two Gaussian blobs in R^d, a boundary per angle (degrees from
    z_hat, tilted into its own random direction) through the centroids' midpoint + ``offset``."""
    g = torch.Generator().manual_seed(seed)
    shift = torch.zeros(d, dtype=torch.float64)
    shift[0] = 2.0
    x = torch.cat([torch.randn(100, d, generator=g, dtype=torch.float64) - shift,
                   torch.randn(100, d, generator=g, dtype=torch.float64) + shift])
    y = torch.cat([-torch.ones(100), torch.ones(100)])
    z_hat = T.centroid_direction(x, y).double()
    c0, c1 = (c.double() for c in T.centroids(x, y))
    origin = 0.5 * (c0 + c1)
    dirs = T.gram_schmidt(torch.cat([z_hat[None], torch.randn(len(angles), d, generator=g, dtype=torch.float64)]))[1:]
    th = torch.deg2rad(torch.tensor(angles, dtype=torch.float64))
    w = torch.cos(th)[:, None] * z_hat + torch.sin(th)[:, None] * dirs
    b = -(w @ origin) + offset
    n_hat = T.tilting_normal(w, z_hat)
    example = x[:1]
    return {"lambdas": torch.logspace(-3, 1, len(angles), dtype=torch.float64), "theta": T.tilting_angle(w, z_hat),
            "z_hat": z_hat, "n_hat": n_hat, "origin": origin, "c0": c0, "c1": c1, "example": example,
            "line": T.boundary_line(w, b, z_hat, n_hat, origin), "w": w, "b": b,
            "plane_xy": T.plane_coordinates(x, z_hat, n_hat, origin), "plane_y": y,
            "median_dist_test": T.signed_distance(x, w, b).abs().median(dim=1).values}, x


def test_foot_of_perpendicular():
    line = torch.tensor([[1.0, 0.0, -1.0], [0.0, 2.0, 4.0]])   # u = 1; v = -2
    feet = TD.foot_of_perpendicular(torch.tensor([[3.0, 5.0]]), line)
    assert feet.shape == (2, 1, 2)
    assert feet[0, 0].tolist() == pytest.approx([1.0, 5.0]) and feet[1, 0].tolist() == pytest.approx([3.0, -2.0])
    with pytest.raises(ValueError, match="line"):
        TD.foot_of_perpendicular(torch.zeros(1, 2), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="points"):
        TD.foot_of_perpendicular(torch.zeros(3, 3, 2), line)


def test_picture_distances_are_the_full_space_distances():
    s, _ = study()
    pic = TD.tilting_picture(s)
    g = float((s["c1"] - s["c0"]).norm())
    assert pic["centroids"] == pytest.approx(np.array([[-g / 2, 0.0], [g / 2, 0.0]]), abs=1e-9)
    # the centroid's perpendicular is 0.5 ||c1 - c0|| cos theta for a boundary through the midpoint
    cent = np.linalg.norm(pic["centroid_feet"][:, 1] - pic["centroids"][1], axis=1)
    assert cent == pytest.approx(0.5 * g * np.cos(np.deg2rad(pic["theta"])), rel=1e-9)
    # the example's arrow in the plane is its smallest perturbation in R^d (w lies in the plane)
    arrow = np.linalg.norm(pic["example_feet"] - pic["example"], axis=1)
    assert arrow == pytest.approx(T.signed_distance(s["example"], s["w"], s["b"]).abs()[:, 0].numpy(), rel=1e-9)
    assert pic["data"].shape == (200, 2) and pic["data_y"].shape == (200,)


def test_end_distances_are_paired_by_digit():
    s, x = study()
    tilted, flat = TD.end_distances(x, s)
    full = T.signed_distance(x, s["w"], s["b"]).abs().numpy()
    assert tilted == pytest.approx(full[0]) and flat == pytest.approx(full[-1])
    assert tilted.mean() < flat.mean()  # the tilted boundary lies closer to the data
    one = {**s, "w": s["w"][:1], "b": s["b"][:1]}
    with pytest.raises(ValueError, match="two lambdas"):
        TD.end_distances(x, one)


def test_distance_against_tilt():
    studies = [study(seed=k)[0] for k in range(2)]
    dt = TD.distance_against_tilt(studies)
    assert dt["theta"].shape == dt["dist"].shape == (2, 3) and dt["formula"].shape == (2, 91)
    assert dt["formula"][:, 0] == pytest.approx(dt["gap"] / 2) and dt["formula"][:, -1] == pytest.approx(0, abs=1e-12)
    assert dt["spearman"] == pytest.approx([-1.0, -1.0])  # more tilt, less distance
    flat = [study(angles=(0.0, 0.0, 0.0))[0]]
    assert math.isnan(TD.distance_against_tilt(flat)["spearman"][0])  # no tilt varies: no correlation
    with pytest.raises(ValueError):
        TD.distance_against_tilt([])
