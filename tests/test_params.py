import pytest

from dmmlib import params


@pytest.fixture
def demo(monkeypatch):
    monkeypatch.setitem(params.PROFILES, "demo", {
        "smoke": {"seeds": 1, "lr": 0.1, "epochs": [1, 2], "dataset": "line", "adversarial": False},
        "quick": {"seeds": 3, "lr": 0.02, "epochs": [1, 10, 100], "dataset": "line", "adversarial": False},
        "paper": {"seeds": 5, "lr": 0.02, "epochs": [1, 10, 200], "dataset": "plane", "adversarial": True},
        "ranges": {"seeds": (1, 50), "lr": (1e-6, 10.0), "epochs": (0, 1000)},
    })
    return "demo"


def test_profile_values_and_overrides(demo):
    assert params.resolve(demo, "smoke")["seeds"] == 1
    p = params.resolve(demo, "quick", seeds=7, lr=1, epochs=None)
    assert (p["seeds"], p["lr"], p["epochs"], p["profile"]) == (7, 1.0, [1, 10, 100], "quick")
    assert isinstance(p["lr"], float)
    with pytest.raises(TypeError):
        p["seeds"] = 2  # read-only


@pytest.mark.parametrize("kwargs, message", [
    ({"profile": "fast"}, "unknown profile 'fast'.*smoke, quick, paper"),
    ({"sedes": 3}, "unknown parameter.*'sedes'.*allowed: profile, adversarial, dataset, epochs, lr, seeds"),
    ({"seeds": 2.5}, "'seeds'.*type int.*got 2.5"),
    ({"seeds": True}, "'seeds'.*type int"),
    ({"lr": "fast"}, "'lr'.*type float"),
    ({"epochs": [1, "x"]}, "'epochs'.*list of int"),
    ({"adversarial": 1}, "'adversarial'.*type bool"),
])
def test_bad_input_names_the_problem(demo, kwargs, message):
    profile = kwargs.pop("profile", "quick")
    with pytest.raises(params.ParameterError, match=message):
        params.resolve(demo, profile, **kwargs)


def test_unknown_chapter():
    with pytest.raises(params.ParameterError, match="unknown chapter 'nope'"):
        params.resolve("nope")


def test_from_namespace_reads_notebook_globals(demo):
    ns = {"profile": "paper", "seeds": None, "lr": 0.5, "unrelated": 3}
    p = params.from_namespace(demo, ns)
    assert (p["seeds"], p["lr"], p["dataset"]) == (5, 0.5, "plane")


def test_parse_assignment():
    assert params.parse_assignment("seeds=5") == ("seeds", 5)
    assert params.parse_assignment("epochs=[1, 2]") == ("epochs", [1, 2])
    assert params.parse_assignment("dataset=plane") == ("dataset", "plane")
    with pytest.raises(params.ParameterError, match="name=value"):
        params.parse_assignment("seeds")


def test_every_chapter_gives_every_profile_the_same_knobs_of_the_same_type():
    for chapter, table in params.PROFILES.items():
        assert set(table) == {*params.PROFILE_NAMES, "ranges"}, chapter
        for profile in params.PROFILE_NAMES:
            assert set(table[profile]) == set(table["quick"]), (chapter, profile)
            params.resolve(chapter, profile, **table[profile])  # every value type-checks and is in range


def test_every_numeric_knob_has_a_range():
    for chapter, table in params.PROFILES.items():
        numeric = {k for k, v in table["quick"].items() if list(params._numbers(v))}
        missing = numeric - set(table["ranges"])
        assert not missing, f"{chapter}: knobs without a range: {sorted(missing)}"


@pytest.mark.parametrize("kwargs, message", [
    ({"seeds": 0}, r"'seeds'.*\[1, 50\].*got 0"),
    ({"seeds": -1}, r"'seeds'.*\[1, 50\]"),
    ({"seeds": 100000}, r"'seeds'.*\[1, 50\]"),
    ({"epochs": [1, -3]}, r"'epochs'.*\[0, 1000\]"),
    ({"lr": 0}, r"'lr'.*got 0"),
])
def test_out_of_range_values_are_refused_before_work(demo, kwargs, message):
    with pytest.raises(params.ParameterError, match=message):
        params.resolve(demo, "quick", **kwargs)


def test_registry_discovers_chapter_packages():
    from pathlib import Path

    import dmmlib.chapters

    packages = {p.parent.name for p in Path(dmmlib.chapters.__file__).parent.glob("*/profiles.py")}
    assert packages and packages <= set(params.PROFILES)
    assert "shared_models" in params.PROFILES
