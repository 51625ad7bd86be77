"""`.env.example` (the settings an operator copies to `.env`, which Dagster's command line loads)
lists only real settings: each variable is documented in docs/configuration.md and read
somewhere in the code, and `.env` itself (it may hold PII_HASH_SALT) is never committed."""

from __future__ import annotations

import re

from touchpoint_alchemy.settings import REPO_ROOT

ASSIGNMENT = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)
#: where a setting is read: the code, the dbt profile and project, the Makefile
CODE = [
    *(REPO_ROOT / "orchestration").rglob("*.py"),
    *(REPO_ROOT / "touchpoint_alchemy").rglob("*.py"),
    REPO_ROOT / "dbt_project" / "profiles.yml",
    REPO_ROOT / "dbt_project" / "dbt_project.yml",
    *(REPO_ROOT / "dbt_project" / "macros").rglob("*.sql"),
    REPO_ROOT / "Makefile",
]


def _example_variables() -> list[str]:
    return ASSIGNMENT.findall((REPO_ROOT / ".env.example").read_text(encoding="utf-8"))


def _documented_variables() -> set[str]:
    """The first cell of each row of docs/configuration.md's environment variable table."""
    text = (REPO_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    section = text.split("## Environment variables", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names.update(re.findall(r"`([A-Z][A-Z0-9_]*)`", first_cell))
    return names


def test_every_variable_of_env_example_is_a_documented_setting_read_by_the_code():
    variables = _example_variables()
    assert len(variables) >= 10
    assert len(variables) == len(set(variables)), "a variable is listed twice"
    assert {"WAREHOUSE_DUCKDB_PATH", "DBT_DEV_DUCKDB_PATH", "PII_HASH_SALT"} <= set(variables)
    undocumented = set(variables) - _documented_variables()
    assert not undocumented, f"not in docs/configuration.md: {sorted(undocumented)}"
    code = "\n".join(path.read_text(encoding="utf-8") for path in CODE)
    unread = [name for name in variables if not re.search(rf"\b{name}\b", code)]
    assert not unread, f"no code reads: {unread}"


def test_env_is_ignored_by_git():
    ignored = (REPO_ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ".env" in ignored, ".env (it may hold PII_HASH_SALT) must be in .gitignore"


def test_the_memory_limit_has_one_default_in_the_code_the_profile_and_the_docs():
    """Plain dbt reads DUCKDB_MEMORY_LIMIT's default from profiles.yml, the Dagster runs from
    settings.py: a lower default in one alone would leave the other at the old peak."""
    from touchpoint_alchemy.settings import DEFAULT_MEMORY_LIMIT

    profile = (REPO_ROOT / "dbt_project" / "profiles.yml").read_text(encoding="utf-8")
    assert re.findall(r"env_var\('DUCKDB_MEMORY_LIMIT', '([^']*)'\)", profile) == [
        DEFAULT_MEMORY_LIMIT
    ]
    docs = (REPO_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert f"| `DUCKDB_MEMORY_LIMIT` | `{DEFAULT_MEMORY_LIMIT}` |" in docs
    example = (REPO_ROOT / ".env.example").read_text(encoding="utf-8")
    assert f"# DUCKDB_MEMORY_LIMIT={DEFAULT_MEMORY_LIMIT}\n" in example
