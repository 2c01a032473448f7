"""What the chapter "Is it just redundant dimensions?" computes.

For each ambient dimension n (and seed), a classifier is trained on a data manifold whose
dimension and geometry do not change with n (:mod:`.embedding`), and at held-out points it
measures (:func:`measure`):

- the minimal adversarial L2 distance found by FMN (:func:`dmmlib.attacks.minimal_norm.fmn_l2`)
  unconstrained ("free"), within the manifold's tangent space ("on") and orthogonal to it ("off");
- the norms of the input gradient of the logit margin ``z_y - max_{j != y} z_j`` on and off the
  tangent space.

Distances are L2 norms of [0, 1]-scaled coordinates; for MNIST they are divided by
:func:`.embedding.native_scale` (the 28 x 28 metric: an upsampled perturbation repeated over
r x r blocks has r times its native norm), and the raw factor is kept beside them. Per point:
``nan`` where the classifier misclassifies the clean point (not attacked: excluded), ``inf``
where the attack found no adversarial point within its steps (censored: a failure counts as
farther than any success, and the success rate is a precondition of the claims).

Every (setting, n, seed) unit is ``cached``.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dmmlib import zoo
from dmmlib.attacks.minimal_norm import fmn_l2
from dmmlib.cache import cached
from dmmlib.chapters.redundant_dimensions.embedding import (embed_basis, embed_images, native_scale,
                                                            synthetic_manifold)
from dmmlib.convergence import converged
from dmmlib.data.mnist import load_mnist
from dmmlib.device import get_device, seed_everything
from dmmlib.evaluate import accuracy
from dmmlib.manifold import coordinates, local_manifold
from dmmlib.progress import progress as tqdm
from dmmlib.train import train_classifier

#: initial FMN step (L2) per setting: about the size of the distances (synthetic ~0.05, MNIST ~1 per native unit)
SYNTHETIC_STEP = 0.25
MNIST_STEP = 1.0
BATCH_SIZE = 100
MODES = ("free", "on", "off")


class Centre(nn.Module):
    """``x - c``: a fixed shift of the input (no parameters, no change of scale or metric)."""

    def __init__(self, c: float):
        super().__init__()
        self.c = float(c)

    def forward(self, x: Tensor) -> Tensor:
        return x - self.c


def mlp(n: int, width: int, classes: int, *, centre: float = 0.0) -> nn.Sequential:
    """ReLU MLP ``n -> width -> width -> classes`` on flat inputs (B, n), the input shifted by
    ``-centre`` first (the synthetic points sit around 1/2 in every coordinate: without the shift the
    common offset dominates the first layer's gradient and Adam learns nothing at large n); returns
    logits (B, classes). PyTorch's default initialisation (weights of scale 1/sqrt(fan-in))."""
    if min(n, width, classes) < 1:
        raise ValueError(f"n, width and classes must be >= 1, got {n}, {width}, {classes}")
    return nn.Sequential(nn.Flatten(), Centre(centre), nn.Linear(n, width), nn.ReLU(), nn.Linear(width, width),
                         nn.ReLU(), nn.Linear(width, classes))


def train_mlp(x: Tensor, y: Tensor, *, width: int, classes: int, epochs: int, lr: float, seed: int,
              centre: float = 0.0) -> tuple[nn.Module, dict]:
    """An :func:`mlp` trained with Adam (batch :data:`BATCH_SIZE`) on ``x`` (N, n) and ``y`` (N,);
    ``seed`` fixes the initialisation and the batch order. Returns (model in eval mode on the CPU, history)."""
    seed_everything(seed)
    model = mlp(x.shape[1], width, classes, centre=centre)
    hist = train_classifier(model, x, y, epochs=epochs, lr=lr, batch_size=BATCH_SIZE, seed=seed, optimizer="adam",
                            device="cpu" if get_device().type == "cpu" else None, progress=False)
    return model.eval(), hist


def margin_gradient(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    """Input gradient (B, n) of the margin ``z_y - max_{j != y} z_j`` at flat points ``x`` (B, n), batched
    (the samples do not interact: no batch norm, eval mode)."""
    if x.dim() != 2 or y.shape != (x.shape[0],):
        raise ValueError(f"x must be (B, n) and y (B,), got {tuple(x.shape)} and {tuple(y.shape)}")
    xg = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        z = model(xg)
        own = z.gather(1, y[:, None])[:, 0]
        other = z.masked_fill(F.one_hot(y, z.shape[1]).bool(), float("-inf")).max(1).values
        (grad,) = torch.autograd.grad((own - other).sum(), xg)
    return grad.detach()


def measure(model: nn.Module, x: Tensor, y: Tensor, basis: Tensor, *, steps: int, step_size: float,
            scale: float = 1.0) -> dict:
    """The chapter's measurements at points ``x`` (B, n) in [0, 1] with labels ``y`` (B,) and the
    manifold's orthonormal tangent basis ``basis`` (B, n, k).

    Returns numpy arrays (B,): ``free``, ``on``, ``off`` minimal adversarial L2 distances divided by
    ``scale`` (nan: misclassified clean point; inf: no adversarial point found), ``g_on`` and
    ``g_off`` the margin gradient's norms in and orthogonal to span(basis) (nan where misclassified),
    and ``correct`` (bool)."""
    if x.dim() != 2 or basis.dim() != 3 or basis.shape[:2] != x.shape:
        raise ValueError(f"x must be (B, n) and basis (B, n, k), got {tuple(x.shape)} and {tuple(basis.shape)}")
    model = model.to(x.device)
    with torch.no_grad():
        correct = model(x).argmax(1) == y
    out = {"correct": correct.numpy()}
    grad = margin_gradient(model, x, y)
    g_on = coordinates(grad, basis).norm(dim=1)
    g_off = (grad.norm(dim=1) ** 2 - g_on ** 2).clamp_min(0).sqrt()
    nan = torch.full_like(g_on, float("nan"))
    out["g_on"] = torch.where(correct, g_on, nan).numpy()
    out["g_off"] = torch.where(correct, g_off, nan).numpy()
    for mode in MODES:
        kw = {} if mode == "free" else {"basis": basis, "basis_mode": mode}
        r = fmn_l2(model, x, y, steps=steps, step_size=step_size, **kw)
        d = torch.where(r.success, r.norm, torch.full_like(r.norm, float("inf"))) / scale
        out[mode] = torch.where(correct, d, nan.to(d.dtype)).numpy()
    return out


# -- the synthetic setting -------------------------------------------------------------------


def synthetic_unit(geometry: str, n: int, seed: int, P) -> dict:
    """One synthetic (geometry, n, seed) unit, cached: an MLP trained on ``train_points`` points of the
    manifold in R^n, measured (:func:`measure`) at ``test_points`` held-out points. Adds ``accuracy``
    (on those points), ``loss`` (per-epoch training loss) and ``converged``."""
    keys = ("k", "curvature", "train_points", "test_points", "width", "epochs", "lr", "attack_steps")
    cfg = {"geometry": geometry, "n": int(n), "seed": int(seed), **{q: P[q] for q in keys}}

    def compute() -> dict:
        tr = synthetic_manifold(geometry, n, P["k"], P["train_points"], curvature=P["curvature"], seed=seed, split=0)
        te = synthetic_manifold(geometry, n, P["k"], P["test_points"], curvature=P["curvature"], seed=seed, split=1)
        model, hist = train_mlp(tr.x, tr.y, width=P["width"], classes=2, epochs=P["epochs"], lr=P["lr"], seed=seed,
                                centre=0.5)
        out = measure(model, te.x, te.y, te.tangent, steps=P["attack_steps"], step_size=SYNTHETIC_STEP)
        out.update(accuracy=float(out["correct"].mean()), loss=np.asarray(hist["loss"]),
                   converged=bool(converged(hist["loss"])))
        return out

    return cached("redundant_dimensions_synthetic", cfg, compute)


# -- the MNIST setting -----------------------------------------------------------------------


def mnist_data(P) -> dict:
    """The MNIST test digits every unit measures (``mnist_images``, a fixed seeded draw, (B, 1, 28, 28))
    with their labels, and the shared autoencoder's tangent basis at each (B, 784, 16)
    (:func:`dmmlib.manifold.local_manifold`: the decoder's Jacobian at the digit's code)."""
    test = load_mnist("test")
    idx = torch.randperm(len(test.y), generator=torch.Generator().manual_seed(12345))[: P["mnist_images"]]
    x, y = test.x[idx], test.y[idx]
    ae = zoo.mnist_autoencoder(P["models_profile"])
    dev = next(ae.parameters()).device
    _, basis = local_manifold(ae.encode, ae.decode, x.to(dev), chunk_size=256)
    return {"x": x, "y": y, "basis": basis.detach().cpu().float(), "source": test.source}


def mnist_unit(factor: int, seed: int, P, data: dict) -> dict:
    """One MNIST (factor, seed) unit, cached: an MLP trained on ``mnist_train_size`` digits (seeded subset)
    embedded in (28 r)^2 pixels, its test accuracy on 2,000 embedded test digits, and :func:`measure`
    at the embedded digits of ``data`` with the embedded autoencoder basis, distances in the 28 x 28 metric."""
    keys = ("mnist_embedding", "mnist_train_size", "mnist_epochs", "mnist_width", "lr", "attack_steps")
    cfg = {"factor": int(factor), "seed": int(seed), **{q: P[q] for q in keys},
           "points": data["x"].sum().item(), "basis": data["basis"].abs().sum().item()}

    def compute() -> dict:
        emb, r = P["mnist_embedding"], int(factor)
        train, test = load_mnist("train"), load_mnist("test")
        g = torch.Generator().manual_seed(seed)
        size = P["mnist_train_size"] or len(train.y)
        idx = torch.randperm(len(train.y), generator=g)[: min(size, len(train.y))]
        xtr = embed_images(train.x[idx], emb, r)
        model, hist = train_mlp(xtr, train.y[idx], width=P["mnist_width"], classes=10, epochs=P["mnist_epochs"],
                                lr=P["lr"], seed=seed)
        acc_idx = torch.arange(min(2000, len(test.y)))
        test_acc = accuracy(model, embed_images(test.x[acc_idx], emb, r), test.y[acc_idx])
        out = measure(model, embed_images(data["x"], emb, r), data["y"], embed_basis(data["basis"], emb, r),
                      steps=P["attack_steps"], step_size=MNIST_STEP * native_scale(emb, r), scale=native_scale(emb, r))
        out.update(accuracy=float(test_acc), loss=np.asarray(hist["loss"]), converged=bool(converged(hist["loss"])))
        return out

    return cached("redundant_dimensions_mnist", cfg, compute)


# -- the whole chapter -----------------------------------------------------------------------


def stack(units: list[list[dict]], ns, *, k: int, scale=None) -> dict:
    """Units ``units[s][i]`` (seed s, ambient dimension ``ns[i]``) -> one setting's arrays:
    ``free``, ``on``, ``off``, ``g_on``, ``g_off`` (S, N, B); ``accuracy`` (S, N); ``converged`` (S, N);
    ``ns`` (N,); ``k``; ``scale`` (N,) the native-metric factor of each n (1 when none)."""
    out = {q: np.stack([[np.asarray(u[q], dtype=np.float64) for u in row] for row in units])
           for q in ("free", "on", "off", "g_on", "g_off")}
    out["accuracy"] = np.array([[u["accuracy"] for u in row] for row in units], dtype=np.float64)
    out["converged"] = np.array([[u["converged"] for u in row] for row in units], dtype=bool)
    out["ns"] = np.asarray(ns, dtype=np.float64)
    out["scale"] = np.ones(len(ns)) if scale is None else np.asarray(scale, dtype=np.float64)
    out["k"] = int(k)
    return out


def run(P) -> dict:
    """Every unit of the chapter: ``{"synthetic": {geometry: setting}, "mnist": setting}`` (each setting
    as :func:`stack` returns it; MNIST also has ``factors`` and ``embedding``)."""
    seeds = range(P["seeds"])
    out = {"synthetic": {}}
    bar = tqdm(total=P["seeds"] * (len(P["ns"]) * len(P["geometries"]) + len(P["mnist_factors"])),
               desc="redundant dimensions")
    for geometry in P["geometries"]:
        units = []
        for s in seeds:
            row = []
            for n in P["ns"]:
                row.append(synthetic_unit(geometry, int(n), s, P))
                bar.update()
            units.append(row)
        out["synthetic"][geometry] = stack(units, P["ns"], k=P["k"])
    data = mnist_data(P)
    units = []
    for s in seeds:
        row = []
        for r in P["mnist_factors"]:
            row.append(mnist_unit(int(r), s, P, data))
            bar.update()
        units.append(row)
    bar.close()
    factors = [int(r) for r in P["mnist_factors"]]
    out["mnist"] = stack(units, [(28 * r) ** 2 for r in factors], k=int(data["basis"].shape[2]),
                         scale=[native_scale(P["mnist_embedding"], r) for r in factors])
    out["mnist"].update(factors=factors, embedding=P["mnist_embedding"], source=data["source"])
    return out
