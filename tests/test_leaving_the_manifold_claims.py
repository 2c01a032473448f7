"""The verdict rules of the chapter leaving_the_manifold on constructed inputs."""
import numpy as np
import pytest

from dmmlib.chapters.leaving_the_manifold import claims as LC

P = {"profile": "test"}
N = 200


def _bools(share, rng):
    v = np.zeros(N, dtype=bool)
    v[: int(round(share * N))] = True
    return rng.permutation(v)


def make(*, adv_dist=1.5, check=5e-4, ratio_adv=0.99, ratio_rand=0.998, share_adv=0.15, share_rand=0.08,
         acc=(0.85, 0.85, 0.85), acc_gain=(0.12, 0.12, 0.12), rand_gain=(0.0, 0.0, 0.0), rob=(0.30, 0.30, 0.30), rob_gain=(0.15, 0.15, 0.15),
         rel_adv=1.3, rel_rand=1.5, rel_on=0.95, angle_adv=50.0, angle_rand=75.5, mnist_seeds=2,
         mnist_acc=0.98, pgd_success=1.0, on_success=1.0):
    rng = np.random.default_rng(0)
    fonts = []
    for a, g, r, h, q in zip(acc, acc_gain, rob, rob_gain, rand_gain):
        norm = adv_dist / ratio_adv * rng.uniform(0.9, 1.1, N)
        fonts.append({
            "pgd_success": _bools(pgd_success, rng), "delta_l2": norm, "dist_adv": ratio_adv * norm,
            "dist_rand": ratio_rand * norm,
            "on_share_adv": np.clip(share_adv * rng.uniform(0.9, 1.1, N), 0, 1),
            "on_share_rand": np.clip(share_rand * rng.uniform(0.9, 1.1, N), 0, 1),
            "clean_correct": _bools(a, rng), "on_manifold_correct": _bools(a + g, rng),
            "random_aug_correct": _bools(a + q, rng),
            "clean_on_robust": _bools(r, rng), "on_manifold_on_robust": _bools(r + h, rng),
            "on_success": _bools(on_success, rng)})
    mnist = []
    for _ in range(mnist_seeds):
        t = rng.uniform(2.5, 3.5, N)
        mnist.append({"pgd_success": _bools(pgd_success, rng), "on_success": _bools(on_success, rng), "dist_test": t,
                      "acc_sample": mnist_acc,
                      "dist_adv": rel_adv * t * rng.uniform(0.97, 1.03, N), "dist_rand": rel_rand * t,
                      "dist_on": rel_on * t * rng.uniform(0.97, 1.03, N),
                      "angle_adv": angle_adv + rng.normal(0, 2, N), "angle_rand": angle_rand + rng.normal(0, 2, N)})
    return {"fonts": fonts, "mnist": mnist, "check": {"distance": check * rng.uniform(0.5, 1.5, 100)}}


def verdicts(results):
    return {c.id.split(".")[1]: c.verdict for c in LC.claims(results, P)}


IDS = ["fonts_adversarial_off", "fonts_distance_equals_norm",
       "fonts_more_perpendicular_than_random", "fonts_on_manifold_training_generalises",
       "fonts_on_manifold_training_robust", "fonts_adversarial_beats_random_augmentation",
       "mnist_adversarial_farther", "mnist_more_orthogonal_than_random", "mnist_on_manifold_like_test"]
SEED1 = next(__import__("pathlib").Path("/work/shared/seeds").glob("001_*.txt"), None)
SEED0 = next(__import__("pathlib").Path("/work/shared/seeds").glob("000_*.txt"), None)


def test_ids_kinds_quotes_and_sections():
    C = LC.claims(make(), P)
    assert [c.id for c in C] == [f"leaving_the_manifold.{i}" for i in IDS]
    assert all(c.section.startswith("sec-leaving-") for c in C)
    assert {c.kind for c in C} == {"companion", "extension"}
    assert all(c.quote for c in C if c.kind == "companion")
    text = (SEED1.read_text() if SEED1 else "") + (SEED0.read_text() if SEED0 else "")
    if text:  # the quotes are copied exactly from the sources
        for c in C:
            assert not c.quote or c.quote in text, c.id
    # every claim rests on declared setup checks; none of them is a claim
    assert all(c.preconditions for c in C)


def test_all_supported():
    v = verdicts(make(share_adv=0.01, share_rand=0.5, angle_adv=85.0, angle_rand=40.0))
    assert v == dict.fromkeys(IDS, "supports")


def test_contradicted():
    v = verdicts(make(adv_dist=0.05, ratio_adv=0.5, share_adv=0.6, acc_gain=(-0.1, -0.1, -0.1), rand_gain=(0.1, 0.1, 0.1),
                      rob_gain=(-0.1, -0.1, -0.1), rel_adv=0.9, angle_adv=40.0, rel_on=2.0))
    assert v == dict.fromkeys(IDS, "contradicts")


def test_paired_comparisons_are_one_sided():
    """A perturbation lying MORE in the tangent space than a random one contradicts "more perpendicular"
    (it is not counted as a departure from random in either direction)."""
    C = {c.id.split(".")[1]: c for c in LC.claims(make(share_adv=0.15, share_rand=0.08), P)}
    c = C["fonts_more_perpendicular_than_random"]
    assert c.paired and c.control is not None and c.criterion.direction == "<"
    assert c.verdict == "contradicts"
    m = C["mnist_more_orthogonal_than_random"]
    assert m.paired and m.criterion.direction == ">" and m.verdict == "contradicts"  # 50 deg against 75.5 deg
    # the control is shown, not judged: a passing control does not turn a support into inconclusive
    C = {c.id.split(".")[1]: c for c in LC.claims(make(rel_adv=1.3, rel_rand=1.5), P)}
    assert C["mnist_adversarial_farther"].verdict == "supports" and C["mnist_adversarial_farther"].paired


@pytest.mark.parametrize("bad, failed", [
    ({"check": 0.5}, ("fonts_adversarial_off", "fonts_distance_equals_norm")),
    ({"acc": (0.5, 0.5, 0.5)}, ("fonts_adversarial_off", "fonts_more_perpendicular_than_random",
                                "fonts_on_manifold_training_generalises")),
    ({"pgd_success": 0.5}, ("fonts_adversarial_off", "mnist_adversarial_farther")),
    ({"mnist_acc": 0.9}, ("mnist_adversarial_farther", "mnist_more_orthogonal_than_random")),
    ({"on_success": 0.3}, ("mnist_on_manifold_like_test", "fonts_on_manifold_training_robust")),
])
def test_not_tested_when_a_setup_check_fails(bad, failed):
    C = {c.id.split(".")[1]: c for c in LC.claims(make(**bad), P)}
    for name in failed:
        assert C[name].verdict == "not tested", name
        assert "precondition failed" in C[name].reason
    if "on_success" in bad:
        assert C["mnist_adversarial_farther"].verdict != "not tested"


def test_inconclusive():
    v = verdicts(make(acc_gain=(0.15, -0.15, 0.0), rob_gain=(0.2, -0.2, 0.0), rand_gain=(0.0, 0.0, 0.0)))
    assert v["fonts_on_manifold_training_generalises"] == "inconclusive"
    assert v["fonts_adversarial_beats_random_augmentation"] == "inconclusive"
    assert v["fonts_on_manifold_training_robust"] == "inconclusive"
    # regular adversarial examples as close as on-manifold ones: the control passes the band
    assert verdicts(make(rel_adv=1.0))["mnist_on_manifold_like_test"] == "inconclusive"
    assert verdicts(make(ratio_adv=0.9))["fonts_distance_equals_norm"] == "inconclusive"


def test_failed_attacks_are_left_out():
    r = make()
    for s in r["fonts"]:
        s["pgd_success"][:50] = False
        s["dist_adv"][:50] = 0.0  # failed attacks: not adversarial examples, must not count
    C = {c.id.split(".")[1]: c for c in LC.claims(r, P)}
    assert C["fonts_adversarial_off"].ours.n == 3 * (N - 50)
    assert C["fonts_distance_equals_norm"].ours.lo > 0.9
