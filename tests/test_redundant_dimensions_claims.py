"""The verdict rules of the chapter "Is it just redundant dimensions?" on constructed inputs."""
from pathlib import Path

import numpy as np
import pytest

from dmmlib import claims as C
from dmmlib.chapters.redundant_dimensions import claims as RC

P = {"profile": "test"}
NS = np.array([16.0, 64.0, 256.0, 1024.0])
QUANT = ("free", "on", "off", "gap", "grad")


def setting(*, free=0.0, on=0.0, off=0.0, grad=0.0, seeds=5, points=40, spread=0.02, acc=0.95, fail=0.0, k=4):
    """A setting whose medians scale as n^beta with the given exponents (per-seed jitter ``spread`` on the
    exponent), every point of a (seed, n) cell at its median times a factor in [0.9, 1.1]; ``fail``: share of
    points whose attacks fail (inf)."""
    rng = np.random.default_rng(0)
    jitter = spread * np.linspace(-1, 1, seeds)[:, None, None]
    spreadp = np.linspace(0.9, 1.1, points)[None, None, :]
    nn = NS[None, :, None]

    def dist(beta, c):
        return c * nn ** (beta + jitter) * spreadp * np.ones((seeds, len(NS), points))

    d_free, d_on, d_off = dist(free, 0.1), dist(on, 0.2), dist(off, 0.15)
    n_fail = int(round(fail * points))
    for d in (d_free, d_on, d_off):
        d[:, :, :n_fail] = np.inf
    g_on = np.ones((seeds, len(NS), points)) * (1 + rng.uniform(0, 0.01, (seeds, len(NS), points)))
    g_off = g_on * nn ** (grad + jitter)
    return {"free": d_free, "on": d_on, "off": d_off, "g_on": g_on, "g_off": g_off,
            "accuracy": np.full((seeds, len(NS)), acc), "ns": NS, "k": k, "scale": np.ones(len(NS))}


def results(**kw):
    s = setting(**kw)
    return {"synthetic": {"linear": s, "curved": s}, "mnist": {**s, "accuracy": np.full_like(s["accuracy"], 0.95)}}


def verdicts(res, name="linear"):
    return {c.id.split(".")[1].split("_", 1)[1]: c.verdict for c in RC.claims(res, P)
            if c.id.split(".")[1].startswith(name + "_")}


def test_loglog_slopes_recovers_exponents():
    v = np.stack([3 * NS ** -0.5, 0.2 * NS ** 0.25])
    assert RC.loglog_slopes(NS, v) == pytest.approx([-0.5, 0.25])
    bad = np.stack([NS, np.where(NS > 100, np.inf, NS)])
    s = RC.loglog_slopes(NS, bad)
    assert s[0] == pytest.approx(1.0) and np.isnan(s[1])
    with pytest.raises(ValueError, match="ns"):
        RC.loglog_slopes([16.0], [[1.0]])


def test_supports():
    # Gilmer's -1/2 on the free distance, no change on-manifold, off shrinking, gap and gradient growing
    v = verdicts(results(free=-0.5, on=0.0, off=-0.3, grad=0.4))
    assert v == {"free": "supports", "on": "supports", "off": "supports", "gap": "supports", "grad": "supports"}


def test_contradicts():
    # nothing changes with n except the on-manifold distance, which grows steeply
    v = verdicts(results(free=0.0, on=0.6, off=0.1, grad=-0.3))
    assert v["free"] == "contradicts" and v["on"] == "contradicts" and v["off"] == "contradicts"
    assert v["grad"] == "contradicts"


def test_gap_contradicted_when_the_ratio_shrinks():
    v = verdicts(results(free=0.3, on=0.0))
    assert v["gap"] == "contradicts"


def test_inconclusive():
    # seeds that disagree widely about the exponent: every interval straddles its threshold
    v = verdicts(results(free=0.0, on=0.0, off=0.0, grad=0.0, spread=1.0))
    assert set(v.values()) == {"inconclusive"}
    # one seed: no interval
    v = verdicts(results(free=-0.5, on=0.0, off=-0.3, grad=0.4, seeds=1))
    assert set(v.values()) == {"inconclusive"}


def test_not_tested():
    v = verdicts(results(free=-0.5, off=-0.3, grad=0.4, acc=0.6))
    assert set(v.values()) == {"not tested"}
    # attacks that fail on a fifth of the points: the distance claims are not tested, the gradient one is
    v = verdicts(results(free=-0.5, off=-0.3, grad=0.4, fail=0.2))
    assert v["grad"] == "supports" and {v[q] for q in ("free", "on", "off", "gap")} == {"not tested"}
    (c,) = [c for c in RC.claims(results(fail=0.2), P) if c.id.endswith("linear_off")]
    assert "success rate" in c.reason


def test_mnist_accuracy_threshold_is_its_own():
    s = setting(free=-0.5, on=0.0, off=-0.3, grad=0.4, acc=0.88)
    res = {"synthetic": {"linear": s}, "mnist": s}
    v = {c.id.split(".")[1]: c.verdict for c in RC.claims(res, P)}
    assert v["linear_free"] == "supports" and v["mnist_free"] == "not tested"


def test_models_beside_each_claim():
    cl = {c.id.split(".")[1]: c for c in RC.claims(results(free=-0.5, off=0.0, grad=0.5), P)}
    models = cl["linear_free"].extra["models"]
    assert models["Gilmer, d = n"]["verdict"] == "supports" and models["Gilmer, d = k"]["verdict"] == "contradicts"
    assert cl["linear_off"].extra["models"]["linear (Tanay)"]["verdict"] == "supports"
    assert cl["linear_grad"].extra["models"]["random direction"]["verdict"] == "supports"
    assert len(cl["linear_free"].extra["per_seed_slope"]) == 5 and cl["linear_free"].ours.n == 5


def test_kinds_and_quotes():
    cl = RC.claims(results(), P)
    assert len(cl) == 15 and len({c.id for c in cl}) == 15
    kinds = {c.id.split("_")[-1]: c.kind for c in cl}
    assert kinds == {"free": "companion", "on": "extension", "off": "notes", "gap": "notes", "grad": "notes"}
    seeds = Path("/work/shared/seeds")
    if not seeds.is_dir():
        pytest.skip("the source texts are not on this machine")
    notes = " ".join(next(seeds.glob("002_*.txt")).read_text().split())
    gilmer = " ".join(next(seeds.glob("003_*.txt")).read_text().split())
    for c in cl:
        if c.kind == "notes":
            assert c.quote and " ".join(c.quote.split()) in notes, c.id
        if c.kind == "companion":
            assert c.quote and " ".join(c.quote.split()) in gilmer, c.id


def test_json_round_trip_and_sections():
    cl = RC.claims(results(free=-0.5), P)
    back = C.from_json(C.to_json(cl))
    assert [c.id for c in back] == [c.id for c in cl]
    assert all(c.id.startswith("redundant_dimensions.") and c.section.startswith("sec-rd-") for c in back)


def test_per_n_censors_failures_and_drops_misclassified():
    s = setting(fail=0.2)
    s["free"][0, 0, -1] = np.nan  # misclassified: left out
    med = RC.per_n(s, "free")
    assert med.shape == (5, 4) and np.isfinite(med).all()
    rates = RC.success_rates(s)
    assert rates.min() == pytest.approx(0.8, abs=0.03)
    with pytest.raises(ValueError, match="quantity"):
        RC.per_n(s, "nope")
