"""The source the chapter's companion claims quote: the abstract of Melamed, Yehudai and Vardi
(NeurIPS 2023), verbatim as OpenReview (forum pJbEXBBN88) and arXiv 2303.00783 print it, and
the DMM sentence the chapter ties it to (seed 000, section 2, claim 2).

``tests/test_two_layer_subspace_claims.py`` checks that every quote of the chapter's claims
is a verbatim substring of :data:`ABSTRACT`.
"""

REFERENCE = ("O. Melamed, G. Yehudai and G. Vardi, \"Adversarial Examples Exist in Two-Layer ReLU "
             "Networks for Low Dimensional Linear Subspaces\", NeurIPS 2023 (arXiv:2303.00783)")
#: the abstract, verbatim (the LaTeX of $L_2$ as printed)
ABSTRACT = (
    "Despite a great deal of research, it is still not well-understood why trained neural networks are "
    "highly vulnerable to adversarial examples. In this work we focus on two-layer neural networks trained "
    "using data which lie on a low dimensional linear subspace. We show that standard gradient methods lead "
    "to non-robust neural networks, namely, networks which have large gradients in directions orthogonal to "
    "the data subspace, and are susceptible to small adversarial $L_2$-perturbations in these directions. "
    "Moreover, we show that decreasing the initialization scale of the training algorithm, or adding $L_2$ "
    "regularization, can make the trained network more robust to adversarial perturbations orthogonal to the data."
)
#: the DMM's claim 2 (Shamir, Melamed, BenShmuel 2021, section 2; /work/shared/seeds/000_*.txt), verbatim
DMM_CLAIM_2 = ("To help the training, DNNs develop large gradients in the confidence levels in the vicinity of "
               "the training examples, which point roughly perpendicularly to the image manifold")
