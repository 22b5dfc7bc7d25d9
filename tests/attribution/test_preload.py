"""Modules imported on a background thread: the importer waits for them and sees their errors."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from attribution._lazy import preload


@pytest.fixture
def modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "slow_module.py").write_text(
        "import time\ntime.sleep(0.3)\nLOADED_BY = __import__('threading').current_thread().name\n"
    )
    (tmp_path / "broken_module.py").write_text("raise RuntimeError('broken on purpose')\n")
    for name in ("slow_module", "broken_module"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    return tmp_path


def test_preload_imports_on_another_thread_and_the_import_waits_for_it(modules: Path) -> None:
    preload("slow_module")
    import slow_module  # waits for the background import instead of running the module again

    assert slow_module.LOADED_BY == "preload slow_module"


def test_preload_of_an_imported_module_starts_no_thread(modules: Path) -> None:
    import slow_module

    before = threading.active_count()
    preload("slow_module")
    assert threading.active_count() == before
    assert slow_module.LOADED_BY == threading.main_thread().name


def test_an_error_of_the_background_import_is_raised_where_the_module_is_imported(
    modules: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    preload("broken_module")
    for thread in threading.enumerate():
        if thread.name == "preload broken_module":
            thread.join()
    assert "broken on purpose" not in capfd.readouterr().err  # nothing printed by the thread
    with pytest.raises(RuntimeError, match="broken on purpose"):
        import broken_module  # noqa: F401


def test_reading_a_path_table_loads_the_kernels_it_needs(tmp_path: Path) -> None:
    """A fresh interpreter: importing Journeys loads no numba; reading a path table does."""
    csv = tmp_path / "paths.csv"
    csv.write_text("path,total_conversions,total_null\nA > B,1,0\nB,0,1\nA,1,1\nA>B,2,0\n")
    script = f"""
        import sys
        from attribution.journeys import Journeys
        assert "numba" not in sys.modules and "attribution._kernels" not in sys.modules
        journeys = Journeys.from_paths({str(csv)!r})
        assert "attribution._kernels" in sys.modules
        assert journeys.channels == ("A", "B"), journeys.channels
        assert journeys.n_paths == 3 and journeys.conversions.tolist() == [3, 0, 1]
        print("ok")
        """
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
