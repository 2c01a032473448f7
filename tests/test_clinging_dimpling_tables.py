"""The chapter's tables and the reading it names."""
import itertools

import pytest

from dmmlib import params
from dmmlib.chapters.clinging_dimpling import experiment, tables


def test_reading_label_names_a_tried_reading():
    P = dict(params.resolve("clinging_dimpling", "quick"))
    for uniform, centred in itertools.product(("uniform", "sign"), (True, False)):
        P.update(out_init=uniform, centre_inputs=centred)
        assert tables.reading_label(P) in experiment.READINGS
    P.update(lr=P["lr_paper"] / 10)
    assert tables.reading_label(P) is None


def test_readings_that_train_needs_every_dataset():
    rows = [{"reading": "a", "dataset": "line", "seed": 0, "final_acc": 1.0, "best_late_acc": 1.0},
            {"reading": "a", "dataset": "chessboard", "seed": 0, "final_acc": 0.95, "best_late_acc": 1.0},
            {"reading": "b", "dataset": "line", "seed": 0, "final_acc": 1.0, "best_late_acc": 1.0},
            {"reading": "b", "dataset": "chessboard", "seed": 0, "final_acc": 0.6, "best_late_acc": 0.7}]
    assert tables.readings_that_train(rows, 0.9) == ["a"]
    summary, details = tables.readings_tables(rows)
    assert list(summary["reading"]) == ["a", "b"] and len(details) == 4


def test_reading_checks_tables_count_agreement():
    final = {"cling_inside": 0.9, "cling_beyond": 0.9, "angle_train": 80.0, "gn_train": 2.0}
    init = {"cling_inside": 0.1, "cling_beyond": 0.1, "angle_train": 50.0, "gn_train": 1.0}
    phases = {"changepoint_fraction": 0.1, "fit_after": 0.9}
    rows = [{"reading": r, "dataset": d, "seed": s, "final_acc": 1.0, "final": final, "init": init, "phases": phases}
            for r in ("own", "a") for d in ("line", "chessboard") for s in range(2)]
    rows += [{"reading": "b", "dataset": "line", "seed": 0, "final_acc": 0.5}]
    verdicts = {"gradient_perpendicular_line": "supports", "clinging_inside_line": "supports"}
    summary, details, n = tables.reading_checks_tables(rows, {"line": 45.0, "chessboard": 57.3}, verdicts, own="own")
    assert len(details) == 24 and n["n_readings"] == 1 and n["n_cells"] == 12  # the chapter's own reading: details only
    assert n["n_agree"] == 1 and n["n_disagree"] == 1 and n["n_undecided"] == 10
    assert "gradient_perpendicular_line" in n["disagree_text"] and "*a*" in n["readings_text"]
    assert len(summary) == 12
    empty = tables.reading_checks_tables(rows[-1:], {"line": 45.0}, verdicts)
    assert empty[1].empty and empty[2]["n_cells"] == 0 and empty[2]["readings_text"] == "none"


def test_trainings_and_pressure_tables_read_every_seed():
    from tests.test_clinging_dimpling_claims import results

    res = results(adv={"fit": 30.0, "censored": True})
    summary, details = tables.trainings_tables(res)
    assert list(summary["training"]) == ["clean", "random noise", "adversarial"]
    assert len(details) == 3 * 5
    assert list(summary["runs that never fit"]) == [0, 0, 5]
    assert details.loc[details["training"] == "clean", "median dimple depth (ε)"].mean() == pytest.approx(1.0)
    summary, details = tables.pressure_tables(res)
    assert list(summary["dataset"]) == ["line", "chessboard"] and len(details) == 2 * 5
    assert list(summary["misclassified point-pairs"]) == [100, 100]
