"""``pathlift attribute --engine spark``: Spark's and the JVM's own lines only with ``--verbose``.

The real console script runs in a fresh process, so the driver JVM is started by the command
itself (as for a user), not by the test session's shared Spark session.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip(
    "pyspark", reason="PySpark is not installed: pip install 'pathlift[spark]' to run Spark tests"
)

pytestmark = [pytest.mark.spark, pytest.mark.slow]

#: what Spark, Log4j and the JVM print when nobody quiets them (Spark 3.5 to 4.2, Java 17)
NOISE = (
    "log4j",
    "Setting default log level",
    "setLogLevel",
    "NativeCodeLoader",
    "WARN ",
    "Using incubator modules",
    "SPARK_LOCAL_IP",
)


@pytest.fixture
def event_log(tmp_path):
    """90 users over three channels: every channel has enough support for no pathlift warning."""
    rows = []
    for user in range(90):
        for step, channel in enumerate(("email", "search", "social")[: 1 + user % 3]):
            rows.append((f"u{user}", f"2024-01-0{1 + step} 10:00:00", channel, 0))
        rows.append((f"u{user}", "2024-01-05 10:00:00", "search", int(user % 2 == 0)))
    path = tmp_path / "events.csv"
    pd.DataFrame(rows, columns=["user_id", "timestamp", "channel", "conversion"]).to_csv(
        path, index=False
    )
    return path


def _pathlift(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    for name in ("SPARK_CONF_DIR", "SPARK_SUBMIT_OPTS", "PYSPARK_SUBMIT_ARGS"):
        env.pop(name, None)  # the caller's own Spark logging set-up would apply as is
    return subprocess.run(
        [str(Path(sys.executable).parent / "pathlift"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def test_spark_engine_is_quiet_unless_verbose(event_log):
    command = [
        "attribute",
        str(event_log),
        "--events",
        "--engine",
        "spark",
        "-m",
        "linear",
        "--bootstrap",
        "0",
        "--no-track",
    ]
    quiet = _pathlift(*command)
    assert quiet.returncode == 0, quiet.stderr
    assert "90 journeys" in quiet.stdout
    noise = [line for line in quiet.stderr.splitlines() if any(n in line for n in NOISE)]
    assert noise == [], quiet.stderr
    assert quiet.stderr == ""

    verbose = _pathlift("--verbose", *command)
    assert verbose.returncode == 0, verbose.stderr
    assert verbose.stdout == quiet.stdout
    # Spark's own start-up logging, as Spark configures it
    assert "Using Spark's default log4j profile" in verbose.stderr, verbose.stderr
