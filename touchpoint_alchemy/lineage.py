"""Column lineage of the dbt models, read from a dbt run's manifest and compiled SQL.

For each model dbt compiled, every declared column maps to the columns of the models, seeds and
sources it is computed from: ``{model id: {column: [(upstream unique id, column), ...]}}``. The
upstream columns come from the manifest (the columns each YAML declares, which every model and
source here does); sqlglot qualifies the compiled SQL against them (DuckDB dialect) and walks each
output column back to the tables it reads. An ephemeral model inlined as a ``__dbt__cte__`` CTE
counts as the upstream itself, not its own parents.

Nothing here needs a database or a dbt adapter. A model whose SQL sqlglot cannot parse or
qualify gets no lineage (it is listed in ``unresolved``), never an error. Results are cached by a
hash of a model's compiled SQL and of its and its parents' declared columns, in a JSON file beside
the run's artifacts (:data:`CACHE_FILE`): the compiled SQL rarely changes between runs, and
sqlglot takes about 0.1 s a model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: model unique id -> column -> its upstream (unique id, column) pairs, sorted
Lineage = dict[str, dict[str, list[tuple[str, str]]]]

#: the cache, in the dbt target folder (``dbt_project/target``)
CACHE_FILE = "column_lineage_cache.json"
#: at most this many models' results are kept (a few builds of every model)
CACHE_ENTRIES = 1000
#: bump when the computation changes, so that older cache entries are not reused
CACHE_VERSION = 2
#: a date or timestamp literal: a model that stamps its rows with the run's time (the
#: quarantine's ``rejected_at``) or reads the cutoff compiles to new SQL on every run, with the
#: same lineage; the cache's key reads every such literal as the same one (DECISIONLOG 130)
TIME_LITERAL = re.compile(r"'\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?'")
#: dbt inlines an ephemeral model as a CTE of this prefix
EPHEMERAL_PREFIX = "__dbt__cte__"
#: a pseudo schema for ephemeral models, which have no relation
EPHEMERAL_SCHEMA = "__ephemeral__"
#: the sqlglot dialect of each dbt adapter type this project runs on
DIALECTS = {"duckdb": "duckdb", "spark": "spark"}


@dataclass
class LineageResult:
    lineage: Lineage = field(default_factory=dict)
    #: model unique id -> why sqlglot could not resolve it
    unresolved: dict[str, str] = field(default_factory=dict)
    #: models computed now (the rest came from the cache)
    computed: int = 0


def _relation_key(schema: str | None, name: str | None) -> tuple[str, str]:
    return ((schema or "").lower(), (name or "").lower())


def _upstream_tables(manifest: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(schema, table) -> manifest node of every model, seed, snapshot and source; an
    ephemeral model under :data:`EPHEMERAL_SCHEMA` and its CTE name. The database part of a
    relation is left out: it is the file's name, which differs between a run's working copy and
    the manifest a parse wrote for another target."""
    tables: dict[tuple[str, str], dict[str, Any]] = {}
    nodes = [*manifest.get("nodes", {}).values(), *manifest.get("sources", {}).values()]
    for node in nodes:
        if node.get("resource_type") not in ("model", "seed", "snapshot", "source"):
            continue
        config = node.get("config") or {}
        if config.get("materialized") == "ephemeral":
            key = _relation_key(EPHEMERAL_SCHEMA, EPHEMERAL_PREFIX + node["name"])
        else:
            name = node.get("identifier") or node.get("alias") or node["name"]
            key = _relation_key(node.get("schema"), name)
        tables[key] = node
    return tables


def _columns(node: Mapping[str, Any]) -> dict[str, str]:
    """The declared columns of a node with their types (``unknown`` when not declared)."""
    return {
        name.lower(): (spec.get("data_type") or "unknown")
        for name, spec in (node.get("columns") or {}).items()
    }


def tables_by_id(tables: Mapping[tuple[str, str], dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {node["unique_id"]: node for node in tables.values()}


def _fingerprint(sql: str, parents: Iterable[dict[str, Any]]) -> str:
    digest = hashlib.sha256(f"{CACHE_VERSION}\n{TIME_LITERAL.sub("'<time>'", sql)}".encode())
    for parent in sorted(parents, key=lambda node: node["unique_id"]):
        digest.update(json.dumps([parent["unique_id"], _columns(parent)]).encode())
    return digest.hexdigest()


def sqlglot_schema(tables: Mapping[tuple[str, str], dict[str, Any]], dialect: str) -> Any:
    """The declared columns of ``tables`` as sqlglot's schema (built once for all models)."""
    from sqlglot.schema import MappingSchema

    schema: dict[str, dict[str, dict[str, str]]] = {}
    for (db, name), node in tables.items():
        schema.setdefault(db, {})[name] = _columns(node)
    return MappingSchema(schema, dialect=dialect)


def model_lineage(
    sql: str,
    declared: Iterable[str],
    tables: Mapping[tuple[str, str], dict[str, Any]],
    dialect: str = "duckdb",
    schema: Any = None,
    file_source: str | None = None,
) -> dict[str, list[tuple[str, str]]]:
    """Lineage of the declared columns of one model from its compiled SQL, against ``tables``
    (:func:`_upstream_tables`; ``schema``: :func:`sqlglot_schema` of them, built when not
    given). A column read from a table function (``read_csv(...)``: the staging models read the
    raw files in place) is attributed to ``file_source``, the model's one source, when that
    declares a column of the name. Raises sqlglot's errors when the SQL cannot be resolved."""
    from sqlglot import exp, parse_one
    from sqlglot.lineage import lineage
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.optimizer.scope import build_scope

    expression = parse_one(sql, dialect=dialect)
    # Ephemeral models are CTEs named __dbt__cte__<model>: drop the CTEs and read them as tables,
    # so that their columns point at the ephemeral model.
    with_ = expression.args.get("with_") or expression.args.get("with")
    if with_ is not None:
        kept = [cte for cte in with_.expressions if not cte.alias.startswith(EPHEMERAL_PREFIX)]
        if not kept:
            with_.pop()
        else:
            with_.set("expressions", kept)
    for table in expression.find_all(exp.Table):
        table.set("catalog", None)
        if table.name.startswith(EPHEMERAL_PREFIX) and not table.args.get("db"):
            table.set("db", exp.to_identifier(EPHEMERAL_SCHEMA))
    schema = schema if schema is not None else sqlglot_schema(tables, dialect)
    file_columns = set(_columns(tables_by_id(tables)[file_source])) if file_source else set()
    qualified = qualify(
        expression, dialect=dialect, schema=schema, validate_qualify_columns=False, identify=False
    )
    scope = build_scope(qualified)
    # trim_selects=False: trimming copies every select (20 times slower) and only changes how a
    # node's SQL is shown, not which columns it reads.
    nodes = lineage(
        None, qualified, schema, dialect=dialect, scope=scope, copy=False, trim_selects=False
    )
    result: dict[str, list[tuple[str, str]]] = {}
    wanted = {column.lower() for column in declared}
    for column, root in nodes.items():
        if column.lower() not in wanted:
            continue
        deps: set[tuple[str, str]] = set()
        for node in root.walk():
            if node.downstream:
                continue
            table = node.expression.find(exp.Table)
            if table is None:
                continue
            name = exp.to_column(node.name).name.lower()
            if isinstance(table.this, exp.Func):  # read_csv(...): a raw file read in place
                if name in file_columns:
                    deps.add((file_source, name))
                continue
            upstream = tables.get(_relation_key(table.db, table.name))
            if upstream is not None:
                deps.add((upstream["unique_id"], name))
        result[column.lower()] = sorted(deps)
    return result


def column_lineage(
    manifest: Mapping[str, Any],
    unique_ids: Iterable[str] | None = None,
    cache_path: Path | None = None,
) -> LineageResult:
    """Lineage of every model of ``unique_ids`` (default: all) that ``manifest`` holds with
    compiled SQL (``compiled_code``, as a dbt run's own manifest.json has for the models it
    compiled). ``cache_path``: a JSON file of earlier results, read and updated."""
    dialect = DIALECTS.get((manifest.get("metadata") or {}).get("adapter_type"), "duckdb")
    tables = _upstream_tables(manifest)
    by_id = tables_by_id(tables)
    schema = None  # built on the first model the cache does not hold
    cache = _read_cache(cache_path)
    used: dict[str, Any] = {}
    result = LineageResult()
    nodes = manifest.get("nodes", {})
    for unique_id in list(nodes) if unique_ids is None else list(unique_ids):
        node = nodes.get(unique_id)
        if not node or node.get("resource_type") != "model" or not node.get("compiled_code"):
            continue
        sql = node["compiled_code"]
        parents = [by_id[p] for p in node.get("depends_on", {}).get("nodes", []) if p in by_id]
        key = _fingerprint(f"{unique_id}\n{sql}", [*parents, node])
        entry = cache.get(key)
        if entry is None:
            result.computed += 1
            sources = [p["unique_id"] for p in parents if p["resource_type"] == "source"]
            try:
                schema = schema if schema is not None else sqlglot_schema(tables, dialect)
                entry = {
                    "lineage": model_lineage(
                        sql,
                        _columns(node),
                        tables,
                        dialect,
                        schema=schema,
                        file_source=sources[0] if len(sources) == 1 else None,
                    )
                }
            except Exception as error:  # noqa: BLE001 - sqlglot raises many kinds; never fail
                entry = {"error": f"{type(error).__name__}: {str(error)[:300]}"}
                log.debug("No column lineage for %s: %s", unique_id, entry["error"])
        used[key] = entry
        if "error" in entry:
            result.unresolved[unique_id] = entry["error"]
        else:
            result.lineage[unique_id] = {
                column: [(parent, name) for parent, name in deps]
                for column, deps in entry["lineage"].items()
            }
    if cache_path is not None and result.computed:
        # this run's entries first, then the older ones, up to CACHE_ENTRIES
        older = [(key, entry) for key, entry in cache.items() if key not in used]
        _write_cache(cache_path, dict([*used.items(), *older][:CACHE_ENTRIES]))
    return result


def _read_cache(path: Path | None) -> dict[str, Any]:
    if path is None or not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_cache(path: Path, cache: dict[str, Any]) -> None:
    """Atomically (a temporary file, then rename): runs may share the target folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(json.dumps(cache))  # in order: newest first
        os.replace(temporary, path)
    except OSError as error:  # a cache that cannot be written costs time, not the run
        log.debug("Column lineage cache not written to %s: %s", path, error)
