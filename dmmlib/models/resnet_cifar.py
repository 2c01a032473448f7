"""The "option A" CIFAR-10 ResNet of He et al. (2016), matching the pretrained weights in
``$DMM_DATA/cifar10-resnet/`` (akamaster's ``pytorch_resnet_cifar10``; ResNet-20: 91.7 %).

A 3x3 conv with 16 channels, three stages of n basic blocks (16, 32, 64 channels; stride 2 at
the start of stages 2 and 3) whose shortcuts subsample and zero-pad channels (no parameters),
batch norm after every conv, global average pooling and a linear layer to 10 classes; depth
= 6n + 2. The input normalisation is inside the model, so it takes images in [0, 1].
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dmmlib.data.paths import data_dir, require

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
WEIGHTS = {20: "resnet20-12fca82f.th", 56: "resnet56-4bfd9763.th"}


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.pad = (cout - cin) // 2 if (stride != 1 or cin != cout) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.pad is None else F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))
        return F.relu(out + shortcut)


class CifarResNet(nn.Module):
    """Option-A ResNet of ``depth`` (20, 32, 44, 56, ...): images (B, 3, 32, 32) in [0, 1] -> logits (B, 10)."""

    def __init__(self, depth: int = 20, n_classes: int = 10):
        super().__init__()
        if depth < 8 or (depth - 2) % 6:
            raise ValueError(f"depth must be 6n+2 (20, 32, 44, 56, 110), got {depth}")
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = self._stage(16, 16, n, 1)
        self.layer2 = self._stage(16, 32, n, 2)
        self.layer3 = self._stage(32, 64, n, 2)
        self.linear = nn.Linear(64, n_classes)
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1), persistent=False)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)

    @staticmethod
    def _stage(cin: int, cout: int, n: int, stride: int) -> nn.Sequential:
        return nn.Sequential(*[BasicBlock(cin if i == 0 else cout, cout, stride if i == 0 else 1) for i in range(n)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1:] != (3, 32, 32):
            raise ValueError(f"CifarResNet expects images (B, 3, 32, 32) in [0, 1], got {tuple(x.shape)}")
        out = F.relu(self.bn1(self.conv1((x - self.mean) / self.std)))
        out = self.layer3(self.layer2(self.layer1(out)))
        return self.linear(F.adaptive_avg_pool2d(out, 1).flatten(1))


def load_pretrained(depth: int = 20) -> CifarResNet:
    """The pretrained ResNet-``depth`` (20 or 56) from ``$DMM_DATA/cifar10-resnet``, in eval mode on the CPU.

    Loads with ``strict=True`` after stripping the ``module.`` prefix (saved from DataParallel).
    ``model.checkpoint_accuracy`` is the test accuracy (%) the checkpoint records (``best_prec1``).
    """
    if depth not in WEIGHTS:
        raise ValueError(f"pretrained weights exist for depth 20 and 56, got {depth}")
    path = require(
        data_dir() / "cifar10-resnet" / WEIGHTS[depth],
        f"pretrained CIFAR-10 ResNet-{depth} weights",
        "Point DMM_DATA at the shared data folder, or download them from the akamaster/pytorch_resnet_cifar10 repository.",
    )
    blob = torch.load(path, map_location="cpu", weights_only=True)  # data only: no code runs
    state = blob.get("state_dict", blob)
    state = {k.removeprefix("module."): v for k, v in state.items()}
    model = CifarResNet(depth)
    model.load_state_dict(state, strict=True)
    model.checkpoint_accuracy = float(blob["best_prec1"]) if "best_prec1" in blob else float("nan")
    return model.eval()
