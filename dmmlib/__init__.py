"""dmmlib: the library behind dmm-book.

Small, pure functions (tensors in, tensors out) for the experiments of the Dimpled
Manifold Model paper and the works around it. Modules, one idea each:

- ``dmmlib.params``   the values of each chapter's knobs under the profiles smoke | quick | paper
- ``dmmlib.cache``    the on-disk cache of trained models and expensive results
- ``dmmlib.device``   CUDA when available, else CPU; seeding
- ``dmmlib.data``     synthetic manifolds, spheres, MNIST / CIFAR-10 / ImageNet loaders
- ``dmmlib.models``   the networks of the papers
- ``dmmlib.attacks``  PGD (on/off-manifold), minimal-norm distances
- ``dmmlib.manifold`` local tangent spaces of decoders, projections
"""
from dmmlib.device import get_device, seed_everything

__all__ = ["get_device", "seed_everything"]
__version__ = "0.1.0"
