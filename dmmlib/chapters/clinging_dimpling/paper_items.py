"""The items of the papers this chapter reproduces (the map of the papers: :mod:`dmmlib.paper_map`)."""
from dmmlib.paper_map import PaperItem

CH = "clinging_dimpling"
TOY = "appendix C network of width {width}, {epochs} epochs, {seeds} seeds"
CHESS = "{cells} × {cells} chessboard of {per_cell} points per cell in the 3-D cube; " + TOY
LINE = "{n_line} points on a line in the 2-D square; " + TOY

ITEMS = [
    PaperItem("dmm", "Figure 1", "full", ("sec-cling-walls", "fig-cling-walls", "fig-cling-3d", "sec-cling-metrics"),
              (f"{CH}.not_walls_chessboard", f"{CH}.not_walls_line", f"{CH}.clinging_inside_chessboard",
               f"{CH}.clinging_beyond_chessboard"), CHESS,
              note="The left panel (the simplistic mental image) is drawn from the training points: the walls of a "
                   "nearest-neighbour classifier extended perpendicularly to the manifold, beside the trained "
                   "boundary; they are the control of the clinging and orientation measurements."),
    PaperItem("dmm", "Figure 2", "full", ("sec-cling-pressure", "fig-cling-pressure"),
              (f"{CH}.inward_pressure_line", f"{CH}.inward_pressure_chessboard"),
              "line and chessboard, the first {pressure_until} epochs of every main run; " + TOY,
              note="A schematic in the paper: the book computes what it depicts, the boundary's displacement at the "
                   "misclassified training points between consecutive epochs, split into its part toward the "
                   "manifold and the rest."),
    PaperItem("dmm", "Figure 3", "full", ("sec-cling-adv", "fig-cling-adv", "fig-cling-trainings"),
              (f"{CH}.adv_deepens_dimples", f"{CH}.adv_main_effect_dimples", f"{CH}.adv_clinging_unchanged",
               f"{CH}.adv_gradient_on_manifold", f"{CH}.adv_costs_accuracy", f"{CH}.adv_harder_to_train",
               f"{CH}.adv_buys_robustness"),
              CHESS + "; single-step L2 PGD of radius {adv_eps}",
              note="The paper gives no radius; the book's is smaller than the clusters' spread. The claims of "
                   "section 5.1 (dimples about 2ε deeper, clinging unchanged, harder to train and less accurate) "
                   "are tested here."),
    PaperItem("dmm", "Figure 5", "full", ("fig-cling-2d", "fig-cling-3d", "sec-cling-phases"),
              (f"{CH}.cling_fast_line", f"{CH}.labels_after_line", f"{CH}.cling_fast_chessboard",
               f"{CH}.labels_after_chessboard", f"{CH}.two_phases_everywhere"),
              "line: {n_line} points; chessboard: {cells} × {cells} cells of {per_cell} points; " + TOY,
              note="(a) uses the line x₂ = 0.5 of appendix E.1 and the authors' animation, not section 6's diagonal."),
    PaperItem("dmm", "Figure 24", "full", ("sec-cling-grad", "fig-cling-grad"),
              (f"{CH}.gradient_perpendicular_line", f"{CH}.gradient_perpendicular_chessboard",
               f"{CH}.normal_gradient_grows_line", f"{CH}.normal_gradient_grows_chessboard"),
              "line and chessboard; " + TOY),
    PaperItem("dmm", "Appendix C", "full", ("sec-cling-lr",), (f"{CH}.lr_as_stated_fails",),
              "every reading of appendix C at its learning rate, {lr_seeds} seeds each",
              note="Appendix C read as stated does not train; the chapter uses the reading that does, and repeats "
                   "its claims under the others."),
    PaperItem("dmm", "Appendix E", "partial", ("sec-cling-grad",),
              (f"{CH}.gradient_perpendicular_line", f"{CH}.gradient_perpendicular_chessboard"),
              "line and chessboard; " + TOY,
              note="E.1, the low-dimensional experiments (figure 24); E.2 and E.3 are in the chapter on and off the "
                   "manifold."),
    PaperItem("dmm", "Appendix A", "partial", ("sec-cling-noise", "fig-cling-trainings"),
              (f"{CH}.noise_deepens_dimples", f"{CH}.noise_buys_robustness"),
              CHESS + "; random noise and single-step L2 PGD of radius {adv_eps}",
              note="The random-noise paragraph (Fawzi et al.): training with noise of the adversarial radius against "
                   "clean and adversarial training, on the synthetic chessboard only (MNIST not run); the other "
                   "models of appendix A are in the chapters on relabelling, boundary tilting and the spheres."),
]
