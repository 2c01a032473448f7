"""Figures of the chapter "Adversarial examples on and off the image manifold" (figures 7-21
and appendix H of the Dimpled Manifold paper), and a Jupyter widget to explore one image.

Perturbations are shown "amplified to [0, 1]" as the paper does: ``0.5 + 0.5 d / max|d|``
per image, so grey is no change, white the largest increase and black the largest decrease.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import matplotlib
import matplotlib.ticker
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import Tensor

from dmmlib.evaluate import predict
from dmmlib.chapters.on_off_manifold.experiment import logits_along_line
from dmmlib.plots.images import amplify  # noqa: F401  (public here too)
from dmmlib.plots.images import show_image as _img


def _pred(model, x: Tensor) -> int:
    """The predicted class of one image x (C, H, W)."""
    return int(predict(model, x.unsqueeze(0), device=x.device)[0])


def projection_figure(
    model: Callable[[Tensor], Tensor],
    x: Tensor,
    d: Tensor,
    d_on: Tensor,
    class_names: Sequence[str],
    *,
    classes: Sequence[int] | None = None,
    title: str = "",
) -> plt.Figure:
    """Figures 7 and 9-16: rows x + d, x + Proj_M(d), x + (d - Proj_M(d)); columns: the image x,
    the perturbed image, the amplified perturbation, and the logits along the straight line
    from x to the perturbed image (101 points).

    x, d, d_on: (C, H, W) tensors (d_on = Proj_M(d)); ``classes``: logits to draw (default all).
    """
    if not (x.shape == d.shape == d_on.shape) or x.dim() != 3:
        raise ValueError(f"x, d, d_on must be (C, H, W) of one shape, got {tuple(x.shape)}, {tuple(d.shape)}, {tuple(d_on.shape)}")
    rows = (("x + d", d), ("x + Proj_M(d)", d_on), ("x + (d - Proj_M(d))", d - d_on))
    x1 = torch.stack([(x + v).clamp(0, 1) for _, v in rows])
    curves = logits_along_line(model, x.unsqueeze(0).expand_as(x1), x1, steps=100).cpu()  # (3, 101, C)
    classes = list(range(curves.shape[2])) if classes is None else list(classes)
    fig, axes = plt.subplots(3, 4, figsize=(10, 7), gridspec_kw={"width_ratios": [1, 1, 1, 2.2]})
    t = np.linspace(0, 1, 101)
    ymin, ymax = float(curves[:, :, classes].min()), float(curves[:, :, classes].max())
    for i, (name, v) in enumerate(rows):
        _img(axes[i, 0], x, f"x: {class_names[_pred(model, x)]}")
        _img(axes[i, 1], x1[i], f"{name}: {class_names[_pred(model, x1[i])]}")
        _img(axes[i, 2], amplify(v.unsqueeze(0))[0], f"perturbation, ||.|| = {float(v.norm()):.3f}")
        ax = axes[i, 3]
        for c in classes:
            ax.plot(t, curves[i, :, c].numpy(), label=class_names[c], lw=1.2)
        ax.set_ylim(ymin - 0.05 * (ymax - ymin), ymax + 0.05 * (ymax - ymin))
        ax.set_xlabel("t (image = x + t v)")
        ax.set_ylabel("logit")
        ax.grid(alpha=0.3)
    axes[0, 3].legend(fontsize=6, ncol=2, loc="best")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def attacks_figure(
    model: Callable[[Tensor], Tensor],
    x: Tensor,
    deltas: Mapping[str, Tensor],
    class_names: Sequence[str],
    *,
    title: str = "",
) -> plt.Figure:
    """Figures 8 and 18-21 (separate on- and off-manifold attacks) and appendix H (L2 vs L-inf).

    x (B, C, H, W) and every delta (B, C, H, W): for each image two rows, the image x and
    x + delta for each attack (titled with the predicted class), then the amplified deltas
    (titled with their L2 and L-inf norms)."""
    names = list(deltas)
    if x.dim() != 4:
        raise ValueError(f"x must be (B, C, H, W), got {tuple(x.shape)}")
    B = x.shape[0]
    fig, axes = plt.subplots(2 * B, len(names) + 1, figsize=(2.2 * (len(names) + 1), 4.4 * B), squeeze=False)
    for b in range(B):
        top, bottom = axes[2 * b], axes[2 * b + 1]
        _img(top[0], x[b], f"x: {class_names[_pred(model, x[b])]}")
        bottom[0].axis("off")
        for j, name in enumerate(names, start=1):
            d = deltas[name]
            if d.shape != x.shape:
                raise ValueError(f"delta {name!r} has shape {tuple(d.shape)}, expected {tuple(x.shape)}")
            xa = (x[b] + d[b]).clamp(0, 1)
            _img(top[j], xa, f"{name}: {class_names[_pred(model, xa)]}")
            _img(bottom[j], amplify(d[b : b + 1])[0], f"L2 {float(d[b].norm()):.2f}, Linf {float(d[b].abs().max()):.2f}")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def gallery_figure(
    model: Callable[[Tensor], Tensor],
    x: Tensor,
    d: Tensor,
    d_on: Tensor,
    class_names: Sequence[str],
    *,
    title: str = "",
) -> plt.Figure:
    """Several images at once, one row each: x, x + d, and the amplified d, Proj_M(d) and
    d - Proj_M(d) (titled with their L2 norms). x, d, d_on: (B, C, H, W)."""
    if not (x.shape == d.shape == d_on.shape) or x.dim() != 4:
        raise ValueError("x, d, d_on must be (B, C, H, W) of one shape")
    B = x.shape[0]
    fig, axes = plt.subplots(B, 5, figsize=(9, 2.0 * B), squeeze=False)
    parts = (("d", d), ("Proj_M(d)", d_on), ("d - Proj_M(d)", d - d_on))
    for b in range(B):
        xa = (x[b] + d[b]).clamp(0, 1)
        _img(axes[b, 0], x[b], f"x: {class_names[_pred(model, x[b])]}")
        _img(axes[b, 1], xa, f"x + d: {class_names[_pred(model, xa)]}")
        for j, (name, v) in enumerate(parts, start=2):
            _img(axes[b, j], amplify(v[b : b + 1])[0], f"{name}, ||.|| = {float(v[b].norm()):.3f}")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def message_figure(text: str) -> plt.Figure:
    """A small figure holding only ``text`` (for an experiment that did not run)."""
    fig, ax = plt.subplots(figsize=(6, 1))
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, fontsize=9)
    ax.axis("off")
    return fig


def ratio_figure(ratios: Mapping[str, np.ndarray], reference: float, *, title: str = "") -> plt.Figure:
    """Histograms of the per-image norm ratio R(d, S) for each subspace S (log x axis), with the
    random-vector reference sqrt(n/k) as a dashed line."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    finite = [np.asarray(v)[np.isfinite(v)] for v in ratios.values()]
    allv = np.concatenate(finite) if finite else np.array([1.0])
    lo, hi = max(allv.min() * 0.9, 1.0) if allv.size else 1.0, allv.max() * 1.1 if allv.size else 10.0
    bins = np.geomspace(lo, max(hi, lo * 1.01), 30)
    for (name, _), v in zip(ratios.items(), finite):
        ax.hist(v, bins=bins, histtype="step", lw=1.5, label=f"{name} (mean {v.mean():.2f})" if v.size else name)
    ax.axvline(reference, color="k", ls="--", label=f"sqrt(n/k) = {reference:.2f}")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.xaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%.0f"))
    ax.tick_params(axis="x", which="minor", labelsize=7)
    ax.set_xlabel("R(d, S) = ||d|| / ||Proj_S d||")
    ax.set_ylabel("images")
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def distance_figure(result, *, title: str = "") -> plt.Figure:
    """Table 2 as bars: mean on- and off-subspace PGD distances per subspace with their 95 %
    intervals (over models and images), unconstrained PGD as a dashed line. ``result``: one
    dataset's :func:`dmmlib.chapters.on_off_manifold.summary.summarize`."""
    names = list(result["R"])
    fig, ax = plt.subplots(figsize=(6, 3.5))
    pos = np.arange(len(names))
    for off, mode in ((-0.2, "on"), (0.2, "off")):
        est = [result["dist"].get(f"{mode}/{s}") for s in names]
        m = np.array([e.value if e else np.nan for e in est])
        err = np.array([[e.value - e.lo, e.hi - e.value] if e else [np.nan, np.nan] for e in est]).T
        ax.bar(pos + off, m, width=0.4, yerr=np.nan_to_num(np.abs(err)), capsize=3, label=f"{mode}-subspace PGD")
    ax.axhline(result["dist"]["none"].value, color="k", ls="--", label="unconstrained PGD")
    ax.set_xticks(pos)
    ax.set_xticklabels(names, fontsize=8)
    ax.set_xlabel("subspace S the steps are projected on / off")
    ax.set_ylabel("mean L2 distance of the\nadversarial example ([0,1] pixels)")
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


B1_LABELS = {"x": "x", "d": "x + d", "on": "x + Proj_M d", "off": "x + (d - Proj_M d)", "on_rand": "x + Proj_S d",
             "off_rand": "x + (d - Proj_S d)"}


def _bars(ax, estimates: Mapping[str, object], labels: Mapping[str, str], colors: Sequence[str]) -> None:
    keys = [k for k in labels if k in estimates]
    m = np.array([estimates[k].value for k in keys], dtype=float)
    err = np.abs(np.array([[estimates[k].value - estimates[k].lo, estimates[k].hi - estimates[k].value]
                           for k in keys], dtype=float).T)
    ax.bar(np.arange(len(keys)), m, yerr=np.nan_to_num(err), capsize=3, color=colors[: len(keys)])
    ax.set_xticks(np.arange(len(keys)))
    ax.set_xticklabels([labels[k] for k in keys], rotation=30, ha="right", fontsize=8)
    ax.axhline(0, color="k", lw=0.8)
    ax.grid(axis="y", alpha=0.3)


def b1_figure(b1, *, title: str = "") -> plt.Figure:
    """Appendix B.1 measured (``b1``: one data set's
    :func:`dmmlib.chapters.on_off_manifold.appendix_b.summarize`): (a) the mean logit margin
    f_y - max_{j != y} f_j at x, at x + d and at x plus each part of d (on / off the tangent space M
    and a random k-subspace S), with the share of images each one is misclassified in the labels;
    (b) with a separately trained classifier g, the mean gain of its target margin g_t - g_y per
    unit L2 of the on-M, off-M and on-S parts. Bars: means over the images whose attack
    succeeded; error bars: 95 % intervals over models and images."""
    colors = ["0.6", "tab:red", "tab:blue", "tab:orange", "tab:cyan", "tab:olive"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [1.6, 1]})
    labels = {k: v + (f"\n{100 * b1['flip'][k].value:.0f} % flipped" if k in b1["flip"] else "")
              for k, v in B1_LABELS.items()}
    _bars(axes[0], b1["margin"], labels, colors)
    axes[0].set_ylabel("mean logit margin f_y - max_(j != y) f_j\n(logit units; < 0: misclassified)")
    axes[0].set_title("(a) the attacked classifier", fontsize=9)
    if "shift" in b1:
        _bars(axes[1], b1["shift"], {k: B1_LABELS[k] for k in ("on", "off", "on_rand")},
              ["tab:blue", "tab:orange", "tab:cyan"])
        axes[1].set_ylabel("gain of g_t - g_y per unit L2\n(logit units per [0,1]-pixel L2)")
        axes[1].set_title(f"(b) a separately trained classifier g ({b1.get('other', '')})", fontsize=8)
    else:
        axes[1].text(0.5, 0.5, "no separately trained classifier:\n" + str(b1.get("other", "")), ha="center",
                     va="center", fontsize=8, wrap=True)
        axes[1].axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def example_figures(setup, rec: Mapping[str, Tensor], P: Mapping, *, l2_and_linf: Callable | None = None
                    ) -> dict[str, plt.Figure]:
    """The example figures of one data set, model unit 0 (``setup``: its
    :class:`~dmmlib.chapters.on_off_manifold.experiment.Setup`; ``rec``: the data set's records,
    :func:`~dmmlib.chapters.on_off_manifold.experiment.run_dataset`), the first ``P["n_show"]``
    images whose table-1 attack succeeded: "proj" (:func:`projection_figure`, figures 7, 9-17),
    "gallery" (:func:`gallery_figure`), "sep" (:func:`attacks_figure` of the separate attacks,
    figures 8, 18-23) and, with ``l2_and_linf`` (:func:`experiment.l2_and_linf`), "linf"
    (appendix H, figures 26 and 28). With more than 20 classes (ImageNet) the logit panels draw
    the true classes and the attack's targets only."""
    ds = setup.dataset
    mine = torch.nonzero((rec["unit"] == 0) & rec["t1/success"])[:, 0][: P["n_show"]]
    show = mine if len(mine) else torch.nonzero(rec["unit"] == 0)[:, 0][: P["n_show"]]
    x = setup.x[rec["index"][show]]
    dev = next(setup.classifier.parameters()).device
    i0 = int(show[0])
    classes = None
    if len(setup.class_names) > 20:
        classes = sorted({int(c) for c in torch.cat([rec["label"][show], rec["t1/target"][show]])})
    out = {"proj": projection_figure(setup.classifier, x[0].to(dev), rec["t1/d"][i0].to(dev), rec["t1/d_on"][i0].to(dev),
                                     setup.class_names, classes=classes,
                                     title=f"{ds}: PGD perturbation and its projections")}
    out["gallery"] = gallery_figure(setup.classifier, x.to(dev), rec["t1/d"][show].to(dev), rec["t1/d_on"][show].to(dev),
                                    setup.class_names)
    deltas = {"PGD": rec["t2/none/d"][show], "on-manifold PGD": rec["t2/on/tangent/d"][show],
              "off-manifold PGD": rec["t2/off/tangent/d"][show]}
    out["sep"] = attacks_figure(setup.classifier, x.to(dev), {k: v.to(dev) for k, v in deltas.items()}, setup.class_names)
    if l2_and_linf is not None:
        d2, dinf, _, _ = l2_and_linf(setup.classifier, x.to(dev), rec["label"][show].to(dev), eps_l2=P["t2_eps"][ds],
                                     step_l2=P["t2_step"][ds], eps_linf=P["linf_eps"][ds], steps=P["t2_steps"])
        out["linf"] = attacks_figure(setup.classifier, x.to(dev), {"L2 PGD": d2, "Linf PGD": dinf}, setup.class_names)
    return out


def explorer(setup, P, *, max_images: int = 200, draw_now: bool = False):
    """A Jupyter widget: pick an image of ``setup`` (a :class:`dmmlib.chapters.on_off_manifold.experiment.Setup`),
    an attack (unconstrained, on- or off-manifold L2 PGD, or L-inf PGD) and eps; the "run" button
    (or changing a choice afterwards) runs the attack on that image and shows
    :func:`projection_figure` of the result. ``draw_now``: run once at creation."""
    import ipywidgets as widgets
    from IPython.display import display

    from dmmlib.attacks.pgd import pgd
    from dmmlib.manifold import local_tangent_basis, project_onto

    ok = (predict(setup.classifier, setup.x[:max_images]) == setup.y[:max_images]).nonzero()[:, 0]
    ds = setup.dataset
    image = widgets.Dropdown(options=[(f"test image {int(i)}", int(i)) for i in ok], description="image")
    attack = widgets.Dropdown(options=["PGD L2", "on-manifold PGD", "off-manifold PGD", "PGD Linf"], description="attack")
    eps = widgets.FloatSlider(value=P["t1_eps"][ds], min=0.01, max=P["t2_eps"][ds], step=0.01, description="eps",
                              continuous_update=False)
    out = widgets.Output()

    def draw(*_):
        i = image.value
        x, y = setup.x[i : i + 1], setup.y[i : i + 1]
        dev = next(setup.classifier.parameters()).device
        x, y = x.to(dev), y.to(dev)
        with torch.no_grad():
            codes = setup.autoencoder.encode(x)
        U = local_tangent_basis(setup.autoencoder.decode, codes, method=P["basis_method"], fd_eps=P["fd_eps"])
        step = P["t2_step"][ds]
        kw = dict(eps=eps.value, steps=P["t2_steps"], loss="margin")
        if attack.value == "PGD Linf":
            r = pgd(setup.classifier, x, y, norm="linf", step_size=eps.value / 10, **kw)
        elif attack.value == "PGD L2":
            r = pgd(setup.classifier, x, y, norm="l2", step_size=step, **kw)
        else:
            mode = "on" if attack.value.startswith("on") else "off"
            factor = P["on_step_factor"] if mode == "on" else 1.0
            r = pgd(setup.classifier, x, y, norm="l2", step_size=step * factor, basis=U, basis_mode=mode, **kw)
        d = r.delta
        with out:
            out.clear_output(wait=True)
            fig = projection_figure(setup.classifier, x[0], d[0], project_onto(d, U)[0], setup.class_names,
                                    title=f"{attack.value}, eps {eps.value:.2f}: success {bool(r.success[0])}")
            plt.show()
            plt.close(fig)

    run = widgets.Button(description="run")
    run.on_click(draw)
    for w in (image, attack, eps):
        w.observe(draw, names="value")
    box = widgets.VBox([widgets.HBox([image, attack, eps, run]), out])
    display(box)
    if draw_now:
        draw()
    return box
