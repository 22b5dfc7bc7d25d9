"""One local Spark session for the engine tests (Spark start-up is slow), stopped after them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

# tiny test data: compiling generated code costs more than it saves
FAST_SMALL_JOBS = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}


@pytest.fixture(scope="package")
def spark() -> Iterator[Any]:
    """A local Spark session; the tests that use it skip when PySpark is not installed."""
    pytest.importorskip("pyspark", reason="PySpark is not installed: pip install 'pathlift[spark]'")
    from attribution.engines.spark import local_spark_session

    session = local_spark_session("local[2]", shuffle_partitions=2, config=FAST_SMALL_JOBS)
    yield session
    session.stop()
