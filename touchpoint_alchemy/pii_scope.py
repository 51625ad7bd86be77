"""What a daily run's PII scan reads, and the column-lineage rule that makes that safe
(DECISIONLOG 75).

Raw text enters the warehouse in two places only: the staged tables that read the raw files
(``staging.base_*``) and the quarantine (``audit.rejected_rows``), which both hold the raw row.
Everything in the derived layers (the models under ``models/intermediate`` and ``models/marts``)
is computed from them, and the dbt project declares which raw columns' values may flow there:
the raw source columns with ``meta: {pii_lineage: allowed}`` (keys, codes, and open text such as
``page`` or ``properties`` whose new values the scan reads at ingestion). A raw column without it
(``email``, ``phone``, the NPS ``comment``) must never reach a derived text column:
:func:`lineage_violations` walks each derived text column back through the column lineage of the
compiled SQL (``touchpoint_alchemy.lineage``) to the raw columns it is computed from, and a test
of ``make test`` fails on any other.

So a daily run (:func:`daily_scope`) scans:

- the rows that run wrote of a windowed staged table: the model's ``meta.pii_scan_window``, a SQL
  condition with ``{since}`` (the window's first day minus the lookback, as a timestamp) and
  ``{schema}`` (the model's schema), the same rows its pre-hook deleted and rebuilt;
- every other table in full: the other staged tables and the quarantine (rebuilt in full every
  run), the tables Python writes (``scoring``, the ledger of raw parts), the seeds;
- no derived table: they can only carry text of allowed columns, whose new values it scanned.

A build from all history (a full refresh, a run without a partition, a first build) staged every
row, so it scans every row of those tables and leaves the derived tables to lineage in the same
way (:func:`staged_scope`, DECISIONLOG 115). The weekly refit run scans everything
(``pii_scan.FULL``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, timedelta
from typing import Any

from touchpoint_alchemy.lineage import Lineage
from touchpoint_alchemy.pii_scan import FULL, Relation, ScanScope
from touchpoint_alchemy.sql import quote_identifier, quote_literal

#: the dbt model folders (``models/<folder>``) of the derived tables
DERIVED_FOLDERS = ("intermediate", "marts")
#: a model's ``meta`` key: the SQL condition of the rows a daily run wrote
WINDOW_META = "pii_scan_window"
#: a raw source column's ``meta`` key, and its value, for a column whose values may reach a
#: derived table
LINEAGE_META = "pii_lineage"
ALLOWED = "allowed"
#: a column's ``meta`` key, and its value, for machine-written text searched for raw values only
SCAN_META = "pii_scan"
EXACT_ONLY = "exact_only"
#: the dbt source of the raw files
RAW_SOURCE = "raw"
#: the name (in the check's metadata) of the scope of a build from all history
STAGED_SCOPE = "every staged row"


def _meta(spec: Mapping[str, Any]) -> dict[str, Any]:
    return spec.get("meta") or (spec.get("config") or {}).get("meta") or {}


def relation(node: Mapping[str, Any]) -> Relation:
    """(schema, table) of a model, seed or source node."""
    return node["schema"], node.get("alias") or node.get("identifier") or node["name"]


def _is_ephemeral(node: Mapping[str, Any]) -> bool:
    return (node.get("config") or {}).get("materialized") == "ephemeral"


def derived_models(manifest: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Unique id -> node of every model of the derived folders (ephemeral ones included)."""
    return {
        uid: node
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model"
        and len(node.get("fqn", ())) > 2
        and node["fqn"][1] in DERIVED_FOLDERS
    }


def window_since(window_start: str | date, lookback_days: int) -> date:
    """The first day a daily run rewrote: its window's first day minus the lookback (as
    ``incremental_since()`` of macros/incremental.sql)."""
    start = window_start if isinstance(window_start, date) else date.fromisoformat(window_start)
    return start - timedelta(days=lookback_days)


def window_filters(manifest: Mapping[str, Any], since: date) -> dict[Relation, str]:
    """(schema, table) -> SQL condition of the rows written since ``since``, for every model that
    declares ``meta.pii_scan_window``."""
    found = {}
    for node in manifest["nodes"].values():
        condition = _meta(node).get(WINDOW_META)
        if node["resource_type"] == "model" and condition:
            found[relation(node)] = condition.format(
                since=f"cast({quote_literal(since.isoformat())} as timestamp)",
                schema=quote_identifier(node["schema"]),
            )
    return found


def derived_tables(manifest: Mapping[str, Any]) -> frozenset[Relation]:
    """(schema, table) of every derived table: what lineage covers instead of the scan."""
    return frozenset(
        relation(node) for node in derived_models(manifest).values() if not _is_ephemeral(node)
    )


def staged_scope(manifest: Mapping[str, Any]) -> ScanScope:
    """The scope of a build from all history: every row of every table but the derived ones
    (every staged row is new, so this is a daily scope whose window is all history)."""
    return ScanScope(name=STAGED_SCOPE, skip=derived_tables(manifest))


def daily_scope(manifest: Mapping[str, Any], since: date) -> ScanScope:
    """The scope of a run that rewrote the staged rows since ``since``."""
    return ScanScope(
        name=f"rows written since {since}",
        skip=derived_tables(manifest),
        row_filters=window_filters(manifest, since),
    )


def exact_only_columns(manifest: Mapping[str, Any]) -> set[tuple[str, str, str]]:
    """(schema, table, column) of every source and model column declared
    ``meta: {pii_scan: exact_only}`` (machine-written text: file paths, run ids, base64)."""
    nodes = [*manifest["sources"].values(), *manifest["nodes"].values()]
    return {
        (*relation(node), name)
        for node in nodes
        for name, column in (node.get("columns") or {}).items()
        if _meta(column).get(SCAN_META) == EXACT_ONLY
    }


def allowed_raw_columns(manifest: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(source unique id, column) of every raw column declared ``pii_lineage: allowed``."""
    return {
        (uid, name.lower())
        for uid, node in manifest["sources"].items()
        if node["source_name"] == RAW_SOURCE
        for name, spec in (node.get("columns") or {}).items()
        if _meta(spec).get(LINEAGE_META) == ALLOWED
    }


def lineage_violations(
    manifest: Mapping[str, Any],
    lineage: Lineage,
    text_columns: Mapping[Relation, Collection[str]],
) -> list[str]:
    """Every text column of a derived table (``text_columns``: (schema, table) -> its text
    columns, from the warehouse) that is computed from a raw column not declared
    ``pii_lineage: allowed``, or whose lineage is unknown; one message each.

    ``lineage``: unique id -> column -> upstream (unique id, column), as
    :func:`touchpoint_alchemy.lineage.column_lineage` returns it. An ephemeral model without
    lineage of its own (it is no Dagster asset, so a build's metadata has none) counts as
    computed from every text column of its parents (their declared columns when they are
    ephemeral too)."""
    nodes = {**manifest["nodes"], **manifest["sources"]}
    allowed = allowed_raw_columns(manifest)
    memo: dict[tuple[str, str], set[str]] = {}

    def problems(uid: str, column: str) -> set[str]:
        """Why (uid, column) may carry raw text that is not allowed (empty: it may not)."""
        key = (uid, column.lower())
        if key in memo:
            return memo[key]
        memo[key] = set()  # a cycle adds nothing
        node = nodes.get(uid)
        found: set[str] = set()
        if node is None:
            found.add(f"unknown upstream {uid}")
        elif node["resource_type"] == "source":
            if node["source_name"] == RAW_SOURCE and key not in allowed:
                found.add(f"raw.{node['name']}.{key[1]}, not declared {LINEAGE_META}: {ALLOWED}")
        elif node["resource_type"] != "model":
            pass  # a seed: reference data, scanned in full by every run
        elif uid in lineage and key[1] in lineage[uid]:
            for parent, name in lineage[uid][key[1]]:
                found |= problems(parent, name)
        elif _is_ephemeral(node) and uid not in lineage:
            for parent in node.get("depends_on", {}).get("nodes", []):
                parent_node = nodes.get(parent) or {}
                names = text_columns.get(relation(parent_node)) if parent_node else None
                for name in names if names is not None else parent_node.get("columns") or {}:
                    found |= problems(parent, name)
        else:
            found.add(f"no column lineage for {'.'.join(relation(node))}.{key[1]}")
        memo[key] = found
        return found

    violations = []
    for uid, node in sorted(derived_models(manifest).items()):
        for column in sorted(text_columns.get(relation(node), ())):
            for problem in sorted(problems(uid, column)):
                violations.append(f"{'.'.join(relation(node))}.{column}: from {problem}")
    return violations


def _measure(argv: list[str] | None = None) -> None:
    """``python -m touchpoint_alchemy.pii_scope WAREHOUSE RAW_DIR DAY``: the seconds, rows and
    tables of the full scan (the weekly run's), of a build's from all history and of a daily run's
    scan for partition DAY (read-only)."""
    import argparse
    import json
    import time
    from pathlib import Path

    import duckdb

    from touchpoint_alchemy import labels
    from touchpoint_alchemy.pii_scan import scan
    from touchpoint_alchemy.settings import DBT_PROJECT_DIR

    parser = argparse.ArgumentParser(description=_measure.__doc__)
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("raw_dir", type=Path)
    parser.add_argument("day", help="the daily partition, YYYY-MM-DD")
    args = parser.parse_args(argv)
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    since = window_since(args.day, labels.incremental_lookback_days())
    with duckdb.connect(str(args.warehouse), read_only=True) as con:
        for scope in (FULL, staged_scope(manifest), daily_scope(manifest, since)):
            started = time.perf_counter()
            result = scan(con, args.raw_dir, exact_only_columns(manifest), scope=scope)
            seconds = time.perf_counter() - started
            print(
                f"{scope.name}: {seconds:.2f} s, {result.rows:,} rows, {result.tables} tables "
                f"({len(result.skipped)} left to lineage), {len(result.findings)} finding(s)"
            )


if __name__ == "__main__":
    _measure()
