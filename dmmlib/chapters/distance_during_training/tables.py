"""Tables of the chapter distance_during_training: the per-seed numbers and their summary."""
from __future__ import annotations

from typing import Any, Mapping

import pandas as pd

from dmmlib.chapters.distance_during_training.claims import LABELS, seed_estimate
from dmmlib.report import fmt_number

COLUMNS = {  # per-seed key -> column header
    "d0": "distance at iteration 0 (L2)",
    "d_end": "distance at the end (L2)",
    "ratio": "end / start",
    "log_err": "log(two-phase / one-phase error)",
    "cp_epoch": "hinge break (epoch)",
    "step_share": "break's share of training",
    "change_share": "share of the change done by the break",
    "acc_end": "test accuracy at the end",
    "success_min": "lowest DeepFool success",
    "success_end": "DeepFool success at the end",
    "R_g": "R of the gradient (tangent)",
    "R_r": "R of the perturbation (tangent)",
    "R_r_rand": "R of the perturbation (random subspace)",
    "g_tan": "gradient in tangent space (fraction)",
    "g_rand": "gradient in random subspace (fraction)",
    "r_tan": "perturbation in tangent space (fraction)",
    "r_rand": "perturbation in random subspace (fraction)",
}


#: Columns that take only the checkpoints' values: a mean with the range over seeds, no interval.
DISCRETE = ("cp_epoch", "step_share")


def _cell(values, key: str) -> str:
    if key in DISCRETE:
        v = [float(x) for x in values]
        return f"{fmt_number(sum(v) / len(v))} (seeds {fmt_number(min(v))} to {fmt_number(max(v))})"
    return seed_estimate(values).text()


def _optimiser(res: Mapping[str, Any], setting: str) -> str:
    s = res["settings"][setting]
    return f"{s['optimizer'].upper()} lr {s['lr']:g}" + (f" mom. {s['momentum']:g}" if s["momentum"] else "")


def summary_frame(results: Mapping[str, Any], seeds: Mapping[str, Any]) -> pd.DataFrame:
    """One row per (dataset, optimiser): each quantity's mean over seeds with its 95 % t-interval
    (the break's position, which takes only the checkpoints' values: its range over seeds)."""
    rows = []
    for ds, by_setting in seeds.items():
        for setting, per in by_setting.items():
            row = {"task": LABELS.get(ds, ds), "optimiser": _optimiser(results[ds], setting), "seeds": len(per)}
            for key, col in COLUMNS.items():
                row[col] = _cell([r[key] for r in per], key)
            rows.append(row)
    return pd.DataFrame(rows)


def seed_frame(results: Mapping[str, Any], seeds: Mapping[str, Any]) -> pd.DataFrame:
    """One row per (dataset, optimiser, seed) with every per-seed number."""
    rows = []
    for ds, by_setting in seeds.items():
        for setting, per in by_setting.items():
            for i, r in enumerate(per):
                rows.append({"task": LABELS.get(ds, ds), "optimiser": _optimiser(results[ds], setting), "seed": i,
                             **{col: float(r[key]) for key, col in COLUMNS.items()}})
    return pd.DataFrame(rows)
