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


def locate_raw_file(raw_dir: Path, name: str) -> Path:
    """``<raw_dir>/<name>.parquet`` if it exists, else ``<name>.csv``, as the dbt macro does."""
    for extension in ("parquet", "csv"):
        candidate = raw_dir / f"{name}.{extension}"
        if candidate.is_file():
            return candidate
    raise RawContractError(
        f"Raw file missing: {raw_dir / name}.csv (or .parquet) does not exist. "
        f"Put a '{name}' file in {raw_dir}, or unset RAW_DATA_DIR to use the demo data."
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
    """Locate raw file ``name`` and make sure it has every required column."""
    path = locate_raw_file(raw_dir, name)
    columns, row_count = read_columns(path)
    missing = [column for column in required_columns if column not in columns]
    if missing:
        raise RawContractError(
            f"Raw file {path} is missing required column(s) {', '.join(map(repr, missing))}. "
            f"The '{name}' file needs the columns {', '.join(required_columns)} "
            f"(see docs/raw_data_contract.md); it has {', '.join(columns) or 'none'}."
        )
    return RawFile(
        name=name,
        path=path,
        format=path.suffix.lstrip("."),
        columns=tuple(columns),
        size_bytes=path.stat().st_size,
        row_count=row_count,
    )
