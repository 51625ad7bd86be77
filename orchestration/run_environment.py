"""What both warehouses (:mod:`orchestration.resources`, :mod:`orchestration.spark_warehouse`)
share: the vars and environment variables a run passes to dbt, and the stable order of a table
read for scoring."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from touchpoint_alchemy import settings as config

if TYPE_CHECKING:
    import pyarrow as pa


def dbt_settings(raw_data_dir: str, data_cutoff: str | None) -> dict[str, str]:
    """The environment every dbt command of a run gets: the raw folder, absolute, and the
    cutoff (blank: none). Environment variables, not ``--vars``: the models read them only while
    dbt executes (macros ``raw_data_dir``, ``configured_data_cutoff``), so dbt's saved parse
    holds whatever their values, where a change of ``--vars`` makes dbt parse the whole project
    again (about 8 s; DECISIONLOG 91)."""
    return {
        "RAW_DATA_DIR": str(config.raw_data_path(raw_data_dir)),
        "DATA_CUTOFF": config.checked_data_cutoff(data_cutoff) or "",
    }


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration, then restore them (dbt reads its profile
    from the environment)."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def in_stable_order(data: pa.Table) -> pa.Table:
    """``data`` sorted by its columns, left to right (those Arrow can sort): an engine's scan
    order is not part of a table, and the scores must not depend on it (the same inputs give the
    same scores on DuckDB and Spark, run after run)."""
    import pyarrow as pa

    keys = [
        (field.name, "ascending")
        for field in data.schema
        if not (pa.types.is_nested(field.type) or pa.types.is_dictionary(field.type))
    ]
    return data.sort_by(keys) if keys and data.num_rows > 1 else data


def jinja_inert(value: Any) -> Any:
    """``value`` for ``dbt --vars``, which renders every string as Jinja: each ``{`` becomes
    ``{{ '{' }}``, so no tag can open and dbt's rendering gives back the original text. A folder
    named ``x {{ run_query('drop ...') }}`` is then a folder, not a statement."""
    if isinstance(value, str):
        return value.replace("{", "{{ '{' }}")
    if isinstance(value, dict):
        return {key: jinja_inert(item) for key, item in value.items()}
    if isinstance(value, list):
        return [jinja_inert(item) for item in value]
    return value
