"""The theory of *Adversarial Spheres* (Gilmer et al. 2018): closed forms, no training.

- The quadratic network's ``alpha_i`` (appendix B) and the "perfect iff every
  ``alpha_i in [1/R^2, 1]``" check (section 4).
- Proposition 4.1 (appendix C): with ``u ~ N(0, I_d)`` the inner-sphere error event
  ``sum alpha_i z_i^2 > 1`` equals ``X = sum (alpha_i - 1) u_i^2 > 0``;
  ``mu = sum (alpha_i - 1)``, ``sigma^2 = 2 sum (alpha_i - 1)^2`` (the paper's statement
  writes ``sigma = 2 sum ...``, a typo for ``sigma^2``) and
  ``P(X > 0) ~ P(Z > -mu/sigma) = 1 - Phi(-mu/sigma) = Phi(mu/sigma)`` (appendix C, eq. 10;
  the statement of proposition 4.1 prints ``1 - Phi(mu/sigma)``, the wrong sign).
- Exact spherical caps (theorem 5.1, appendix A): for ``x`` uniform on the unit sphere of
  R^d, ``x_1^2 ~ Beta(1/2, (d-1)/2)``, so a cap's measure is a regularised incomplete beta
  function; the mean chordal (L2) distance from a uniform point to the cap of measure
  ``mu`` is a one-dimensional integral. By Figiel et al. (1977) the cap maximises the mean
  distance among all error sets of the same measure: the optimal curve of figure 5.
- Figure 4: the model ``sum_{i<=k} x_i^2 > b`` that sees only ``k`` of ``d`` coordinates;
  ``sum_{i<=k} z_i^2 ~ Beta(k/2, (d-k)/2)`` on the unit sphere gives its error exactly.
- Clopper-Pearson bounds for error rates estimated by sampling.

Distances are L2 in R^d; measures are fractions of the sphere's area (in [0, 1]).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy import integrate, optimize, special, stats


ArrayLike = "np.ndarray | torch.Tensor | list[float]"


def _alpha(alpha) -> np.ndarray:
    a = np.asarray(alpha.detach().cpu() if isinstance(alpha, torch.Tensor) else alpha, dtype=np.float64)
    if a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a)):
        raise ValueError(f"alpha must be a non-empty 1-D array of finite numbers, got shape {a.shape}")
    return a


# -- the quadratic network ------------------------------------------------------------


def incorrect_alphas(alpha, R: float = 1.3) -> np.ndarray:
    """Boolean mask ``(d,)``: ``alpha_i`` outside ``[1/R^2, 1]`` (section 4)."""
    a = _alpha(alpha)
    return (a > 1) | (a < 1 / R**2)


def is_perfect(alpha, R: float = 1.3) -> bool:
    """True iff every ``alpha_i in [1/R^2, 1]``: then no point of either sphere is misclassified."""
    return not incorrect_alphas(alpha, R).any()


def gaussian_quadratic_tail_clt(a) -> float:
    """CLT estimate of ``P(sum_i a_i u_i^2 > 0)``, ``u ~ N(0, I)``: ``Phi(mu / sigma)`` with
    ``mu = sum a_i``, ``sigma^2 = 2 sum a_i^2``."""
    a = _alpha(a)
    mu, sigma = a.sum(), math.sqrt(2 * (a**2).sum())
    if sigma == 0:
        return float(mu > 0)
    return float(stats.norm.cdf(mu / sigma))


def clt_error_rate(alpha) -> float:
    """Proposition 4.1: inner-sphere error ``P(sum alpha_i z_i^2 > 1) ~ 1 - Phi(-mu/sigma)``,
    ``mu = sum(alpha_i - 1)``, ``sigma^2 = 2 sum(alpha_i - 1)^2``."""
    return gaussian_quadratic_tail_clt(_alpha(alpha) - 1)


def clt_error_rate_outer(alpha, R: float = 1.3) -> float:
    """Outer-sphere error ``P(R^2 sum alpha_i z_i^2 < 1)`` by the same CLT:
    ``P(sum (1 - R^2 alpha_i) u_i^2 > 0)``."""
    return gaussian_quadratic_tail_clt(1 - R**2 * _alpha(alpha))


@torch.no_grad()
def sample_quadratic_tail(
    a, n: int, *, chunk: int = 1_000_000, generator: torch.Generator | None = None, progress: bool = False
) -> int:
    """Monte Carlo count of ``sum_i a_i u_i^2 > 0`` over ``n`` draws ``u ~ N(0, I_d)``.

    With ``a = alpha - 1`` this counts inner-sphere errors of a quadratic net exactly as
    sampling the sphere would (the net is rotation-equivalent to its eigen form), at O(d)
    per sample. Returns the number of positive draws (an int)."""
    from dmmlib.progress import progress as tqdm

    coeff = torch.as_tensor(_alpha(a), dtype=torch.float32)
    chunk = max(1, min(chunk, max(1, 2**24 // len(coeff))))
    count, done = 0, 0
    with tqdm(total=n, disable=not progress, desc="sampling") as bar:
        while done < n:
            m = min(chunk, n - done)
            u = torch.randn(m, len(coeff), generator=generator)
            count += int(((u * u) @ coeff > 0).sum())
            done += m
            bar.update(m)
    return count


# -- confidence bounds --------------------------------------------------------------------




# -- spherical caps (theorem 5.1) ---------------------------------------------------------


def _check_d(d: int) -> None:
    if not isinstance(d, (int, np.integer)) or d < 2:
        raise ValueError(f"dimension d must be an int >= 2, got {d!r}")


def cap_measure(t, d: int) -> np.ndarray:
    """Fraction of the unit sphere in R^d with ``x_1 > t``, ``t in [-1, 1]`` (array-like)."""
    _check_d(d)
    t = np.asarray(t, dtype=np.float64)
    if np.any(np.abs(t) > 1):
        raise ValueError("cap threshold t must lie in [-1, 1]")
    half = 0.5 * special.betainc((d - 1) / 2, 0.5, 1 - t**2)  # P(x_1 > |t|)
    return np.where(t >= 0, half, 1 - half)


def cap_threshold(mu, d: int) -> np.ndarray:
    """The ``t`` with ``cap_measure(t, d) = mu``, ``mu in (0, 1)`` (array-like)."""
    _check_d(d)
    mu = np.asarray(mu, dtype=np.float64)
    if np.any((mu <= 0) | (mu >= 1)):
        raise ValueError("cap measure mu must lie strictly between 0 and 1")
    small = np.minimum(mu, 1 - mu)  # P(x_1 > |t|) = small
    t_abs = np.sqrt(1 - special.betaincinv((d - 1) / 2, 0.5, 2 * small))
    return np.where(mu <= 0.5, t_abs, -t_abs)


def _mean_distance_one(mu: float, d: int) -> float:
    theta_t = math.acos(float(cap_threshold(mu, d)))
    log_norm = special.betaln(0.5, (d - 1) / 2)

    def integrand(phi: float) -> float:  # chord to the cap boundary x density of the angle to the pole
        s = math.sin(phi)
        if s <= 0:
            return 0.0
        return 2 * math.sin((phi - theta_t) / 2) * math.exp((d - 2) * math.log(s) - log_norm)

    width = 8 / math.sqrt(d)
    pts = sorted({p for p in (math.pi / 2 - width, math.pi / 2, math.pi / 2 + width) if theta_t < p < math.pi})
    val, _ = integrate.quad(integrand, theta_t, math.pi, points=pts or None, limit=400, epsabs=1e-13, epsrel=1e-9)
    return val


def cap_mean_distance(mu, d: int) -> np.ndarray:
    """Exact mean L2 (chordal) distance from a uniform point of the unit sphere in R^d to
    the cap of measure ``mu`` (array-like, in (0, 1)): the largest mean distance to the
    nearest error that any error set of measure ``mu`` allows (theorem 5.1)."""
    _check_d(d)
    mu = np.asarray(mu, dtype=np.float64)
    cap_threshold(mu, d)  # validates
    return np.vectorize(lambda m: _mean_distance_one(float(m), int(d)), otypes=[float])(mu)


def cap_mean_distance_gaussian(mu, d: int) -> np.ndarray:
    """The large-d form of appendix A: ``x_1 ~ N(0, 1/d)``, cap ``x_1 > a/sqrt(d)`` with
    ``a = Phi^{-1}(1 - mu)`` and distance ``a/sqrt(d) - x_1``, so
    ``d(E) ~ (a Phi(a) + phi(a)) / sqrt(d)``. (Appendix A writes a factor sqrt(2) in front
    of the distance; the chord to the cap boundary near the equator is ``t - x_1``, without it.)"""
    _check_d(d)
    a = stats.norm.isf(np.asarray(mu, dtype=np.float64))
    return (a * stats.norm.cdf(a) + stats.norm.pdf(a)) / math.sqrt(d)


def cap_distance_to_point(x: torch.Tensor, t: float) -> torch.Tensor:
    """L2 distance from points ``x`` ``(n, d)`` of the unit sphere to the cap ``x_1 > t``:
    ``2 sin(max(arccos x_1 - arccos t, 0) / 2)``, shape ``(n,)``. For Monte Carlo checks."""
    gap = (torch.arccos(x[:, 0].clamp(-1, 1)) - math.acos(t)).clamp_min(0)
    return 2 * torch.sin(gap / 2)


# -- figure 4: how many coordinates a model must see ----------------------------------------


def subspace_errors(k: int, d: int, b, R: float = 1.3) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner and outer error of the model "outer iff ``sum_{i<=k} x_i^2 > b``":
    ``P(B > b)`` and ``P(B < b / R^2)`` with ``B ~ Beta(k/2, (d-k)/2)``."""
    if not 1 <= k < d:
        raise ValueError(f"need 1 <= k < d, got k={k}, d={d}")
    b = np.asarray(b, dtype=np.float64)
    inner = special.betainc((d - k) / 2, k / 2, np.clip(1 - b, 0, 1))  # P(B > b), upper tail stable
    outer = special.betainc(k / 2, (d - k) / 2, np.clip(b / R**2, 0, 1))
    return inner, outer


def subspace_errors_clt(k: int, d: int, b, R: float = 1.3) -> tuple[np.ndarray, np.ndarray]:
    """Proposition 4.1 applied to ``alpha_i = 1/b`` (i <= k), 0 (i > k): CLT inner and outer error."""
    if not 1 <= k < d:
        raise ValueError(f"need 1 <= k < d, got k={k}, d={d}")

    inv = 1 / np.asarray(b, dtype=np.float64)
    mu_in, var_in = k * (inv - 1) - (d - k), 2 * (k * (inv - 1) ** 2 + (d - k))
    mu_out, var_out = k * (1 - R**2 * inv) + (d - k), 2 * (k * (1 - R**2 * inv) ** 2 + (d - k))
    return stats.norm.cdf(mu_in / np.sqrt(var_in)), stats.norm.cdf(mu_out / np.sqrt(var_out))


def best_subspace_error(k: int, d: int, R: float = 1.3, method: str = "exact") -> float:
    """The smallest test error ``(inner + outer)/2`` of the k-coordinate model over its
    threshold ``b`` (``method``: ``"exact"`` Beta tails or ``"clt"`` proposition 4.1)."""
    fn = {"exact": subspace_errors, "clt": subspace_errors_clt}.get(method)
    if fn is None:
        raise ValueError(f"method must be 'exact' or 'clt', got {method!r}")

    def log_err(log_b: float) -> float:
        i, o = fn(k, d, math.exp(log_b), R)
        return math.log(max(0.5 * (float(i) + float(o)), 1e-300))

    mean = k / d  # E[B]; the best b lies between the two spheres' means, k/d and R^2 k/d
    grid = np.linspace(math.log(mean * 0.5), math.log(min(mean * R**2 * 2, 1.0)), 401)
    i, o = fn(k, d, np.exp(grid), R)
    errs = np.log(np.maximum(0.5 * (np.asarray(i) + np.asarray(o)), 1e-300))
    j = int(np.argmin(errs))
    lo, hi = grid[max(j - 1, 0)], grid[min(j + 1, len(grid) - 1)]
    res = optimize.minimize_scalar(log_err, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12})
    return math.exp(min(res.fun, errs[j]))


def k_fraction_needed(d: int, error: float, R: float = 1.3, method: str = "exact") -> float:
    """Figure 4: the smallest ``k/d`` for which the k-coordinate model reaches test error
    ``<= error``: a coarse scan of k, then bisection (1.0 if no ``k < d`` does). The scan
    matters for the CLT, which fails (is not monotone in k) when ``d - k`` is small."""
    _check_d(d)
    if not 0 < error < 0.5:
        raise ValueError(f"error must be in (0, 0.5), got {error}")
    grid = np.unique(np.linspace(1, d - 1, min(d - 1, 48)).astype(int))
    ok = [best_subspace_error(int(k), d, R, method) <= error for k in grid]
    if not any(ok):
        return 1.0
    j = ok.index(True)
    lo, hi = (int(grid[j - 1]) + 1 if j > 0 else 1), int(grid[j])
    while lo < hi:
        mid = (lo + hi) // 2
        if best_subspace_error(mid, d, R, method) <= error:
            hi = mid
        else:
            lo = mid + 1
    return lo / d
