"""marts.experiment_results and marts.nps_monthly against independent computations.

The expected values are computed here from the raw demo files with pandas (parsing and
validation from ``tests/support/reference.py``) and scipy (``norm``, ``chisquare``, ``chi2``), never
from the dbt SQL. The portable statistics macros (``macros/statistics.sql``) are checked on their
own in tests/dbt/test_statistics_macros.py, and the marts' dbt unit tests (window boundary, no
control, SRM, themes) run in tests/warehouse/test_build.py with every other unit test.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from touchpoint_alchemy.settings import DBT_PROJECT_DIR

import reference
from compare import assert_same_rows

DBT = Path(sys.executable).parent / "dbt"
Z_975 = 1.959963984540054
TOLERANCE = 1e-9  # far inside the 1e-6 asked of p-values: the macros are double-precision


@pytest.fixture(scope="module")
def project_vars() -> dict:
    config = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    return config["vars"]


@pytest.fixture(scope="module")
def staged(demo_validated) -> dict[str, pd.DataFrame]:
    return demo_validated[0]


@pytest.fixture(scope="module")
def consenting(staged) -> pd.DataFrame:
    return reference.consenting_users(staged)[["user_id", "acquisition_channel"]]


# ---------------------------------------------------------------------------------------------
# Expected values, independently
# ---------------------------------------------------------------------------------------------


def expected_experiment_results(
    staged: dict[str, pd.DataFrame], window_days: float, control: str
) -> pd.DataFrame:
    consenting_ids = set(reference.consenting_users(staged)["user_id"])
    assignments = staged["experiment_assignments"]
    assignments = assignments[assignments["user_id"].isin(consenting_ids)]
    purchases = reference.all_purchases(staged)[["user_id", "created_at"]]
    window = pd.Timedelta(seconds=int(window_days * 86400))

    pairs = assignments.merge(purchases, on="user_id", how="left")
    in_window = (pairs["created_at"] >= pairs["assigned_at"]) & (
        pairs["created_at"] <= pairs["assigned_at"] + window
    )
    converted = (
        pairs.assign(in_window=in_window)
        .groupby(["experiment_id", "user_id"])["in_window"]
        .any()
        .rename("converted")
        .reset_index()
    )
    per_user = assignments.merge(converted, on=["experiment_id", "user_id"])
    assert len(per_user) == len(assignments)

    rows = []
    for experiment_id, group in per_user.groupby("experiment_id"):
        counts = group.groupby("variant")["converted"].agg(["size", "sum"])
        variants = sorted(counts.index)
        n_assigned = counts["size"].to_numpy()
        # goodness of fit against equal expected frequencies; no test with a single variant
        srm_p = float(stats.chisquare(n_assigned).pvalue) if len(variants) > 1 else np.nan
        has_control = control in counts.index
        n0 = int(counts.loc[control, "size"]) if has_control else None
        x0 = int(counts.loc[control, "sum"]) if has_control else None
        p0 = x0 / n0 if has_control else np.nan
        for variant in variants:
            n, x = int(counts.loc[variant, "size"]), int(counts.loc[variant, "sum"])
            p = x / n
            row = {
                "experiment_id": experiment_id,
                "variant": variant,
                "is_control": variant == control,
                "assigned_users": n,
                "converters": x,
                "conversion_rate": p,
                "control_conversion_rate": p0,
                "absolute_uplift": p - p0 if has_control else np.nan,
                "relative_uplift": (p - p0) / p0 if has_control and p0 > 0 else np.nan,
                "z_score": np.nan,
                "p_value": np.nan,
                "ci_low": np.nan,
                "ci_high": np.nan,
                "srm_p_value": srm_p,
                "srm_detected": (srm_p < 0.001) if not np.isnan(srm_p) else pd.NA,
            }
            if has_control and variant != control:
                pooled = (x + x0) / (n + n0)
                se_pooled = np.sqrt(pooled * (1 - pooled) * (1 / n + 1 / n0))
                if se_pooled > 0:
                    z = (p - p0) / se_pooled
                    row["z_score"] = z
                    row["p_value"] = 2 * stats.norm.sf(abs(z))
                se = np.sqrt(p * (1 - p) / n + p0 * (1 - p0) / n0)
                row["ci_low"] = (p - p0) - Z_975 * se
                row["ci_high"] = (p - p0) + Z_975 * se
            rows.append(row)
    return pd.DataFrame(rows)


def mentions(comment: object, keywords: list[str]) -> bool:
    if not isinstance(comment, str):
        return False
    text = comment.lower()
    return any(str(keyword).lower() in text for keyword in keywords)


def expected_nps_monthly(
    staged: dict[str, pd.DataFrame], consenting: pd.DataFrame, themes: dict[str, list[str]]
) -> pd.DataFrame:
    responses = staged["nps_responses"].merge(consenting, on="user_id", how="inner")
    responses["month"] = [dt.date().replace(day=1) for dt in responses["responded_at"]]
    responses["acquisition_channel"] = responses["acquisition_channel"].fillna("(unknown)")
    score = responses["score"].astype(int)
    responses["promoters"] = (score >= 9).astype(int)
    responses["passives"] = score.between(7, 8).astype(int)
    responses["detractors"] = (score <= 6).astype(int)
    for theme, keywords in themes.items():
        responses[f"{theme}_mentions"] = [int(mentions(c, keywords)) for c in responses["comment"]]
    sums = ["promoters", "passives", "detractors"] + [f"{t}_mentions" for t in themes]
    everyone = responses.assign(acquisition_channel="(all)")
    grouped = (
        pd.concat([responses, everyone])
        .groupby(["month", "acquisition_channel"])
        .agg(responses=("response_id", "size"), **{c: (c, "sum") for c in sums})
        .reset_index()
    )
    grouped["nps"] = 100 * (grouped["promoters"] - grouped["detractors"]) / grouped["responses"]
    for theme in themes:
        grouped[f"{theme}_mention_rate"] = grouped[f"{theme}_mentions"] / grouped["responses"]
    return grouped


# ---------------------------------------------------------------------------------------------
# experiment_results
# ---------------------------------------------------------------------------------------------


def test_experiment_results_match_pandas_and_scipy(demo_warehouse, staged, project_vars):
    expected = expected_experiment_results(
        staged, project_vars["experiment_window_days"], project_vars["experiment_control_variant"]
    )
    actual = demo_warehouse.df("select * from marts.experiment_results")
    assert len(expected) >= 4
    assert expected["p_value"].notna().any()
    assert_same_rows(
        actual, expected, keys=["experiment_id", "variant"], rtol=TOLERANCE, atol=TOLERANCE
    )
    assert list(actual.columns) == list(expected.columns)


def test_experiment_population_and_window_are_exercised(staged, project_vars):
    """The demo data must make consent and the window's end matter, or the comparison proves
    little. (It has no purchase before an assignment: the dbt unit test covers that case.)"""
    assignments = staged["experiment_assignments"]
    consenting_ids = set(reference.consenting_users(staged)["user_id"])
    assert (~assignments["user_id"].isin(consenting_ids)).sum() > 0
    purchases = reference.all_purchases(staged)
    pairs = assignments[assignments["user_id"].isin(consenting_ids)].merge(purchases, on="user_id")
    window = pd.Timedelta(days=project_vars["experiment_window_days"])
    after_window = pairs["created_at"] > pairs["assigned_at"] + window
    in_window = ~after_window & (pairs["created_at"] >= pairs["assigned_at"])
    assert after_window.sum() > 0 and in_window.sum() > 0


def test_experiment_srm_matches_scipy_chisquare(demo_warehouse, staged):
    """One SRM p-value per experiment, equal to scipy's chi-square goodness of fit."""
    actual = demo_warehouse.df(
        "select experiment_id, count(distinct srm_p_value) as values_per_experiment, "
        "list(assigned_users order by variant) as counts, max(srm_p_value) as srm_p_value, "
        "bool_or(srm_detected) as srm_detected "
        "from marts.experiment_results group by experiment_id"
    )
    assert len(actual) >= 2
    for row in actual.itertuples():
        assert row.values_per_experiment == 1
        statistic, p_value = stats.chisquare(list(row.counts))
        assert row.srm_p_value == pytest.approx(p_value, rel=1e-6, abs=1e-6)
        assert row.srm_detected == (p_value < 0.001)


# ---------------------------------------------------------------------------------------------
# nps_monthly
# ---------------------------------------------------------------------------------------------


def test_nps_monthly_matches_pandas(demo_warehouse, staged, consenting, project_vars):
    themes = project_vars["nps_themes"]
    expected = expected_nps_monthly(staged, consenting, themes)
    actual = demo_warehouse.df("select * from marts.nps_monthly")
    assert len(expected) > 10
    assert_same_rows(
        actual, expected, keys=["month", "acquisition_channel"], rtol=TOLERANCE, atol=TOLERANCE
    )
    columns = ["month", "acquisition_channel", "responses", "promoters", "passives"]
    columns += ["detractors", "nps"]
    for theme in themes:
        columns += [f"{theme}_mentions", f"{theme}_mention_rate"]
    assert list(actual.columns) == columns


def test_nps_demo_data_exercises_consent_and_chinese(staged, consenting, project_vars):
    responses = staged["nps_responses"]
    assert (~responses["user_id"].isin(set(consenting["user_id"]))).sum() > 0
    chinese = responses["comment"].fillna("").str.contains(r"[\u4e00-\u9fff]")
    assert chinese.sum() > 0
    chinese_hits = 0
    for keywords in project_vars["nps_themes"].values():
        chinese_keywords = [k for k in keywords if re.search(r"[\u4e00-\u9fff]", str(k))]
        hits = [mentions(c, chinese_keywords) for c in responses.loc[chinese, "comment"]]
        chinese_hits += sum(hits)
        assert not any(mentions(c, chinese_keywords) for c in responses.loc[~chinese, "comment"])
    assert chinese_hits > 0
    # spot checks of the keyword rule itself
    themes = project_vars["nps_themes"]
    assert mentions("物流很快，第二天就到了", themes["delivery"])
    assert mentions("运费太贵，送货时间也不清楚", themes["price"])
    assert mentions("Shipping FEES are too high", themes["price"])
    assert not mentions(None, themes["price"])


def test_nps_contract_declares_every_theme(project_vars):
    """Adding a theme needs no SQL, but the enforced contracts of nps_monthly and nps_overall
    must declare its two columns."""
    spec = yaml.safe_load(
        (DBT_PROJECT_DIR / "models/marts/feedback/_feedback.yml").read_text(encoding="utf-8")
    )
    models = {m["name"]: m for m in spec["models"]}
    for name in ("nps_monthly", "nps_overall"):
        declared = {c["name"]: c["data_type"] for c in models[name]["columns"]}
        theme_columns = {c for c in declared if c.endswith(("_mentions", "_mention_rate"))}
        wanted = set()
        for theme in project_vars["nps_themes"]:
            wanted |= {f"{theme}_mentions", f"{theme}_mention_rate"}
            assert declared.get(f"{theme}_mentions") == "bigint", name
            assert declared.get(f"{theme}_mention_rate") == "double", name
        assert theme_columns == wanted, name


def test_mart_column_types(demo_warehouse):
    types = demo_warehouse.df(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = 'marts' and table_name in ('experiment_results', 'nps_monthly')"
    )
    names = types["table_name"] + "." + types["column_name"]
    by_column = dict(zip(names, types["data_type"], strict=True))
    assert by_column["experiment_results.is_control"] == "BOOLEAN"
    assert by_column["experiment_results.assigned_users"] == "BIGINT"
    assert by_column["experiment_results.p_value"] == "DOUBLE"
    assert by_column["experiment_results.srm_detected"] == "BOOLEAN"
    assert by_column["nps_monthly.month"] == "DATE"
    assert by_column["nps_monthly.nps"] == "DOUBLE"
