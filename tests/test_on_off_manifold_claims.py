"""The claims of the on/off-manifold chapter on constructed results: every criterion says
supports, contradicts and inconclusive where it must, a passing control makes a claim
inconclusive, and the conclusion text follows the verdicts."""
import pytest

from dmmlib.chapters.on_off_manifold import claims as cl
from dmmlib.claims import VERDICTS, Estimate

P = {"profile": "smoke"}


def E(value, half=0.01):
    return Estimate(value, value - half, value + half, 100, "images, 3 models")


def results(R=9.0, E_at_x=0.03, E_xr=0.03, E_random=0.5, on=4.0, on_random=1.5, off=1.02, vs_R=1.5, vs_on=1.5,
            factor=1.0, offshare=0.05, boxfree=4.0, min_norm=None):
    r = {"units": 3, "images": 300, "sqrt_nk": 7.0, "expected_R": 7.34,
         "R": {"tangent": E(R), "random": E(7.3)}, "E": {"tangent": E(E_at_x), "random": E(E_random)},
         "E_xr": E(E_xr), "ratio": {"onf/1": E(on), "onf/10": E(on * factor), "on/tangent": E(on * factor),
                                   "off/tangent": E(off), "on/random": E(on_random), "boxfree/on": E(boxfree)},
         "vs": {c: {"R": E(vs_R), "on": E(vs_on)} for c in ("random", "pca", "other", "dct", "tangent_fd")},
         "factor_effect": E(factor), "factors": (1.0, 10.0), "offshare": {"on": E(offshare)}}
    if min_norm is not None:
        r["min_norm"] = {"ratio": {"on/tangent": E(min_norm), "on/random": E(1.1)}}
    return {"mnist": r}


def verdicts(res):
    return {c.id.split(".", 1)[1]: c.verdict for c in cl.claims(res, P)}


def test_supports_everywhere():
    v = verdicts(results())
    for key in ("R_mnist", "E_mnist", "E_xr_mnist", "on_far_mnist", "off_close_mnist", "step_free_mnist",
                "clamp_mnist", "boxfree_on_far_mnist", "special_R_mnist_pca", "special_on_mnist_other"):
        assert v[key] == "supports", key
    assert not any(k.endswith("tangent_fd") for k in v)  # the fd tangent space is not a control
    assert set(v.values()) <= set(VERDICTS)


def test_contradicts():
    v = verdicts(results(R=3.0, E_at_x=0.5, E_xr=0.4, on=1.2, off=1.5, vs_R=1.0, vs_on=1.02, factor=1.6,
                         offshare=0.4, boxfree=1.1))
    for key in ("R_mnist", "E_mnist", "E_xr_mnist", "on_far_mnist", "off_close_mnist", "step_free_mnist",
                "clamp_mnist", "boxfree_on_far_mnist", "special_R_mnist_pca", "special_on_mnist_dct"):
        assert v[key] == "contradicts", key


def test_inconclusive_when_the_interval_straddles():
    v = verdicts(results(R=7.34, E_at_x=0.1, on=2.0, off=1.2, vs_R=1.1, factor=1.25, offshare=0.1))
    for key in ("R_mnist", "E_mnist", "on_far_mnist", "off_close_mnist", "special_R_mnist_random", "step_free_mnist",
                "clamp_mnist"):
        assert v[key] == "inconclusive", key


def test_a_passing_control_makes_a_claim_inconclusive():
    # E small, but a random subspace holds an even smaller share: the test says nothing about M
    assert verdicts(results(E_at_x=0.03, E_random=0.02))["E_mnist"] == "inconclusive"
    # on-manifold far, but so is the random subspace
    assert verdicts(results(on=4.0, on_random=3.0))["on_far_mnist"] == "inconclusive"
    assert verdicts(results(on=4.0, on_random=1.2))["on_far_mnist"] == "supports"


def test_on_far_uses_the_minimal_norm_attack_when_it_ran():
    c = {c.id: c for c in cl.claims(results(on=4.0, min_norm=1.3), P)}["on_off_manifold.on_far_mnist"]
    assert c.verdict == "contradicts" and "minimal-norm" in c.statement and c.ours.value == pytest.approx(1.3)
    assert c.control.value == pytest.approx(1.1) and "minimal-norm" in c.control_name
    c = {c.id: c for c in cl.claims(results(on=1.0, min_norm=4.0), P)}["on_off_manifold.on_far_mnist"]
    assert c.verdict == "supports"  # the minimal-norm random control (1.1) fails the criterion
    c = {c.id: c for c in cl.claims(results(on=4.0), P)}["on_off_manifold.on_far_mnist"]
    assert "step factor 1" in c.statement


def test_conclusion_follows_the_verdicts():
    good = cl.conclusion(cl.claims(results(), P), "mnist")
    bad = cl.conclusion(cl.claims(results(vs_R=1.0, factor=2.0, on=1.1), P), "mnist")
    assert "differs from" in good and "does not depend on the step" in good
    assert "indistinguishable" in bad and "depends on the step factor" in bad and "**contradicts**" in bad
    assert good != bad


# -- robust models (issue 11, item 9) --------------------------------------------------------------


def robust_results(dist=1.8, R=0.8, R_random=1.0, on=0.8, on_random=1.0, half=0.01):
    return {"units": 2, "images": 200,
            "change": {"dist/none": E(dist, half), "R/tangent": E(R, half), "R/random": E(R_random, half),
                       "R/pca": E(1.0, half), "R/tangent_vs_pca": E(R, half), "on_ratio/tangent": E(on, half), "on_ratio/random": E(on_random, half)}}


def robust_verdicts(res):
    return {c.id.split(".", 1)[1]: c.verdict for c in cl.robust_claims(res, P)}


def test_robust_claims_support_contradict_and_inconclusive():
    assert robust_verdicts(robust_results()) == {"robust_trained_mnist": "supports", "robust_R_mnist": "supports",
                                                 "robust_R_specific_mnist": "supports", "robust_on_mnist": "supports"}
    v = robust_verdicts(robust_results(dist=1.0, R=1.1, on=0.95))
    assert v == {"robust_trained_mnist": "contradicts", "robust_R_mnist": "contradicts",
                 "robust_R_specific_mnist": "contradicts", "robust_on_mnist": "contradicts"}
    # intervals straddling the thresholds
    v = robust_verdicts(robust_results(dist=1.2, R=0.9, on=0.9, half=0.05))
    assert set(v.values()) == {"inconclusive"}


def test_robust_claims_a_passing_random_control_makes_them_inconclusive():
    v = robust_verdicts(robust_results(R_random=0.7, on_random=0.7))
    assert v["robust_R_mnist"] == "inconclusive" and v["robust_on_mnist"] == "inconclusive"
    assert v["robust_trained_mnist"] == "supports"


def test_robust_claims_absent_when_not_run_and_ids_unique_with_the_chapter():
    assert cl.robust_claims(None, P) == [] and cl.robust_claims({}, P) == []
    ids = [c.id for c in cl.claims(results(), P) + cl.robust_claims(robust_results(), P)]
    assert len(ids) == len(set(ids))
    c = {c.id: c for c in cl.robust_claims(robust_results(), P)}["on_off_manifold.robust_R_mnist"]
    assert c.section == "oom-robust" and c.control is not None and c.criterion.threshold == 0.9


# -- stress test in k (issue 11, item 8) -------------------------------------------------------------


def stress_results(R=9.0, on=3.0, on_random=1.5, half=0.01):
    return {k: {"expected_R": 7.34 if k == 16 else 10.0, "R": E(R, half), "on_ratio": E(on, half),
                "on_random_ratio": E(on_random, half)} for k in (4, 16)}


def stress_verdicts(res):
    return {c.id.split(".", 1)[1]: c.verdict for c in cl.stress_claims(res, P)}


def test_stress_claims_per_k():
    v = stress_verdicts(stress_results(R=12.0))
    assert v == {"stress_R_mnist_k4": "supports", "stress_on_far_mnist_k4": "supports",
                 "stress_R_mnist_k16": "supports", "stress_on_far_mnist_k16": "supports"}
    v = stress_verdicts(stress_results(R=9.0))  # above k = 16's E[R], below k = 4's
    assert v["stress_R_mnist_k16"] == "supports" and v["stress_R_mnist_k4"] == "contradicts"
    v = stress_verdicts(stress_results(on=1.5))
    assert v["stress_on_far_mnist_k4"] == "contradicts"
    assert stress_verdicts(stress_results(on=2.0, half=0.1))["stress_on_far_mnist_k4"] == "inconclusive"
    # a random subspace that is as far makes the on-far claim inconclusive
    assert stress_verdicts(stress_results(on_random=3.0))["stress_on_far_mnist_k16"] == "inconclusive"
    assert cl.stress_claims(None, P) == []
    ids = [c.id for c in cl.claims(results(), P) + cl.robust_claims(robust_results(), P)
           + cl.stress_claims(stress_results(), P)]
    assert len(ids) == len(set(ids))


# -- stress test in autoencoder quality (issue 11, item 8) -------------------------------------------


def quality_results(R=9.0, on=3.0, on_random=1.5, half=0.01):
    return {e: {"expected_R": 7.34, "units": 2, "images": 400, "R": E(R, half), "on_ratio": E(on, half),
                "on_random_ratio": E(on_random, half)} for e in (1, 6)}


def quality_verdicts(res):
    return {c.id.split(".", 1)[1]: c.verdict for c in cl.stress_quality_claims(res, P)}


def test_stress_quality_claims_per_epoch_count():
    v = quality_verdicts(quality_results())
    assert v == {"stress_quality_R_mnist_e1": "supports", "stress_quality_on_far_mnist_e1": "supports",
                 "stress_quality_R_mnist_e6": "supports", "stress_quality_on_far_mnist_e6": "supports"}
    v = quality_verdicts(quality_results(R=3.0, on=1.5))
    assert v["stress_quality_R_mnist_e1"] == "contradicts" and v["stress_quality_on_far_mnist_e6"] == "contradicts"
    v = quality_verdicts(quality_results(R=7.34, on=2.0, half=0.1))
    assert v["stress_quality_R_mnist_e6"] == "inconclusive" and v["stress_quality_on_far_mnist_e1"] == "inconclusive"
    # a random subspace that is as far makes the on-far claim inconclusive
    assert quality_verdicts(quality_results(on_random=3.0))["stress_quality_on_far_mnist_e6"] == "inconclusive"
    cs = cl.stress_quality_claims(quality_results(), P)
    assert all(c.section == "oom-stress-quality" for c in cs) and "2 autoencoders" in cs[0].scale
    assert cl.stress_quality_claims(None, P) == [] and cl.stress_quality_claims({}, P) == []


# -- the known manifold (FONTS) ---------------------------------------------------------------------


def known_results(contain=0.8, contain_random=0.02, R_true=20.0, R_est=9.0, E_true=0.03, E_est=0.03, E_rand=0.5,
                  on_true=4.0, on_est=4.0, on_rand=1.5, off_true=1.02, off_est=1.02, half=0.01):
    return {"units": 2, "images": 200, "k": 16, "dims": {"true": 5, "random_true": 5, "est": 16, "random_est": 16},
            "expected_contain": 16 / 784, "contain": E(contain, half), "contain_random": E(contain_random, half),
            "expected_R": {"true": 14.9, "random_true": 14.9, "est": 7.34, "random_est": 7.34},
            "R": {"true": E(R_true, half), "est": E(R_est, half)},
            "E": {"true": E(E_true, half), "est": E(E_est, half), "random_true": E(E_rand, half),
                  "random_est": E(E_rand, half)},
            "on_ratio": {"true": E(on_true, half), "est": E(on_est, half), "random_true": E(on_rand, half),
                         "random_est": E(on_rand, half)},
            "off_ratio": {"true": E(off_true, half), "est": E(off_est, half)}}


def known_verdicts(res):
    return {c.id.split(".", 1)[1]: c.verdict for c in cl.known_claims(res, P)}


def test_known_claims_support_everywhere_with_the_expected_ids():
    v = known_verdicts(known_results())
    assert set(v) == set(cl.known_names()) and len(v) == 9
    assert set(v.values()) == {"supports"}
    for c in cl.known_claims(known_results(), P):
        assert c.section == "oom-known" and c.source and "2 model units" in c.scale


def test_known_claims_contradict():
    v = known_verdicts(known_results(contain=0.3, R_true=10.0, R_est=3.0, E_true=0.3, on_est=1.5, off_true=1.5))
    for name in ("known_contains_fonts", "known_R_true_fonts", "known_R_est_fonts", "known_E_true_fonts",
                 "known_on_far_est_fonts", "known_off_close_true_fonts"):
        assert v[name] == "contradicts", name
    assert v["known_E_est_fonts"] == v["known_on_far_true_fonts"] == v["known_off_close_est_fonts"] == "supports"


def test_known_claims_inconclusive_when_straddling_or_when_the_control_passes():
    v = known_verdicts(known_results(contain=0.5, R_true=14.9, on_true=2.0, off_est=1.2, half=0.05))
    for name in ("known_contains_fonts", "known_R_true_fonts", "known_on_far_true_fonts", "known_off_close_est_fonts"):
        assert v[name] == "inconclusive", name
    # a random subspace holding as much of the true tangent, or as far on it, or with as small an E
    v = known_verdicts(known_results(contain_random=0.7, on_rand=4.0, E_rand=0.02))
    for name in ("known_contains_fonts", "known_on_far_true_fonts", "known_on_far_est_fonts", "known_E_true_fonts",
                 "known_E_est_fonts"):
        assert v[name] == "inconclusive", name
    assert cl.known_claims(None, P) == [] and cl.known_claims({}, P) == []


def test_known_agreement_follows_the_verdicts():
    same = cl.known_agreement(cl.known_claims(known_results(), P))
    assert "**supports** *the autoencoder's tangent space contains the true one*" in same
    assert "different verdict" not in same and "*on-manifold adversarial examples much further* (supports" in same
    differ = cl.known_agreement(cl.known_claims(known_results(contain=0.3, on_est=1.5), P))
    assert "**contradicts**" in differ
    assert "different verdict on *on-manifold adversarial examples much further* (supports on the true tangent " \
           "space, contradicts on the autoencoder's)" in differ
    assert cl.known_agreement([]) == "The known-manifold test did not run."


def test_every_claim_id_of_the_chapter_is_unique():
    ids = [c.id for c in cl.claims(results(), P) + cl.robust_claims(robust_results(), P)
           + cl.stress_claims(stress_results(), P) + cl.stress_quality_claims(quality_results(), P)
           + cl.known_claims(known_results(), P)]
    assert len(ids) == len(set(ids))
