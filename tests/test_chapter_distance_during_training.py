"""Runs the chapter "The distance to the boundary during training" in smoke and checks what it glued."""
import math

import pytest

from dmmlib.claims import VERDICTS, from_json
from tests.chapter_runner import run_chapter

DATASETS = ("mnist", "cifar")
NAMES = ["distance_decreases", "two_phase", "alt_two_phase", "gradient_off_tangent", "perturbation_off_tangent",
         "perturbation_prefers_off"]
KINDS = {"mnist": "extension", "cifar": "paper"}


@pytest.fixture(scope="module")
def glued():
    return run_chapter("distance_during_training", profile="smoke")


def test_claims_ledger(glued):
    claims = {c.id: c for c in from_json(glued["claims"])}
    assert set(claims) == {f"distance_during_training.{ds}_{n}" for ds in DATASETS for n in NAMES}
    for cid, c in claims.items():
        assert c.verdict in VERDICTS
        name = cid.split(".", 1)[1]
        assert glued[f"verdict_word_{name}"] == c.verdict
        assert c.ours.n == glued["seeds"]
        assert c.preconditions, cid  # every claim rests on the run's accuracy
        # not tested exactly when a precondition fails
        assert (c.verdict == "not tested") == (not c.tested)
    # the ledger's numbers are the ones the page glues
    for ds in DATASETS:
        cid = f"distance_during_training.{ds}_"
        assert claims[cid + "distance_decreases"].ours.value == pytest.approx(glued[f"{ds}_main_ratio"])
        assert claims[cid + "distance_decreases"].kind == KINDS[ds]
        assert claims[cid + "two_phase"].ours.value == pytest.approx(glued[f"{ds}_main_err_ratio"])
        assert claims[cid + "alt_two_phase"].ours.value == pytest.approx(glued[f"{ds}_alt_err_ratio"])
        assert claims[cid + "perturbation_off_tangent"].ours.value == pytest.approx(glued[f"{ds}_main_R_r"])
        assert claims[cid + "gradient_off_tangent"].ours.value == pytest.approx(glued[f"{ds}_main_R_g"])
        acc = claims[cid + "two_phase"].preconditions[0]
        assert acc.value == pytest.approx(glued[f"{ds}_main_acc_end"])
        assert acc.criterion.threshold == pytest.approx(glued[f"{ds}_acc_min"])


def test_measurements_in_range(glued):
    assert glued["mnist_n_train"] == 1000 and glued["cifar_n_train"] == 256
    assert glued["mnist_k"] == 16 and glued["cifar_k"] == 128
    assert glued["mnist_sqrt_kn"] == pytest.approx(math.sqrt(16 / 784))
    assert glued["cifar_sqrt_kn"] == pytest.approx(math.sqrt(128 / 3072))
    for ds in DATASETS:
        for st in ("main", "alt"):
            p = f"{ds}_{st}_"
            assert 0 < glued[p + "d0_min"] <= glued[p + "d0"] <= glued[p + "d0_max"] < 20
            assert 0 < glued[p + "d_end"] < 20
            assert 0 <= glued[p + "acc0"] <= 1 and 0 <= glued[p + "acc_end"] <= 1
            assert 0 < glued[p + "success_min"] <= 1
            assert 0 < glued[p + "step_share"] < 1
            assert 0 <= glued[p + "cp_epoch"] <= glued[f"{ds}_epochs"]
            # a random k-subspace holds about sqrt(k/n) of any vector's norm (the control)
            for key in ("g_rand", "r_rand"):
                assert 0.5 * glued[f"{ds}_sqrt_kn"] < glued[p + key] < 1.6 * glued[f"{ds}_sqrt_kn"]
            for key in ("g_tan", "r_tan"):
                assert 0 < glued[p + key] <= 1
            for key in ("R_g", "R_r", "R_g_rand", "R_r_rand"):
                assert glued[p + key] >= 1  # ||v|| / ||P v|| is at least 1
            assert glued[p + "err_ratio"] > 0
        # iteration 0 is the same network for both optimisers (same seeds)
        assert glued[f"{ds}_main_d0"] == pytest.approx(glued[f"{ds}_alt_d0"])


def test_figures_and_timing(glued):
    for fig in ("fig_curves", "fig_epochs", "fig_tangent", "fig_hist"):
        assert "Figure" in glued[fig]
    assert 0 < glued["run_seconds"] < 600
