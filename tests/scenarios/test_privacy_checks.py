"""Privacy guards: the ``no_raw_pii`` asset check, the hash-salt guard, and consent withdrawn
between two runs into the same warehouse."""

from __future__ import annotations

import hashlib
import hmac
import shutil

import dagster as dg
import duckdb
import pytest

from orchestration.privacy import DEFAULT_HASH_SALT, HashSaltError, check_hash_salt
from touchpoint_alchemy import snapshots
from touchpoint_alchemy.pii_scan import scan_for_pii
from touchpoint_alchemy.settings import Settings

import hostile
from builds import DATA_DIR
from hostile import HASH_SALT, WITHDRAWN_USER

DOWNSTREAM = ("intermediate", "marts", "scoring")


def _pii_evaluation(result):
    evaluations = [e for e in result.get_asset_check_evaluations() if e.check_name == "no_raw_pii"]
    assert len(evaluations) == 1, "the check runs once in every full build"
    return evaluations[0]


# --- the no_raw_pii asset check -------------------------------------------------------------


def test_the_pii_check_passes_on_the_hostile_build(tmp_path_factory, cohorts_small_warehouse):
    built = hostile.hostile_build(tmp_path_factory, cohorts_small_warehouse.path)
    evaluation = _pii_evaluation(built.result)
    assert evaluation.passed, evaluation.description


@pytest.mark.parametrize(
    ("table", "column", "value", "kind"),
    [
        ("marts.customers", "acquisition_channel", "c1@example.com", "a raw e-mail or phone"),
        ("intermediate.int_users", "city", "+351 900 000 101", "a raw e-mail or phone"),
        ("scoring.customer_rfm", "rfm_segment", "write to Someone.Else@Mail.example.org", "e-mail"),
        ("audit.rejected_rows", "raw_record", '{"note": "call (212) 555-0199"}', "phone number"),
    ],
)
def test_the_pii_scan_names_the_table_and_column_of_a_leak(
    tmp_path, cohorts_small_warehouse, table, column, value, kind
):
    from orchestration.privacy import exact_only_columns

    # as the check scans: the machine-written columns (the ledger's part paths, whose digits
    # depend on where the test's build lives) for raw values only
    exempt = exact_only_columns()
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(cohorts_small_warehouse.path, copy)
    raw_dir = DATA_DIR / "cohorts_small"
    with duckdb.connect(str(copy)) as con:
        assert scan_for_pii(con, raw_dir, exempt)[0] == [], "the clean build has no finding"
        con.execute(
            f"update {table} set {column} = ? where rowid = (select min(rowid) from {table})",
            [value],
        )
        findings, tables, columns = scan_for_pii(con, raw_dir, exempt)
    assert findings, "the inserted value is found"
    assert all(f.startswith(f"{table}.{column}: ") for f in findings), findings
    assert any(kind in f for f in findings), findings
    assert not any(value in f for f in findings), "a finding never repeats the value"


def test_machine_written_columns_are_searched_for_raw_values_only(
    tmp_path, cohorts_small_warehouse
):
    """The ledger's part paths and run ids (declared ``pii_scan: exact_only``) can hold digit runs
    shaped like a phone number (a run id ending ``-682985161953``, a Spark part name): they do
    not fail the check, but a raw e-mail of the input in them still does."""
    from orchestration.privacy import exact_only_columns

    exempt = exact_only_columns()
    assert ("audit", "raw_parts", "recorded_by_run") in exempt
    assert ("audit", "raw_parts", "part") in exempt
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(cohorts_small_warehouse.path, copy)
    raw_dir = DATA_DIR / "cohorts_small"
    with duckdb.connect(str(copy)) as con:
        con.execute(
            "update audit.raw_parts set recorded_by_run = '0a15adcb-0d99-4337-b312-682985161953'"
        )
        shaped = scan_for_pii(con, raw_dir)[0]
        assert shaped and all("a phone number" in f for f in shaped), shaped
        assert scan_for_pii(con, raw_dir, exact_only=exempt)[0] == []
        con.execute("update audit.raw_parts set part = 'c1@example.com'")
        (finding,) = scan_for_pii(con, raw_dir, exact_only=exempt)[0]
    assert finding.startswith("audit.raw_parts.part: a raw e-mail or phone")


def test_the_check_fails_with_severity_error_on_a_leaking_warehouse(
    tmp_path, cohorts_small_warehouse
):
    """The asset check itself, run by Dagster on a copy of a built warehouse with a raw e-mail in
    a staged table and another in a mart. A run without a partition (a build from all history)
    scans every staged row and finds the first; the mart is column lineage's (DECISIONLOG 115).
    The weekly run scans every table and finds both."""
    from orchestration.assets.model_store import REFIT_TAG
    from orchestration.definitions import defs
    from orchestration.resources import build_resources

    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(cohorts_small_warehouse.path, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("update marts.customers set device_type = 'c1@example.com'")
        con.execute(
            "update staging.base_orders set currency = 'c1@example.com' "
            "where _source_row_number = (select min(_source_row_number) from staging.base_orders)"
        )
    check_key = next(
        key for check in defs.asset_checks for key in check.check_keys if key.name == "no_raw_pii"
    )
    settings = Settings(warehouse_path=copy, raw_data_dir=DATA_DIR / "cohorts_small")
    evaluations = {}
    for run, tags in (("build", {}), ("weekly", {REFIT_TAG: "true"})):
        with dg.DagsterInstance.ephemeral() as instance:
            result = dg.materialize(
                [*defs.assets, *defs.asset_checks],
                selection=dg.AssetSelection.checks(check_key),
                resources=build_resources(settings),
                instance=instance,
                tags=tags,
                raise_on_error=False,
            )
        evaluations[run] = _pii_evaluation(result)
    for evaluation in evaluations.values():
        assert not evaluation.passed
        assert evaluation.severity == dg.AssetCheckSeverity.ERROR
        assert "staging.base_orders.currency: a raw e-mail or phone" in evaluation.description
    assert evaluations["build"].metadata["scope"].value == "every staged row"
    assert "marts.customers" not in evaluations["build"].description
    assert "marts.customers" in evaluations["build"].metadata["tables_left_to_lineage"].value
    assert evaluations["weekly"].metadata["scope"].value == "full"
    assert "marts.customers.device_type: a raw e-mail or phone" in (
        evaluations["weekly"].description
    )


# --- the hash salt ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "outcome"),
    [
        ({}, "warn"),
        ({"PII_HASH_SALT": ""}, "warn"),
        ({"PII_HASH_SALT": DEFAULT_HASH_SALT}, "warn"),
        ({"PII_HASH_SALT": "s3cret"}, "ok"),
        ({"TOUCHPOINT_ENV": "production"}, "refuse"),
        ({"TOUCHPOINT_ENV": "Production", "PII_HASH_SALT": DEFAULT_HASH_SALT}, "refuse"),
        ({"TOUCHPOINT_ENV": "production", "PII_HASH_SALT": "s3cret"}, "ok"),
    ],
)
def test_check_hash_salt(environ, outcome):
    if outcome == "refuse":
        with pytest.raises(HashSaltError, match="Refusing to build: TOUCHPOINT_ENV=production"):
            check_hash_salt(environ)
    elif outcome == "warn":
        assert "development default salt" in check_hash_salt(environ)
    else:
        assert check_hash_salt(environ) is None


def _materialize_raw_files(tmp_path, monkeypatch, environ: dict):
    """Materialize only the raw_files asset (the first step of every build); return the result
    and the run's warning log lines."""
    import logging

    from orchestration.assets.raw import raw_files
    from orchestration.resources import build_resources

    for name in ("PII_HASH_SALT", "TOUCHPOINT_ENV", "PII_SALT_ROTATION_CONFIRMED"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    settings = Settings(
        warehouse_path=tmp_path / "warehouse.duckdb", raw_data_dir=DATA_DIR / "cohorts_small"
    )
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [raw_files],
            resources=build_resources(settings),
            instance=instance,
            raise_on_error=False,
        )
        warnings = [
            entry.user_message
            for entry in instance.all_logs(result.run_id)
            if entry.level == logging.WARNING
        ]
    return result, warnings


def test_a_build_warns_about_the_default_salt(tmp_path, monkeypatch):
    result, warnings = _materialize_raw_files(tmp_path, monkeypatch, {})
    assert result.success
    assert any("PII_HASH_SALT is not set" in w for w in warnings), warnings


def test_production_refuses_the_default_salt_before_anything_is_built(tmp_path, monkeypatch):
    result, _ = _materialize_raw_files(tmp_path, monkeypatch, {"TOUCHPOINT_ENV": "production"})
    assert not result.success
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    error = failures[0].event_specific_data.error
    assert error.cls_name == "Failure"
    assert (
        "Failure: Refusing to build: TOUCHPOINT_ENV=production but PII_HASH_SALT" in error.message
    )
    assert "PII_HASH_SALT" in error.message and "Traceback" not in error.message
    assert not result.asset_materializations_for_node("raw_files")


def test_production_with_a_salt_of_its_own_builds_without_a_warning(tmp_path, monkeypatch):
    result, warnings = _materialize_raw_files(
        tmp_path, monkeypatch, {"TOUCHPOINT_ENV": "production", "PII_HASH_SALT": "s3cret"}
    )
    assert result.success
    assert not any("PII_HASH_SALT" in w for w in warnings)


def _published(tmp_path, salt: str | None) -> None:
    """A published warehouse at tmp_path/warehouse.duckdb whose hashes were made with ``salt``
    (None: a snapshot published before fingerprints were recorded)."""
    published = tmp_path / "warehouse.duckdb"
    if salt is None:
        with duckdb.connect(str(published)) as con:
            con.execute("create schema audit")
            con.execute(
                "create macro audit.build_info() as table "
                "select 'old-run' as run_id, now() as published_at"
            )
        return
    working = snapshots.working_path(published, "previous-run")
    working.parent.mkdir(parents=True)
    duckdb.connect(str(working)).close()
    snapshots.publish(working, published, "previous-run", pii_key=("hmac-sha256-v1", _fp(salt)))


def _fp(salt: str) -> str:
    """The fingerprint, by hand: SHA-256 of the scheme and of the SHA-256 of the key."""
    inner = hashlib.sha256(salt.encode()).digest()
    return hashlib.sha256(b"hmac-sha256-v1\n" + inner).hexdigest()[:16]


def test_a_build_with_the_published_key_does_not_warn_about_rotation(tmp_path, monkeypatch):
    _published(tmp_path, "s3cret")
    result, warnings = _materialize_raw_files(
        tmp_path, monkeypatch, {"TOUCHPOINT_ENV": "production", "PII_HASH_SALT": "s3cret"}
    )
    assert result.success
    # the raw step alone (its ledger written to the run's copy) publishes nothing, and says so
    assert [w for w in warnings if not w.startswith("This run did not publish")] == []


def test_a_changed_key_warns_loudly(tmp_path, monkeypatch):
    _published(tmp_path, "old-s3cret")
    result, warnings = _materialize_raw_files(tmp_path, monkeypatch, {"PII_HASH_SALT": "s3cret"})
    assert result.success
    [warning] = [w for w in warnings if "The PII key changed" in w]
    assert _fp("old-s3cret") in warning and _fp("s3cret") in warning
    assert "joins on them across builds" in warning
    assert "s3cret" not in warning, "fingerprints only, never a key"


def test_production_refuses_a_changed_key_unless_the_rotation_is_confirmed(tmp_path, monkeypatch):
    _published(tmp_path, "old-s3cret")
    environ = {"TOUCHPOINT_ENV": "production", "PII_HASH_SALT": "s3cret"}
    refused, _ = _materialize_raw_files(tmp_path, monkeypatch, environ)
    assert not refused.success
    failure = next(e for e in refused.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.event_specific_data.error.message
    assert "Refusing to build: The PII key changed" in message
    assert f"PII_SALT_ROTATION_CONFIRMED={_fp('s3cret')}" in message
    assert not refused.asset_materializations_for_node("raw_files")

    wrong, _ = _materialize_raw_files(
        tmp_path, monkeypatch, {**environ, "PII_SALT_ROTATION_CONFIRMED": _fp("other")}
    )
    assert not wrong.success, "the confirmation names one key"

    confirmed, warnings = _materialize_raw_files(
        tmp_path, monkeypatch, {**environ, "PII_SALT_ROTATION_CONFIRMED": _fp("s3cret")}
    )
    assert confirmed.success
    assert any("Rotation confirmed" in w for w in warnings), warnings


def test_a_published_warehouse_without_a_fingerprint_warns_and_builds(tmp_path, monkeypatch):
    _published(tmp_path, None)
    result, warnings = _materialize_raw_files(
        tmp_path, monkeypatch, {"TOUCHPOINT_ENV": "production", "PII_HASH_SALT": "s3cret"}
    )
    assert result.success
    assert any("records no PII key fingerprint" in w for w in warnings), warnings


def test_dbt_itself_refuses_the_default_salt_in_production(tmp_path):
    """The dbt-duckdb plugin that sets the key refuses too, for dbt runs outside Dagster: the
    connection fails before any statement runs, so not even the warehouse file is made."""
    run = hostile.dbt_command(
        tmp_path, {"TOUCHPOINT_ENV": "production", "PII_HASH_SALT": ""}, "run",
        "--select", "base_users", "--vars", f"{{raw_data_dir: '{DATA_DIR / 'cohorts_small'}'}}",
    )  # fmt: skip
    assert run.returncode != 0
    assert "Refusing to build: TOUCHPOINT_ENV=production but PII_HASH_SALT" in run.stdout
    assert not (tmp_path / "unused.duckdb").exists()


# --- consent withdrawn between two runs --------------------------------------------------------


def _text_columns(con, schemas) -> list[tuple[str, str, str]]:
    return con.execute(
        "select c.table_schema, c.table_name, c.column_name from information_schema.columns c "
        "join information_schema.tables t using (table_catalog, table_schema, table_name) "
        "where c.table_catalog = current_database() and t.table_type = 'BASE TABLE' "
        f"and c.data_type = 'VARCHAR' and c.table_schema in {schemas}"
    ).fetchall()


def _tables_holding(path, values: set[str]) -> set[str]:
    found = set()
    with duckdb.connect(str(path), read_only=True) as con:
        for schema, table, column in _text_columns(con, DOWNSTREAM):
            hits = con.execute(
                f'select count(*) from "{schema}"."{table}" where "{column}" in (select unnest(?))',
                [sorted(values)],
            ).fetchone()[0]
            if hits:
                found.add(f"{schema}.{table}.{column}")
    return found


def test_withdrawn_consent_removes_the_user_from_every_downstream_table_on_the_next_run(
    tmp_path_factory, cohorts_small_warehouse
):
    """Run 1 (cohorts_small) has c1 with consent, orders and touchpoints; run 2 (the hostile
    build, into a copy of run 1's file) has c1's consent_analytics = false."""
    built = hostile.hostile_build(tmp_path_factory, cohorts_small_warehouse.path)
    assert built.result.success
    email = f"{WITHDRAWN_USER}@example.com"
    identities = {
        WITHDRAWN_USER,
        hmac.new(DEFAULT_HASH_SALT.encode(), email.encode(), hashlib.sha256).hexdigest(),
        hmac.new(HASH_SALT.encode(), email.encode(), hashlib.sha256).hexdigest(),
    }
    before = _tables_holding(built.before_path, identities)
    assert len({c.rsplit(".", 1)[0] for c in before}) >= 10, (
        f"run 1 must have the user downstream: {before}"
    )
    after = _tables_holding(built.warehouse_path, identities)
    assert after == set(), f"these downstream tables keep {WITHDRAWN_USER}: {sorted(after)}"
    with built.connect() as con:
        staged = con.execute(
            "select has_analytics_consent from staging.stg_users where user_id = ?",
            [WITHDRAWN_USER],
        ).fetchall()
    assert staged == [(False,)], "the user stays in staging, without consent"
