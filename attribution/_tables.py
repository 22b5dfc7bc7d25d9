"""Input tables for the journey builders: read a DataFrame, Arrow table, CSV or Parquet file.

Shared by :meth:`attribution.journeys.Journeys.from_paths`, :meth:`~attribution.journeys.Journeys.
from_events` and the engines. Every failure is an :class:`~attribution.errors.InvalidJourneysError`
naming the file or column and the fix.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa

from attribution.errors import InvalidJourneysError

__all__ = ["is_parquet", "read_events", "read_table", "require_columns", "suggest"]


def is_parquet(path: Path) -> bool:
    """Whether ``path`` is read as Parquet: a directory or a ``.parquet``/``.pq`` file."""
    return path.is_dir() or path.suffix.lower() in {".parquet", ".pq"}


def read_table(data: pd.DataFrame | pa.Table | str | os.PathLike[str]) -> pa.Table:
    """Return ``data`` as an Arrow table (a CSV or Parquet path is read whole)."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pd.DataFrame):
        try:
            return pa.Table.from_pandas(data, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            # mixed-type object columns: keep them as strings so validation can name the row
            columns = {}
            for name in data.columns:
                try:
                    columns[str(name)] = pa.array(data[name], from_pandas=True)
                except (pa.ArrowInvalid, pa.ArrowTypeError):
                    text = data[name].map(lambda v: None if pd.isna(v) else str(v))
                    columns[str(name)] = pa.array(text, type=pa.string())
            return pa.table(columns)
    path = Path(data)
    if not path.exists():
        raise InvalidJourneysError(f"input file {str(path)!r} does not exist")
    try:
        if is_parquet(path):
            import pyarrow.parquet as pq

            return pq.read_table(path)
        import pyarrow.csv as pacsv

        return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidJourneysError(
            f"cannot read {str(path)!r}: {' '.join(str(exc).split())}"
        ) from exc


def read_events(data: pd.DataFrame | str | os.PathLike[str]) -> pd.DataFrame:
    """Return ``data`` as a DataFrame (a CSV or Parquet path is read whole)."""
    if isinstance(data, pd.DataFrame):
        return data
    table = read_table(data)
    return table.to_pandas()


def suggest(name: str, candidates: list[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest candidate, or ``""``."""
    import difflib

    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def require_columns(columns: list[str], required: dict[str, str]) -> None:
    """Raise if a column of ``required`` (``{option: column name}``) is not in ``columns``."""
    for option, name in required.items():
        if name not in columns:
            raise InvalidJourneysError(
                f"required column {name!r} is missing (available: {', '.join(map(repr, columns))})"
                f"{suggest(name, columns)}; pass {option}=<name> (CLI: --{option[:-4]}-col) "
                "to use another column"
            )
