"""Privacy: the ``no_raw_pii`` asset check and the guards of the PII hash salt.

``no_raw_pii`` runs :func:`touchpoint_alchemy.pii_scan.scan_for_pii` (what it looks for is
described there) after every build: no table in any schema holds a raw e-mail address or phone
number. A finding fails the check with severity ERROR and names the table, the column and the
kind of finding, never the value. The check waits for every asset of the build it is given, so
it scans the finished warehouse.

``check_hash_salt`` guards the salt (the HMAC key) of the PII hashes: the development default
warns, and with ``TOUCHPOINT_ENV=production`` it refuses to run (the dbt-duckdb plugin
``touchpoint_alchemy.dbt_duckdb_plugin`` refuses too). ``check_salt_rotation`` compares the key's
fingerprint with the published warehouse's: a change warns, and refuses in production unless
``PII_SALT_ROTATION_CONFIRMED`` names the new fingerprint.
"""

import os
from collections.abc import Iterable, Mapping

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
from orchestration.resources import WarehouseResource
from orchestration.retries import fail_fast_unless_transient
from touchpoint_alchemy import pii_key
from touchpoint_alchemy.pii_scan import scan_for_pii

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
EXACT_ONLY = "exact_only"


def exact_only_columns() -> set[tuple[str, str, str]]:
    """(schema, table, column) of every source and model column the dbt project declares
    ``meta: {pii_scan: exact_only}`` (file paths and run ids of the ledger of raw parts)."""
    from dagster_dbt.asset_utils import get_manifest_and_translator_from_dbt_assets

    from orchestration.assets.dbt import warehouse_dbt_assets

    manifest, _, _ = get_manifest_and_translator_from_dbt_assets([warehouse_dbt_assets])
    nodes = [*manifest["sources"].values(), *manifest["nodes"].values()]
    return {
        (node["schema"], node.get("alias") or node.get("identifier") or node["name"], name)
        for node in nodes
        for name, column in (node.get("columns") or {}).items()
        if (column.get("meta") or column.get("config", {}).get("meta") or {}).get("pii_scan")
        == EXACT_ONLY
    }


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
            "value shaped like an e-mail address or a phone number (one query per table, text "
            "columns only). Fails with severity ERROR, naming the table and column."
        ),
    )
    @fail_fast_unless_transient
    def no_raw_pii(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> AssetCheckResult:
        with warehouse.get_connection() as con:
            findings, tables, columns = scan_for_pii(
                con, warehouse.raw_path, exact_only=exact_only_columns()
            )
        description = (
            f"PII found in {len(findings)} column(s): " + "; ".join(findings)
            if findings
            else f"no raw e-mail or phone in {columns} text column(s) of {tables} table(s)"
        )
        if findings:
            context.log.error(description)
        return AssetCheckResult(
            passed=not findings,
            severity=AssetCheckSeverity.ERROR,
            description=description,
            metadata={
                "tables_scanned": tables,
                "text_columns_scanned": columns,
                "findings": MetadataValue.json(findings),
            },
        )

    return no_raw_pii
