"""Repeat purchase, early churn and AARRR against benchmarks (issue 20) on the demo warehouse,
row by row against tests/support/repeat_reference.py: pandas written from the definitions, on
reference.py's validation, consent, stitching and purchase rules.

aarrr_benchmarks takes the AARRR figures from marts.aarrr_monthly, which test_growth.py checks
against its own reference; here the mapping of metrics, the blended acquisition cost (from the
raw spend and the first purchases), early churn, the gap and the status are recomputed. The
hand-worked cases are in tests/scenarios/test_hand_worked_fixtures.py (cohorts_small) and the
dbt unit test of int_customer_second_purchases (equal timestamps, the day boundary).
"""

from __future__ import annotations

import pandas as pd
import pytest

from touchpoint_alchemy.settings import DBT_PROJECT_DIR

import reference
import repeat_reference
from compare import assert_same_rows

BENCHMARKS = DBT_PROJECT_DIR / "dbt_seeds" / "benchmarks.csv"
NEW_TABLES = ("repeat_purchase_curve", "early_churn", "aarrr_benchmarks")


@pytest.fixture(scope="module")
def staged(demo_validated):
    return demo_validated[0]


@pytest.fixture(scope="module")
def benchmarks() -> pd.DataFrame:
    return pd.read_csv(BENCHMARKS)


def churn_benchmark(benchmarks: pd.DataFrame) -> float:
    return float(benchmarks.set_index("metric").at["early_churn_30d", "benchmark_value"])


def test_benchmarks_seed_holds_the_playbook_defaults(demo_warehouse, benchmarks):
    expected = pd.DataFrame(
        [
            ("reached_users", "awareness", 15000.0, True),
            ("acquisition_cost", "acquisition", 30.0, False),
            ("activation_rate", "activation", 0.15, True),
            ("repeat_purchase_rate", "retention", 0.30, True),
            ("referral_rate", "referral", 0.08, True),
            ("early_churn_30d", "retention", 0.28, False),
        ],
        columns=["metric", "stage", "benchmark_value", "higher_is_better"],
    )
    actual = demo_warehouse.df("select * from staging.benchmarks")
    assert_same_rows(actual, expected, keys=["metric"])
    assert_same_rows(benchmarks, expected, keys=["metric"])


def test_repeat_purchase_curve_matches_reference(demo_warehouse, staged):
    expected = repeat_reference.repeat_purchase_curve(staged)
    actual = demo_warehouse.df("select * from marts.repeat_purchase_curve")
    assert expected["cohort_month"].nunique() == 12
    # both states of the curve occur: closed days and days still open at the cutoff
    assert expected["eligible"].any() and not expected["eligible"].all()
    assert_same_rows(actual, expected, keys=["cohort_month", "days_since_first_purchase"])


def test_early_churn_matches_reference(demo_warehouse, staged, benchmarks):
    expected = repeat_reference.early_churn(staged, churn_benchmark(benchmarks))
    actual = demo_warehouse.df("select * from marts.early_churn")
    # the latest cohort's windows are still open at the cutoff: it has no row
    assert 0 < len(expected) < 12
    assert_same_rows(actual, expected, keys=["cohort_month"])


def test_aarrr_benchmarks_matches_reference(demo_warehouse, staged, benchmarks):
    aarrr = demo_warehouse.df("select * from marts.aarrr_monthly")
    churn = repeat_reference.early_churn(staged, churn_benchmark(benchmarks))
    expected = repeat_reference.aarrr_benchmarks(
        aarrr, repeat_reference.acquisition_cost(staged), churn, benchmarks
    )
    actual = demo_warehouse.df("select * from marts.aarrr_benchmarks")
    assert len(expected) == len(aarrr) * len(benchmarks)
    assert {"better", "worse"} <= set(expected["status"].dropna())
    assert expected.loc[expected["metric"] == "acquisition_cost", "current_value"].notna().any()
    assert_same_rows(actual, expected, keys=["month", "metric"])


def test_non_consenting_users_are_in_none_of_the_new_tables(demo_warehouse, staged):
    """The new tables are aggregates: no column names a user, no text value is a non-consenting
    user's id, and the cohorts count consenting customers only (the demo has non-consenting
    buyers, so counting them would change the totals)."""
    consenting = set(reference.consenting_users(staged)["user_id"])
    buyers = reference.all_purchases(staged)
    cutoff = reference.resolve_cutoff(staged)
    buyers = set(buyers.loc[buyers["created_at"] <= cutoff, "user_id"])
    assert buyers - consenting, "the demo data needs non-consenting buyers for this test"
    others = set(staged["users"]["user_id"]) - consenting
    with demo_warehouse.connect() as con:
        for table in NEW_TABLES:
            columns = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'marts' and table_name = ?",
                [table],
            ).fetchall()
            assert columns, table
            assert not {"user_id", "actor_id", "anonymous_id"} & {c for c, _ in columns}
            for column, kind in columns:
                if kind == "VARCHAR":
                    values = {
                        v
                        for (v,) in con.execute(
                            f"select distinct {column} from marts.{table}"
                        ).fetchall()
                    }
                    assert not values & others, (table, column)
    curve = demo_warehouse.df(
        "select cohort_month, max(customers) as customers from marts.repeat_purchase_curve "
        "group by cohort_month"
    )
    assert int(curve["customers"].sum()) == len(buyers & consenting) < len(buyers)


def test_the_run_summary_prints_early_churn_against_its_benchmark(demo_warehouse):
    """`make run`'s summary: the latest closed cohort's early churn and the benchmark, as the mart
    holds them (the figures themselves: test_early_churn_matches_reference)."""
    from touchpoint_alchemy.summary import render

    latest = demo_warehouse.df(
        "select * from marts.early_churn order by cohort_month desc limit 1"
    ).iloc[0]
    with demo_warehouse.connect() as con:
        text = render(con)
    (line,) = [line for line in text.splitlines() if line.startswith("Early churn")]
    verdict = "better" if latest["gap"] <= 0 else "worse"
    assert (
        f"{latest['churn_30d_rate']:.1%} of the {latest['cohort_month']:%Y-%m} cohort "
        f"({latest['customers']:,} customers)"
    ) in line
    assert f"{verdict} than the benchmark {latest['benchmark_churn_30d_rate']:.0%}" in line
