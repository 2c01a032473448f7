"""Figures of the items added for issue 26: figure 1 (left) beside the trained boundary, figure 2
computed (inward pressure), and clean, random-noise and adversarial training side by side
(appendix A and section 5.1).

Class 0 is drawn red, class 1 blue; coordinates and lengths are those of the unit cube.
"""
from __future__ import annotations

import warnings
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from dmmlib.boundary import contours_2d, logit_grid_2d
from dmmlib.chapters.clinging_dimpling.claims import seed_estimate
from dmmlib.chapters.clinging_dimpling.geometry import walls_logit
from dmmlib.chapters.clinging_dimpling.plots import (BLUE, RED, draw_boundary_2d, draw_points_2d, draw_surface_3d,
                                                     height_colorbar)
from dmmlib.chapters.clinging_dimpling.training import TrainRun, model_at
from dmmlib.data.synthetic import ManifoldSet


def _walls_model(data: ManifoldSet):
    return lambda x: walls_logit(x, data)


def draw_walls_3d(ax, data: ManifoldSet, *, n: int = 60, z0: float = 0.5) -> None:
    """The vertical walls of figure 1 (left) for the chessboard: the nearest-neighbour boundary on
    the plane z = ``z0`` extruded over 0 <= z <= 1, with the training points."""
    plane = lambda u: walls_logit(torch.cat([u, torch.full((len(u), 1), float(z0))], 1), data)  # noqa: E731
    for c in contours_2d(logit_grid_2d(plane, n)):
        xs, ys = np.vstack([c[:, 0], c[:, 0]]), np.vstack([c[:, 1], c[:, 1]])
        zs = np.vstack([np.zeros(len(c)), np.ones(len(c))])
        ax.plot_surface(xs, ys, zs, color="0.6", alpha=0.45, linewidth=0, shade=False)
    ax.scatter(data.x[:, 0], data.x[:, 1], data.x[:, 2], c=[BLUE if int(v) else RED for v in data.y], s=6,
               depthshade=False)
    ax.set(xlim=(0, 1), ylim=(0, 1), zlim=(0, 1), xlabel="x (input units)", ylabel="y (input units)",
           zlabel="z (input units)")
    ax.view_init(elev=22, azim=-60)


def plot_walls(model_line, data_line: ManifoldSet, model_chess, data_chess: ManifoldSet, *, n: int = 200,
               n3: int = 40):
    """Figure 1 (left against right): (a, c) the walls of the simplistic image, the nearest-neighbour
    boundary extended perpendicularly to the manifold; (b, d) the boundary a trained network
    draws, on the line (2-D) and the chessboard (3-D). Returns the figure."""
    fig = plt.figure(figsize=(10, 9.2))
    for k, (model, title) in enumerate(((_walls_model(data_line), "(a) the simplistic image: vertical walls"),
                                        (model_line, "(b) the trained network's boundary"))):
        ax = fig.add_subplot(2, 2, k + 1)
        draw_boundary_2d(ax, model, n=n, color="0.35", lw=1.6, label="decision boundary")
        draw_points_2d(ax, data_line)
        ax.axhline(float(data_line.x[0, 1]), color="k", lw=0.6, ls=":", label="data manifold")
        ax.legend(fontsize=7, loc="upper right")
        ax.set_title(title, fontsize=10)
    ax = fig.add_subplot(2, 2, 3, projection="3d")
    draw_walls_3d(ax, data_chess, n=max(40, n3))
    ax.set_title("(c) vertical walls over the chessboard", fontsize=10)
    ax = fig.add_subplot(2, 2, 4, projection="3d")
    draw_surface_3d(ax, model_chess, data_chess, n=n3)
    ax.set_title("(d) the trained network's boundary", fontsize=10)
    height_colorbar(fig, [ax])
    return fig


def plot_pressure(pressure: Mapping[str, Sequence[dict]], data_line: ManifoldSet, *, epochs: Sequence[int],
                  n: int = 150):
    """Figure 2 computed. (a) The line's boundary (seed 0) at ``epochs`` of its first epochs, with the
    points misclassified at the first of them ringed. (b) Per pair of consecutive epochs, the mean
    inward component (solid) and the mean remainder (dashed) of the boundary's displacement at the
    misclassified points, mean over seeds, per dataset. (c) Every misclassified point-pair: inward
    component against the remainder (above the diagonal: mostly toward the manifold)."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.4))
    run: TrainRun = pressure["line"][0]["run"]
    ax = axes[0]
    shades = plt.get_cmap("Greys")(np.linspace(0.35, 1.0, len(epochs)))
    for e, shade in zip(epochs, shades):
        draw_boundary_2d(ax, model_at(run, e), n=n, color=shade, lw=1.5, label=f"epoch {e}")
    draw_points_2d(ax, data_line)
    first = model_at(run, epochs[0])
    wrong = (first(data_line.x) > 0).long() != data_line.y
    ax.scatter(data_line.x[wrong, 0], data_line.x[wrong, 1], s=160, facecolors="none", edgecolors="orange", lw=1.5,
               label=f"misclassified at epoch {epochs[0]}")
    ax.legend(fontsize=7, loc="upper right", ncol=2)
    ax.set_title("(a) line: the boundary's first epochs", fontsize=10)
    colours = {"line": "tab:green", "chessboard": "tab:purple"}
    for name, rows in pressure.items():
        per_seed_in, per_seed_rest = [], []
        for r in rows:
            tr = r["trace"]
            pairs = len(r["epochs"]) - 1
            m_in, m_rest = np.full(pairs, np.nan), np.full(pairs, np.nan)
            for i in range(pairs):
                sel = (tr["pair"] == i) & tr["misclassified"] & tr["found"]
                if sel.any():
                    m_in[i], m_rest[i] = tr["inward"][sel].mean(), tr["rest"][sel].mean()
            per_seed_in.append(m_in)
            per_seed_rest.append(m_rest)
            wrong_all = tr["misclassified"] & tr["found"]
            axes[2].scatter(tr["rest"][wrong_all], tr["inward"][wrong_all], s=6, alpha=0.4, color=colours[name],
                            label=name if r is rows[0] else None)
        x = np.asarray(rows[0]["epochs"][:-1])
        with warnings.catch_warnings():  # an epoch pair with no misclassified point: NaN, not drawn
            warnings.simplefilter("ignore", RuntimeWarning)
            mean_in, mean_rest = np.nanmean(per_seed_in, 0), np.nanmean(per_seed_rest, 0)
        axes[1].plot(x, mean_in, color=colours[name], lw=1.8, label=f"{name}: toward the manifold")
        axes[1].plot(x, mean_rest, color=colours[name], lw=1.4, ls="--", label=f"{name}: the rest")
    axes[1].axhline(0, color="k", lw=0.6)
    axes[1].set(xlabel="epoch t (displacement from t to t + 1)", ylabel="mean component (input units)")
    axes[1].set_title(f"(b) at the misclassified points, mean over {len(pressure['line'])} seeds", fontsize=10)
    axes[1].legend(fontsize=7)
    lim = np.nanmax([np.nanmax(np.abs(r["trace"]["inward"])) for rows in pressure.values() for r in rows] + [1e-6])
    axes[2].plot([0, lim], [0, lim], color="k", lw=0.8, ls=":", label="inward = rest")
    axes[2].axhline(0, color="k", lw=0.6)
    axes[2].set(xlabel="remainder |D − (D·n)n| (input units)", ylabel="inward component D·n_in (input units)")
    axes[2].set_title("(c) every misclassified point, every epoch pair", fontsize=10)
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_training_comparison(results: Mapping, eps: float):
    """Clean, random-noise and adversarial training of the chessboard side by side (mean and 95 %
    interval over seeds): median dimple depth, the boundary's median distance from the manifold
    away from the training points (both in units of ``eps``), robust held-out accuracy and the
    epochs to fit the training set."""
    groups = (("clean", "chessboard"), ("random noise", "chessboard_noise"), ("adversarial", "chessboard_adv"))
    panels = (("dimple depth at the training points (ε)", lambda r: r["final"]["depth_median"] / eps),
              ("distance away from the training points (ε)", lambda r: r["orient"]["final"]["dist_away"] / eps),
              ("robust held-out accuracy", lambda r: r["robust_acc"]),
              ("epochs to fit the training set", lambda r: r["fit_epoch"]))
    fig, axes = plt.subplots(1, len(panels), figsize=(14, 3.6))
    colours = ("tab:blue", "tab:orange", "tab:red")
    for ax, (label, value) in zip(axes, panels):
        for k, ((name, key), colour) in enumerate(zip(groups, colours)):
            vals = [value(r) for r in results[key]]
            e = seed_estimate(vals)
            err = None
            if np.isfinite(e.lo) and np.isfinite(e.hi):
                err = [[e.value - e.lo], [e.hi - e.value]]
            ax.bar(k, e.value, color=colour, yerr=err, capsize=4, label=name)
            ax.scatter(np.full(len(vals), k) + np.linspace(-0.15, 0.15, len(vals)), vals, s=8, color="k", zorder=3)
        ax.set_xticks(range(len(groups)), [g[0] for g in groups], fontsize=8)
        ax.set_ylabel(label, fontsize=9)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"chessboard, trained three ways (radius ε = {eps:g}); bars: mean and 95 % interval over "
                 f"{len(results['chessboard'])} seeds, dots: seeds", fontsize=10)
    fig.tight_layout()
    return fig
