"""Figures of the synthetic clinging-and-dimpling experiments (figures 1, 3, 5 and 24 of the paper).

Class 0 is drawn red, class 1 (logit > 0) blue; coordinates are those of the unit cube.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import animation, cm, colors

from dmmlib.boundary import contours_2d, height_surface, logit_grid_2d
from dmmlib.data.synthetic import ManifoldSet
from dmmlib.chapters.clinging_dimpling.experiment import TrainRun, model_at

RED, BLUE = "#d62728", "#1f77b4"


def _point_colors(y: torch.Tensor) -> list[str]:
    return [BLUE if int(v) == 1 else RED for v in y]


def draw_boundary_2d(ax, model, *, n: int = 200, **line_kw) -> None:
    """Draw the zero level set of a 2D model on ``ax`` (unit square)."""
    for k, c in enumerate(contours_2d(logit_grid_2d(model, n, coarse=max(8, n // 4)))):
        ax.plot(c[:, 0], c[:, 1], **(line_kw if k == 0 else {**line_kw, "label": None}))


def draw_points_2d(ax, data: ManifoldSet, **kw) -> None:
    ax.scatter(data.x[:, 0], data.x[:, 1], c=_point_colors(data.y), s=25, zorder=3, edgecolors="k", linewidths=0.4, **kw)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="$x_1$ (input units)", ylabel="$x_2$ (input units)", aspect="equal")


def plot_boundaries_2d(run: TrainRun, data: ManifoldSet, epochs: Sequence[int], *, n: int = 200, ax=None):
    """Figure 5a: the decision boundary of a 2D run at ``epochs``, over the data. Returns the figure."""
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(5.2, 5))
    shades = plt.get_cmap("Greys")(np.linspace(0.35, 1.0, len(epochs)))
    for e, shade in zip(epochs, shades):
        draw_boundary_2d(ax, model_at(run, e), n=n, color=shade, lw=1.5, label=f"epoch {e}")
    draw_points_2d(ax, data)
    ax.scatter([], [], c=RED, label="class 0")
    ax.scatter([], [], c=BLUE, label="class 1")
    ax.legend(fontsize=7, loc="upper right", ncol=2)
    ax.set_title("decision boundary during training")
    return fig


def draw_surface_3d(ax, model, data: ManifoldSet, *, n: int = 50, z0: float = 0.5, points: bool = True,
                    height_range: float = 0.15, margin: float = 0.05, alpha: float = 0.9) -> None:
    """The boundary as a height surface z(x, y) over the data region (plus ``margin``), coloured by
    its height above the plane z = z0 like a topographic map (colours saturate at +-``height_range``)."""
    lo = max(0.0, float(data.x[:, :2].min()) - margin)
    hi = min(1.0, float(data.x[:, :2].max()) + margin)
    axis, z = height_surface(model, n, z0=z0, lo=lo, hi=hi, n_coarse=21, n_refine=12)
    xx, yy = np.meshgrid(axis.numpy(), axis.numpy())
    zz = np.ma.masked_invalid(z.numpy())
    face = cm.terrain(_height_norm(z0, height_range)(zz.filled(z0)))
    face[..., 3] = np.where(zz.mask, 0.0, alpha)
    ax.plot_surface(xx, yy, zz.filled(np.nan), facecolors=face, rstride=1, cstride=1, linewidth=0, antialiased=False, shade=False)
    if points:
        ax.scatter(data.x[:, 0], data.x[:, 1], data.x[:, 2], c=_point_colors(data.y), s=6, depthshade=False)
    ax.set(xlim=(0, 1), ylim=(0, 1), zlim=(0, 1), xlabel="x", ylabel="y", zlabel="z")
    ax.view_init(elev=22, azim=-60)


def _height_norm(z0: float, height_range: float):
    return colors.Normalize(z0 - height_range, z0 + height_range)


def _height_colorbar(fig, axes, z0: float = 0.5, height_range: float = 0.15):
    sm = cm.ScalarMappable(norm=_height_norm(z0, height_range), cmap="terrain")
    fig.colorbar(sm, ax=axes, shrink=0.6, label="boundary height z (input units)")


def plot_surfaces_3d(run: TrainRun, data: ManifoldSet, epochs: Sequence[int], *, n: int = 50, per_row: int = 3):
    """Figure 5b: the 3D boundary at each of ``epochs``, coloured by height. Returns the figure."""
    rows = -(-len(epochs) // per_row)
    cols = min(per_row, len(epochs))
    fig = plt.figure(figsize=(4.0 * cols + 1.0, 3.8 * rows))
    axes = []
    for k, e in enumerate(epochs):
        ax = fig.add_subplot(rows, cols, k + 1, projection="3d")
        draw_surface_3d(ax, model_at(run, e), data, n=n)
        ax.set_title(f"epoch {e}, train accuracy {float(run.accuracy[e]):.2f}")
        axes.append(ax)
    _height_colorbar(fig, axes)
    return fig


def plot_side_by_side_3d(models: Sequence, titles: Sequence[str], data: ManifoldSet, *, n: int = 50):
    """Figure 3: several 3D boundaries side by side (e.g. clean vs adversarially trained)."""
    fig = plt.figure(figsize=(4.6 * len(models) + 1.2, 4.2))
    axes = []
    for k, (model, title) in enumerate(zip(models, titles)):
        ax = fig.add_subplot(1, len(models), k + 1, projection="3d")
        draw_surface_3d(ax, model, data, n=n)
        ax.set_title(title)
        axes.append(ax)
    _height_colorbar(fig, axes)
    return fig


def _unit_gradients(model, x: torch.Tensor) -> np.ndarray:
    xr = x.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(model(xr).sum(), xr)
    return (g / g.norm(dim=1, keepdim=True).clamp_min(1e-12)).numpy()


def plot_gradient_arrows(model_2d, data_2d: ManifoldSet, model_3d, data_3d: ManifoldSet, *, n: int = 200, n3: int = 40):
    """Figure 24: unit input-gradient arrows at the training points, with the boundary, in 2D and 3D."""
    fig = plt.figure(figsize=(10, 4.6))
    ax = fig.add_subplot(1, 2, 1)
    draw_boundary_2d(ax, model_2d, n=n, color="grey", lw=1.5, label="decision boundary")
    g = _unit_gradients(model_2d, data_2d.x)
    x = data_2d.x.numpy()
    ax.quiver(x[:, 0], x[:, 1], g[:, 0], g[:, 1], angles="xy", scale_units="xy", scale=10, width=0.005, color="k", label="input gradient (unit)")
    draw_points_2d(ax, data_2d)
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title("(a) 2D boundary, 1D data")
    ax3 = fig.add_subplot(1, 2, 2, projection="3d")
    draw_surface_3d(ax3, model_3d, data_3d, n=n3, alpha=0.35)
    g3, x3 = _unit_gradients(model_3d, data_3d.x), data_3d.x.numpy()
    ax3.quiver(x3[:, 0], x3[:, 1], x3[:, 2], g3[:, 0], g3[:, 1], g3[:, 2], length=0.15, color="k", linewidth=0.8)
    ax3.set_title("(b) 3D boundary, 2D data")
    return fig


def plot_curves(results: dict[str, list[dict]], *, keys=("manifold_distance", "train_distance"), cling_key="cling_epoch"):
    """Clinging curves: mean and min-max band over seeds of each of ``keys`` per dataset.

    ``results``: dataset name -> list (one per seed) of :func:`dmmlib.chapters.clinging_dimpling.experiment.experiment`
    results. The dashed vertical line marks the mean clinging end epoch. Returns the figure.
    """
    fig, axes = plt.subplots(1, len(results), figsize=(5.2 * len(results), 3.8), squeeze=False)
    labels = {
        "manifold_distance": "manifold region to boundary",
        "train_distance": "training points to boundary",
        "dimple_depth": "signed dimple depth",
    }
    for ax, (name, runs) in zip(axes[0], results.items()):
        epochs = runs[0]["curves"]["epoch"].numpy()
        for key in keys:
            v = np.stack([r["curves"][key].numpy() for r in runs])
            line = ax.plot(epochs + 1, v.mean(0), marker="o", ms=3, label=labels.get(key, key))[0]
            ax.fill_between(epochs + 1, v.min(0), v.max(0), color=line.get_color(), alpha=0.2)
        cling = np.mean([r[cling_key] for r in runs])
        ax.axvline(cling + 1, color="k", ls="--", lw=1, label=f"clinging ends (mean, epoch {cling:.0f})")
        ax.set(xscale="log", xlabel="epoch + 1 (log scale)", ylabel="L2 distance (input units)", title=f"{name} ({len(runs)} seeds)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def animate_boundary_2d(run: TrainRun, data: ManifoldSet, *, n: int = 100, epochs: Sequence[int] | None = None, size: float = 4.0):
    """A matplotlib animation of the 2D boundary over ``epochs`` (default: every snapshot).

    Display it in a notebook with ``IPython.display.HTML(anim.to_jshtml())``.
    """
    epochs = run.epochs.tolist() if epochs is None else list(epochs)
    frames = [(e, contours_2d(logit_grid_2d(model_at(run, e), n, coarse=max(8, n // 4)))) for e in epochs]
    fig, ax = plt.subplots(figsize=(size, size), dpi=72)
    draw_points_2d(ax, data)
    lines = []
    title = ax.set_title("")

    def draw(frame):
        e, cs = frame
        for ln in lines:
            ln.remove()
        lines.clear()
        for c in cs:
            lines.extend(ax.plot(c[:, 0], c[:, 1], color="grey", lw=1.8))
        title.set_text(f"epoch {e}, train accuracy {float(run.accuracy[e]):.2f}")
        return lines

    anim = animation.FuncAnimation(fig, draw, frames=frames, interval=120, blit=False)
    plt.close(fig)
    return anim


def dimpling_widget(datasets: dict[str, ManifoldSet], *, epochs: int = 200, weight_decay: float = 0.01, width: int = 4000,
                    lr: float = 0.002, grid: int = 100, surface_grid: int = 30):
    """A Jupyter widget: choose dataset, seed, width and learning rate (trains on "train"), then scrub the epoch slider.

    2D datasets show the boundary over the data; 3D ones its height surface. Returns the
    ipywidgets container (display it; it needs a live kernel).
    """
    import ipywidgets as w

    from dmmlib.chapters.clinging_dimpling.experiment import train

    dataset = w.Dropdown(options=list(datasets), description="dataset")
    seed = w.IntText(value=0, description="seed")
    width_w = w.IntText(value=width, description="width")
    lr_w = w.FloatLogSlider(value=lr, base=10, min=-4, max=-1, description="lr")
    button = w.Button(description="train")
    epoch = w.IntSlider(value=0, min=0, max=epochs, description="epoch", continuous_update=False)
    out = w.Output()
    state = {}

    def retrain(_=None):
        data = datasets[dataset.value]
        with out:
            out.clear_output(wait=True)
            print("training ...")
        state["run"] = train(data, width=width_w.value, lr=lr_w.value, weight_decay=weight_decay, epochs=epochs, seed=seed.value)
        state["data"] = data
        show()

    def show(_=None):
        if "run" not in state:
            return
        run, data = state["run"], state["data"]
        model = model_at(run, epoch.value)
        with out:
            out.clear_output(wait=True)
            if data.x.shape[1] == 2:
                fig, ax = plt.subplots(figsize=(4.5, 4.5))
                draw_boundary_2d(ax, model, n=grid, color="grey")
                draw_points_2d(ax, data)
            else:
                fig = plt.figure(figsize=(5, 4.5))
                draw_surface_3d(fig.add_subplot(projection="3d"), model, data, n=surface_grid)
            fig.suptitle(f"epoch {epoch.value}, train accuracy {float(run.accuracy[epoch.value]):.2f}")
            plt.show()

    button.on_click(retrain)
    epoch.observe(show, names="value")
    return w.VBox([w.HBox([dataset, seed, width_w]), w.HBox([lr_w, button]), epoch, out])
