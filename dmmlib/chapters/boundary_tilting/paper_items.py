"""The items of the papers this chapter reproduces (the map of the papers: :mod:`dmmlib.paper_map`)."""
from dmmlib.paper_map import PaperItem

CH = "boundary_tilting"


def svms(P) -> str:
    n = P["n_train_per_class"] or "all"
    return (f"MNIST {P['digits'][0]} vs {P['digits'][1]}, {n} training digits per class, linear SVMs at "
            f"{P['n_lambdas']} values of λ from {P['lambda_min']:g} to {P['lambda_max']:g}, {P['seeds']} split seeds")


TOY = "{toy_points} points per dimension, tilt {toy_tilt_deg}°"

ITEMS = [
    PaperItem("tanay", "Figure 2", "partial", ("fig-tilt-perturb", "tilt-distance", "fig-tilt-distance"),
              (f"{CH}.distance_formula", f"{CH}.tilt_vulnerability"), svms,
              note="Shown through linear SVMs' smallest adversarial perturbations on MNIST and their distance against "
                   "the tilting angle (Tanay and Griffin's figure 2), not the article's picture."),
    PaperItem("tanay", "Figure 3", "full", ("tilt-toy", "fig-tilt-toy"), (), TOY,
              note="Our construction (the article shows only a picture); a check that the page stops on, not a claim."),
    PaperItem("tanay", "Figure 4", "partial", ("fig-tilt-toy",), (), TOY,
              note="The data and both boundaries are drawn in figure 3's panels (the plane of the data line and the "
                   "tilt), not as the article's separate picture."),
    PaperItem("tanay", "Figure 5", "full", ("fig-tilt-plane", "tilt-svm"), (f"{CH}.distance_formula",), svms),
    PaperItem("tanay", "Figure 6", "full", ("tilt-sweep", "fig-tilt-sweep", "fig-tilt-perturb"),
              (f"{CH}.tilt_grows", f"{CH}.best_intermediate"), svms,
              note="The article's slider is an animation through every λ; the widget runs in Jupyter."),
    PaperItem("tanay", "Figure 7", "full", ("fig-tilt-perturb", "fig-tilt-picture"), (), svms,
              note="The 3-D animation follows figure 6's panels in the same section; the boundary-tilting picture "
                   "(every lambda's boundary about the centroids) is in the section on distance and tilt."),
    PaperItem("dmm", "Appendix A", "partial", ("tilt-dmm", "fig-tilt-dmm"), (f"{CH}.mlp_tilt",),
              "the shared MNIST MLPs ({mlp_models}), {dmm_points} test digits",
              note="The boundary-tilting link only (Tanay and Griffin): the tilt of a non-linear classifier."),
]
