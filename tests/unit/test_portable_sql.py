"""No model has engine-specific SQL: DuckDB-only functions and syntax live only in
`adapter.dispatch` macros (default__/duckdb__ implementations), so the same models can run on
another engine (issue #7: Apache Spark through dbt-spark).

A grep over the model files, with SQL and Jinja comments removed and dbt macro calls
(`dbt.datediff(...)`, `parse_timestamp(...)`) allowed.
"""

from __future__ import annotations

import re

import pytest

from touchpoint_alchemy.settings import DBT_PROJECT_DIR

MODELS = sorted((DBT_PROJECT_DIR / "models").rglob("*.sql"))

# DuckDB (or Postgres) spellings with no standard or Spark equivalent under the same name.
FORBIDDEN = {
    "try_cast": r"\btry_cast\s*\(",
    "read_parquet / read_csv": r"\bread_(parquet|csv|csv_auto|json)\s*\(",
    ":: casts": r"::\s*[a-z]",
    "strptime / strftime": r"\bstr[pf]time\s*\(",
    "epoch_ms": r"\bepoch_ms\s*\(",
    "list functions": r"\blist_[a-z_]+\s*\(",
    "list lambdas": r"\b[a-z_]+\s*->\s*[a-z_(]",
    "struct_pack": r"\bstruct_pack\s*\(",
    "JSON operators": r"->>",
    "json_extract": r"\bjson_extract[a-z_]*\s*\(",
    "regexp functions": r"\bregexp_[a-z_]+\s*\(",
    "bare datediff / date_diff": r"(?<![.\w])date_?diff\s*\(",
    "bare date_trunc": r"(?<![.\w])date_trunc\s*\(",
    "bare dateadd / date_add": r"(?<![.\w])date_?add\s*\(",
    "ilike": r"\bilike\b",
    "qualify": r"\bqualify\b",
    "select * exclude / replace": r"\*\s*(exclude|replace)\s*\(",
    "glob": r"(?<![.\w])glob\s*\(",
    "hash functions": r"(?<![.\w])(md5|sha256|hash)\s*\(",
    "string_agg": r"\bstring_agg\s*\(",
}


def code_of(path) -> str:
    """The model's text without Jinja comments and SQL line comments."""
    text = re.sub(r"\{#.*?#\}", "", path.read_text(), flags=re.S)
    return "\n".join(line.split("--", 1)[0] for line in text.splitlines()).lower()


def test_the_grep_finds_what_it_looks_for():
    """The patterns are live: each one matches its own example and not the macro spelling."""
    examples = {
        "try_cast": "try_cast(x as int)",
        ":: casts": "x::int",
        "bare datediff / date_diff": "date_diff('day', a, b)",
        "list lambdas": "list_transform(xs, x -> x + 1)",
        "select * exclude / replace": "select * exclude (a) from t",
    }
    for name, example in examples.items():
        assert re.search(FORBIDDEN[name], example), name
    assert not re.search(FORBIDDEN["bare datediff / date_diff"], "{{ dbt.datediff('a', 'b') }}")


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_model_has_no_engine_specific_sql(path):
    code = code_of(path)
    found = {name for name, pattern in FORBIDDEN.items() if re.search(pattern, code)}
    assert not found, (
        f"{path.relative_to(DBT_PROJECT_DIR)} uses {sorted(found)}: put engine-specific SQL in "
        "an adapter.dispatch macro (default__/duckdb__) under dbt_project/macros/"
    )
