"""The chapter's experiments, per seed, cached.

- :func:`fonts_study` (FONTS, known manifold): a clean, an on-manifold adversarially trained
  and a randomly augmented classifier; test accuracy and on-manifold robust accuracy of each; for the clean
  one, L-inf PGD adversarial examples (early stop), on-manifold adversarial examples (search
  in z) and random perturbations of the PGD perturbation's L2 norm, their distances to the
  manifold (:func:`projection.project_fonts`) and the share of each perturbation off the
  exact tangent space at the attacked image (:func:`dmmlib.data.fonts.tangent`).
- :func:`mnist_study` (MNIST, approximate manifold): an MLP, L-inf PGD adversarial examples,
  on-manifold adversarial examples (L2 PGD whose steps are projected onto the kNN subspace),
  random perturbations of equal norm; distances to the kNN affine hull and angles to it.

Every result is a dict of CPU tensors (per image) and numbers; distances and norms are L2
norms of [0,1]-scaled pixels.
"""
from __future__ import annotations

from typing import Any, Mapping

import torch

from dmmlib import parallel
from dmmlib.attacks.pgd import pgd
from dmmlib.cache import cached
from dmmlib.chapters.leaving_the_manifold.on_manifold import ARMS, attack_z, train_fonts_classifier
from dmmlib.chapters.leaving_the_manifold.projection import (
    angle_to_subspace,
    knn_distance,
    knn_manifold,
    project_fonts,
    random_like,
)
from dmmlib.data.fonts import FontsDecoder, make_fonts, tangent
from dmmlib.data.mnist import load_mnist
from dmmlib.device import seed_everything
from dmmlib.manifold import orthonormal_basis
from dmmlib.models.mlp import MnistMLP
from dmmlib.train import train_classifier

TEST_SEED = 10_000  # the FONTS test set is one fixed draw, shared by all seeds
TRAIN_KEYS = ("n_fonts", "n_train", "epochs", "lr", "batch_size", "z_step")


def _sub(P: Mapping[str, Any], keys) -> dict:
    return {k: P[k] for k in keys}


# -- FONTS ------------------------------------------------------------------------------------


def fonts_classifier(P: Mapping[str, Any], seed: int, arm: str) -> MnistMLP:
    """The FONTS classifier of ``seed``: ``arm`` "clean", "on_manifold" (on-manifold adversarial
    training) or "random_aug" (the same with random instead of adversarial codes)."""
    if arm not in ARMS:
        raise ValueError(f"arm must be one of {ARMS}, got {arm!r}")
    adv_steps = P["adv_steps"] if arm == "on_manifold" else 0
    cfg = {**_sub(P, TRAIN_KEYS), "arm": arm, "adv_steps": adv_steps, "seed": seed}

    def train() -> dict:
        dec = FontsDecoder(P["n_fonts"])
        data = make_fonts(P["n_train"], seed=seed, decoder=dec)
        model = train_fonts_classifier(dec, data, epochs=P["epochs"], lr=P["lr"], batch_size=P["batch_size"],
                                       seed=seed, arm=arm, adv_steps=adv_steps, z_step=P["z_step"])
        return model.state_dict()

    model = MnistMLP()
    model.load_state_dict(cached("leaving_fonts_classifier", cfg, train))
    return model.eval()


def fonts_studies(P: Mapping[str, Any]) -> list[dict]:
    """:func:`fonts_study` for seeds 0 .. ``P["seeds"]`` - 1, in order: independent units
    (:func:`dmmlib.parallel.map`: a loop, or tasks on a Ray cluster)."""
    return parallel.map(_fonts_unit, range(P["seeds"]), context=P)


def mnist_studies(P: Mapping[str, Any]) -> list[dict]:
    """:func:`mnist_study` for seeds 0 .. ``P["mnist_seeds"]`` - 1, in order (as :func:`fonts_studies`)."""
    return parallel.map(_mnist_unit, range(P["mnist_seeds"]), context=P)


def _fonts_unit(P: Mapping[str, Any], seed: int) -> dict:
    return fonts_study(P, seed)


def _mnist_unit(P: Mapping[str, Any], seed: int) -> dict:
    return mnist_study(P, seed)


def fonts_study(P: Mapping[str, Any], seed: int) -> dict:
    """Everything measured on FONTS for one seed (cached): see the module's docstring."""
    keys = TRAIN_KEYS + ("adv_steps", "n_test", "eval_steps", "eval_restarts", "n_attack", "eps", "pgd_steps",
                         "pgd_step_size", "proj_top_k", "proj_restarts", "proj_steps", "proj_lr")
    return cached("leaving_fonts_study", {**_sub(P, keys), "seed": seed}, lambda: _fonts_study(P, seed))


def _fonts_study(P, seed: int) -> dict:
    dec = FontsDecoder(P["n_fonts"])
    test = make_fonts(P["n_test"], seed=TEST_SEED, decoder=dec)
    gen = seed_everything(seed)
    out: dict[str, Any] = {"seed": seed}
    models = {arm: fonts_classifier(P, seed, arm) for arm in ARMS}
    for arm, model in models.items():
        with torch.no_grad():
            correct = model(test.x).argmax(1) == test.y
        za = attack_z(model, dec, test.font, test.y, test.params, steps=P["eval_steps"], step=P["z_step"],
                      restarts=P["eval_restarts"], generator=gen)
        out[f"{arm}_correct"] = correct
        out[f"{arm}_on_robust"] = correct & ~za.success  # correct, and no on-manifold adversarial found
    # the clean model's adversarial examples on correctly classified test images
    model = models["clean"]
    idx = out["clean_correct"].nonzero().squeeze(1)[: P["n_attack"]]
    x, y, font, a0 = test.x[idx], test.y[idx], test.font[idx], test.params[idx]
    res = pgd(model, x, y, norm="linf", eps=P["eps"], step_size=P["pgd_step_size"], steps=P["pgd_steps"],
              loss="ce", early_stop=True)
    delta = res.delta
    rand = random_like(delta, generator=gen)
    za = attack_z(model, dec, font, y, a0, steps=P["eval_steps"], step=P["z_step"], restarts=P["eval_restarts"],
                  generator=gen)
    with torch.no_grad():
        x_on = dec(font, y, za.params)
    proj = dict(top_k=P["proj_top_k"], restarts=P["proj_restarts"], steps=P["proj_steps"], lr=P["proj_lr"],
                generator=gen)
    hint = (font, y, a0)
    out["pgd_success"] = res.success
    out["delta_l2"] = delta.flatten(1).norm(dim=1)
    out["delta_linf"] = delta.flatten(1).abs().amax(1)
    p_adv = project_fonts(dec, x + delta, hint=hint, **proj)
    out["dist_adv"] = p_adv.distance
    out["dist_rand"] = project_fonts(dec, x + rand, hint=hint, **proj).distance
    out["on_success"] = za.success
    out["on_delta_l2"] = (x_on - x).flatten(1).norm(dim=1)
    # the exact tangent space at the attacked image
    Q = orthonormal_basis(tangent(dec, font, y, a0))
    for name, d in (("adv", delta), ("rand", rand)):
        df = d.flatten(1)
        on = torch.bmm(df.unsqueeze(1), Q).squeeze(1).norm(dim=1) / df.norm(dim=1).clamp_min(1e-12)
        out[f"on_share_{name}"] = on  # ||P_T d|| / ||d||
    # a few images for the figures
    k = min(6, len(idx))
    out["examples"] = {"x": x[:k], "adv": (x + delta)[:k], "adv_proj": p_adv.recon[:k], "on": x_on[:k],
                       "on_success": za.success[:k], "y": y[:k],
                       "pred_adv": model(x[:k] + delta[:k]).argmax(1).detach(),
                       "pred_on": model(x_on[:k]).argmax(1).detach()}
    return out


def fonts_search_check(P: Mapping[str, Any]) -> dict:
    """The projection's search alone (no code given) on ``n_check`` FONTS test images, which lie
    on the manifold: its distances (N,) should be about 0, and whether it found the image's own
    piece (font, letter) (cached)."""
    keys = ("n_fonts", "n_check", "proj_top_k", "proj_restarts", "proj_steps", "proj_lr")
    return cached("leaving_fonts_search_check", _sub(P, keys), lambda: _fonts_search_check(P))


def _fonts_search_check(P) -> dict:
    dec = FontsDecoder(P["n_fonts"])
    test = make_fonts(P["n_check"], seed=TEST_SEED + 1, decoder=dec)
    p = project_fonts(dec, test.x, top_k=P["proj_top_k"], restarts=P["proj_restarts"], steps=P["proj_steps"],
                      lr=P["proj_lr"], generator=torch.Generator().manual_seed(0))
    return {"distance": p.distance, "same_piece": (p.font == test.font) & (p.letter == test.y)}


# -- MNIST ------------------------------------------------------------------------------------


def _mnist_train(P):
    tr = load_mnist("train")
    x, y = tr.x, tr.y
    if P["mnist_train_size"]:
        sel = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))[: P["mnist_train_size"]]
        x, y = x[sel], y[sel]
    return x, y, tr.source


def mnist_classifier(P: Mapping[str, Any], seed: int) -> MnistMLP:
    """The 784-256-256-10 MLP trained with Adam (lr 1e-3, batch 128) on MNIST, per seed (cached)."""
    cfg = {"mnist_train_size": P["mnist_train_size"], "mnist_epochs": P["mnist_epochs"], "seed": seed}

    def train() -> dict:
        x, y, _ = _mnist_train(P)
        seed_everything(seed)
        model = MnistMLP()
        train_classifier(model, x, y, epochs=P["mnist_epochs"], lr=1e-3, batch_size=128, seed=seed,
                         optimizer="adam", device="cpu", progress=False)
        return model.state_dict()

    model = MnistMLP()
    model.load_state_dict(cached("leaving_mnist_classifier", cfg, train))
    return model.eval()


def mnist_study(P: Mapping[str, Any], seed: int) -> dict:
    """Everything measured on MNIST for one seed (cached): see the module's docstring."""
    keys = ("mnist_train_size", "mnist_epochs", "knn", "n_mnist", "eps", "pgd_steps", "pgd_step_size", "on_eps",
            "on_steps", "on_step_size")
    return cached("leaving_mnist_study", {**_sub(P, keys), "seed": seed}, lambda: _mnist_study(P, seed))


def _mnist_study(P, seed: int) -> dict:
    model = mnist_classifier(P, seed)
    xtr, _, source = _mnist_train(P)
    te = load_mnist("test")
    gen = seed_everything(seed)
    pick = torch.randperm(len(te.y), generator=torch.Generator().manual_seed(1000 + seed))[: 2 * P["n_mnist"]]
    with torch.no_grad():
        ok = model(te.x[pick]).argmax(1) == te.y[pick]
    sel = pick[ok][: P["n_mnist"]]
    x, y = te.x[sel], te.y[sel]
    M = knn_manifold(x, xtr, P["knn"])
    adv = pgd(model, x, y, norm="linf", eps=P["eps"], step_size=P["pgd_step_size"], steps=P["pgd_steps"],
              loss="ce", early_stop=True)
    on = pgd(model, x, y, norm="l2", eps=P["on_eps"], step_size=P["on_step_size"], steps=P["on_steps"], loss="ce",
             early_stop=True, basis=M.basis, basis_mode="on")
    rand = random_like(adv.delta, generator=gen)
    out = {"seed": seed, "source": source, "n_train": len(xtr), "acc_sample": float(ok.float().mean()), "pgd_success": adv.success, "on_success": on.success,
           "delta_l2": adv.delta.flatten(1).norm(dim=1), "on_delta_l2": on.delta.flatten(1).norm(dim=1),
           "dist_test": knn_distance(x, M), "dist_adv": knn_distance(x + adv.delta, M),
           "dist_on": knn_distance(x + on.delta, M), "dist_rand": knn_distance(x + rand, M),
           "angle_adv": angle_to_subspace(adv.delta, M.basis), "angle_rand": angle_to_subspace(rand, M.basis),
           "angle_on": angle_to_subspace(on.delta, M.basis)}
    k = min(6, len(y))
    with torch.no_grad():
        out["examples"] = {"x": x[:k], "adv": x[:k] + adv.delta[:k], "on": x[:k] + on.delta[:k], "y": y[:k],
                           "pred_adv": model(x[:k] + adv.delta[:k]).argmax(1),
                           "pred_on": model(x[:k] + on.delta[:k]).argmax(1)}
    return out
