"""Right to erasure: `python -m touchpoint_alchemy.erase <user_id>` removes every row about the
user from every table of the published warehouse and of its kept builds, through an atomic
publish, and from the Parquet exports of the marts, and leaves every other row alone.

The fixture is cohorts_small plus activity that spreads user c1 over every layer: an anonymous
visit on a device that c1 later logs in with (stitched to c1), a rejected touchpoint (the
quarantine keeps its raw record), an NPS answer and an experiment assignment; user c2 gets the
same kinds of rows, to show they stay.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from touchpoint_alchemy import snapshots

from builds import DATA_DIR, build_warehouse

USER = "c1"
# c1, c1's device (dev-c1), touchpoints (tp-c1-*), sessions (c1#n), response (r-c1) and orders
# o01-o03 (order lines, attribution journeys order:o01, ...), written as whole tokens.
MENTIONS = re.compile(r"(^|[^A-Za-z0-9])(c1|o01|o02|o03)($|[^A-Za-z0-9])")

EXTRA_ROWS = {
    "touchpoints.csv": [
        "tp-c1-a1,,dev-c1,2025-01-04T08:00:00Z,product_view,social,,/p/1,,",
        "tp-c1-a2,c1,dev-c1,2025-01-05T09:58:00Z,page_view,organic,,/p/1,,",
        "tp-c1-bad,c1,,not-a-time,product_view,organic,,/p/1,,",
        "tp-c2-1,c2,dev-c2,2025-01-31T22:00:00Z,product_view,paid_search,,/p/2,,",
        "tp-c2-bad,c2,,not-a-time,product_view,organic,,/p/2,,",
        "tp-x-1,,dev-x,2025-02-01T10:00:00Z,product_view,,,/p/3,,",
    ],
    "nps_responses.csv": [
        "r-c1,c1,2025-02-01T10:00:00Z,9,Fast delivery",
        "r-c2,c2,2025-02-02T10:00:00Z,3,Too expensive",
    ],
    "experiment_assignments.csv": [
        "exp-1,c1,treatment,2025-01-01T00:00:00Z",
        "exp-1,c2,control,2025-01-01T00:00:00Z",
    ],
}


def _string_columns(con) -> list[tuple[str, str, str, str]]:
    return con.execute(
        "select c.table_schema, c.table_name, c.column_name, t.table_type "
        "from information_schema.columns c join information_schema.tables t "
        "using (table_catalog, table_schema, table_name) "
        "where c.data_type = 'VARCHAR' and c.table_catalog = current_database() "
        "order by all"
    ).fetchall()


def census(path: Path) -> dict[str, tuple[int, int]]:
    """relation -> (rows, rows mentioning the user) for every table and view, scanning every
    text column of every row in Python (independent of the SQL the erasure uses)."""
    result = {}
    with duckdb.connect(str(path), read_only=True) as con:
        relations = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database() order by all"
        ).fetchall()
        text = {}
        for schema, table, column, _ in _string_columns(con):
            text.setdefault((schema, table), []).append(column)
        for schema, table in relations:
            rows = con.execute(f'select * from "{schema}"."{table}"').fetchall()
            names = [d[0] for d in con.description]
            positions = [names.index(c) for c in text.get((schema, table), [])]
            mentioning = sum(
                1
                for row in rows
                if any(row[i] is not None and MENTIONS.search(row[i]) for i in positions)
            )
            result[f"{schema}.{table}"] = (len(rows), mentioning)
    return result


def export_census(folder: Path) -> dict[str, tuple[int, int]]:
    """Parquet file (relative to ``folder``) -> (rows, rows mentioning the user), for every
    file of every export set, current (through the ``marts`` link) or not, read with pyarrow."""
    result = {}
    files = [
        Path(parent) / name
        for parent, _, names in os.walk(folder, followlinks=True)
        for name in names
        if name.endswith(".parquet")
    ]
    for file in sorted(files):
        rows = pq.read_table(file).to_pylist()
        mentioning = sum(
            1
            for row in rows
            if any(isinstance(v, str) and MENTIONS.search(v) for v in row.values())
        )
        result[str(file.relative_to(folder))] = (len(rows), mentioning)
    return result


@pytest.fixture(scope="module")
def raw_dir(tmp_path_factory) -> Path:
    raw = tmp_path_factory.mktemp("erasure_raw")
    for source in (DATA_DIR / "cohorts_small").glob("*.csv"):
        shutil.copy(source, raw / source.name)
    for name, lines in EXTRA_ROWS.items():
        text = (raw / name).read_text()
        (raw / name).write_text(text.rstrip("\n") + "\n" + "\n".join(lines) + "\n")
    return raw


@pytest.fixture(scope="module")
def built(raw_dir, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("erasure") / "warehouse.duckdb"
    assert build_warehouse(raw_dir, path).success
    return path


def erase(path: Path, user_id: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "touchpoint_alchemy.erase", user_id, "--warehouse", str(path)],
        capture_output=True,
        text=True,
    )


def test_erasure_removes_every_row_about_the_user_and_nothing_else(built, raw_dir, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(built, path)
    shutil.copytree(built.parent / "exports", tmp_path / "exports", symlinks=True)
    exported = tmp_path / "exports" / "warehouse" / "marts"
    exports_before = export_census(tmp_path / "exports")
    # the build exported the marts; the customers export holds the user
    assert exports_before["warehouse/marts/customers/customers.parquet"][1] > 0
    # a kept (unpublished) build holds the user too
    kept = snapshots.working_path(path, "failed-run")
    kept.parent.mkdir(parents=True)
    shutil.copy(built, kept)
    before = census(path)
    mentioned = {name for name, (_, n) in before.items() if n}
    # the user is everywhere before: every layer, the quarantine, the stitched device
    assert {name.split(".")[0] for name in mentioned} == {
        "staging",
        "audit",
        "intermediate",
        "marts",
        "scoring",
    }
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute(
            "select user_id from intermediate.int_identity_map where anonymous_id = 'dev-c1'"
        ).fetchall() == [(USER,)]
        stitched = con.execute(
            "select actor_id from intermediate.int_touchpoints where touchpoint_id = 'tp-c1-a1'"
        ).fetchall()
        assert stitched == [(USER,)]
        old_run = snapshots.build_info(con)[0]

    out = erase(path, USER)
    assert out.returncode == 0, out.stderr

    for file in (path, kept):
        after = census(file)
        assert after.keys() == before.keys()
        for name, (rows, mentioning) in before.items():
            assert after[name] == (rows - mentioning, 0), name
    with duckdb.connect(str(path), read_only=True) as con:
        run_id, _ = snapshots.build_info(con)
        # c2's anonymous-free rows, device and answers are still there: every raw touchpoint
        # of c2's (valid or not) is in base_touchpoints
        with (raw_dir / "touchpoints.csv").open(newline="") as file:
            raw = list(csv.DictReader(file))
        c2_rows = sum(row["user_id"] == "c2" for row in raw)
        assert c2_rows >= 2
        assert con.execute(
            "select count(*) from staging.base_touchpoints where user_id = 'c2'"
        ).fetchone() == (c2_rows,)
        # the other users' devices stay stitched (each device logs in as one user here)
        linked = {
            r["anonymous_id"]
            for r in raw
            if r["anonymous_id"] and r["user_id"] and r["user_id"] != USER
        }
        assert len(linked) >= 1
        assert con.execute("select count(*) from intermediate.int_identity_map").fetchone() == (
            len(linked),
        )
    assert run_id.startswith("erasure-") and run_id != old_run
    # the exports: exported again from the erased snapshot, the user in no file of any set
    exports_after = export_census(tmp_path / "exports")
    tables_after = census(path)
    assert exports_after and not [f for f, (_, n) in exports_after.items() if n]
    assert {f for f in exports_after if f.startswith("warehouse/marts/")} == {
        f for f in exports_before if f.startswith("warehouse/marts/")
    }
    for file, (rows, _) in exports_after.items():
        if file.startswith("warehouse/marts/"):
            mart = file.split("/")[2]
            assert rows == tables_after[f"marts.{mart}"][0], file
    assert len(list((tmp_path / "exports" / "warehouse" / ".sets").iterdir())) == 1
    assert json.loads((exported / "_export.json").read_text())["run_id"] == run_id
    # no working copy of the erasure is left behind
    assert snapshots.kept_builds(path) == [kept]


def test_erasure_waits_for_a_running_build(built, tmp_path):
    """A build holding its working copy would publish the user again: the erasure refuses and
    changes nothing."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(built, path)
    running = snapshots.working_path(path, "running-run")
    running.parent.mkdir(parents=True)
    shutil.copy(built, running)
    before = path.read_bytes()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, duckdb; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
            "sys.stdin.read()",
            str(running),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        out = erase(path, USER)
    finally:
        holder.communicate("", timeout=30)
    assert out.returncode != 0
    assert "a build is running" in out.stderr
    assert path.read_bytes() == before
