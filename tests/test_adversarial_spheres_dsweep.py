"""The sweep over the input dimension d (where adversarially findable errors appear)."""
import numpy as np
import pytest

from dmmlib.chapters.adversarial_spheres import dimension_sweep as DS

TINY = dict(seeds=2, hidden=8, depth=2, steps=30, lr=1e-2, batch_size=20, R=1.3, n_eval=400, n_points=6,
            attack_steps=8, step_size=0.05)


@pytest.fixture()
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DMM_CACHE", str(tmp_path))
    return tmp_path


def test_error_free_dimension():
    dims = [5, 10, 20, 40]
    assert DS.error_free_dimension(dims, [[0, 0], [0, 0], [0, 0.1], [0.5, 1]]) == 10
    assert DS.error_free_dimension(dims, np.zeros((4, 3))) == 40                       # never: the largest d
    assert np.isnan(DS.error_free_dimension(dims, [[0.01, 0], [0, 0], [0, 0], [1, 1]]))  # not even the smallest
    # the scan stops at the first d with an error, even if a larger d has none
    assert DS.error_free_dimension(dims, [[0, 0], [0.2, 0], [0, 0], [0, 0]]) == 5


@pytest.mark.parametrize("dims, seeds, points", [([], 1, 1), ([1, 4], 1, 1), ([8, 4], 1, 1), ([4, 4], 1, 1),
                                                 ([4, 8], 0, 1), ([4, 8], 1, 0)])
def test_bad_input_is_refused(dims, seeds, points):
    with pytest.raises(ValueError):
        DS.dimension_sweep(dims, **{**TINY, "seeds": seeds, "n_points": points})


def test_sweep_shapes_and_counts(fresh_cache):
    out = DS.dimension_sweep([3, 6], **TINY)
    assert out["found"].shape == (2, 2, 12) and set(np.unique(out["found"])) <= {0.0, 1.0}
    assert out["found_share"] == pytest.approx(out["found"].mean(2))
    assert (out["n"] == 2 * TINY["n_eval"]).all()
    assert out["rate"] == pytest.approx(out["errors"].sum(1) / out["n"].sum(1))
    assert (out["lo"] <= out["rate"]).all() and (out["rate"] <= out["hi"]).all() and (out["hi"] > 0).all()
    assert np.isfinite(out["final_loss"]).all()


def test_a_seed_fixes_the_result(fresh_cache, tmp_path, monkeypatch):
    a = DS.sweep_unit(d=4, seed=1, **{k: v for k, v in TINY.items() if k != "seeds"})
    monkeypatch.setenv("DMM_CACHE", str(tmp_path / "other"))  # computed again, not read back
    b = DS.sweep_unit(d=4, seed=1, **{k: v for k, v in TINY.items() if k != "seeds"})
    assert a["errors"] == b["errors"] and np.array_equal(a["found"], b["found"])
    assert a["final_loss"] == pytest.approx(b["final_loss"])


def test_an_untrained_network_has_findable_errors(fresh_cache):
    # 1 step: the boundary is anywhere, so the worst-case attack finds errors from most points
    out = DS.dimension_sweep([8], **{**TINY, "steps": 1, "attack_steps": 60})
    assert out["found_share"].mean() > 0.3
