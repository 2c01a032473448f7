"""The paper profile's dry run (tools/dry_run.py): loop knobs cut, estimates, and a real run
of the two cheapest chapters at the paper's sizes."""
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
    assert over == {"seeds": 2, "max_iters": 40}  # 20,000 iterations: cut to 2 per mille
    from dmmlib import params

    p = params.resolve("boundary_tilting", "paper", **over)
    assert p["n_lambdas"] == params.resolve("boundary_tilting", "paper")["n_lambdas"]  # sizes stay the paper's


def test_estimate_brackets_additive_and_seed_repeated():
    low, high = dry_run.estimate(10.0, 13.0, {"seeds": (1, 2, 5), "epochs": (1, 2, 100)})
    assert low == pytest.approx(10 + 3 / 2 * (4 + 99))
    assert high == pytest.approx(5 * (10 + 3 / 2 * 99))
    assert low <= high
    assert dry_run.estimate(10.0, 9.0, {"epochs": (1, 2, 3)}) == (10.0, 10.0)  # noise never gives a negative cost
    assert dry_run.estimate(10.0, 9.0, {"seeds": (1, 2, 3)}) == (10.0, 30.0)  # seeds repeat the whole run
    assert dry_run.estimate(7.0, 7.0, {}) == (7.0, 7.0)
    # a sample count cut to 1 % and 2 %: its share pays for 1 % of the samples, not for one sample
    low, _ = dry_run.estimate(10.0, 12.0, {"eval_samples": (100, 200, 10_000)})
    assert low == pytest.approx(10 + 2 * (10_000 - 100) / 100)


def test_sample_counts_are_cut_to_a_percentage_and_scaled_work_is_recorded():
    from dmmlib import params

    assert params.dry_run_value("eval_samples", 10_000_000, 1) == 100_000
    assert params.dry_run_value("eval_samples", 10_000_000, 2) == 200_000
    assert params.dry_run_value("norm_samples", 150, 1, low=10) == 10  # never below the range
    assert params.dry_run_value("relu_steps", 1_000_000, 2) == 2000  # per mille of a long loop
    assert params.dry_run_value("epochs", 200, 2) == 2
    assert params.dry_run_value("epochs", 1, 2) == 1  # never above the full value
    assert [params.dry_run_value("checkpoints", 30, c, low=3) for c in (1, 2)] == [3, 4]  # range from 3
    loops = dry_run.scaled_loops("adversarial_spheres")
    assert loops["eval_samples"] == (100_000, 200_000, 10_000_000)
    assert loops["relu_steps"] == (1000, 2000, 1_000_000)
    fig6 = dry_run.scaled_loops("distance_during_training")
    scaled = dry_run._profile_attr("distance_during_training", "DRY_RUN_SCALED")
    assert scaled and all(fig6[k][:2] == (v, 2 * v) for k, v in scaled.items())
    # the shared models the chapter trains are extrapolated too, the others are not
    assert fig6["shared_models.cifar_ae_epochs"] == (1, 2, 400) and "shared_models.imagenet_ae_epochs" not in fig6
    # epochs over a training set the dry run cuts count in epochs of the cut size; 0 = every image
    assert fig6["cifar_epochs"] == (1, 2, round(100 * 50_000 / 512))
    relabel = dry_run.scaled_loops("relabelling")
    assert relabel["mnist_epochs"] == (1, 2, 30 * 60_000 // 1000) and relabel["seeds"] == (1, 2, 5)
    # a dict knob scales entry by entry; its other entries keep the chapter's DRY_RUN value
    n_images = [dry_run.dry_overrides("on_off_manifold", c)["n_images"] for c in (1, 2)]
    assert [n["mnist"] for n in n_images] == [10, 20] and [n["imagenet"] for n in n_images] == [1, 1]
    on_off = dry_run.scaled_loops("on_off_manifold")
    assert on_off["n_images.cifar10"] == (5, 10, 500) and "n_images.imagenet" not in on_off
    assert dry_run.fixed_overrides("on_off_manifold", on_off)["n_images"] == {"imagenet": 1}  # the rest is scaled


def cheapest_two() -> list[str]:
    """The two chapters whose recorded dry runs (benchmarks/results/paper_dry_run.json) took the least time."""
    rows = json.loads((ROOT / "benchmarks" / "results" / "paper_dry_run.json").read_text())["rows"]
    ok = sorted((r["t1_s"] + r["t2_s"], name) for name, r in rows.items() if r["ok"])
    return [name for _, name in ok[:2]]


@pytest.mark.slow
def test_dry_run_of_the_two_cheapest_chapters_at_paper_sizes(tmp_path):
    names = cheapest_two()
    assert len(names) == 2
    cmd = [sys.executable, str(ROOT / "tools" / "dry_run.py"), "--results", str(tmp_path), "--memory-gb", "16"]
    for name in names:
        cmd += ["--chapter", name]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rows = json.loads((tmp_path / "paper_dry_run.json").read_text())["rows"]
    table = (tmp_path / "paper_dry_run.md").read_text()
    for name in names:
        row = rows[name]
        assert row["ok"] and 0 < row["peak_rss_gb"] < 16 and row["cpu_hours"][0] <= row["cpu_hours"][1]
        assert f"{name} | ok" in table
        assert all(a < b <= full for a, b, full in row["loops"].values())  # every cut knob doubled, below the paper's


def test_a_dry_run_cuts_the_shared_models_loops_too(monkeypatch):
    from dmmlib import params

    full = params.resolve("shared_models", "paper")
    monkeypatch.setenv(params.DRY_RUN_ENV, "2")
    cut = params.resolve("shared_models", "paper")
    assert full["mnist_ae_epochs"] == 1000 and cut["mnist_ae_epochs"] == 2
    assert cut["mnist_ae_latent_dim"] == full["mnist_ae_latent_dim"]  # sizes stay


def _row(peak_gb, gpu_hours, loops=None, ok=True):
    loops = loops or {"seeds": [1, 2, 3], "relu_steps": [1, 2, 1_000_000]}
    return {"ok": ok, "error": "" if ok else "MemoryError", "peak_rss_gb": peak_gb, "t1_s": 100.0, "t2_s": 110.0,
            "loops": loops, "cpu_hours": [gpu_hours[0] * 100, gpu_hours[1] * 100], "gpu_hours": list(gpu_hours)}


def test_the_page_note_says_whether_paper_fits_one_gpu(tmp_path, monkeypatch):
    rows = {"boundary_tilting": _row(2.0, (0.1, 0.5)), "adversarial_spheres": _row(7.0, (40.0, 130.0)),
            "clinging_dimpling": _row(30.0, (0.1, 0.2)), "relabelling": _row(1.0, (1, 1), ok=False)}
    (tmp_path / "paper_dry_run.json").write_text(json.dumps({"rows": rows}))
    assert "It fits one 24 GB GPU within a day." in dry_run.paper_note("boundary_tilting", tmp_path)
    assert "does not fit" in dry_run.paper_note("clinging_dimpling", tmp_path)  # memory
    assert "failed (MemoryError)" in dry_run.paper_note("relabelling", tmp_path)
    assert "not been dry-run" in dry_run.paper_note("local_manifolds", tmp_path)
    rows["boundary_tilting"]["below_noise"] = True
    (tmp_path / "paper_dry_run.json").write_text(json.dumps({"rows": rows}))
    note = dry_run.paper_note("boundary_tilting", tmp_path)
    assert "at least 0.1" in note and "no upper estimate" in note and "within a day" not in note
    variant = {"relu_steps": 1000, "tradeoff_N": [1000, 0]}
    monkeypatch.setattr(dry_run, "_profile_attr", lambda ch, name: variant if name == "PAPER_ONE_GPU" else {})
    note = dry_run.paper_note("adversarial_spheres", tmp_path)
    assert "does not fit" in note and 'PARAMS="relu_steps=1000; tradeoff_N=[1000, 0]"' in note
    from dmmlib import params

    import book

    text = note.split('PARAMS="')[1].split('"')[0]  # the command's PARAMS parse back to the variant
    assert dict(params.parse_assignment(a) for a in book.split_params(text)) == variant
    assert "estimated" not in note.split("nearest")[1]  # tradeoff_N is a size: the variant is not estimated
    low, high = dry_run.variant_estimate(rows["adversarial_spheres"], {"relu_steps": 1000})
    assert low < rows["adversarial_spheres"]["gpu_hours"][0] and low <= high
    assert dry_run.variant_estimate(rows["adversarial_spheres"], {"d": 100}) is None  # a size: not extrapolated


def test_every_one_gpu_variant_is_a_valid_paper_setting():
    from dmmlib import params

    import book

    for name in book.chapter_names():
        variant = dry_run._profile_attr(name, "PAPER_ONE_GPU")
        params.resolve(name, "paper", **variant)  # raises on an unknown knob or a value out of range


def test_each_dry_run_starts_from_an_empty_cache_of_its_own(monkeypatch, tmp_path):
    seen = []

    def fake_run(cmd, preexec_fn, capture_output, text, timeout, env):
        cache = Path(env["DMM_CACHE"])
        seen.append((cache, list(cache.iterdir()), env[dry_run.DRY_RUN_ENV]))
        (cache / "model.pt").write_text("trained")  # what the run leaves behind
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(dry_run.subprocess, "run", fake_run)
    monkeypatch.setenv("DMM_CACHE", str(tmp_path))
    for cut in (1, 2):
        assert dry_run.run_once("boundary_tilting", cut, 16, 60)["ok"]
    (first, content1, cut1), (second, content2, cut2) = seen
    assert first != second and first != tmp_path and content1 == content2 == [] and (cut1, cut2) == ("1", "2")
    assert not first.exists() and not second.exists()  # removed after the run
