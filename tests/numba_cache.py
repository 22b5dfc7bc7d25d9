"""Run a script in a fresh interpreter where numba has no writable cache location."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

#: Under /proc nothing can be created, so numba finds no cache directory there.
_UNWRITABLE = "/proc/no-such-dir/cache"


def run_without_numba_cache(module_file: str, copy_as: str, script: str, cwd: Path) -> str:
    """Copy ``module_file`` to ``cwd/copy_as`` and run ``script`` there with no numba cache.

    The copy's own ``__pycache__`` is blocked by a file of that name, and numba's user cache
    directory (``NUMBA_CACHE_DIR``, ``HOME``, ``XDG_CACHE_HOME``) points under ``/proc``.
    Fails the calling test with the script's stderr if it exits non-zero; returns its stdout.
    """
    shutil.copy(module_file, cwd / copy_as)
    (cwd / "__pycache__").write_text("a file where numba wants its cache directory")
    env = dict(
        os.environ,
        PYTHONPATH=str(cwd),
        NUMBA_CACHE_DIR=_UNWRITABLE,
        HOME=_UNWRITABLE,
        XDG_CACHE_HOME=_UNWRITABLE,
    )
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout
