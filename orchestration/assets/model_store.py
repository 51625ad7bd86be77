"""When a scoring asset refits its model, and where the fitted model is kept between runs.

A partitioned run that is not a full refresh (the daily schedule's) scores with the model stored
in ``scoring.model_store`` by the last refit (``touchpoint_alchemy.scoring.stored``). It refits
instead when:

- the run is a full refresh (`make run`), or is not partitioned (a materialization from the UI,
  ``dagster.materialize`` without a partition);
- the run carries the tag ``touchpoint/refit=true``: the daily schedule sets it once a week
  (orchestration/schedules.py), and anyone can add it in the Launchpad (``false`` scores with
  the stored models in any run that is not a full refresh);
- no model is stored, the last refit had none (insufficient data, a failed fit), or it was
  fitted by another version of the asset's code (its ``code_version``);
- the stored model was fitted with other settings than the run's config says (the spec's
  ``stale``: e.g. another CLV time unit).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dagster import AssetExecutionContext, AssetMaterialization

from orchestration.run_config import full_refresh_requested

if TYPE_CHECKING:
    import pyarrow as pa

    from orchestration.assets.scoring_factory import ScoringAsset
    from orchestration.resources import WarehouseResource
    from touchpoint_alchemy.scoring import Scored
    from touchpoint_alchemy.scoring.stored import StoredModel

#: the scoring table of the stored models (dbt source ``scoring``)
MODEL_STORE_TABLE = "model_store"
#: the run tag that asks every scoring asset with a stored model to refit it
REFIT_TAG = "touchpoint/refit"


def refit_requested(context: AssetExecutionContext) -> tuple[bool, str]:
    """Whether this run refits the stored models, and why (for the step's log)."""
    return refit_requested_for(context.run)


def refit_requested_for(run: Any) -> tuple[bool, str]:
    """:func:`refit_requested` of a run (a ``DagsterRun``)."""
    if full_refresh_requested(run.run_config):
        return True, "a full refresh refits every model"
    asked = run.tags.get(REFIT_TAG, "").strip().lower()
    if asked in ("true", "false"):
        return asked == "true", f"the run asks for it ({REFIT_TAG}={asked})"
    tags = run.tags
    if not (tags.get("dagster/partition") or tags.get("dagster/asset_partition_range_start")):
        return True, "a run without a partition refits"
    return False, "a daily run scores with the stored model"


#: the environment variable the dbt macro ``churn_feature_scope()`` reads (macros/scoring.sql)
CHURN_FEATURE_SCOPE = "CHURN_FEATURE_SCOPE"
#: the scoring asset whose fit reads the churn features' training and validation snapshots
CHURN_ASSET = "customer_churn"
#: the dbt models that compute those snapshots (int_churn_snapshots, inlined)
CHURN_FEATURE_MODELS = ("int_customer_features", "int_customer_touchpoint_counts")


def churn_feature_environment(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> dict[str, str]:
    """``CHURN_FEATURE_SCOPE`` for a dbt step that builds the churn features (DECISIONLOG 151):
    ``score`` when the run's churn step will score with its stored model, as
    :func:`stored_model` decides it (no refit asked for, a stored model of the churn asset's
    code version, no ``stale`` check), so the feature models compute the score snapshot alone,
    the one that scoring reads; ``all`` otherwise, for the fit (and on Spark, which rebuilds
    every table in full). Said once in the step's log; nothing for a step that does not build
    them."""
    from orchestration.assets.dbt import model_asset_key
    from orchestration.resources import WarehouseResource

    keys = {model_asset_key(model) for model in CHURN_FEATURE_MODELS}
    if not keys & set(context.selected_asset_keys):
        return {}
    from orchestration.assets.scoring import SCORING_SPECS
    from orchestration.assets.scoring_factory import SCORING_KEYS
    from orchestration.code_references import code_version

    (spec,) = [spec for spec in SCORING_SPECS if spec.name == CHURN_ASSET]
    refit, why = refit_requested_for(context.run)
    if not isinstance(warehouse, WarehouseResource):
        scope, why = "all", "the Spark target rebuilds every table in full"
    elif refit:
        scope = "all"
    elif spec.stale is not None:
        scope, why = "all", "the stored churn model's settings are checked only when it loads"
    else:
        schema = SCORING_KEYS[spec.name].path[-2]
        stored = read_stored(warehouse, schema, spec.model or "", code_version(spec.modules))
        scope = "score" if stored is not None else "all"
        why = (
            f"the churn step scores with its stored model {stored.version}"
            if stored is not None
            else "no stored churn model of this code version: the churn step fits"
        )
    computed = "the score snapshot alone" if scope == "score" else "every snapshot"
    context.log.info(
        f"The churn features compute {computed} ({CHURN_FEATURE_SCOPE}={scope}): {why}."
    )
    return {CHURN_FEATURE_SCOPE: scope}


def stored_model(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    where: tuple[str, ScoringAsset],
    config: Any,
    code_version: str | None,
) -> tuple[StoredModel | None, Any]:
    """The stored row and the loaded model the run scores with, or (None, None): it refits
    (:func:`refit_requested`, no stored model of ``code_version``, or the spec's ``stale`` says
    the stored model does not fit the run's config). ``where``: (scoring schema, the spec)."""
    from touchpoint_alchemy.scoring.stored import loads

    schema, spec = where
    refit, why = refit_requested(context)
    stored = None if refit else read_stored(warehouse, schema, spec.model or "", code_version)
    model = loads(stored.artifact) if stored is not None else None
    if not refit and stored is None:
        why = "no stored model of this code version"
    elif stored is not None and spec.stale is not None:
        changed = spec.stale(model, config)
        if changed:
            stored, model, why = None, None, changed
    context.log.info(
        f"{spec.model}: scoring with the stored model {stored.version} ({why})"
        if stored is not None
        else f"{spec.model}: fitting ({why})"
    )
    return stored, model


def read_stored(
    warehouse: WarehouseResource, schema: str, model: str, code_version: str | None
) -> StoredModel | None:
    """The stored model of ``model`` if it has one fitted by ``code_version``, else None."""
    from touchpoint_alchemy.scoring.stored import StoredModel

    if not warehouse.has_table(schema, MODEL_STORE_TABLE):
        return None
    rows = [
        row
        for row in warehouse.read_table(schema, MODEL_STORE_TABLE).to_pylist()
        if row["model"] == model
    ]
    if not rows or not rows[0]["artifact"] or rows[0]["code_version"] != code_version:
        return None
    return StoredModel(**rows[0])


def store_table(stored: StoredModel, schema: pa.Schema) -> pa.Table:
    """``stored`` as the one row of its model in ``scoring.model_store``."""
    import pyarrow as pa

    values: dict[str, Any] = {
        "model": stored.model,
        "code_version": stored.code_version,
        "fitted_at": stored.fitted_at,
        "data_cutoff": stored.data_cutoff,
        "metrics": stored.metrics,
        "artifact": stored.artifact,
    }
    return pa.table({name: [values[name]] for name in schema.names}, schema=schema)


def no_model(model: str, code_version: str | None, fitted_at: datetime) -> StoredModel:
    """The row of a refit without a model: the daily runs then try to fit again."""
    from touchpoint_alchemy.scoring.stored import StoredModel

    return StoredModel(model, code_version or "", fitted_at, None, "{}", "")


def keep_model(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    names: tuple[str, str, str],
    scored: Scored,
    stored: StoredModel | None,
    version: str | None,
    fitted_at: datetime,
    cutoff: datetime | None,
) -> tuple[StoredModel, datetime | None]:
    """After a refit (``stored`` None), store its model, or that it has none; after scoring with
    a stored model, add its fit's metrics to ``scored``. Either way add the ``model_version``
    metric. ``names``: (scoring schema, the asset's own table, the model). Returns the model that
    scored and the data cutoff its metrics describe."""
    from orchestration.assets.scoring_factory import SCORING_KEYS, arrow_schema
    from touchpoint_alchemy.scoring.stored import (
        MODEL_VERSION,
        StoredModel,
        dumps,
        metrics_json,
        version_metric,
    )

    schema_name, own_table, model = names
    refitted = stored is None
    if stored is None:
        stored = (
            StoredModel(
                model,
                version or "",
                fitted_at,
                cutoff,
                metrics_json(scored.metrics),
                dumps(scored.model),
            )
            if scored.model is not None
            else no_model(model, version, fitted_at)
        )
        table = store_table(stored, arrow_schema(MODEL_STORE_TABLE))
        warehouse.replace_rows(schema_name, MODEL_STORE_TABLE, table, key_column="model")
        context.log_event(
            AssetMaterialization(
                asset_key=SCORING_KEYS[MODEL_STORE_TABLE],
                description=f"The model {model} refitted and stored.",
                metadata={"model": model, "version": stored.version},
            )
        )
    else:
        scored.metrics = {**stored.fit_metrics(), **scored.metrics}
        cutoff = stored.data_cutoff
    if stored.artifact:
        rows = len(scored.tables.get(own_table, ()))
        now = datetime.now(UTC).replace(tzinfo=None)
        scored.metrics[MODEL_VERSION] = version_metric(stored, rows, now, refitted)
    return stored, cutoff
