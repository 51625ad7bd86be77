"""Staging keeps valid text exactly as it came, flags invalid JSON, and types in UTC."""

from __future__ import annotations

import pandas as pd

from touchpoint_alchemy.settings import DEMO_RAW_DATA_DIR

TEXT_COLUMNS = ["touchpoint", "channel", "campaign", "page", "anonymous_id"]


def _raw_touchpoints() -> pd.DataFrame:
    return pd.read_csv(DEMO_RAW_DATA_DIR / "touchpoints.csv", dtype=str, keep_default_na=False)


def test_odd_but_valid_text_passes_through_untouched(demo_warehouse):
    raw = _raw_touchpoints()
    odd = raw[
        raw["campaign"].str.contains("DROP TABLE|\n|,", regex=True)
        | raw["page"].str.contains('"', regex=False)
    ]
    assert len(odd) >= 2, "the demo data plants SQL-looking and multi-line text"
    ids = ", ".join(f"'{i}'" for i in odd["touchpoint_id"])
    staged = demo_warehouse.df(
        f"select * from staging.stg_touchpoints where touchpoint_id in ({ids})"
    ).set_index("touchpoint_id")
    assert set(staged.index) == set(odd["touchpoint_id"])
    for _, row in odd.iterrows():
        for column in TEXT_COLUMNS:
            expected = row[column] or None
            actual = staged.loc[row["touchpoint_id"], column]
            assert (None if pd.isna(actual) else actual) == expected, (row["touchpoint_id"], column)


def test_invalid_json_keeps_the_row_with_a_flag(demo_warehouse):
    raw = _raw_touchpoints()
    broken = raw.loc[raw["properties"] == '{"broken": ', "touchpoint_id"].tolist()
    assert broken
    staged = demo_warehouse.df(
        "select touchpoint_id, properties, properties_is_valid_json from staging.stg_touchpoints "
        f"where touchpoint_id = '{broken[0]}'"
    )
    assert len(staged) == 1
    assert staged["properties"].isna().all()
    assert not staged["properties_is_valid_json"].iloc[0]
    valid = demo_warehouse.df(
        "select count(*) as n from staging.stg_touchpoints "
        "where properties is not null and not properties_is_valid_json"
    )
    assert valid["n"].iloc[0] == 0


def test_offsets_are_converted_to_utc(demo_warehouse):
    raw = _raw_touchpoints()
    with_offset = raw[raw["occurred_at"].str.endswith("+08:00")].head(50)
    assert len(with_offset) == 50
    expected = (
        pd.to_datetime(with_offset["occurred_at"], format="ISO8601", utc=True)
        .dt.tz_convert(None)
        .dt.as_unit("us")
    )
    ids = ", ".join(f"'{i}'" for i in with_offset["touchpoint_id"])
    staged = demo_warehouse.df(
        "select touchpoint_id, occurred_at from staging.stg_touchpoints "
        f"where touchpoint_id in ({ids})"
    ).set_index("touchpoint_id")
    for touchpoint_id, instant in zip(with_offset["touchpoint_id"], expected, strict=True):
        assert staged.loc[touchpoint_id, "occurred_at"] == instant
