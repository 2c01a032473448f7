"""The chapter "Adversarial examples on and off the image manifold" runs under smoke and glues
sane values."""
import math

import pytest

from tests.chapter_runner import run_chapter


@pytest.fixture(scope="module")
def values():
    return run_chapter("on_off_manifold", profile="smoke")


def test_table1_values(values):
    for ds, sqrt_nk in (("mnist", 7.0), ("cifar10", math.sqrt(3072 / 128))):
        assert values[f"oom_{ds}_sqrtnk"] == pytest.approx(sqrt_nk)
        for space in ("tangent", "random", "pca", "other", "tangent_fd"):
            R = values[f"oom_{ds}_{space}_R"]
            assert math.isfinite(R) and R >= 1.0
            assert values[f"oom_{ds}_{space}_Rlo"] <= R + 1e-9 <= values[f"oom_{ds}_{space}_Rhi"] + 2e-9
            assert math.isfinite(values[f"oom_{ds}_{space}_E"])
        # a random k-subspace gives about sqrt(n/k) whatever d is
        assert 0.6 * sqrt_nk < values[f"oom_{ds}_random_R"] < 1.6 * sqrt_nk
        assert 0 < values[f"oom_{ds}_t1_success"] <= 100


def test_table2_values(values):
    for ds in ("mnist", "cifar10"):
        none, on, off = (values[f"oom_{ds}_tangent_{k}"] for k in ("none", "on", "off"))
        assert 0 < none and math.isfinite(on) and 0 < off
        # the qualitative claim of table 2, visible already in smoke: on-manifold PGD goes further
        assert values[f"oom_{ds}_tangent_onpct"] > 100
        assert 0 <= values[f"oom_{ds}_tangent_onsucc"] <= 100


def test_controls_and_recon(values):
    for ds in ("mnist", "cifar10"):
        for ctl in ("random", "pca", "other", "tangent_fd"):
            p = values[f"oom_{ds}_p_{ctl}_R"]
            assert math.isnan(p) or 0 <= p <= 1
        assert values[f"oom_{ds}_ae_error"] > 0 and values[f"oom_{ds}_dnorm"] > 0
    assert values["oom_imagenet_status"].strip("'").startswith(("not run", "ran"))
    assert 0 < values["oom_acc_mnist"] <= 100 and 0 < values["oom_acc_cifar10"] <= 100
    for key in ("oom_fig_proj_mnist", "oom_fig_sep_cifar10", "oom_fig_linf_mnist", "oom_fig_ratio_cifar10"):
        assert "Figure" in str(values[key])
