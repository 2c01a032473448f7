"""From per-image records (:func:`experiment.run_dataset`) to the chapter's results: every
quantity with its interval over models and images (:mod:`intervals`), as
:class:`dmmlib.claims.Estimate` values that :mod:`claims` judges and :mod:`tables` shows.

``summarize(records, dataset, n, k)`` returns a dict (the "results" of one dataset):

- ``n_pixels``, ``k``, ``units``, ``images``, ``sqrt_nk``, ``expected_R`` (exact E[R] of a random
  vector, appendix I);
- ``t1_success``: share of images whose table-1 attack succeeded; ``R`` / ``E`` / ``E_median``:
  {space: mean R(d, S) / mean E at x / median E at x} over them; ``E_xr``, ``E_xr_median``,
  ``xr_valid`` (the images whose x' is classified correctly: E at x' is over these),
  ``flip_on`` / ``flip_on_xr``: share of x + Proj_M d (x' + Proj_M d) classified other than y;
- ``dist``: {"none" | "on/<space>" | "off/<space>" | "onf/<factor>" | "boxfree/<on|off>": mean
  distance over successful attacks}; ``success``: the same keys, share of successes;
- ``ratio``: {"on/<space>" | "off/<space>" | "onf/<factor>" | "boxfree/<on|off>": ratio of mean
  distances to unconstrained PGD over the images where both succeeded};
- ``factor_effect``: mean on-manifold distance at the largest step factor over that at the
  smallest (images where both succeeded);
- ``offshare``: {"on" | "off" | "boxfree/on": mean sqrt(1 - 1/R^2) of the final table-2
  perturbation on / off the tangent space: the share of its norm that lies off M};
- ``min_norm`` (when the minimal-norm attack ran): ``dist``, ``success``, ``ratio`` (to its own
  unconstrained distance) and ``offshare`` for "none", "on/tangent", "off/tangent", "on/random";
- ``vs``: {control: {"R": mean R(tangent) / mean R(control), "on": mean on-manifold distance in the
  tangent space / in the control}} (paired, the images where both are defined);
- ``cmp``: the paired comparisons the claims judge (:func:`dmmlib.claims.compare`, hierarchical
  bootstrap over models, then images): "R/<space>" (mean R(tangent) / mean R(space), every other space), "E/random"
  (mean E(tangent) - mean E(random)), "on/<space>" (PGD on-subspace distance, tangent / space,
  images where both succeeded), "mn_on/random" (the same for the minimal-norm attack);
- ``inv_R2``: {"tangent": mean 1 / R(d, M)^2} (what E would be were d the gradient direction and the
  model linear: the same quantity as E read from R);

Every value is an :class:`~dmmlib.claims.Estimate` (n = images, n_of says over how many
models), and ``per_unit`` holds the per-model values of the same keys ("R/tangent", ...).
"""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np
from torch import Tensor

from dmmlib.chapters.on_off_manifold.intervals import mean, paired as paired_compare, ratio_of_means
from dmmlib.stats import hierarchical_bootstrap as hier_bootstrap
from dmmlib.claims import Estimate
from dmmlib.subspaces import expected_random_ratio


def spaces(records: Mapping[str, Tensor]) -> list[str]:
    """The subspaces in ``records`` ("tangent" first), from the keys "t1/R/<space>"."""
    names = [k.split("/")[2] for k in records if k.startswith("t1/R/")]
    return sorted(names, key=lambda s: (s != "tangent", s.startswith("tangent"), s))


def factors(records: Mapping[str, Tensor]) -> list[float]:
    """The on-manifold step factors in ``records``, ascending."""
    return sorted({float(k.split("/")[2]) for k in records if k.startswith("t2/onf/") and k.endswith("/dist")})


def _np(t: Tensor) -> np.ndarray:
    t = t.detach().cpu()
    return t.double().numpy() if t.is_floating_point() else t.numpy()


def summarize(records: Mapping[str, Tensor], dataset: str, n: int, k: int, *, n_boot: int = 2000,
              prefix: str = "") -> dict:
    """The results of one dataset (see the module docstring). ``prefix`` "recon/" summarises the
    attack at x' instead (over the images whose x' is classified correctly)."""
    units = _np(records["unit"]) if "unit" in records else np.zeros(len(records["label"]), dtype=int)
    n_units = len(np.unique(units))
    of = f"images, {n_units} model{'s' if n_units != 1 else ''}"
    per_unit: dict[str, tuple] = {}

    def est(key: str, stat, arrays, mask, unit_label: str = "") -> Estimate:
        arrays = [a[mask] for a in arrays]
        h = hier_bootstrap(stat, arrays, units[mask], n_boot=n_boot)
        per_unit[key] = h.per_unit
        return Estimate(h.estimate, h.lo, h.hi, h.n, of, unit_label)

    base = np.ones(len(units), dtype=bool)
    if prefix:
        base &= _np(records["xr_valid"]).astype(bool)
    t1 = prefix + "t1/"
    t2 = prefix + "t2/"
    ok1 = base & _np(records[t1 + "success"]).astype(bool)
    out: dict = {"dataset": dataset, "n_pixels": n, "k": k, "units": n_units, "images": int(base.sum()),
                 "sqrt_nk": math.sqrt(n / k), "expected_R": expected_random_ratio(n, k)}
    out["t1_success"] = est("t1_success", mean, [_np(records[t1 + "success"]).astype(float)], base)
    out["R"], out["E"], out["E_median"] = {}, {}, {}
    for s in spaces(records):
        if t1 + f"R/{s}" not in records:
            continue
        out["R"][s] = est(f"R/{s}", mean, [_np(records[t1 + f"R/{s}"])], ok1)
        E = _np(records[t1 + f"E/{s}"])
        out["E"][s] = est(f"E/{s}", mean, [E], ok1)
        out["E_median"][s] = float(np.nanmedian(E[ok1])) if ok1.any() else float("nan")
    valid = ok1 & _np(records["xr_valid"]).astype(bool)
    Exr = _np(records[t1 + "E_xr/tangent"])
    out["xr_valid"] = int(valid.sum())
    out["E_xr"] = est("E_xr", mean, [Exr], valid)
    out["E_xr_median"] = float(np.nanmedian(Exr[valid])) if valid.any() else float("nan")
    out["flip_on"] = est("flip_on", mean, [_np(records[t1 + "flip_on"]).astype(float)], ok1)
    out["flip_on_xr"] = est("flip_on_xr", mean, [_np(records[t1 + "flip_on_xr"]).astype(float)], valid)
    out["d_norm"] = est("d_norm", mean, [_np(records[t1 + "d_norm"])], ok1)
    out["ae_error"] = est("ae_error", mean, [_np(records["ae_error"])], base)

    # table 2
    none_ok = base & _np(records[t2 + "none/success"]).astype(bool)
    none = _np(records[t2 + "none/dist"])
    out["dist"] = {"none": est("dist/none", mean, [none], none_ok)}
    out["success"] = {"none": est("success/none", mean, [none_ok.astype(float)], base)}
    out["ratio"], out["offshare"] = {}, {}
    keys = [f"{m}/{s}" for s in spaces(records) for m in ("on", "off")]
    keys += [f"onf/{f:g}" for f in factors(records)] if not prefix else []
    keys += [f"boxfree/{m}" for m in ("on", "off") if t2 + f"boxfree/{m}/tangent/dist" in records]
    for key in keys:
        rk = t2 + (key + "/tangent" if key.startswith(("onf/", "boxfree/")) else key)
        if rk + "/dist" not in records:
            continue
        ok = base & _np(records[rk + "/success"]).astype(bool)
        d = _np(records[rk + "/dist"])
        out["dist"][key] = est(f"dist/{key}", mean, [d], ok)
        out["success"][key] = est(f"success/{key}", mean, [ok.astype(float)], base)
        out["ratio"][key] = est(f"ratio/{key}", ratio_of_means, [d, none], ok & none_ok)
        if key in ("on/tangent", "off/tangent", "boxfree/on", "boxfree/off"):
            R = _np(records[rk + "/R"])
            off_share = np.sqrt(np.clip(1 - 1 / R**2, 0, 1))
            out["offshare"][key.replace("/tangent", "")] = est(f"offshare/{key}", mean, [off_share], ok)
    fs = factors(records) if not prefix else []
    if len(fs) >= 2:
        a, b = (t2 + f"onf/{fs[-1]:g}/tangent", t2 + f"onf/{fs[0]:g}/tangent")
        both = base & _np(records[a + "/success"]).astype(bool) & _np(records[b + "/success"]).astype(bool)
        out["factor_effect"] = est("factor_effect", ratio_of_means, [_np(records[a + "/dist"]), _np(records[b + "/dist"])], both)
        out["factors"] = (fs[0], fs[-1])
    if t2 + "mn/none/dist" in records:
        mn_none_ok = base & _np(records[t2 + "mn/none/success"]).astype(bool)
        mn_none = _np(records[t2 + "mn/none/dist"])
        mn = {"dist": {"none": est("mn/dist/none", mean, [mn_none], mn_none_ok)},
              "success": {"none": est("mn/success/none", mean, [mn_none_ok.astype(float)], base)},
              "ratio": {}, "offshare": {}}
        for key in sorted({k[len(t2 + "mn/"):-len("/dist")] for k in records if k.startswith(t2 + "mn/")
                           and k.endswith("/dist")} - {"none"}):
            ok = base & _np(records[t2 + f"mn/{key}/success"]).astype(bool)
            d = _np(records[t2 + f"mn/{key}/dist"])
            mn["dist"][key] = est(f"mn/dist/{key}", mean, [d], ok)
            mn["success"][key] = est(f"mn/success/{key}", mean, [ok.astype(float)], base)
            mn["ratio"][key] = est(f"mn/ratio/{key}", ratio_of_means, [d, mn_none], ok & mn_none_ok)
            R = _np(records[t2 + f"mn/{key}/R"])
            mn["offshare"][key] = est(f"mn/offshare/{key}", mean, [np.sqrt(np.clip(1 - 1 / R**2, 0, 1))], ok)
        out["min_norm"] = mn
    out["cmp"] = cmp = _comparisons(records, units, of, ok1, base, t1, t2, n_boot)
    # the tables' tangent / control ratios are the same paired comparisons (computed once)
    out["vs"] = {s: {q: cmp[f"{q}/{s}"] for q in ("R", "on") if f"{q}/{s}" in cmp}
                 for s in spaces(records) if f"R/{s}" in cmp}
    out["inv_R2"] = {"tangent": est("inv_R2/tangent", mean, [1.0 / _np(records[t1 + "R/tangent"]) ** 2], ok1)}
    out["per_unit"] = per_unit
    return out


def _comparisons(records, units, of, ok1, base, t1, t2, n_boot) -> dict[str, Estimate]:
    """The paired comparisons of the tangent space with every other subspace (see ``cmp`` in
    the module docstring): the same images, the same models, one-sided criteria in :mod:`claims`."""
    out: dict[str, Estimate] = {}

    def paired(key, a, b, mask, statistic):
        out[key] = paired_compare(a[mask], b[mask], statistic=statistic, units=units[mask], n_of=of, n_boot=n_boot)

    def ok(key):
        return base & _np(records[key + "/success"]).astype(bool)

    for s in [s for s in spaces(records) if s != "tangent" and t1 + f"R/{s}" in records]:
        paired(f"R/{s}", _np(records[t1 + "R/tangent"]), _np(records[t1 + f"R/{s}"]), ok1, "ratio")
        on_t, on_c = t2 + "on/tangent", t2 + f"on/{s}"
        if on_c + "/dist" in records:
            paired(f"on/{s}", _np(records[on_t + "/dist"]), _np(records[on_c + "/dist"]), ok(on_t) & ok(on_c), "ratio")
    if t1 + "E/random" in records:
        paired("E/random", _np(records[t1 + "E/tangent"]), _np(records[t1 + "E/random"]), ok1, "difference")
    mn_t, mn_r = t2 + "mn/on/tangent", t2 + "mn/on/random"
    if mn_r + "/dist" in records:
        paired("mn_on/random", _np(records[mn_t + "/dist"]), _np(records[mn_r + "/dist"]), ok(mn_t) & ok(mn_r), "ratio")
    return out


def last_epoch_drop(histories) -> float:
    """The largest, over autoencoders, relative fall of the loss over the last tenth of training
    (:func:`dmmlib.convergence.relative_change`, the book's one convergence rule), from their
    per-epoch losses (a list per autoencoder: the curve :func:`dmmlib.convergence.judged_curve`
    picks, the held-out loss): how far from converged the least converged one is. nan when one
    of them is too short to judge (fewer than 4 epochs)."""
    from dmmlib.convergence import relative_change

    changes = [relative_change([float(v) for v in h]) for h in histories]
    if not changes or any(c != c for c in changes):
        return float("nan")
    return max(changes)
