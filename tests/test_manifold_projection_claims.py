"""The claims of the chapter manifold_projection on constructed records: each verdict (supports,
contradicts, inconclusive, not tested), the preconditions, and the notes' quote."""
from pathlib import Path

import numpy as np
import pytest

from dmmlib.chapters.manifold_projection import claims as MC
from dmmlib.chapters.manifold_projection import summary

P = {"profile": "test"}
N = 40


def records(*, plain=1.0, best_over_plain=2.0, on_over_best=1.0, noise=0.05, long_factor=1.0, recon_gap=1.0,
            fail_adaptive=0, n=N, units=2, seed=0):
    """Per-image records: plain distances around ``plain``; the defended ones ``best_over_plain``
    times them; the on-manifold ones ``on_over_best`` times those; the long run ``long_factor``
    times the adaptive one; adversarial reconstruction errors ``recon_gap`` above the clean ones."""
    rng = np.random.default_rng(seed)
    noisy = lambda v: v * np.exp(noise * rng.normal(size=n))  # noqa: E731
    p = noisy(np.full(n, plain))
    adaptive = noisy(best_over_plain * p)
    adaptive[:fail_adaptive] = np.inf
    long = np.where(np.isfinite(adaptive), long_factor * adaptive, np.inf)
    best = np.minimum(adaptive, long)
    clean = 2.0 + 0.3 * rng.normal(size=n)
    adv = lambda: clean + recon_gap + 0.3 * rng.normal(size=n)  # noqa: E731
    return {"records": {
        "dist/plain": p, "dist/on": noisy(on_over_best * best), "dist/adaptive": adaptive, "dist/long": long,
        "dist/best": best, "dist/transfer": np.full(n, np.inf), "dist/penalised": 1.1 * best,
        "transfer_fools": np.zeros(n, bool), "recon/clean": clean, "recon/plain": adv(), "recon/adaptive": adv(),
        "recon/penalised": np.where(np.isfinite(adaptive), adv(), np.nan), "R/plain": np.full(n, 3.0),
        "R/adaptive": np.full(n, 1.5), "unit": np.repeat(np.arange(units), n // units)},
        "accuracy": [0.98] * units, "defended_accuracy": [0.97] * units, "ae_error": [1.5] * units}


def judge(**kw):
    s = summary.summarize(records(**kw), n_boot=500)
    return {c.id.split(".")[1]: c for c in MC.claims({"mnist": s}, P)}


def test_supports():
    c = judge()
    assert c["robust_mnist"].verdict == "supports"
    assert c["on_manifold_mnist"].verdict == "supports"
    assert c["detect_mnist"].verdict == "supports"
    assert all(x.paired for x in (c["robust_mnist"], c["on_manifold_mnist"]))
    assert c["robust_mnist"].ours.value == pytest.approx(2.0, rel=0.05)


def test_contradicts():
    c = judge(best_over_plain=0.6, on_over_best=3.0, recon_gap=-1.0)
    assert c["robust_mnist"].verdict == "contradicts"  # the defence makes it easier
    assert c["on_manifold_mnist"].verdict == "contradicts"  # adaptive far below the on-manifold distance
    assert c["detect_mnist"].verdict == "contradicts"  # adversarial reconstructions are *better* than clean


def test_inconclusive():
    c = judge(best_over_plain=0.9, on_over_best=0.8, noise=0.4, recon_gap=0.0)  # means of lognormal noise: about 1 and 1.25
    assert {c[k].verdict for k in ("robust_mnist", "on_manifold_mnist", "detect_mnist")} == {"inconclusive"}


def test_not_tested_by_the_accuracy_cost():
    r = records()
    r["defended_accuracy"] = [0.6, 0.6]
    s = summary.summarize(r, n_boot=200)
    cl = MC.claims({"mnist": s}, P)
    assert all(c.verdict == "not tested" and "clean-accuracy cost" in c.reason for c in cl)


def test_not_tested_by_gradient_masking_and_failed_attacks():
    c = judge(long_factor=0.5)  # twice the passes halve the distance: the default run was masked
    assert all(x.verdict == "not tested" and "gradient-masking" in x.reason for x in c.values())
    c = judge(fail_adaptive=30)  # 30 of 40 adaptive attacks fail: censored, counted
    assert c["robust_mnist"].verdict == "not tested" and "adaptive minimal-norm attack success" in c["robust_mnist"].reason
    assert c["detect_mnist"].verdict == "not tested"


def test_not_tested_by_the_autoencoder():
    r = records()
    r["ae_error"] = [5.0, 5.0]
    cl = MC.claims({"mnist": summary.summarize(r, n_boot=200)}, P)
    assert all(c.verdict == "not tested" and "reconstruction error" in c.reason for c in cl)


def test_summary_counts_failures_and_masking():
    s = summary.summarize(records(fail_adaptive=10), n_boot=200)
    assert s["success"]["adaptive"].value == pytest.approx(30 / 40)
    assert s["success"]["transfer"].value == 0
    assert s["masking"].value == pytest.approx(1.0)
    assert s["units"] == 2 and s["images"] == N
    assert s["accuracy_cost"] == pytest.approx(0.01)


def test_kinds_and_the_notes_quote_verbatim():
    c = judge()
    assert {x.kind for x in c.values()} == {"notes"}
    seeds = Path("/work/shared/seeds")
    if not seeds.is_dir():
        pytest.skip("the source texts are not on this machine")
    notes = " ".join(next(seeds.glob("002_*.txt")).read_text().split())
    for x in c.values():
        assert x.quote and " ".join(x.quote.split()) in notes, x.id
