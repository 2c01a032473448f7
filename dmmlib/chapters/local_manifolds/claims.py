"""The claims of the chapter "Local image manifolds" and their criteria, fixed before the run.

``claims(results, P)`` takes the chapter's results, a dict with, per data set ("MNIST",
"CIFAR-10"), :class:`dmmlib.claims.Estimate` values:

- ``recon[name]``: mean L2 reconstruction error of the autoencoders (appendix G: 2.1 and 7.88);
- ``fd_best[name]``: median largest principal angle (degrees) between the float32
  finite-difference tangent space at its best step and the exact one (appendix D.2);
- ``ratio[name]``: mean random-vector ratio R = ||r|| / ||Proj_M r|| on the tangent spaces
  (appendix I), with ``sqrt_nk[name]`` and ``expected_R[name]`` (the exact expectation);
- ``accuracy_mnist``: test accuracy of the MNIST classifiers (appendix G.1: 98 %);

and ``scale[name]`` (counts for :func:`dmmlib.claims.scale_text`; ``scale["recon"][name]`` for
the reconstruction claims when given, ``scale["accuracy"]`` for the accuracy claim).
"""
from __future__ import annotations

from typing import Any, Mapping

from dmmlib.claims import Claim, Criterion, claim, scale_text

PAPER_L2 = {"MNIST": 2.1, "CIFAR-10": 7.88}
KEYS = {"MNIST": "mnist", "CIFAR-10": "cifar"}
FD_OK = Criterion("<", 5.0, meaning="at 5 degrees projections change by under 0.4 % (cos 5°): R and E are unaffected")
ACCURACY = Criterion(">", 0.97, meaning="within a point of the paper's 98 %")


def claims(results: Mapping[str, Any], P: Mapping[str, Any]) -> list[Claim]:
    """The chapter's claims (see the module docstring)."""
    out: list[Claim] = []
    for name in ("MNIST", "CIFAR-10"):
        key, sc = KEYS[name], scale_text(P["profile"], **results["scale"][name])
        if name in results.get("recon", {}):
            out.append(claim(
                f"local_manifolds.recon_{key}", f"{name}: our autoencoders reconstruct test images about as closely as "
                f"the paper's (mean L2 error at most 1.2 × {PAPER_L2[name]})", source="DMM App. G",
                paper=f"{PAPER_L2[name]}", ours=results["recon"][name],
                criterion=Criterion("<", 1.2 * PAPER_L2[name], meaning="the paper's error plus 20 %"),
                scale=scale_text(P["profile"], **results["scale"].get("recon", {}).get(name, results["scale"][name])),
                section="lm-reconstruction"))
        if name in results.get("fd_best", {}):
            out.append(claim(
                f"local_manifolds.fd_error_{key}", f"{name}: the paper's finite differences give the tangent space "
                "(float32, best step: median largest angle to the exact span)", source="DMM App. D.2",
                ours=results["fd_best"][name], criterion=FD_OK, scale=sc, section="lm-fd"))
        if name in results.get("ratio", {}):
            out.append(claim(
                f"local_manifolds.sqrt_nk_{key}", f"{name}: a random vector's mean ratio R exceeds √(n/k), so √(n/k) is a "
                "lower bound, not the expectation", source="DMM App. I",
                paper=f"√(n/k) = {results['sqrt_nk'][name]:.3g}", ours=results["ratio"][name],
                criterion=Criterion(">", results["sqrt_nk"][name], meaning="appendix I's value"), scale=sc,
                section="lm-random-ratio"))
            e = results["expected_R"][name]
            out.append(claim(
                f"local_manifolds.exact_ER_{key}", f"{name}: the measured mean ratio matches the exact E[R] "
                "(Beta distribution of the projected share)", source="DMM App. I (corrected)",
                ours=results["ratio"][name], criterion=Criterion("within", 0.99 * e, upper=1.01 * e,
                                                                 meaning="exact E[R] ± 1 %"),
                scale=sc, section="lm-random-ratio"))
    if "accuracy_mnist" in results:
        out.append(claim(
            "local_manifolds.accuracy_mnist", "MNIST: the classifier of appendix G.1 reaches the paper's accuracy",
            source="DMM App. G.1", paper="98 %", ours=results["accuracy_mnist"], criterion=ACCURACY,
            scale=scale_text(P["profile"], **results["scale"]["accuracy"]), section="lm-models"))
    return out
