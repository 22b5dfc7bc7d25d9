"""Scale engines: event logs to :class:`~attribution.journeys.Journeys` in DuckDB or Spark."""
