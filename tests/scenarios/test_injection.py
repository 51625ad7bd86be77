"""Injection: configuration values and data never reach SQL unescaped.

The hostile build (tests/support/hostile.py) runs into a warehouse holding ``sentinel.keep`` with
every channel trying to drop it: the raw folder's path (RAW_DATA_DIR: a quote, a statement, a
comment and Jinja), the funnel config (dbt var ``funnels``: name and steps), the PII hash salt, and
data values (experiment ids, variants, every text field of the hostile rows). The build must succeed
treating each as data, the sentinel must survive, and no table may appear or vanish. A funnel window
that is not a number fails with a clear compilation error.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

import hostile
from hostile import DROP, HASH_SALT, INJECTED_FUNNEL, SENTINEL


@pytest.fixture(scope="module")
def build(tmp_path_factory, cohorts_small_warehouse) -> hostile.HostileBuild:
    return hostile.hostile_build(tmp_path_factory, cohorts_small_warehouse.path)


def test_the_build_succeeds_and_no_injected_statement_ran(build):
    failures = [e for e in build.result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert build.result.success, [str(e.event_specific_data.error.message) for e in failures]
    with build.connect() as con:
        assert con.execute(f"select answer from {SENTINEL}").fetchall() == [(42,)]
    before, after = hostile.tables(build.before_path), hostile.tables(build.warehouse_path)
    assert SENTINEL in before
    assert after == before, f"created: {after - before}; dropped: {before - after}"


def test_a_raw_data_dir_with_a_quote_and_jinja_is_read_as_a_path(build):
    assert "'" in build.raw_dir.name and "{{" in build.raw_dir.name
    paths = [
        str(m.metadata["path"].value)
        for m in build.result.asset_materializations_for_node("raw_files")
    ]
    assert str(build.raw_dir / "users.csv") in paths
    with build.connect() as con:
        staged = {r[0] for r in con.execute("select user_id from staging.stg_users").fetchall()}
    assert "hx-unicode-user" in staged, "the rows were read from the hostile folder"


def test_funnel_name_and_steps_are_data(build):
    with build.connect() as con:
        steps = con.execute(
            "select distinct step_number, step_name from marts.funnel_conversion "
            "where funnel_name = ? order by step_number",
            [INJECTED_FUNNEL["name"]],
        ).fetchall()
        reached = con.execute(
            "select count(*) from marts.funnel_conversion where funnel_name = ? and users > 0",
            [INJECTED_FUNNEL["name"]],
        ).fetchone()[0]
    assert steps == list(enumerate(INJECTED_FUNNEL["steps"], start=1))
    assert reached > 0, "the first step (product_view) is reached by the fixture's users"


def test_experiment_ids_and_variants_are_data(build):
    with build.connect() as con:
        rows = set(
            con.execute("select experiment_id, variant from marts.experiment_results").fetchall()
        )
    assert {
        (f"exp{DROP}", "control"),
        (f"exp{DROP}", "treatment"),
        ("{{ 7 * 7 }}", "control"),
        ("{{ 7 * 7 }}", f"variant{DROP}"),
        ("../../etc/passwd", "control"),
    } <= rows


def test_a_salt_with_a_quote_is_a_key(build):
    """The salt never reaches the SQL (it is the HMAC key, set on the connection), so a quote in
    it is just a byte of the key."""
    expected = hmac.new(HASH_SALT.encode(), b"c1@example.com", hashlib.sha256).hexdigest()
    with build.connect() as con:
        actual = con.execute("select email_hash from staging.stg_users where user_id = 'c1'")
        assert actual.fetchall() == [(expected,)]


def test_a_funnel_window_that_is_not_a_number_fails_clearly(tmp_path):
    funnel = {"name": "f", "steps": ["a", "b"], "window_days": f"7{DROP}"}
    parsed = hostile.dbt_parse(tmp_path, {}, "--vars", json.dumps({"funnels": [funnel]}))
    assert parsed.returncode != 0
    assert "funnel 'f': window_days must be a positive number of days" in parsed.stdout
