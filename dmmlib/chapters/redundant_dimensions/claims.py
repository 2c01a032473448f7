"""The claims of the chapter "Is it just redundant dimensions?" and the rules that decide them.

``claims(results, P)`` turns the measurements of :func:`.experiment.run` into claims. Every
threshold is fixed here, before any run. A setting (``results["synthetic"][geometry]`` or
``results["mnist"]``) is a dict of numpy arrays: ``free``, ``on``, ``off`` (S seeds, N ambient
dimensions, B points: minimal adversarial L2 distances, nan where the clean point is
misclassified, inf where the attack failed), ``g_on``, ``g_off`` (S, N, B: the margin gradient's
norms in and orthogonal to the tangent space), ``accuracy`` (S, N), ``ns`` (N,) and ``k``.

**Scaling exponents.** For each seed, a quantity's median over the points at each n is fitted
by least squares in log-log coordinates, ``log q = c + beta log n`` (:func:`loglog_slopes`); the
exponent's estimate is the mean of the per-seed slopes with its Student-t interval over seeds
(95 %; with five seeds a percentile bootstrap of five values under-covers, so the t interval is
used). Failed attacks count as infinitely far (a median with inf stays finite while fewer than
half fail; the success rate is a precondition).

**The quantities and the predictions set beside them** (:data:`PREDICTIONS`), per setting:

- ``off``: the minimal off-manifold distance. The notes' reading of the DMM ("redundant
  dimensionality makes models more vulnerable") predicts that it shrinks as n grows: beta < 0.
- ``free``: the minimal unconstrained distance. Gilmer et al.'s bound (Theorem 5.1: errors within
  O(1/sqrt(d)) at a fixed error rate) with d the ambient n predicts beta = -1/2 (band
  [-0.65, -0.35]); with d the data's own dimension k (fixed here) it predicts 0.
- ``on``: the minimal on-manifold distance: the manifold, the labels and the points do not change
  with n, so a classifier that uses only the data's directions (the linear picture of Tanay,
  distance |w.x + b| / ||w|| with w in the data's span) gives beta = 0 (band [-0.15, 0.15]).
- ``gap``: the ratio on / free per point (median): the DMM's gap between on- and off-manifold
  adversarial distances; redundancy predicts it grows with n (beta > 0).
- ``grad``: the ratio of the margin gradient's norms off / on the tangent space per point (median):
  redundancy predicts more of the gradient off the manifold as n grows (beta > 0; a random
  direction gives sqrt((n - k) / k), beta = 1/2 for n >> k).

Each claim's ``extra`` holds the per-seed slopes, the medians per n, and the verdict of every
other model's prediction band for the same exponent (one quantity, one claim).

Preconditions (measured in the same run): the classifier's accuracy at every n and seed (its
minimum) and, for the distances, the attacks' success rate among correctly classified points (its
minimum over n and seeds).
"""
from __future__ import annotations

import warnings

import numpy as np

from dmmlib.claims import Claim, Criterion, Estimate, claim, precondition, scale_text
from dmmlib.stats import seed_interval

CHAPTER = "redundant_dimensions"

# thresholds, fixed before the run
#: half-width of an equivalence band around a predicted exponent
BAND = 0.15
#: the classifiers must have learnt the task at every n (synthetic: the curved label rule; MNIST: ten digits)
ACCURACY = {"synthetic": 0.85, "mnist": 0.9}
#: the attacks must find an adversarial point for most correctly classified points at every n
SUCCESS = 0.9

NOTES = "reading notes on the DMM (seeds/002), 'redundancy and vulnerability'"
GILMER = "Gilmer et al. 2018, Adversarial Spheres, abstract and Theorem 5.1"
QUOTES = {
    "notes": "is the essence of this paper that redundant dimensionality makes models more vulnerable?",
    "perpendicular": "This leaves a lot of space for the adversarial examples to exist perpendicularly from the "
                     "true location of the low-dimensional object (the natural image).",
    "redundant": "the redundant dimensions can be used to construct pseudo-images that won't occur in reality but "
                 "still get classified by the neural net",
    "gilmer": "we prove that any model which misclassifies a small constant fraction of a sphere will be vulnerable "
              "to adversarial perturbations of size",
}
#: the exponent each model predicts for each quantity: a number (equivalence band +- BAND), "<0", ">0" or None
PREDICTIONS = {
    "free": {"redundancy (notes)": "<0", "Gilmer, d = n": -0.5, "Gilmer, d = k": 0.0, "linear (Tanay)": 0.0},
    "on": {"redundancy (notes)": 0.0, "Gilmer, d = n": None, "Gilmer, d = k": 0.0, "linear (Tanay)": 0.0},
    "off": {"redundancy (notes)": "<0", "Gilmer, d = n": -0.5, "Gilmer, d = k": 0.0, "linear (Tanay)": 0.0},
    "gap": {"redundancy (notes)": ">0", "Gilmer, d = n": 0.5, "Gilmer, d = k": 0.0, "linear (Tanay)": 0.0},
    "grad": {"redundancy (notes)": ">0", "Gilmer, d = n": None, "Gilmer, d = k": None, "linear (Tanay)": None,
             "random direction": 0.5},
}
QUANTITIES = {
    "free": "minimal unconstrained adversarial distance",
    "on": "minimal on-manifold adversarial distance",
    "off": "minimal off-manifold adversarial distance",
    "gap": "on-manifold / unconstrained distance (per point)",
    "grad": "off- / on-manifold norm of the margin gradient (per point)",
}
SETTINGS = {"linear": "synthetic flat manifold", "curved": "synthetic curved manifold", "mnist": "MNIST"}


def loglog_slopes(ns, values) -> np.ndarray:
    """Least-squares slopes (S,) of ``log values[s]`` against ``log ns``: ``ns`` (N,) > 0, ``values``
    (S, N) > 0 (one row per seed). A row with a non-finite or non-positive value gives nan."""
    ns = np.asarray(ns, dtype=np.float64)
    v = np.atleast_2d(np.asarray(values, dtype=np.float64))
    if ns.ndim != 1 or v.shape[1] != len(ns) or len(ns) < 2 or (ns <= 0).any():
        raise ValueError(f"need ns (N >= 2,) > 0 and values (S, N), got {ns.shape} and {v.shape}")
    ok = np.isfinite(v).all(1) & (v > 0).all(1)
    x = np.log(ns) - np.log(ns).mean()
    with np.errstate(divide="ignore", invalid="ignore"):
        ly = np.log(np.where(v > 0, v, np.nan))
        slopes = ((ly - ly.mean(1, keepdims=True)) * x).sum(1) / (x ** 2).sum()
    return np.where(ok, slopes, np.nan)


def per_n(setting: dict, quantity: str) -> np.ndarray:
    """(S, N) medians over the points of ``quantity`` (:data:`QUANTITIES`) per seed and n; points
    misclassified (nan) are left out, failed attacks (inf) kept as infinitely far."""
    if quantity in ("free", "on", "off"):
        q = np.asarray(setting[quantity], dtype=np.float64)
    elif quantity == "gap":
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.asarray(setting["on"], dtype=np.float64) / np.asarray(setting["free"], dtype=np.float64)
        q = np.where(np.isnan(np.asarray(setting["free"], dtype=np.float64)), np.nan, q)
    elif quantity == "grad":
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.asarray(setting["g_off"], dtype=np.float64) / np.asarray(setting["g_on"], dtype=np.float64)
    else:
        raise ValueError(f"quantity must be one of {tuple(QUANTITIES)}, got {quantity!r}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a (seed, n) cell with no correct point: nan
        return np.nanmedian(q, axis=-1)


def success_rates(setting: dict, modes=("free", "on", "off")) -> np.ndarray:
    """(S, N) the lowest success rate over ``modes`` among the correctly classified points (nan: none)."""
    rates = []
    for m in modes:
        d = np.asarray(setting[m], dtype=np.float64)
        attacked = ~np.isnan(d)
        with np.errstate(invalid="ignore"):
            rates.append(np.isfinite(d).sum(-1) / np.where(attacked.sum(-1) > 0, attacked.sum(-1), np.nan))
    return np.min(rates, axis=0)


def exponent(setting: dict, quantity: str) -> tuple[Estimate, np.ndarray]:
    """The exponent of ``quantity`` in n: (estimate over seeds, per-seed slopes (S,))."""
    slopes = loglog_slopes(setting["ns"], per_n(setting, quantity))
    return Estimate.of(seed_interval(slopes), n_of="seeds", unit=""), slopes


def band_verdicts(est: Estimate, quantity: str) -> dict:
    """{model: verdict} of each model's prediction for this exponent (a band of +- BAND, or a sign)."""
    out = {}
    for model, pred in PREDICTIONS[quantity].items():
        if pred is None:
            continue
        if pred == "<0":
            crit = Criterion("<", 0.0)
        elif pred == ">0":
            crit = Criterion(">", 0.0)
        else:
            crit = Criterion("within", pred - BAND, pred + BAND)
        out[model] = {"prediction": pred, "verdict": crit.judge(est)}
    return out


def _criterion(quantity: str) -> tuple[Criterion, str, str, str, str]:
    """(criterion, kind, source, quote, paper) of the claim on ``quantity``."""
    if quantity == "free":
        return (Criterion("within", -0.5 - BAND, -0.5 + BAND, meaning="Gilmer's O(1/sqrt(d)) with d = n: "
                          "exponent -1/2 +- 0.15"), "companion", GILMER, QUOTES["gilmer"], "exponent -1/2 (d = n)")
    if quantity == "on":
        return (Criterion("within", -BAND, BAND, meaning="a fixed manifold and a classifier confined to the data's "
                          "span (linear picture): exponent 0 +- 0.15"), "extension",
                "the book's extension (Tanay's linear picture, DMM sec. 4 on-manifold distances)", "", "exponent 0")
    if quantity == "off":
        return (Criterion("<", 0.0, meaning="shrinks as n grows"), "notes", NOTES, QUOTES["notes"], "exponent < 0")
    if quantity == "gap":
        return (Criterion(">", 0.0, meaning="the on/unconstrained gap grows with n"), "notes", NOTES,
                QUOTES["perpendicular"], "exponent > 0")
    return (Criterion(">", 0.0, meaning="more of the gradient off the manifold as n grows (random direction: 1/2)"),
            "notes", NOTES, QUOTES["redundant"], "exponent > 0")


def setting_claims(name: str, setting: dict, P) -> list[Claim]:
    """The five claims (:data:`QUANTITIES`) of one setting (``name`` in :data:`SETTINGS`)."""
    family = "mnist" if name == "mnist" else "synthetic"
    acc = np.asarray(setting["accuracy"], dtype=np.float64)
    S, N = acc.shape
    acc_pre = precondition(f"lowest classifier accuracy over the {N} dimensions and {S} seeds", float(acc.min()),
                           ">", ACCURACY[family], meaning="a trained classifier at every n",
                           paper="MNIST MLP 98 % (DMM app. G.1)" if family == "mnist" else "")
    B = np.asarray(setting["free"]).shape[-1]
    scale = scale_text(P["profile"], seeds=S, dimensions=N, points=B)
    out = []
    for quantity, meaning in QUANTITIES.items():
        est, slopes = exponent(setting, quantity)
        crit, kind, source, quote, paper = _criterion(quantity)
        pre = [acc_pre]
        if quantity != "grad":
            modes = {"free": ("free",), "on": ("on",), "off": ("off",), "gap": ("on", "free")}[quantity]
            rate = success_rates(setting, modes)
            pre.append(precondition(f"lowest success rate of the {'/'.join(modes)} attack(s) over n and seeds",
                                    float(np.nanmin(rate)) if np.isfinite(rate).any() else float("nan"), ">",
                                    SUCCESS, meaning="few censored points"))
        medians = per_n(setting, quantity)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an n where every attack failed: nan
            mean_medians = np.nanmean(np.where(np.isfinite(medians), medians, np.nan), axis=0)
        out.append(claim(
            f"{CHAPTER}.{name}_{quantity}",
            f"{SETTINGS[name]}: how the {meaning} scales with the ambient dimension n (fitted exponent; "
            f"k = {setting['k']} fixed)",
            kind=kind, quote=quote, source=source, paper=paper, ours=est, criterion=crit, preconditions=pre,
            scale=scale, section=f"sec-rd-{'mnist' if name == 'mnist' else 'synthetic'}",
            title=f"{SETTINGS[name]}: exponent of the {meaning.split(' (')[0]}",
            extra={"per_seed_slope": slopes.tolist(), "ns": np.asarray(setting["ns"]).tolist(),
                   "median_per_n": mean_medians.tolist(),
                   "models": band_verdicts(est, quantity)}))
    return out


def claims(results: dict, P) -> list[Claim]:
    """Every claim of the chapter: five per synthetic geometry and five for MNIST."""
    out = []
    for geometry, setting in results["synthetic"].items():
        out += setting_claims(geometry, setting, P)
    out += setting_claims("mnist", results["mnist"], P)
    return out
