"""The relabelling experiment (Ilyas et al. 2019; DMM section 5.2) on three kinds of data.

Per data set and seed:

1. N1 is trained on clean data (CIFAR-10: a network of N2's architecture trained here on the
   clean subset with data seed 0, or a pretrained CIFAR ResNet; the same for all seeds);
2. every training input gets a targeted L2 PGD adversarial example of N1 towards its target
   (:mod:`.relabel`): ``D_rand`` (random other class) and ``D_det`` ((y + 1) mod C); on the
   binary synthetic manifolds both are the flipped label ("flip");
3. a fresh N2 (another initialisation) is trained only on each relabelled set;
4. N2 is tested on clean test inputs with their true labels.

Controls trained the same way: ``ctrl_<kind>`` sees the *clean* inputs with the same wrong
labels (what the labels alone teach: chance for rand, below chance for det), and ``ref`` the
clean inputs with their true labels: N1's *clean twin*, a network of N2's architecture trained
on clean data with another seed (what this architecture and data size reach: the ceiling). On
the images the twin, trained before any N2, also measures transfer: how often it predicts the
target at N1's adversarial examples (``twin_on_target_adv_<kind>``) against at the clean
training inputs (``twin_on_target_clean_<kind>``). On MNIST a third control, ``noise_<kind>``,
sees the clean inputs plus random noise of the attack's norm (the same L2 norm per image as
N1's perturbation, a uniformly random direction) with the same wrong labels: what a
perturbation of that size teaches when it does not point at the target.

Geometry at test points (:mod:`.geometry`): cosine between N1's and N2's input gradients of
the true-versus-rival logit difference (against random directions and against ``ref``), each
model's minimal adversarial distance twice, by DeepFool (its nearest linearised boundary
point) and by the Fast Minimum-Norm attack (:func:`dmmlib.attacks.minimal_norm.fmn_l2`,
``fmn_<net>``: inf where it failed, with ``fmn_success_<net>``), and the gap and angle between
N1's and N2's nearest (DeepFool) boundary points.

Everything expensive is cached: trained networks (state dicts), relabelled data sets and the
per-seed measurements. Distances: cube units (synthetic), [0,1]-scaled pixels (images).
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from dmmlib.progress import progress as tqdm

from dmmlib import parallel
from dmmlib.cache import cached
from dmmlib.chapters.relabelling import geometry
from dmmlib.attacks.minimal_norm import fmn_l2
from dmmlib.chapters.relabelling.relabel import agreement, noise_like, relabel, targets
from dmmlib.data.cifar10 import load_cifar10
from dmmlib.data.mnist import load_mnist
from dmmlib.data.synthetic import ManifoldSet, chessboard_plane, line_dataset
from dmmlib.device import get_device, seed_everything
from dmmlib.evaluate import model_device
from dmmlib.models.cifar_convnet import CifarConvNet
from dmmlib.models.mlp import MnistMLP
from dmmlib.models.resnet_cifar import CifarResNet, load_pretrained
from dmmlib.models.shallow import shallow_net
from dmmlib.train import train_classifier

SYNTHETIC = ("line", "chessboard")
IMAGES = ("mnist", "cifar10")
N_CLASSES = {"line": 2, "chessboard": 2, "mnist": 10, "cifar10": 10}
# seed offsets: N1, N2 (per kind), the label-only control, the clean reference
_N2_OFFSET, _CTRL_OFFSET, _REF_OFFSET, _NOISE_OFFSET = 1000, 2000, 3000, 4000


def kinds(dataset: str) -> tuple[str, ...]:
    """The relabelled sets made for ``dataset``: ("flip",) for the binary manifolds, else ("rand", "det")."""
    return ("flip",) if dataset in SYNTHETIC else ("rand", "det")


def eps_of(dataset: str, P: Mapping[str, Any]) -> float:
    """The perturbation budget of ``dataset`` under parameters ``P``."""
    return float(P["synth_eps"] if dataset in SYNTHETIC else P[f"{'mnist' if dataset == 'mnist' else 'cifar'}_eps"])


# -- data ----------------------------------------------------------------------------------


def synthetic_data(name: str, P: Mapping[str, Any], seed: int) -> tuple[ManifoldSet, Tensor, Tensor]:
    """(training set, test x (M, d), test y (M,)). The line's test points are its (clean)
    training points; the chessboard's are a fresh draw of the same clusters."""
    if name == "line":
        data = line_dataset(P["n_line"])
        return data, data.x, data.y
    if name == "chessboard":
        data = chessboard_plane(4, P["per_cell"], seed=seed)
        test = chessboard_plane(4, P["per_cell"], seed=seed + 10_000)
        return data, test.x, test.y
    raise ValueError(f"synthetic data set must be one of {SYNTHETIC}, got {name!r}")


def image_data(dataset: str, P: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """Training subset (seed-dependent) and test subset (fixed) of ``dataset``:
    {"x", "y", "x_test", "y_test", "source"}."""
    if dataset == "mnist":
        train, test, size = load_mnist("train"), load_mnist("test"), P["mnist_train_size"]
    elif dataset == "cifar10":
        train, test, size = load_cifar10("train"), load_cifar10("test"), P["cifar_train_size"]
    else:
        raise ValueError(f"image data set must be one of {IMAGES}, got {dataset!r}")
    g = torch.Generator().manual_seed(int(seed))
    idx = torch.randperm(len(train.y), generator=g)[: min(size, len(train.y))]
    tidx = torch.randperm(len(test.y), generator=torch.Generator().manual_seed(0))[: min(P["test_size"], len(test.y))]
    return {"x": train.x[idx], "y": train.y[idx], "x_test": test.x[tidx], "y_test": test.y[tidx],
            "source": train.source, "n_train_available": len(train.y)}


# -- networks ------------------------------------------------------------------------------


class _CentredInput(nn.Module):
    """``x -> net(2 x - 1)``: the first chapter's centred inputs, seen in cube coordinates."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: Tensor) -> Tensor:
        return self.net(2.0 * x - 1.0)


def train_shallow(x: Tensor, y: Tensor, P: Mapping[str, Any], seed: int) -> nn.Module:
    """The appendix-C network trained full-batch with SGD on binary cross-entropy, in the first
    chapter's reading of appendix C (clinging_dimpling: ``synth_lr`` 0.02, output weights
    ``synth_out_init`` uniform on [-1, 1], inputs centred to [-1, 1] when
    ``synth_centre_inputs``): ``synth_width`` units, ``synth_epochs``, ``synth_weight_decay``.
    The returned model takes inputs in cube coordinates (the centring is inside it)."""
    net = shallow_net(x.shape[1], P["synth_width"], seed=seed, out_init=P["synth_out_init"])
    model = _CentredInput(net) if P["synth_centre_inputs"] else net
    opt = torch.optim.SGD(net.parameters(), lr=P["synth_lr"], weight_decay=P["synth_weight_decay"])
    yf = y.float()
    for _ in range(P["synth_epochs"]):
        loss = F.binary_cross_entropy_with_logits(model(x), yf)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def _image_net(dataset: str, P: Mapping[str, Any], depth: int | None = None) -> nn.Module:
    """A fresh network of N2's architecture (``depth``: a CIFAR ResNet depth, 0 for the small
    convnet, channels-last; default ``cifar_n2_depth``)."""
    if dataset == "mnist":
        return MnistMLP()
    depth = P["cifar_n2_depth"] if depth is None else depth
    if depth:
        return CifarResNet(depth)
    return CifarConvNet(width=P["cifar_width"]).to(memory_format=torch.channels_last)


#: the CIFAR-10 networks trained here: Adam at ``cifar_lr``, batches of 128
CIFAR_BATCH = 128


def train_image_net(dataset: str, x: Tensor, y: Tensor, P: Mapping[str, Any], seed: int) -> nn.Module:
    """A fresh N2-architecture network (MNIST: the appendix G.1 MLP; CIFAR-10: the small
    convnet, channels-last, or a CIFAR ResNet of depth ``cifar_n2_depth`` when it is not 0)
    trained on (x, y): MNIST with SGD (momentum 0.9, batch 200, weight decay 1e-4), CIFAR-10
    with Adam (batch :data:`CIFAR_BATCH`). Initialisation and batch order fixed by ``seed``."""
    seed_everything(seed)
    model = _image_net(dataset, P)
    if dataset == "mnist":
        train_classifier(model, x, y, epochs=P["mnist_epochs"], lr=P["mnist_lr"], momentum=0.9, weight_decay=1e-4,
                         batch_size=200, seed=seed, optimizer="sgd", progress=False)
    else:
        if isinstance(model, CifarConvNet):
            x = x.contiguous(memory_format=torch.channels_last)
        train_classifier(model, x, y, epochs=P["cifar_epochs"], lr=P["cifar_lr"], batch_size=CIFAR_BATCH, seed=seed,
                         optimizer="adam", progress=False)
    return model.eval()


def _cached_net(name: str, key: dict, build: Callable[[], nn.Module], train: Callable[[], nn.Module]) -> nn.Module:
    state = cached(name, key, lambda: {k: v.cpu() for k, v in train().state_dict().items()})
    model = build()
    model.load_state_dict(state)
    return model.to(get_device()).eval()


def _data_key(dataset: str, P: Mapping[str, Any]) -> dict:
    if dataset == "mnist":
        return {k: P[k] for k in ("mnist_train_size", "mnist_epochs", "mnist_lr", "test_size")}
    return {k: P[k] for k in ("cifar_train_size", "cifar_epochs", "cifar_lr", "cifar_width", "cifar_n1_depth",
                              "cifar_n2_depth", "test_size")} | {"batch": CIFAR_BATCH}


def steps_of(dataset: str, P: Mapping[str, Any]) -> int:
    """Targeted PGD steps that relabel the training inputs of ``dataset``."""
    return int(P["cifar_attack_steps"] if dataset == "cifar10" else P["attack_steps"])


def image_n1(dataset: str, data: dict, P: Mapping[str, Any], seed: int) -> nn.Module:
    """N1: MNIST, the MLP trained on the clean subset (cached); CIFAR-10 with ``cifar_n1_depth``
    0, the small convnet trained on the clean subset (cached), else the pretrained CIFAR ResNet
    of that depth (20 or 56)."""
    if dataset == "cifar10" and P["cifar_n1_depth"]:
        return load_pretrained(P["cifar_n1_depth"]).to(get_device()).eval()
    Q = P if dataset == "mnist" else {**P, "cifar_n2_depth": 0}
    key = {**_data_key(dataset, P), "seed": seed, "role": "n1"}
    return _cached_net("relabelling_n1", key, lambda: _image_net(dataset, Q),
                       lambda: train_image_net(dataset, data["x"], data["y"], Q, seed))


def n1_name(dataset: str, P: Mapping[str, Any]) -> str:
    """What N1 is, for the reader."""
    if dataset == "mnist":
        return "appendix G.1 MLP"
    if P["cifar_n1_depth"]:
        return f"pretrained ResNet-{P['cifar_n1_depth']}"
    return f"small convnet (width {P['cifar_width']}) trained here"


def relabelled_set(dataset: str, n1: nn.Module, data: dict, P: Mapping[str, Any], seed: int, kind: str,
                   eps: float) -> dict[str, Tensor]:
    """The relabelled training set of ``kind`` for ``dataset`` at ``eps`` (cached):
    {"x", "target", "success", "norm"}."""
    key = {**_data_key(dataset, P), "dataset": dataset, "seed": seed, "kind": kind, "eps": eps,
           "steps": steps_of(dataset, P)}

    def make() -> dict[str, Tensor]:
        t = targets(data["y"], N_CLASSES[dataset], kind, generator=torch.Generator().manual_seed(seed + 7))
        r = relabel(n1, data["x"], t, eps=eps, steps=steps_of(dataset, P), batch_size=500)
        return r._asdict()

    return cached("relabelling_set", key, make)


# -- one seed ------------------------------------------------------------------------------


def minimal_norm(model: nn.Module, x: Tensor, y: Tensor, steps: int, batch_size: int = 250) -> tuple[Tensor, Tensor]:
    """Untargeted FMN (L2) on ``model`` from test images ``x`` (M, ...) with labels ``y`` (M,):
    (M,) distances (L2 of [0,1] pixels; 0 where ``model`` already errs, inf where FMN found no
    adversarial point within ``steps`` passes: censored) and (M,) bool success, on the CPU."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    dev = model_device(model)
    norms, oks = [], []
    for xb, yb in zip(x.split(batch_size), y.split(batch_size)):
        r = fmn_l2(model, xb.to(dev), yb.to(dev), steps=steps)
        norms.append(r.norm.cpu())
        oks.append(r.success.cpu())
    return torch.cat(norms), torch.cat(oks)


def _geometry(n1, n2s: dict[str, nn.Module], ref: nn.Module, x: Tensor, y: Tensor, seed: int,
              clip, fmn_steps: int | None = None) -> dict[str, Tensor]:
    """Gradient cosines and boundary distances (DeepFool; FMN too when ``fmn_steps``) at test
    points ``x`` (M, ...) with labels ``y``."""
    t = geometry.rival_class(n1, x, y)
    g1 = geometry.pair_gradient(n1, x, y, t)
    out = {"cos_random": geometry.random_cosine(g1, seed=seed),
           "cos_ref": geometry.cosine(g1, geometry.pair_gradient(ref, x, y, t))}
    b1 = geometry.nearest_boundary(n1, x, clip=clip)
    out["d1"] = b1.distance
    for kind, n2 in n2s.items():
        out[f"cos_{kind}"] = geometry.cosine(g1, geometry.pair_gradient(n2, x, y, t))
        b = geometry.compare_boundaries(x, b1, geometry.nearest_boundary(n2, x, clip=clip))
        out[f"d2_{kind}"], out[f"gap_{kind}"], out[f"direction_{kind}"] = b["d2"], b["gap"], b["direction"]
        out[f"correct_{kind}"] = agreement(n2, x, y)
    bref = geometry.compare_boundaries(x, b1, geometry.nearest_boundary(ref, x, clip=clip))
    out["d_ref"], out["gap_ref"], out["direction_ref"] = bref["d2"], bref["gap"], bref["direction"]
    out["correct_n1"] = agreement(n1, x, y)
    out["correct_ref"] = agreement(ref, x, y)
    if fmn_steps:
        for who, m in (("n1", n1), *n2s.items(), ("ref", ref)):
            out[f"fmn_{who}"], out[f"fmn_success_{who}"] = minimal_norm(m, x, y, int(fmn_steps))
    return out


def run_synthetic_seed(name: str, P: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """The relabelling experiment on the synthetic manifold ``name`` for one seed (cached).

    N1, the label-only control and the clean reference are trained once; for the main eps
    (``synth_eps``) and every eps of ``synth_eps_sweep`` the relabelled set and N2 are made
    anew. Returns the main run's measurements, with ``"sweep"``: one row per sweep eps."""
    key = {k: P[k] for k in ("synth_width", "synth_epochs", "synth_lr", "synth_weight_decay", "synth_out_init",
                             "synth_centre_inputs", "n_line", "per_cell", "attack_steps", "synth_grid", "synth_eps",
                             "synth_eps_sweep")}
    key.update(name=name, seed=seed)
    return cached("relabelling_synthetic", key, lambda: _synthetic_seed(name, P, seed))


def _synthetic_seed(name, P, seed):
    data, x_test, y_test = synthetic_data(name, P, seed)
    n1 = train_shallow(data.x, data.y, P, seed)
    flip = 1 - data.y
    ctrl = train_shallow(data.x, flip, P, seed + _CTRL_OFFSET)
    ref = train_shallow(data.x, data.y, P, seed + _REF_OFFSET)
    steps = P["attack_steps"]
    grid = data.x.shape[1] == 2

    def at(eps):
        r = relabel(n1, data.x, flip, eps=float(eps), steps=steps)
        n2 = train_shallow(r.x, r.target, P, seed + _N2_OFFSET)
        row = {"eps": float(eps), "x_adv": r.x, "success": r.success, "norm": r.norm,
               "n2_train_acc": agreement(n2, r.x, r.target).float().mean().item(),
               "hits_flip": agreement(n2, x_test, y_test)}
        if grid:
            row["grid_n2"] = _logit_grid({"n2": n2}, P["synth_grid"])["n2"]
        return row, n2

    main, n2 = at(P["synth_eps"])
    out = {
        "x": data.x, "y": data.y, "x_test": x_test, "y_test": y_test, **main,
        "n1_train_acc": agreement(n1, data.x, data.y).float().mean().item(),
        "hits_n1": agreement(n1, x_test, y_test),
        "hits_ctrl_flip": agreement(ctrl, x_test, y_test),
        "hits_ref": agreement(ref, x_test, y_test),
        "geometry": _geometry(n1, {"flip": n2}, ref, x_test, y_test, seed, clip=None),
        "sweep": [at(eps)[0] for eps in P["synth_eps_sweep"]],
    }
    if grid:
        out["grid"] = _logit_grid({"n1": n1}, P["synth_grid"])
    return out


def _logit_grid(models: dict[str, nn.Module], n: int) -> dict[str, Tensor]:
    """Logits of each model on an n x n grid of [0, 1]^2: {"u": (n,), "v": (n,), name: (n, n)}
    (rows: second coordinate)."""
    u = torch.linspace(0, 1, n)
    vv, uu = torch.meshgrid(u, u, indexing="ij")
    pts = torch.stack([uu.reshape(-1), vv.reshape(-1)], 1)
    out = {"u": u, "v": u}
    with torch.no_grad():
        for k, m in models.items():
            out[k] = m(pts).reshape(n, n)
    return out


def run_synthetic_seeds(name: str, P: Mapping[str, Any]) -> list[dict[str, Any]]:
    """:func:`run_synthetic_seed` for seeds 0 .. ``P["seeds"]`` - 1, in order: independent
    units (:func:`dmmlib.parallel.map`: a loop, or tasks on a Ray cluster)."""
    return parallel.map(_synthetic_unit, range(P["seeds"]), context=(name, P))


def run_image_seeds(dataset: str, P: Mapping[str, Any], seeds: int) -> list[dict[str, Any]]:
    """:func:`run_image_seed` for seeds 0 .. ``seeds`` - 1, in order (as :func:`run_synthetic_seeds`)."""
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds must be a positive int, got {seeds!r}")
    return parallel.map(_image_unit, range(seeds), context=(dataset, P))


def _synthetic_unit(context: tuple, seed: int) -> dict[str, Any]:
    name, P = context
    return run_synthetic_seed(name, P, seed)


def _image_unit(context: tuple, seed: int) -> dict[str, Any]:
    dataset, P = context
    return run_image_seed(dataset, P, seed)


def run_image_seed(dataset: str, P: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """The relabelling experiment on ``dataset`` ("mnist" or "cifar10") for one seed (cached)."""
    key = {**_data_key(dataset, P), "dataset": dataset, "seed": seed, "eps": eps_of(dataset, P),
           "steps": steps_of(dataset, P), "geometry_points": P["geometry_points"], "fmn_steps": P["fmn_steps"]}
    return cached("relabelling_images", key, lambda: _image_seed(dataset, P, seed))


def data_seed(dataset: str, seed: int) -> int:
    """The seed that picks the training subset and the random targets. MNIST: ``seed`` (each
    seed has its own N1, subset and relabelled sets). CIFAR-10: 0 for every seed: N1 (trained
    once, or pretrained) and the attack are the costly steps, so the relabelled sets are made
    once and the seeds vary the initialisation and batch order of N2, the controls and the twin."""
    return seed if dataset == "mnist" else 0


def _image_seed(dataset, P, seed):
    data = image_data(dataset, P, data_seed(dataset, seed))
    eps = eps_of(dataset, P)
    n1 = image_n1(dataset, data, P, data_seed(dataset, seed))
    xt, yt = data["x_test"], data["y_test"]
    out = {"source": data["source"], "n_train": len(data["y"]), "n_test": len(yt),
           "n_train_available": data["n_train_available"], "hits_n1": agreement(n1, xt, yt),
           "n1_name": n1_name(dataset, P), "n1_trained_here": dataset == "mnist" or not P["cifar_n1_depth"]}
    base = {**_data_key(dataset, P), "dataset": dataset, "seed": seed}
    build = lambda: _image_net(dataset, P)  # noqa: E731
    sets = {kind: relabelled_set(dataset, n1, data, P, data_seed(dataset, seed), kind, eps) for kind in kinds(dataset)}
    # the clean twin first: the transfer check comes before any N2 is trained
    ref = _cached_net("relabelling_ref", base, build,
                      lambda: train_image_net(dataset, data["x"], data["y"], P, seed + _REF_OFFSET))
    out["hits_ref"] = agreement(ref, xt, yt)
    for kind, r in sets.items():
        # transfer: does the clean twin (N2's architecture, clean data) follow N1's perturbations to the target?
        out[f"twin_on_target_adv_{kind}"] = agreement(ref, r["x"], r["target"])
        out[f"twin_on_target_clean_{kind}"] = agreement(ref, data["x"], r["target"])
    n2s = {}
    for kind, r in sets.items():
        out[f"success_{kind}"] = r["success"]
        out[f"norm_{kind}"] = r["norm"]
        n2 = _cached_net("relabelling_n2", {**base, "kind": kind, "eps": eps, "steps": steps_of(dataset, P)}, build,
                         lambda: train_image_net(dataset, r["x"], r["target"], P, seed + _N2_OFFSET))
        ctrl = _cached_net("relabelling_ctrl", {**base, "kind": kind}, build,
                           lambda: train_image_net(dataset, data["x"], r["target"], P, seed + _CTRL_OFFSET))
        n2s[kind] = n2
        out[f"n2_train_acc_{kind}"] = agreement(n2, r["x"], r["target"]).float().mean().item()
        out[f"hits_{kind}"] = agreement(n2, xt, yt)
        out[f"hits_{kind}_on_target"] = agreement(n2, xt, (yt + 1) % N_CLASSES[dataset])
        out[f"hits_ctrl_{kind}"] = agreement(ctrl, xt, yt)
        if dataset == "mnist":
            # random noise of the attack's norm per image, the same wrong labels
            xn = noise_like(data["x"], r["norm"], generator=torch.Generator().manual_seed(seed + 11))
            noise = _cached_net("relabelling_noise", {**base, "kind": kind, "eps": eps, "steps": steps_of(dataset, P)},
                                build, lambda: train_image_net(dataset, xn, r["target"], P, seed + _NOISE_OFFSET))
            out[f"hits_noise_{kind}"] = agreement(noise, xt, yt)
    m = P["geometry_points"]
    out["geometry"] = _geometry(n1, n2s, ref, xt[:m], yt[:m], seed, clip=(0.0, 1.0), fmn_steps=P["fmn_steps"])
    return out


# -- eps sweeps ----------------------------------------------------------------------------


def sweep_images(dataset: str, P: Mapping[str, Any], seed: int = 0, progress: bool = False) -> list[dict[str, Any]]:
    """For every eps of ``<dataset>_eps_sweep`` (seed ``seed``): per kind, attack success and
    N2's accuracy on the true labels (cached per eps)."""
    key = {**_data_key(dataset, P), "dataset": dataset, "seed": seed, "steps": steps_of(dataset, P)}
    rows = []
    for eps in tqdm(P["mnist_eps_sweep"] if dataset == "mnist" else [P["cifar_eps"]], desc="eps sweep",
                    disable=not progress):
        rows.append(cached("relabelling_sweep", {**key, "eps": float(eps)}, lambda: _sweep_point(dataset, P, seed, float(eps))))
    return rows


def _sweep_point(dataset, P, seed, eps):
    data = image_data(dataset, P, data_seed(dataset, seed))
    n1 = image_n1(dataset, data, P, data_seed(dataset, seed))
    row = {"eps": eps, "seed": seed}
    for kind in kinds(dataset):
        r = relabelled_set(dataset, n1, data, P, data_seed(dataset, seed), kind, eps)
        n2 = train_image_net(dataset, r["x"], r["target"], P, seed + _N2_OFFSET)
        row[f"success_{kind}"] = r["success"].float().mean().item()
        row[f"norm_{kind}"] = r["norm"].mean().item()
        row[f"acc_{kind}"] = agreement(n2, data["x_test"], data["y_test"]).float().mean().item()
    row["n_test"] = len(data["y_test"])
    return row



# -- how many attack steps ----------------------------------------------------------------


def attack_steps_check(dataset: str, P: Mapping[str, Any], eps_list, steps_list, n: int = 500,
                       seed: int = 0) -> list[dict[str, Any]]:
    """The targeted attack's success rate on N1, and its transfer to N1's clean twin, against
    eps and the number of steps (cached): for each eps of ``eps_list`` and step count of
    ``steps_list``, targeted L2 PGD (the relabelling attack, D_rand targets) from the first
    ``n`` training inputs of seed ``seed``'s subset. Rows {"eps", "steps", "n", "success"
    (fraction reaching the target on N1), "twin_adv", "twin_clean" (fractions on which seed
    ``seed``'s clean twin predicts the target at the adversarial / the clean inputs)}: how the
    chapter's eps and step count are chosen."""
    if not eps_list or not steps_list or n < 1:
        raise ValueError("need at least one eps, one step count and n >= 1")
    key = {**_data_key(dataset, P), "dataset": dataset, "seed": seed, "eps_list": [float(e) for e in eps_list],
           "steps_list": [int(s) for s in steps_list], "n": int(n)}

    def make():
        data = image_data(dataset, P, data_seed(dataset, seed))
        n1 = image_n1(dataset, data, P, data_seed(dataset, seed))
        twin = _cached_net("relabelling_ref", {**_data_key(dataset, P), "dataset": dataset, "seed": seed},
                           lambda: _image_net(dataset, P),
                           lambda: train_image_net(dataset, data["x"], data["y"], P, seed + _REF_OFFSET))
        x, y = data["x"][:n], data["y"][:n]
        t = targets(y, N_CLASSES[dataset], "rand", generator=torch.Generator().manual_seed(seed + 7))
        clean = agreement(twin, x, t).float().mean().item()
        rows = []
        for e in eps_list:
            for s in steps_list:
                r = relabel(n1, x, t, eps=float(e), steps=int(s))
                rows.append({"eps": float(e), "steps": int(s), "n": len(y), "success": r.success.float().mean().item(),
                             "twin_adv": agreement(twin, r.x, t).float().mean().item(), "twin_clean": clean})
        return rows

    return cached("relabelling_steps", key, make)
