"""The main commands as a user waits for them, for several revisions side by side in one run.

For a refactoring ("behaviour unchanged, no slowdown"): each revision is checked out in a
temporary git worktree and put first on ``PYTHONPATH`` of each child process (the same
interpreter and dependencies for all), and every command runs as a whole process, the
revisions alternating, ``--repeat`` times. Wall time is taken around the child; CPU time and
peak memory are the child's own (:func:`bench_startup.run_process`). The table gives the best
and median wall time of each revision and their ratio to the first revision.

Data, written once with this checkout's ``pathlift simulate`` (seed 0): ``--users`` simulated
users (event log and path table), and the Hillstrom e-mail RCT from ``../shared/data``.

Run: ``.venv/bin/python benchmarks/bench_versions.py --rev 75fe484 --rev HEAD [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench_startup import PATHLIFT, ROOT, machine_line, run_process, summarise

HILLSTROM = ROOT.parent / "shared" / "data" / "hillstrom.csv"
FEATURES = "recency,history_segment,history,mens,womens,zip_code,newbie,channel"


def commands(data: Path, out: Path) -> dict[str, list[str]]:
    """The commands timed: name -> arguments after ``pathlift`` (outputs go under ``out``)."""
    return {
        "pathlift --help": ["--help"],
        "attribute paths.csv -m markov (default: 95% bootstrap intervals)": [
            "attribute", str(data / "paths.csv"), "-m", "markov", "--no-track",
            "--format", "json", "-o", str(out / "markov.json"),
        ],
        "attribute events.parquet --events -m last_touch -m shapley --bootstrap 0": [
            "attribute", str(data / "events.parquet"), "--events", "-m", "last_touch",
            "-m", "shapley", "--bootstrap", "0", "--no-track",
            "--format", "json", "-o", str(out / "shapley.json"),
        ],
        "uplift train hillstrom.csv --learner t": [
            "uplift", "train", str(HILLSTROM), "--treatment-col", "segment",
            "--control", "No E-Mail", "--outcome-col", "visit", "--learner", "t",
            "--feature-cols", FEATURES, "--model-dir", str(out / "model"), "--no-track",
        ],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", action="append", required=True, help="A git revision (repeat).")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--users", type=int, default=200_000)
    args = parser.parse_args()
    if not HILLSTROM.exists():
        raise SystemExit(f"{HILLSTROM} is missing (the Hillstrom data of ../shared/data)")
    with tempfile.TemporaryDirectory(prefix="pathlift-versions-") as tmp:
        base = Path(tmp)
        data = base / "data"
        made = run_process(
            [str(PATHLIFT), "simulate", str(data), "--users", str(args.users), "--seed", "0"]
        )
        trees: dict[str, Path] = {}
        try:
            for rev in args.rev:
                sha = subprocess.run(
                    ["git", "-C", str(ROOT), "rev-parse", "--short", rev],
                    capture_output=True, text=True, check=True,
                ).stdout.strip()  # fmt: skip
                tree = base / f"tree-{sha}"
                subprocess.run(
                    ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), sha],
                    capture_output=True, check=True,
                )  # fmt: skip
                trees[f"{rev} ({sha})"] = tree
            runs: dict[tuple[str, str], list[dict[str, float]]] = {}
            for _ in range(args.repeat):
                for label, tree in trees.items():
                    out = base / "out"
                    shutil.rmtree(out, ignore_errors=True)
                    out.mkdir()
                    for name, argv in commands(data, out).items():
                        runs.setdefault((name, label), []).append(
                            run_process([str(PATHLIFT), *argv], code=tree)
                        )
        finally:
            for tree in trees.values():
                subprocess.run(
                    ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                    capture_output=True,
                )  # fmt: skip
    print(f"# The main commands by revision ({time.strftime('%Y-%m-%d')})")
    print(machine_line())
    print(
        f"data: pathlift simulate --users {args.users:,} --seed 0 ({made['seconds']:.1f} s), "
        f"Hillstrom ({HILLSTROM.name}); {args.repeat} whole processes per command and revision, "
        "the revisions alternating\n"
    )
    labels = list(trees)
    head = " | ".join(f"{label}: wall s best / median, peak MB" for label in labels)
    ratios = " | ".join(f"{label} / {labels[0]}, best / median" for label in labels[1:])
    print(f"| command | {head} | {ratios} |")
    print("|---|" + "---|" * (2 * len(labels) - 1))
    for name in commands(data, data):
        stats = [summarise(runs[(name, label)]) for label in labels]
        cells = [f"{s['best']:.2f} / {s['median']:.2f}, {s['peak_mb']:.0f}" for s in stats]
        cells += [
            f"{s['best'] / stats[0]['best']:.2f} / {s['median'] / stats[0]['median']:.2f}"
            for s in stats[1:]
        ]
        print(f"| `{name}` | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
