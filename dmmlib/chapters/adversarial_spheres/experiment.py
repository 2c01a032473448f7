"""The experiments of the chapter "Adversarial spheres" (Gilmer et al. 2018), cached.

Each function trains or measures one thing, takes plain numbers (the chapter's knobs) and
returns numbers, tensors and state dicts; trained models live in :mod:`dmmlib.cache`
keyed by those numbers and this code (the cache derives the code a result depends on from
this module's imports). The algorithms are in
:mod:`dmmlib.chapters.adversarial_spheres.theory`, :mod:`dmmlib.chapters.adversarial_spheres.training` and
:mod:`dmmlib.attacks.sphere`.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from dmmlib.attacks.deepfool import boundary_distance
from dmmlib.attacks.sphere import manifold_attack
from dmmlib.cache import cached
from dmmlib.device import get_device
from dmmlib.data.spheres import R_PAPER, labels_from_norm, sample_sphere, sample_spheres
from dmmlib.models.sphere_nets import QuadNet, perfect_quadnet
from dmmlib.stats import clopper_pearson
from dmmlib.chapters.adversarial_spheres.theory import clt_error_rate, clt_error_rate_outer, incorrect_alphas, sample_quadratic_tail
from dmmlib.chapters.adversarial_spheres.training import (
    build_net,
    error_rate,
    gradient_normal_cosine,
    nearest_error_distances,
    quad_losses,
    train_sphere_net,
)

def checkpoint_steps(steps: int, count: int) -> list[int]:
    """``count`` training steps spaced geometrically in ``[steps/count^..., steps]`` (ints, unique)."""
    if count < 1 or steps < 1:
        return [steps]
    return sorted({int(round(s)) for s in np.geomspace(max(1, steps / 2 ** (count - 1)), steps, count)})


def tradeoff_callback(d: int, R: float, n_eval: int, n_points: int, attack_steps: int, step_size: float, seed: int):
    """A checkpoint callback: inner-sphere error rate (``n_eval`` samples, Clopper-Pearson)
    and mean L2 distance to the nearest on-manifold error from ``n_points`` points (the
    (mu, d) pair of figure 5)."""

    def callback(step: int, model: nn.Module) -> dict:
        err = error_rate(model, d, n_eval, R=R, seed=seed + 10_000 + step)
        att = nearest_error_distances(model, d, n_points, steps=attack_steps, step_size=step_size, R=R, seed=seed + 20_000)
        found = att["found"]
        return {**{f"err_{k}": v for k, v in err.items()},
                "dist": float(att["distance"][found].mean()) if found.any() else math.nan,
                "found": float(found.float().mean())}

    return callback


def trained_net(
    kind: str, *, d: int, hidden: int, depth: int, steps: int, lr: float, batch_size: int, N: int | None,
    R: float = R_PAPER, seed: int = 0, checkpoints: int = 0, n_eval: int = 10_000, n_points: int = 20,
    attack_steps: int = 200, step_size: float = 0.01,
) -> dict:
    """Train (or load from the cache) a "relu" or "quad" net; with ``checkpoints > 0``, record
    the figure-5 pair (error rate, mean nearest-error distance) at that many steps. Returns
    ``{"state", "records", "loss"}``; rebuild the model with :func:`load_net`."""
    params = dict(kind=kind, d=d, hidden=hidden, depth=depth, steps=steps, lr=lr, batch_size=batch_size, N=N, R=R,
                  seed=seed, checkpoints=checkpoints, n_eval=n_eval, n_points=n_points, attack_steps=attack_steps,
                  step_size=step_size)

    def compute() -> dict:
        net = build_net(kind, d, hidden, depth, seed=seed).to(get_device())
        marks = checkpoint_steps(steps, checkpoints) if checkpoints else []
        cb = tradeoff_callback(d, R, n_eval, n_points, attack_steps, step_size, seed) if checkpoints else None
        out = train_sphere_net(net, d=d, steps=steps, batch_size=batch_size, lr=lr, R=R, N=N, seed=seed,
                               checkpoints=marks, callback=cb, progress=False)
        loss = np.asarray(out["loss"], dtype=np.float32)
        return {"state": _cpu_state(net), "records": out["records"], "loss": loss}

    return cached(f"spheres_{kind}", params, compute)


def _cpu_state(net: nn.Module) -> dict:
    return {k: v.detach().cpu() for k, v in net.state_dict().items()}


def load_net(kind: str, state: dict, *, d: int, hidden: int, depth: int = 2) -> nn.Module:
    """The trained network from :func:`trained_net`'s state dict, on the CPU, in eval mode
    (training runs on :func:`dmmlib.device.get_device`; measurements run on the CPU)."""
    net = build_net(kind, d, hidden, depth)
    net.load_state_dict(state)
    return net.eval()


def relu_measurements(
    model: nn.Module, *, d: int, R: float, n_eval: int, n_points: int, attack_steps: int, step_size: float,
    worst_steps: int, seed: int = 0,
) -> dict:
    """Section 3 on one trained net: error rates on each sphere (Clopper-Pearson), the mean
    distance to the nearest error on the inner sphere (manifold attack) and off it (free
    attack, with the error's mean norm), the fraction of points for which the worst-case
    manifold attack finds an error, and the gradient-normal ``|cos|`` at data points (with
    ``cos_random_mean``, the same for random directions: the control)."""
    inner = error_rate(model, d, n_eval, R=R, sphere="inner", seed=seed + 1)
    outer = error_rate(model, d, n_eval, R=R, sphere="outer", seed=seed + 2)
    kw = dict(steps=attack_steps, step_size=step_size, R=R, seed=seed + 3)
    on = nearest_error_distances(model, d, n_points, **kw)
    off = nearest_error_distances(model, d, n_points, constraint="free", **kw)
    worst = nearest_error_distances(model, d, n_points, steps=worst_steps, step_size=step_size, R=R, seed=seed + 4,
                                    mode="worst")
    worst_out = nearest_error_distances(model, d, n_points, steps=worst_steps, step_size=step_size, R=R, seed=seed + 4,
                                        mode="worst", sphere="outer")
    # the same off-manifold distance by DeepFool + bisection (a second, independent estimate)
    df = boundary_distance(model, on["x"])
    deepfool_dist = float(df.distance[df.converged].mean()) if df.converged.any() else math.nan
    g = torch.Generator().manual_seed(seed + 5)
    x, _ = sample_spheres(max(n_points, 200), d, R, generator=g)
    cos = gradient_normal_cosine(model, x)
    # the control: |cos| between a random Gaussian direction and the normal at the same points
    cos_rand = torch.nn.functional.cosine_similarity(torch.randn(x.shape, generator=g), x, dim=1).abs()
    return {
        "inner": inner, "outer": outer,
        "on_dist": float(on["distance"][on["found"]].mean()) if on["found"].any() else math.nan,
        "on_found": float(on["found"].float().mean()),
        "off_dist": float(off["distance"][off["found"]].mean()) if off["found"].any() else math.nan,
        "off_found": float(off["found"].float().mean()),
        "off_norm": float(off["norm_adv"][off["found"]].mean()) if off["found"].any() else math.nan,
        "worst_found_inner": float(worst["found"].float().mean()),
        "worst_found_outer": float(worst_out["found"].float().mean()),
        "cos_mean": float(cos.mean()), "cos_median": float(cos.median()), "cos_random_mean": float(cos_rand.mean()),
        "off_dist_deepfool": deepfool_dist, "off_deepfool_converged": float(df.converged.float().mean()),
        # worst-case examples, errors first: the adversarial directions of figure 1
        "worst_x_inner": worst["x_adv"][torch.argsort(worst["found"].float(), descending=True, stable=True)[:2]],
        "worst_x_outer": worst_out["x_adv"][torch.argsort(worst_out["found"].float(), descending=True, stable=True)[:2]],
    }


@torch.no_grad()
def slice_predictions(model: nn.Module, u: torch.Tensor, v: torch.Tensor, extent: float, n: int) -> dict:
    """Predictions on the plane ``a u + b v`` (``u``, ``v`` (d,) orthonormalised here),
    ``a, b in [-extent, extent]`` on an ``n x n`` grid: ``{"a" (n,), "b" (n,), "outer" (n, n)
    bool (label 1 predicted), "logit" (n, n)}`` (figure 1)."""
    u = u / u.norm()
    v = v - (v @ u) * u
    v = v / v.norm()
    a = torch.linspace(-extent, extent, n)
    A, B = torch.meshgrid(a, a, indexing="xy")
    pts = A.reshape(-1, 1) * u + B.reshape(-1, 1) * v
    logit = model(pts).reshape(n, n)
    return {"a": a, "b": a, "outer": logit > 0, "logit": logit}


@torch.no_grad()
def accuracy_vs_norm(model: nn.Module, d: int, norms, n: int, *, R: float = R_PAPER, seed: int = 0) -> np.ndarray:
    """Figure 2 (left): accuracy at each norm in ``norms`` on ``n`` uniform points of that
    sphere, against the max-margin label (outer iff norm > (1 + R)/2). Shape ``(len(norms),)``."""
    g = torch.Generator().manual_seed(seed)
    acc = []
    for r in norms:
        x = sample_sphere(n, d, float(r), generator=g)
        acc.append(float(((model(x) > 0).float() == labels_from_norm(x, R)).float().mean()))
    return np.asarray(acc)


def adversarial_reach(model: nn.Module, d: int, norms, n_points: int, *, steps: int, step_size: float,
                      R: float = R_PAPER, seed: int = 0) -> np.ndarray:
    """Fraction of ``n_points`` points of each sphere of radius in ``norms`` from which the
    worst-case manifold attack finds a point misclassified (against the max-margin label):
    how far from the data errors can be found (figure 2, left). One batched attack over all
    norms. Shape ``(len(norms),)``."""
    norms = np.asarray(norms, dtype=np.float64)
    x = torch.cat([sample_sphere(n_points, d, float(r), generator=torch.Generator().manual_seed(seed + i))
                   for i, r in enumerate(norms)])
    y = labels_from_norm(x, R)
    res = manifold_attack(model, x, y, steps=steps, step_size=step_size, mode="worst")
    return res.found.float().reshape(len(norms), n_points).mean(1).numpy()


def quad_alpha_study(state: dict, *, d: int, hidden: int, R: float, n_samples: int, seed: int = 0) -> dict:
    """Section 4 on one trained quadratic net: its alphas, how many are incorrect, the CLT
    estimates on both spheres and the sampled error counts of the eigen form (``n_samples``
    Gaussian draws each, Clopper-Pearson)."""
    net = load_net("quad", state, d=d, hidden=hidden)
    alpha = net.alphas().numpy()
    g = torch.Generator().manual_seed(seed)
    k_in = sample_quadratic_tail(alpha - 1, n_samples, generator=g)
    k_out = sample_quadratic_tail(1 - R**2 * alpha, n_samples, generator=g)
    return {
        "alpha": alpha, "n_incorrect": int(incorrect_alphas(alpha, R).sum()),
        "clt_inner": clt_error_rate(alpha), "clt_outer": clt_error_rate_outer(alpha, R),
        "k_inner": k_in, "ci_inner": clopper_pearson(k_in, n_samples),
        "k_outer": k_out, "ci_outer": clopper_pearson(k_out, n_samples), "n": n_samples,
    }


def clt_vs_sampling(*, d: int, hidden: int, R: float, steps: int, lr: float, batch_size: int, N: int | None,
                    checkpoints: int, n_samples: int, seed: int = 0) -> dict:
    """Proposition 4.1 checked against sampling: at ``checkpoints`` steps of a quadratic net's
    training, the CLT inner-sphere error against the count in ``n_samples`` draws of its
    eigen form. Returns arrays ``step, clt, k, lo, hi`` (checkpoints with ``b >= 0`` skipped)."""
    params = dict(d=d, hidden=hidden, R=R, steps=steps, lr=lr, batch_size=batch_size, N=N, checkpoints=checkpoints,
                  n_samples=n_samples, seed=seed)

    def compute() -> dict:
        g = torch.Generator().manual_seed(seed + 7)

        def cb(step: int, model: QuadNet) -> dict:
            c, b = model.eigen_form()
            if b >= 0:
                return {"clt": math.nan, "k": -1}
            alpha = (c / -b).numpy()
            return {"clt": clt_error_rate(alpha), "k": sample_quadratic_tail(alpha - 1, n_samples, generator=g)}

        net = build_net("quad", d, hidden, seed=seed).to(get_device())
        out = train_sphere_net(net, d=d, steps=steps, batch_size=batch_size, lr=lr, R=R, N=N, seed=seed,
                               checkpoints=checkpoint_steps(steps, checkpoints), callback=cb, progress=False)
        recs = [r for r in out["records"] if r["k"] >= 0]
        ci = np.array([clopper_pearson(r["k"], n_samples) for r in recs]).reshape(-1, 2)
        return {"step": np.array([r["step"] for r in recs]), "clt": np.array([r["clt"] for r in recs]),
                "k": np.array([r["k"] for r in recs]), "lo": ci[:, 0], "hi": ci[:, 1], "n": n_samples}

    return cached("spheres_clt_check", params, compute)


def perfect_init_run(*, d: int, hidden: int, R: float, steps: int, lr: float, batch_size: int, N: int | None,
                     records: int, n_test: int, seed: int = 0) -> dict:
    """Figure 3 (right): a quadratic net started at a perfect point (every alpha in
    [1/R^2, 1], sigmoid 0.0016 / 0.9994 on the spheres), trained on ``N`` points. At
    ``records`` evenly spaced steps: average test loss (``n_test`` fresh points), exact
    worst-case loss and number of incorrect alphas. Returns arrays keyed by name."""
    params = dict(d=d, hidden=hidden, R=R, steps=steps, lr=lr, batch_size=batch_size, N=N, records=records,
                  n_test=n_test, seed=seed)

    def compute() -> dict:
        net = perfect_quadnet(d, hidden, R=R, generator=torch.Generator().manual_seed(seed)).to(get_device())
        x, y = sample_spheres(n_test, d, R, generator=torch.Generator().manual_seed(seed + 99))
        marks = sorted({int(s) for s in np.linspace(0, steps, records + 1)})
        out = train_sphere_net(net, d=d, steps=steps, batch_size=batch_size, lr=lr, R=R, N=N, seed=seed,
                               checkpoints=marks, callback=lambda s, m: quad_losses(m, x, y, R), progress=False)
        return {k: np.array([r[k] for r in out["records"]], dtype=float)
                for k in ("step", "avg_loss", "worst_loss", "n_incorrect")}

    return cached("spheres_perfect_init", params, compute)
