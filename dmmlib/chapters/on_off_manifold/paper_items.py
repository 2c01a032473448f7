"""The items of the papers this chapter reproduces (the map of the papers: :mod:`dmmlib.paper_map`)."""
from dmmlib.paper_map import PaperItem

CH = "on_off_manifold"
UNITS = ("MNIST: {models[mnist]} model units × {n_images[mnist]} test digits; CIFAR-10 (airplanes and cars): "
         "{models[cifar10]} units × {n_images[cifar10]} images")
TABLE1 = UNITS + "; L2 PGD, {t1_steps} steps"
TABLE2 = UNITS + "; on/off-manifold PGD, {t2_steps} steps (on-manifold step × {on_step_factor})"
SHOWN = "model unit 0, the first {n_show} attacked test images of each data set"
PICKED = "Drawn for the first test images of model unit 0, not the paper's chosen image"
PROJ = ("fig-oom-proj-mnist", "fig-oom-gallery-mnist")
PROJ_CIFAR = ("fig-oom-proj-cifar10", "fig-oom-gallery-cifar10")
E = (f"{CH}.E_mnist", f"{CH}.E_cifar10")
# the sections and claims that tables 1 and 2 and appendices E and F share
T2_SECTIONS = ("oom-table2", "oom-stepsize", "oom-clamp")
PROTOCOL = (f"{CH}.step_free_mnist", f"{CH}.step_free_cifar10", f"{CH}.clamp_mnist", f"{CH}.clamp_cifar10")
OFF_CLOSE = (f"{CH}.off_close_mnist", f"{CH}.off_close_cifar10")
# appendix B.1 measured (issue 26, items 5 and 6)
B1 = tuple(f"{CH}.b1_{q}_{ds}" for ds in ("mnist", "cifar10") for q in ("off", "on", "meaningful", "meaningful_random"))


def _mnist(pair: str) -> str:
    return f"{PICKED} ({pair}): PGD chooses its own target class."


def _cifar(pair: str) -> str:
    return (f"{PICKED} ({pair}): an airplane or car (the autoencoder's two classes), and PGD chooses its own "
            "target class.")


ITEMS = [
    PaperItem("dmm", "Figure 7", "partial", ("fig-oom-proj-mnist", "fig-oom-proj-cifar10"), E, SHOWN,
              note=f"{PICKED}s (MNIST 8 → 2, CIFAR-10 plane → ship): PGD chooses its own target class."),
    PaperItem("dmm", "Figure 8", "partial", ("fig-oom-sep-cifar10", "oom-table2"), (f"{CH}.off_close_cifar10",), SHOWN,
              note=_cifar("plane → bird")),
    PaperItem("dmm", "Figure 9", "partial", PROJ, (f"{CH}.E_mnist",), SHOWN, note=_mnist("9 → 7")),
    PaperItem("dmm", "Figure 10", "partial", PROJ, (f"{CH}.E_mnist",), SHOWN, note=_mnist("2 → 3")),
    PaperItem("dmm", "Figure 11", "partial", PROJ, (f"{CH}.E_mnist",), SHOWN, note=_mnist("6 → 0")),
    PaperItem("dmm", "Figure 12", "partial", PROJ, (f"{CH}.E_mnist",), SHOWN, note=_mnist("8 → 1")),
    PaperItem("dmm", "Figure 13", "partial", PROJ_CIFAR, (f"{CH}.E_cifar10",), SHOWN, note=_cifar("plane → bird")),
    PaperItem("dmm", "Figure 14", "partial", PROJ_CIFAR, (f"{CH}.E_cifar10",), SHOWN, note=_cifar("plane → ship")),
    PaperItem("dmm", "Figure 15", "partial", PROJ_CIFAR, (f"{CH}.E_cifar10",), SHOWN, note=_cifar("plane → bird")),
    PaperItem("dmm", "Figure 16", "partial", PROJ_CIFAR, (f"{CH}.E_cifar10",), SHOWN, note=_cifar("plane → ship")),
    PaperItem("dmm", "Figure 18", "partial", ("fig-oom-sep-mnist",), (f"{CH}.off_close_mnist",), SHOWN,
              note=_mnist("7 → 9")),
    PaperItem("dmm", "Figure 19", "partial", ("fig-oom-sep-mnist",), (f"{CH}.off_close_mnist",), SHOWN,
              note=_mnist("7 → 1")),
    PaperItem("dmm", "Figure 20", "partial", ("fig-oom-sep-mnist",), (f"{CH}.off_close_mnist",), SHOWN,
              note=_mnist("1 → 8")),
    PaperItem("dmm", "Figure 21", "partial", ("fig-oom-sep-cifar10",), (f"{CH}.off_close_cifar10",), SHOWN,
              note=_cifar("plane → bird")),
    PaperItem("dmm", "Figure 26", "partial", ("fig-oom-linf-mnist", "fig-oom-linf-cifar10"), (),
              SHOWN + "; L-inf radius {linf_eps}",
              note="Greedy L-inf PGD beside L2 PGD on MNIST and CIFAR-10 images, not on an ImageNet image."),
    PaperItem("dmm", "Figure 28", "partial", ("fig-oom-linf-mnist", "fig-oom-linf-cifar10"), (), SHOWN,
              note="L2 PGD on MNIST and CIFAR-10 images, not on an ImageNet image."),
    PaperItem("dmm", "Table 1", "partial", ("oom-table1", "oom-controls"),
              (f"{CH}.R_paper_mnist", f"{CH}.R_mnist", f"{CH}.E_mnist", f"{CH}.R_paper_cifar10", f"{CH}.R_cifar10",
               f"{CH}.E_cifar10"), TABLE1,
              note="The MNIST and CIFAR-10 rows, with a random-subspace control; no ImageNet row. CIFAR-10 uses a "
                   "pretrained ResNet-20, not the paper's 7-layer CNN."),
    PaperItem("dmm", "Table 2", "partial", T2_SECTIONS, OFF_CLOSE + PROTOCOL, TABLE2,
              note="The MNIST and CIFAR-10 rows, with a step-size-free minimal-norm attack beside PGD; no ImageNet row."),
    PaperItem("dmm", "Appendix A", "partial", ("oom-robust",),
              (f"{CH}.robust_R_mnist", f"{CH}.robust_R_specific_mnist", f"{CH}.robust_on_mnist"),
              "MNIST: {robust_models} L2-adversarially trained classifiers (radius {robust_eps}, {robust_epochs} "
              "epochs), {robust_n_images} test digits each",
              note="The Tsipras et al. link only (robust models' perturbations move towards the manifold), on MNIST."),
    PaperItem("dmm", "Appendix B", "partial", ("fig-oom-proj-mnist", "fig-oom-gallery-mnist", "fig-oom-sep-mnist",
                                               "oom-b1", "fig-oom-b1-mnist", "fig-oom-b1-cifar10"),
              E + OFF_CLOSE + B1, SHOWN + "; B.1 measured: " + UNITS + ", every image whose table-1 attack succeeded",
              note="B.1 and B.2 on MNIST and CIFAR-10 test images of the book's choosing; B.1's three sentences "
                   "measured over all of table 1's images, against a random subspace and, for 'visually meaningful', "
                   "on a separately trained classifier. B.3 (ImageNet) runs only where ImageNet and ResNet-50 "
                   "weights are present (figures fig-oom-proj-imagenet, fig-oom-sep-imagenet)."),
    PaperItem("dmm", "Appendix E", "partial", ("oom-table1", "oom-table2"),
              (f"{CH}.R_mnist", f"{CH}.E_mnist", f"{CH}.off_close_mnist", f"{CH}.R_cifar10", f"{CH}.E_cifar10",
               f"{CH}.off_close_cifar10"), UNITS,
              note="E.2 and E.3 for MNIST and CIFAR-10 (tables 1 and 2), without ImageNet; E.1 is in the chapter "
                   "on clinging and dimpling."),
    PaperItem("dmm", "Appendix F", "partial", T2_SECTIONS, PROTOCOL,
              "radii {t2_eps}, steps {t2_step} (× {on_step_factor} on the manifold), {t2_steps} steps",
              note="The attacks as appendix F states them, run on MNIST and CIFAR-10; ImageNet's settings are in the "
                   "profile but not run."),
    PaperItem("dmm", "Appendix H", "partial", ("fig-oom-linf-mnist", "fig-oom-linf-cifar10"), (),
              SHOWN + "; L-inf radius {linf_eps}",
              note="L2 against L-inf PGD on MNIST and CIFAR-10 images; the paper's figures are ImageNet (26, 28) or "
                   "other papers' images (25, 27)."),
]
