"""Where tensors live and how randomness is fixed."""
import os
import random

import numpy as np
import torch


def get_device() -> torch.device:
    """CUDA when available (and not disabled by ``DMM_DEVICE=cpu``), else CPU."""
    wanted = os.environ.get("DMM_DEVICE", "").lower()
    if wanted == "cpu":
        return torch.device("cpu")
    if wanted and wanted != "cuda":
        raise ValueError(f"DMM_DEVICE must be 'cpu' or 'cuda', got {wanted!r}")
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (CPU and CUDA); return a CPU generator seeded the same.

    Results that depend only on this seed and on the inputs are reproducible run to run
    on the same device (tests check this for every chapter's kernels).
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    torch.manual_seed(int(seed))
    return torch.Generator().manual_seed(int(seed))
