"""The chapter's tables, built from :func:`summary.summarize` results and formatted for
reading (:mod:`dmmlib.report`: three significant digits, ``value [lo, hi]`` in one cell).
Each function returns a pandas DataFrame of strings; show it with
:func:`dmmlib.report.html_table` or :func:`dmmlib.report.summary_and_details`."""
from __future__ import annotations

from typing import Any, Mapping

import pandas as pd

from dmmlib.chapters.on_off_manifold.experiment import PAPER_TABLE1, PAPER_TABLE2, PAPER_TABLE2_PCT
from dmmlib.claims import Estimate
from dmmlib.report import fmt_interval, fmt_number

NAMES = {"mnist": "MNIST", "cifar10": "CIFAR-10", "imagenet": "ImageNet"}


def ci(e: Estimate | None, scale: float = 1.0) -> str:
    """``value [lo, hi]`` of an estimate (times ``scale``), "—" when absent."""
    if e is None:
        return "—"
    return fmt_interval(scale * e.value, scale * e.lo, scale * e.hi)


def pct(e: Estimate | None) -> str:
    return "—" if e is None else ci(e, 100)


def table1(results: Mapping[str, Mapping[str, Any]], not_run: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Table 1 of the paper beside ours, one row per dataset (tangent space)."""
    rows = []
    for ds, r in results.items():
        p = PAPER_TABLE1[ds]
        rows.append({"dataset": NAMES[ds], "√(n/k)": fmt_number(r["sqrt_nk"]), "E[R] random": fmt_number(r["expected_R"]),
                     "R(d, M) ours": ci(r["R"]["tangent"]), "R paper": fmt_number(p[1]),
                     "E at x (%) ours": pct(r["E"]["tangent"]),
                     "E at x′ (%) ours": f"{pct(r['E_xr'])} (n = {r['xr_valid']})",
                     "E (%) paper": fmt_number(100 * p[2]),
                     "images (models)": f"{r['R']['tangent'].n} ({r['units']})"})
    for ds, why in (not_run or {}).items():
        p = PAPER_TABLE1[ds]
        rows.append({"dataset": NAMES[ds], "√(n/k)": fmt_number(p[0]), "E[R] random": "—", "R(d, M) ours": f"not run: {why}",
                     "R paper": fmt_number(p[1]), "E at x (%) ours": "—", "E at x′ (%) ours": "—",
                     "E (%) paper": fmt_number(100 * p[2]), "images (models)": "0"})
    return pd.DataFrame(rows)


def table2(results: Mapping[str, Mapping[str, Any]], not_run: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Table 2 of the paper beside ours (the paper's PGD protocol), one row per dataset:
    mean L2 distances and the on / off distances as % of the unconstrained one."""
    rows = []
    for ds, r in results.items():
        p, pp = PAPER_TABLE2[ds], PAPER_TABLE2_PCT[ds]
        row = {"dataset": NAMES[ds], "unconstrained ours": ci(r["dist"]["none"]), "paper": fmt_number(p[0]),
               "on-manifold ours": ci(r["dist"]["on/tangent"]), "on / unconstr. (%) ours": pct(r["ratio"]["on/tangent"]),
               "on paper": f"{fmt_number(p[1])} ({pp[0]} %)",
               "off-manifold ours": ci(r["dist"]["off/tangent"]), "off / unconstr. (%) ours": pct(r["ratio"]["off/tangent"]),
               "off paper": f"{fmt_number(p[2])} ({pp[1]} %)",
               "success (%) unconstr. / on / off": " / ".join(fmt_number(100 * r["success"][k].value)
                                                             for k in ("none", "on/tangent", "off/tangent"))}
        mn = r.get("min_norm")
        if mn:
            row.update({"min-norm unconstr.": ci(mn["dist"].get("none")), "min-norm on": ci(mn["dist"].get("on/tangent")),
                        "min-norm off": ci(mn["dist"].get("off/tangent")),
                        "min-norm on / unconstr. (%)": pct(mn["ratio"].get("on/tangent"))})
        rows.append(row)
    for ds, why in (not_run or {}).items():
        p, pp = PAPER_TABLE2[ds], PAPER_TABLE2_PCT[ds]
        rows.append({"dataset": NAMES[ds], "unconstrained ours": f"not run: {why}", "paper": fmt_number(p[0]),
                     "on paper": f"{fmt_number(p[1])} ({pp[0]} %)", "off paper": f"{fmt_number(p[2])} ({pp[1]} %)"})
    return pd.DataFrame(rows).fillna("—")


def controls(r: Mapping[str, Any]) -> pd.DataFrame:
    """Tables 1 and 2 for every subspace of one dataset, with tangent / control ratios."""
    rows = []
    for s in r["R"]:
        vs = r["vs"].get(s, {})
        rows.append({"subspace": s, "R": ci(r["R"][s]), "E at x (%)": pct(r["E"][s]),
                     "on-subspace distance": ci(r["dist"].get(f"on/{s}")),
                     "on / unconstr. (%)": pct(r["ratio"].get(f"on/{s}")),
                     "on success (%)": fmt_number(100 * r["success"][f"on/{s}"].value) if f"on/{s}" in r["success"] else "—",
                     "off-subspace distance": ci(r["dist"].get(f"off/{s}")),
                     "R tangent / R control": ci(vs.get("R")) if s != "tangent" else "1",
                     "on distance tangent / control": ci(vs.get("on")) if s != "tangent" else "1"})
    return pd.DataFrame(rows)


def step_factors(results: Mapping[str, Mapping[str, Any]], t2_step: Mapping[str, float]) -> pd.DataFrame:
    """The on-manifold PGD distance and its ratio to unconstrained PGD at each step factor
    (``t2_step``: {dataset: the unconstrained step}, times the factor is the on-manifold step)."""
    rows = []
    for ds, r in results.items():
        for key in sorted((k for k in r["ratio"] if k.startswith("onf/")), key=lambda k: float(k.split("/")[1])):
            rows.append({"dataset": NAMES[ds], "on-manifold step factor": key.split("/")[1],
                         "on-manifold step (L2)": fmt_number(t2_step[ds] * float(key.split("/")[1])),
                         "on-manifold distance": ci(r["dist"][key]),
                         "on / unconstr. (%)": pct(r["ratio"][key]),
                         "success (%)": fmt_number(100 * r["success"][key].value)})
    return pd.DataFrame(rows)


def clamping(results: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """The share of the norm off M of the paper's on/off PGD perturbations, and the box-free
    on-manifold attack."""
    rows = []
    for ds, r in results.items():
        rows.append({"dataset": NAMES[ds],
                     "on-manifold PGD: norm off M (%)": pct(r["offshare"].get("on")),
                     "off-manifold PGD: norm off M (%)": pct(r["offshare"].get("off")),
                     "box-free on: norm off M (%)": pct(r["offshare"].get("boxfree/on")),
                     "box-free on distance": ci(r["dist"].get("boxfree/on")),
                     "box-free on / unconstr. (%)": pct(r["ratio"].get("boxfree/on")),
                     "box-free off / unconstr. (%)": pct(r["ratio"].get("boxfree/off"))})
    return pd.DataFrame(rows)


def per_unit(results: Mapping[str, Mapping[str, Any]], keys=("R/tangent", "E/tangent", "dist/none", "dist/on/tangent",
                                                            "dist/off/tangent", "ratio/on/tangent", "ae_error")) -> pd.DataFrame:
    """The main quantities per model unit (seed): how much the models alone move them."""
    rows = []
    for ds, r in results.items():
        for key in keys:
            vals = r["per_unit"].get(key, ())
            rows.append({"dataset": NAMES[ds], "quantity": key,
                         **{f"model {u}": fmt_number(v) for u, v in enumerate(vals)}})
    return pd.DataFrame(rows).fillna("—")
