"""Clinging and dimpling (sections 3, 5.1, 6 and appendix C of the Dimpled Manifold paper):
the chapter's experiments, each cached on disk.

- :func:`run_one`: train the appendix-C network on the line or the chessboard for one seed
  (cleanly or adversarially), measure the boundary densely in time (:mod:`.geometry`), read
  the two phases off the distance curve (:mod:`.phases`), and measure the trained network in
  full: clinging over and beyond the data region against the walls control, dimple depth,
  gradient components, held-out and robust accuracy, the boundary's orientation near the
  manifold (against figure 1's vertical walls), its distance away from the training points,
  and the epochs it takes to fit the training set. The chessboard is trained cleanly,
  adversarially (section 5.1) and with random noise of the same radius (appendix A).
- :func:`pressure`: figure 2 computed: the boundary's displacement at the misclassified
  training points between consecutive early epochs, toward the manifold or along it
  (:mod:`.pressure`).
- :func:`lr_readings`: which reading of appendix C makes its learning rate train, and the main
  runs' measurements under each reading that does.
- :func:`stress`: the two-phase shape across widths, optimisers and learning rates.
- :func:`run_all`: everything the chapter shows, as one ``results`` dict for
  :func:`dmmlib.chapters.clinging_dimpling.claims.claims`.

``P`` is the chapter's resolved parameters (:mod:`.profiles`).
"""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np
from dmmlib.progress import progress as tqdm

from dmmlib.attacks.pgd import pgd_l2
from dmmlib.cache import cached
from dmmlib.chapters.clinging_dimpling import geometry as geo
from dmmlib.chapters.clinging_dimpling import pressure as prs
from dmmlib.chapters.clinging_dimpling.claims import FIT_ACC, TRAINED_ACC
from dmmlib.chapters.clinging_dimpling.phases import phase_summary
from dmmlib.chapters.clinging_dimpling.training import dense_epochs, model_at, train
from dmmlib.data.synthetic import ManifoldSet, chessboard_plane, line_dataset
from dmmlib.evaluate import accuracy

DATASETS = ("line", "chessboard")

#: Readings of appendix C (each a set of :func:`train` arguments) tried at its learning rate.
READINGS = {
    "as stated: inputs in [0, 1], outputs ±1, full batch, mean loss": {},
    "sum loss instead of mean": {"loss": "sum"},
    "mini-batches of 32": {"batch_size": 32},
    "output weights uniform on [-1, 1]": {"out_init": "uniform"},
    "output weights ±1/width": {"out_scale": "1/width"},
    "inputs centred to [-1, 1]": {"input_scale": 2.0, "input_shift": -1.0},
    "inputs centred, outputs uniform on [-1, 1]": {"input_scale": 2.0, "input_shift": -1.0, "out_init": "uniform"},
}


def datasets(P: Mapping, seed: int) -> dict[str, ManifoldSet]:
    """The line and the chessboard of seed ``seed`` (the line does not depend on it)."""
    return {
        "line": line_dataset(P["n_line"]),
        "chessboard": chessboard_plane(P["cells"], P["per_cell"], cluster_std=P["cluster_std"], seed=seed),
    }


def test_set(P: Mapping, seed: int) -> ManifoldSet:
    """Held-out chessboard points: a fresh draw of the same clusters."""
    return chessboard_plane(P["cells"], P["per_cell_test"], cluster_std=P["cluster_std"], seed=10_000 + seed)


def reading(P: Mapping) -> dict:
    """The :func:`train` arguments of the chapter's reading of appendix C."""
    return dict(width=P["width"], lr=P["lr"], weight_decay=P["weight_decay"], epochs=P["epochs"],
                batch_size=P["batch_size"], out_init=P["out_init"],
                input_scale=2.0 if P["centre_inputs"] else 1.0, input_shift=-1.0 if P["centre_inputs"] else 0.0)


def probe_of(P: Mapping, data: ManifoldSet) -> geo.Probe:
    n = P["probe_line"] if data.x.shape[1] == 2 else P["probe_plane"]
    return geo.probe(data, n, beyond=P["beyond"])


def fig_epochs(P: Mapping) -> list[int]:
    return sorted({e for e in P["fig_epochs"] if e <= P["epochs"]} | {0, P["epochs"]})


def fit_epoch(accuracy, level: float) -> tuple[float, bool]:
    """The first epoch after which the training accuracy (E + 1,) reaches ``level``, and whether
    it never does (then the epoch is E + 1, a lower bound: censored)."""
    acc = np.asarray(accuracy, dtype=np.float64)
    hits = np.nonzero(acc >= level)[0]
    return (float(hits[0]), False) if len(hits) else (float(len(acc)), True)


def _run_one(P: Mapping, name: str, seed: int, adv_eps: float, keep_all: bool, noise_eps: float = 0.0) -> dict:
    data = datasets(P, seed)[name]
    pr = probe_of(P, data)
    scale = geo.label_scale(data)
    kw = reading(P)
    when = dense_epochs(P["epochs"], P["measure_every"], P["dense_until"])

    def measure(model):
        return geo.region_summary(model, data, pr, scale=scale, max_iter=P["max_iter"], full=False)

    run = train(data, seed=seed, adv_eps=adv_eps, noise_eps=noise_eps, snapshot_epochs=None if keep_all else fig_epochs(P),
                measure=measure, measure_epochs=when, **kw)
    final, init = (geo.region_summary(model_at(run, e), data, pr, scale=scale, deltas=P["deltas"],
                                      max_iter=P["max_iter"]) for e in (P["epochs"], 0))
    walls = geo.wall_distance(pr.x, data)
    wall = {}
    for part, mask in (("inside", pr.inside), ("beyond", ~pr.inside)):
        wall[f"dist_{part}"] = geo.median_inf(walls[mask])
        wall[f"cling_{part}"] = 0.0  # a vertical wall meets no normal line (but a measure-zero set)
        for delta in P["deltas"]:
            wall[f"within_{delta:g}_{part}"] = geo.share_within(walls[mask], delta)
    curve = np.minimum(run.trace["dist_inside"].numpy(), math.sqrt(data.x.shape[1]))
    orient = {when: geo.orientation_summary(model_at(run, e), data, pr, scale=scale, max_iter=P["max_iter"])
              for when, e in (("final", P["epochs"]), ("init", 0))}
    fit_at, censored = fit_epoch(run.accuracy.numpy(), FIT_ACC)
    out = {"seed": seed, "name": name, "adv_eps": adv_eps, "noise_eps": noise_eps, "scale": scale, "run": run,
           "final": final, "init": init, "walls": wall, "orient": orient,
           "phases": phase_summary(run.trace["epoch"].numpy(), curve, run.accuracy.numpy())._asdict(),
           "train_acc": float(run.accuracy[-1]), "fit_epoch": fit_at, "fit_censored": censored}
    if name == "chessboard":
        test = test_set(P, seed)
        model = model_at(run, P["epochs"])
        out["test_acc"] = accuracy(model, test.x, test.y)
        delta = pgd_l2(model, test.x, test.y, eps=P["adv_eps"], step_size=P["adv_eps"] / 4, steps=P["attack_steps"]).delta
        out["robust_acc"] = accuracy(model, test.x + delta, test.y)
    return out


def run_one(P: Mapping, name: str, seed: int, adv_eps: float = 0.0, keep_all: bool = False,
            noise_eps: float = 0.0) -> dict:
    """One training run and its measurements (see the module's docstring); cached.

    Returns {"seed", "name", "adv_eps", "scale" (:func:`geometry.label_scale`), "run" (the
    :class:`TrainRun`, with its dense ``trace``), "final" and "init" (:func:`geometry.region_summary`
    after the last epoch and at initialisation), "walls" (the same numbers for the
    nearest-neighbour walls), "orient" ({"final", "init"}: :func:`geometry.orientation_summary`),
    "phases" (:class:`phases.Phases` as a dict), "train_acc", "fit_epoch" and "fit_censored"
    (:func:`fit_epoch` at :data:`claims.FIT_ACC`), and for
    the chessboard "test_acc" and "robust_acc" (L2 PGD of radius ``adv_eps`` on held-out points)}.
    ``keep_all`` keeps the weights of every epoch (for the animation). ``noise_eps`` > 0 trains
    with random-noise augmentation of that L2 radius instead (:func:`training.train`).
    """
    key = {k: P[k] for k in sorted(P) if k not in _DISPLAY_KNOBS}
    key.update(name=name, seed=seed, adv_eps=adv_eps, noise_eps=noise_eps, keep_all=keep_all, profile=None)
    return cached("clinging_dimpling_run", key, lambda: _run_one(P, name, seed, adv_eps, keep_all, noise_eps),
                  code=(__name__,))


def _pressure_one(P: Mapping, name: str, seed: int) -> dict:
    data = datasets(P, seed)[name]
    last = min(P["pressure_until"], P["epochs"])
    kw = {**reading(P), "epochs": last}  # the first epochs of the main run: the same seed trains identically
    run = train(data, seed=seed, snapshot_epochs=range(last + 1), **kw)
    trace = prs.pressure_trace([model_at(run, e) for e in range(last + 1)], data, max_iter=P["max_iter"])
    return {"seed": seed, "name": name, "epochs": list(range(last + 1)), "summary": prs.summarise(trace),
            "trace": trace, "run": run if seed == 0 else None}


def pressure(P: Mapping, *, progress: bool = True) -> dict[str, list[dict]]:
    """Figure 2 computed, per dataset and seed (``seeds`` of them): the first ``pressure_until``
    epochs of the main run, snapshotted every epoch; between consecutive epochs the boundary's
    displacement at the training points (:func:`pressure.pressure_trace`). Rows: {"seed",
    "name", "epochs", "summary" (:func:`pressure.summarise`), "trace", "run" (seed 0 only)};
    cached per row."""
    out = {n: [] for n in DATASETS}
    for name, seed in tqdm([(n, s) for n in DATASETS for s in range(P["seeds"])], desc="inward pressure",
                           disable=not progress):
        key = {k: P[k] for k in sorted(P) if k not in _DISPLAY_KNOBS}
        key.update(name=name, seed=seed, profile=None)
        out[name].append(cached("clinging_dimpling_pressure", key, lambda: _pressure_one(P, name, seed),
                                code=(__name__,)))
    return out


#: What :func:`lr_readings` keeps of a reading's network after training and at initialisation.
READING_KEYS = ("cling_inside", "cling_beyond", "angle_train", "gn_train")


def measure_reading(P: Mapping, run, data: ManifoldSet, when: list[int]) -> dict:
    """The main runs' measurements for one reading's run (snapshotted at ``when``): the phases
    of its distance curve and the clinging and gradient numbers after training and at
    initialisation (the keys of :data:`READING_KEYS`)."""
    pr = probe_of(P, data)
    scale = geo.label_scale(data)
    curve = np.array([geo.region_summary(model_at(run, e), data, pr, scale=scale, max_iter=P["max_iter"],
                                         full=False)["dist_inside"] for e in when])
    curve = np.minimum(curve, math.sqrt(data.x.shape[1]))
    final, init = (geo.region_summary(model_at(run, e), data, pr, scale=scale, max_iter=P["max_iter"])
                   for e in (P["epochs"], 0))
    return {"final": {k: final[k] for k in READING_KEYS}, "init": {k: init[k] for k in READING_KEYS},
            "phases": phase_summary(np.asarray(when), curve, run.accuracy.numpy())._asdict()}


def _lr_one(P: Mapping, label: str, name: str, seed: int) -> dict:
    kw = dict(READINGS[label])
    if kw.get("out_scale") == "1/width":
        kw["out_scale"] = 1.0 / P["width"]
    data = datasets(P, seed)[name]
    when = dense_epochs(P["epochs"], P["measure_every"], P["dense_until"])
    run = train(data, width=P["width"], lr=P["lr_paper"], weight_decay=P["weight_decay"], epochs=P["epochs"],
                seed=seed, snapshot_epochs=when, **kw)
    acc = run.accuracy.numpy()
    row = {"reading": label, "dataset": name, "seed": seed, "final_acc": float(acc[-1]),
           "best_late_acc": float(acc[len(acc) // 2:].max()), "accuracy": acc}
    if acc[-1] > TRAINED_ACC:  # measured only where the reading trains: what reading_checks compares
        row.update(measure_reading(P, run, data, when))
    return row


def lr_readings(P: Mapping, *, progress: bool = True) -> list[dict]:
    """Final training accuracy at ``lr_paper`` of every reading in :data:`READINGS`, per dataset
    and seed (``lr_seeds`` of them). Rows: {"reading", "dataset", "seed", "final_acc",
    "best_late_acc" (best over the second half), "accuracy" (E + 1,)}, and for a run whose
    final training accuracy exceeds :data:`claims.TRAINED_ACC` also "final", "init" (the keys
    of :data:`READING_KEYS`) and "phases" (:func:`measure_reading`: the main claims'
    measurements under that reading); cached per row."""
    jobs = [(r, n, s) for r in READINGS for n in DATASETS for s in range(P["lr_seeds"])]
    rows = []
    for label, name, seed in tqdm(jobs, desc="readings", disable=not progress):
        key = dict(width=P["width"], lr=P["lr_paper"], wd=P["weight_decay"], epochs=P["epochs"], n_line=P["n_line"],
                   cells=P["cells"], per_cell=P["per_cell"], std=P["cluster_std"], reading=label, name=name, seed=seed,
                   probe_line=P["probe_line"], probe_plane=P["probe_plane"], beyond=P["beyond"], max_iter=P["max_iter"],
                   measure_every=P["measure_every"], dense_until=P["dense_until"], trained_acc=TRAINED_ACC)
        rows.append(cached("clinging_dimpling_lr", key, lambda: _lr_one(P, label, name, seed), code=(__name__,)))
    return rows


def _stress_one(P: Mapping, width: int, optimizer: str, lr: float, seed: int) -> dict:
    data = datasets(P, seed)["chessboard"]
    pr = geo.probe(data, P["stress_probe"], beyond=0.0)
    scale = geo.label_scale(data)
    kw = {**reading(P), "width": width, "lr": lr, "optimizer": optimizer}
    when = dense_epochs(P["epochs"], P["stress_every"], P["dense_until"])
    run = train(data, seed=seed, snapshot_epochs=[], measure_epochs=when,
                measure=lambda m: geo.region_summary(m, data, pr, scale=scale, max_iter=P["max_iter"], full=False), **kw)
    curve = np.minimum(run.trace["dist_inside"].numpy(), math.sqrt(3))
    ph = phase_summary(run.trace["epoch"].numpy(), curve, run.accuracy.numpy())._asdict()
    return {"width": width, "optimizer": optimizer, "lr": lr, "seed": seed, "final_acc": float(run.accuracy[-1]),
            "final_dist": float(curve[-1]), "init_dist": float(curve[0]), **ph,
            "epoch": run.trace["epoch"].numpy(), "dist": curve}


def stress(P: Mapping, *, progress: bool = True) -> list[dict]:
    """The chessboard trained with every width of ``stress_widths``, every optimiser and
    learning rate of ``stress_lrs`` and ``stress_seeds`` seeds; per run its phases
    (:func:`phases.phase_summary`), final accuracy and distance curve. Cached per run."""
    jobs = [(w, o, lr, s) for w in P["stress_widths"] for o, lrs in P["stress_lrs"].items() for lr in lrs
            for s in range(P["stress_seeds"])]
    rows = []
    for width, opt, lr, seed in tqdm(jobs, desc="stress test", disable=not progress):
        key = {k: P[k] for k in sorted(P) if k not in _DISPLAY_KNOBS}
        key.update(width=width, optimizer=opt, lr=lr, seed=seed, profile=None)
        rows.append(cached("clinging_dimpling_stress", key, lambda: _stress_one(P, width, opt, lr, seed), code=(__name__,)))
    return rows


def run_all(P: Mapping, *, progress: bool = True) -> dict:
    """Every experiment of the chapter: {"line", "chessboard", "chessboard_adv",
    "chessboard_noise": per-seed :func:`run_one` results (clean, adversarial, random noise of
    radius ``adv_eps``), "pressure": :func:`pressure`, "lr": :func:`lr_readings`, "stress": :func:`stress`,
    "random_angle": {dataset: degrees}, "epochs", "adv_eps", "deltas"}."""
    seeds = range(P["seeds"])
    jobs = ([(n, s, 0.0, 0.0, n) for n in DATASETS for s in seeds]
            + [("chessboard", s, P["adv_eps"], 0.0, "chessboard_adv") for s in seeds]
            + [("chessboard", s, 0.0, P["adv_eps"], "chessboard_noise") for s in seeds])
    out = {"line": [], "chessboard": [], "chessboard_adv": [], "chessboard_noise": []}
    for name, seed, eps, noise, slot in tqdm(jobs, desc="runs", disable=not progress):
        out[slot].append(run_one(P, name, seed, eps, keep_all=(name == "line" and seed == 0), noise_eps=noise))
    out["pressure"] = pressure(P, progress=progress)
    out["lr"] = lr_readings(P, progress=progress)
    out["stress"] = stress(P, progress=progress)
    out["random_angle"] = {n: geo.random_angle(out[n][0]["run"].weight.shape[-1]) for n in DATASETS}
    out.update(epochs=P["epochs"], adv_eps=P["adv_eps"], deltas=list(P["deltas"]))
    return out


# knobs that change only how results are drawn, not what is computed (kept out of cache keys)
_DISPLAY_KNOBS = ("grid_2d", "surface_grid", "anim_grid", "anim_every", "lr_seeds", "stress_widths", "stress_lrs",
                  "stress_seeds", "seeds")
