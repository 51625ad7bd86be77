"""Privacy: the ``no_raw_pii`` asset check and the guards of the PII hash salt.

``no_raw_pii`` runs :func:`touchpoint_alchemy.pii_scan.scan` (what it looks for is described
there) after every build: no table in any schema holds a raw e-mail address or phone number. A
finding fails the check with severity ERROR and names the table, the column and the kind of
finding, never the value. The check waits for every asset of the build it is given, so it scans
the finished warehouse. The weekly refit run (``touchpoint/refit=true``) scans every row of
every table. A daily run scans the rows it wrote of the staged touchpoints, every other staged
table, the quarantine and the tables Python writes, and leaves the derived tables to the
column-lineage test (``touchpoint_alchemy.pii_scope``, DECISIONLOG 75); a full refresh, a run
without a partition and a first build staged every row, so they scan every row of the same
tables (DECISIONLOG 115). The metadata says which scope ran.

``check_hash_salt`` guards the salt (the HMAC key) of the PII hashes: the development default
warns, and with ``TOUCHPOINT_ENV=production`` it refuses to run (the dbt-duckdb plugin
``touchpoint_alchemy.dbt_duckdb_plugin`` refuses too). ``check_salt_rotation`` compares the key's
fingerprint with the published warehouse's: a change warns, and refuses in production unless
``PII_SALT_ROTATION_CONFIRMED`` names the new fingerprint.
"""

import os
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetsDefinition,
    MetadataValue,
    asset_check,
)

from orchestration.assets.dbt import model_asset_keys_tagged
from orchestration.assets.model_store import REFIT_TAG
from orchestration.data_test_scope import built_before_this_run
from orchestration.resources import WarehouseResource
from orchestration.retries import fail_fast_unless_transient
from orchestration.run_config import full_refresh_requested
from touchpoint_alchemy import labels, pii_key, pii_scope
from touchpoint_alchemy.pii_scan import FULL, ScanScope, scan, scan_for_pii

#: the scan is library code (touchpoint_alchemy.pii_scan); importable from here as before
__all__ = [
    "DEFAULT_HASH_SALT",
    "HashSaltError",
    "PRODUCTION_VALUES",
    "check_hash_salt",
    "check_salt_rotation",
    "pii_scan_check",
    "scan_for_pii",
]

#: the development salt; fine on a laptop, never in a real deployment (touchpoint_alchemy.pii_key)
DEFAULT_HASH_SALT = pii_key.DEFAULT_SALT
PRODUCTION_VALUES = pii_key.PRODUCTION_VALUES
HashSaltError = pii_key.HashSaltError

#: DuckDB's memory limit of the PII scan's connection, when the warehouse's is higher. The scan
#: only reads: a full one fills DuckDB's buffers to the limit with the blocks it read (4.42 GiB
#: at 4GB on the 50M bench, 2.56 GiB at 2GB, the same CPU time; DECISIONLOG 81), in the Dagster
#: process, on top of what the scoring steps left there.
SCAN_MEMORY_LIMIT = "2GB"
_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_UNITS |= {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def memory_bytes(limit: str) -> float | None:
    """A DuckDB memory size (``4GB``, ``3.7 GiB`` as ``current_setting`` shows it) in bytes, or
    None for what this does not read (e.g. a percentage)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*", limit.lower())
    if not match or match.group(2) not in _UNITS:
        return None
    return float(match.group(1)) * _UNITS[match.group(2)]


def lower_scan_memory_limit(con) -> None:
    """Set the connection's memory limit to :data:`SCAN_MEMORY_LIMIT` when it is higher."""
    (current,) = con.execute("select current_setting('memory_limit')").fetchone()
    size = memory_bytes(str(current))
    if size is not None and size > memory_bytes(SCAN_MEMORY_LIMIT):
        con.execute(f"set memory_limit = '{SCAN_MEMORY_LIMIT}'")


def check_hash_salt(environ: Mapping[str, str] | None = None) -> str | None:
    """None when PII_HASH_SALT is set to a salt of one's own; a warning when the development
    default is used (unset, empty or equal to it); HashSaltError when that happens with
    TOUCHPOINT_ENV=production (the same refusal as the dbt-duckdb plugin's)."""
    if not pii_key.key_from_env(environ).is_default:
        return None
    return (
        "PII_HASH_SALT is not set: e-mail and phone hashes use the development default salt "
        f"('{DEFAULT_HASH_SALT}'). "
        "Fine for the demo; set your own secret salt in any real deployment "
        "(TOUCHPOINT_ENV=production refuses to run without one)."
    )


def check_salt_rotation(
    published: tuple[str | None, str | None] | None,
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """Compare the PII key of this build with the published warehouse's (``published``: its
    recorded (scheme, fingerprint), (None, None) for a snapshot from before fingerprints, None
    when nothing is published yet).

    None when they are the same or there is nothing to compare with; a warning when the
    published snapshot records no fingerprint, or when the key (or the hash scheme) changed.
    With TOUCHPOINT_ENV=production a change raises HashSaltError unless
    PII_SALT_ROTATION_CONFIRMED holds the new fingerprint."""
    env = os.environ if environ is None else environ
    if published is None:
        return None
    scheme, recorded = published
    key = pii_key.key_from_env(env)
    current = key.fingerprint()
    if recorded is None:
        return (
            "The published warehouse records no PII key fingerprint (it was built before "
            f"fingerprints were recorded), so this build cannot tell whether PII_HASH_SALT "
            f"changed. This build records fingerprint {current} ({pii_key.SCHEME}); later "
            "builds compare with it."
        )
    if scheme == pii_key.SCHEME and recorded == current:
        return None
    change = (
        f"The PII key changed: the published warehouse was hashed with fingerprint {recorded} "
        f"({scheme}), this build uses {current} ({pii_key.SCHEME}). Every e-mail and phone "
        "hash of this build differs from the published ones, so joins on them across builds "
        "(exports, CRM matches, earlier snapshots) break."
    )
    confirmed = env.get(pii_key.ROTATION_VARIABLE, "").strip()
    if pii_key.is_production(env) and confirmed != current:
        raise HashSaltError(
            f"Refusing to build: {change} If PII_HASH_SALT was changed by mistake, restore the "
            f"previous one. To rotate it knowingly, set {pii_key.ROTATION_VARIABLE}={current} "
            "and run a full build (make run); later builds with the same key need nothing. "
            "Nothing was built."
        )
    if confirmed == current:
        return f"{change} Rotation confirmed ({pii_key.ROTATION_VARIABLE})."
    return (
        f"{change} If this is not a deliberate rotation, stop and restore the previous "
        f"PII_HASH_SALT (with TOUCHPOINT_ENV=production this build would refuse unless "
        f"{pii_key.ROTATION_VARIABLE}={current})."
    )


#: the dbt tag of the model the no_raw_pii check sits on (the staged file that carries PII)
PII_TAG = "pii"
#: a column's ``meta.pii_scan`` value for machine-written text scanned for raw values only
EXACT_ONLY = pii_scope.EXACT_ONLY


def _manifest() -> dict[str, Any]:
    from dagster_dbt.asset_utils import get_manifest_and_translator_from_dbt_assets

    from orchestration.assets.dbt import warehouse_dbt_assets

    manifest, _, _ = get_manifest_and_translator_from_dbt_assets([warehouse_dbt_assets])
    return manifest


def exact_only_columns() -> set[tuple[str, str, str]]:
    """(schema, table, column) of every source and model column the dbt project declares
    ``meta: {pii_scan: exact_only}`` (file paths and run ids of the ledger of raw parts)."""
    return pii_scope.exact_only_columns(_manifest())


def is_weekly_run(tags: Mapping[str, str]) -> bool:
    """The schedule's weekly refit run (``touchpoint/refit=true``): its scan reads everything."""
    return tags.get(REFIT_TAG, "").strip().lower() == "true"


def scan_since(tags: Mapping[str, str], run_config: Mapping[str, Any] | None) -> date | None:
    """The first day whose rows a run rewrote, when its scan may read only those (a daily
    partition run: the partition's first day minus ``incremental_lookback_days``); None for a
    full refresh, a run without a partition and the weekly refit run."""
    first_day = tags.get("dagster/partition") or tags.get("dagster/asset_partition_range_start")
    if not first_day or is_weekly_run(tags) or full_refresh_requested(dict(run_config or {})):
        return None
    return pii_scope.window_since(first_day[:10], labels.incremental_lookback_days())


def scan_scope(
    manifest: Mapping[str, Any],
    tags: Mapping[str, str],
    run_config: Mapping[str, Any] | None,
    built_before: Callable[[set[tuple[str, str]]], bool],
) -> ScanScope:
    """What a run's scan reads: everything in the weekly run; the rows written since the window
    start in a daily partition run; every staged row (derived tables: lineage) in a build from
    all history (a full refresh, a run without a partition, and a partition run whose published
    warehouse lacks the windowed tables: ``built_before(tables)`` is false, a first build)."""
    if is_weekly_run(tags):
        return FULL
    since = scan_since(tags, run_config)
    if since is None:
        return pii_scope.staged_scope(manifest)
    scope = pii_scope.daily_scope(manifest, since)
    if scope.row_filters and not built_before(set(scope.row_filters)):
        return pii_scope.staged_scope(manifest)
    return scope


def pii_scan_check(wait_for: Iterable[AssetsDefinition]) -> AssetChecksDefinition:
    """The ``no_raw_pii`` check, on the staged users (the file that carries PII); it runs after
    every asset of ``wait_for``, so it scans the finished warehouse."""
    keys = {key for assets in wait_for for key in assets.keys}
    targets = [key for key in model_asset_keys_tagged(PII_TAG) if key in keys]
    if len(targets) != 1:
        raise ValueError(
            f"expected one model tagged {PII_TAG!r} among the build's assets, got {targets}"
        )
    target = targets[0]
    deps = sorted(keys - {target}, key=lambda key: key.to_user_string())

    @asset_check(
        asset=target,
        name="no_raw_pii",
        additional_deps=deps,
        description=(
            "No table in any schema holds a raw e-mail or phone of the raw users file, or any "
            "value shaped like an e-mail address or a phone number (text "
            "columns only). A run scans the rows it staged (a daily run: its window; a full "
            "refresh: every row), the quarantine and the tables Python writes, and leaves the "
            "derived tables to column lineage; the weekly run scans everything. Fails with "
            "severity ERROR, naming the table and column."
        ),
    )
    @fail_fast_unless_transient
    def no_raw_pii(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> AssetCheckResult:
        scope = scan_scope(
            _manifest(),
            context.run.tags,
            context.run.run_config,
            lambda tables: built_before_this_run(warehouse, tables),
        )
        with warehouse.get_connection() as con:
            lower_scan_memory_limit(con)
            result = scan(con, warehouse.raw_path, exact_only=exact_only_columns(), scope=scope)
        findings = result.findings
        scanned = (
            f"{result.rows} row(s), {result.columns} text column(s) of {result.tables} "
            f"table(s); scope: {scope.name}"
        )
        description = (
            f"PII found in {len(findings)} column(s): " + "; ".join(findings)
            if findings
            else f"no raw e-mail or phone in {scanned}"
        )
        if findings:
            context.log.error(description)
        return AssetCheckResult(
            passed=not findings,
            severity=AssetCheckSeverity.ERROR,
            description=description,
            metadata={
                "scope": scope.name,
                "tables_scanned": result.tables,
                "text_columns_scanned": result.columns,
                "rows_scanned": result.rows,
                "tables_scanned_in_part": MetadataValue.json(result.filtered),
                "tables_left_to_lineage": MetadataValue.json(result.skipped),
                "findings": MetadataValue.json(findings),
            },
        )

    return no_raw_pii
