"""Two phases or one? The paper's two-phase shape against a single steady phase, by cross-validation.

DMM §6 reads figure 6 as "a two-phase behavior in which this distance rapidly decreases
during the first few epochs [...] and then fluctuates over many epochs without further
decreases". Two models of a distance curve d measured at iterations t_0 = 0 < t_1 < ... <
t_end, on log-time u = log10(1 + t):

- **one phase** (the null: a single steady change, the same pace per decade of iterations
  throughout training): ``d(u) = a + c * u``;
- **two phases** (the paper's shape): a change at a constant pace per decade up to a break
  u_b, then a plateau: ``d(u) = p + c * min(u - u_b, 0)``, with the break at a measured
  checkpoint in the first ``max_step_share`` of the iterations ("the first few epochs").

Both have two linear parameters; the two-phase model also picks its break. Each is judged by
its leave-one-checkpoint-out prediction error (refitted without the checkpoint, the break
chosen again), so the break's freedom is paid for. The statistic is the log of the ratio of
the two mean errors: below 0 the paper's shape predicts the curve better than one steady
phase. It is continuous in the data (the break's index, which takes only a few values, is
not the statistic), so it can be bootstrapped over images.

Everything is linear in the curve for a fixed break and left-out point, so the operators are
precomputed once per checkpoint schedule and applied to a batch of curves (N, S) at once.
"""
from __future__ import annotations

import functools

import numpy as np

#: Errors below this fraction of the curve's variance count as this fraction (an exact fit).
ERROR_FLOOR = 1e-10


def allowed_breaks(steps, max_step_share: float) -> np.ndarray:
    """Indices b of the interior checkpoints (0 < b < S - 1) with t_b <= max_step_share * t_end."""
    t = np.asarray(steps, dtype=float)
    idx = np.arange(1, len(t) - 1)
    return idx[t[idx] <= max_step_share * t[-1]]


def _loo_operators(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a design X (S, p): (pred (S, S), resid (S, S, S)): row j of ``pred`` maps a curve to
    the prediction at j of the least-squares fit without j; ``resid[j]`` maps it to the
    residuals of that fit on the other points (row j zero)."""
    S = len(X)
    pred = np.zeros((S, S))
    resid = np.zeros((S, S, S))
    for j in range(S):  # S small least-squares problems on the design, not on data
        keep = np.arange(S) != j
        E = np.eye(S)[keep]                       # selects the kept points (S-1, S)
        fit = X[keep] @ np.linalg.pinv(X[keep])   # hat matrix on the kept points
        pred[j] = X[j] @ np.linalg.pinv(X[keep]) @ E
        resid[j][keep] = E - fit @ E
    return pred, resid


@functools.lru_cache(maxsize=32)
def _operators(steps: tuple, max_step_share: float):
    """(pred1 (S, S), pred2 (S, B, S), resid2 (S, B, S, S)) for the one-phase model and the
    two-phase model at each allowed break (None, None without one): they depend only on the
    checkpoint schedule, so they are built once per schedule."""
    t = np.asarray(steps, dtype=float)
    S = len(t)
    u = np.log10(1.0 + t)
    pred1, _ = _loo_operators(np.stack([np.ones(S), u], 1))
    breaks = allowed_breaks(t, max_step_share)
    if len(breaks) == 0:
        return pred1, None, None
    ops = [_loo_operators(np.stack([np.ones(S), np.minimum(u - u[b], 0.0)], 1)) for b in breaks]
    pred2 = np.stack([p for p, _ in ops], 1)            # (S, B, S): left-out j, break, point
    resid2 = np.stack([r for _, r in ops], 1)           # (S, B, S, S)
    for a in (pred1, pred2, resid2):
        a.flags.writeable = False
    return pred1, pred2, resid2


def loo_errors(steps, curves, *, max_step_share: float) -> tuple[np.ndarray, np.ndarray]:
    """Leave-one-checkpoint-out mean squared prediction errors of the two models.

    Args:
        steps: (S,) iterations, ascending from 0, S >= 4.
        curves: (N, S) finite distance curves (or (S,) for one).
        max_step_share: the latest break the two-phase model may take, as a share of t_end.

    Returns:
        (one_phase (N,), two_phase (N,)): the mean over checkpoints of the squared error of
        each model's prediction there, fitted without it; two_phase is nan when no checkpoint
        is an allowed break.
    """
    t = np.asarray(steps, dtype=float)
    Y = np.atleast_2d(np.asarray(curves, dtype=float))
    S = len(t)
    if t.ndim != 1 or S < 4 or Y.shape[1] != S:
        raise ValueError(f"need steps (S,) with S >= 4 and curves (N, S); got {t.shape} and {Y.shape}")
    if t[0] < 0 or np.any(np.diff(t) <= 0):
        raise ValueError("steps must be >= 0 and strictly increasing")
    if not np.isfinite(Y).all():
        raise ValueError("curves must be finite (drop missing checkpoints first)")
    pred1, pred2, resid2 = _operators(tuple(t.tolist()), float(max_step_share))
    one = ((Y - Y @ pred1.T) ** 2).mean(1)
    if pred2 is None:
        return one, np.full(len(Y), np.nan)
    sse = (np.einsum("jbrs,ns->njbr", resid2, Y) ** 2).sum(-1)   # (N, S, B) training error
    best = sse.argmin(-1)                                         # (N, S) the break chosen without j
    preds = np.einsum("jbs,ns->njb", pred2, Y)                    # (N, S, B)
    chosen = np.take_along_axis(preds, best[..., None], -1)[..., 0]
    two = ((Y - chosen) ** 2).mean(1)
    return one, two


def log_error_ratio(steps, curves, *, max_step_share: float) -> np.ndarray:
    """log(two-phase error / one-phase error) of each curve (N,) (see :func:`loo_errors`):
    below 0 the paper's two-phase shape predicts the curve better. Errors are floored at
    :data:`ERROR_FLOOR` times the curve's variance, so two exact fits give 0."""
    Y = np.atleast_2d(np.asarray(curves, dtype=float))
    one, two = loo_errors(steps, Y, max_step_share=max_step_share)
    floor = ERROR_FLOOR * Y.var(1) + 1e-300
    return np.log((two + floor) / (one + floor))
