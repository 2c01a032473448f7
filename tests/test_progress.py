"""Long loops inside a chapter show their progress in the terminal of the build."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import book  # noqa: E402

from dmmlib import progress as progress_mod  # noqa: E402


def test_bars_go_to_the_progress_file_and_are_echoed(tmp_path, monkeypatch, capsys):
    target = tmp_path / "progress.txt"
    monkeypatch.setenv("DMM_PROGRESS_FILE", str(target))
    monkeypatch.setenv("TQDM_DISABLE", "1")  # what the book tool sets for the notebook's own bars
    monkeypatch.setattr(progress_mod, "_FILES", {})
    echo = book.ProgressEcho(target, "demo", every=3600)
    echo.start()
    for _ in progress_mod.progress(range(50), desc="training", mininterval=0):
        pass
    echo.stop()
    text = target.read_text()
    assert "training" in text and "50/50" in text
    err = capsys.readouterr().err
    assert "[book] demo: training" in err and "50/50" in err


def test_without_the_file_it_is_tqdm_auto(monkeypatch):
    monkeypatch.delenv("DMM_PROGRESS_FILE", raising=False)
    from tqdm.auto import tqdm

    bar = progress_mod.progress(range(3), disable=True)
    assert isinstance(bar, tqdm)
