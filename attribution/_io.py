"""Files in and out, for the whole project: atomic writes, JSON values and table reading.

One mechanism for each job, shared by the three packages. It lives in :mod:`attribution`, the
package the other two build on (attribution imports neither uplift nor experiments), so uplift
and experiments import it from here. Nothing heavy is imported at module level: the command
line's ``--help`` imports this module, NumPy, pandas and Arrow are imported when first needed.

Writing
    :func:`atomic_write` (a file written through a handle) and :func:`atomic_write_files`
    (several files, all or nothing) write to a temporary file in the target's directory, flush
    and fsync it, then rename it over the target with :func:`os.replace` (atomic on POSIX within
    one directory). A failure leaves every previous file exactly as it was and removes the
    temporary files. Files are created ``0o644`` (readable by all, as ``open`` would with the
    usual umask), not the ``0o600`` of :func:`tempfile.mkstemp`.

CSV text
    :func:`csv_text` is the one way the project writes a table as CSV. A text cell (column
    names and index labels included) that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
    carriage return gets a leading apostrophe, so a spreadsheet shows it as text instead of
    running it as a formula (a channel named ``=HYPERLINK(...)`` becomes ``'=HYPERLINK(...)``).
    Numbers are never changed: ``-0.5`` in a numeric column stays ``-0.5``. Reading such a
    file back gives the escaped text; use Parquet where a table must round-trip exactly.

JSON values
    :func:`json_value` turns one cell into a JSON value: NumPy scalars become Python scalars,
    timestamps ISO 8601 strings, and NaN, infinities, ``NaT`` and ``None`` become ``null`` (so
    every document is strict JSON). :func:`to_jsonable` applies it through mappings and
    sequences; :func:`json_records` to the rows of a DataFrame, :func:`json_rows` to rows given
    by columns (without pandas).

Reading tables (:func:`read_table`, :func:`read_frame`)
    A DataFrame or an Arrow table is used as given. A path is read by Arrow with these rules,
    the same as the scale engines' (:mod:`attribution.engines`):

    * a ``.parquet`` / ``.pq`` file is Parquet; any other file is CSV (compressed when its
      name says so: ``.csv.gz``, ``.csv.bz2``, ...), with a header row; an empty field is
      missing, and columns get Arrow's inferred types (ISO timestamps become timestamps);
    * the delimiter of a CSV file is detected (:func:`csv_delimiter`): ``,``, ``;``, tab or
      ``|``, the one that splits the header and the first lines into the same number of fields;
      :func:`use_delimiter` (the command line's ``--delimiter``) sets it instead;
    * a directory holds Parquet files or CSV files, found recursively (Hive ``key=value``
      directory names are not read as columns); a directory holding both is refused; a glob
      (``*``, ``?``, ``[``) or a list of paths works the same way;
    * several files are read in the order of their full paths and stacked (columns matched by
      name, types widened where they differ); mixing Parquet and CSV is refused, and so are
      files whose columns differ from the first file's (CSV files: also their order, since
      some readers match CSV columns by position) and a header naming a column twice;
    * a path that does not exist, a directory without data files or an unreadable file raises
      the caller's error class, naming the file.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import glob
import math
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from attribution._validation import first_true, repeated

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from typing_extensions import TypeIs

__all__ = [
    "InputFiles",
    "atomic_write",
    "atomic_write_files",
    "atomic_write_text",
    "check_destination",
    "csv_delimiter",
    "csv_text",
    "escape_formula",
    "is_parquet",
    "json_records",
    "json_rows",
    "json_value",
    "naive_utc",
    "read_frame",
    "read_table",
    "reset_delimiter",
    "resolve_files",
    "set_delimiter",
    "to_jsonable",
    "use_delimiter",
]

#: permissions of written files before the umask (``open`` creates files ``0o666 & ~umask``)
FILE_MODE = 0o666
#: delimiters :func:`csv_delimiter` recognises, in order of preference on a tie
CSV_DELIMITERS = (",", ";", "\t", "|")
_DELIMITER: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "pathlift_csv_delimiter", default=None
)

PARQUET_SUFFIXES = (".parquet", ".pq")


_GLOB_CHARS = frozenset("*?[")

# --------------------------------------------------------------------------------------------
# Atomic writes
# --------------------------------------------------------------------------------------------


def _umask() -> int:
    # the only portable way to read the umask is to set it; set it straight back
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _temporary(target: Path) -> tuple[int, Path]:
    """Create a temporary file next to ``target``; return its descriptor and path.

    The file gets the permissions ``open`` would give a new file (``0o666`` less the umask:
    ``0o644`` with the usual ``022``), not the ``0o600`` of :func:`tempfile.mkstemp`.
    """
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.chmod(name, FILE_MODE & ~_umask())
    return fd, Path(name)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file next to ``path``; when the block ends, rename it over ``path``.

    ``mode`` is ``"w"`` (UTF-8 text) or ``"wb"``. The parent directory is created. If the block
    raises, the temporary file is removed and ``path`` keeps its previous content.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _temporary(target)
    try:
        binary = "b" in mode
        with os.fdopen(
            fd, mode, encoding=None if binary else "utf-8", newline=None if binary else ""
        ) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def check_destination(
    path: str | os.PathLike[str],
    *,
    kind: Literal["file", "directory"] = "file",
    what: str = "output",
    error: type[Exception] = ValueError,
) -> Path:
    """Check that ``path`` can be written as a ``kind``, before any work; return it as a Path.

    Nothing is created. Refused, with ``error`` naming ``what`` and the path: a file destination
    that is an existing directory; a directory destination that is an existing file; a path
    below an existing file (``afile/out.csv``); a nearest existing directory that this process
    cannot write into. The commands call this for every destination before they read or fit
    anything, so a bad destination never costs a run nor leaves a half-done result.
    """
    target = Path(path)
    text = os.fspath(path)
    if not text:
        raise error(f"{what}: the path is empty; give a {kind} path")
    if target.exists():
        if kind == "file" and target.is_dir():
            raise error(f"{what} {text!r} is a directory: give a file path")
        if kind == "directory" and not target.is_dir():
            raise error(f"{what} {text!r} is a file, not a directory: give a directory path")
    parent = target.absolute().parent if kind == "file" or not target.exists() else target
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise error(
            f"{what} {text!r} cannot be created: {str(parent)!r} is a file, not a directory; "
            "choose another path"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise error(
            f"{what} {text!r} cannot be written: no permission to write in {str(parent)!r}; "
            "choose another path"
        )
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8) and return the path."""
    with atomic_write(path) as handle:
        handle.write(text)
    return Path(path)


def atomic_write_files(
    directory: str | os.PathLike[str], documents: Mapping[str, str | bytes]
) -> dict[str, Path]:
    """Write every document (file name -> text or bytes) into ``directory``, all or nothing.

    Every document is first written to its own temporary file and fsynced; only when all are
    complete are they renamed over their final names. Returns ``{file name: path}``.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    temps: dict[str, Path] = {}
    try:
        for name, content in documents.items():
            fd, temps[name] = _temporary(out / name)
            binary = isinstance(content, bytes)
            with os.fdopen(
                fd, "wb" if binary else "w", encoding=None if binary else "utf-8", newline=None
            ) as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
        for name, tmp in temps.items():
            os.replace(tmp, out / name)
    except BaseException:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
        raise
    return {name: out / name for name in documents}


# --------------------------------------------------------------------------------------------
# CSV text
# --------------------------------------------------------------------------------------------

#: first characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value: Any) -> Any:
    """Return a text cell starting with a formula character with a leading ``'``; else as is."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_text(frame: pd.DataFrame, *, index: bool = False, lineterminator: str = "\n") -> str:
    """Return ``frame`` as CSV text with formula-like text cells escaped (see the module doc).

    Only text cells are escaped (in object and string columns, the column names and, with
    ``index``, the index labels); numeric, boolean and date columns are written as pandas does.
    When a text cell holds a carriage return, every text cell is quoted, so that readers do not
    split its row.
    """
    import pandas as pd

    out = frame.copy(deep=False)
    bare_cr = False
    for i in range(out.shape[1]):
        column = out.iloc[:, i]
        if isinstance(column.dtype, pd.CategoricalDtype):
            column = column.astype(object)
        if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            escaped = column.map(escape_formula, na_action="ignore").to_numpy(dtype=object)
            bare_cr = bare_cr or any(isinstance(v, str) and "\r" in v for v in escaped)
            out.isetitem(i, escaped)
    out.columns = [escape_formula(str(c)) for c in out.columns]
    if index:
        out.index = out.index.map(escape_formula)
        if out.index.name is not None:
            out.index.name = escape_formula(str(out.index.name))
    # a carriage return inside a cell is only quoted by the csv module when it is part of the
    # line terminator: quote every text cell then, or readers would split the row
    quoting: Literal[0, 2] = 2 if bare_cr else 0  # csv.QUOTE_NONNUMERIC, csv.QUOTE_MINIMAL
    return str(out.to_csv(index=index, lineterminator=lineterminator, quoting=quoting))


# --------------------------------------------------------------------------------------------
# JSON values
# --------------------------------------------------------------------------------------------


def json_value(value: Any) -> Any:
    """Return one cell as a JSON value (see the module docstring); other objects unchanged."""
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item()
    if isinstance(value, datetime.datetime):  # pandas Timestamp and NaT too
        return None if value != value else value.isoformat()  # NaT is not equal to itself
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_jsonable(value: Any) -> Any:
    """Return ``value`` as JSON-ready data: mappings (string keys) and lists of JSON values.

    Tuples become lists; an object that is none of these nor a JSON scalar becomes ``str(value)``.
    """
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    value = json_value(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of ``frame`` as ``{column name: JSON value}`` dictionaries."""
    return [
        {str(k): json_value(v) for k, v in row.items()} for row in frame.to_dict(orient="records")
    ]


def json_rows(columns: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows of equal-length ``columns`` as ``{name: JSON value}`` dictionaries.

    The rows :func:`json_records` gives for the DataFrame of these columns, without pandas.
    """
    names = [str(name) for name in columns]
    cells = [v.tolist() if hasattr(v, "tolist") else list(v) for v in columns.values()]
    return [
        {k: json_value(v) for k, v in zip(names, row, strict=True)}
        for row in zip(*cells, strict=True)
    ]


# --------------------------------------------------------------------------------------------
# Reading tables
# --------------------------------------------------------------------------------------------


def naive_utc(times: pd.Series, name: str, *, error: type[Exception]) -> pd.Series:
    """Return parsed times as naive UTC ``datetime64[ns]`` (times with an offset converted).

    A time outside what nanoseconds can hold (1677-09-21 to 2262-04-11) raises ``error``
    naming the column ``name``, the first such row and its value, instead of wrapping around.
    """
    import pandas as pd

    if isinstance(times.dtype, pd.DatetimeTZDtype):
        times = times.dt.tz_convert("UTC").dt.tz_localize(None)
    outside = ((times < pd.Timestamp.min) | (times > pd.Timestamp.max)).to_numpy()
    row = first_true(outside)
    if row is not None:
        raise error(
            f"column {name!r} has a time out of range at row {row} ({times.iloc[row]}): times "
            f"must lie between {pd.Timestamp.min:%Y-%m-%d} and {pd.Timestamp.max:%Y-%m-%d}"
        )
    return times.astype("datetime64[ns]")


def is_parquet(path: str | os.PathLike[str]) -> bool:
    """Whether a file is read as Parquet (its name ends in ``.parquet`` or ``.pq``)."""
    return os.fspath(path).lower().endswith(PARQUET_SUFFIXES)


@dataclass(frozen=True)
class InputFiles:
    """Files to read, in input order (sorted by path), and their format."""

    kind: Literal["parquet", "csv"]
    files: tuple[str, ...]


def resolve_files(
    data: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    what: str = "input",
    error: type[Exception] = ValueError,
) -> InputFiles:
    """Expand a file, a directory, a glob or a list of them into sorted files of one format.

    *Input order* is the order of this list: files sorted by their full path (lexicographically,
    after expanding directories recursively and globs with ``**``), then rows in file order.
    A directory holds Parquet files (``*.parquet``/``*.pq``) or CSV files (``*.csv``), not
    both; Hive partition directories are walked but their ``key=value`` names are not read
    as columns. Problems raise ``error`` naming the path (``what`` says what the file holds).
    """
    items = [data] if isinstance(data, str | os.PathLike) else list(data)
    if not items:
        raise error(f"no {what} files given: pass a file, a directory or a glob")
    found: list[str] = []
    for item in items:
        text = os.fspath(item)
        if any(ch in text for ch in _GLOB_CHARS) and not os.path.exists(text):
            matches = [m for m in glob.glob(text, recursive=True) if Path(m).is_file()]
            if not matches:
                raise error(f"no file matches {text!r}: check the pattern")
            found.extend(matches)
            continue
        path = Path(text)
        if path.is_dir():
            entries = [p for p in path.rglob("*") if p.is_file()]
            parquet = [str(p) for p in entries if is_parquet(p)]
            csv = [str(p) for p in entries if str(p).lower().endswith(".csv")]
            if parquet and csv:
                raise error(
                    f"directory {text!r} mixes Parquet and CSV files ({len(parquet)} .parquet, "
                    f"{len(csv)} .csv, e.g. {csv[0]!r}): reading one kind would silently drop "
                    "the other; convert them to one format or move one kind out"
                )
            chosen = parquet or csv
            if not chosen:
                raise error(
                    f"directory {text!r} has no .parquet or .csv files: point at the data files"
                )
            found.extend(chosen)
        elif path.is_file():
            found.append(str(path))
        else:
            raise error(f"{what} file {text!r} does not exist")
    files = sorted({os.path.abspath(f) for f in found})
    kinds = {"parquet" if is_parquet(f) else "csv" for f in files}
    if len(kinds) > 1:
        raise error(
            "the input mixes Parquet and CSV files: convert them to one format or pass one "
            "kind at a time"
        )
    kind: Literal["parquet", "csv"] = "parquet" if kinds == {"parquet"} else "csv"
    _check_same_columns(kind, files, what=what, error=error)
    return InputFiles(kind=kind, files=tuple(files))


def _column_names(kind: str, file: str, *, what: str, error: type[Exception]) -> list[str]:
    """Column names of one file: the Parquet schema, or the CSV header (first block only)."""
    import pyarrow as pa

    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(file).names)
        import pyarrow.csv as pacsv

        parse = pacsv.ParseOptions(delimiter=csv_delimiter(file))
        try:  # a small first block: only the header is needed
            block = pacsv.ReadOptions(block_size=1 << 16)
            with pacsv.open_csv(file, read_options=block, parse_options=parse) as r:
                return list(r.schema.names)
        except pa.ArrowInvalid:  # a header longer than the block, or a malformed first block
            with pacsv.open_csv(file, parse_options=parse) as reader:
                return list(reader.schema.names)
    except (pa.ArrowInvalid, OSError) as exc:
        raise error(f"cannot read {what} file {file!r}: {' '.join(str(exc).split())}") from exc


def _check_same_columns(
    kind: str, files: Sequence[str], *, what: str, error: type[Exception]
) -> None:
    """Refuse a header naming a column twice, and files whose columns differ from the first's.

    CSV files must also list their columns in the same order. Only headers are read (the
    Parquet footer, the first block of a CSV file).
    """
    first: list[str] = []
    for i, file in enumerate(files):
        names = _column_names(kind, file, what=what, error=error)
        twice = repeated(names)
        if twice:
            raise error(
                f"{what} file {file!r}: column {twice[0]!r} appears {names.count(twice[0])} "
                "times in the header: rename or drop the duplicates so that it names one column"
            )
        if i == 0:
            first = names
            continue
        if names == first or (kind == "parquet" and sorted(names) == sorted(first)):
            continue
        missing = [c for c in first if c not in names]
        extra = [c for c in names if c not in first]
        detail = (
            (f"lacks column(s) {', '.join(map(repr, missing))}" if missing else "")
            + ("; " if missing and extra else "")
            + (f"has extra column(s) {', '.join(map(repr, extra))}" if extra else "")
        ) or f"has the columns in another order ({', '.join(map(repr, names))})"
        raise error(
            f"the {what} files do not share one schema: {file!r} {detail}, unlike "
            f"{files[0]!r}; give every file the same columns"
            + (" in the same order" if kind == "csv" else "")
        )


@contextlib.contextmanager
def use_delimiter(delimiter: str | None) -> Iterator[None]:
    """Within the block, read every CSV file with ``delimiter`` (``None``: detect it).

    A backslash followed by ``t``, and ``"tab"``, mean a tab. The command line's ``--delimiter``
    option sets it for the whole command.
    """
    token = _DELIMITER.set(_check_delimiter(delimiter))
    try:
        yield
    finally:
        _DELIMITER.reset(token)


def _check_delimiter(delimiter: str | None) -> str | None:
    if delimiter is None:
        return None
    text = {"\\t": "\t", "tab": "\t"}.get(delimiter, delimiter)
    if len(text) != 1 or text in '"\r\n':
        raise ValueError(
            f"delimiter {delimiter!r} must be one character other than a quote or a line break "
            "(for example ';' or tab)"
        )
    return text


def set_delimiter(delimiter: str | None) -> contextvars.Token[str | None]:
    """Set the delimiter of :func:`use_delimiter` until :func:`reset_delimiter` (for the CLI)."""
    return _DELIMITER.set(_check_delimiter(delimiter))


def reset_delimiter(token: contextvars.Token[str | None]) -> None:
    """Undo :func:`set_delimiter`."""
    _DELIMITER.reset(token)


def _fields(line: str, delimiter: str) -> int:
    """Delimiters in ``line`` outside double quotes."""
    count, quoted = 0, False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == delimiter and not quoted:
            count += 1
    return count


def csv_delimiter(path: str | os.PathLike[str], *, sample_bytes: int = 1 << 16) -> str:
    """Return the delimiter of the CSV file ``path``.

    The one set by :func:`use_delimiter`, if any. Otherwise, read the first ``sample_bytes``
    (decompressed), take its complete lines, and count each of :data:`CSV_DELIMITERS` outside
    double quotes on every line: a candidate is consistent when it occurs in the header and as
    often on every line. The consistent candidate with the most occurrences in the header wins
    (ties go to the earlier one in :data:`CSV_DELIMITERS`); when none is consistent, the most
    frequent in the header; a file with a single column is read with ``,``.
    """
    chosen = _DELIMITER.get()
    if chosen is not None:
        return chosen
    import pyarrow as pa

    try:
        with pa.input_stream(str(path), compression="detect") as stream:
            raw = stream.read(sample_bytes)
    except (OSError, pa.ArrowInvalid):
        return ","  # the reader reports the file
    text = raw.decode("utf-8", errors="replace")
    lines = text.splitlines()
    if len(raw) == sample_bytes and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    lines = [line for line in lines[:50] if line.strip()]
    if not lines:
        return ","
    header = {d: _fields(lines[0], d) for d in CSV_DELIMITERS}
    consistent = [
        d
        for d in CSV_DELIMITERS
        if header[d] > 0 and all(_fields(x, d) == header[d] for x in lines)
    ]
    pool = consistent or [d for d in CSV_DELIMITERS if header[d] > 0]
    if not pool:
        return ","
    return max(pool, key=lambda d: (header[d], -CSV_DELIMITERS.index(d)))


def is_frame(data: object) -> TypeIs[pd.DataFrame]:
    """Whether ``data`` is a pandas DataFrame, without importing pandas to find out.

    A DataFrame cannot exist before pandas is imported, so a file read never imports it.
    """
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(data, pandas.DataFrame)


def _arrow_from_pandas(frame: pd.DataFrame) -> pa.Table:
    import pandas as pd
    import pyarrow as pa

    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # mixed-type object columns: keep them as strings so validation can name the row
        columns = {}
        for name in frame.columns:
            try:
                columns[str(name)] = pa.array(frame[name], from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                text = frame[name].map(lambda v: None if pd.isna(v) else str(v))
                columns[str(name)] = pa.array(text, type=pa.string())
        return pa.table(columns)


def read_table(
    data: pd.DataFrame | pa.Table | str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    what: str = "input",
    error: type[Exception] = ValueError,
) -> pa.Table:
    """Return ``data`` as an Arrow table; files are read whole (rules in the module docstring).

    Raises
    ------
    error
        The path does not exist, a directory has no data files, or a file cannot be read; the
        message names the file (``what`` says what it holds, e.g. ``"cost table"``).
    """
    import pyarrow as pa

    if isinstance(data, pa.Table):
        return data
    if is_frame(data):
        return _arrow_from_pandas(data)
    files = resolve_files(data, what=what, error=error)
    tables = []
    for file in files.files:
        try:
            if files.kind == "parquet":
                import pyarrow.parquet as pq

                tables.append(pq.read_table(file))
            else:
                import pyarrow.csv as pacsv

                options = pacsv.ConvertOptions(strings_can_be_null=True)
                parse = pacsv.ParseOptions(delimiter=csv_delimiter(file))
                tables.append(pacsv.read_csv(file, parse_options=parse, convert_options=options))
        except (pa.ArrowInvalid, OSError) as exc:
            raise error(f"cannot read {what} file {file!r}: {' '.join(str(exc).split())}") from exc
    if len(tables) == 1:
        return tables[0]
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise error(
            f"cannot stack the {what} files {files.files[0]!r}, ...: {' '.join(str(exc).split())}"
            "; give every file the same columns and types"
        ) from exc


def read_frame(
    data: pd.DataFrame | pa.Table | str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    what: str = "input",
    error: type[Exception] = ValueError,
) -> pd.DataFrame:
    """Return ``data`` as a DataFrame (a DataFrame is returned as given); see :func:`read_table`."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    return read_table(data, what=what, error=error).to_pandas()
