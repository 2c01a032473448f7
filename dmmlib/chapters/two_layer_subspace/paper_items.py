"""The items of the papers this chapter tests (the map of the papers: :mod:`dmmlib.paper_map`):
the three claims of Melamed, Yehudai and Vardi's abstract, one of the book's own extensions."""
from dmmlib.paper_map import PaperItem

CH = "two_layer_subspace"

SCALE = ("data on a {k_base}-d subspace of R^{n_base}, two-layer ReLU networks of width {width}, {seeds} seeds per "
         "setting; sweeps of the initialisation scale {init_scales}, the weight decay {weight_decays}, n {n_values} "
         "and k {k_values}")

ITEMS = [
    PaperItem("melamed", "Orthogonal gradients", "full", ("tls-gradient", "fig-two-layer-gradients"),
              (f"{CH}.orthogonal_gradient",), SCALE,
              note="Against a random direction's ratio as the control; the paper's theorems give bounds, not numbers."),
    PaperItem("melamed", "Orthogonal perturbations", "full", ("tls-distance", "fig-two-layer-distance"),
              (f"{CH}.off_vs_on", f"{CH}.off_vs_data"), SCALE,
              note="The architecture and stopping rule of the authors' public code; the theorems' setting may differ."),
    PaperItem("melamed", "Initialisation and regularisation", "full", ("tls-trends", "fig-two-layer-trends"),
              (f"{CH}.init_trend", f"{CH}.weight_decay_trend"), SCALE),
]
