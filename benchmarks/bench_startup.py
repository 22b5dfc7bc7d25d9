"""Start-up of the command line: ``pathlift --help`` and every sub-command's ``--help``.

Each measurement is a whole process, as a user waits for it: the ``pathlift`` console script of
this interpreter's environment is started, prints its help and exits. Wall time is taken around
the child; peak resident memory and CPU time are the child's own (``os.wait4``). Every command
is run ``--repeat`` times (default 5), interleaved with the other commands; the table gives the
best and the median wall time and the highest peak memory.

The code measured is the one on ``PYTHONPATH`` of each child: this checkout by default, and with
``--before DIR`` also the checkout in ``DIR`` (e.g. the main branch), side by side in one run.

Run: ``.venv/bin/python benchmarks/bench_startup.py [--before ../main] [--repeat 5]``.
:func:`run_process` is the whole-process measurement the other benchmarks use too
(``bench_markov.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATHLIFT = Path(sys.executable).parent / "pathlift"

#: targets of issue 14 for any ``--help``
TARGET_SECONDS = 0.3
TARGET_MB = 150

_LIST_COMMANDS = """
import json
import click
from experiments.cli import cli

def walk(command, path):
    yield path
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            yield from walk(command.commands[name], [*path, name])

print(json.dumps(list(walk(cli, []))))
"""


def run_process(
    cmd: Sequence[str], *, code: Path | None = None, stdout: int | None = subprocess.DEVNULL
) -> dict[str, float]:
    """Run ``cmd`` as a child process; return its wall seconds, CPU seconds and peak MB.

    ``code``: a checkout put first on the child's ``PYTHONPATH`` (the code measured). The wall
    time runs from just before the child is started to just after it is reaped; the peak
    resident memory (``ru_maxrss``) and the CPU time (user + system) are the child's own,
    read with ``os.wait4``. Raises ``RuntimeError`` with the child's standard error when it
    fails.
    """
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code), env.get("PYTHONPATH")]))
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=stdout, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {err.decode()[-2000:]}")
    return {
        "seconds": wall,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,
    }


def summarise(runs: list[dict[str, float]]) -> dict[str, float]:
    """Best and median wall seconds, median CPU seconds and highest peak MB of repeated runs."""
    walls = [r["seconds"] for r in runs]
    return {
        "best": min(walls),
        "median": statistics.median(walls),
        "cpu_median": statistics.median(r["cpu_seconds"] for r in runs),
        "peak_mb": max(r["peak_mb"] for r in runs),
    }


def machine_line() -> str:
    """Host, cores, Python version and the load average when the run starts."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load average {load:.2f} at the start"
    )


def list_commands(code: Path) -> list[list[str]]:
    """Every command path of the CLI in ``code`` (``[]`` is ``pathlift`` itself)."""
    env = dict(os.environ, PYTHONPATH=str(code))
    out = subprocess.run(
        [sys.executable, "-c", _LIST_COMMANDS], env=env, capture_output=True, text=True, check=True
    )
    commands: list[list[str]] = json.loads(out.stdout)
    return commands


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--before", type=Path, default=None, help="Also measure the checkout in this directory."
    )
    args = parser.parse_args()
    trees = {"this checkout": ROOT}
    if args.before is not None:
        trees = {"before": args.before.resolve(), "after": ROOT}
    commands = list_commands(ROOT)
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    for _ in range(args.repeat):
        for path in commands:
            for label, code in trees.items():
                cmd = [str(PATHLIFT), *path, "--help"]
                runs.setdefault((label, " ".join(path)), []).append(run_process(cmd, code=code))
    print(f"# CLI start-up benchmark ({time.strftime('%Y-%m-%d')})")
    print(machine_line())
    print(
        f"each command: {args.repeat} whole processes (`pathlift ... --help`), interleaved; "
        f"target <= {TARGET_SECONDS} s and <= {TARGET_MB} MB\n"
    )
    labels = list(trees)
    head = " | ".join(f"{label}: wall s best / median | {label}: peak MB" for label in labels)
    print(f"| command | {head} |")
    print("|---|" + "---|---|" * len(labels))
    worst = {label: {"best": 0.0, "median": 0.0, "peak_mb": 0.0} for label in labels}
    for path in commands:
        name = " ".join(["pathlift", *path, "--help"])
        cells = []
        for label in labels:
            s = summarise(runs[(label, " ".join(path))])
            for key in worst[label]:
                worst[label][key] = max(worst[label][key], s[key])
            cells.append(f"{s['best']:.3f} / {s['median']:.3f} | {s['peak_mb']:.0f}")
        print(f"| `{name}` | " + " | ".join(cells) + " |")
    for label in labels:
        w = worst[label]
        met = w["median"] <= TARGET_SECONDS and w["peak_mb"] <= TARGET_MB
        print(
            f"\n{label}: slowest command {w['best']:.3f} s best, {w['median']:.3f} s median; "
            f"highest peak {w['peak_mb']:.0f} MB; target {'met' if met else 'NOT met'} "
            "(median wall and peak memory of every command)"
        )


if __name__ == "__main__":
    main()
