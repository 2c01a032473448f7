"""Runs the chapter "Boundary tilting" in the smoke profile and checks what it glued."""
import math

from tests.chapter_runner import run_chapter


def test_chapter_boundary_tilting_smoke():
    v = run_chapter("boundary_tilting", profile="smoke")
    numbers = {k: x for k, x in v.items() if isinstance(x, (int, float))}
    assert all(math.isfinite(x) for x in numbers.values()), {k: x for k, x in numbers.items() if not math.isfinite(x)}
    # toy: the tilt, not the dimension, sets the distance
    for dim in (2, 785):
        assert v[f"toy_dist_{dim}_bisect"] > 10 * v[f"toy_dist_{dim}_tilt"]
        assert v[f"toy_err_{dim}_tilt"] <= 1.0
    assert abs(v["toy_dist_2_tilt"] - v["toy_dist_785_tilt"]) < 0.01
    # MNIST sweep: nearest centroid at the largest lambda, tilted at the smallest
    assert v["theta_max_lambda"] < 0.1
    assert 20 < v["theta_min_lambda"] < 90
    assert v["theta_min_lambda"] >= v["theta_best"] >= v["theta_max_lambda"]
    assert v["dist_max_lambda"] > v["dist_min_lambda"]
    assert v["cent_half_maxdev"] < 1e-6
    assert 0 <= v["err_test_best"] <= v["err_test_max_lambda"]
    assert v["err_train_min_lambda"] < 5
    assert 0 < v["max_rel_gap"] < 0.1
    # the MLP's gradient is far from random and not the centroid direction
    assert 0 < v["mlp_angle_median"] < v["rand_angle_median"]
    assert 80 < v["rand_angle_median"] < 100
    for fig in ("fig_toy", "fig_plane", "fig_sweep", "fig_perturb", "fig_dmm"):
        assert "Figure" in v[fig]
