"""Training the appendix-C network on a synthetic manifold, with measurements along the way.

:func:`train` trains :func:`dmmlib.models.shallow.shallow_net` (a hidden ReLU layer, fixed
output weights) on a :class:`dmmlib.data.synthetic.ManifoldSet` with binary cross-entropy on
the logit, cleanly or with single-step L2 PGD adversarial training (section 5.1 of the
paper) or with random-noise augmentation (appendix A, Fawzi et al.). It keeps snapshots
of the trainable layer at chosen epochs (for figures), the
training accuracy after every epoch, and the values of a measurement function at chosen
epochs (the dense time series of the chapter). The readings of appendix C that the text
leaves open are arguments: the loss reduction (mean or sum over the batch), the batch size,
the output weights ({-1, +1} or uniform on [-1, 1], optionally scaled by 1/width), the
optimiser, and an affine map of the inputs (the data scale).

Coordinates and distances are those of the unit cube [0, 1]^d.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from dmmlib.progress import progress as tqdm

from dmmlib.attacks.pgd import pgd_l2
from dmmlib.data.synthetic import ManifoldSet
from dmmlib.evaluate import accuracy
from dmmlib.models.shallow import ShallowNet, shallow_net

OPTIMIZERS = ("sgd", "momentum", "adam")
LOSSES = ("mean", "sum")

Measure = Callable[[nn.Module], dict]


class TrainRun(NamedTuple):
    """What one training run keeps.

    - ``epochs``: (S,) int64, the snapshotted epochs (0 = initialisation).
    - ``weight``: (S, width, d), ``bias``: (S, width): the hidden layer after each of them.
    - ``out_weight``: (width,) the fixed output weights.
    - ``loss``: (E,) mean training loss per example of each epoch (on the adversarial points
      when adversarial). ``accuracy``: (E + 1,) clean training accuracy after each epoch.
    - ``trace``: {"epoch": (T,) int64, key: (T,) float64 for each key of the measurement}
      (empty without a measurement function).
    - ``input_scale``, ``input_shift``: the network sees ``input_scale * x + input_shift``.
    """

    epochs: torch.Tensor
    weight: torch.Tensor
    bias: torch.Tensor
    out_weight: torch.Tensor
    loss: torch.Tensor
    accuracy: torch.Tensor
    trace: dict
    input_scale: float = 1.0
    input_shift: float = 0.0


class _InputMap(nn.Module):
    """``x -> net(scale * x + shift)``: a network trained on rescaled data, seen in cube coordinates."""

    def __init__(self, net: nn.Module, scale: float, shift: float):
        super().__init__()
        self.net, self.scale, self.shift = net, float(scale), float(shift)

    def forward(self, x):
        return self.net(self.scale * x + self.shift)


def train(
    data: ManifoldSet,
    *,
    width: int = 4000,
    lr: float = 0.002,
    weight_decay: float = 0.01,
    epochs: int = 200,
    batch_size: int = 0,
    seed: int = 0,
    adv_eps: float = 0.0,
    noise_eps: float = 0.0,
    optimizer: str = "sgd",
    momentum: float = 0.9,
    loss: str = "mean",
    out_init: str = "sign",
    out_scale: float = 1.0,
    input_scale: float = 1.0,
    input_shift: float = 0.0,
    snapshot_epochs: Sequence[int] | None = None,
    measure: Measure | None = None,
    measure_epochs: Sequence[int] = (),
    progress: bool = False,
) -> TrainRun:
    """Train a fresh network on ``data``; see the module's docstring.

    ``batch_size`` 0 is full batch. ``seed`` fixes the initialisation and the order of the
    mini-batches. ``adv_eps`` > 0 replaces each batch by its single-step L2 PGD counterpart
    (one step of length ``adv_eps``, clamped to the cube) on the current network.
    ``noise_eps`` > 0 replaces each batch by the batch plus random directions of L2 length
    ``noise_eps`` (uniform on the sphere, fresh every epoch, clamped to the cube; drawn from a
    generator of their own, so the batch order is that of the clean run of the same seed).
    ``optimizer``: "sgd", "momentum" (SGD with ``momentum``) or "adam"; ``weight_decay`` is
    the optimiser's (L2 on the hidden layer). ``loss``: "mean" or "sum" of the per-example
    binary cross-entropy. ``out_init``, ``out_scale``: see :func:`shallow_net`.
    ``snapshot_epochs``: epochs (0..``epochs``) whose weights are kept; None keeps all.
    ``measure(model) -> {key: float}`` is called (model in eval mode, cube coordinates) at
    each of ``measure_epochs``.
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if not isinstance(batch_size, int) or batch_size < 0:
        raise ValueError(f"batch_size must be an int >= 0 (0: full batch), got {batch_size!r}")
    if not lr > 0 or weight_decay < 0 or adv_eps < 0 or noise_eps < 0:
        raise ValueError(f"need lr > 0, weight_decay >= 0, adv_eps >= 0, noise_eps >= 0; "
                         f"got {lr}, {weight_decay}, {adv_eps}, {noise_eps}")
    if adv_eps > 0 and noise_eps > 0:
        raise ValueError("adv_eps and noise_eps are exclusive: train adversarially or with noise, not both")
    if optimizer not in OPTIMIZERS or loss not in LOSSES:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS} and loss one of {LOSSES}; got {optimizer!r}, {loss!r}")
    if not input_scale > 0:
        raise ValueError(f"input_scale must be > 0, got {input_scale!r}")
    keep = set(range(epochs + 1)) if snapshot_epochs is None else {int(e) for e in snapshot_epochs}
    when = sorted({int(e) for e in measure_epochs})
    if any(e < 0 or e > epochs for e in keep | set(when)):
        raise ValueError(f"snapshot and measure epochs must lie in [0, {epochs}]")
    if when and measure is None:
        raise ValueError("measure_epochs given without a measure function")
    net = shallow_net(data.x.shape[1], width, seed=seed, out_init=out_init, out_scale=out_scale)
    model = _InputMap(net, input_scale, input_shift)
    opt = _optimizer(net, optimizer, lr, weight_decay, momentum)
    g = torch.Generator().manual_seed(int(seed) + 1)
    g_noise = torch.Generator().manual_seed(int(seed) + 2)
    x, y = data.x, data.y
    bs = batch_size or len(x)
    snaps, losses, accs, rows = {}, [], [accuracy(model, x, y)], []

    def record(epoch):
        if epoch in keep:
            snaps[epoch] = (net.hidden.weight.detach().clone(), net.hidden.bias.detach().clone())
        if epoch in when:
            model.eval()
            rows.append({"epoch": epoch, **measure(model)})
            model.train()

    record(0)
    for epoch in tqdm(range(1, epochs + 1), disable=not progress, desc="epochs", leave=False):
        total = 0.0
        for idx in torch.randperm(len(x), generator=g).split(bs):
            xb, yb = x[idx], y[idx]
            if adv_eps > 0:
                xb = xb + pgd_l2(model, xb, yb, eps=adv_eps, step_size=adv_eps, steps=1, early_stop=False).delta
            elif noise_eps > 0:
                xb = (xb + noise_eps * random_directions(xb.shape, g_noise)).clamp(0.0, 1.0)
            per_example = F.binary_cross_entropy_with_logits(model(xb), yb.float(), reduction="none")
            objective = per_example.mean() if loss == "mean" else per_example.sum()
            opt.zero_grad()
            objective.backward()
            opt.step()
            total += float(per_example.detach().sum())
        losses.append(total / len(x))
        accs.append(accuracy(model, x, y))
        record(epoch)
    order = sorted(snaps)
    trace = {}
    if rows:
        trace = {k: torch.tensor([r[k] for r in rows], dtype=torch.int64 if k == "epoch" else torch.float64)
                 for k in rows[0]}
    d, w = data.x.shape[1], width
    return TrainRun(
        epochs=torch.tensor(order, dtype=torch.int64),
        weight=torch.stack([snaps[e][0] for e in order]) if order else torch.zeros(0, w, d),
        bias=torch.stack([snaps[e][1] for e in order]) if order else torch.zeros(0, w),
        out_weight=net.out_weight.clone(),
        loss=torch.tensor(losses),
        accuracy=torch.tensor(accs),
        trace=trace,
        input_scale=float(input_scale),
        input_shift=float(input_shift),
    )


def random_directions(shape, generator: torch.Generator) -> torch.Tensor:
    """(B, d) unit vectors drawn uniformly on the sphere (normalised Gaussians) for ``shape`` (B, d)."""
    u = torch.randn(shape, generator=generator)
    return u / u.norm(dim=1, keepdim=True).clamp_min(1e-12)


def model_at(run: TrainRun, epoch: int) -> nn.Module:
    """The network of ``run`` after ``epoch`` (which must have been snapshotted), in eval mode,
    taking inputs in cube coordinates."""
    hits = (run.epochs == int(epoch)).nonzero()
    if len(hits) == 0:
        raise ValueError(f"epoch {epoch} was not snapshotted; available: {run.epochs.tolist()}")
    i = int(hits[0, 0])
    width, d = run.weight.shape[1:]
    net = ShallowNet(int(d), int(width))
    with torch.no_grad():
        net.hidden.weight.copy_(run.weight[i])
        net.hidden.bias.copy_(run.bias[i])
        net.out_weight.copy_(run.out_weight)
    if run.input_scale == 1.0 and run.input_shift == 0.0:
        return net.eval()
    return _InputMap(net, run.input_scale, run.input_shift).eval()


def dense_epochs(epochs: int, every: int, dense_until: int) -> list[int]:
    """Every epoch up to ``dense_until``, then every ``every``-th, and the last: sorted, unique."""
    if not all(isinstance(v, int) and v >= 1 for v in (epochs, every)) or dense_until < 0:
        raise ValueError(f"need epochs >= 1, every >= 1, dense_until >= 0; got {epochs}, {every}, {dense_until}")
    return sorted({*range(0, min(dense_until, epochs) + 1), *range(0, epochs + 1, every), epochs})


def _optimizer(net: ShallowNet, name: str, lr: float, weight_decay: float, momentum: float):
    params = [net.hidden.weight, net.hidden.bias]
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay, momentum=momentum if name == "momentum" else 0.0)
