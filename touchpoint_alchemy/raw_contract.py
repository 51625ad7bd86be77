"""Checks raw files against the raw data contract before any model runs.

The contract's column lists live in one place, the ``raw`` source of the dbt project
(``dbt_project/models/staging/__sources.yml``); callers pass them in. The check reads only the
header (CSV) or the schema (Parquet), with the same CSV dialect the dbt models use, plus one
streaming UTF-8 check of a CSV file (about a second per GB), so a file that DuckDB could only
reject halfway through a model fails here, with a message naming the file and the line.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

import duckdb

from touchpoint_alchemy.sql import quote_literal

#: The CSV dialect of the raw files; the dbt macro ``read_raw`` reads with the same options.
#: ``max_line_size``: a row (a 10 MB JSON ``properties`` value included) may be up to 32 MB.
CSV_OPTIONS = (
    "header = {header}, all_varchar = true, delim = ',', quote = '\"', escape = '\"', "
    "max_line_size = 33554432"
)
_UTF8_CHUNK = 1 << 24
#: Leading bytes of formats that are sometimes saved under the wrong extension.
_MAGIC = {b"PAR1": "a Parquet file", b"\x1f\x8b": "gzip-compressed", b"PK\x03\x04": "a zip archive"}


class RawContractError(ValueError):
    """A raw file breaks the contract: missing, unreadable, or lacking a column."""


@dataclass(frozen=True)
class RawFile:
    name: str
    path: Path
    format: str
    columns: tuple[str, ...]
    size_bytes: int
    row_count: int | None  # known without a scan for Parquet only
    #: each file read (the parts of a folder, or the file itself) and its row count (Parquet)
    parts: tuple[tuple[Path, int | None], ...] = ()


def parquet_parts(folder: Path) -> list[Path]:
    """The Parquet parts of a folder-per-file raw input, at any depth (Hive ``date=...``
    folders included), in name order."""
    return sorted(p for p in folder.rglob("*.parquet") if p.is_file())


def locate_raw_file(raw_dir: Path, name: str) -> Path:
    """``<raw_dir>/<name>.parquet`` if it exists, else a folder ``<name>/`` of Parquet parts,
    else ``<name>.csv``, as the dbt macro ``raw_file_path`` does."""
    candidate = raw_dir / f"{name}.parquet"
    if candidate.is_file():
        return candidate
    folder = raw_dir / name
    if folder.is_dir() and parquet_parts(folder):
        return folder
    candidate = raw_dir / f"{name}.csv"
    if candidate.is_file():
        return candidate
    raise RawContractError(
        f"Raw file missing: neither {raw_dir / name}.parquet, a folder {raw_dir / name}/ of "
        f"Parquet parts, nor {raw_dir / name}.csv exists. Put a '{name}' file in {raw_dir}, or "
        "unset RAW_DATA_DIR to use the demo data."
    )


def raw_relation(raw_dir: Path, name: str) -> str:
    """A DuckDB relation (SQL text) over raw file ``name`` as :func:`locate_raw_file` finds it,
    read as the dbt macro ``read_raw`` reads it: CSV every column as text, Parquet as stored, a
    folder of Parquet parts at any depth by column name."""
    path = locate_raw_file(raw_dir, name)
    if path.is_dir():
        # a folder name may hold glob characters: [ * ? match themselves (as in read_raw.sql)
        folder = "".join(f"[{c}]" if c in "[*?" else c for c in str(path))
        return f"read_parquet({quote_literal(folder + '/**/*.parquet')}, union_by_name = true)"
    if path.suffix == ".parquet":
        return f"read_parquet({quote_literal(str(path))})"
    return f"read_csv({quote_literal(str(path))}, {CSV_OPTIONS.format(header='true')})"


def _duckdb_reason(error: duckdb.Error) -> str:
    """DuckDB's message without the offending line's text (it may hold PII) and without its
    "Possible Solution" advice about reader options the contract fixes."""
    kept = []
    for line in str(error).strip().splitlines():
        if not line.strip():
            break
        if not line.startswith("Original Line"):
            kept.append(line.strip())
    return " ".join(kept)


def _check_format(path: Path) -> None:
    """A file that is empty, or not what its extension says, fails with a message saying so."""
    size = path.stat().st_size
    if size == 0:
        raise RawContractError(
            f"Raw file {path} is empty (0 bytes). A CSV file needs at least its header row; "
            "a Parquet file needs its schema."
        )
    with path.open("rb") as file:
        head = file.read(4)
    kind = next((kind for magic, kind in _MAGIC.items() if head.startswith(magic)), None)
    if path.suffix == ".parquet" and head != b"PAR1":
        raise RawContractError(
            f"Raw file {path} is not a Parquet file (it does not start with the Parquet magic "
            "bytes PAR1). If it is CSV text, name it .csv."
        )
    if path.suffix != ".parquet" and kind is not None:
        advice = "name it .parquet" if kind == "a Parquet file" else "decompress it"
        raise RawContractError(f"Raw file {path} is {kind}, not CSV text: {advice}.")


def _check_utf8(path: Path) -> None:
    """Stream the file through a UTF-8 decoder; name the line of the first invalid byte."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = newlines = 0
    with path.open("rb") as file:
        while chunk := file.read(_UTF8_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                start = max(error.start - len(error.object) + len(chunk), 0)
                line = newlines + chunk.count(b"\n", 0, start) + 1
                raise RawContractError(
                    f"Raw file {path} is not UTF-8 text: invalid byte 0x{chunk[start]:02x} at "
                    f"line {line} (byte {offset + start}). Save it as UTF-8, for example "
                    f"`iconv -f GBK -t UTF-8` for a Chinese Windows export."
                ) from None
            newlines += chunk.count(b"\n")
            offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise RawContractError(
            f"Raw file {path} is not UTF-8 text: it ends inside a multi-byte character."
        ) from None


def _described_columns(con: duckdb.DuckDBPyConnection, reader: str, path: Path) -> list[str]:
    """The column names of ``select * from <reader>``, from DESCRIBE with the path as a literal:
    the query is bound, not run, so only the Parquet footer or the CSV sniffer's sample is read.
    (With the path as a parameter, DuckDB runs the prepared DESCRIBE's query in full: 6 s and
    the whole file in memory for 5M rows.)"""
    sql = "describe select * from " + reader.replace("$path", quote_literal(str(path)))
    return [row[0] for row in con.execute(sql).fetchall()]


def read_columns(path: Path) -> tuple[list[str], int | None]:
    """Column names of a raw file, and its row count when the format stores it. A header that
    names a column twice fails: which of the two the models should read would be a guess."""
    _check_format(path)
    con = duckdb.connect()
    try:
        if path.suffix == ".parquet":
            # the schema, never the rows (a relation built with parameters is executed and held
            # in memory: about 10 GiB at 48M rows)
            names = _described_columns(con, "read_parquet($path)", path)
            count = con.execute(
                "select sum(num_rows) from parquet_file_metadata(" + quote_literal(str(path)) + ")"
            ).fetchone()
            return names, int(count[0]) if count and count[0] is not None else 0
        _check_utf8(path)
        header = con.execute(
            f"select * from read_csv({quote_literal(str(path))}, "
            f"{CSV_OPTIONS.format(header='false')}) limit 1"
        ).fetchone()
        names = [str(name).strip() for name in header or () if name is not None]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise RawContractError(
                f"Raw file {path} has duplicate column(s) {', '.join(map(repr, duplicates))} "
                "in its header; each column may appear once."
            )
        return _described_columns(
            con, f"read_csv($path, {CSV_OPTIONS.format(header='true')})", path
        ), None
    except duckdb.Error as error:
        raise RawContractError(f"Raw file {path} cannot be read: {_duckdb_reason(error)}") from None
    finally:
        con.close()


def check_raw_file(raw_dir: Path, name: str, required_columns: list[str]) -> RawFile:
    """Locate raw file ``name`` and make sure it has every required column; for a folder of
    Parquet parts, every part must have them (the error names the part)."""
    path = locate_raw_file(raw_dir, name)
    files = parquet_parts(path) if path.is_dir() else [path]
    columns: list[str] = []
    row_count: int | None = 0
    parts: list[tuple[Path, int | None]] = []
    for file in files:
        try:
            file_columns, count = read_columns(file)
        except OSError as error:
            raise RawContractError(
                f"Raw file {file} cannot be read: {error.strerror or error}"
            ) from None
        missing = [column for column in required_columns if column not in file_columns]
        if missing:
            raise RawContractError(
                f"Raw file {file} is missing required column(s) "
                f"{', '.join(map(repr, missing))}. The '{name}' file needs the columns "
                f"{', '.join(required_columns)} (see docs/raw_data_contract.md); it has "
                f"{', '.join(file_columns) or 'none'}."
            )
        columns = columns or file_columns
        row_count = None if count is None or row_count is None else row_count + count
        parts.append((file, count))
    return RawFile(
        name=name,
        path=path,
        format="parquet folder" if path.is_dir() else path.suffix.lstrip("."),
        columns=tuple(columns),
        size_bytes=sum(file.stat().st_size for file in files),
        row_count=row_count,
        parts=tuple(parts),
    )
