"""Raw files as assets: materializing one checks its file against the raw data contract.
The same step checks the salt (HMAC key) of the PII hashes first (orchestration.privacy): the
development default warns, and refuses to run with TOUCHPOINT_ENV=production; a key that differs
from the published warehouse's (by fingerprint) warns, and refuses in production unless
PII_SALT_ROTATION_CONFIRMED names the new fingerprint.

Nothing is copied: the dbt models read the files in place. The contract's column lists come
from the ``raw`` source of the dbt manifest, so the sources YAML is their only home. A missing
file or column fails this asset with a message naming both, and no dbt model runs.

The same step keeps the ledger of raw parts (``audit.raw_parts``, touchpoint_alchemy/raw_ledger.py):
a daily run refuses Parquet parts that changed after a run read them.
"""

from collections.abc import Iterator
from datetime import UTC, datetime

from dagster import (
    AssetExecutionContext,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)
from dagster_dbt.asset_utils import get_manifest_and_translator_from_dbt_assets

from orchestration.assets.dbt import (
    source_arrow_schema,
    source_asset_keys,
    source_tables,
    warehouse_dbt_assets,
)
from orchestration.privacy import HashSaltError, check_hash_salt, check_salt_rotation
from orchestration.resources import WarehouseResource
from orchestration.retries import TRANSIENT_RETRY, fail_fast_unless_transient
from orchestration.run_config import full_refresh_requested
from orchestration.translator import OWNER
from touchpoint_alchemy import raw_ledger
from touchpoint_alchemy.raw_contract import RawContractError, check_raw_file

RAW_SOURCE = "raw"

_manifest, _translator, _ = get_manifest_and_translator_from_dbt_assets([warehouse_dbt_assets])
CONTRACT_COLUMNS: dict[str, list[str]] = {
    node["name"]: list(node["columns"])
    for node in _manifest["sources"].values()
    if node["source_name"] == RAW_SOURCE
}
# raw file name -> asset key (the key's last part is the dbt source table name)
_KEYS = source_asset_keys(RAW_SOURCE)
#: the ledger of raw parts, a table this step writes (models/audit/_ingestion.yml)
LEDGER = source_tables("ingestion")["raw_parts"]


@multi_asset(
    specs=[
        AssetSpec(
            key=key,
            group_name=RAW_SOURCE,
            description=(
                f"Raw file `{name}` (CSV or Parquet), checked against the raw data contract."
            ),
            owners=[OWNER],
            kinds={"file"},
            metadata={"contract_columns": MetadataValue.json(CONTRACT_COLUMNS[name])},
            skippable=True,
        )
        for name, key in _KEYS.items()
    ],
    can_subset=True,
    name="raw_files",
    retry_policy=TRANSIENT_RETRY,
)
@fail_fast_unless_transient
def raw_files(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> Iterator[MaterializeResult]:
    """Check every selected raw file before any model reads it, and the PII hash salt."""
    try:
        warnings = [check_hash_salt()]
        if isinstance(warehouse, WarehouseResource):  # Spark publishes no snapshot to compare
            warnings.append(check_salt_rotation(warehouse.published_pii_key()))
    except HashSaltError as error:
        raise Failure(description=str(error), allow_retries=False) from None
    for warning in filter(None, warnings):
        context.log.warning(warning)
    raw_dir = warehouse.raw_path
    by_key = {key: name for name, key in _KEYS.items()}
    problems = []
    results = []
    parts: list[raw_ledger.RawPart] = []
    for key in sorted(context.selected_asset_keys, key=lambda k: k.to_user_string()):
        name = by_key[key]
        try:
            raw_file = check_raw_file(raw_dir, name, CONTRACT_COLUMNS[name])
        except RawContractError as error:
            problems.append(str(error))
            continue
        parts += raw_ledger.current_parts(raw_dir, raw_file)
        metadata = {
            "path": MetadataValue.path(str(raw_file.path)),
            "format": raw_file.format,
            "size_bytes": raw_file.size_bytes,
            "columns": MetadataValue.json(list(raw_file.columns)),
        }
        if raw_file.row_count is not None:
            metadata["dagster/row_count"] = raw_file.row_count
        results.append(MaterializeResult(asset_key=key, metadata=metadata))
    if problems:
        raise Failure(
            description="The raw data breaks the contract; no model was built.\n"
            + "\n".join(f"- {problem}" for problem in problems),
            allow_retries=False,
        )
    if isinstance(warehouse, WarehouseResource):  # the Spark target keeps no ledger
        _update_ledger(context, warehouse, parts)
    yield from results


def _update_ledger(
    context: AssetExecutionContext, warehouse: WarehouseResource, parts: list
) -> None:
    """Refuse a daily run over changed parts; record the parts in this run's working copy (the
    ledger is published with the data it describes)."""
    import pyarrow as pa

    schema, table = LEDGER["schema"], LEDGER["name"]
    recorded = [
        raw_ledger.RawPart(**_aware(row))
        for row in (
            warehouse.read_table(schema, table).to_pylist()
            if warehouse.has_table(schema, table)
            else []
        )
    ]
    full_refresh = full_refresh_requested(context.run.run_config)
    if not full_refresh and (changed := raw_ledger.changed_parts(recorded, parts)):
        raise Failure(description=raw_ledger.refusal(changed), allow_retries=False)
    if gone := raw_ledger.removed_parts(recorded, parts):
        context.log.warning(
            f"{len(gone)} raw part(s) read by earlier runs are gone (their rows stay in the "
            f"warehouse until a full refresh): {', '.join(gone[:5])}"
        )
    ledger = raw_ledger.updated_ledger(
        recorded, parts, context.run_id, datetime.now(UTC), full_refresh=full_refresh
    )
    rows = [
        {column: _naive(getattr(part, column)) for column in raw_ledger.COLUMNS} for part in ledger
    ]
    warehouse.write_table(
        schema, table, pa.Table.from_pylist(rows, schema=source_arrow_schema(LEDGER))
    )


def _naive(value):
    """UTC datetimes as the naive timestamps the ledger stores."""
    return value.astimezone(UTC).replace(tzinfo=None) if isinstance(value, datetime) else value


def _aware(row: dict) -> dict:
    return {
        column: value.replace(tzinfo=UTC) if isinstance(value, datetime) else value
        for column, value in row.items()
    }
