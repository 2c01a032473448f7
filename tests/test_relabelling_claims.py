"""The relabelling chapter's claims: each verdict on constructed inputs that must give it."""
import pytest
import torch

from dmmlib.chapters.relabelling import claims as rc
from dmmlib.claims import from_json, to_json

P = {"profile": "smoke"}


def _hits(rate, n=400, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, generator=g) < rate


def _cos(mean, n=200, seed=0, spread=0.05):
    g = torch.Generator().manual_seed(seed)
    return (mean + spread * torch.randn(n, generator=g)).clamp(-1, 1)


def image_seed(acc_rand, acc_det, ctrl, cos, ratio, seed=0, n=400, m=200, ref_ratio=0.9):
    g = torch.Generator().manual_seed(100 + seed)
    d1 = 0.5 + torch.rand(m, generator=g)
    return {
        "n_test": n, "n_train": 1000,
        "hits_rand": _hits(acc_rand, n, seed), "hits_det": _hits(acc_det, n, seed + 1),
        "hits_ctrl_rand": _hits(ctrl, n, seed + 2), "hits_ctrl_det": _hits(ctrl, n, seed + 3),
        "geometry": {"d1": d1, "d2_rand": d1 * ratio * (1 + 0.01 * torch.randn(m, generator=g)),
                     "d_ref": d1 * ref_ratio * (1 + 0.01 * torch.randn(m, generator=g)),
                     "correct_n1": torch.ones(m, dtype=torch.bool), "correct_rand": torch.ones(m, dtype=torch.bool),
                     "correct_ref": torch.ones(m, dtype=torch.bool),
                     "cos_rand": _cos(cos, m, seed), "cos_random": _cos(0.0, m, seed + 5, spread=0.02)},
    }


def synth_seed(acc, ctrl, cos, seed=0, n=160):
    return {"y": torch.zeros(n), "y_test": torch.zeros(n), "hits_flip": _hits(acc, n, seed),
            "hits_ctrl_flip": _hits(ctrl, n, seed + 1),
            "geometry": {"cos_flip": _cos(cos, n, seed), "cos_random": _cos(0.0, n, seed + 7, spread=0.1)}}


def verdicts(results):
    return {c.id.split(".")[1]: c.verdict for c in rc.claims(results, P)}


def test_image_claims_support():
    v = verdicts({"mnist": [image_seed(0.6, 0.5, 0.1, 0.5, 1.5, seed=s) for s in range(3)]})
    assert v == {"mnist_rand_beats_chance": "supports", "mnist_det_beats_chance": "supports",
                 "mnist_n2_more_robust": "supports", "mnist_gradients_align": "supports"}


def test_image_claims_contradict():
    v = verdicts({"cifar10": [image_seed(0.1, 0.05, 0.1, 0.0, 0.6, seed=s) for s in range(3)]})
    assert v == {"cifar10_rand_beats_chance": "contradicts", "cifar10_det_beats_chance": "contradicts",
                 "cifar10_n2_more_robust": "contradicts", "cifar10_gradients_align": "contradicts"}


def test_image_claims_inconclusive_when_seeds_disagree():
    # one seed far above the threshold, two at chance: the t-interval over seeds straddles it
    seeds = [image_seed(a, a, 0.1, c, r, seed=s) for s, (a, c, r) in enumerate([(0.5, 0.4, 1.8), (0.1, 0.0, 0.6), (0.12, 0.05, 0.8)])]
    v = verdicts({"mnist": seeds})
    assert v["mnist_rand_beats_chance"] == "inconclusive"
    assert v["mnist_det_beats_chance"] == "inconclusive"
    assert v["mnist_n2_more_robust"] == "inconclusive"
    assert v["mnist_gradients_align"] == "inconclusive"


def test_control_that_passes_makes_accuracy_inconclusive():
    # the clean images with the wrong labels do as well: the perturbations are not what teaches N2
    v = verdicts({"mnist": [image_seed(0.6, 0.6, 0.6, 0.5, 1.5, seed=s) for s in range(3)]})
    assert v["mnist_rand_beats_chance"] == "inconclusive"


def test_robustness_control_that_passes_makes_it_inconclusive():
    # a clean network of N2's architecture is as far from its boundary: the relabelling is not the cause
    v = verdicts({"cifar10": [image_seed(0.6, 0.5, 0.1, 0.5, 1.5, seed=s, ref_ratio=1.5) for s in range(3)]})
    assert v["cifar10_n2_more_robust"] == "inconclusive"


def test_robustness_skips_seeds_without_points_both_get_right():
    seeds = [image_seed(0.6, 0.5, 0.1, 0.5, 1.5, seed=s) for s in range(3)]
    seeds[0]["geometry"]["correct_rand"] = torch.zeros(200, dtype=torch.bool)
    e = rc.robustness_estimate(seeds, "rand")
    assert e.n == 2 and e.lo > 1
    for s in seeds:
        s["geometry"]["correct_rand"] = torch.zeros(200, dtype=torch.bool)
    assert not rc.robustness_estimate(seeds, "rand").defined


def test_cosine_interval_stays_within_minus_one_and_one():
    seeds = [synth_seed(0.6, 0.0, c, seed=s, n=10) for s, c in enumerate((0.9, -0.9))]
    e = rc.cosine_estimate(seeds, "cos_flip")
    assert -1 <= e.lo <= e.value <= e.hi <= 1


def test_synthetic_claims_all_verdicts():
    assert verdicts({"line": [synth_seed(0.95, 0.0, 0.9, seed=s) for s in range(3)]}) == {
        "line_flip_beats_chance": "supports", "line_gradients_align": "supports"}
    assert verdicts({"chessboard": [synth_seed(0.3, 0.0, 0.1, seed=s) for s in range(3)]}) == {
        "chessboard_flip_beats_chance": "contradicts", "chessboard_gradients_align": "contradicts"}
    assert verdicts({"line": [synth_seed(0.6, 0.0, 0.5, seed=s, n=10) for s in range(3)]}) == {
        "line_flip_beats_chance": "inconclusive", "line_gradients_align": "inconclusive"}


def test_claims_round_trip_and_ids():
    results = {"line": [synth_seed(0.9, 0.0, 0.9)], "mnist": [image_seed(0.6, 0.5, 0.1, 0.5, 1.5)]}
    C = rc.claims(results, P)
    back = from_json(to_json(C))
    assert [c.id for c in back] == [c.id for c in C]
    assert all(c.id.startswith("relabelling.") for c in C)
    assert {c.verdict for c in back} <= {"supports", "contradicts", "inconclusive"}


def test_robustness_ratio_recovers_the_ratio():
    s = image_seed(0.5, 0.5, 0.1, 0.5, 2.0)
    value, lo, hi, n = rc.robustness_ratio(s, "rand")
    assert n == 200
    assert lo <= value <= hi
    assert value == pytest.approx(2.0, rel=0.02)


def test_accuracy_estimate_interval_contains_the_mean():
    e = rc.accuracy_estimate([{"h": _hits(0.3, seed=s)} for s in range(3)], "h")
    assert e.lo <= e.value <= e.hi
    assert 0.25 < e.value < 0.35
    assert e.n == 3
