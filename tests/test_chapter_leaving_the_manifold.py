"""Runs the chapter "Do adversarial examples leave the manifold?" in smoke and checks its glue."""
import math

from dmmlib.claims import VERDICTS, from_json
from tests.chapter_runner import run_chapter

IDS = {"fonts_adversarial_off", "fonts_distance_equals_norm",
       "fonts_more_perpendicular_than_random", "fonts_on_manifold_training_generalises",
       "fonts_on_manifold_training_robust", "fonts_adversarial_beats_random_augmentation",
       "mnist_adversarial_farther", "mnist_more_orthogonal_than_random", "mnist_on_manifold_like_test"}


def test_chapter_leaving_the_manifold_smoke():
    v = run_chapter("leaving_the_manifold", profile="smoke")
    numbers = {k: x for k, x in v.items() if isinstance(x, (int, float))}
    assert all(math.isfinite(x) for x in numbers.values()), {k: x for k, x in numbers.items() if not math.isfinite(x)}
    # percentages and shares in range
    for k in ("fonts_acc_clean", "fonts_pgd_success", "fonts_on_success", "check_below", "check_piece",
              "mnist_pgd_success", "mnist_on_success", "train_accuracy_clean", "train_accuracy_on_manifold",
              "train_on_robust_clean", "train_on_robust_on_manifold", "train_accuracy_random_aug",
              "train_on_robust_random_aug"):
        assert 0 <= v[k] <= 100, k
    assert v["fonts_acc_clean_lo"] <= v["fonts_acc_clean"] <= v["fonts_acc_clean_hi"]
    assert v["train_on_robust_clean"] <= v["train_accuracy_clean"]  # robust implies correct
    assert v["train_on_robust_on_manifold"] <= v["train_accuracy_on_manifold"]
    assert v["train_on_robust_random_aug"] <= v["train_accuracy_random_aug"]
    # PGD respects the L-inf radius; the projection with the image's code never exceeds the norm
    assert 0 < v["fonts_delta_linf"] <= v["eps"] + 1e-6
    assert 0 < v["fonts_ratio_adv"] <= 1 + 1e-4 and 0 < v["fonts_ratio_rand"] <= 1 + 1e-4
    assert v["fonts_dist_adv"] <= v["fonts_delta_l2"] * 1.5
    # random directions: the geometry of 784 dimensions
    assert abs(v["share_rand"] - v["sqrt_k_n"]) < 0.03
    assert abs(v["mnist_angle_rand"] - v["rand_angle_expected"]) < 3
    assert abs(v["off_rand"] - math.sqrt(1 - v["sqrt_k_n"] ** 2)) < 0.01
    assert abs(v["share_ratio"] - v["share_adv"] / v["share_rand"]) < 1e-6
    # the neighbours' subspace: random perturbations of the same norm move away from it
    assert v["mnist_dist_rand"] > v["mnist_dist_test"]
    assert v["mnist_rel_rand"] > 1
    assert 0 <= v["mnist_angle_on"] < v["mnist_angle_rand"]
    assert v["knn_dim"] == v["knn"] - 1
    # the claims ledger
    C = from_json(v["claims"])
    assert {c.id.split(".")[1] for c in C} == IDS
    assert all(c.chapter == "leaving_the_manifold" and c.verdict in VERDICTS for c in C)
    by = {c.id.split(".")[1]: c for c in C}
    assert "random perturbation of the same L2 norm: median distance / norm" in by["fonts_distance_equals_norm"].extra
    assert all(c.kind in ("companion", "extension") and c.preconditions for c in C)
    assert by["fonts_more_perpendicular_than_random"].paired and by["mnist_more_orthogonal_than_random"].paired
    # the projection check is a precondition with the glued value, not a claim
    pre = {p.name: p for c in C for p in c.preconditions}
    assert any(math.isclose(p.value, v["check_median"], rel_tol=1e-6) for p in pre.values())
    assert math.isclose(by["fonts_more_perpendicular_than_random"].ours.value, v["share_ratio"], rel_tol=0.05)
    for name in IDS:
        assert v[f"verdict_word_{name}"] == by[name].verdict
