"""The items this chapter answers (the map of the papers: :mod:`dmmlib.paper_map`): the reading
notes' question whether the DMM's story is only that k << n, one of the book's own extensions."""
from dmmlib.paper_map import PaperItem

CH = "redundant_dimensions"
QUANTITIES = ("free", "on", "off", "gap", "grad")

ITEMS = [
    PaperItem("notes", "Redundant dimensions", "full",
              ("sec-rd-predictions", "fig-rd-synthetic", "fig-rd-mnist", "fig-rd-exponents"),
              tuple(f"{CH}.{g}_{q}" for g in ("linear", "curved", "mnist") for q in QUANTITIES),
              "a {k}-d manifold (flat and curved) in n = {ns}, {seeds} seeds; MNIST embedded by {mnist_embedding} "
              "at factors {mnist_factors} ({mnist_images} digits)",
              note="Gilmer et al.'s bound read with d = n (and, in the text, d = k); the linear model's prediction is "
                   "a formula, not a trained linear control."),
]
