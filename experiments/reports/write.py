"""Write a report's files atomically.

All documents are rendered in memory first, then written all or nothing by
:func:`attribution._io.atomic_write_files`: each to a temporary file in the output directory,
flushed and fsynced; only when every temporary file is complete are they moved over the final
names with :func:`os.replace` (an atomic rename within one directory). A failure while rendering
or writing therefore leaves every previous file exactly as it was, and never leaves a
half-written file under a final name; temporary files are removed on failure.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from attribution._io import atomic_write_files

if TYPE_CHECKING:
    from experiments.reports.model import Report

__all__ = ["report_documents", "write_report"]

logger = logging.getLogger(__name__)


def report_documents(report: Report, basename: str = "report") -> dict[str, str]:
    """Render every document of ``report``: file name -> text.

    ``<basename>.html``, ``.md``, ``.json`` and ``.csv`` (the channel x model table), plus
    ``<basename>_comparison.csv``, ``_calibration.csv``, ``_reallocation.csv`` and
    ``_test_plan.csv`` when the
    report has those sections.
    """
    docs = {
        f"{basename}.html": report.to_html(),
        f"{basename}.md": report.to_markdown(),
        f"{basename}.json": report.to_json(),
    }
    for name, text in report.csv_tables().items():
        file = f"{basename}.csv" if name == "channels" else f"{basename}_{name}.csv"
        docs[file] = text
    return docs


def write_report(
    report: Report, out_dir: str | os.PathLike[str], *, basename: str = "report"
) -> dict[str, Path]:
    """Write the report's documents to ``out_dir`` atomically; return ``{suffix: path}``.

    Keys are ``html``, ``md``, ``json``, ``csv`` and, when present, ``comparison_csv``,
    ``calibration_csv``, ``reallocation_csv``. Log the directory as MLflow artifacts with
    ``mlflow.log_artifacts(out_dir)``.
    """
    docs = report_documents(report, basename)  # rendering failures stop here: nothing touched
    atomic_write_files(out_dir, docs)
    out = Path(out_dir)
    paths: dict[str, Path] = {}
    for name in docs:
        stem, _, ext = name.rpartition(".")
        key = ext if stem == basename else f"{stem[len(basename) + 1 :]}_{ext}"
        paths[key] = out / name
    logger.info("report written to %s (%d files)", out, len(paths))
    return paths
