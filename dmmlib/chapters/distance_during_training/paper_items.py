"""The items of the papers this chapter reproduces (the map of the papers: :mod:`dmmlib.paper_map`)."""
from dmmlib.paper_map import PaperItem

CH = "distance_during_training"


def scale(P) -> str:
    cifar = P["cifar_train_size"] or "all 50,000"
    mnist = P["mnist_train_size"] or "all 60,000"
    return (f"CIFAR-10: {P['cifar_arch']} on {cifar} training images, {P['cifar_epochs']} epochs, distances from "
            f"{P['cifar_images']} test images; MNIST (the book's extension): the appendix G.1 MLP on {mnist} digits, "
            f"{P['mnist_epochs']} epochs, {P['mnist_images']} test digits; {P['seeds']} seeds per optimiser, "
            f"{P['checkpoints']} checkpoints")


ITEMS = [
    PaperItem("dmm", "Figure 6", "full", ("ddt-curves", "ddt-phases"),
              (f"{CH}.cifar_distance_decreases", f"{CH}.cifar_two_phase", f"{CH}.cifar_alt_two_phase",
               f"{CH}.mnist_distance_decreases", f"{CH}.mnist_two_phase"), scale,
              note="The paper's ResNet-50 on all of CIFAR-10 under the paper profile; quick trains a small network on "
                   "a subset. The optimiser and schedule are the book's assumption: the paper gives none."),
]
