"""``pathlift --help`` and every sub-command's ``--help`` load no heavy library.

Each check runs in a fresh interpreter, because the test session itself has imported
everything by the time this runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

#: top-level packages that ``--help`` must not import (each costs 0.1-1 s or tens of MB)
HEAVY = (
    "causalml",
    "duckdb",
    "lightgbm",
    "matplotlib",
    "mlflow",
    "numba",
    "numpy",
    "pandas",
    "pyarrow",
    "pyspark",
    "scipy",
    "sklearn",
)

COMMANDS = {"attribute", "demo", "plan-tests", "report", "retrain", "simulate", "uplift"}

_PYTHONPATH = os.environ.get("PYTHONPATH")


def _run(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), _PYTHONPATH]))),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


_HELP_EVERYWHERE = """
    import json, sys
    import click
    from click.testing import CliRunner
    from experiments.cli import cli

    def walk(command, path):
        yield path
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from walk(sub, [*path, name])

    runner = CliRunner()
    helps = {}
    for path in walk(cli, []):
        result = runner.invoke(cli, [*path, "--help"])
        helps[" ".join(path)] = [result.exit_code, result.output]
    print(json.dumps({"help": helps, "modules": sorted(sys.modules)}))
"""


def test_help_of_every_command_imports_no_heavy_library():
    proc = _run(_HELP_EVERYWHERE)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    helps = out["help"]
    # the top level, the commands and the five uplift sub-commands
    assert set(helps) == {
        "",
        *COMMANDS,
        "uplift train",
        "uplift evaluate",
        "uplift target",
        "uplift curve",
        "uplift score",
    }
    for path, (code, text) in helps.items():
        assert code == 0, (path, text)
        assert text.startswith(f"Usage: cli {path}".rstrip()), (path, text)
    assert "--learner [s|t|x|r|dr|uplift_rf|auto]" in helps["uplift train"][1]
    assert "Default: first_touch, last_touch, linear, position_based, markov." in " ".join(
        helps["report"][1].split()
    )
    assert "3  kept:" in helps["retrain"][1] and "4  skipped:" in helps["retrain"][1]
    loaded = {name.split(".")[0] for name in out["modules"]}
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    assert "attribution._kernels" not in out["modules"]


def test_every_command_is_registered():
    from experiments.cli import cli

    assert set(cli.commands) == COMMANDS


def test_a_sub_command_that_fails_to_import_is_an_error_not_a_missing_command():
    # None in sys.modules makes the import raise ModuleNotFoundError for that very module,
    # which is what a missing or renamed sub-command module raises
    proc = _run(
        """
        import sys
        sys.modules["experiments.cli.demo"] = None
        import experiments.cli
        """
    )
    assert proc.returncode != 0
    assert "ModuleNotFoundError" in proc.stderr and "experiments.cli.demo" in proc.stderr


_MARKOV_ON_A_PATH_TABLE = """
    import json, sys
    from click.testing import CliRunner
    from experiments.cli import cli

    paths, out = sys.argv[1:]
    args = ["attribute", paths, "-m", "markov", "--order", "1", "--bootstrap", "0",
            "--no-track", "--format", "json", "-o", out]
    result = CliRunner().invoke(cli, args)
    print(json.dumps({"exit": result.exit_code, "output": result.output,
                      "modules": sorted(sys.modules)}))
"""


def test_markov_on_a_path_table_file_never_imports_pandas(tmp_path):
    # the whole-process benchmark command (BENCHMARKS.md, "Attribution core"): pandas' import is
    # 0.2-0.3 s of it, and the path table, the chain, the support caps and the JSON need none
    paths = tmp_path / "paths.csv"
    paths.write_text(
        "path,total_conversions,total_null,total_conversion_value\n"
        "search > email,3,1,30.5\nemail,0,4,0\nsearch > display > email,1,2,12\ndisplay,0,5,0\n"
    )
    out = tmp_path / "out.json"
    proc = _run(_MARKOV_ON_A_PATH_TABLE.replace("sys.argv[1:]", repr([str(paths), str(out)])))
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["exit"] == 0, result["output"]
    assert "pandas" not in {name.split(".")[0] for name in result["modules"]}
    channels = json.loads(out.read_text())["models"][0]["channels"]
    assert [c["channel"] for c in channels] == ["display", "email", "search"]
    assert sum(c["conversions"] for c in channels) == pytest.approx(4)
