"""The items of the papers this chapter reproduces (the map of the papers: :mod:`dmmlib.paper_map`)."""
from dmmlib.paper_map import PaperItem

CH = "local_manifolds"
MODELS = "{models} MNIST classifiers and {autoencoders} autoencoders per data set (the shared models' profile)"
TANGENT = "exact tangent spaces at {n_tangent} MNIST and {n_tangent_cifar} CIFAR-10 test images per seed, {seeds} seeds"

ITEMS = [
    PaperItem("dmm", "Table 1", "partial", ("lm-random-ratio",), (f"{CH}.sqrt_nk_mnist", f"{CH}.sqrt_nk_cifar"),
              TANGENT + "; {n_random} random vectors each",
              note="Its column R̄ = √(n/k), for MNIST and CIFAR-10; the measured columns are in the chapter on and "
                   "off the manifold."),
    PaperItem("dmm", "Appendix D", "partial", ("lm-models", "lm-fd"), (f"{CH}.fd_effect_mnist", f"{CH}.fd_effect_cifar"),
              TANGENT + "; finite-difference steps {fd_eps}",
              note="D.1 and D.2 for MNIST (k = 16) and CIFAR-10 (k = 128), with the book's own autoencoders (not "
                   "Atzmon et al.'s or the VGG-16 one); the ImageNet autoencoder of D.3 (k = 3584) is not trained."),
    PaperItem("dmm", "Appendix G", "partial", ("lm-models", "lm-reconstruction"), (), MODELS,
              note="G.1's MLP as stated (fewer epochs, with momentum); G.2's 7-layer CNN replaced by a pretrained "
                   "ResNet-20 and its VGG-16 autoencoder by a smaller convolutional one; G.3 (ImageNet) not done. "
                   "Accuracy and reconstruction are setup checks, not claims."),
    PaperItem("dmm", "Appendix I", "full", ("lm-random-ratio",), (f"{CH}.sqrt_nk_mnist", f"{CH}.sqrt_nk_cifar"),
              TANGENT + "; {n_random} random vectors each",
              note="Checked by sampling on the exact tangent spaces of MNIST and CIFAR-10; for ImageNet the paper's "
                   "√(n/k) is arithmetic only."),
]
