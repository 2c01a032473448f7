"""Stress test of the autoencoder tangent space (issue 11, item 8): how R(d, M), E and the
on/off-manifold minimal-norm distances move with the latent dimension k of the autoencoder.

For each k in ``stress_latent_dims`` an MNIST autoencoder of the zoo's architecture with a
k-dimensional code is trained (seed 0, ``stress_ae_epochs`` epochs, otherwise the shared
models' settings; cached by the zoo) and, with model unit 0's standard classifier on the same
``stress_n_images`` test images, :func:`dmmlib.chapters.on_off_manifold.robust.measure` gives
the unconstrained minimal-norm perturbation d, R(d, M), R(d, random), E at x and the
minimal-norm distances unconstrained / on M / off M / on a random subspace of the same k.
The autoencoder at k = 16 is trained the same way (not the chapter's), so only k varies.
Distances are L2 norms of [0,1]-scaled pixels.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch
from torch import Tensor

from dmmlib.cache import cached
from dmmlib.chapters.on_off_manifold.experiment import load_setup, model_fingerprint, select_correct
from dmmlib.chapters.on_off_manifold.intervals import mean, ratio_of_means
from dmmlib.chapters.on_off_manifold.robust import measure
from dmmlib.claims import Estimate
from dmmlib.manifold import local_tangent_basis
from dmmlib.stats import hierarchical_bootstrap
from dmmlib.subspaces import expected_random_ratio, random_subspace


def run(P: Mapping[str, Any], *, progress: bool = True) -> dict[int, dict[str, Tensor]]:
    """{k: per-image records of :func:`measure` plus "ae_error"} for every k of ``stress_latent_dims``."""
    from dmmlib import zoo

    setup = load_setup("mnist", P, 0)
    n = P["stress_n_images"]
    mn = {"steps": P["mn_steps"], "step_size": P["mn_step"]["mnist"]}
    out = {}
    for k in P["stress_latent_dims"]:
        ae = zoo.mnist_autoencoder(P["models_profile"], seed=0, mnist_ae_latent_dim=int(k),
                                   mnist_ae_epochs=P["stress_ae_epochs"])
        key = {"k": int(k), "n": n, "mn": mn, "basis_method": P["basis_method"], "fd_eps": P["fd_eps"],
               "info": setup.info, "classifier": model_fingerprint(setup.classifier), "autoencoder": model_fingerprint(ae)}

        def compute(ae=ae, k=int(k)) -> dict[str, Tensor]:
            idx = select_correct(setup.classifier, setup.x, setup.y, n, 0)
            dev = next(setup.classifier.parameters()).device
            x, y = setup.x[idx].to(dev), setup.y[idx].to(dev)
            with torch.no_grad():
                codes = ae.encode(x)
                xr = ae.decode(codes).reshape(x.shape).clamp(0, 1)
            bases = {"tangent": local_tangent_basis(ae.decode, codes, method=P["basis_method"], fd_eps=P["fd_eps"]),
                     "random": random_subspace(x[0].numel(), k, batch=len(x), generator=torch.Generator().manual_seed(k),
                                               dtype=x.dtype, device=x.device)}
            rec = {q: v.detach().cpu() for q, v in measure(setup.classifier, x, y, bases, mn).items()}
            rec["ae_error"] = (x - xr).flatten(1).norm(dim=1).cpu()
            return rec

        out[int(k)] = cached("on_off_stress_k", key, compute)
    return out


def summarize(records: Mapping[int, Mapping[str, Tensor]], n_pixels: int = 784, *, n_boot: int = 2000) -> dict:
    """{k: {"expected_R", "R", "R_random", "E", "on_ratio", "off_ratio", "on_random_ratio", "ae_error"}}:
    Estimates over images (one classifier, one autoencoder per k)."""
    out = {}
    for k, r in records.items():
        a = {q: v.double().numpy() if v.is_floating_point() else v.numpy() for q, v in r.items()}
        units = np.zeros(len(a["ae_error"]), dtype=int)
        ok = a["mn/none/success"].astype(bool)

        def est(stat, arrays, mask):
            h = hierarchical_bootstrap(stat, [x[mask] for x in arrays], units[mask], n_boot=n_boot)
            return Estimate(h.estimate, h.lo, h.hi, h.n, "images, 1 model", "")

        res = {"expected_R": expected_random_ratio(n_pixels, k), "R": est(mean, [a["R/tangent"]], ok),
               "R_random": est(mean, [a["R/random"]], ok), "E": est(mean, [a["E/tangent"]], ok),
               "ae_error": est(mean, [a["ae_error"]], np.ones_like(ok))}
        for name, key in (("on_ratio", "on/tangent"), ("off_ratio", "off/tangent"), ("on_random_ratio", "on/random")):
            m = ok & a[f"mn/{key}/success"].astype(bool)
            res[name] = est(ratio_of_means, [a[f"mn/{key}/dist"], a["mn/none/dist"]], m)
        out[k] = res
    return out


def table(results: Mapping[int, Mapping[str, Any]]):
    """A DataFrame, one row per k."""
    import pandas as pd

    return pd.DataFrame([{"k": k, "E[R] random": f"{r['expected_R']:.3g}", "R(d, M)": r["R"].text(),
                          "R(d, random)": r["R_random"].text(), "E at x": r["E"].text(),
                          "on M / unconstrained": r["on_ratio"].text(), "off M / unconstrained": r["off_ratio"].text(),
                          "on random / unconstrained": r["on_random_ratio"].text(),
                          "||x - D(E(x))||": r["ae_error"].text()} for k, r in sorted(results.items())])
