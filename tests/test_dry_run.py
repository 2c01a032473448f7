"""The paper profile's dry run (tools/dry_run.py): loop knobs cut, estimates, and a real run
of the cheapest chapter at the paper's sizes."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import dry_run  # noqa: E402


def test_loop_knobs_are_cut_and_sizes_kept():
    loops = dry_run.loop_knobs("boundary_tilting")
    assert set(loops) == {"seeds", "max_iters"}
    over = dry_run.dry_overrides("boundary_tilting", 2)
    assert over == {"seeds": 2, "max_iters": 2}
    from dmmlib import params

    p = params.resolve("boundary_tilting", "paper", **over)
    assert p["n_lambdas"] == params.resolve("boundary_tilting", "paper")["n_lambdas"]  # sizes stay the paper's


def test_estimate_brackets_additive_and_seed_repeated():
    low, high = dry_run.estimate(10.0, 13.0, {"seeds": 5, "epochs": 100})
    assert low == pytest.approx(10 + 3 / 2 * (4 + 99))
    assert high == pytest.approx(5 * (10 + 3 / 2 * 99))
    assert low <= high
    assert dry_run.estimate(10.0, 9.0, {"epochs": 3}) == (10.0, 10.0)  # noise never gives a negative cost
    assert dry_run.estimate(10.0, 9.0, {"seeds": 3}) == (10.0, 30.0)  # seeds repeat the whole run
    assert dry_run.estimate(7.0, 7.0, {}) == (7.0, 7.0)


@pytest.mark.slow
def test_dry_run_of_the_cheapest_chapter_at_paper_sizes(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "dry_run.py"), "--chapter", "boundary_tilting",
                           "--results", str(tmp_path), "--memory-gb", "16"], capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rows = json.loads((tmp_path / "paper_dry_run.json").read_text())["rows"]
    row = rows["boundary_tilting"]
    assert row["ok"] and 0 < row["peak_rss_gb"] < 16 and row["cpu_hours"][0] <= row["cpu_hours"][1]
    assert "boundary_tilting | ok" in (tmp_path / "paper_dry_run.md").read_text()


def test_a_dry_run_cuts_the_shared_models_loops_too(monkeypatch):
    from dmmlib import params

    full = params.resolve("shared_models", "paper")
    monkeypatch.setenv(params.DRY_RUN_ENV, "2")
    cut = params.resolve("shared_models", "paper")
    assert full["mnist_ae_epochs"] == 1000 and cut["mnist_ae_epochs"] == 2
    assert cut["mnist_ae_latent_dim"] == full["mnist_ae_latent_dim"]  # sizes stay
