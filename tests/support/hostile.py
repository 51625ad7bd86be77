"""One hostile build shared by the hostile-input, injection and consent tests.

A single build is the budget: the raw folder is the small cohorts_small fixture plus hostile rows,
each tagged by its key (``hx-...``), so every row-level case is one row of one file and the
tests look it up by key. The same build carries the injection attempts (the raw folder's path,
the funnel config, the hash salt and the data values all try to drop ``sentinel.keep``), and it
runs *into a copy of the cohorts_small warehouse* with user c1's consent withdrawn, so it is also
the "next run" of the consent test (a full refresh where the build has incremental models).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from inspect import signature
from pathlib import Path
from typing import ClassVar

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from touchpoint_alchemy.settings import DBT_PROJECT_DIR, Settings

from builds import DATA_DIR, build_warehouse

SENTINEL = "sentinel.keep"
#: every injection attempt tries to run this statement
DROP = f"'); drop table {SENTINEL}; --"
#: the raw folder's name: a quote, a statement, a comment and Jinja
RAW_FOLDER_NAME = "raw x'; drop table sentinel.keep; -- {{ 7 * 7 }}"
HASH_SALT = "salt'; drop table sentinel.keep; --"
#: the consenting user whose consent the hostile run withdraws
WITHDRAWN_USER = "c1"
INJECTED_FUNNEL = {
    "name": f"steps{DROP}",
    "window_days": 2,
    "steps": ["product_view", f"add_to_cart{DROP}"],
}
TEN_MB = 10_000_000
JSON_DEPTH = 100_000
JSON_LARGE_KEYS = 200_000
SQL_TEXT = [
    f"x{DROP}",
    "' or '1'='1",
    '"; drop schema marts cascade; --',
    "$$; drop table sentinel.keep; $$",
    "\\'; drop table sentinel.keep; --",
    "{{ run_query('drop table sentinel.keep') }}",
    "{% do run_query('drop table sentinel.keep') %}",
]


@dataclass(frozen=True)
class HostileBuild:
    raw_dir: Path
    warehouse_path: Path
    before_path: Path  # the warehouse as the previous run left it (copy, untouched)
    result: object

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.warehouse_path), read_only=True)


def csv_field(value: str | None) -> str:
    if value is None:
        return ""
    if any(c in value for c in ',"\n\r') or value != value.strip():
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_text(rows: list[list[str | None]], newline: str = "\n") -> str:
    return "".join(",".join(csv_field(v) for v in row) + newline for row in rows)


def _read_rows(path: Path) -> list[list[str]]:
    lines = path.read_text().splitlines()
    return [line.split(",") for line in lines]  # the fixture has no quoted fields


def users_rows() -> list[list[str | None]]:
    rows = _read_rows(DATA_DIR / "cohorts_small" / "users.csv")
    header, good = rows[0], rows[1:]
    for row in good:
        if row[0] == WITHDRAWN_USER:
            row[7] = "false"
    t = "2025-01-01T00:00:00Z"
    hostile = [
        # every text field SQL-looking; a valid user
        [
            f"hx-sql-user{DROP}",
            t,
            *SQL_TEXT[1:4],
            f"x'{DROP}@example.com",
            "+1 (555) 010-9999",
            "true",
        ],
        ["hx-unicode-user", t, "微信", "📱", "北京 🚀", None, None, "true"],
        ["../../etc/passwd", t, "organic", "mobile", "..\\..\\windows", None, None, "true"],
        ["hx-before-1970", "1969-12-31T23:59:59Z", "organic", None, None, None, None, "true"],
        ["hx-after-2100", "2101-01-01T00:00:00Z", "organic", None, None, None, None, "true"],
        ["hx-year-294277", "294277-01-01T00:00:00Z", "organic", None, None, None, None, "true"],
        ["hx-consent-sql", t, "organic", None, None, None, None, "true' or '1'='1"],
    ]
    return [header, *good, *hostile]


def touchpoints_rows() -> list[list[str | None]]:
    rows = _read_rows(DATA_DIR / "cohorts_small" / "touchpoints.csv")
    header, good = rows[0], rows[1:]

    def tp(key, occurred_at="2025-02-01T09:00:00Z", dwell=None, properties=None, **text):
        return [
            key,
            text.get("user_id", "c2"),
            text.get("anonymous_id"),
            occurred_at,
            text.get("touchpoint", "product_view"),
            text.get("channel", "organic"),
            text.get("campaign"),
            text.get("page", "/p/1"),
            dwell,
            properties,
        ]

    deep = "[" * JSON_DEPTH + "]" * JSON_DEPTH
    large = json.dumps({f"k{i}": i for i in range(JSON_LARGE_KEYS)})
    hostile = [
        tp("hx-newline-comma", campaign='spring, "sale"\nline two', page="/p/a,b\nc"),
        tp("hx-offset-plus", "2025-02-01T10:00:00+05:30"),
        tp("hx-offset-z", "2025-02-01T04:30:00Z"),
        tp("hx-offset-none", "2025-02-01 04:30:00"),
        tp("hx-offset-minus", "2025-01-31T20:30:00-08:00"),
        tp("hx-ts-infinity", "infinity"),
        tp("hx-ts-1950", "1950-06-01T00:00:00Z"),
        tp("hx-ts-2150", "2150-01-01T00:00:00Z"),
        tp("hx-dwell-text", dwell="12 ms"),
        tp("hx-dwell-huge", dwell="99999999999999999999999"),
        tp("hx-dwell-2p53-fraction", dwell="9007199254740993.5"),
        tp("hx-dwell-2p53", dwell="9007199254740993"),
        tp("hx-dwell-nan", dwell="NaN"),
        tp("hx-dwell-infinity", dwell="Infinity"),
        tp("hx-unicode-tp", campaign="双十一🔥", page="/商品/👟"),
        tp(
            f"hx-sql-tp{DROP}",
            anonymous_id=SQL_TEXT[1],
            touchpoint=f"product_view{DROP}",
            channel=SQL_TEXT[3],
            campaign=SQL_TEXT[4],
            page=SQL_TEXT[5],
            properties=json.dumps({"q": SQL_TEXT[6]}),
        ),
        tp("../../etc/passwd", anonymous_id="..\\..\\windows\\system32", page="file:///etc/passwd"),
        tp("hx-json-deep", properties=deep),
        tp("hx-json-deep-broken", properties="[" * JSON_DEPTH),
        tp("hx-json-large", properties=large),
        tp("hx-10mb-field", page="x" * TEN_MB),
    ]
    return [header, *good, *hostile]


def orders_rows() -> list[list[str | None]]:
    rows = _read_rows(DATA_DIR / "cohorts_small" / "orders.csv")
    header, good = rows[0], rows[1:]

    def order(key, amount="10.00", created_at="2025-03-01T10:00:00Z", status="pending", **text):
        return [
            key,
            text.get("user_id", "c2"),
            created_at,
            None,
            status,
            amount,
            None,
            text.get("currency", "EUR"),
        ]

    hostile = [
        order("hx-amount-comma", "12,50"),
        order("hx-amount-word", "ten"),
        order("hx-amount-1e30", "1e30"),
        order("hx-amount-max", "9999999999999999.99"),
        order("hx-amount-nan", "NaN"),
        order("hx-amount-infinity", "Infinity"),
        order("hx-amount-minus-infinity", "-Infinity"),
        order("hx-created-1900", created_at="1900-01-01T00:00:00Z"),
        order("hx-created-2101", created_at="2101-01-01T00:00:00Z"),
        order(f"hx-sql-order{DROP}", currency=SQL_TEXT[4]),
        order("hx-sql-status", status=f"paid{DROP}"),
        order("/etc/shadow"),
    ]
    return [header, *good, *hostile]


def experiment_rows() -> list[list[str | None]]:
    t = "2025-02-01T00:00:00Z"
    return [
        ["experiment_id", "user_id", "variant", "assigned_at"],
        [f"exp{DROP}", "c2", "control", t],
        [f"exp{DROP}", "c3", "treatment", t],
        ["{{ 7 * 7 }}", "c4", "control", t],
        ["{{ 7 * 7 }}", "c6", f"variant{DROP}", t],
        ["../../etc/passwd", "c7", "control", t],
    ]


def marketing_spend_table() -> pa.Table:
    """Parquet with the right names but the wrong types: every value is read as text."""
    rows = [
        ("2025-01-01", "paid_search", None, 250.0, "20000", 400.0),
        ("2025-01-02", "hx-spend-nan", None, float("nan"), None, None),
        ("2025-01-02", "hx-spend-infinity", None, float("inf"), None, None),
        ("2025-01-02", "hx-clicks-fraction", None, 1.0, None, 1.5),
        ("1969-07-20", "hx-before-1970", None, 1.0, None, None),
        ("2101-01-01", "hx-after-2100", None, 1.0, None, None),
    ]
    import datetime as dt

    columns = list(zip(*rows, strict=True))
    return pa.table(
        {
            "spend_date": pa.array([dt.date.fromisoformat(v) for v in columns[0]], pa.date32()),
            "channel": pa.array(columns[1], pa.string()),
            "campaign": pa.array(columns[2], pa.string()),
            "spend": pa.array(columns[3], pa.float64()),
            "impressions": pa.array(columns[4], pa.string()),
            "clicks": pa.array(columns[5], pa.float64()),
            "extra_struct": pa.array([{"a": 1}] * len(rows)),
        }
    )


def write_hostile_raw(raw: Path) -> None:
    raw.mkdir(parents=True)
    shutil.copy(DATA_DIR / "cohorts_small" / "order_items.csv", raw / "order_items.csv")
    shutil.copy(DATA_DIR / "cohorts_small" / "nps_responses.csv", raw / "nps_responses.csv")
    with (raw / "order_items.csv").open("a") as file:
        file.write("o01,90,hx-qty-nan,x,NaN,1.00\no01,91,hx-price-infinity,x,1,Infinity\n")
    # UTF-8 with a byte-order mark
    (raw / "users.csv").write_bytes(b"\xef\xbb\xbf" + csv_text(users_rows()).encode())
    (raw / "touchpoints.csv").write_text(csv_text(touchpoints_rows()), encoding="utf-8")
    # Windows line endings
    (raw / "orders.csv").write_bytes(csv_text(orders_rows(), newline="\r\n").encode())
    (raw / "experiment_assignments.csv").write_text(csv_text(experiment_rows()))
    pq.write_table(marketing_spend_table(), raw / "marketing_spend.parquet")


def default_funnels() -> list[dict]:
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    return project["vars"]["funnels"]


def _resources_with_vars(extra_vars: dict):
    """``build_resources`` whose warehouse passes extra dbt vars (the funnel config) to dbt."""
    from orchestration import resources

    class WarehouseWithVars(resources.WarehouseResource):
        extra: ClassVar[dict] = extra_vars

        def dbt_vars(self) -> dict:
            return {**super().dbt_vars(), **self.extra}

    original = resources.build_resources

    def build(settings: Settings | None = None) -> dict:
        built = original(settings)
        built["warehouse"] = WarehouseWithVars.from_settings(settings or Settings.from_env())
        return built

    return build


def tables(path: Path) -> set[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            f"{schema}.{name}"
            for schema, name in con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_catalog = current_database()"
            ).fetchall()
        }


_BUILD: dict[str, HostileBuild] = {}


def hostile_build(tmp_path_factory, previous_warehouse: Path) -> HostileBuild:
    """Build once per session: the hostile raw folder into a copy of ``previous_warehouse`` (the
    cohorts_small build, where c1 still consents) holding ``sentinel.keep``."""
    if "build" in _BUILD:
        return _BUILD["build"]
    base = tmp_path_factory.mktemp("hostile")
    raw = base / RAW_FOLDER_NAME
    write_hostile_raw(raw)
    warehouse = base / "warehouse.duckdb"
    shutil.copy(previous_warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema sentinel")
        con.execute(f"create table {SENTINEL} as select 42 as answer")
    before = base / "before.duckdb"
    shutil.copy(warehouse, before)

    # conftest.build_warehouse, with the funnel config passed as dbt vars and a hostile salt
    from orchestration import resources

    original = resources.build_resources
    resources.build_resources = _resources_with_vars(
        {"funnels": [*default_funnels(), INJECTED_FUNNEL]}
    )
    previous_salt = os.environ.get("PII_HASH_SALT")
    os.environ["PII_HASH_SALT"] = HASH_SALT
    # A full refresh where the build has incremental models: the hostile files rewrite history
    # (rows from 1900 to 2150), which an incremental run by design does not reprocess.
    refresh = (
        {"full_refresh": True} if "full_refresh" in signature(build_warehouse).parameters else {}
    )
    try:
        result = build_warehouse(raw, warehouse, raise_on_error=False, **refresh)
    finally:
        resources.build_resources = original
        if previous_salt is None:
            os.environ.pop("PII_HASH_SALT", None)
        else:
            os.environ["PII_HASH_SALT"] = previous_salt
    _BUILD["build"] = HostileBuild(raw, warehouse, before, result)
    return _BUILD["build"]


def dbt_parse(tmp_path: Path, extra_env: dict, *args: str) -> subprocess.CompletedProcess:
    """``dbt parse`` into a private target folder (the shared manifest is left alone)."""
    return dbt_command(tmp_path, extra_env, "parse", *args)


def dbt_command(
    tmp_path: Path, extra_env: dict, command_name: str, *args: str
) -> subprocess.CompletedProcess:
    """A dbt command with a private target folder, log folder and warehouse file."""
    env = {
        **os.environ,
        "WAREHOUSE_DUCKDB_PATH": str(tmp_path / "unused.duckdb"),
        # plain dbt writes the development database (profiles.yml's default target)
        "DBT_DEV_DUCKDB_PATH": str(tmp_path / "unused.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        **extra_env,
    }
    dbt = Path(sys.executable).parent / "dbt"
    command = [str(dbt), command_name, "--target-path", str(tmp_path / "target")]
    command += ["--log-path", str(tmp_path / "logs"), *args]
    return subprocess.run(
        command, cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True, check=False
    )
