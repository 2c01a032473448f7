"""The claims of the chapter "Two-layer ReLU networks on a linear subspace" and the rules that
decide them.

``claims(results, P)`` turns the measurements of :func:`experiment.run` into
:class:`dmmlib.claims.Claim`s. Every threshold is fixed here, before any run. ``results``
holds, per setting g (``results["settings"][g] = (n, k, init, wd)``; the sweeps' indices in
``results["index"]``) and seed s: per network ``acc_train``, ``acc_test``, ``reached``,
``box_use`` (G, S), and per test point (G, S, T) ``g_par``, ``g_perp``, ``r_rand``,
``x_norm``, ``d_free``, ``d_on``, ``d_off`` (inf: the attack found no perturbation; nan: the
point is misclassified and not attacked).

The unit is the network (one per seed and setting); a network's value is its median over its
test points. Claims (kind ``companion``: sentences of the abstract of Melamed, Yehudai and
Vardi 2023, :data:`source.ABSTRACT`):

- ``orthogonal_gradient``: at the base setting, the ratio ||grad_perp|| / ||grad_par|| of the
  input gradient over that of a Gaussian random direction (a direction indifferent to the
  subspace: about sqrt((n - k) / k)), paired per network: > 0.1 (within an order of magnitude
  of an indifferent direction; a network that ignored the orthogonal directions gives 0);
- ``off_vs_on``: at the base setting, the minimal orthogonal-only flipping perturbation over
  the minimal in-subspace one, paired per network: < 1;
- ``off_vs_data``: the minimal orthogonal-only perturbation over the data's norm ||x||: < 0.25;
- ``init_trend``: over the init sweep, per seed, the slope of log d_off against log s minus
  the slope of log d_on (the control): < 0 (a smaller scale raises the orthogonal distance more
  than the in-subspace one);
- ``weight_decay_trend``: the same against log wd: > 0.

Preconditions (measured in the same run, per claim over the settings it uses): every network
reached the target margin on its training set, the mean test accuracy of every setting is
above :data:`TEST_ACCURACY`, the attacks it reads succeeded on more than
:data:`ATTACK_SUCCESS` of the points, and the attack's box never bound (``box_use`` < 1).
The accuracy cost of the two remedies is reported with the trends (``extra``).
"""
from __future__ import annotations

import warnings

import numpy as np

from dmmlib.claims import Claim, Criterion, Estimate, claim, compare, precondition, scale_text
from dmmlib.chapters.two_layer_subspace.source import ABSTRACT
from dmmlib.stats import seed_interval

CHAPTER = "two_layer_subspace"
SOURCE = "Melamed, Yehudai & Vardi 2023, abstract"

# thresholds, fixed before the run
#: orthogonal/parallel gradient ratio over a random direction's: above this, the orthogonal gradient
#: is within an order of magnitude of a direction indifferent to the subspace
GRADIENT_SHARE = 0.1
#: d_off / ||x||: below this, "small" (a quarter of the data's norm)
SMALL_SHARE = 0.25
#: every setting's mean test accuracy must exceed this (the networks learned the labels)
TEST_ACCURACY = 0.9
#: the share of networks that reached the target margin on their training set must exceed this
FIT_SHARE = 0.999
#: the attacks a claim reads must have found a perturbation for more than this share of the points
ATTACK_SUCCESS = 0.9

#: the sentences the claims test, verbatim substrings of source.ABSTRACT
QUOTES = {
    "gradient": "networks which have large gradients in directions orthogonal to the data subspace",
    "small": "are susceptible to small adversarial $L_2$-perturbations in these directions",
    "init": "decreasing the initialization scale of the training algorithm",
    "wd": "adding $L_2$ regularization, can make the trained network more robust to adversarial perturbations "
          "orthogonal to the data",
}
if not all(q in ABSTRACT for q in QUOTES.values()):  # pragma: no cover - a typo in a quote
    raise ImportError("a quote of two_layer_subspace/claims.py is not verbatim in source.ABSTRACT")


def net_median(values) -> np.ndarray:
    """Per network, the median over its attacked points: (..., T) -> (...). nan points
    (misclassified, not attacked) are left out; inf (no perturbation found) counts as larger
    than any; a network without points gives nan."""
    v = np.asarray(values, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-nan networks: nan
        return np.nanmedian(v, axis=-1)


def success(values) -> float:
    """Share of the attacked points (not nan) with a perturbation found (finite); nan if none."""
    v = np.asarray(values, dtype=np.float64)
    attacked = ~np.isnan(v)
    return float(np.isfinite(v[attacked]).mean()) if attacked.any() else float("nan")


def slopes(x, y) -> np.ndarray:
    """Least-squares slope of each column of ``y`` (G, S) against ``x`` (G,): (S,); nan where a
    column has a non-finite value."""
    x = np.asarray(x, dtype=np.float64).reshape(-1, 1)
    y = np.asarray(y, dtype=np.float64)
    if y.shape[0] != x.shape[0] or x.shape[0] < 2:
        raise ValueError(f"slopes need y (G, S) with G = len(x) >= 2, got x {x.shape[0]}, y {y.shape}")
    xc = x - x.mean()
    with np.errstate(invalid="ignore"):
        out = (xc * (y - y.mean(0))).sum(0) / (xc ** 2).sum()
    out[~np.isfinite(y).all(0)] = np.nan
    return out


def fit_preconditions(results: dict, idx, attacks=("d_off", "d_on")) -> list:
    """The preconditions of a claim that reads the settings ``idx``: the networks fit (target
    margin reached; test accuracy), the attacks found their perturbations, the box never bound."""
    idx = list(np.atleast_1d(idx))
    reached = np.asarray(results["reached"], dtype=bool)[idx]
    acc = np.asarray(results["acc_test"], dtype=np.float64)[idx]
    box = np.asarray(results["box_use"], dtype=np.float64)[idx]
    out = [
        precondition("share of networks that fit their training set with the target margin",
                     float(reached.mean()), ">", FIT_SHARE, meaning="every network fits"),
        precondition("lowest mean test accuracy over the settings", float(acc.mean(1).min()), ">", TEST_ACCURACY,
                     meaning="the networks learned the labels"),
        precondition("largest share of the attack's box used", float(box.max()), "<", 1.0,
                     meaning="the [0, 1] box of the attack never binds"),
    ]
    for key in attacks:
        rate = min(success(np.asarray(results[key])[g]) for g in idx)
        out.append(precondition(f"lowest success rate of the {key[2:]} attack over the settings", rate, ">",
                                ATTACK_SUCCESS, meaning="a perturbation found at nearly every point"))
    return out


def _scale(P, results, **counts) -> str:
    T = np.asarray(results["d_off"]).shape[-1]
    S = np.asarray(results["d_off"]).shape[1]
    return scale_text(P["profile"], seeds=S, **counts, points=T)


def claims(results: dict, P) -> list[Claim]:
    """The chapter's claims (module docstring) from ``results`` and the parameters ``P``."""
    index = results["index"]
    base = index["base"]
    settings = [tuple(s) for s in results["settings"]]
    n, k = settings[base][0], settings[base][1]
    d_off, d_on, d_free = (net_median(np.asarray(results[key])[base]) for key in ("d_off", "d_on", "d_free"))
    xn = net_median(np.asarray(results["x_norm"])[base])
    ratio = np.asarray(results["g_perp"])[base] / np.asarray(results["g_par"])[base]
    grad = np.nanmean(ratio, axis=-1)
    rand = np.nanmean(np.asarray(results["r_rand"])[base], axis=-1)
    base_pre = fit_preconditions(results, base)
    out = []

    out.append(claim(
        f"{CHAPTER}.orthogonal_gradient", "Trained networks keep large input gradients orthogonal to the data "
        "subspace: their orthogonal-to-parallel gradient-norm ratio is at least a tenth of a random direction's "
        "(paired per network, base setting)", kind="companion", quote=QUOTES["gradient"], source=SOURCE,
        paper="qualitative (a lower bound on the orthogonal gradient)",
        ours=compare(grad, rand, statistic="ratio", n_of="networks (seeds)"),
        criterion=Criterion(">", GRADIENT_SHARE, meaning="0: the network ignores the orthogonal directions; 1: as "
                                                          "orthogonal as a random direction"),
        control=Estimate.of(seed_interval(rand), n_of="networks (seeds)"),
        control_name=f"a Gaussian random direction's ratio (about sqrt((n - k) / k) = {np.sqrt((n - k) / k):.3g})",
        paired=True, preconditions=base_pre[:2], scale=_scale(P, results, n=n, k=k), section="tls-gradient",
        title="Large orthogonal gradients",
        extra={"per_network_ratio": grad.tolist(), "per_network_random_ratio": rand.tolist(),
               "orthogonal_norm_median": float(np.median(np.asarray(results["g_perp"])[base])),
               "parallel_norm_median": float(np.median(np.asarray(results["g_par"])[base]))}))

    out.append(claim(
        f"{CHAPTER}.off_vs_on", "The minimal perturbation orthogonal to the data subspace that flips the label is "
        "smaller than the minimal one within the subspace (ratio of medians per network, paired, base setting)",
        kind="companion", quote=QUOTES["small"], source=SOURCE, paper="qualitative",
        ours=compare(d_off, d_on, statistic="ratio", n_of="networks (seeds)"),
        criterion=Criterion("<", 1.0, meaning="below 1: leaving the subspace flips the label sooner than moving "
                                               "along it"),
        control=Estimate.of(seed_interval(d_on), n_of="networks (seeds)"),
        control_name="minimal in-subspace perturbation (median per network)", paired=True,
        preconditions=base_pre, scale=_scale(P, results, n=n, k=k), section="tls-distance",
        title="Orthogonal flip shorter than in-subspace",
        extra={"per_network_off": d_off.tolist(), "per_network_on": d_on.tolist(),
               "per_network_free": d_free.tolist(),
               "off_over_free": compare(d_off, d_free, statistic="ratio").text(),
               "success_off": success(np.asarray(results["d_off"])[base]),
               "success_on": success(np.asarray(results["d_on"])[base]),
               "success_free": success(np.asarray(results["d_free"])[base])}))

    share = d_off / xn
    out.append(claim(
        f"{CHAPTER}.off_vs_data", "The minimal orthogonal flipping perturbation is small against the data: below a "
        "quarter of the norm of the data points (median per network, base setting)", kind="companion",
        quote=QUOTES["small"], source=SOURCE, paper="qualitative",
        ours=Estimate.of(seed_interval(share), n_of="networks (seeds)"),
        criterion=Criterion("<", SMALL_SHARE, meaning="a quarter of ||x||"),
        preconditions=fit_preconditions(results, base, attacks=("d_off",)), scale=_scale(P, results, n=n, k=k),
        section="tls-distance", title="Orthogonal flip small against the data",
        extra={"per_network": share.tolist(), "data_norm_median": float(np.median(xn))}))

    out.append(trend_claim(results, P, "init", lambda s: s[2], "init_trend", "<"))
    out.append(trend_claim(results, P, "wd", lambda s: s[3], "weight_decay_trend", ">"))
    return out


def trend_claim(results: dict, P, sweep: str, knob, name: str, direction: str) -> Claim:
    """The trend of the orthogonal distance over one sweep (``"init"`` or ``"wd"``): per seed,
    the slope of log d_off against log of the knob, minus the same slope of log d_on (the
    control), as a paired difference over seeds; ``direction`` the side the paper predicts."""
    idx = list(results["index"][sweep])
    settings = [tuple(results["settings"][g]) for g in idx]
    x = np.log([knob(s) for s in settings])
    off = np.log(net_median(np.asarray(results["d_off"])[idx]))
    on = np.log(net_median(np.asarray(results["d_on"])[idx]))
    free = np.log(net_median(np.asarray(results["d_free"])[idx]))
    s_off, s_on, s_free = slopes(x, off), slopes(x, on), slopes(x, free)
    acc = np.asarray(results["acc_test"], dtype=np.float64)[idx].mean(1)
    perp = np.log(np.median(np.asarray(results["g_perp"])[idx], axis=-1))
    label = "initialisation scale" if sweep == "init" else "weight decay"
    word = "smaller" if direction == "<" else "larger"
    values = [knob(s) for s in settings]
    return claim(
        f"{CHAPTER}.{name}", f"A {word} {label} makes the networks more robust orthogonally to the data: the "
        f"orthogonal minimal perturbation grows faster than the in-subspace one (log-log slope against the "
        f"{label}, minus the in-subspace slope, per seed)", kind="companion",
        quote=QUOTES[sweep], source=SOURCE, paper="qualitative (direction only)",
        ours=compare(s_off, s_on, statistic="difference", n_of="seeds (networks per setting)"),
        criterion=Criterion(direction, 0.0, meaning=f"{'below' if direction == '<' else 'above'} 0: the direction "
                                                    "the paper predicts"),
        control=Estimate.of(seed_interval(s_on), n_of="seeds"), control_name="the in-subspace distance's slope",
        paired=True, preconditions=fit_preconditions(results, idx),
        scale=_scale(P, results, settings=len(idx)), section="tls-trends",
        title=f"{word.capitalize()} {label}, more orthogonal robustness",
        extra={"knob_values": values, "slope_off_per_seed": s_off.tolist(), "slope_on_per_seed": s_on.tolist(),
               "slope_off": Estimate.of(seed_interval(s_off), n_of="seeds").text(),
               "slope_free": Estimate.of(seed_interval(s_free), n_of="seeds").text(),
               "slope_orthogonal_gradient": Estimate.of(seed_interval(slopes(x, perp)), n_of="seeds").text(),
               "test_accuracy_per_setting": acc.tolist(),
               "accuracy_cost_pp": accuracy_cost(values, acc, direction)})


def accuracy_cost(values, acc, direction: str) -> float:
    """Test accuracy (percentage points) lost by taking the remedy to the end of the sweep: the
    accuracy at the sweep's untreated end minus that at its remedy end (the smallest value of
    the knob for ``direction`` "<", the largest for ">"). > 0: the remedy costs accuracy."""
    values, acc = np.asarray(values, dtype=np.float64), np.asarray(acc, dtype=np.float64)
    remedy, plain = (values.argmin(), values.argmax()) if direction == "<" else (values.argmax(), values.argmin())
    return float(100 * (acc[plain] - acc[remedy]))
