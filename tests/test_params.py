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
        assert set(table) == {*params.PROFILE_NAMES, "ranges", "choices", "constraints", "data", "docs"}, chapter
        for profile in params.PROFILE_NAMES:
            assert set(table[profile]) == set(table["quick"]), (chapter, profile)
            params.resolve(chapter, profile, **table[profile])  # every value type-checks and is in range


def test_every_knob_says_what_it_means():
    """Every knob of every chapter (and of the shared models) has a one-line meaning in its
    profiles.py's DOCS, shown beside its value on the chapter's page; DOCS names no other knob."""
    for chapter in params.PROFILES:
        docs, knobs = params.docs(chapter), set(params.knobs(chapter))
        missing = sorted(k for k in knobs if not str(docs.get(k, "")).strip())
        assert not missing, f"{chapter}: knobs without a DOCS entry: {missing}"
        assert not set(docs) - knobs, f"{chapter}: DOCS names unknown knobs {sorted(set(docs) - knobs)}"
        assert all("\n" not in text for text in docs.values()), f"{chapter}: a DOCS entry spans lines"


def test_docs_naming_an_unknown_knob_is_refused(tmp_path, monkeypatch):
    (tmp_path / "bad_docs_profiles.py").write_text(
        'QUICK = {"seeds": 3}\nSMOKE = {}\nPAPER = {}\nDOCS = {"seeds": "seeds", "sedes": "a typo"}\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ImportError, match="DOCS names unknown knob.*sedes"):
        params._load_profiles("bad_docs_profiles")


def test_parameter_rows_give_the_value_used_the_profile_value_and_the_meaning(demo, monkeypatch):
    monkeypatch.setitem(params.PROFILES[demo], "docs", {"seeds": "training seeds", "lr": "learning rate"})
    rows = params.parameter_rows(demo, "smoke", {"seeds": 4, "lr": None, "gone": 1})
    by = {r["name"]: r for r in rows}
    assert [r["name"] for r in rows] == ["seeds", "lr", "epochs", "dataset", "adversarial", "gone"]
    assert by["seeds"] == {"name": "seeds", "value": 4, "profile_value": 1, "set": True, "meaning": "training seeds"}
    assert by["lr"]["value"] == by["lr"]["profile_value"] == 0.1 and not by["lr"]["set"]
    assert by["epochs"]["meaning"] == "" and by["epochs"]["value"] == [1, 2]
    assert by["gone"]["profile_value"] is None and "not a parameter" in by["gone"]["meaning"]
    with pytest.raises(params.ParameterError, match="unknown profile"):
        params.parameter_rows(demo, "fast")


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


# --- one validation before any work: dict keys, choices, constraints, data, papermill's names ---------


@pytest.fixture
def rich(monkeypatch, tmp_path):
    """A chapter with a dict knob, text and list knobs with CHOICES, CONSTRAINTS and DATA."""
    quick = {"n_images": {"mnist": 100, "cifar10": 16}, "rates": {"a": 0.5, "b": 1.0}, "method": "jvp",
             "controls": ["random", "pca"], "lo": 0.001, "hi": 10.0, "digits": [2, 3], "datasets": ["mnist"]}
    monkeypatch.setitem(params.PROFILES, "rich", {
        "smoke": quick, "quick": quick, "paper": quick,
        "ranges": {"n_images": (1, 1000), "rates": (0.0, 5.0), "lo": (1e-6, 100.0), "hi": (1e-6, 100.0), "digits": (0, 9)},
        "choices": {"method": ("jvp", "fd"), "controls": ("random", "pca", "dct"), "datasets": ("mnist", "cifar10")},
        "constraints": [("lo < hi", lambda P: P["lo"] < P["hi"]),
                        ("digits: two distinct digits", lambda P: len(set(P["digits"])) == len(P["digits"]) == 2)],
        "data": lambda P: ["extra/file.bin", *[(f"sets/{d}.bin", f"sets/{d}") for d in P["datasets"]]],
    })
    data = tmp_path / "data"
    for f in ("extra/file.bin", "sets/mnist.bin"):
        (data / f).parent.mkdir(parents=True, exist_ok=True)
        (data / f).write_bytes(b"x")  # files whose checksum is not known: not verified
    monkeypatch.setenv("DMM_DATA", str(data))
    return "rich"


@pytest.mark.parametrize("overrides, message", [
    ({"n_images": {"mnist": 10}}, r"'n_images'.*every key.*missing key\(s\) 'cifar10'"),
    ({"n_images": {"mnst": 10, "cifar10": 16}}, r"'n_images'.*unknown key\(s\) 'mnst'"),
    ({"n_images": {"mnist": 2.5, "cifar10": 16}}, r"'n_images'.*entry 'mnist' must be of type int.*got 2.5"),
    ({"n_images": {"mnist": 5000, "cifar10": 16}}, r"'n_images'.*must lie in \[1, 1000\]"),
    ({"rates": {"a": "x", "b": 1.0}}, r"'rates'.*entry 'a' must be of type float"),
    ({"method": "bogus"}, r"parameter 'method' of chapter 'rich' must be one of 'jvp', 'fd', got 'bogus'"),
    ({"controls": ["randm"]}, r"each element of parameter 'controls'.*one of 'random', 'pca', 'dct', got 'randm'"),
    ({"datasets": ["mnst"]}, r"each element of parameter 'datasets'.*got 'mnst'"),
    ({"lo": 5, "hi": 0.001}, r"must satisfy: lo < hi; got lo=5.0; hi=0.001"),
    ({"digits": [1, 2, 3]}, r"must satisfy: digits: two distinct digits; got digits=\[1, 2, 3\]"),
    ({"digits": [2, 2]}, r"two distinct digits"),
    ({"profile": "paper"}, r"'profile' is not one of chapter 'rich''s parameters.*PROFILE=paper"),
])
def test_every_bad_value_is_one_line_before_any_work(rich, overrides, message):
    with pytest.raises(params.ParameterError, match=message) as err:
        params.validate(rich, "quick", overrides)
    assert "\n" not in str(err.value)


def test_valid_rich_values_pass_and_dict_floats_are_floats(rich):
    P = params.validate(rich, "quick", {"rates": {"a": 1, "b": 2}, "controls": ["dct"], "digits": [7, 1]})
    assert P["rates"] == {"a": 1.0, "b": 2.0} and isinstance(P["rates"]["a"], float)
    assert P["controls"] == ["dct"] and P["digits"] == [7, 1]


def test_declared_data_is_checked_before_work(rich, tmp_path):
    params.validate(rich, "quick", {})
    with pytest.raises(params.DataRequirementError, match=r"chapter 'rich' needs sets/cifar10.bin or sets/cifar10 in DMM_DATA"):
        params.validate(rich, "quick", {"datasets": ["mnist", "cifar10"]})
    (tmp_path / "data" / "extra" / "file.bin").unlink()
    with pytest.raises(params.DataRequirementError, match=r"chapter 'rich' needs extra/file.bin in DMM_DATA=.*not found"):
        params.validate(rich, "quick", {})
    assert params.validate(rich, "quick", {}, data=False)["method"] == "jvp"  # resolution alone reads no data


def test_a_truncated_data_file_is_refused_before_work(rich, tmp_path, monkeypatch):
    from dmmlib.data.checksums import FILES

    assert "mnist/mnist_train_5k.csv.gz" in FILES  # a file whose checksum is known
    (tmp_path / "data" / "mnist").mkdir()
    (tmp_path / "data" / "mnist" / "mnist_train_5k.csv.gz").write_bytes(b"truncated")
    monkeypatch.setitem(params.PROFILES["rich"], "data", ["mnist/mnist_train_5k.csv.gz"])
    with pytest.raises(params.DataRequirementError, match=r"chapter 'rich': .*mnist_train_5k.csv.gz") as err:
        params.validate(rich, "quick", {})
    assert "\n" not in str(err.value)


def test_named_data_sets_are_found_in_the_shared_folder(monkeypatch):
    from pathlib import Path

    shared = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not (shared / "mnist").is_dir():
        pytest.skip("no shared data folder")
    monkeypatch.setenv("DMM_DATA", str(shared))
    monkeypatch.setitem(params.PROFILES, "sets", {"smoke": {"k": 1}, "quick": {"k": 1}, "paper": {"k": 1},
                                                  "ranges": {"k": (1, 2)}, "data": list(params.DATA_SETS)})
    found = params.check_data("sets", params.resolve("sets"))
    assert len(found) == sum(len(v) for v in params.DATA_SETS.values())


def test_constraints_and_choices_of_every_chapter_hold_for_its_profiles():
    for chapter, table in params.PROFILES.items():
        for profile in params.PROFILE_NAMES:
            P = params.resolve(chapter, profile, **table[profile])  # choices and constraints included
            params.data_requirements(chapter, P)  # DATA is well formed


def test_a_name_given_twice_is_refused():
    assert params.parse_assignments(["seeds=2", "width=3"]) == {"seeds": 2, "width": 3}
    with pytest.raises(params.ParameterError, match=r"'seeds' is given twice \(seeds=2 and seeds=3\)"):
        params.parse_assignments(["seeds=2", "seeds=3"])


def test_papermill_injected_unknown_names_are_refused(demo):
    parameters_cell = 'profile = "quick"\nseeds = None\nlr = None\n'
    injected = '# Parameters\nprofile = "smoke"\nseedz = 2\n'
    ns = {"profile": "smoke", "seeds": None, "seedz": 2, "In": ["", parameters_cell, injected, "P = ..."]}
    with pytest.raises(params.ParameterError, match=r"unknown parameter\(s\) 'seedz' for chapter 'demo' \(injected by papermill\)"):
        params.from_namespace(demo, ns)
    ns["In"][2] = '# Parameters\nprofile = "smoke"\nseeds = 2\n'
    ns["seeds"] = 2
    assert params.from_namespace(demo, ns)["seeds"] == 2
    # a notebook's own helper variables (not in an injected cell) are not parameters
    assert params.from_namespace(demo, {"profile": "quick", "x": 1, "In": ["", "x = 1"]})["seeds"] == 3


def test_parameter_error_shows_one_line_in_ipython():
    err = params.ParameterError("parameter 'n' must lie in [0, 1], got 5")
    assert err._render_traceback_() == ["ParameterError: parameter 'n' must lie in [0, 1], got 5"]
