"""Checks raw files against the raw data contract before any model runs.

The contract's column lists live in one place, the ``raw`` source of the dbt project
(``dbt_project/models/staging/__sources.yml``); callers pass them in. The check reads only the
header (CSV) or the schema (Parquet), with the same CSV dialect the dbt models use, so it costs
no pass over the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb


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


def read_columns(path: Path) -> tuple[list[str], int | None]:
    """Column names of a raw file, and its row count when the format stores it."""
    con = duckdb.connect()
    try:
        if path.suffix == ".parquet":
            relation = con.sql("select * from read_parquet($path)", params={"path": str(path)})
            count = con.execute(
                "select sum(num_rows) from parquet_file_metadata($path)", {"path": str(path)}
            ).fetchone()
            return list(relation.columns), int(count[0]) if count and count[0] is not None else 0
        relation = con.sql(
            "select * from read_csv($path, header = true, all_varchar = true, "
            "delim = ',', quote = '\"', escape = '\"')",
            params={"path": str(path)},
        )
        return list(relation.columns), None
    except duckdb.Error as error:
        raise RawContractError(f"Raw file {path} cannot be read: {error}") from error
    finally:
        con.close()


def check_raw_file(raw_dir: Path, name: str, required_columns: list[str]) -> RawFile:
    """Locate raw file ``name`` and make sure it has every required column; for a folder of
    Parquet parts, every part must have them (the error names the part)."""
    path = locate_raw_file(raw_dir, name)
    files = parquet_parts(path) if path.is_dir() else [path]
    columns: list[str] = []
    row_count: int | None = 0
    for file in files:
        file_columns, count = read_columns(file)
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
    return RawFile(
        name=name,
        path=path,
        format="parquet folder" if path.is_dir() else path.suffix.lstrip("."),
        columns=tuple(columns),
        size_bytes=sum(file.stat().st_size for file in files),
        row_count=row_count,
    )
