"""The items of the papers this chapter reproduces (the map of the papers: :mod:`dmmlib.paper_map`)."""
from dmmlib.paper_map import PaperItem

CH = "leaving_the_manifold"
FONTS = ("FONTS-like data from {n_fonts} fonts: {n_train} training and {n_test} test codes, the appendix G.1 MLP, "
         "{seeds} seeds; {n_attack} attacked test images per seed, L-inf PGD of radius {eps}")
MNIST = ("MNIST: {mnist_seeds} MLPs, {n_mnist} test digits, a subspace of the {knn} nearest training digits; L-inf PGD "
         "of radius {eps}")
SUBSTITUTE = ("FONTS rebuilt offline from the fonts bundled with matplotlib (Stutz: about 1,000 Google Fonts), with "
              "the same decoder: letters A to J warped by an affine map.")

ITEMS = [
    PaperItem("stutz", "Figure 1", "partial", ("fig-leaving-examples", "sec-leaving-attacks"), (), FONTS,
              note="Regular and on-manifold adversarial examples on FONTS only; MNIST's on-manifold examples are "
                   "measured, not drawn. " + SUBSTITUTE),
    PaperItem("stutz", "Figure 2", "partial", ("fig-leaving-data", "sec-leaving-data"), (), FONTS,
              note="The decoder's output (fonts and decoded codes), not the article's diagram of it. " + SUBSTITUTE),
    PaperItem("stutz", "Figure 3", "partial", ("fig-leaving-fonts-dist", "fig-leaving-mnist-dist"),
              (f"{CH}.fonts_adversarial_off", f"{CH}.fonts_distance_equals_norm", f"{CH}.mnist_adversarial_farther",
               f"{CH}.mnist_on_manifold_like_test"), FONTS + "; " + MNIST,
              note="Both histograms, with a random perturbation of the same norm as a control. " + SUBSTITUTE),
    PaperItem("stutz", "FONTS result", "partial", ("sec-leaving-fonts", "sec-leaving-tangent"),
              (f"{CH}.fonts_adversarial_off", f"{CH}.fonts_distance_equals_norm",
               f"{CH}.fonts_more_perpendicular_than_random"), FONTS, note=SUBSTITUTE),
    PaperItem("stutz", "MNIST result", "full", ("sec-leaving-mnist",),
              (f"{CH}.mnist_adversarial_farther", f"{CH}.mnist_on_manifold_like_test",
               f"{CH}.mnist_more_orthogonal_than_random"), MNIST),
    PaperItem("stutz", "Outlook", "partial", ("sec-leaving-training",),
              (f"{CH}.fonts_on_manifold_training_generalises", f"{CH}.fonts_on_manifold_training_robust",
               f"{CH}.fonts_adversarial_beats_random_augmentation"), FONTS + "; {epochs} epochs of training",
              note="Tested on FONTS only (after Stutz et al., CVPR 2019). " + SUBSTITUTE),
]
