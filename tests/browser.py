"""Headless Chromium for the tests that look at pages as a person sees them.

Needs Debian's ``chromium`` package (``apt-get install -y chromium``; ``.ci/run`` installs it) or
``PATHLIFT_CHROMIUM`` pointing at a Chromium binary. Outside CI a test skips when Chromium is
absent; with ``CI`` set it fails instead. Pages are loaded with ``--dump-dom`` (the DOM after the
page's scripts ran) or ``--screenshot``; ``--virtual-time-budget`` lets a single-page application
(the MLflow UI) fetch and render its data before the dump.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

__all__ = ["FLAGS", "chromium", "keep_screenshot", "run_chromium"]

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def chromium() -> str:
    """The Chromium binary; skips the test when there is none (fails under ``CI``)."""
    candidates = [os.environ.get("PATHLIFT_CHROMIUM"), "/usr/bin/chromium"]
    candidates += [shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")]
    for path in candidates:
        if path and Path(path).exists():
            return path
    if os.environ.get("CI"):
        pytest.fail("Chromium not found but CI is set: CI must `apt-get install -y chromium`")
    pytest.skip("Chromium not installed (apt-get install -y chromium); browser test skipped")


def run_chromium(
    args: list[str], tmp_path: Path, *, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium with a fresh profile under ``tmp_path``."""
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def keep_screenshot(shot: Path, name: str) -> None:
    """Copy ``shot`` to ``$PATHLIFT_SCREENSHOT_DIR/name`` when that variable is set."""
    keep = os.environ.get("PATHLIFT_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / name)
