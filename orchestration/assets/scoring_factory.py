"""The one factory of the Python scoring assets, and the registry it builds them from.

The registry is the dbt source ``scoring`` (models/staging/scoring/_scoring.yml), read from the
manifest: every table a scoring asset writes, its columns with their ``data_type`` (from which
the Arrow schemas are made) and, in ``meta.written_by``, the asset that writes it. A table named
like its asset is the asset's own table (its key is the source table's, so the stg_scoring__*
views and the marts depend on it); the others are its side tables, written in the same step
and assets of the same multi-asset.

:func:`build_scoring_asset` turns a :class:`ScoringAsset` into a Dagster asset that reads its
dbt models as DataFrames, calls the spec's ``fit`` (a ``touchpoint_alchemy.scoring`` function
returning :class:`touchpoint_alchemy.scoring.Scored`), writes every table of the asset (empty
when the model cannot be fitted on the data: ``ModelNotFitted``), replaces its model's rows of
``scoring.model_metrics``, and returns the row count, the fit status, the metrics and the spec's
own metadata. A table that does not have exactly its declared columns fails the step. pandas,
pyarrow and the scoring libraries are imported inside the step: the code location loads fast.

Each asset carries ``dagster/table_name`` (its table, as dbt names the source's relation:
``warehouse.scoring.customer_rfm``, the form of the dbt assets' own) and a ``code_version``: a
hash of the source files of the ``touchpoint_alchemy`` modules its spec names (``modules``),
read, not imported, so a change to the model's code shows in the UI as a new code version;
those files are also its code references.
"""

import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dagster import (
    AssetExecutionContext,
    AssetMaterialization,
    AssetsDefinition,
    AssetSpec,
    BetaWarning,
    Config,
    LocalFileCodeReference,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from orchestration import warmup
from orchestration.assets.dbt import (
    model_asset_key,
    source_arrow_schema,
    source_asset_keys,
    source_column_types,
    source_tables,
)
from orchestration.assets.model_store import keep_model, store_table, stored_model
from orchestration.assets.scoring_imports import register_imports
from orchestration.code_references import (
    add_code_references,
    code_version,
    function_reference,
    module_file,
)
from orchestration.resources import WarehouseResource
from orchestration.retries import TRANSIENT_RETRY, fail_fast_unless_transient
from orchestration.translator import OWNER

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from touchpoint_alchemy.scoring import Metric, Scored

SCORING_SOURCE = "scoring"
#: scoring table -> its source node of the manifest (columns with data_type, meta)
SCORING_TABLES: dict[str, dict[str, Any]] = source_tables(SCORING_SOURCE)
#: scoring table -> asset key (the source table's)
SCORING_KEYS = source_asset_keys(SCORING_SOURCE)
#: the table of model-quality figures every model writes its own rows of
MODEL_METRICS_TABLE = "model_metrics"
DATA_CUTOFF = model_asset_key("int_data_cutoff")
#: a declared column of this name that a fit does not return is the wall-clock time of the fit
FITTED_AT = "fitted_at"


def table_name(table: str) -> str:
    """``database.schema.table`` of scoring table ``table``, from its source node."""
    node = SCORING_TABLES[table]
    return ".".join(part for part in (node["database"], node["schema"], node["identifier"]) if part)


def writers(table: str) -> list[str]:
    """The assets that write scoring table ``table`` (its ``meta.written_by``)."""
    written_by = (SCORING_TABLES[table].get("meta") or {}).get("written_by") or []
    return [written_by] if isinstance(written_by, str) else list(written_by)


def shared(table: str) -> bool:
    """Whether several assets write rows of ``table``, each replacing its own model's
    (``meta.replaced_by``: model_metrics, model_store)."""
    return bool((SCORING_TABLES[table].get("meta") or {}).get("replaced_by"))


def tables_written_by(asset_name: str) -> list[str]:
    """The scoring tables ``asset_name`` writes besides the shared ones, its own table first."""
    tables = [t for t in SCORING_TABLES if asset_name in writers(t) and not shared(t)]
    if asset_name not in tables:
        raise ValueError(f"the scoring source declares no table {asset_name!r} written by it")
    return sorted(tables, key=lambda table: table != asset_name)


def declared_columns(table: str) -> dict[str, str]:
    """Column -> dbt data_type of scoring table ``table``, in the declared order."""
    return source_column_types(SCORING_TABLES[table])


def arrow_schema(table: str) -> "pa.Schema":
    """The Arrow schema of scoring table ``table``, from its declared columns."""
    return source_arrow_schema(SCORING_TABLES[table])


def to_arrow(
    table: str, frame: "pd.DataFrame | pa.Table | None", fitted_at: datetime
) -> "pa.Table":
    """``frame`` (a DataFrame, or Arrow: millions of strings never become Python objects) as
    scoring table ``table``: its declared columns in order, with their types (``fitted_at``
    filled in when a DataFrame has none). An empty or missing frame is an empty table; a
    non-empty one with columns other than the declared ones is an error."""
    import pyarrow as pa

    schema = arrow_schema(table)
    arrow = isinstance(frame, pa.Table)
    if frame is None or (frame.num_rows == 0 if arrow else frame.empty):
        return schema.empty_table()
    if not arrow and FITTED_AT in schema.names and FITTED_AT not in frame.columns:
        frame = frame.assign(**{FITTED_AT: fitted_at})
    columns = frame.column_names if arrow else list(frame.columns)
    if set(columns) != set(schema.names):
        raise ValueError(
            f"scoring.{table}: written columns {sorted(columns)} are not the declared "
            f"columns {sorted(schema.names)} (models/staging/scoring/_scoring.yml)"
        )
    if arrow:
        return frame.select(schema.names).cast(schema)
    return pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)


def metrics_table(
    model: str, metrics: "Mapping[str, Metric]", fitted_at: datetime, cutoff: datetime | None
) -> "pa.Table":
    """The ``scoring.model_metrics`` rows of ``model``, sorted by metric."""
    import pyarrow as pa

    from touchpoint_alchemy.scoring import Metric

    names = sorted(metrics)
    rows = [Metric(*metrics[name]) for name in names]
    values = {
        "model": [model] * len(names),
        "metric": names,
        "value": [row.value for row in rows],
        "n": [row.n for row in rows],
        "fitted_at": [fitted_at] * len(names),
        "data_cutoff": [cutoff] * len(names),
        "detail": [row.detail for row in rows],
    }
    schema = arrow_schema(MODEL_METRICS_TABLE)
    return pa.table({name: values[name] for name in schema.names}, schema=schema)


def metrics_markdown(metrics: "Mapping[str, Metric]") -> str:
    from touchpoint_alchemy.markdown import markdown_table
    from touchpoint_alchemy.scoring import Metric

    rows = [(name, *Metric(*metrics[name])) for name in sorted(metrics)]
    return markdown_table(
        ["metric", "value", "n", "detail"], [(m, v, n, d or "") for m, v, n, d in rows]
    )


@dataclass(frozen=True)
class ScoringAsset:
    """One scoring asset: what it reads, how it fits, what it says about the result."""

    #: the asset's own scoring table (and the last part of its key), e.g. customer_clv
    name: str
    #: dbt model -> the columns to read: None (all), or a function returning them (called in
    #: the step, so it may import the scoring library)
    inputs: Mapping[str, Callable[[], Sequence[str]] | None]
    #: (DataFrames by model name, the run config or None) -> the asset's tables and metrics
    fit: "Callable[[dict[str, pd.DataFrame], Any], Scored]"
    description: str
    kinds: frozenset[str]
    #: the ``touchpoint_alchemy`` modules whose code computes the scores, every one they import
    #: included (tests/dbt/test_scoring_assets.py checks): the asset's code version and code
    #: references
    modules: tuple[str, ...] = ()
    #: the libraries a fit imports inside its functions (pymc-marketing, Prophet): imported with
    #: ``modules`` in the background while dbt builds, when the run refits (orchestration/warmup.py)
    fit_imports: tuple[str, ...] = ()
    #: the libraries ``apply`` imports too (the forecast's Prophet), warmed on the daily runs
    apply_imports: tuple[str, ...] = ()
    #: the Dagster run config class of the asset, if it has settings
    config: type[Config] | None = None
    #: its name in scoring.model_metrics; None: no metrics, and a model that cannot fit fails
    model: str | None = None
    #: the customers a model that cannot fit would have scored (the n of its status row)
    unfitted_n: "Callable[[dict[str, pd.DataFrame]], int]" = lambda inputs: 0
    #: called with the config first thing in the step, before any import (e.g. thread settings)
    prepare: Callable[[Any], None] | None = None
    #: (DataFrames, config, the model a refit stored) -> the tables, without a fit: the daily
    #: runs score this way (orchestration/assets/model_store.py); None: refit every run. A fit
    #: returns the model to store as ``Scored.model``.
    apply: "Callable[[dict[str, pd.DataFrame], Any, Any], Scored] | None" = None
    #: dbt model -> a function returning the rows ``apply`` needs of it (column -> value): a run
    #: that scores with the stored model reads only those; a fit reads every row
    apply_rows: Mapping[str, Callable[[], Mapping[str, Any]]] = field(default_factory=dict)
    #: (the stored model, config) -> why it cannot score with this config (a refit), or None
    stale: "Callable[[Any, Any], str | None] | None" = None
    #: the asset's own metadata from the fit's result and the config (scores may be empty)
    describe: "Callable[[Scored, Any], dict[str, Any]]" = field(default=lambda scored, config: {})


def _data_cutoff(warehouse: WarehouseResource) -> datetime | None:
    rows = warehouse.read_table(*DATA_CUTOFF.path).to_pylist()
    return rows[0]["data_cutoff_at"] if rows else None


def _materialize(
    spec: ScoringAsset,
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    config: Any,
    version: str | None = None,
) -> Iterator[MaterializeResult]:
    warmup.wait(context.run_id)  # no import in two threads at once
    if spec.prepare is not None:
        spec.prepare(config)
    from touchpoint_alchemy.scoring import Metric, ModelNotFitted, Scored, model_status

    fitted_at = datetime.now(UTC).replace(tzinfo=None)
    schema_name = SCORING_KEYS[spec.name].path[-2]
    # one connection for the reads and one for the writes, none during the fit (DECISIONLOG 132)
    with warehouse.session():
        cutoff = _data_cutoff(warehouse) if spec.model else None
        stored, model = (
            stored_model(context, warehouse, (schema_name, spec), config, version)
            if spec.apply is not None
            else (None, None)
        )
        applying = stored is not None and spec.apply is not None
        inputs = {
            name: warehouse.read_table(
                *model_asset_key(name).path,
                columns=columns() if columns else None,
                where=spec.apply_rows[name]() if applying and name in spec.apply_rows else None,
            ).to_pandas()
            for name, columns in spec.inputs.items()
        }
    try:
        scored = spec.apply(inputs, config, model) if applying else spec.fit(inputs, config)
    except ModelNotFitted as error:
        if spec.model is None:
            raise
        context.log.warning(f"{spec.model}: no scores ({error.metric}): {error}")
        scored = Scored(
            tables={}, metrics={error.metric: Metric(1.0, spec.unfitted_n(inputs), str(error))}
        )
    with warehouse.session():
        if spec.apply is not None:
            stored, cutoff = keep_model(
                context,
                warehouse,
                (schema_name, spec.name, spec.model),
                scored,
                stored,
                version,
                fitted_at,
                cutoff,
            )
            fitted_at = stored.fitted_at
        # every table is written, whatever the selection: they come from one fit
        rows = {}
        for table in tables_written_by(spec.name):
            data = to_arrow(table, scored.tables.get(table), fitted_at)
            warehouse.write_table(schema_name, table, data)
            rows[table] = data.num_rows
        if spec.model:
            metrics = metrics_table(spec.model, scored.metrics, fitted_at, cutoff)
            warehouse.replace_rows(schema_name, MODEL_METRICS_TABLE, metrics, key_column="model")
    metadata: dict[str, Any] = {"dagster/row_count": rows[spec.name]}
    if spec.model:
        status = model_status(spec.model, scored.metrics)
        metadata["fit_status"] = MetadataValue.text(status.describe())
        metadata["model_metrics"] = MetadataValue.md(metrics_markdown(scored.metrics))
        # model_metrics has several writers, so no asset of theirs: each reports its rows
        context.log_event(
            AssetMaterialization(
                asset_key=SCORING_KEYS[MODEL_METRICS_TABLE],
                description=f"The rows of model {spec.model} replaced.",
                metadata={"model": spec.model, "rows_of_model": metrics.num_rows},
            )
        )
    metadata.update(spec.describe(scored, config))
    selected = context.selected_asset_keys
    for table, count in rows.items():
        if SCORING_KEYS[table] in selected:
            extra = metadata if table == spec.name else {"dagster/row_count": count}
            yield MaterializeResult(asset_key=SCORING_KEYS[table], metadata=extra)


def build_scoring_asset(spec: ScoringAsset) -> AssetsDefinition:
    """The Dagster multi-asset of ``spec``: its own table (key ``scoring/<name>``, depending on
    its input models and, for a model with metrics, the data cutoff) and each side table it
    writes (depending on the own table), group ``scoring``, with the transient-only retry policy
    and :func:`fail_fast_unless_transient` around its body. A selection of some of its tables
    still writes them all (one fit) and reports the selected ones."""
    tables = tables_written_by(spec.name)  # fails at import when the registry does not declare it
    version = code_version(spec.modules) if spec.modules else None
    register_imports(spec, SCORING_KEYS[spec.name])
    if spec.config is None:

        def compute(context: AssetExecutionContext, warehouse: WarehouseResource) -> Any:
            yield from _materialize(spec, context, warehouse, None, version)

    else:

        def compute(  # type: ignore[misc]
            context: AssetExecutionContext, config: Config, warehouse: WarehouseResource
        ) -> Any:
            yield from _materialize(spec, context, warehouse, config, version)

        # Dagster finds the run config class in the signature
        compute.__annotations__["config"] = spec.config
    compute.__name__ = compute.__qualname__ = spec.name
    deps = [model_asset_key(model) for model in spec.inputs]
    specs = []
    for table in tables:
        with warnings.catch_warnings():  # code references are a beta feature; we mean to use it
            warnings.simplefilter("ignore", BetaWarning)
            metadata = add_code_references(
                {"dagster/table_name": table_name(table)},
                [
                    LocalFileCodeReference(file_path=str(module_file(m).resolve()))
                    for m in spec.modules
                ],
            )
        own = table == spec.name
        specs.append(
            AssetSpec(
                key=SCORING_KEYS[table],
                deps=[*deps, *([DATA_CUTOFF] if spec.model and DATA_CUTOFF not in deps else [])]
                if own
                else [SCORING_KEYS[spec.name]],
                group_name="scoring",
                owners=[OWNER],
                kinds=set(spec.kinds),
                description=spec.description if own else SCORING_TABLES[table].get("description"),
                metadata=metadata,
                code_version=version,
                skippable=not own,
            )
        )
    return multi_asset(
        name=SCORING_KEYS[spec.name].to_python_identifier(),  # scoring__<name>, as before
        specs=specs,
        can_subset=True,
        retry_policy=TRANSIENT_RETRY,
    )(fail_fast_unless_transient(compute))


def shared_table_specs() -> list[AssetSpec]:
    """Every shared scoring table (``shared``): model_metrics, model_store."""
    return [model_metrics_spec(table) for table in SCORING_TABLES if shared(table)]


def model_metrics_spec(table: str = MODEL_METRICS_TABLE) -> AssetSpec:
    """``scoring.model_metrics`` (or another shared table): every model writes its own rows
    (``meta.written_by``), so no one asset owns it; an asset spec without a step, depending on
    its writers, which report its materializations."""
    with warnings.catch_warnings():  # code references are a beta feature; we mean to use it
        warnings.simplefilter("ignore", BetaWarning)
        metadata = add_code_references(
            {"dagster/table_name": table_name(table)},
            [function_reference(metrics_table if table == MODEL_METRICS_TABLE else store_table)],
        )
    return AssetSpec(
        key=SCORING_KEYS[table],
        deps=[SCORING_KEYS[writer] for writer in writers(table)],
        group_name="scoring",
        owners=[OWNER],
        kinds={"python", "duckdb"},
        description=SCORING_TABLES[table].get("description"),
        metadata=metadata,
    )
