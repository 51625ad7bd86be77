"""touchpoint_alchemy.raw_contract.read_columns: a raw file's header (and a Parquet file's row
count) read with the path written into the SQL as a quoted literal, never as a parameter
(DECISIONLOG 138)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from touchpoint_alchemy.raw_contract import RawContractError, read_columns


def _files(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True)
    csv = folder / "orders.csv"
    csv.write_text("order_id,user_id,amount\no1,u1,3.5\no2,u2,4\n", encoding="utf-8")
    parquet = folder / "orders.parquet"
    con = duckdb.connect()
    con.execute(
        "copy (select 'o' || i as order_id, i * 1.5 as amount from range(7) t(i)) to "
        + "'"
        + str(parquet).replace("'", "''")
        + "' (format parquet)"
    )
    return csv, parquet


def test_a_path_with_a_quote_is_read_as_a_name(tmp_path):
    csv, parquet = _files(tmp_path / "o'brien's data")
    assert read_columns(csv) == (["order_id", "user_id", "amount"], None)
    assert read_columns(parquet) == (["order_id", "amount"], 7)


def test_a_duplicate_header_still_fails_naming_the_file(tmp_path):
    folder = tmp_path / "it's here"
    folder.mkdir()
    csv = folder / "users.csv"
    csv.write_text("user_id,email,user_id\nu1,a@example.com,u1\n", encoding="utf-8")
    with pytest.raises(RawContractError, match=r"it's here/users\.csv.*'user_id'"):
        read_columns(csv)


def test_reading_headers_does_not_import_pandas(tmp_path):
    # DuckDB imports pandas (about 0.3 s) on a connection's first query with parameters; the
    # raw-file check is the first step of every run, before the warm-up thread (warmup.py)
    csv, parquet = _files(tmp_path / "raw")
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from touchpoint_alchemy.raw_contract import read_columns\n"
        f"read_columns(Path({str(csv)!r}))\n"
        f"read_columns(Path({str(parquet)!r}))\n"
        "print('pandas' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
