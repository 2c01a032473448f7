"""The claims of the local-manifolds chapter on constructed results: each criterion says
supports, contradicts, inconclusive and not tested where it must."""
import numpy as np
import pytest

from dmmlib.chapters.local_manifolds import claims as cl
from dmmlib.chapters.local_manifolds import experiment as lm
from dmmlib.claims import Estimate

P = {"profile": "smoke"}
NAMES = ("MNIST", "CIFAR-10")


def E(v, half):
    return Estimate(v, v - half, v + half, 100, "images")


def fx(worst, half=0.005):
    return {"R": worst, "E": worst / 2, "worst": worst, "worst_lo": worst - half, "worst_hi": worst + half, "n": 30}


ROOT = {"MNIST": 7.0, "CIFAR-10": 4.899}


def results(ratio=0.95, fd=0.01, recon=2.0, acc=0.98, success=1.0, half=0.01):
    return {"ratio": {n: E(ratio * ROOT[n], half) for n in NAMES}, "sqrt_nk": ROOT,
            "expected_R": {"MNIST": 7.34, "CIFAR-10": 4.92},
            "fd_effect": {n: fx(fd) for n in NAMES}, "fd_step": {n: 0.01 for n in NAMES},
            "fd_angle": {n: 20.0 for n in NAMES},
            "recon_l2": {"MNIST": recon, "CIFAR-10": 7.0}, "recon_mse": {n: 0.01 for n in NAMES},
            "accuracy": {n: acc for n in NAMES}, "attack_success": {n: success for n in NAMES},
            "scale": {"MNIST": {"images": 10}, "CIFAR-10": {"images": 4}}}


def verdicts(res):
    return {c.id.split(".", 1)[1]: c.verdict for c in cl.claims(res, P)}


def test_ids_kinds_and_quotes():
    C = cl.claims(results(), P)
    assert {c.id.split(".", 1)[1] for c in C} == {"sqrt_nk_mnist", "sqrt_nk_cifar", "fd_effect_mnist", "fd_effect_cifar"}
    for c in C:
        assert c.kind in ("paper", "protocol")
        if c.kind == "paper":
            assert c.quote
    # the former exact_ER claim is the sqrt_nk claim's detail, not a claim of its own
    assert "exact E[R] (Beta distribution)" in {c.id: c for c in C}["local_manifolds.sqrt_nk_mnist"].extra
    # no setup check is a claim: they are the fd claims' preconditions, with the paper's numbers
    fd = {c.id: c for c in C}["local_manifolds.fd_effect_mnist"]
    assert len(fd.preconditions) == 3
    recon = fd.preconditions[0]
    assert "2.1" in recon.paper and "0.485" in recon.paper and "disagree" in recon.paper
    assert "98 %" in fd.preconditions[1].paper


def test_supports():
    v = verdicts(results(ratio=0.95, fd=0.01))
    assert v == dict.fromkeys(v, "supports")


def test_contradicts():
    v = verdicts(results(ratio=1.05, fd=0.2))
    assert v == dict.fromkeys(v, "contradicts")


def test_inconclusive():
    v = verdicts(results(ratio=1.0, fd=0.05))
    assert v["sqrt_nk_mnist"] == v["fd_effect_mnist"] == "inconclusive"


@pytest.mark.parametrize("bad", [{"recon": 3.0}, {"acc": 0.9}, {"success": 0.5}])
def test_not_tested_when_a_setup_check_fails(bad):
    C = {c.id: c for c in cl.claims(results(**bad), P)}
    c = C["local_manifolds.fd_effect_mnist"]
    assert c.verdict == "not tested" and "precondition failed" in c.reason
    assert C["local_manifolds.sqrt_nk_mnist"].verdict == "supports"  # the ratio rests on no setup check


def test_fd_effect_change():
    rng = np.random.default_rng(0)
    R = rng.uniform(2, 4, 50)
    Ev = rng.uniform(0.1, 0.3, 50)
    same = lm.fd_effect_change(R, R, Ev, Ev)
    assert same["worst"] == 0 and same["n"] == 50
    out = lm.fd_effect_change(R * 1.1, R, Ev, Ev)
    assert out["R"] == pytest.approx(0.1) and out["E"] == 0 and out["worst"] == pytest.approx(0.1)
    assert out["worst_lo"] <= 0.1 + 1e-9 <= out["worst_hi"] + 2e-9
    nan = np.full(3, np.nan)
    assert lm.fd_effect_change(nan, nan, nan, nan)["n"] == 0
    with pytest.raises(ValueError):
        lm.fd_effect_change(R, R[:3], Ev, Ev)
