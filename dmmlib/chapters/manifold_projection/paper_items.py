"""The items this chapter answers (the map of the papers: :mod:`dmmlib.paper_map`): the reading
notes' question whether projecting onto the manifold defends, one of the book's own extensions."""
from dmmlib.paper_map import PaperItem

CH = "manifold_projection"


def scale(P) -> str:
    return (f"{', '.join(P['datasets'])}: the shared classifiers and autoencoders ({P['models_profile']} profile), "
            f"the minimal-norm attack plain, non-adaptive, adaptive and on the manifold")


ITEMS = [
    PaperItem("notes", "Projection onto the manifold", "full",
              ("proj-distances", "proj-masking", "proj-on-manifold", "proj-detection", "fig-proj-distances",
               "fig-proj-roc"),
              tuple(f"{CH}.{q}_{ds}" for q in ("robust", "on_manifold", "detect") for ds in ("mnist", "cifar10")),
              scale,
              note="The classifiers are not retrained on reconstructions: on CIFAR-10 the defence costs too much "
                   "accuracy at quick for its claims to be tested."),
]
