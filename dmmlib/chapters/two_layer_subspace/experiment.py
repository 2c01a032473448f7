"""What the chapter "Two-layer ReLU networks on a linear subspace" computes.

For every setting (ambient dimension n, subspace dimension k, initialisation scale s, weight
decay wd) and every seed: a data set on a random k-dimensional subspace of R^n
(:func:`subspace_net.subspace_data`), B two-layer ReLU networks trained on it until they fit
it with the target margin (:func:`subspace_net.train`; all networks of one n train together,
batched), then, on the test points each network classifies correctly:

- the input gradient's norm within the subspace (``g_par``) and orthogonal to it
  (``g_perp``), and the same two norms for a Gaussian random direction (``r_rand``: the
  orthogonal-to-parallel ratio a direction indifferent to the subspace has);
- the minimal L2 perturbation that flips the label, by the minimal-norm attack
  (:func:`dmmlib.attacks.minimal_norm.fmn_l2`): unconstrained (``d_free``), within the
  subspace (``d_on``: basis U, mode "on") and orthogonal to it (``d_off``: basis U, mode "off").

Units: Euclidean (L2) norms in R^n; the data have ``||x||`` about 1. The attack works in the
[0, 1] box: it sees ``z = 0.5 + x / (2 R)`` with ``R`` = :data:`BOX_HALF_WIDTH`, far beyond the
data and every perturbation found, so the box never binds (checked: ``box_use``), and its
norms are multiplied back by ``2 R``.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from dmmlib.attacks.minimal_norm import fmn_l2
from dmmlib.cache import cached
from dmmlib.chapters.two_layer_subspace import subspace_net as sn
from dmmlib.progress import progress as tqdm

#: half-width of the box [-R, R]^n the attack's [0, 1] box stands for (data: ||x|| about 1)
BOX_HALF_WIDTH = 50.0
ATTACK_MODES = ("free", "on", "off")


def settings(P) -> dict:
    """The settings of the sweeps, each ``(n, k, init, wd)``, without repeats, and where each
    sweep finds its points: {"all": [(n, k, init, wd), ...], "base": i, "init": [i...],
    "wd": [i...], "n": [i...], "k": [i...]} (indices into "all", in the order of the knobs' lists;
    the base setting is n_base, k_base, init_base, no weight decay)."""
    base = (P["n_base"], P["k_base"], float(P["init_base"]), 0.0)
    sweeps = {
        "base": [base],
        "init": [(base[0], base[1], float(s), 0.0) for s in P["init_scales"]],
        "wd": [(base[0], base[1], base[2], float(w)) for w in P["weight_decays"]],
        "n": [(int(n), base[1], base[2], 0.0) for n in P["n_values"]],
        "k": [(base[0], int(k), base[2], 0.0) for k in P["k_values"]],
    }
    everything = list(dict.fromkeys(s for group in sweeps.values() for s in group))
    out = {"all": everything}
    for name, group in sweeps.items():
        idx = [everything.index(s) for s in group]
        out[name] = idx[0] if name == "base" else idx
    return out


def gradient_norms(grad: torch.Tensor, basis: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Norms of the part of ``grad`` (B, T, n) within span(basis) (B, n, k orthonormal) and
    orthogonal to it: (B, T) each."""
    par = torch.bmm(grad, basis).norm(dim=-1)
    perp = (grad.pow(2).sum(-1) - par.pow(2)).clamp_min(0).sqrt()
    return par, perp


def random_ratio(basis: torch.Tensor, T: int, seed: int) -> torch.Tensor:
    """||P_perp v|| / ||P_par v|| for T Gaussian directions v per basis (B, n, k): (B, T)."""
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(basis.shape[0], T, basis.shape[1], generator=g).to(basis)
    par, perp = gradient_norms(v, basis)
    return perp / par


def boxed(net: sn.TwoLayer, j: int):
    """Network j of ``net`` as a model of the attack's [0, 1] box: z (b, n) -> N_j(2R (z - 0.5)) (b,)."""
    one = sn.TwoLayer(net.w[j:j + 1], net.b[j:j + 1], net.u[j:j + 1])

    def model(z):
        return sn.forward(one, ((z - 0.5) * (2 * BOX_HALF_WIDTH))[None])[0]
    return model


def attack_distances(net: sn.TwoLayer, x: torch.Tensor, y: torch.Tensor, basis: torch.Tensor, P,
                     progress: bool = True) -> dict:
    """Minimal flipping perturbations of every network at its points, one attack call per
    network and mode (a loop over networks; each call is batched over the points).

    net: B networks; x (B, T, n), y (B, T) labels; basis (B, n, k). Returns {mode: (B, T)
    float64 L2 norms in R^n, inf where the attack found none, nan where the network already
    misclassifies the point}, and "box_use" (B,): the largest ``(|x|_inf + ||delta||) / R``
    over the points (< 1: the box never binds).
    """
    B, T, n = x.shape
    out = {m: np.full((B, T), np.nan) for m in ATTACK_MODES}
    box_use = np.zeros(B)
    correct = (sn.margins(net, x, y) > 0).cpu().numpy()
    scale = 2 * BOX_HALF_WIDTH
    bar = tqdm(total=B * len(ATTACK_MODES), desc="attacks", disable=not progress, leave=False)
    for j in range(B):  # one network at a time: every call is batched over its T points
        keep = np.flatnonzero(correct[j])
        if keep.size == 0:
            bar.update(len(ATTACK_MODES))
            continue
        xi = x[j, keep]
        z = 0.5 + xi / scale
        U = basis[j].expand(len(keep), n, basis.shape[2])
        for mode in ATTACK_MODES:
            extra = {} if mode == "free" else {"basis": U, "basis_mode": mode}
            r = fmn_l2(boxed(net, j), z, y[j, keep], steps=P["attack_steps"], step_size=P["attack_step"] / scale,
                       **extra)
            d = (r.norm * scale).double().cpu().numpy()
            out[mode][j, keep] = d
            ok = np.isfinite(d)
            if ok.any():
                use = (xi.abs().amax(1).double().cpu().numpy() + d)[ok].max() / BOX_HALF_WIDTH
                box_use[j] = max(box_use[j], float(use))
            bar.update(1)
    bar.close()
    out["box_use"] = box_use
    return out


def run_group(n: int, group: list, P, progress: bool = True) -> dict:
    """Every network of the settings ``group`` (all with ambient dimension n and one k; list of
    ``(n, k, init, wd)``): seeds 0..seeds-1 each, trained together. Returns per-network arrays
    (G, S, ...) with G = len(group), S = seeds (see :func:`run`)."""
    S, N, T = P["seeds"], P["n_train"], P["n_test"]
    nets_k, nets_init, nets_wd, seeds = [], [], [], []
    for (_, k, init, wd) in group:
        for s in range(S):
            nets_k.append(k), nets_init.append(init), nets_wd.append(wd), seeds.append(s)
    data = [sn.subspace_data(n, k, N + T, margin=P["label_margin"], seed=1000 * k + s)
            for k, s in zip(nets_k, seeds)]
    X = torch.stack([d.x for d in data])
    Y = torch.stack([d.y for d in data])
    U = torch.stack([d.basis for d in data])
    net0 = sn.init_two_layer(n, P["width"], torch.tensor(nets_init), [10_000 + s for s in seeds])
    tr = sn.train(net0, X[:, :N], Y[:, :N], lr=P["lr"], max_steps=P["max_steps"],
                  target_margin=P["target_margin"], weight_decay=torch.tensor(nets_wd))
    net = tr.net
    xt, yt = X[:, N:], Y[:, N:]
    with torch.no_grad():
        acc_train = (sn.margins(net, X[:, :N], Y[:, :N]) > 0).double().mean(1)
        acc_test = (sn.margins(net, xt, yt) > 0).double().mean(1)
        g_par, g_perp = gradient_norms(sn.input_gradient(net, xt), U)
        g0_par, g0_perp = gradient_norms(sn.input_gradient(net0, xt), U)
        r_rand = random_ratio(U, T, seed=n)
    dist = attack_distances(net, xt, yt, U, P, progress)
    G = len(group)

    def shape(v):
        v = v.cpu().numpy() if isinstance(v, torch.Tensor) else np.asarray(v)
        return v.reshape(G, S, *v.shape[1:])
    out = {"acc_train": acc_train, "acc_test": acc_test, "steps": tr.steps, "reached": tr.reached,
           "curve": tr.curve, "g_par": g_par, "g_perp": g_perp, "g_perp_init": g0_perp, "g_par_init": g0_par,
           "r_rand": r_rand, "x_norm": xt.norm(dim=-1), "box_use": dist["box_use"]}
    out.update({f"d_{m}": dist[m] for m in ATTACK_MODES})
    return {key: shape(v) for key, v in out.items()}


def run(P, progress: bool = True) -> dict:
    """The chapter's measurements, cached by the knobs.

    Returns {"settings": [(n, k, init, wd), ...] (G), "index": the sweeps' indices
    (:func:`settings`), and per network (G, S) arrays: "acc_train", "acc_test" (fractions),
    "steps" (gradient steps to the target margin), "reached" (bool), "box_use"; per network
    (G, S, R) "curve" (mean training loss); per test point (G, S, T): "g_par", "g_perp" (the
    trained network's input-gradient norms within and orthogonal to the subspace),
    "g_par_init", "g_perp_init" (the same at initialisation), "r_rand" (a random direction's
    orthogonal/parallel ratio), "x_norm" (||x||), "d_free", "d_on", "d_off" (minimal flipping
    perturbations; inf: none found; nan: misclassified point)}.
    """
    keys = ("seeds", "n_base", "k_base", "init_base", "init_scales", "weight_decays", "n_values", "k_values",
            "width", "n_train", "n_test", "label_margin", "lr", "max_steps", "target_margin", "attack_steps",
            "attack_step")
    params = {k: P[k] for k in keys}

    def compute():
        torch.manual_seed(0)
        index = settings(P)
        everything = index["all"]
        parts = {}
        for n, k in sorted({s[:2] for s in everything}):  # one batch per (n, k): one basis shape
            group = [s for s in everything if s[:2] == (n, k)]
            parts[n, k] = (group, run_group(n, group, P, progress))
        fields = next(iter(parts.values()))[1].keys()
        out = {"settings": [list(s) for s in everything],
               "index": {k: v for k, v in index.items() if k != "all"}}
        for f in fields:
            rows = []
            for s in everything:
                group, res = parts[s[:2]]
                rows.append(res[f][group.index(s)])
            out[f] = np.stack(rows)
        return out

    return cached("two_layer_subspace", params, compute)
