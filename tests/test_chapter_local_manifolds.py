import math

from tests.chapter_runner import run_chapter


def test_local_manifolds_smoke():
    v = run_chapter("local_manifolds", profile="smoke")
    for key in ("mnist_mse", "mnist_l2", "cifar_mse", "cifar_l2", "acc_mnist", "acc_resnet", "cond_mnist", "cond_cifar",
                "fd32_best_mnist", "fd32_best_cifar", "fd64_best_mnist", "fd64_best_cifar", "ratio_mnist", "ratio_cifar"):
        assert isinstance(v[key], (int, float)) and math.isfinite(v[key]), key
    # reconstructions are errors of [0,1] images: positive and below the all-gray baseline
    assert 0 < v["mnist_mse"] < 0.25 and 0 < v["cifar_mse"] < 0.25
    assert 0 < v["mnist_l2"] <= math.sqrt(784) and 0 < v["cifar_l2"] <= math.sqrt(3072)
    # the pretrained ResNet-20 is good even on a small test subset; the smoke MLP beats chance
    assert v["acc_resnet"] > 80 and v["acc_mnist"] > 20
    # angles are angles; the float64 finite difference is at least as good as float32's best
    for key in ("fd32_best_mnist", "fd32_best_cifar", "fd64_best_mnist", "fd64_best_cifar"):
        assert 0 <= v[key] <= 90, key
    assert v["fd64_best_mnist"] <= v["fd32_best_mnist"] + 1e-6
    # appendix I: the exact expectation exceeds sqrt(n/k); the Monte Carlo mean is close to it
    assert v["ratio_sqrt_mnist"] == 7.0 and 7.3 < v["ratio_exact_mnist"] < 7.4
    assert abs(v["ratio_mnist"] - v["ratio_exact_mnist"]) < 0.1 * v["ratio_exact_mnist"]
    assert abs(v["ratio_cifar"] - v["ratio_exact_cifar"]) < 0.1 * v["ratio_exact_cifar"]
    assert 4.5 < v["ratio_gap_mnist"] < 5.5 and 0 < v["ratio_gap_cifar"] < 1
    assert v["cond_mnist"] >= 1 and v["cond_cifar"] >= 1
    assert 1 <= v["eff_mnist"] <= v["k_mnist"] == 16 and 1 <= v["eff_cifar"] <= v["k_cifar"] == 128
    assert "Figure" in v["fig_recon"] and "Figure" in v["fig_fd"]
