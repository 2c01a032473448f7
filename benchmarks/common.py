"""What every benchmark shares: the hardware it ran on, and how its results are written."""
from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import torch


def hardware(device: torch.device | None = None) -> str:
    """CPU model (from /proc/cpuinfo), logical cores, torch version and threads, GPU name if used."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    text = f"{cpu}, {os.cpu_count()} logical cores, torch {torch.__version__}, {torch.get_num_threads()} thread(s)"
    if device is not None and device.type == "cuda":
        text += f", GPU {torch.cuda.get_device_name(device)}"
    return text


def write_results(out: Path, result: dict, markdown: str) -> None:
    """Write ``result`` to ``out``.json and ``markdown`` to ``out``.md, each atomically."""
    from dmmlib.cache import atomic_write_bytes

    out = Path(out)
    atomic_write_bytes(out.with_suffix(".json"), (json.dumps(result, indent=1, default=str) + "\n").encode())
    atomic_write_bytes(out.with_suffix(".md"), (markdown.rstrip("\n") + "\n").encode())
