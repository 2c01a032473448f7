"""The chapter's tables (pandas DataFrames of numbers, formatted by :mod:`dmmlib.report`) and the
numbers its prose glues, all read from :func:`experiment.run_all`'s results.

Summaries give the mean over seeds with its 95 % Student-t interval in one cell
(``2.67 [2.61, 2.74]``); the detail tables give every seed.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from dmmlib.chapters.clinging_dimpling.claims import is_as_stated, reading_checks, seed_estimate, two_phase
from dmmlib.chapters.clinging_dimpling.claims import readings_that_train as claims_readings_that_train
from dmmlib.report import fmt_number

PARTS = (("inside", "data region"), ("beyond", "beyond the data"))


def _cell(values) -> str:
    e = seed_estimate(values)
    return e.text() if np.isfinite(e.lo) else fmt_number(e.value)


def readings_tables(rows: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary: reading x dataset, mean final training accuracy; details: every run)."""
    df = pd.DataFrame([{k: r[k] for k in ("reading", "dataset", "seed", "final_acc", "best_late_acc")} for r in rows])
    summary = df.pivot_table(index="reading", columns="dataset", values="final_acc", aggfunc="mean", sort=False)
    summary.columns.name = None
    summary = summary.reset_index().rename(columns={c: f"{c}: final training accuracy" for c in summary.columns})
    details = df.rename(columns={"final_acc": "final training accuracy", "best_late_acc": "best accuracy, 2nd half"})
    return summary, details


def readings_that_train(rows: list[dict], threshold: float) -> list[str]:
    """The readings whose mean final training accuracy exceeds ``threshold`` on every dataset
    (:func:`claims.readings_that_train`)."""
    return claims_readings_that_train(rows, threshold)


def reading_checks_tables(rows: list[dict], random_angle: Mapping, verdicts: Mapping[str, str],
                          own: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The main claims under every reading of appendix C and dataset on which it trains
    (:func:`claims.reading_checks`; ``own``: the chapter's reading, a repeat of its main runs):
    (summary: one row per claim, how many of the other readings put the mean on the claimed side
    and how many agree with the chapter's verdict; details: every cell; numbers for the prose:
    {"n_readings", "n_cells", "n_agree", "n_disagree", "n_undecided", "readings_text",
    "disagree_text"}, all over the readings other than ``own``)."""
    checks = reading_checks(rows, random_angle, verdicts, own=own)
    details = pd.DataFrame([{"reading": c["reading"] + (" (the chapter's)" if c["own"] else ""), "dataset": c["dataset"],
                             "claim": c["claim"], "quantity": c["quantity"], "mean over seeds": c["value"],
                             "seeds": c["seeds"], "criterion": c["criterion"],
                             "on the claimed side": "yes" if c["claimed_side"] else "no",
                             "chapter's verdict": c["chapter_verdict"], "agrees": c["agrees"]} for c in checks])
    other = [c for c in checks if not c["own"]]
    bad = [c for c in other if c["agrees"] == "no"]
    readings = list(dict.fromkeys((c["reading"], c["dataset"]) for c in other))
    numbers = {"n_readings": len({r for r, _ in readings}), "n_cells": len(other),
               "n_agree": sum(c["agrees"] == "yes" for c in other), "n_disagree": len(bad),
               "n_undecided": sum(c["agrees"] == "—" for c in other),
               "readings_text": "; ".join(f"*{r}* ({d})" for r, d in readings) if readings else "none",
               "disagree_text": "; ".join(f"*{c['claim']}* under *{c['reading']}*" for c in bad) if bad else "none"}
    if not other:
        summary = pd.DataFrame(columns=["claim", "other readings", "on the claimed side", "chapter's verdict", "agree"])
        return summary, details, numbers
    frame = pd.DataFrame(other)
    summary = frame.groupby("claim", sort=False).agg(
        cells=("reading", "size"), side=("claimed_side", "sum"), verdict=("chapter_verdict", "first"),
        agree=("agrees", lambda v: int((v == "yes").sum()))).reset_index()
    summary = summary.rename(columns={"cells": "other readings", "side": "on the claimed side",
                                      "verdict": "chapter's verdict", "agree": "agree"})
    return summary, details, numbers


def reading_label(P: Mapping) -> str | None:
    """The :data:`experiment.READINGS` label of the chapter's own reading, None when it is none
    of them (another batch size or a learning rate other than ``lr_paper``)."""
    if P["batch_size"] != 0 or P["lr"] != P["lr_paper"]:
        return None
    uniform, centred = P["out_init"] == "uniform", bool(P["centre_inputs"])
    return {(False, False): "as stated: inputs in [0, 1], outputs ±1, full batch, mean loss",
            (True, False): "output weights uniform on [-1, 1]",
            (False, True): "inputs centred to [-1, 1]",
            (True, True): "inputs centred, outputs uniform on [-1, 1]"}[uniform, centred]


def clinging_tables(results: Mapping, deltas) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Where the boundary lies relative to the manifold, after training, at initialisation and
    for the nearest-neighbour walls: median distance, share within each delta, share whose
    normal line meets the boundary within the label scale, share where no boundary was found."""
    rows, details = [], []
    for d in ("line", "chessboard"):
        runs = results[d]
        for part, where in PARTS:
            for label, key in (("trained", "final"), ("untrained", "init"), ("walls", "walls")):
                row = {"dataset": d, "where": where, "boundary": label,
                       "median distance": _cell([r[key][f"dist_{part}"] for r in runs])}
                for delta in deltas:
                    row[f"share ≤ {delta:g}"] = _cell([r[key][f"within_{delta:g}_{part}"] for r in runs])
                row["share with height ≤ label scale"] = _cell([r[key][f"cling_{part}"] for r in runs])
                if key != "walls":
                    row["share with no boundary found"] = _cell([r[key][f"none_{part}"] for r in runs])
                rows.append(row)
            for r in runs:
                details.append({"dataset": d, "where": where, "seed": r["seed"], "label scale": r["scale"],
                                "median distance": r["final"][f"dist_{part}"],
                                "mean distance (found)": r["final"][f"distmean_{part}"],
                                "median |height|": r["final"][f"height_{part}"],
                                "share height ≤ label scale": r["final"][f"cling_{part}"],
                                "walls: median distance": r["walls"][f"dist_{part}"],
                                "roughness (median |slope|)": r["final"]["rough"]})
    return pd.DataFrame(rows).fillna("—"), pd.DataFrame(details)


def phases_tables(results: Mapping) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Changepoints: summary per dataset (mean [CI], median, range) and every seed."""
    rows, details = [], []
    for d in ("line", "chessboard", "chessboard_adv"):
        ph = [r["phases"] for r in results[d]]
        cp = np.array([p["changepoint"] for p in ph])
        rows.append({"training": d.replace("_adv", ", adversarial"), "changepoint (epoch)": _cell(cp),
                     "median": float(np.median(cp)), "min": float(cp.min()), "max": float(cp.max()),
                     "share of accuracy gain after it": _cell([p["fit_after"] for p in ph]),
                     "slope after / before": _cell([p["slope_ratio"] for p in ph]),
                     "final training accuracy": _cell([r["train_acc"] for r in results[d]])})
        for r, p in zip(results[d], ph):
            details.append({"training": d.replace("_adv", ", adversarial"), "seed": r["seed"],
                            "changepoint (epoch)": p["changepoint"], "share of distance drop before": p["drop_before"],
                            "share of accuracy gain after": p["fit_after"], "slope after / before": p["slope_ratio"],
                            "final training accuracy": r["train_acc"]})
    return pd.DataFrame(rows), pd.DataFrame(details)


def gradient_tables(results: Mapping) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Normal and tangential gradient components (median over points, logit per input unit) and
    the mean angle to the normal, at and between the training points."""
    rows, details = [], []
    sets = (("line", "line", "final"), ("line", "line, untrained", "init"), ("chessboard", "chessboard", "final"),
            ("chessboard", "chessboard, untrained", "init"), ("chessboard_adv", "chessboard, adversarial", "final"))
    for src, label, key in sets:
        runs = results[src]
        for part, where in (("train", "training points"), ("between", "between them")):
            rows.append({"network": label, "where": where,
                         "normal component": _cell([r[key][f"gn_{part}"] for r in runs]),
                         "tangential component": _cell([r[key][f"gt_{part}"] for r in runs]),
                         "angle to normal (°)": _cell([r[key][f"angle_{part}"] for r in runs])})
            for r in runs:
                details.append({"network": label, "where": where, "seed": r["seed"], "normal": r[key][f"gn_{part}"],
                                "tangential": r[key][f"gt_{part}"], "angle (°)": r[key][f"angle_{part}"]})
    return pd.DataFrame(rows), pd.DataFrame(details)


def adversarial_tables(results: Mapping) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Clean against adversarially trained chessboard networks."""
    rows, details = [], []
    keys = (("median dimple depth", "final", "depth_median"), ("mean dimple depth", "final", "depth_mean"),
            ("share with no crossing", "final", "depth_none"), ("angle at training points (°)", "final", "angle_train"))
    for label, src in (("clean", "chessboard"), ("adversarial", "chessboard_adv")):
        runs = results[src]
        row = {"training": label}
        for name, part, key in keys:
            row[name] = _cell([r[part][key] for r in runs])
        row["training accuracy"] = _cell([r["train_acc"] for r in runs])
        row["test accuracy"] = _cell([r["test_acc"] for r in runs])
        row["robust test accuracy"] = _cell([r["robust_acc"] for r in runs])
        rows.append(row)
        for r in runs:
            details.append({"training": label, "seed": r["seed"], **{n: r[p][k] for n, p, k in keys},
                            "training accuracy": r["train_acc"], "test accuracy": r["test_acc"],
                            "robust test accuracy": r["robust_acc"]})
    return pd.DataFrame(rows), pd.DataFrame(details)


def stress_tables(rows: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per optimiser and width: runs, trained runs, runs with two phases; every run in the details."""
    df = pd.DataFrame([{"optimiser": r["optimizer"], "width": r["width"], "lr": r["lr"], "seed": r["seed"],
                        "final training accuracy": r["final_acc"], "changepoint (fraction)": r["changepoint_fraction"],
                        "accuracy gain after": r["fit_after"], "two phases": two_phase(r) and r["final_acc"] > 0.9,
                        "trained": r["final_acc"] > 0.9} for r in rows])
    summary = df.groupby(["optimiser", "width"], sort=False).agg(
        runs=("seed", "size"), trained=("trained", "sum"), two_phases=("two phases", "sum")).reset_index()
    summary = summary.rename(columns={"two_phases": "trained with two phases"})
    return summary, df.drop(columns=["trained"])


TRAININGS = (("clean", "chessboard"), ("random noise", "chessboard_noise"), ("adversarial", "chessboard_adv"))


def trainings_tables(results: Mapping) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Clean, random-noise and adversarial training of the chessboard (appendix A, section 5.1):
    dimple depth, the boundary's distance away from the training points, the boundary's angle
    near the manifold, accuracies and epochs to fit (summary: mean [CI] over seeds; details:
    every seed)."""
    eps = float(results["adv_eps"])
    cols = (("median dimple depth (ε)", lambda r: r["final"]["depth_median"] / eps),
            ("distance away from the training points (ε)", lambda r: r["orient"]["final"]["dist_away"] / eps),
            ("boundary angle to the manifold (°)", lambda r: r["orient"]["final"]["bangle_inside"]),
            ("test accuracy", lambda r: r["test_acc"]), ("robust test accuracy", lambda r: r["robust_acc"]),
            ("epochs to fit", lambda r: r["fit_epoch"]))
    rows, details = [], []
    for label, key in TRAININGS:
        runs = results[key]
        row = {"training": label}
        for name, f in cols:
            row[name] = _cell([f(r) for r in runs])
        row["runs that never fit"] = int(sum(bool(r["fit_censored"]) for r in runs))
        rows.append(row)
        for r in runs:
            details.append({"training": label, "seed": r["seed"], **{name: f(r) for name, f in cols},
                            "never fit": bool(r["fit_censored"])})
    return pd.DataFrame(rows), pd.DataFrame(details)


def pressure_tables(results: Mapping) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Figure 2 computed: per dataset the signed inward share of the boundary's displacement at the
    misclassified points and, for comparison, at the correctly classified ones (mean [CI] over
    seeds); every seed in the details."""
    rows, details = [], []
    for d, runs in results["pressure"].items():
        s = [r["summary"] for r in runs]
        rows.append({"dataset": d, "inward share, misclassified points": _cell([v["share"] for v in s]),
                     "inward share, correctly classified points": _cell([v["share_correct"] for v in s]),
                     "mean inward component": _cell([v["inward_mean"] for v in s]),
                     "mean remainder": _cell([v["rest_mean"] for v in s]),
                     "misclassified point-pairs": int(sum(v["n_wrong"] for v in s))})
        for r, v in zip(runs, s):
            details.append({"dataset": d, "seed": r["seed"], **v})
    return pd.DataFrame(rows), pd.DataFrame(details)


def numbers(results: Mapping) -> dict[str, float]:
    """The numbers the prose glues: {key: value}."""
    out = {}
    for d in ("line", "chessboard"):
        runs = results[d]
        out[f"scale_{d}"] = float(np.mean([r["scale"] for r in runs]))
        for part, _ in PARTS:
            out[f"cling_{part}_{d}"] = float(np.mean([r["final"][f"cling_{part}"] for r in runs]))
            out[f"cling_init_{part}_{d}"] = float(np.mean([r["init"][f"cling_{part}"] for r in runs]))
            out[f"dist_{part}_{d}"] = float(np.mean([r["final"][f"dist_{part}"] for r in runs]))
            out[f"walldist_{part}_{d}"] = float(np.mean([r["walls"][f"dist_{part}"] for r in runs]))
        out[f"cp_{d}"] = float(np.mean([r["phases"]["changepoint"] for r in runs]))
        out[f"cp_min_{d}"] = float(np.min([r["phases"]["changepoint"] for r in runs]))
        out[f"cp_max_{d}"] = float(np.max([r["phases"]["changepoint"] for r in runs]))
        out[f"angle_{d}"] = float(np.mean([r["final"]["angle_train"] for r in runs]))
        out[f"train_acc_min_{d}"] = float(np.min([r["train_acc"] for r in runs]))
        out[f"random_angle_{d}"] = float(results["random_angle"][d])
    clean, adv = results["chessboard"], results["chessboard_adv"]
    out["test_acc_clean"] = float(np.mean([r["test_acc"] for r in clean]))
    out["test_acc_adv"] = float(np.mean([r["test_acc"] for r in adv]))
    out["robust_acc_clean"] = float(np.mean([r["robust_acc"] for r in clean]))
    out["robust_acc_adv"] = float(np.mean([r["robust_acc"] for r in adv]))
    out["train_acc_adv"] = float(np.mean([r["train_acc"] for r in adv]))
    out["depth_clean"] = float(np.mean([r["final"]["depth_median"] for r in clean]))
    out["depth_adv"] = float(np.mean([r["final"]["depth_median"] for r in adv]))
    out["angle_adv"] = float(np.mean([r["final"]["angle_train"] for r in adv]))
    out["attack_drop_clean"] = out["test_acc_clean"] - out["robust_acc_clean"]
    out["attack_drop_clean_pp"] = 100 * out["attack_drop_clean"]
    out["depth_gain_eps"] = (out["depth_adv"] - out["depth_clean"]) / float(results["adv_eps"])
    eps = float(results["adv_eps"])
    for d in ("line", "chessboard"):
        out[f"bangle_{d}"] = float(np.mean([r["orient"]["final"]["bangle_inside"] for r in results[d]]))
        init = [r["orient"]["init"]["bangle_inside"] for r in results[d]]
        out[f"bangle_init_{d}"] = float(np.nanmean(init)) if np.isfinite(init).any() else float("nan")
        s = [r["summary"] for r in results["pressure"][d]]
        out[f"inward_share_{d}"] = float(np.mean([v["share"] for v in s]))
        out[f"inward_share_correct_{d}"] = float(np.nanmean([v["share_correct"] for v in s]))
        out[f"pressure_pairs_{d}"] = int(sum(v["n_wrong"] for v in s))
    noise = results["chessboard_noise"]
    out["depth_noise"] = float(np.mean([r["final"]["depth_median"] for r in noise]))
    out["depth_gain_noise_eps"] = (out["depth_noise"] - out["depth_clean"]) / eps
    out["test_acc_noise"] = float(np.mean([r["test_acc"] for r in noise]))
    out["robust_acc_noise"] = float(np.mean([r["robust_acc"] for r in noise]))
    out["train_acc_noise"] = float(np.mean([r["train_acc"] for r in noise]))
    for label, key in (("clean", "chessboard"), ("adv", "chessboard_adv"), ("noise", "chessboard_noise")):
        out[f"away_{label}_eps"] = float(np.mean([r["orient"]["final"]["dist_away"] for r in results[key]])) / eps
        out[f"fit_epoch_{label}"] = float(np.mean([r["fit_epoch"] for r in results[key]]))
        out[f"fit_censored_{label}"] = int(sum(bool(r["fit_censored"]) for r in results[key]))
    stated = [r["final_acc"] for r in results["lr"] if is_as_stated(r["reading"])]
    out["acc_stated"] = float(np.mean(stated))
    out["n_stress"] = len(results["stress"])
    out["n_stress_trained"] = int(sum(r["final_acc"] > 0.9 for r in results["stress"]))
    return out
