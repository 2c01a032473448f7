"""The numbers of one data set's run, with their intervals: what the claims and the page read.

:func:`summarize` takes one data set's entry of :func:`experiment.run` (or records built by a
test: 1-d arrays per key) and returns estimates (:class:`dmmlib.claims.Estimate`): mean distances
over the images whose attack succeeded, success rates (Clopper-Pearson), the paired ratios of the
claims (:func:`dmmlib.claims.compare`; hierarchical over the model units when there are several),
the gradient-masking ratio, and the detector's AUCs (:mod:`detection`).
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from dmmlib.chapters.manifold_projection.detection import auc_interval
from dmmlib.claims import Estimate, compare
from dmmlib.stats import bootstrap_ci, success_rate

#: the distances summarised, in the order the page shows them
ATTACKS = ("plain", "transfer", "adaptive", "best", "on", "penalised")


def _np(v) -> np.ndarray:
    return np.asarray(v.numpy() if hasattr(v, "numpy") else v, dtype=np.float64)


def _nan(n_of: str = "images") -> Estimate:
    return Estimate(math.nan, math.nan, math.nan, 0, n_of)


def mean_estimate(values, *, n_boot: int, unit: str = "") -> Estimate:
    """Mean of the finite values (failed attacks, inf or nan, left out) with its bootstrap interval."""
    v = _np(values)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return _nan()
    return Estimate.of(bootstrap_ci(v, n_boot=n_boot), n_of="images", unit=unit)


def rate_estimate(flags) -> Estimate:
    """The share of True with its exact (Clopper-Pearson) interval."""
    s = np.asarray(_np(flags) > 0.5)
    if s.size == 0:
        return _nan()
    return Estimate.of(success_rate(s), n_of="images")


def auc_estimate(adversarial, clean, *, n_boot: int) -> Estimate:
    """AUC of the reconstruction errors of the adversarial images against their clean versions,
    both over the images whose attack succeeded (finite adversarial score), with the stratified
    bootstrap interval of :func:`detection.auc_interval`."""
    a, c = _np(adversarial), _np(clean)
    keep = np.isfinite(a) & np.isfinite(c)
    if keep.sum() < 2:
        return _nan()
    return Estimate.of(auc_interval(a[keep], c[keep], n_boot=n_boot), n_of="images")


def summarize(result: Mapping[str, Any], n_boot: int) -> dict[str, Any]:
    """The summary of one data set (``result["records"]``: "dist/<attack>", "recon/<which>",
    "transfer_fools", "R/<plain|adaptive>", "unit"; ``result["accuracy"]``, ``["defended_accuracy"]``
    and ``["ae_error"]``: one value per unit).

    Returns ``{"dist": {attack: Estimate}, "success": {attack: Estimate}, "ratio_best_plain",
    "ratio_best_on", "ratio_adaptive_plain", "masking" (Estimates), "auc": {"plain", "adaptive",
    "penalised"} (Estimates), "R": {"plain", "adaptive"} (mean Estimates), "accuracy",
    "defended_accuracy", "accuracy_cost", "ae_error" (means over units), "units", "images"}``.
    """
    r = result["records"]
    d = {a: _np(r[f"dist/{a}"]) for a in ATTACKS}
    d["long"] = _np(r["dist/long"])
    units = _np(r["unit"])
    multi = len(np.unique(units)) > 1
    u = units if multi else None
    out: dict[str, Any] = {"dist": {a: mean_estimate(d[a], n_boot=n_boot) for a in ATTACKS}}
    out["success"] = {a: rate_estimate(np.isfinite(d[a])) for a in (*ATTACKS, "long")}
    out["success"]["transfer"] = rate_estimate(_np(r["transfer_fools"]))

    def ratio(a, b) -> Estimate:
        keep = np.isfinite(a) & np.isfinite(b)
        if keep.sum() == 0:
            return _nan("pairs")
        return compare(a[keep], b[keep], statistic="ratio", units=None if u is None else u[keep],
                       n_boot=n_boot, n_of="images")

    out["ratio_best_plain"] = ratio(d["best"], d["plain"])
    out["ratio_best_on"] = ratio(d["best"], d["on"])
    out["ratio_adaptive_plain"] = ratio(d["adaptive"], d["plain"])
    # gradient masking: the smallest distance any run found against the default adaptive run's
    out["masking"] = ratio(d["best"], d["adaptive"])
    clean = _np(r["recon/clean"])
    out["auc"] = {w: auc_estimate(_np(r[f"recon/{w}"]), clean, n_boot=n_boot) for w in ("plain", "adaptive", "penalised")}
    out["R"] = {w: mean_estimate(_np(r[f"R/{w}"]), n_boot=n_boot) for w in ("plain", "adaptive")}
    out["recon"] = {w: mean_estimate(_np(r[f"recon/{w}"]), n_boot=n_boot)
                    for w in ("clean", "plain", "adaptive", "penalised")}
    acc, dacc = float(np.mean(result["accuracy"])), float(np.mean(result["defended_accuracy"]))
    out.update(accuracy=acc, defended_accuracy=dacc, accuracy_cost=acc - dacc,
               ae_error=float(np.mean(result["ae_error"])), units=int(len(np.unique(units))), images=int(units.size))
    return out
