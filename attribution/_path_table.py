"""Path-table reader: validate and tokenize a path table (the format of ChannelAttribution).

:func:`read_path_table` reads a DataFrame, an Arrow table or a CSV/Parquet file batch by batch,
checks the count and value columns, splits the path strings into integer channel codes on a small
thread pool and returns flat arrays; :meth:`attribution.journeys.Journeys.from_paths` groups them
into unique paths. Memory stays proportional to the output, not to the text of the file.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from attribution._io import csv_delimiter, is_frame, read_table, resolve_files
from attribution._memory import release_memory
from attribution._validation import first_true, require_columns
from attribution.errors import InputWarning, InvalidJourneysError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PathTable", "read_path_table"]

#: CSV path tables up to this size are read whole; larger ones are streamed in 16 MB blocks
_WHOLE_READ_BYTES = 256 << 20


@dataclass(frozen=True, eq=False)
class PathTable:
    """A validated path table with its rows tokenized, rows without journeys removed.

    Attributes
    ----------
    codes, offsets
        Channel codes of every row's path (row ``i`` owns ``codes[offsets[i]:offsets[i + 1]]``),
        codes indexing ``channels``.
    channels
        Channel names, sorted.
    conversions, nulls, value
        Per-row totals (int64, int64, float64).
    n_rows
        Rows read from the input, including rows with no journeys.
    """

    codes: np.ndarray
    offsets: np.ndarray
    channels: tuple[str, ...]
    conversions: np.ndarray
    nulls: np.ndarray
    value: np.ndarray
    n_rows: int


def read_path_table(
    data: pd.DataFrame | pa.Table | str | os.PathLike[str],
    *,
    required: dict[str, str],
    value_name: str | None,
    separator: str,
) -> PathTable:
    """Read, validate and tokenize a path table.

    Parameters
    ----------
    data
        A DataFrame, an Arrow table, or the path of a CSV or Parquet file.
    required
        ``{option: column}`` for ``path_col``, ``conversions_col``, ``nulls_col`` and, when
        the caller requires it, ``value_col``.
    value_name
        The value column, used when present (zeros otherwise), or ``None``.
    separator
        The string between channels; whitespace around channel names is trimmed.
    """
    path_col = required["path_col"]
    conversions_col = required["conversions_col"]
    nulls_col = required["nulls_col"]

    def read(source: Any) -> tuple[Any, ...]:
        with _PathTableReader(path_col, conversions_col, nulls_col, separator) as reader:
            for batch in _path_batches(source, required, value_name):
                reader.add(batch, value_name if value_name in batch.schema.names else None)
            if reader.n_rows == 0:
                raise InvalidJourneysError("the path table is empty: it has a header but no rows")
            return (*reader.finish(), reader.n_rows)

    try:
        parsed = read(data)
    except _TypedReadFailed:
        # a cell did not convert: re-read with inferred types so validation names it
        parsed = read(read_table(data, error=InvalidJourneysError))
    codes, token_offsets, channels, conversions, nulls, value, n_rows = parsed
    _check_separator(channels, token_offsets, separator)
    keep = (conversions + nulls) > 0
    if not keep.all():
        # rows with no journeys carry no information
        codes, token_offsets = _select_lists(codes, token_offsets, keep)
        conversions, nulls, value = conversions[keep], nulls[keep], value[keep]
    if conversions.size == 0:
        raise InvalidJourneysError(
            f"every row has zero journeys ({conversions_col!r} + {nulls_col!r} == 0)"
        )
    return PathTable(codes, token_offsets, channels, conversions, nulls, value, n_rows)


#: separators people use in path strings; a channel name holding one of them while no path
#: holds the given separator means the separator is wrong
COMMON_SEPARATORS = (">", "|", ";", ",", "\u2192", "/")


def _check_separator(channels: tuple[str, ...], token_offsets: np.ndarray, separator: str) -> None:
    """Warn when the separator split no path but channel names hold another common separator."""
    lengths = np.diff(np.asarray(token_offsets))
    if lengths.size and int(lengths.max()) > 1:
        return  # the separator splits some paths: it is in use
    for candidate in COMMON_SEPARATORS:
        if candidate == separator.strip():
            continue
        holding = [c for c in channels if candidate in c]
        if holding:
            warnings.warn(
                f"no path contains the separator {separator!r}, but {len(holding)} of "
                f"{len(channels)} channel names contain {candidate!r} (e.g. {holding[0]!r}): "
                f"each whole path was read as one channel; pass separator={candidate!r} "
                f"(CLI: --separator '{candidate}') if {candidate!r} separates the channels",
                InputWarning,
                stacklevel=4,
            )
            return


def _first_index(mask: np.ndarray | pa.Array) -> int:
    if isinstance(mask, pa.Array | pa.ChunkedArray):
        mask = np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)
    return int(np.flatnonzero(mask)[0])


def _as_string_array(column: pa.ChunkedArray, name: str, offset: int = 0) -> pa.Array:
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        if pa.types.is_null(array.type):
            raise InvalidJourneysError(
                f"column {name!r} is empty (all values missing) at row {offset}"
            )
        raise InvalidJourneysError(
            f"column {name!r} must hold path strings such as 'search > email', "
            f"got type {array.type}"
        )
    if array.null_count:
        row = _first_index(pc.is_null(array)) + offset
        raise InvalidJourneysError(
            f"column {name!r} has a missing path at row {row}: fill it or drop the row"
        )
    return array


def _count_column(column: pa.ChunkedArray, name: str, option: str, offset: int = 0) -> np.ndarray:
    what = "non-negative integer counts"
    fix = f"fix the value or point {option} at the right column"
    values = _numbers(column, name, offset, what=what, fix=fix)
    bad = ~np.isfinite(values) | (values < 0) | (values != np.floor(values))
    _refuse_rows(values, bad, name, offset, what=what)
    return values.astype(np.int64)


def _value_column(column: pa.ChunkedArray, name: str, offset: int = 0) -> np.ndarray:
    if pa.types.is_null(column.type):
        return np.zeros(len(column))
    fix = "fix the value or pass value_col=None to ignore value"
    values = _numbers(column, name, offset, what="numeric conversion values", fix=fix)
    bad = ~np.isfinite(values) | (values < 0)
    _refuse_rows(values, bad, name, offset, what="finite non-negative values")
    return values


def _numbers(column: pa.ChunkedArray, name: str, offset: int, *, what: str, fix: str) -> np.ndarray:
    """Return the column as float64, refusing the first cell that is not a number."""
    array = _numeric_or_none(column)
    if array is None:
        array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        bad = _first_non_numeric(array)
        raise InvalidJourneysError(
            f"column {name!r} must hold {what}; row {bad + offset} has {_cell(array, bad)!r}: {fix}"
        )
    return _float64(array)


def _float64(array: pa.Array) -> np.ndarray:
    """Numbers as float64 (missing ones NaN); a view of Arrow's memory when they already are.

    A column without missing cells is read from its data buffer: pyarrow's ``to_numpy``
    imports pandas, which reading a path table otherwise never needs.
    """
    kind = (
        "f"
        if pa.types.is_floating(array.type)
        else "i"
        if pa.types.is_signed_integer(array.type)
        else "u"
    )
    if array.null_count == 0 and array.buffers()[1] is not None:
        dtype = np.dtype(f"{kind}{array.type.bit_width // 8}")
        values = np.frombuffer(
            array.buffers()[1], dtype=dtype, count=len(array), offset=array.offset * dtype.itemsize
        )
        return values if dtype == np.float64 else values.astype(np.float64)
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)


def _refuse_rows(values: np.ndarray, bad: np.ndarray, name: str, offset: int, *, what: str) -> None:
    """Refuse the first row of ``bad``, showing its value."""
    row = first_true(bad)
    if row is not None:
        raise InvalidJourneysError(
            f"column {name!r} must hold {what}; row {row + offset} has "
            f"{values[row]:g}: fix or drop that row"
        )


def _numeric_or_none(column: pa.Array | pa.ChunkedArray) -> pa.Array | None:
    """Return the column as numbers (text such as '3' converted), or None if a cell is not."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_integer(array.type) or pa.types.is_floating(array.type):
        return array
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        try:
            return pc.cast(pc.utf8_trim_whitespace(array), pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    return None


def _cell(array: pa.Array, row: int) -> Any:
    return array[row].as_py() if row < len(array) else None


def _first_non_numeric(array: pa.Array) -> int:
    as_str = pc.cast(array, pa.string()) if not pa.types.is_string(array.type) else array
    numeric = pc.match_substring_regex(
        pc.utf8_trim_whitespace(as_str), r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
    )
    bad = pc.invert(pc.fill_null(numeric, False))
    mask = np.asarray(bad.to_numpy(zero_copy_only=False), dtype=bool)
    return int(np.flatnonzero(mask)[0]) if mask.any() else 0


class _PathTableReader:
    """Validate and tokenize a path table batch by batch.

    Channel names get provisional codes in order of appearance; :meth:`finish` renumbers them
    by sorted name, with one gather per batch from raw token index to final code. Memory stays
    proportional to the output (codes and counts), not to the text of the file. Splitting and
    dictionary-encoding (:func:`attribution._kernels.split_encode`, which releases the GIL)
    run on a small thread pool, at most one batch per core in flight; results are taken in
    batch order, so codes do not depend on scheduling. Use it as a context manager so the pool
    is shut down on errors too.
    """

    def __init__(self, path_col: str, conversions_col: str, nulls_col: str, separator: str):
        from concurrent.futures import ThreadPoolExecutor

        self.path_col = path_col
        self.conversions_col = conversions_col
        self.nulls_col = nulls_col
        self.separator = separator
        self.n_rows = 0
        self.names: dict[str, int] = {}
        self.mappings: list[np.ndarray] = []
        self.parts: dict[str, list[np.ndarray]] = {
            k: [] for k in ("codes", "lengths", "conversions", "nulls", "value")
        }
        self.workers = max(1, min(os.cpu_count() or 1, 4))
        self.pool = ThreadPoolExecutor(max_workers=self.workers)
        self.pending: list[tuple[Any, pa.Array, int]] = []

    def __enter__(self) -> _PathTableReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def add(self, batch: pa.RecordBatch, value_name: str | None) -> None:
        """Validate and tokenize one batch (row numbers in errors count from the file start)."""
        start = self.n_rows
        n = batch.num_rows
        self.n_rows += n
        if n == 0:
            return
        paths = _as_string_array(batch.column(self.path_col), self.path_col, start)
        conv = _count_column(
            batch.column(self.conversions_col), self.conversions_col, "conversions_col", start
        )
        nulls = _count_column(batch.column(self.nulls_col), self.nulls_col, "nulls_col", start)
        if value_name is not None:
            value = _value_column(batch.column(value_name), value_name, start)
        else:
            value = np.zeros(n)
        self.parts["conversions"].append(conv)
        self.parts["nulls"].append(nulls)
        self.parts["value"].append(value)
        # imported here, not with the module: Journeys.from_paths loads the kernels on another
        # thread while the file is read (attribution._lazy.preload), and this waits for it
        from attribution._kernels import split_encode

        self.pending.append((self.pool.submit(split_encode, paths, self.separator), paths, start))
        if len(self.pending) > self.workers:
            self._collect()

    def _collect(self) -> None:
        """Map the oldest pending batch's tokens to channel codes."""
        future, paths, start = self.pending.pop(0)
        offsets, raw, indices = future.result()
        self.mappings.append(self._mapping(paths, start, offsets, raw, indices))
        self.parts["codes"].append(indices)
        self.parts["lengths"].append(np.diff(offsets))
        release_memory()

    def _mapping(
        self,
        paths: pa.Array,
        start: int,
        offsets: np.ndarray,
        raw: list[str],
        indices: np.ndarray,
    ) -> np.ndarray:
        """Map a batch's raw tokens to provisional channel codes (names trimmed, none empty)."""
        mapping = np.empty(len(raw), dtype=np.int32)
        for i, token in enumerate(raw):
            name = token.strip()
            if not name:
                position = int(np.flatnonzero(indices == i)[0])
                row = int(np.searchsorted(offsets, position, side="right") - 1)
                raise InvalidJourneysError(
                    f"column {self.path_col!r} has an empty path or an empty channel name at "
                    f"row {row + start} ({paths[row].as_py()!r}): remove empty paths and "
                    f"doubled separators ({self.separator!r})"
                )
            mapping[i] = self.names.setdefault(name, len(self.names))
        return mapping

    def finish(
        self,
    ) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], np.ndarray, np.ndarray, np.ndarray]:
        """Return codes, offsets, sorted channel names, conversions, nulls and value."""
        while self.pending:
            self._collect()
        names = np.array(list(self.names), dtype=object)
        order = np.argsort(names.astype(str), kind="stable")
        remap = np.empty(order.shape[0], dtype=np.int32)
        remap[order] = np.arange(order.shape[0], dtype=np.int32)
        # one gather per batch: raw token index -> sorted channel code
        batches = self.parts.pop("codes")
        codes = np.empty(sum(b.shape[0] for b in batches), dtype=np.int32)
        at = 0
        for mapping, indices in zip(self.mappings, batches, strict=True):
            np.take(remap[mapping], indices, out=codes[at : at + indices.shape[0]])
            at += indices.shape[0]
        self.mappings.clear()
        del batches
        cat = {k: np.concatenate(v) if v else np.zeros(0) for k, v in self.parts.items()}
        self.parts.clear()
        offsets = np.concatenate([[0], np.cumsum(cat["lengths"])]).astype(np.int64)
        return (
            codes,
            offsets,
            tuple(str(n) for n in names[order]),
            cat["conversions"].astype(np.int64),
            cat["nulls"].astype(np.int64),
            cat["value"].astype(np.float64),
        )


class _TypedReadFailed(Exception):
    """A streamed CSV cell did not convert to its column's type."""


def _columns(wanted: list[str], value_name: str | None, available: list[str]) -> list[str]:
    extra = [value_name] if value_name and value_name in available else []
    return list(dict.fromkeys([*wanted, *extra]))


def _path_batches(
    data: pd.DataFrame | pa.Table | str | os.PathLike[str],
    required: dict[str, str],
    value_name: str | None,
) -> Iterator[pa.RecordBatch]:
    """Yield record batches holding the needed columns.

    Files follow the input rules of :mod:`attribution._io` (a directory or a glob is read in
    path order). Parquet files and CSV files larger than ``_WHOLE_READ_BYTES`` are streamed;
    smaller CSV files are read whole by Arrow's multi-threaded reader. CSV columns get explicit
    types; if a value does not convert (a typo in a count column, say) :class:`_TypedReadFailed`
    tells the caller to re-read the file with inferred types, so that validation can name the
    column and row.
    """
    wanted = list(dict.fromkeys(required.values()))
    if isinstance(data, pa.Table) or is_frame(data):
        table = read_table(data)
        _require(table.column_names, required)
        cols = _columns(wanted, value_name, table.column_names)
        yield from table.select(cols).to_batches(max_chunksize=1 << 18)
        return
    files = resolve_files(data, error=InvalidJourneysError)
    if files.kind == "parquet":
        import pyarrow.dataset as ds

        try:
            dataset = ds.dataset(list(files.files), format="parquet")
            names = dataset.schema.names
            _require(names, required)
            cols = _columns(wanted, value_name, names)
            yield from dataset.to_batches(columns=cols, batch_size=1 << 18)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InvalidJourneysError(
                f"cannot read input file {files.files[0]!r}: {' '.join(str(exc).split())}"
            ) from exc
        return
    for file in files.files:
        yield from _csv_batches(Path(file), required, wanted, value_name)


def _csv_batches(
    path: Path, required: dict[str, str], wanted: list[str], value_name: str | None
) -> Iterator[pa.RecordBatch]:
    import pyarrow.csv as pacsv

    parse_options = pacsv.ParseOptions(delimiter=csv_delimiter(path))
    try:
        header = pacsv.open_csv(
            path, read_options=pacsv.ReadOptions(block_size=1 << 16), parse_options=parse_options
        )
        names = header.schema.names
        _require(names, required)
        cols = _columns(wanted, value_name, names)
        types = {c: pa.float64() for c in cols}
        types[required["path_col"]] = pa.string()
        read_options = pacsv.ReadOptions(block_size=1 << 24)
        convert_options = pacsv.ConvertOptions(include_columns=cols, column_types=types)
        try:
            if path.stat().st_size <= _WHOLE_READ_BYTES:
                # small enough to hold: Arrow's multi-threaded reader, then tokenization gets
                # both cores instead of competing with the CSV parser
                table = pacsv.read_csv(
                    path,
                    read_options=read_options,
                    parse_options=parse_options,
                    convert_options=convert_options,
                    memory_pool=pa.system_memory_pool(),
                )
                yield from table.to_batches()
                return
            yield from pacsv.open_csv(
                path,
                read_options=read_options,
                parse_options=parse_options,
                convert_options=convert_options,
                memory_pool=pa.system_memory_pool(),
            )
        except pa.ArrowInvalid as exc:
            raise _TypedReadFailed from exc
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidJourneysError(
            f"cannot read input file {str(path)!r}: {' '.join(str(exc).split())}"
        ) from exc


def _require(columns: list[str], required: dict[str, str]) -> None:
    require_columns(columns, required, error=InvalidJourneysError, cli=True)


def _select_lists(
    values: np.ndarray, offsets: np.ndarray, keep: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.diff(offsets)
    new_values = values[np.repeat(keep, lengths)]
    new_offsets = np.concatenate([[0], np.cumsum(lengths[keep])]).astype(np.int64)
    return new_values, new_offsets
