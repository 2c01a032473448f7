"""The claims of the local-manifolds chapter on constructed results: each criterion says
supports, contradicts and inconclusive where it must."""
from dmmlib.chapters.local_manifolds import claims as cl
from dmmlib.claims import Estimate

P = {"profile": "smoke"}


def E(v, half):
    return Estimate(v, v - half, v + half, 100, "images")


def results(recon=2.0, fd=1.0, ratio=7.34, acc=0.98, half=0.01):
    names = ("MNIST", "CIFAR-10")
    return {"recon": {n: E(recon, half) for n in names}, "fd_best": {n: E(fd, half) for n in names},
            "ratio": {n: E(ratio, half) for n in names}, "sqrt_nk": {n: 7.0 for n in names},
            "expected_R": {n: 7.34 for n in names}, "accuracy_mnist": E(acc, 0.002),
            "scale": {"MNIST": {"images": 10}, "CIFAR-10": {"images": 4}, "accuracy": {"models": 3}}}


def verdicts(res):
    return {c.id.split(".", 1)[1]: c.verdict for c in cl.claims(res, P)}


def test_supports():
    v = verdicts(results())
    assert set(v) == {"recon_mnist", "recon_cifar", "fd_error_mnist", "fd_error_cifar", "sqrt_nk_mnist", "sqrt_nk_cifar",
                      "exact_ER_mnist", "exact_ER_cifar", "accuracy_mnist"}
    assert v["recon_mnist"] == v["fd_error_cifar"] == v["sqrt_nk_mnist"] == v["exact_ER_mnist"] == "supports"
    assert v["accuracy_mnist"] == "supports"


def test_contradicts():
    v = verdicts(results(recon=20.0, fd=15.0, ratio=6.5, acc=0.9))
    for key in ("recon_cifar", "fd_error_mnist", "sqrt_nk_cifar", "exact_ER_mnist", "accuracy_mnist"):
        assert v[key] == "contradicts", key


def test_inconclusive():
    v = verdicts(results(recon=2.52, fd=5.0, ratio=7.0, acc=0.97))
    for key in ("recon_mnist", "fd_error_mnist", "sqrt_nk_mnist", "accuracy_mnist"):
        assert v[key] == "inconclusive", key
    assert verdicts(results(ratio=7.34 * 1.01))["exact_ER_cifar"] == "inconclusive"
