"""The PII hashing key is written down nowhere (issue #16).

One build of the small cohorts_small fixture, with the demo's 2,000 users added, (what is written
down does not depend on the size of the data; a build costs most of a minute whatever its size) with
a sentinel key (a long random ``PII_HASH_SALT``), made the way ``make run`` makes it: ``make
manifest`` (``python -m orchestration.parse``), then ``dagster asset materialize --select '*'``
through the Dagster CLI with the run log written by
``orchestration.console``, then ``make docs-site`` (the generation part of ``make docs``). Every
file under the project folder (``dbt_project/target`` and ``dbt_project/logs`` included), the
build's own dbt target folder, the Dagster home, the log folder, the docs site, the published
warehouse and the journey report is then searched byte by byte for the key, its hex, base64 and
UTF-16 forms and the two HMAC pads derived from it (raw and hex); the published warehouse is also
searched through DuckDB (every text column of every table, every view definition, every macro),
because DuckDB compresses the strings it stores.

The same build checks the hashes themselves: HMAC-SHA-256 with the sentinel as the key, computed
here with Python's ``hmac`` module from the raw users file, and the key's fingerprint in
``audit.build_info()``.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import json
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from orchestration.run_config import build_run_config
from touchpoint_alchemy.settings import (
    DEMO_RAW_DATA_DIR,
    REPO_ROOT,
    last_partition_key,
)

from builds import DATA_DIR

#: 61 bytes: at most one SHA-256 block, so the HMAC pads are the key itself XOR 0x36 / 0x5c
SENTINEL = "tpa-sentinel-" + secrets.token_hex(24)
BIN = Path(sys.executable).parent
CHUNK = 16 * 1024 * 1024
SMALL = DATA_DIR / "cohorts_small"


def forbidden_forms(key_text: str) -> dict[str, bytes]:
    """The key and what would give it away, as bytes to search for (RFC 2104 pads, by hand)."""
    key = key_text.encode()
    assert len(key) <= 64
    block = key + b"\0" * (64 - len(key))
    ipad = bytes(b ^ 0x36 for b in block)
    opad = bytes(b ^ 0x5C for b in block)
    return {
        "the key": key,
        "the key in UTF-16": key_text.encode("utf-16-le"),
        "the key in hex": key.hex().encode(),
        "the key in upper-case hex": key.hex().upper().encode(),
        # base64 of a longer text holding the key, at each of the three byte alignments: the
        # characters that depend on the key's bytes only
        **{
            f"the key in base64 (alignment {shift})": base64.b64encode(b"\0" * shift + key)[
                (4 if shift else 0) : -4
            ]
            for shift in range(3)
        },
        "the HMAC inner pad": ipad,
        "the HMAC outer pad": opad,
        "the HMAC inner pad in hex": ipad.hex().encode(),
        "the HMAC outer pad in hex": opad.hex().encode(),
        "the HMAC inner pad in upper-case hex": ipad.hex().upper().encode(),
        "the HMAC outer pad in upper-case hex": opad.hex().upper().encode(),
    }


FORMS = forbidden_forms(SENTINEL)


@dataclass(frozen=True)
class SecretBuild:
    work: Path
    warehouse: Path
    dagster_home: Path
    logs: Path
    docs_site: Path
    target: Path
    report: Path


def _run(command: list[str], env: dict[str, str], cwd: Path, what: str) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    output = f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    assert result.returncode == 0, f"{what} failed:\n{output}"
    return result.stdout


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> SecretBuild:
    work = tmp_path_factory.mktemp("salt_secrecy")
    built = SecretBuild(
        work=work,
        warehouse=work / "data" / "warehouse.duckdb",
        dagster_home=work / "dagster_home",
        logs=work / "logs",
        docs_site=work / "docs_site",
        target=work / "dbt_target",
        report=work / "data" / "reports" / "journey_report.html",
    )
    built.dagster_home.mkdir()
    # make instance: a Dagster home without a dagster.yaml gets the storage of make run
    _run(
        ["make", "--no-print-directory", "-s", "instance", f"DAGSTER_HOME={built.dagster_home}"],
        dict(os.environ),
        REPO_ROOT,
        "make instance",
    )
    # the small fixture, with the demo's 2,000 users added (e-mails and phones to hash)
    raw = work / "raw"
    shutil.copytree(SMALL, raw)
    demo_users = (DEMO_RAW_DATA_DIR / "users.csv").read_text(encoding="utf-8").splitlines()
    small_users = (SMALL / "users.csv").read_text(encoding="utf-8").splitlines()
    assert demo_users[0] == small_users[0]
    (raw / "users.csv").write_text("\n".join(small_users + demo_users[1:]) + "\n", encoding="utf-8")
    env = {
        name: value
        for name, value in os.environ.items()
        if name
        not in (
            "DATA_CUTOFF",
            "TOUCHPOINT_ENV",
            "WAREHOUSE_TARGET",
            "DBT_LOG_PATH",
            "DBT_LOG_LEVEL_FILE",
        )
    }
    env.update(
        RAW_DATA_DIR=str(raw),
        PII_HASH_SALT=SENTINEL,
        DAGSTER_HOME=str(built.dagster_home),
        WAREHOUSE_DUCKDB_PATH=str(built.warehouse),
        DBT_TARGET_PATH=str(built.target),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DO_NOT_TRACK="1",
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    # make manifest
    _run([str(BIN / "python"), "-m", "orchestration.parse"], env, REPO_ROOT, "make manifest")
    # make run: the Dagster CLI (as make run starts it, orchestration/dagster_cli.py), its
    # output through the console filter into the log file
    run_config = build_run_config(full_refresh=True)
    dagster = subprocess.Popen(
        [
            str(BIN / "python"),
            "-m",
            "orchestration.dagster_cli",
            "asset",
            "materialize",
            "--select",
            "*",
            "-m",
            "orchestration.definitions",
            "--partition",
            last_partition_key(),
            "--config-json",
            json.dumps(run_config),
        ],  # fmt: skip
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    console = subprocess.run(
        [str(BIN / "python"), "-m", "orchestration.console", str(built.logs / "last_run.log")],
        cwd=REPO_ROOT,
        env=env,
        stdin=dagster.stdout,
        capture_output=True,
        text=True,
        check=False,
    )
    dagster.stdout.close()
    assert dagster.wait() == 0 and console.returncode == 0, console.stdout[-4000:]
    # make docs (the site, not the server)
    _run(
        ["make", "--no-print-directory", "docs-site", f"DOCS_SITE={built.docs_site}"],
        env,
        REPO_ROOT,
        "make docs-site",
    )
    return built


def _find_in_file(path: Path, forms: dict[str, bytes]) -> set[str]:
    """The names of the forms found in the file's bytes (read in overlapping chunks)."""
    overlap = max(len(form) for form in forms.values())
    found = set()
    try:
        with path.open("rb") as file:
            tail = b""
            while chunk := file.read(CHUNK):
                data = tail + chunk
                found |= {name for name, form in forms.items() if form in data}
                tail = data[-overlap:]
    except (FileNotFoundError, PermissionError):  # removed meanwhile (another test's scratch)
        return set()
    return found


def _files_holding(roots: list[Path], forms: dict[str, bytes]) -> dict[str, set[str]]:
    hits: dict[str, set[str]] = {}
    seen = 0
    for root in roots:
        for folder, _, names in os.walk(root):
            for name in names:
                path = Path(folder) / name
                if path.is_symlink() or not path.is_file():
                    continue
                seen += 1
                if found := _find_in_file(path, forms):
                    hits[str(path)] = found
    assert seen > 100, f"only {seen} files under {roots}"
    return hits


def test_the_build_wrote_every_place_searched(build):
    assert build.warehouse.exists()
    assert build.report.exists(), "the journey report"
    assert (build.docs_site / "manifest.json").exists()
    assert (build.docs_site / "index.html").exists()
    assert (build.docs_site / "reports" / "journey_report.html").exists()
    assert (build.logs / "last_run.log").stat().st_size > 0
    assert any(build.dagster_home.rglob("*")), "the Dagster home holds the run's storage"
    assert list(build.target.glob("*/run_results.json")), "the run's dbt steps wrote their results"


def test_the_key_is_in_no_file(build):
    """The project folder (dbt_project/target and logs included) and everything the build
    wrote: its dbt target folder, the Dagster home, the log folder, the docs site, the
    published warehouse file and the journey report."""
    hits = _files_holding([REPO_ROOT, build.work], FORMS)
    assert not hits, "the PII hashing key is written down:\n" + "\n".join(
        f"{path}: {', '.join(sorted(found))}" for path, found in sorted(hits.items())
    )


def test_the_key_is_in_no_table_view_or_macro_of_the_warehouse(build):
    needles = sorted(
        {
            form.decode().lower()
            for form in FORMS.values()
            if form.isascii() and form.decode().isprintable()
        }
    )
    assert SENTINEL.lower() in needles and len(needles) >= 7
    findings = []
    with duckdb.connect(str(build.warehouse), read_only=True) as con:
        columns = con.execute(
            "select c.table_schema, c.table_name, c.column_name from information_schema.columns c "
            "join information_schema.tables t using (table_catalog, table_schema, table_name) "
            "where c.table_catalog = current_database() and t.table_type = 'BASE TABLE' "
            "and c.data_type = 'VARCHAR'"
        ).fetchall()
        assert len(columns) > 100
        for schema, table, column in columns:
            hits = con.execute(
                f'select count(*) from "{schema}"."{table}" '
                f'where list_bool_or([contains(lower("{column}"), n) for n in $needles])',
                {"needles": needles},
            ).fetchone()[0]
            if hits:
                findings.append(f"{schema}.{table}.{column}: {hits} row(s)")
        definitions = con.execute(
            "select 'view ' || schema_name || '.' || view_name, sql from duckdb_views() "
            "where not internal and database_name = current_database() "
            "union all select 'macro ' || schema_name || '.' || function_name, macro_definition "
            "from duckdb_functions() where not internal and macro_definition is not null "
            "and database_name = current_database()"
        ).fetchall()
    names = {name for name, _ in definitions}
    assert "view staging.stg_users" in names and "macro audit.build_info" in names, names
    findings += [name for name, sql in definitions if any(n in sql.lower() for n in needles)]
    assert not findings, "the key is in the warehouse:\n" + "\n".join(findings)


def _raw_users() -> list[dict[str, str]]:
    with (DEMO_RAW_DATA_DIR / "users.csv").open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def _hmac(value: str | None) -> str | None:
    if value is None:
        return None
    return hmac.new(SENTINEL.encode(), value.encode(), hashlib.sha256).hexdigest()


def test_the_hashes_are_hmac_sha256_with_the_key(build):
    """Every staged user's e-mail and phone hash equals Python's HMAC-SHA-256 of the normalised
    raw value (e-mail lower-cased and trimmed; phone: digits and a leading +)."""
    expected = {}
    for row in _raw_users():
        email = (row["email"] or "").strip().lower() or None
        phone = "".join(c for c in (row["phone"] or "").strip() if c.isdigit() or c == "+") or None
        # the first row of a duplicated user id is the staged one
        expected.setdefault(row["user_id"], (_hmac(email), _hmac(phone)))
    small = {"c1": ("c1@example.com", "+351900000101"), "c5": ("c5@example.com", None)}
    for user in (f"c{n}" for n in range(1, 9)):
        email, phone = small.get(user, (None, None))
        expected[user] = (_hmac(email), _hmac(phone))
    with duckdb.connect(str(build.warehouse), read_only=True) as con:
        actual = {
            user: (email, phone)
            for user, email, phone in con.execute(
                "select user_id, email_hash, phone_hash from staging.stg_users"
            ).fetchall()
        }
    assert len(actual) > 1000
    assert sum(email is not None for email, _ in actual.values()) > 1000
    assert sum(phone is not None for _, phone in actual.values()) > 500
    wrong = [user for user, hashes in actual.items() if hashes != expected[user]]
    assert not wrong, f"{len(wrong)} users hashed otherwise, e.g. {wrong[:3]}"


def test_the_warehouse_records_the_fingerprint_of_the_key(build):
    """A hash of a hash of the key, with the scheme: computed here by hand, never the key."""
    inner = hashlib.sha256(SENTINEL.encode()).digest()
    expected = hashlib.sha256(b"hmac-sha256-v1\n" + inner).hexdigest()[:16]
    with duckdb.connect(str(build.warehouse), read_only=True) as con:
        scheme, fingerprint = con.execute(
            "select pii_hash_scheme, pii_salt_fingerprint from audit.build_info()"
        ).fetchone()
    assert (scheme, fingerprint) == ("hmac-sha256-v1", expected)


def test_no_dbt_step_of_the_run_parses_the_project_again(build):
    """``make manifest`` parses with the settings of the runs' own dbt steps and keeps that parse
    where they look for it (orchestration/parse.py, DECISIONLOG 92), so the run's first dbt step
    starts from it instead of parsing the whole project again. dbt logs why when it does."""
    logs = sorted(build.target.glob("*_dbt_assets*-*/dbt.log"))
    assert len(logs) == 3, logs
    for log in logs:
        text = log.read_text(encoding="utf-8")
        assert "Running with dbt=" in text, log
        assert "Unable to do partial parsing" not in text, f"{log.parent.name} parsed again"


def test_the_dbt_steps_log_at_info_level(build):
    """The runs' dbt.log holds dbt's info events (each node's result, the errors), not every SQL
    statement: formatting the debug lines cost about 7% of a demo dbt step (DECISIONLOG 113).
    The build ran without DBT_LOG_LEVEL_FILE, as `make run` does."""
    for log in sorted(build.target.glob("*_dbt_assets*-*/dbt.log")):
        levels = {json.loads(line)["info"]["level"] for line in log.read_text().splitlines()}
        assert levels and levels <= {"info", "warn", "error"}, (log.parent.name, levels)


def test_make_run_records_every_daily_partition_it_built(build):
    """Issue #19, on this build because it is the one made as `make run` makes it (the Dagster
    CLI, a Dagster home of its own): the full refresh of the newest partition rebuilt every day
    before it, and the instance says so. Every daily asset's partitions up to the one built are
    materialized in the status the UI reads (DECISIONLOG 73), and the built partition keeps
    Dagster's own event, with the table's metadata, as the latest materialization."""
    from dagster import AssetPartitionStatus, AssetRecordsFilter, DagsterInstance

    from orchestration.assets.dbt import daily_dbt_assets, daily_partitions

    built = last_partition_key()
    days = [day for day in daily_partitions.get_partition_keys() if day <= built]
    assert len(days) > 600, days[:3]
    with DagsterInstance.from_config(str(build.dagster_home)) as instance:
        for key in daily_dbt_assets.keys:
            status = instance.get_status_by_partition(key, days, daily_partitions)
            missing = [
                day for day, found in status.items() if found != AssetPartitionStatus.MATERIALIZED
            ]
            assert not missing, f"{key.to_user_string()}: {len(missing)} days not materialized"
            latest = instance.get_latest_materialization_event(key).asset_materialization
            assert latest.partition == built
            assert "dagster/column_schema" in latest.metadata, key.to_user_string()
            # an earlier day's recorded event, read back whole (DECISIONLOG 99 makes its text)
            for day in (days[0], days[-2]):
                records = instance.fetch_materializations(
                    AssetRecordsFilter(asset_key=key, asset_partitions=[day]), limit=1
                ).records
                recorded = records[0].asset_materialization
                assert (recorded.asset_key, recorded.partition, recorded.description) == (
                    key,
                    day,
                    f"Rebuilt by the full refresh up to {built}.",
                )
