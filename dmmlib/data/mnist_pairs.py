"""Two MNIST digits as a binary problem, with a stated, seeded train/test split.

Two sources, chosen by what :func:`dmmlib.data.mnist.load_mnist` provides:

- **The full training set** (60,000 digits; about 6,000 per digit): the training split is
  drawn from the pair's training digits only, and the test split is every official test
  digit of the pair (Tanay's setting: train on the training set, test on the test set).
  ``test_share`` plays no part.
- **The 5,000-digit offline subset** (500 per digit): too few for a linear classifier to
  reach its unregularised tilt, so the pool of each digit is its training digits plus part
  of its official test digits: a seeded random ``test_share`` of the pair's test digits is
  held out as the test split and never trained on; the rest join the training pool.

Either way the training split is class-balanced (each class subsampled, seeded, to the
smaller count, and to at most ``n_train_per_class`` when that is > 0); the test split keeps
its natural counts. ``DigitPair.full`` says which source was used.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from dmmlib.data.mnist import load_mnist

FULL_TRAIN_SIZE = 60_000


class DigitPair(NamedTuple):
    """A binary digit problem. ``x_*`` (N, 784) float32 in [0, 1] (flattened 28x28 images);
    ``y_*`` (N,) float32 in {-1, +1}: -1 for ``digits[0]``, +1 for ``digits[1]``.
    ``pool_per_class`` is how many training digits the smaller class had to draw from;
    ``full`` is True when they came from the full 60,000-digit training set."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    digits: tuple[int, int]
    description: str
    full: bool = False
    pool_per_class: int = 0


def digit_pair(
    a: int = 2,
    b: int = 3,
    *,
    test_share: float = 0.5,
    n_train_per_class: int = 0,
    seed: int = 0,
) -> DigitPair:
    """Digits ``a`` (label -1) vs ``b`` (label +1) with the split described in the module.

    ``n_train_per_class`` = 0 keeps all the (balanced) training digits; > 0 draws that many
    per class (seeded). The same ``seed`` gives the same split.
    """
    for name, d in (("a", a), ("b", b)):
        if not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= 9:
            raise ValueError(f"digit {name} must be an int in 0..9, got {d!r}")
    if a == b:
        raise ValueError(f"the two digits must differ, got {a} and {b}")
    if not 0.0 < test_share < 1.0:
        raise ValueError(f"test_share must be in (0, 1), got {test_share!r}")
    if not isinstance(n_train_per_class, int) or n_train_per_class < 0:
        raise ValueError(f"n_train_per_class must be an int >= 0 (0: all), got {n_train_per_class!r}")
    train, test = load_mnist("train"), load_mnist("test")
    full = len(train.y) >= FULL_TRAIN_SIZE
    gen = torch.Generator().manual_seed(int(seed))
    pools, held = [], []
    for digit in (a, b):
        t_idx = torch.nonzero(test.y == digit).flatten()
        t_idx = t_idx[torch.randperm(len(t_idx), generator=gen)]
        n_held = len(t_idx) if full else int(round(test_share * len(t_idx)))
        held.append(test.x[t_idx[:n_held]])
        pool = torch.cat([train.x[train.y == digit], test.x[t_idx[n_held:]]])
        pools.append(pool[torch.randperm(len(pool), generator=gen)])
    pool_n = min(len(p) for p in pools)
    n = min(pool_n, n_train_per_class) if n_train_per_class else pool_n
    x_train = torch.cat([p[:n] for p in pools]).flatten(1)
    y_train = torch.cat([-torch.ones(n), torch.ones(n)])
    x_test = torch.cat(held).flatten(1)
    y_test = torch.cat([-torch.ones(len(held[0])), torch.ones(len(held[1]))])
    drawn = f"a seeded subsample of {n} per class" if n < pool_n else f"{n} per class, all the smaller class has"
    if full:
        source = f"drawn from the pair's digits of '{train.source}' ({pool_n} in the smaller class)"
        test_text = f"all {len(x_test)} official test digits of the pair ({len(held[0])} {a}s, {len(held[1])} {b}s)"
    else:
        source = (f"drawn from '{train.source}' plus {100 * (1 - test_share):.0f}% of the pair's official test "
                  f"digits ({pool_n} in the smaller class)")
        test_text = (f"{len(x_test)} held-out test digits ({len(held[0])} {a}s, {len(held[1])} {b}s, the other "
                     f"{100 * test_share:.0f}%)")
    description = (f"MNIST {a} vs {b}: {len(x_train)} training digits ({drawn}, {source}), {test_text}, "
                   f"split seed {seed}")
    return DigitPair(x_train, y_train, x_test, y_test, (a, b), description, full, pool_n)
