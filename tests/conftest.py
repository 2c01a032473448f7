import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# `make test` sets these; a plain `pytest` from the repository gets the same defaults.
if "DMM_DATA" not in os.environ and (ROOT.parent / "shared" / "data").exists():
    os.environ["DMM_DATA"] = str(ROOT.parent / "shared" / "data")
os.environ.setdefault("DMM_CACHE", str(ROOT / ".cache"))
