"""The verdict rules of the chapter leaving_the_manifold on constructed inputs."""
import numpy as np

from dmmlib.chapters.leaving_the_manifold import claims as LC

P = {"profile": "test"}
N = 200


def _bools(share, rng):
    v = np.zeros(N, dtype=bool)
    v[: int(round(share * N))] = True
    return rng.permutation(v)


def make(*, adv_dist=1.5, check=5e-4, ratio_adv=0.99, ratio_rand=0.998, share_adv=0.15, share_rand=0.08,
         acc=(0.80, 0.80, 0.80), acc_gain=(0.12, 0.12, 0.12), rand_gain=(0.0, 0.0, 0.0), rob=(0.30, 0.30, 0.30), rob_gain=(0.15, 0.15, 0.15),
         rel_adv=1.3, rel_rand=1.5, rel_on=0.95, angle_adv=50.0, angle_rand=75.5, mnist_seeds=2):
    rng = np.random.default_rng(0)
    fonts = []
    for a, g, r, h, q in zip(acc, acc_gain, rob, rob_gain, rand_gain):
        norm = adv_dist / ratio_adv * rng.uniform(0.9, 1.1, N)
        fonts.append({
            "pgd_success": np.ones(N, bool), "delta_l2": norm, "dist_adv": ratio_adv * norm,
            "dist_rand": ratio_rand * norm,
            "on_share_adv": np.clip(share_adv * rng.uniform(0.9, 1.1, N), 0, 1),
            "on_share_rand": np.clip(share_rand * rng.uniform(0.9, 1.1, N), 0, 1),
            "clean_correct": _bools(a, rng), "on_manifold_correct": _bools(a + g, rng),
            "random_aug_correct": _bools(a + q, rng),
            "clean_on_robust": _bools(r, rng), "on_manifold_on_robust": _bools(r + h, rng)})
    mnist = []
    for _ in range(mnist_seeds):
        t = rng.uniform(2.5, 3.5, N)
        mnist.append({"pgd_success": np.ones(N, bool), "on_success": np.ones(N, bool), "dist_test": t,
                      "dist_adv": rel_adv * t * rng.uniform(0.97, 1.03, N), "dist_rand": rel_rand * t,
                      "dist_on": rel_on * t * rng.uniform(0.97, 1.03, N),
                      "angle_adv": angle_adv + rng.normal(0, 2, N), "angle_rand": angle_rand + rng.normal(0, 2, N)})
    return {"fonts": fonts, "mnist": mnist, "check": {"distance": check * rng.uniform(0.5, 1.5, 100)}}


def verdicts(results):
    return {c.id.split(".")[1]: c.verdict for c in LC.claims(results, P)}


IDS = ["fonts_adversarial_off", "fonts_distance_equals_norm", "fonts_perpendicular",
       "fonts_more_perpendicular_than_random", "fonts_on_manifold_training_generalises",
       "fonts_on_manifold_training_robust", "fonts_adversarial_beats_random_augmentation",
       "mnist_adversarial_farther", "mnist_nearly_orthogonal",
       "mnist_more_orthogonal_than_random", "mnist_on_manifold_like_test"]


def test_ids_and_sections():
    C = LC.claims(make(), P)
    assert [c.id for c in C] == [f"leaving_the_manifold.{i}" for i in IDS]
    assert all(c.section.startswith("sec-leaving-") for c in C)


def test_all_supported_when_controls_fail():
    # controls made to fail: random perturbations that would land close to the manifold
    v = verdicts(make(ratio_rand=0.5, share_adv=0.01, share_rand=0.5, rel_rand=1.0, angle_adv=85.0,
                      angle_rand=40.0))
    assert v == dict.fromkeys(IDS, "supports")


def test_contradicted():
    v = verdicts(make(adv_dist=0.05, ratio_adv=0.5, share_adv=0.6, acc_gain=(-0.1, -0.1, -0.1), rand_gain=(0.1, 0.1, 0.1),
                      rob_gain=(-0.1, -0.1, -0.1), rel_adv=0.9, angle_adv=40.0, rel_on=2.0))
    assert v == dict.fromkeys(IDS, "contradicts")


def test_inconclusive_when_a_random_control_passes():
    # the realistic case: random perturbations of the same norm pass the same tests
    v = verdicts(make())
    for name in ("fonts_distance_equals_norm", "fonts_perpendicular", "mnist_adversarial_farther"):
        assert v[name] == "inconclusive", name
    assert v["fonts_adversarial_off"] == "supports"
    assert v["fonts_more_perpendicular_than_random"] == "contradicts"
    v = verdicts(make(angle_adv=70.0))
    assert v["mnist_nearly_orthogonal"] == "inconclusive"
    # the search failing on test images makes "off the manifold" undecidable
    assert verdicts(make(check=0.5))["fonts_adversarial_off"] == "inconclusive"


def test_inconclusive_when_seeds_disagree():
    v = verdicts(make(acc_gain=(0.15, -0.15, 0.0), rob_gain=(0.2, -0.2, 0.0), rand_gain=(0.0, 0.0, 0.0)))
    assert v["fonts_on_manifold_training_generalises"] == "inconclusive"
    assert v["fonts_adversarial_beats_random_augmentation"] == "inconclusive"
    assert v["fonts_on_manifold_training_robust"] == "inconclusive"
    # regular adversarial examples as close as on-manifold ones: the control passes
    assert verdicts(make(rel_adv=1.0))["mnist_on_manifold_like_test"] == "inconclusive"


def test_failed_attacks_are_left_out():
    r = make()
    for s in r["fonts"]:
        s["pgd_success"][:50] = False
        s["dist_adv"][:50] = 0.0  # failed attacks: not adversarial examples, must not count
    C = {c.id.split(".")[1]: c for c in LC.claims(r, P)}
    assert C["fonts_adversarial_off"].ours.n == 3 * (N - 50)
    assert C["fonts_distance_equals_norm"].ours.lo > 0.9
