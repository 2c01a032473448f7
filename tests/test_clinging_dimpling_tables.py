"""The chapter's tables and the reading it names."""
import itertools

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
