"""The claims of the chapter "Two-layer ReLU networks on a linear subspace" on constructed
results: each verdict (supports, contradicts, inconclusive, not tested), the quotes, the helpers."""
from pathlib import Path

import numpy as np
import pytest

from dmmlib.chapters.two_layer_subspace import claims as cl
from dmmlib.chapters.two_layer_subspace import experiment
from dmmlib.chapters.two_layer_subspace.source import ABSTRACT, DMM_CLAIM_2

P = {"profile": "smoke", "n_base": 200, "k_base": 10, "init_base": 1.0, "init_scales": [0.1, 0.3, 1.0, 3.0],
     "weight_decays": [0.001, 0.01, 0.03], "n_values": [20, 200], "k_values": [2, 10]}
S, T = 5, 40
NAMES = ("orthogonal_gradient", "off_vs_on", "off_vs_data", "init_trend", "weight_decay_trend")


def make(off=0.1, on=0.5, grad=2.0, init_power=-1.0, wd_power=0.5, seed_spread=(1.0,) * S, **broken):
    """Results with d_off = off * s^init_power * wd^wd_power (per seed times seed_spread), d_on = on,
    ||x|| = 1, the gradient ratio grad, a random ratio sqrt((n - k) / k); ``broken`` spoils a precondition."""
    index = experiment.settings(P)
    settings = index.pop("all")
    G = len(settings)
    rng = np.random.default_rng(0)
    spread = np.asarray(seed_spread, dtype=np.float64)[None, :, None]
    d_off = np.empty((G, S, T))
    for g, (n, k, s, wd) in enumerate(settings):
        d_off[g] = off * s ** init_power * (wd / 0.01) ** wd_power if wd else off * s ** init_power
    d_off = d_off * spread * (1 + 0.01 * rng.standard_normal((G, S, T)))
    d_on = on * (1 + 0.01 * rng.standard_normal((G, S, T)))
    g_par = np.ones((G, S, T))
    r = {"settings": [list(s) for s in settings], "index": index,
         "acc_train": np.ones((G, S)), "acc_test": np.full((G, S), 0.98), "reached": np.ones((G, S), bool),
         "box_use": np.full((G, S), 0.1), "steps": np.full((G, S), 40),
         "g_par": g_par, "g_perp": grad * g_par * (1 + 0.01 * rng.standard_normal((G, S, T))),
         "r_rand": np.sqrt(190 / 10) * (1 + 0.05 * rng.standard_normal((G, S, T))),
         "x_norm": np.ones((G, S, T)), "d_off": d_off, "d_on": d_on, "d_free": np.minimum(d_off, d_on) * 0.95}
    if broken.get("unfit"):
        r["reached"][index["base"], 0] = False
    if broken.get("attack"):
        r["d_off"][:, :, : T // 5] = np.inf
    if broken.get("accuracy"):
        r["acc_test"][:] = 0.6
    return r


def verdicts(results):
    return {c.id.split(".")[1]: c.verdict for c in cl.claims(results, P)}


def test_every_claim_supported_on_the_papers_picture():
    assert verdicts(make()) == dict.fromkeys(NAMES, "supports")


def test_every_claim_contradicted_on_the_opposite_picture():
    # orthogonal gradient a hundredth of a random direction's ratio, orthogonal flips far, the trends reversed
    v = verdicts(make(off=2.0, on=0.5, grad=0.02, init_power=1.0, wd_power=-0.5))
    assert v == dict.fromkeys(NAMES, "contradicts")


def test_noisy_seeds_are_inconclusive():
    # per seed, the orthogonal distance is far below or far above the in-subspace one; no trend
    spread = (0.2, 5.0, 0.25, 4.0, 1.0)
    v = verdicts(make(off=0.5, on=0.5, init_power=0.0, wd_power=0.0, seed_spread=spread))
    assert v["off_vs_on"] == "inconclusive"
    assert v["init_trend"] == "inconclusive" and v["weight_decay_trend"] == "inconclusive"
    v = verdicts(make(off=0.25, seed_spread=spread))
    assert v["off_vs_data"] == "inconclusive"
    v = verdicts(make(grad=0.1 * np.sqrt(19)))  # exactly the threshold: the interval straddles it
    assert v["orthogonal_gradient"] == "inconclusive"


@pytest.mark.parametrize("broken", ["unfit", "attack", "accuracy"])
def test_failed_preconditions_make_claims_not_tested(broken):
    C = {c.id.split(".")[1]: c for c in cl.claims(make(**{broken: True}), P)}
    for name in ("off_vs_on", "off_vs_data", "init_trend"):
        assert C[name].verdict == "not tested", (name, broken)
        assert "precondition failed" in C[name].reason
    if broken != "attack":  # the gradient does not read the attacks
        assert C["orthogonal_gradient"].verdict == "not tested"
    else:
        assert C["orthogonal_gradient"].verdict == "supports"


def test_box_use_is_a_precondition():
    r = make()
    r["box_use"][:] = 1.2
    assert verdicts(r)["off_vs_on"] == "not tested"


def test_quotes_are_verbatim_in_the_abstract():
    for c in cl.claims(make(), P):
        assert c.kind == "companion" and c.quote and c.quote in ABSTRACT, c.id


def test_dmm_quote_is_verbatim_in_the_seed():
    seeds = sorted(Path("/work/shared/seeds").glob("000_*.txt"))
    if not seeds:
        pytest.skip("the DMM seed text is not present")
    text = " ".join(seeds[0].read_text().split())
    assert DMM_CLAIM_2 in text


def test_helpers():
    assert cl.net_median(np.array([[1.0, np.nan, 3.0, np.inf]])).tolist() == [3.0]  # inf counts as large
    assert np.isnan(cl.net_median(np.array([[np.nan, np.nan]])))[0]
    assert cl.success(np.array([1.0, np.inf, np.nan, 2.0])) == pytest.approx(2 / 3)
    x = np.log([0.1, 1.0, 10.0])
    y = np.stack([2 * x + 1, -x, x * 0 + np.nan], 1)
    s = cl.slopes(x, y)
    assert s[:2] == pytest.approx([2.0, -1.0]) and np.isnan(s[2])
    with pytest.raises(ValueError):
        cl.slopes([1.0], np.ones((1, 2)))
    assert cl.accuracy_cost([0.1, 1.0, 3.0], [0.9, 0.95, 0.97], "<") == pytest.approx(7.0)
    assert cl.accuracy_cost([0.001, 0.03], [0.99, 0.9], ">") == pytest.approx(9.0)


def test_an_untrained_run_is_not_tested_and_does_not_crash():
    # what a dry run's cut training gives: nothing fits, no attack finds a perturbation
    r = make()
    for key in ("d_off", "d_on", "d_free"):
        r[key][:] = np.inf
    r["reached"][:] = False
    r["acc_test"][:] = 0.5
    assert set(verdicts(r).values()) == {"not tested"}
