"""Reports for budget planners: one data model, rendered to HTML, Markdown, CSV and JSON.

>>> from experiments.reports import build_report, write_report  # doctest: +SKIP
>>> report = build_report(results, costs=costs, provenance=journeys.provenance)  # doctest: +SKIP
>>> paths = write_report(report, "out/")  # doctest: +SKIP

:func:`report_from_events` runs the whole pipeline from an event log (used by ``pathlift
report`` and the demo).
"""

from experiments.reports.model import Report, ReportError, build_report
from experiments.reports.pipeline import (
    DEFAULT_MODELS,
    lift_tests_from_mlflow_run,
    report_from_events,
)
from experiments.reports.write import report_documents, write_report

__all__ = [
    "DEFAULT_MODELS",
    "Report",
    "ReportError",
    "build_report",
    "lift_tests_from_mlflow_run",
    "report_documents",
    "report_from_events",
    "write_report",
]
