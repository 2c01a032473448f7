"""Boundary tilting (Tanay & Griffin 2016): linear SVMs over a sweep of L2 regularisation,
and the geometry of the tilting plane.

The SVM. For data ``x`` (N, d) and labels ``y`` in {-1, +1}, and each ``lam`` of a sweep,

    J(w, b) = sum_i c_i * max(0, 1 - y_i (w . x_i + b)) + lam * ||w||^2,
    c_i = 1 / (2 N_{y_i})  (class-balanced mean hinge; = 1/N for balanced classes).

So the hinge term is a *mean* (scaled by 1/N), and ``lam`` multiplies ``||w||^2`` (no 1/2);
the usual ``C`` of ``0.5 ||w||^2 + C sum hinge`` is ``C = 1 / (2 lam N)`` for balanced
classes. The bias is not regularised. For large ``lam`` the minimiser is
``w = (c1 - c0) / (4 lam)`` exactly (every point inside the margin): the nearest-centroid
direction, tilt 0. All ``lam`` are solved at once (an (L, N) dual tensor) by accelerated
projected gradient ascent on the dual (FISTA with adaptive restart) over the centred
Gram matrix; the duality gap certifies each solution.

The tilting plane. ``z_hat`` = (c1 - c0) / ||c1 - c0||; ``n_hat`` = the part of ``w``
orthogonal to ``z_hat``, normalised (Gram-Schmidt). ``theta`` = angle(w, z_hat). Distances
are L2 norms of [0, 1]-scaled pixels.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
from dmmlib.progress import progress as tqdm


# ----------------------------------------------------------------------------- validation


def _matrix(x: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D tensor (N, d), got {getattr(x, 'shape', type(x))}")
    return x


def _labels(y: torch.Tensor, n: int) -> torch.Tensor:
    if not isinstance(y, torch.Tensor) or y.shape != (n,):
        raise ValueError(f"y must be a tensor of shape ({n},), got {getattr(y, 'shape', type(y))}")
    if not bool(((y == 1) | (y == -1)).all()):
        raise ValueError("y must hold only -1 and +1")
    if not (bool((y == 1).any()) and bool((y == -1).any())):
        raise ValueError("y must contain both classes (-1 and +1)")
    return y


def _weights(w: torch.Tensor) -> torch.Tensor:
    if not isinstance(w, torch.Tensor) or w.ndim not in (1, 2):
        raise ValueError(f"w must be a tensor (d,) or (L, d), got {getattr(w, 'shape', type(w))}")
    return w if w.ndim == 2 else w[None]


# ----------------------------------------------------------------------------- the sweep


class SVMSweep(NamedTuple):
    """Solutions for each ``lam``: ``w`` (L, d), ``b`` (L,) in the input's coordinates;
    ``primal``, ``dual``, ``gap`` (L,) (objective J, dual value, J - dual >= 0);
    ``rel_gap`` (L,) = gap / primal; ``iterations`` (L,) when each stopped."""

    lambdas: torch.Tensor
    w: torch.Tensor
    b: torch.Tensor
    primal: torch.Tensor
    dual: torch.Tensor
    gap: torch.Tensor
    rel_gap: torch.Tensor
    iterations: torch.Tensor


def balanced_weights(y: torch.Tensor) -> torch.Tensor:
    """Per-sample hinge weights c_i = 1 / (2 N_{y_i}), (N,); they sum to 1."""
    y = _labels(y, len(y))
    n_pos = (y > 0).sum()
    n_neg = (y < 0).sum()
    return torch.where(y > 0, 0.5 / n_pos, 0.5 / n_neg).to(torch.float64)


def svm_objective(x: torch.Tensor, y: torch.Tensor, w: torch.Tensor, b: torch.Tensor, lambdas: torch.Tensor) -> torch.Tensor:
    """J(w_l, b_l) for each l: x (N, d), y (N,), w (L, d), b (L,), lambdas (L,) -> (L,)."""
    x = _matrix(x, "x").to(torch.float64)
    y = _labels(y, len(x)).to(torch.float64)
    w = _weights(w).to(torch.float64)
    c = balanced_weights(y)
    margins = y * (w @ x.T + b.to(torch.float64)[:, None])
    return (c * (1 - margins).clamp_min(0)).sum(1) + lambdas.to(torch.float64) * (w * w).sum(1)


def optimal_bias(scores: torch.Tensor, y: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """The bias minimising sum_i c_i max(0, 1 - y_i (s_i + b)) for each row of ``scores``.

    scores (L, N), y (N,) in {-1, +1}, c (N,) > 0 -> (L,). The minimisers form an interval
    (e.g. when every point is inside the margin); the midpoint is returned.
    """
    # breakpoints b = y_i - s_i; right of its breakpoint, a positive point leaves the sum
    # (slope += c_i) and a negative one enters (slope += c_i): slope(b) is nondecreasing.
    bp = y[None] - scores
    order = bp.argsort(dim=1)
    bp_sorted = bp.gather(1, order)
    start = -(c * (y > 0)).sum()  # slope left of every breakpoint
    slope_after = start + c[order].cumsum(1)  # slope just right of each sorted breakpoint
    lo_idx = (slope_after < 0).sum(1).clamp(max=bp.shape[1] - 1)
    hi_idx = (slope_after <= 0).sum(1).clamp(max=bp.shape[1] - 1)
    lo = bp_sorted.gather(1, lo_idx[:, None])[:, 0]
    hi = bp_sorted.gather(1, hi_idx[:, None])[:, 0]
    return 0.5 * (lo + hi)


def _project(v: torch.Tensor, y: torch.Tensor, c: torch.Tensor, bisections: int = 30) -> torch.Tensor:
    """Euclidean projection of each row of v (L, N) onto {0 <= a <= c, y . a = 0}."""
    span = v.abs().amax(1, keepdim=True) + c.max()
    lo, hi = -span, span.clone()
    for _ in range(bisections):  # g(mu) = sum_i y_i clip(v_i - mu y_i, 0, c_i) is nonincreasing
        mu = 0.5 * (lo + hi)
        g = (y * (v - mu * y).clamp(min=torch.zeros_like(c), max=c)).sum(1, keepdim=True)
        lo = torch.where(g > 0, mu, lo)
        hi = torch.where(g > 0, hi, mu)
    mu = 0.5 * (lo + hi)
    t = v - mu * y  # refine mu exactly on the free set found by bisection
    free = (t > 0) & (t < c)
    upper = t >= c
    n_free = free.sum(1, keepdim=True)
    mu_exact = ((y * v * free).sum(1, keepdim=True) + (y * c * upper).sum(1, keepdim=True)) / n_free.clamp_min(1)
    mu = torch.where(n_free > 0, mu_exact, mu)
    return (v - mu * y).clamp(min=torch.zeros_like(c), max=c)


def _top_eigenvalue(k: torch.Tensor, iters: int = 100) -> float:
    v = torch.ones(k.shape[0], dtype=k.dtype) / math.sqrt(k.shape[0])
    for _ in range(iters):
        v = k @ v
        v = v / v.norm()
    return float(v @ (k @ v)) * 1.01  # small safety margin


def linear_svm_sweep(
    x: torch.Tensor,
    y: torch.Tensor,
    lambdas: torch.Tensor,
    *,
    max_iters: int = 3000,
    tol: float = 1e-4,
    check_every: int = 50,
    progress: bool = True,
) -> SVMSweep:
    """Minimise J (module docstring) for every ``lam`` in ``lambdas`` at once.

    x (N, d), y (N,) in {-1, +1}, lambdas (L,) > 0. Iterates until each ``lam``'s relative
    duality gap (J - D) / J is below ``tol`` or ``max_iters`` is reached (the returned
    ``rel_gap`` says how far each got). Deterministic: no randomness is used.
    """
    x = _matrix(x, "x")
    y = _labels(y, len(x))
    lambdas = torch.as_tensor(lambdas, dtype=torch.float64).flatten()
    if len(lambdas) == 0 or not bool((lambdas > 0).all()) or not bool(torch.isfinite(lambdas).all()):
        raise ValueError(f"lambdas must be a non-empty 1-D tensor of finite values > 0, got {lambdas}")
    if max_iters < 1 or tol <= 0:
        raise ValueError(f"need max_iters >= 1 and tol > 0, got {max_iters}, {tol}")
    xd = x.to(torch.float64)
    mean = xd.mean(0)
    xc = xd - mean  # the dual is invariant to centring (sum_i a_i y_i = 0); it conditions K
    k = xc @ xc.T
    yd = y.to(torch.float64)
    c = balanced_weights(y)
    lam = lambdas[:, None]
    step = 2 * lam / _top_eigenvalue(k)  # 1 / Lipschitz constant of the dual gradient

    def state(a):  # K (a*y) / (2 lam) = the centred scores of w(a)
        return (a * yd) @ k / (2 * lam)

    def gap_of(a, s):
        bias = optimal_bias(s, yd, c)
        w_sq = ((a * yd) * s).sum(1) / (2 * lambdas)
        hinge = (c * (1 - yd * (s + bias[:, None])).clamp_min(0)).sum(1)
        primal = hinge + lambdas * w_sq
        dual = a.sum(1) - lambdas * w_sq
        return primal, dual, bias

    n_lam, n = len(lambdas), len(x)
    a = torch.zeros(n_lam, n, dtype=torch.float64)
    v, t = a.clone(), torch.ones(n_lam, 1, dtype=torch.float64)
    stopped = torch.full((n_lam,), max_iters, dtype=torch.long)
    idx = torch.arange(n_lam)  # the lambdas still iterating; converged rows are left alone
    bar = tqdm(range(1, max_iters + 1), desc="SVM sweep", disable=not progress, leave=False)
    for it in bar:
        ai, vi, ti, lam_i, step_i = a[idx], v[idx], t[idx], lam[idx], step[idx]
        grad = 1 - yd * ((vi * yd) @ k / (2 * lam_i))
        a_new = _project(vi + step_i * grad, yd, c)
        restart = ((vi - a_new) * (a_new - ai)).sum(1, keepdim=True) > 0  # O'Donoghue-Candes
        t_new = 0.5 * (1 + torch.sqrt(1 + 4 * ti * ti))
        v[idx] = torch.where(restart, a_new, a_new + ((ti - 1) / t_new) * (a_new - ai))
        t[idx] = torch.where(restart, torch.ones_like(ti), t_new)
        a[idx] = a_new
        if it % check_every == 0 or it == max_iters:
            primal, dual, _ = gap_of(a, state(a))
            rel = (primal - dual) / primal.abs().clamp_min(1e-300)
            done = rel[idx] < tol
            stopped[idx[done]] = it
            idx = idx[~done]
            bar.set_postfix(worst_rel_gap=f"{float(rel[idx].max()) if len(idx) else 0:.1e}")
            if len(idx) == 0:
                break
    bar.close()
    s = state(a)
    primal, dual, bias_c = gap_of(a, s)
    w = (a * yd) @ xc / (2 * lam)
    b = bias_c - w @ mean
    gap = (primal - dual).clamp_min(0)
    return SVMSweep(lambdas, w, b, primal, dual, gap, gap / primal.abs(), stopped)


def classification_error(x: torch.Tensor, y: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Fraction misclassified by sign(w . x + b): x (N, d), y (N,), w (L, d), b (L,) -> (L,).
    A score of exactly 0 counts as an error."""
    x = _matrix(x, "x").to(torch.float64)
    w = _weights(w).to(torch.float64)
    margins = y.to(torch.float64) * (w @ x.T + b.to(torch.float64).reshape(-1, 1))
    return (margins <= 0).double().mean(1)


# ----------------------------------------------------------------------------- the geometry


def centroids(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Class means (c0 for y = -1, c1 for y = +1), each (d,)."""
    x = _matrix(x, "x")
    y = _labels(y, len(x))
    return x[y < 0].mean(0), x[y > 0].mean(0)


def centroid_direction(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """z_hat = (c1 - c0) / ||c1 - c0||, (d,): the nearest-centroid classifier's unit weight."""
    c0, c1 = centroids(x, y)
    diff = c1 - c0
    if float(diff.norm()) == 0:
        raise ValueError("the two class centroids coincide: z_hat is undefined")
    return diff / diff.norm()


def gram_schmidt(vectors: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """Orthonormalise the rows of ``vectors`` (k, d) in order (twice, for stability); rows
    that depend linearly on earlier ones (residual norm below ``eps`` of their own) are
    dropped. Returns (k', d), k' <= k."""
    vectors = _matrix(vectors, "vectors").to(torch.float64)
    basis: list[torch.Tensor] = []
    for v in vectors:
        r = v.clone()
        for _ in range(2):
            for e in basis:
                r = r - (r @ e) * e
        if float(r.norm()) > eps * max(float(v.norm()), 1e-300):
            basis.append(r / r.norm())
    return torch.stack(basis) if basis else vectors.new_zeros(0, vectors.shape[1])


def tilting_normal(w: torch.Tensor, z_hat: torch.Tensor) -> torch.Tensor:
    """n_hat = (w - (w . z_hat) z_hat) / ||...||: w (L, d) or (d,), z_hat (d,) unit -> same
    shape as w. Where w is parallel to z_hat (tilt 0), n_hat is the zero vector."""
    w_in = w
    w = _weights(w).to(torch.float64)
    z = z_hat.to(torch.float64)
    n = w - (w @ z)[:, None] * z
    n = n - (n @ z)[:, None] * z  # second pass: orthogonality to rounding error
    norm = n.norm(dim=1, keepdim=True)
    tiny = norm <= 1e-12 * w.norm(dim=1, keepdim=True)
    n_hat = torch.where(tiny, torch.zeros_like(n), n / norm.clamp_min(1e-300))
    return n_hat if w_in.ndim == 2 else n_hat[0]


def tilting_angle(w: torch.Tensor, z_hat: torch.Tensor) -> torch.Tensor:
    """theta = angle(w, z_hat) in degrees, (L,) (or a scalar for w (d,)); atan2 keeps small
    angles accurate."""
    w_in = w
    w = _weights(w).to(torch.float64)
    z = z_hat.to(torch.float64)
    along = w @ z
    across = (w - along[:, None] * z).norm(dim=1)
    theta = torch.rad2deg(torch.atan2(across, along))
    return theta if w_in.ndim == 2 else theta[0]


def vector_angle(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Angle in degrees between matching rows of u (B, d) and v (B, d) or (d,) -> (B,)."""
    u = u.to(torch.float64)
    v = v.to(torch.float64).expand_as(u)
    cos = (u * v).sum(-1) / (u.norm(dim=-1) * v.norm(dim=-1)).clamp_min(1e-300)
    return torch.rad2deg(torch.acos(cos.clamp(-1, 1)))


def plane_coordinates(x: torch.Tensor, z_hat: torch.Tensor, n_hat: torch.Tensor, origin: torch.Tensor) -> torch.Tensor:
    """Coordinates of x (N, d) in the tilting plane through ``origin`` (d,) spanned by z_hat
    (d,) and n_hat (L, d) or (d,): (L, N, 2) or (N, 2), columns (along z_hat, along n_hat)."""
    x = _matrix(x, "x").to(torch.float64)
    n2 = _weights(n_hat).to(torch.float64)
    rel = x - origin.to(torch.float64)
    u = (rel @ z_hat.to(torch.float64)).expand(len(n2), -1)
    coords = torch.stack([u, n2 @ rel.T], dim=-1)
    return coords if n_hat.ndim == 2 else coords[0]


def boundary_line(w: torch.Tensor, b: torch.Tensor, z_hat: torch.Tensor, n_hat: torch.Tensor, origin: torch.Tensor) -> torch.Tensor:
    """The boundary w . x + b = 0 inside the tilting plane, as (L, 3) rows (p, q, r) of the
    line p*u + q*v + r = 0 in the plane's coordinates (u along z_hat, v along n_hat)."""
    w = _weights(w).to(torch.float64)
    n2 = _weights(n_hat).to(torch.float64)
    p = w @ z_hat.to(torch.float64)
    q = (w * n2).sum(1)
    r = w @ origin.to(torch.float64) + b.to(torch.float64).reshape(-1)
    return torch.stack([p, q, r], dim=1)


def signed_distance(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(w . x + b) / ||w|| for x (N, d), w (L, d), b (L,) -> (L, N): the signed L2 distance
    of each point to each hyperplane."""
    x = _matrix(x, "x").to(torch.float64)
    w = _weights(w).to(torch.float64)
    return (w @ x.T + b.to(torch.float64).reshape(-1, 1)) / w.norm(dim=1, keepdim=True)


def centroid_margin(c0: torch.Tensor, c1: torch.Tensor, theta_deg: torch.Tensor) -> torch.Tensor:
    """0.5 ||c1 - c0|| cos(theta): the distance of each centroid to a boundary tilted by
    theta that passes through their midpoint. theta_deg (L,) -> (L,)."""
    return 0.5 * (c1 - c0).to(torch.float64).norm() * torch.cos(torch.deg2rad(theta_deg.to(torch.float64)))


def minimal_perturbation(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, overshoot: float = 0.0) -> torch.Tensor:
    """The smallest L2 perturbation moving x onto the boundary (times 1 + overshoot, to cross
    it): -(w . x + b) / ||w||^2 w. x (N, d), w (L, d), b (L,) -> (L, N, d)."""
    x = _matrix(x, "x").to(torch.float64)
    w = _weights(w).to(torch.float64)
    coef = (w @ x.T + b.to(torch.float64).reshape(-1, 1)) / (w * w).sum(1, keepdim=True)
    return -(1 + overshoot) * coef[..., None] * w[:, None, :]


def mirror_image(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The reflection of x through the boundary: x + 2 * minimal_perturbation, (L, N, d).
    It is classified as the other class at the same distance from the boundary."""
    x = _matrix(x, "x").to(torch.float64)
    return x[None] + 2 * minimal_perturbation(x, w, b)


def gradient_centroid_angle(model: torch.nn.Module, x: torch.Tensor, class_a: int, class_b: int, z_hat: torch.Tensor) -> torch.Tensor:
    """Angle (degrees) between grad_x (f_b - f_a)(x) and z_hat at each input, (B,).

    model maps x (B, ...) to logits (B, K); z_hat is the unit nearest-centroid direction
    from class_a to class_b, flattened (prod of x.shape[1:],). For a linear classifier this
    is the tilting angle theta.
    """
    if not isinstance(x, torch.Tensor) or x.ndim < 2:
        raise ValueError(f"x must be a batch tensor (B, ...), got {getattr(x, 'shape', type(x))}")
    if z_hat.numel() != x[0].numel():
        raise ValueError(f"z_hat has {z_hat.numel()} entries, inputs have {x[0].numel()}")
    xg = x.detach().clone().requires_grad_(True)
    logits = model(xg)
    if logits.ndim != 2 or not (0 <= class_a < logits.shape[1] and 0 <= class_b < logits.shape[1]):
        raise ValueError(f"model must return (B, K) logits with K > {max(class_a, class_b)}, got {tuple(logits.shape)}")
    (grad,) = torch.autograd.grad((logits[:, class_b] - logits[:, class_a]).sum(), xg)
    return vector_angle(grad.flatten(1), z_hat.flatten())


# ----------------------------------------------------------------------------- one study


def analyse_sweep(x_train, y_train, x_test, y_test, sweep: SVMSweep, *, n_plane: int = 500, n_examples: int = 1,
                  seed: int = 0, overshoot: float = 0.05) -> dict:
    """Everything the chapter plots for one sweep, as a dict of tensors (L = len(lambdas)):

    ``theta`` (L,) deg; ``z_hat`` (d,); ``n_hat`` (L, d); ``origin`` (d,) = centroid midpoint;
    ``c0``, ``c1`` (d,); ``plane_xy`` (L, P, 2) and ``plane_y`` (P,) for a seeded subsample of
    P training points; ``line`` (L, 3) the boundary in plane coordinates; ``err_train``,
    ``err_test`` (L,); ``median_dist_test`` (L,) median |distance| of test points to the
    boundary (= the minimal adversarial L2 norm of a linear classifier); ``centroid_dist``
    (L, 2) distance of c0, c1 to the boundary; ``half_gap_cos`` (L,) = 0.5 ||c1 - c0|| cos
    theta; ``example`` (E, d) test images; ``perturbation`` (L, E, d), the minimal one
    times 1 + ``overshoot`` (to cross the boundary), and ``mirror`` (L, E, d);
    ``rel_gap``, ``iterations`` (L,); ``err_test_halves`` (2, L): the test error on two
    seeded, disjoint halves of the test split (choose lambda on one, judge it on the other).
    """
    gen = torch.Generator().manual_seed(int(seed))
    z_hat = centroid_direction(x_train, y_train)
    c0, c1 = centroids(x_train, y_train)
    origin = 0.5 * (c0 + c1)
    n_hat = tilting_normal(sweep.w, z_hat)
    theta = tilting_angle(sweep.w, z_hat)
    pick = torch.randperm(len(x_train), generator=gen)[: min(n_plane, len(x_train))]
    example = x_test[torch.randperm(len(x_test), generator=gen)[:n_examples]].to(torch.float64)
    cent = signed_distance(torch.stack([c0, c1]), sweep.w, sweep.b).abs()
    halves = torch.randperm(len(x_test), generator=gen).chunk(2)
    return {
        "lambdas": sweep.lambdas,
        "theta": theta,
        "z_hat": z_hat.double(),
        "n_hat": n_hat,
        "origin": origin.double(),
        "c0": c0.double(),
        "c1": c1.double(),
        "plane_xy": plane_coordinates(x_train[pick], z_hat, n_hat, origin),
        "plane_y": y_train[pick],
        "line": boundary_line(sweep.w, sweep.b, z_hat, n_hat, origin),
        "err_train": classification_error(x_train, y_train, sweep.w, sweep.b),
        "err_test": classification_error(x_test, y_test, sweep.w, sweep.b),
        "err_test_halves": torch.stack([classification_error(x_test[h], y_test[h], sweep.w, sweep.b) for h in halves]),
        "median_dist_test": signed_distance(x_test, sweep.w, sweep.b).abs().median(dim=1).values,
        "centroid_dist": cent,
        "half_gap_cos": centroid_margin(c0, c1, theta),
        "example": example,
        "perturbation": minimal_perturbation(example, sweep.w, sweep.b, overshoot=overshoot),
        "mirror": mirror_image(example, sweep.w, sweep.b),
        "w": sweep.w,
        "b": sweep.b,
        "rel_gap": sweep.rel_gap,
        "iterations": sweep.iterations,
    }


def pair_study(
    digits: tuple[int, int] = (2, 3),
    *,
    seed: int = 0,
    test_share: float = 0.5,
    n_train_per_class: int = 0,
    lambdas: torch.Tensor,
    max_iters: int = 2500,
    tol: float = 1e-4,
    n_plane: int = 500,
    progress: bool = True,
) -> dict:
    """Split ``digits`` with ``seed`` (:func:`dmmlib.data.mnist_pairs.digit_pair`), sweep the SVM
    over ``lambdas`` and return :func:`analyse_sweep`'s dict plus ``description`` (the split)
    and ``seconds`` (solver wall time), ``n_train``, ``n_test``, ``full`` (the full 60,000-digit
    training set was used) and ``pool_per_class``; cached on disk by all the arguments, this
    code and the data's identity (:mod:`dmmlib.cache` derives both)."""
    import time

    from dmmlib.cache import cached
    from dmmlib.data.mnist_pairs import digit_pair

    lambdas = torch.as_tensor(lambdas, dtype=torch.float64)
    key = {"digits": list(digits), "seed": seed, "test_share": test_share, "n_train_per_class": n_train_per_class,
           "lambdas": [float(v) for v in lambdas], "max_iters": max_iters, "tol": tol, "n_plane": n_plane}

    def compute() -> dict:
        pair = digit_pair(*digits, test_share=test_share, n_train_per_class=n_train_per_class, seed=seed)
        start = time.perf_counter()
        sweep = linear_svm_sweep(pair.x_train, pair.y_train, lambdas, max_iters=max_iters, tol=tol, progress=progress)
        seconds = time.perf_counter() - start
        study = analyse_sweep(pair.x_train, pair.y_train, pair.x_test, pair.y_test, sweep, n_plane=n_plane, seed=seed)
        return {**study, "description": pair.description, "seconds": seconds,
                "n_train": len(pair.x_train), "n_test": len(pair.x_test), "full": bool(pair.full),
                "pool_per_class": int(pair.pool_per_class)}

    return cached("tilting_pair_study", key, compute)


def gradient_tilt(models, x: torch.Tensor, y: torch.Tensor, digits: tuple[int, int], z_hat: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """The tilt of several trained classifiers at the same inputs.

    models: M classifiers mapping x (B, 1, 28, 28) to ten logits (on any device); x (B, 784)
    or (B, 1, 28, 28) digits in [0, 1]; y (B,) in {-1, +1} (-1: ``digits[0]``); z_hat (784,)
    the pair's unit nearest-centroid direction from ``digits[0]`` to ``digits[1]``.
    Returns (angles (M, B): :func:`gradient_centroid_angle` in degrees per model and input,
    accuracy (M,): each model's ten-class accuracy on x against the pair's digit labels).
    """
    from dmmlib.evaluate import accuracy, model_device

    models = list(models)
    if not models:
        raise ValueError("need at least one model")
    if not isinstance(y, torch.Tensor) or y.shape != (len(x),):
        raise ValueError(f"y must be a tensor of shape ({len(x)},), got {getattr(y, 'shape', type(y))}")
    images = x.reshape(-1, 1, 28, 28)
    labels = torch.where(y < 0, torch.tensor(int(digits[0])), torch.tensor(int(digits[1])))
    angles, accs = [], []
    for model in models:
        dev = model_device(model)
        angles.append(gradient_centroid_angle(model, images.to(dev), int(digits[0]), int(digits[1]),
                                              z_hat.float().to(dev)).cpu())
        accs.append(accuracy(model, images, labels))
    return torch.stack(angles), torch.tensor(accs, dtype=torch.float64)
