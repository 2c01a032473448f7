"""Tables of the chapter distance_during_training: the per-seed numbers and their summary."""
from __future__ import annotations

from typing import Any, Mapping

import pandas as pd

from dmmlib.chapters.distance_during_training.claims import LABELS, seed_estimate

COLUMNS = {  # per-seed key -> column header
    "d0": "distance at iteration 0 (L2)",
    "d_end": "distance at the end (L2)",
    "ratio": "end / start",
    "cp_epoch": "changepoint (epoch)",
    "step_share": "changepoint's share of training",
    "change_share": "share of the change done by the changepoint",
    "acc_end": "test accuracy at the end",
    "success_min": "lowest DeepFool success",
    "g_tan": "gradient in tangent space (fraction)",
    "g_rand": "gradient in random subspace (fraction)",
    "r_tan": "perturbation in tangent space (fraction)",
    "r_rand": "perturbation in random subspace (fraction)",
}


def _optimiser(res: Mapping[str, Any], setting: str) -> str:
    s = res["settings"][setting]
    return f"{s['optimizer'].upper()} lr {s['lr']:g}" + (f" mom. {s['momentum']:g}" if s["momentum"] else "")


def summary_frame(results: Mapping[str, Any], seeds: Mapping[str, Any]) -> pd.DataFrame:
    """One row per (dataset, optimiser): each quantity's mean over seeds with its 95 % t-interval."""
    rows = []
    for ds, by_setting in seeds.items():
        for setting, per in by_setting.items():
            row = {"task": LABELS.get(ds, ds), "optimiser": _optimiser(results[ds], setting), "seeds": len(per)}
            for key, col in COLUMNS.items():
                row[col] = seed_estimate(r[key] for r in per).text()
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
