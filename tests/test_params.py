import pytest

from dmmlib import params


@pytest.fixture
def demo(monkeypatch):
    monkeypatch.setitem(params.PROFILES, "demo", {
        "smoke": {"seeds": 1, "lr": 0.1, "epochs": [1, 2], "dataset": "line", "adversarial": False},
        "quick": {"seeds": 3, "lr": 0.02, "epochs": [1, 10, 100], "dataset": "line", "adversarial": False},
        "paper": {"seeds": 5, "lr": 0.02, "epochs": [1, 10, 200], "dataset": "plane", "adversarial": True},
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
        assert set(table) == set(params.PROFILE_NAMES), chapter
        for profile in params.PROFILE_NAMES:
            assert set(table[profile]) == set(table["quick"]), (chapter, profile)
            params.resolve(chapter, profile, **table[profile])  # every value type-checks
