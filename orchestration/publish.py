"""The last asset of every build: publish the run's working copy as the warehouse BI tools read.

A run builds into its own working copy of the warehouse (``WarehouseResource``); this asset,
which depends on every terminal asset of the graph, moves that copy over the published file
with one ``os.replace`` (``touchpoint_alchemy.snapshots``). It runs only when all of its
upstream assets were built, and it declines to publish when any step of the run failed so far
(an asset check step, say: the run fails with that step) or any check reported an error (then
this step fails the run). So a failing model, dbt test or check leaves the published warehouse
as it was, and the build stays in ``<dir>/.builds/<file name>/<run_id>.duckdb`` for inspection.
DECISIONLOG.md, 36.
"""

from collections.abc import Iterator, Sequence

from dagster import (
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    DagsterEventType,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from orchestration.freshness import DAILY_FRESHNESS
from orchestration.resources import WarehouseResource
from orchestration.retries import fail_fast_unless_transient
from orchestration.translator import OWNER
from touchpoint_alchemy import pii_key

PUBLISHED_SNAPSHOT = AssetKey(["warehouse", "published_snapshot"])
PUBLISH_GROUP = "publish"
# Among the steps ready to run, this one goes last: every check that can run before it does.
LAST = {"dagster/priority": "-1000"}
#: the dbt tag of the models that hash PII (macros/pii.sql)
PII_HASH_TAG = "pii_hash"


def terminal_keys(assets_defs: Sequence[AssetsDefinition]) -> list[AssetKey]:
    """The asset keys that no other asset depends on (the marts, the scores, the quarantine)."""
    keys: set[AssetKey] = set()
    parents: set[AssetKey] = set()
    for assets_def in assets_defs:
        for spec in assets_def.specs:
            keys.add(spec.key)
            parents.update(dep.asset_key for dep in spec.deps)
    return sorted(keys - parents, key=lambda key: key.to_user_string())


def _problems(context: AssetExecutionContext) -> list[str]:
    """The failed steps and failed error-severity checks of this run so far."""
    records = context.instance.get_records_for_run(
        context.run_id,
        of_type={DagsterEventType.STEP_FAILURE, DagsterEventType.ASSET_CHECK_EVALUATION},
    ).records
    problems = []
    for record in records:
        event = record.event_log_entry.dagster_event
        if event is None:
            continue
        if event.event_type == DagsterEventType.STEP_FAILURE:
            problems.append(f"step {event.step_key} failed")
        else:
            evaluation = event.event_specific_data
            if not evaluation.passed and evaluation.severity == AssetCheckSeverity.ERROR:
                key = evaluation.asset_key.to_user_string()
                problems.append(f"check {evaluation.check_name} on {key} failed")
    return problems


def _hashed_pii(context: AssetExecutionContext, keys: set[AssetKey]) -> bool:
    """Whether this run materialized one of ``keys`` (the models that hash PII)."""
    records = context.instance.get_records_for_run(
        context.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
    ).records
    return any(
        record.event_log_entry.dagster_event is not None
        and record.event_log_entry.dagster_event.asset_key in keys
        for record in records
    )


def build_publish_asset(assets_defs: Sequence[AssetsDefinition]) -> AssetsDefinition:
    """``warehouse/published_snapshot``, depending on the terminal assets of ``assets_defs``.

    It records in ``audit.build_info()`` the fingerprint of the PII key (PII_HASH_SALT) when the
    run built a model that hashes PII (dbt tag ``pii_hash``); otherwise the snapshot keeps the
    fingerprint it had (its hashes were not rebuilt)."""
    pii_hash_keys = {
        spec.key
        for assets_def in assets_defs
        for spec in assets_def.specs
        if PII_HASH_TAG in spec.tags
    }
    if not pii_hash_keys:
        raise ValueError(f"no asset with the dbt tag {PII_HASH_TAG!r} (the models that hash PII)")

    @asset(
        key=PUBLISHED_SNAPSHOT,
        deps=terminal_keys(assets_defs),
        group_name=PUBLISH_GROUP,
        owners=[OWNER],
        op_tags=LAST,
        output_required=False,
        kinds={"duckdb"},
        freshness_policy=DAILY_FRESHNESS,
        description=(
            "Publishes the run's working copy of the warehouse over WAREHOUSE_DUCKDB_PATH in one "
            "atomic rename, after every other asset and check of the run succeeded. Readers "
            "see the new snapshot on their next connection; `select * from audit.build_info()` "
            "names it."
        ),
    )
    @fail_fast_unless_transient
    def published_snapshot(
        context: AssetExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[MaterializeResult]:
        problems = _problems(context)
        if problems:
            message = (
                f"Not published: {'; '.join(problems)}. {warehouse.published_path} is unchanged; "
                f"this run's build is kept at {warehouse.working_path}."
            )
            if any(problem.startswith("step ") for problem in problems):
                # The run fails with those steps; this step only declines (no materialization).
                context.log.error(message)
                return
            # A check that reported an error without failing its step: fail the run here.
            raise Failure(description=message, allow_retries=False)
        hashed = _hashed_pii(context, pii_hash_keys)
        key = pii_key.key_from_env() if hashed else None
        info = warehouse.publish(
            context.run_id, pii_key=(pii_key.SCHEME, key.fingerprint()) if key else None
        )
        context.log.info(f"Published run {info.run_id} to {info.path}")
        yield MaterializeResult(
            metadata={
                "path": MetadataValue.path(str(info.path)),
                "published_at": MetadataValue.timestamp(info.published_at),
                "size_bytes": info.path.stat().st_size,
            }
        )

    return published_snapshot
