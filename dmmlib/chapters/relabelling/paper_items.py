"""The items of the papers this chapter reproduces (the map of the papers: :mod:`dmmlib.paper_map`)."""
from dmmlib.paper_map import PaperItem

CH = "relabelling"
SYNTH = ("2-d line ({n_line} points) and 3-d chessboard plane ({per_cell} points per cell), appendix C network of "
         "width {synth_width}, ε = {synth_eps}, {seeds} seeds")


def images(P) -> str:
    cifar = P["cifar_train_size"] or "all 50,000"
    n2 = f"a ResNet-{P['cifar_n2_depth']}" if P["cifar_n2_depth"] else f"a small convnet (width {P['cifar_width']})"
    n1 = f"a pretrained ResNet-{P['cifar_n1_depth']}" if P["cifar_n1_depth"] else "the same small convnet"
    return (f"CIFAR-10: N2 {n2}, N1 {n1}, {cifar} training images, ε = {P['cifar_eps']}, "
            f"{P['cifar_attack_steps']} PGD steps, {P['cifar_seeds']} seed(s); MNIST (the book's extension): "
            f"{P['mnist_train_size']} digits, ε = {P['mnist_eps']}, {P['attack_steps']} PGD steps")


UNDER = ("Ilyas et al. used ResNet-50s on all 50,000 CIFAR-10 images; the paper profile uses CIFAR ResNet-56s on all "
         "of them, quick a small convnet for N1 and N2 on 10,000 (its preconditions say whether the run reaches "
         "their regime).")

ITEMS = [
    PaperItem("dmm", "Figure 4", "full", ("fig-relabel-figure4", "relabel-synthetic", "relabel-geometry"),
              (f"{CH}.line_flip_beats_chance", f"{CH}.line_gradients_align", f"{CH}.chessboard_flip_beats_chance",
               f"{CH}.chessboard_gradients_align", f"{CH}.mnist_gradients_align", f"{CH}.cifar10_gradients_align"),
              SYNTH,
              note="A schematic in the paper, computed here on the 2-d line, with the distances and gradients it "
                   "predicts measured on all four data sets."),
    PaperItem("dmm", "Appendix A", "partial", ("relabel-robustness",),
              (f"{CH}.mnist_n2_not_robust", f"{CH}.cifar10_n2_not_robust"), images,
              note="The robust/non-robust-features link only (Ilyas et al.), tested as N2's robustness."),
    PaperItem("ilyas", "D_rand", "partial", ("relabel-images", "fig-relabel-accuracy"),
              (f"{CH}.cifar10_rand_beats_chance", f"{CH}.mnist_rand_beats_chance", f"{CH}.mnist_rand_beats_noise"), images, note=UNDER),
    PaperItem("ilyas", "D_det", "partial", ("relabel-images", "fig-relabel-accuracy"),
              (f"{CH}.cifar10_det_beats_chance", f"{CH}.mnist_det_beats_chance", f"{CH}.mnist_det_beats_noise"), images, note=UNDER),
    PaperItem("ilyas", "Non-robust features", "partial", ("relabel-robustness", "fig-relabel-distance"),
              (f"{CH}.cifar10_n2_not_robust", f"{CH}.mnist_n2_not_robust"), images,
              note="Tested through its prediction (N2 less robust than a clean network), beside the DMM's and the "
                   "reading notes'. " + UNDER),
]
