"""`make lint` runs sqlfluff with its Rust parser and rules (dbt_project/.sqlfluff, DECISIONLOG
167): they must find exactly the violations the Python parser and rules find. The probe is SQL
of the project's shape (CTEs, a join, a window, a case, a grouped cast) with a violation of each
kind the layout, capitalisation, aliasing and reference rules report, linted with the project's
rule settings (its .sqlfluff, with the raw templater: the dbt templater needs a dbt project)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from touchpoint_alchemy.settings import DBT_PROJECT_DIR, REPO_ROOT

PROBE = """with

orders as (
    select * from raw_orders
),

ranked as (
    SELECT
        orders.order_id,orders.user_id ,
        orders.amount,
          row_number() over (
            partition by orders.user_id order by orders.created_at
        ) as order_number
    from orders
    inner join users u on orders.user_id = users.user_id
),

final as (
    select
        ranked.user_id,
        case when ranked.order_number = 1 then 'first' else 'repeat' end as kind,
        cast(SUM(ranked.amount) as decimal(18, 2)) as amount
    from ranked
    group by ranked.user_id, 2
)

select * from final
"""


def _violations(use_rust: bool) -> list[tuple[int, int, str]]:
    import sqlfluff
    from sqlfluff.core import FluffConfig

    config = FluffConfig.from_path(
        str(DBT_PROJECT_DIR),
        overrides={
            "templater": "raw",
            "use_rust_parser": use_rust,
            "use_rust_rules": use_rust,
        },
    )
    linted = sqlfluff.lint(PROBE, config=config)
    return sorted((v["start_line_no"], v["start_line_pos"], v["code"]) for v in linted)


def test_the_project_lints_with_the_rust_parser_and_rules():
    settings = (Path(DBT_PROJECT_DIR) / ".sqlfluff").read_text(encoding="utf-8")
    assert "use_rust_parser = True" in settings and "use_rust_rules = True" in settings
    pytest.importorskip("sqlfluffrs", reason="uv sync installs it (the dev group: sqlfluff[rs])")


def test_the_rust_parser_and_rules_find_what_python_finds():
    python = _violations(use_rust=False)
    rust = _violations(use_rust=True)
    codes = {code for _, _, code in python}
    # a probe that shows nothing would prove nothing
    assert {"LT01", "LT02", "LT09", "CP01", "CP03", "AL05", "AM06"} <= codes
    assert rust == python


def _lint_in_workers(command: list[str], folder: Path) -> list[dict]:
    done = subprocess.run(
        [*command, "lint", "--processes", "2", "--format", "json", "--templater", "raw", "."],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr  # 1: violations found
    return sorted(json.loads(done.stdout), key=lambda record: record["filepath"])


def test_make_lint_finds_what_sqlfluff_finds_without_sending_the_trees_back(tmp_path):
    """`make lint` runs .ci/sqlfluff_lint.py (DECISIONLOG 169): in two workers, on two files, it
    reports sqlfluff's violations, and the segment counts show that no tree came back."""
    shutil.copy(Path(DBT_PROJECT_DIR) / ".sqlfluff", tmp_path / ".sqlfluff")
    for name in ("first.sql", "second.sql"):
        (tmp_path / name).write_text(PROBE, encoding="utf-8")
    bin_dir = Path(sys.executable).parent
    plain = _lint_in_workers([str(bin_dir / "sqlfluff")], tmp_path)
    wrapped = _lint_in_workers(
        [sys.executable, str(REPO_ROOT / ".ci" / "sqlfluff_lint.py")], tmp_path
    )
    assert [record["violations"] for record in wrapped] == [
        record["violations"] for record in plain
    ]
    assert len(plain) == 2 and all(record["violations"] for record in plain)
    assert all(record["statistics"]["segments"] > 0 for record in plain)
    assert all(record["statistics"]["segments"] == 0 for record in wrapped)
