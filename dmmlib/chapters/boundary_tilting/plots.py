"""Figures, animations and the Jupyter widget of the chapter "Boundary tilting".

Inputs are the dicts of :func:`dmmlib.chapters.boundary_tilting.experiment.analyse_sweep` (one per seed) and plain
tensors; distances are L2 norms of [0, 1]-scaled pixels.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import animation

from dmmlib.chapters.boundary_tilting import experiment as tilting
from dmmlib.data.tilting_toy import tilted_boundary

CLASS_COLORS = ("tab:blue", "tab:orange")


def _line_points(line, xlim):
    """Endpoints of p*u + q*v + r = 0 across ``xlim`` (or a vertical line when q = 0)."""
    p, q, r = (float(t) for t in line)
    if abs(q) < 1e-12 * max(abs(p), 1e-300):
        return [-r / p, -r / p], [-1e6, 1e6]
    us = np.array(xlim, dtype=float)
    return us, -(p * us + r) / q


def draw_plane(ax, xy, y, line, labels, *, title="", alpha=0.35):
    """Scatter of plane coordinates ``xy`` (P, 2) coloured by ``y`` (P,) in {-1, +1}, with the
    boundary ``line`` (3,) in orange-red."""
    xy, y = np.asarray(xy), np.asarray(y)
    for cls, color, label in zip((-1, 1), CLASS_COLORS, labels):
        m = y == cls
        ax.scatter(xy[m, 0], xy[m, 1], s=6, color=color, alpha=alpha, label=label, lw=0)
    lo = min(xy[:, 0].min(), xy[:, 1].min()) * 1.1
    hi = max(xy[:, 0].max(), xy[:, 1].max()) * 1.1
    xs, ys = _line_points(line, (lo, hi))
    ax.plot(xs, ys, color="crimson", lw=1.5, label="boundary")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel(r"along $\hat z$ (L2, pixels in [0,1])")
    ax.set_ylabel(r"along $\hat n$ (L2)")
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def toy_figure(problems: dict, tilt_deg: float, distances: dict):
    """2 x 2 panels: rows = dimension (keys of ``problems``), columns = bisecting (0 deg) and
    tilted boundary; each shows the data in the plane (e1, v) with the boundary.
    ``distances[(dim, theta)]`` = median |distance| to print in the title."""
    fig, axes = plt.subplots(len(problems), 2, figsize=(8, 3.6 * len(problems)), squeeze=False)
    for row, (dim, prob) in enumerate(problems.items()):
        for col, theta in enumerate((0.0, tilt_deg)):
            w, b = tilted_boundary(prob, theta)
            xy = tilting.plane_coordinates(prob.x, prob.e1, prob.v, torch.zeros_like(prob.e1))
            line = tilting.boundary_line(w, b.reshape(1), prob.e1, prob.v, torch.zeros_like(prob.e1))[0]
            ax = axes[row, col]
            draw_plane(ax, xy, prob.y, line, ("class I", "class J"), alpha=0.6,
                       title=f"{dim} dimensions, tilt {theta:g} deg: median distance {distances[(dim, theta)]:.3f}")
            ax.set_ylim(-0.6, 0.6)
            ax.set_xlabel("along e1, the data line")
            ax.set_ylabel("along v (no data variance)")
            ax.set_aspect("auto")
    axes[0, 0].legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def _band(ax, x, values, label, color, marker="o"):
    v = np.asarray(values, dtype=float)
    mean = v.mean(0)
    ax.plot(x, mean, marker=marker, ms=3, color=color, label=label)
    if v.shape[0] > 1:
        ax.fill_between(x, v.min(0), v.max(0), color=color, alpha=0.2)


def sweep_figure(studies: list, digits):
    """Three panels against lambda (log): tilt theta; distances (median test point and
    0.5 ||c1 - c0|| cos theta); train and test error. Lines: mean over seeds; bands: min-max."""
    lam = studies[0]["lambdas"].numpy()
    stack = lambda key: np.stack([s[key].numpy() for s in studies])  # noqa: E731
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    _band(axes[0], lam, stack("theta"), r"$\theta = \angle(w, \hat z)$", "k")
    axes[0].set_ylabel("tilting angle theta (degrees)")
    _band(axes[1], lam, stack("median_dist_test"), "median test point", "tab:green")
    _band(axes[1], lam, stack("half_gap_cos"), r"$\frac{1}{2}\|c_1-c_0\|\cos\theta$", "tab:red", "^")
    axes[1].set_ylabel("distance to boundary (L2, pixels in [0,1])")
    _band(axes[2], lam, 100 * stack("err_train"), "train", "tab:blue")
    _band(axes[2], lam, 100 * stack("err_test"), "test", "tab:orange", "s")
    axes[2].set_ylabel("error (%)")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel(r"regularisation $\lambda$ (log scale)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(f"MNIST {digits[0]} vs {digits[1]}, linear SVM; {len(studies)} split seed(s): mean, band = min-max", fontsize=10)
    fig.tight_layout()
    return fig


def _img(v):
    return np.asarray(v, dtype=float).reshape(28, 28)


def perturbation_figure(study: dict, digits, columns=None):
    """For the example test digit and a subset of lambdas (columns): the minimal adversarial
    perturbation (colour scale symmetric, per column), the adversarial image and the mirror
    image (pixels clipped to [0, 1] for display only)."""
    lam = study["lambdas"].numpy()
    cols = list(columns) if columns is not None else list(np.linspace(0, len(lam) - 1, min(6, len(lam))).round().astype(int))
    fig, axes = plt.subplots(3, len(cols), figsize=(1.7 * len(cols), 5.6), squeeze=False)
    x0 = study["example"][0]
    for j, l in enumerate(cols):
        d = study["perturbation"][l, 0]
        m = float(d.abs().max())
        axes[0, j].imshow(_img(d), cmap="RdBu_r", vmin=-m, vmax=m)
        axes[0, j].set_title(f"lambda={lam[l]:.0e}\ntheta={float(study['theta'][l]):.1f} deg\n||delta||={float(d.norm()):.2f}", fontsize=8)
        axes[1, j].imshow(_img((x0 + d).clamp(0, 1)), cmap="gray", vmin=0, vmax=1)
        axes[2, j].imshow(_img(study["mirror"][l, 0].clamp(0, 1)), cmap="gray", vmin=0, vmax=1)
        for i in range(3):
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
    for i, name in enumerate(("perturbation", "adversarial", "mirror image")):
        axes[i, 0].set_ylabel(name, fontsize=9)
    fig.tight_layout()
    return fig


def lambda_frame(fig, study: dict, index: int, digits):
    """Draw one lambda of a study on ``fig``: tilting plane, theta curve with a marker, and
    the perturbation and mirror image of the example digit."""
    fig.clear()
    axes = fig.subplots(1, 4, gridspec_kw={"width_ratios": [1.4, 1.2, 0.8, 0.8]})
    lam = study["lambdas"].numpy()
    draw_plane(axes[0], study["plane_xy"][index], study["plane_y"], study["line"][index],
               (f"digit {digits[0]}", f"digit {digits[1]}"), title=f"tilting plane, lambda = {lam[index]:.1e}")
    axes[0].legend(fontsize=7, loc="upper left", markerscale=2)
    axes[1].semilogx(lam, study["theta"].numpy(), "k.-")
    axes[1].semilogx([lam[index]], [float(study["theta"][index])], "o", color="crimson")
    axes[1].set_xlabel(r"$\lambda$")
    axes[1].set_ylabel("theta (degrees)")
    axes[1].grid(alpha=0.3)
    d = study["perturbation"][index, 0]
    m = float(d.abs().max())
    axes[2].imshow(_img(d), cmap="RdBu_r", vmin=-m, vmax=m)
    axes[2].set_title(f"perturbation\n||delta|| = {float(d.norm()):.2f}", fontsize=8)
    axes[3].imshow(_img(study["mirror"][index, 0].clamp(0, 1)), cmap="gray", vmin=0, vmax=1)
    axes[3].set_title("mirror image", fontsize=8)
    for ax in axes[2:]:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()


def sweep_animation(study: dict, digits, *, interval_ms: int = 600):
    """A matplotlib animation over lambda of :func:`lambda_frame` (for ``to_jshtml()``)."""
    fig = plt.figure(figsize=(12, 3.4), dpi=72)
    n = len(study["lambdas"])
    anim = animation.FuncAnimation(fig, lambda i: lambda_frame(fig, study, i, digits), frames=n, interval=interval_ms)
    plt.close(fig)
    return anim


def tilt_3d_animation(study: dict, x_train, y_train, digits, *, n_points: int = 300, frames: int = 24, seed: int = 0):
    """Figure 7: the training points in the 3-D span of z_hat and the weights of the smallest
    and the largest lambda, with both boundary planes; the view turns around the vertical
    axis. Returns a matplotlib animation."""
    w_lo, w_hi = study["w"][0], study["w"][-1]
    b_lo, b_hi = float(study["b"][0]), float(study["b"][-1])
    basis = tilting.gram_schmidt(torch.stack([study["z_hat"], w_lo, w_hi]))
    if len(basis) < 3:  # the two weights and z_hat are coplanar: pad with any orthogonal axis
        basis = tilting.gram_schmidt(torch.cat([basis, torch.eye(basis.shape[1], dtype=basis.dtype)[:3]]))[:3]
    origin = study["origin"]
    gen = torch.Generator().manual_seed(int(seed))
    pick = torch.randperm(len(x_train), generator=gen)[:n_points]
    xyz = ((x_train[pick].double() - origin) @ basis.T).numpy()
    yy = y_train[pick].numpy()
    fig = plt.figure(figsize=(5.5, 5), dpi=72)
    ax = fig.add_subplot(projection="3d")
    for cls, color, digit in zip((-1, 1), CLASS_COLORS, digits):
        m = yy == cls
        ax.scatter(xyz[m, 0], xyz[m, 1], xyz[m, 2], s=5, color=color, label=f"digit {digit}")
    span = np.abs(xyz).max()
    grid = np.linspace(-span, span, 2)
    for w, b, color, name in ((w_hi, b_hi, "gray", "max lambda (tilt 0)"), (w_lo, b_lo, "crimson", "min lambda")):
        normal = (basis @ w).numpy()
        offset = float(w @ origin) + b
        # plane normal . u + offset = 0, drawn over the two axes where the normal is smallest
        k = int(np.argmax(np.abs(normal)))
        a, c = [i for i in range(3) if i != k]
        ga, gc = np.meshgrid(grid, grid)
        gk = -(normal[a] * ga + normal[c] * gc + offset) / normal[k]
        pts = [None] * 3
        pts[a], pts[c], pts[k] = ga, gc, np.clip(gk, -span, span)
        ax.plot_surface(*pts, color=color, alpha=0.25)
        ax.plot([], [], color=color, lw=6, alpha=0.4, label=f"boundary, {name}")
    ax.set_xlabel(r"$\hat z$ (L2)")
    ax.set_ylabel("2nd axis (L2)")
    ax.set_zlabel("3rd axis (L2)")
    ax.legend(fontsize=7, loc="upper left")
    anim = animation.FuncAnimation(fig, lambda i: ax.view_init(elev=15, azim=360 * i / frames), frames=frames, interval=150)
    plt.close(fig)
    return anim


def lambda_widget(studies_for_pair, pairs, default_pair):
    """A Jupyter widget: a lambda slider and a digit-pair dropdown redraw :func:`lambda_frame`.
    ``studies_for_pair(pair)`` returns a study dict (computing and caching it as needed).

    The slider redraws when it is released (``continuous_update=False``). Each frame is
    rendered once to PNG and kept, so returning to a lambda or a pair is immediate; a pair
    not yet computed says so in the label while its SVM sweep runs (then it is cached on disk)."""
    import io

    import ipywidgets as widgets
    from IPython.display import Image, display

    out = widgets.Output()
    pair_box = widgets.Dropdown(options=[(f"{a} vs {b}", (a, b)) for a, b in pairs], value=tuple(default_pair), description="digits")
    first = studies_for_pair(tuple(default_pair))
    slider = widgets.IntSlider(min=0, max=len(first["lambdas"]) - 1, value=0, description="lambda index",
                               continuous_update=False)
    label = widgets.Label()
    frames: dict = {}  # (pair, index) -> PNG bytes

    def frame(pair, index: int) -> bytes:
        if (pair, index) not in frames:
            if pair != tuple(default_pair):
                label.value = f"digits {pair[0]} vs {pair[1]}: computing the SVM sweep (first time only) ..."
            study = studies_for_pair(pair)
            fig = plt.figure(figsize=(12, 3.4), dpi=72)
            lambda_frame(fig, study, index, pair)
            buf = io.BytesIO()
            fig.savefig(buf, format="png")
            plt.close(fig)
            frames[pair, index] = buf.getvalue()
        return frames[pair, index]

    def redraw(*_):
        pair = pair_box.value
        with out:  # an error shows in the widget's output
            png = frame(pair, slider.value)
            label.value = f"lambda = {float(studies_for_pair(pair)['lambdas'][slider.value]):.2e}"
            out.clear_output(wait=True)
            display(Image(data=png, format="png"))

    slider.observe(redraw, names="value")
    pair_box.observe(redraw, names="value")
    redraw()
    display(widgets.VBox([widgets.HBox([pair_box, slider, label]), out]))


def gradient_angle_figure(angles_mlp, theta_linear_range, *, random_angles=None):
    """Histogram of the angle between the MLP's input gradient and z_hat at test points,
    with the linear SVMs' tilt range shaded and, optionally, random directions' angles."""
    fig, ax = plt.subplots(figsize=(6, 3.4))
    bins = np.linspace(0, 100, 101)
    ax.hist(np.asarray(angles_mlp), bins=bins, color="tab:green", alpha=0.7, label="MLP input gradient")
    if random_angles is not None:
        ax.hist(np.asarray(random_angles), bins=bins, color="gray", alpha=0.5, label="random directions")
    lo, hi = theta_linear_range
    ax.axvspan(lo, hi, color="crimson", alpha=0.15, label="linear SVM tilt over the lambda sweep")
    ax.set_xlabel(r"angle to the nearest-centroid direction $\hat z$ (degrees)")
    ax.set_ylabel("test points")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def tilting_picture_figure(picture: dict, digits):
    """The boundary-tilting picture (:func:`dmmlib.chapters.boundary_tilting.tilt_distance.tilting_picture`):
    the two centroids on the ``z_hat`` axis, the boundary of every lambda drawn in its own
    tilting plane (colour: lambda, log scale), the perpendicular from the second centroid to
    each boundary (length ``0.5 ||c1 - c0|| cos theta``) and, for the smallest and the largest
    lambda, an example test digit with its smallest adversarial perturbation (arrow)."""
    import matplotlib as mpl

    lam, theta, lines = picture["lambdas"], picture["theta"], picture["line"]
    cents = picture["centroids"]
    g = float(abs(cents[1, 0] - cents[0, 0]))
    data, data_y = np.asarray(picture["data"]), np.asarray(picture["data_y"])
    lim = 1.1 * max(g / 2, float(np.abs(picture["example"]).max()), float(np.abs(data).max()))
    norm = mpl.colors.LogNorm(vmin=float(lam.min()), vmax=float(lam.max()))
    cmap = plt.get_cmap("viridis")
    fig, ax = plt.subplots(figsize=(7.2, 5.4))
    for cls, color, digit in zip((-1, 1), CLASS_COLORS, digits):
        m = data_y == cls
        ax.scatter(data[m, 0], data[m, 1], s=4, color=color, alpha=0.2, lw=0,
                   label=f"training digits {digit}, in the smallest λ's plane")
    for i in range(len(lam)):
        xs, ys = _line_points(lines[i], (-lim, lim))
        ax.plot(xs, ys, color=cmap(norm(lam[i])), lw=1.4)
        foot = picture["centroid_feet"][i, 1]
        ax.plot([cents[1, 0], foot[0]], [cents[1, 1], foot[1]], color=cmap(norm(lam[i])), lw=0.8, ls=":")
    for i, name in ((0, "smallest"), (len(lam) - 1, "largest")):
        ex, foot = picture["example"][i], picture["example_feet"][i]
        ax.annotate("", xy=tuple(foot), xytext=tuple(ex),
                    arrowprops=dict(arrowstyle="->", color="crimson" if i == 0 else "tab:gray", lw=1.5))
        ax.plot(*ex, "o", color="crimson" if i == 0 else "tab:gray", ms=5,
                label=f"test digit and its smallest perturbation, {name} λ (θ = {theta[i]:.0f}°)")
    for c, color, label in zip(cents, CLASS_COLORS, (f"centroid of digit {digits[0]}", f"centroid of digit {digits[1]}")):
        ax.plot(c[0], c[1], "*", ms=14, color=color, mec="k", label=label)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel(r"along $\hat z$, the centroid direction (L2, pixels in [0,1])")
    ax.set_ylabel(r"along each boundary's own $\hat n$ (L2)")
    sm = mpl.cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=ax, label=r"regularisation $\lambda$ of the boundary (log scale)")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


def distance_tilt_figure(data: dict, digits):
    """The adversarial distance against the tilting angle
    (:func:`dmmlib.chapters.boundary_tilting.tilt_distance.distance_against_tilt`): per seed and
    lambda the median test digit's distance to the boundary (colour: lambda), and the article's
    ``0.5 ||c1 - c0|| cos theta`` (line: mean over seeds)."""
    import matplotlib as mpl

    theta, dist, lam = data["theta"], data["dist"], data["lambdas"]
    norm = mpl.colors.LogNorm(vmin=float(lam.min()), vmax=float(lam.max()))
    fig, ax = plt.subplots(figsize=(6.6, 4.4))
    markers = "osD^v<>p"
    for s in range(len(theta)):
        sc = ax.scatter(theta[s], dist[s], c=lam, cmap="viridis", norm=norm, marker=markers[s % len(markers)], s=28,
                        edgecolors="k", linewidths=0.4, label=f"split seed {s}")
    ax.plot(data["formula_theta"], data["formula"].mean(0), "k-", lw=1.2,
            label=r"$\frac{1}{2}\|c_1 - c_0\|\cos\theta$ (mean over seeds)")
    ax.set_xlim(0, 90)
    ax.set_ylim(0, None)
    ax.set_xlabel(r"tilting angle $\theta = \angle(w, \hat z)$ (degrees)")
    ax.set_ylabel("median test digit's distance to the boundary (L2)")
    ax.set_title(f"MNIST {digits[0]} vs {digits[1]}: the smallest adversarial perturbation against the tilt", fontsize=9)
    fig.colorbar(sc, ax=ax, label=r"regularisation $\lambda$ (log scale)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
