"""Servers the tests start (``mlflow ui``, ``mlflow models serve``): start, wait, stop for good.

A server runs in a session of its own, so that stopping it stops every process it started:
``mlflow ui`` starts uvicorn workers and job consumers that outlive a plain ``SIGTERM`` to the
parent. :func:`stop` sends ``SIGTERM`` to the whole process group, waits, then ``SIGKILL``s
whatever is left of the group.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["free_port", "start", "stop", "wait_until_up"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(
    argv: Sequence[str], *, log: Path, cwd: Path, env: Mapping[str, str]
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new session, its output in ``log``."""
    with log.open("wb") as sink:
        return subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_until_up(
    process: subprocess.Popen[bytes], url: str, *, log: Path, timeout: float = 240.0
) -> None:
    """Wait until ``url`` answers 200; raise ``AssertionError`` with the log if it never does.

    The timeout is generous: a loaded 2-core machine starts MLflow's servers slowly.
    """
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise AssertionError(f"the server exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not answer:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server and every process of its session."""
    group = process.pid  # the session leader's pid is the group id
    try:
        os.killpg(group, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
