"""Figures of the chapter "Local image manifolds": reconstructions, the leading tangent
directions, the Jacobian spectrum, and the finite-difference angles against the step.

Images are (C, H, W) or batches (N, C, H, W) with [0, 1]-scaled pixels; Jacobians (n, k).
"""
from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch import Tensor

from dmmlib.plots.images import amplify, show_image

COLORS = {"MNIST": "C0", "CIFAR-10": "C3"}


def reconstruction_figure(pairs: Mapping[str, tuple[Tensor, Tensor]], n_show: int) -> plt.Figure:
    """Two rows per data set: ``n_show`` images x (N, C, H, W), evenly spaced over N, above
    their reconstructions (N, C, H, W)."""
    if not isinstance(n_show, int) or n_show < 1:
        raise ValueError(f"n_show must be a positive int, got {n_show!r}")
    fig, axes = plt.subplots(2 * len(pairs), n_show, figsize=(1.2 * n_show, 2.6 * len(pairs)), squeeze=False)
    for row, (name, (x, recon)) in enumerate(pairs.items()):
        pick = torch.linspace(0, len(x) - 1, n_show).long()
        for j, i in enumerate(pick):
            show_image(axes[2 * row, j], x[i])
            show_image(axes[2 * row + 1, j], recon[i])
        axes[2 * row, 0].set_ylabel(f"{name}\n$x$")
        axes[2 * row + 1, 0].set_ylabel(f"{name}\n$D(E(x))$")
    fig.tight_layout()
    return fig


def tangent_basis_figure(examples: Mapping[str, tuple[Tensor, Tensor, Tensor]], n_dirs: int = 4) -> plt.Figure:
    """One row per data set: an image x (C, H, W), its reconstruction (C, H, W) and the
    ``n_dirs`` leading left singular vectors u_i of its decoder Jacobian (n, k), titled with
    sigma_i. Gray directions: red brightens, blue darkens; colour directions amplified
    (mid-gray = no change)."""
    fig, axes = plt.subplots(len(examples), 2 + n_dirs, figsize=(11 * (2 + n_dirs) / 6, 2.1 * len(examples)),
                             squeeze=False)
    for row, (name, (x, recon, J)) in enumerate(examples.items()):
        if J.dim() != 2 or J.shape[0] != x.numel():
            raise ValueError(f"{name}: J must be (n={x.numel()}, k), got {tuple(J.shape)}")
        U, S, _ = torch.linalg.svd(J.cpu())
        show_image(axes[row, 0], x)
        show_image(axes[row, 1], recon)
        axes[row, 0].set_title("$x$"), axes[row, 1].set_title("$D(E(x))$")
        for j in range(n_dirs):
            u = U[:, j].float().view_as(x.cpu())
            ax = axes[row, 2 + j]
            if u.shape[0] == 1:
                m = float(u.abs().max())
                ax.imshow(u[0].numpy(), cmap="RdBu_r", vmin=-m, vmax=m)
                ax.set_xticks([]), ax.set_yticks([])
            else:
                show_image(ax, amplify(u[None])[0])
            ax.set_title(f"$u_{j + 1}$, $\\sigma$={S[j]:.2f}")
        axes[row, 0].set_ylabel(name)
    fig.tight_layout()
    return fig


def spectrum_figure(spectra: Mapping[str, Tensor]) -> plt.Figure:
    """sigma_i / sigma_1 against i for singular values (N, k) per data set: median line and
    interquartile band over the N images, log scale."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for name, S in spectra.items():
        color = COLORS.get(name)
        rel = S.detach().cpu() / S[:, :1].detach().cpu()
        q = rel.quantile(torch.tensor([0.25, 0.5, 0.75], dtype=rel.dtype), dim=0).cpu().numpy()
        i = np.arange(1, rel.shape[1] + 1)
        ax.fill_between(i, q[0], q[2], color=color, alpha=0.3)
        ax.semilogy(i, q[1], color=color, label=f"{name} (k={rel.shape[1]}), median and IQR")
    ax.set_xlabel("index $i$ of the singular value")
    ax.set_ylabel(r"$\sigma_i / \sigma_1$ of the decoder Jacobian")
    ax.legend()
    fig.tight_layout()
    return fig


def fd_angle_figure(summary: pd.DataFrame, claimed: tuple[float, float] = (10.0, 20.0)) -> plt.Figure:
    """Median (with interquartile bars) largest principal angle against the step, per data set
    and method, from :func:`dmmlib.chapters.local_manifolds.experiment.angle_summary`; the ``claimed`` range shaded."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for (name, method), g in summary.groupby(["data", "method"]):
        style = "-o" if method == "fd fp32" else "--s"
        ax.errorbar(g.eps, g["median"], yerr=[g["median"] - g.q25, g.q75 - g["median"]], fmt=style,
                    color=COLORS.get(name), capsize=3, label=f"{name}, {method}")
    lo, hi = claimed
    ax.axhspan(lo, hi, color="0.85", zorder=0, label=f"claimed range for fp32, {lo:g}-{hi:g}°")
    ax.set_xscale("log"), ax.set_yscale("log")
    ax.set_xlabel(r"finite-difference step $\epsilon$ (code units)")
    ax.set_ylabel("largest principal angle to exact span (degrees)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
