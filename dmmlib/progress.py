"""Progress bars that reach the reader wherever the work runs.

:func:`progress` is ``tqdm`` with one difference: when ``tools/book.py`` executes a chapter
with papermill it sets ``DMM_PROGRESS_FILE``, and the bars are then written (plain text,
at most every few seconds) to that file, which the tool echoes to the terminal while the
chapter runs. The kernel's own standard streams go into the notebook, not the terminal,
so this is how a long loop inside a cell shows its progress to whoever started the build.
Elsewhere (Jupyter, a script) it is ``tqdm.auto.tqdm``.
"""
from __future__ import annotations

import os
from typing import IO

_FILES: dict[str, IO[str]] = {}


def progress(iterable=None, **kwargs):
    """``tqdm(iterable, **kwargs)``, written to ``$DMM_PROGRESS_FILE`` when it is set."""
    target = os.environ.get("DMM_PROGRESS_FILE")
    if not target:
        from tqdm.auto import tqdm

        return tqdm(iterable, **kwargs)
    from tqdm.std import tqdm

    if target not in _FILES:
        _FILES[target] = open(target, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 (kept for the process)
    kwargs.setdefault("disable", False)  # TQDM_DISABLE hides the notebook's bars, not these
    kwargs.setdefault("mininterval", 5.0)
    return tqdm(iterable, file=_FILES[target], ascii=True, dynamic_ncols=False, ncols=100, **kwargs)
