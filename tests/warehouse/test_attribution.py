"""marts.attribution and scoring.markov_attribution on the demo warehouse, against an independent
pandas computation from the raw demo files (tests/support/reference.py for staging, stitching and
purchases; the attribution rules written here from their definitions, not from the SQL)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from touchpoint_alchemy.scoring.markov import (
    build_chain,
    collapse_repeats,
    credit_conversions,
    removal_effects,
    transition_counts,
)
from touchpoint_alchemy.settings import DEMO_RAW_DATA_DIR

import reference
from compare import assert_same_rows

LOOKBACK = pd.Timedelta(days=30)  # attribution_lookback_days
HALF_LIFE_DAYS = 7.0  # time_decay_half_life_days
RULE_MODELS = ("first_touch", "last_touch", "linear", "position_based", "time_decay")
MODELS = (*RULE_MODELS, "markov")
US_PER_DAY = 86_400 * 1_000_000


@pytest.fixture(scope="module")
def staged():
    staged, _ = reference.load_staged(DEMO_RAW_DATA_DIR)
    return staged


@pytest.fixture(scope="module")
def conversions(staged):
    """Purchases of consenting users (all of them: no cutoff)."""
    consenting = set(reference.consenting_users(staged)["user_id"])
    out = reference.all_purchases(staged)
    out = out[out["user_id"].isin(consenting)]
    out = out.rename(columns={"created_at": "purchased_at"})
    return out[["order_id", "user_id", "purchased_at", "revenue"]].reset_index(drop=True)


@pytest.fixture(scope="module")
def channel_touches(staged):
    touches = reference.actor_touchpoints(staged)
    touches = touches[touches["channel"].notna()]
    return touches[["touchpoint_id", "actor_id", "occurred_at", "channel"]].reset_index(drop=True)


@pytest.fixture(scope="module")
def conversion_touches(conversions, channel_touches):
    """One row per conversion x touch in its window, ordered, with its position."""
    joined = conversions.merge(channel_touches, left_on="user_id", right_on="actor_id")
    in_window = (joined["occurred_at"] >= joined["purchased_at"] - LOOKBACK) & (
        joined["occurred_at"] <= joined["purchased_at"]
    )
    touches = joined[in_window].sort_values(["order_id", "occurred_at", "touchpoint_id"])
    touches = touches.reset_index(drop=True)
    touches["position"] = touches.groupby("order_id").cumcount() + 1
    touches["n"] = touches.groupby("order_id")["position"].transform("max")
    return touches


def _rule_credits(touches: pd.DataFrame) -> pd.DataFrame:
    """Per touch, the credit of every rule-based model, written from the definitions."""
    frames = []
    position, n = touches["position"], touches["n"]
    micros = (touches["purchased_at"] - touches["occurred_at"]) // pd.Timedelta(microseconds=1)
    weight = np.power(2.0, -(micros.astype("float64") / US_PER_DAY) / HALF_LIFE_DAYS)
    middle = np.where(n > 2, 0.2 / (n - 2).clip(lower=1), 0.0)
    credit = {
        "first_touch": (position == 1).astype(float),
        "last_touch": (position == n).astype(float),
        "linear": 1.0 / n,
        "position_based": np.select(
            [n == 1, n == 2, (position == 1) | (position == n)], [1.0, 0.5, 0.4], middle
        ),
        "time_decay": weight / weight.groupby(touches["order_id"]).transform("sum"),
    }
    for model in RULE_MODELS:
        frame = touches[["order_id", "channel"]].copy()
        frame["model"] = model
        frame["credit"] = np.asarray(credit[model], dtype="float64")
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _journeys(conversions, channel_touches, conversion_touches) -> pd.DataFrame:
    """Converting journeys (each conversion's touches) and non-converting ones (actors with a
    channel touch and no purchase: their touches in the lookback up to their last one)."""
    converting = (
        conversion_touches.groupby("order_id", sort=True)["channel"].agg(list).reset_index()
    )
    converting = converting.rename(columns={"channel": "path"})
    converting["is_converted"] = True
    buyers = set(conversions["user_id"])
    others = channel_touches[~channel_touches["actor_id"].isin(buyers)].copy()
    last = others.groupby("actor_id")["occurred_at"].transform("max")
    others = others[others["occurred_at"] >= last - LOOKBACK]
    others = others.sort_values(["actor_id", "occurred_at", "touchpoint_id"])
    non_converting = others.groupby("actor_id", sort=True)["channel"].agg(list).reset_index()
    non_converting = non_converting.rename(columns={"channel": "path"})
    non_converting["order_id"] = None
    non_converting["is_converted"] = False
    columns = ["order_id", "is_converted", "path"]
    return pd.concat([converting[columns], non_converting[columns]], ignore_index=True)


@pytest.fixture(scope="module")
def attribution(demo_warehouse):
    return demo_warehouse.df("select * from marts.attribution")


@pytest.fixture(scope="module")
def expected_markov(conversions, channel_touches, conversion_touches):
    journeys = _journeys(conversions, channel_touches, conversion_touches)
    chain = build_chain(list(journeys["path"]), list(journeys["is_converted"]))
    effects = removal_effects(chain)
    return credit_conversions(journeys, effects), effects, journeys


def _with_conversion_columns(frame, conversions, touches):
    counts = touches.groupby(["order_id", "channel"]).size().rename("touches").reset_index()
    out = frame.merge(counts, on=["order_id", "channel"], how="left")
    out = out.merge(conversions, on="order_id")
    out["credited_revenue"] = out["credited_conversions"] * out["revenue"]
    return out


def _unattributed(conversions, touches):
    bare = conversions[~conversions["order_id"].isin(set(touches["order_id"]))]
    rows = bare.merge(pd.DataFrame({"model": list(MODELS)}), how="cross")
    rows["channel"] = "unattributed"
    rows["touches"] = 0
    rows["credited_conversions"] = 1.0
    rows["credited_revenue"] = rows["revenue"]
    return rows


COLUMNS = [
    "order_id",
    "user_id",
    "purchased_at",
    "model",
    "channel",
    "touches",
    "credited_conversions",
    "credited_revenue",
]


def test_the_demo_has_every_kind_of_conversion(conversion_touches, conversions):
    counts = conversion_touches.groupby("order_id")["n"].first()
    assert (counts == 1).any() and (counts == 2).any() and (counts >= 3).any()
    assert len(set(conversions["order_id"]) - set(conversion_touches["order_id"])) > 0


def test_rule_based_models_match_reference(attribution, conversions, conversion_touches):
    credits = _rule_credits(conversion_touches)
    per_channel = (
        credits.groupby(["order_id", "model", "channel"])["credit"]
        .sum()
        .rename("credited_conversions")
        .reset_index()
    )
    expected = _with_conversion_columns(per_channel, conversions, conversion_touches)
    unattributed = _unattributed(conversions, conversion_touches)
    unattributed = unattributed[unattributed["model"] != "markov"]
    expected = pd.concat([expected[COLUMNS], unattributed[COLUMNS]], ignore_index=True)
    actual = attribution[attribution["model"] != "markov"]
    assert_same_rows(actual, expected, keys=["order_id", "model", "channel"], rtol=1e-9)


def test_markov_rows_match_markov_functions_on_independent_paths(
    attribution, demo_warehouse, conversions, conversion_touches, expected_markov
):
    credits, effects, journeys = expected_markov
    assert journeys["is_converted"].sum() == conversion_touches["order_id"].nunique()
    assert (~journeys["is_converted"]).sum() > 0

    scoring = demo_warehouse.df("select * from scoring.markov_attribution")
    assert_same_rows(scoring, credits, keys=["order_id", "channel"], rtol=1e-9, atol=1e-12)

    expected = _with_conversion_columns(credits, conversions, conversion_touches)
    expected["model"] = "markov"
    unattributed = _unattributed(conversions, conversion_touches)
    unattributed = unattributed[unattributed["model"] == "markov"]
    expected = pd.concat([expected[COLUMNS], unattributed[COLUMNS]], ignore_index=True)
    actual = attribution[attribution["model"] == "markov"]
    assert_same_rows(actual, expected, keys=["order_id", "model", "channel"], rtol=1e-9)

    stored = demo_warehouse.df("select * from scoring.markov_channel_effects")
    assert_same_rows(stored, effects, keys=["channel"], rtol=1e-9, atol=1e-12)
    assert stored["share"].sum() == pytest.approx(1, abs=1e-12)


def test_markov_metadata_lists_every_channel(demo_warehouse, expected_markov):
    _, effects, _ = expected_markov
    from dagster import AssetKey

    materializations = [
        event.event_specific_data.materialization
        for event in demo_warehouse.result.get_asset_materialization_events()
        if event.event_specific_data.materialization.asset_key
        == AssetKey(["scoring", "markov_attribution"])
    ]
    assert len(materializations) == 1
    table = materializations[0].metadata["channel_effects"].value
    for channel in effects["channel"]:
        assert f"| {channel} |" in table


def test_invariants(attribution, conversions):
    per_model = attribution.groupby(["order_id", "model"]).agg(
        credited_conversions=("credited_conversions", "sum"),
        credited_revenue=("credited_revenue", "sum"),
    )
    grid = pd.MultiIndex.from_product(
        [sorted(conversions["order_id"]), MODELS], names=["order_id", "model"]
    )
    assert set(per_model.index) == set(grid), "every purchase in every model, nothing else"
    np.testing.assert_allclose(per_model["credited_conversions"], 1.0, rtol=0, atol=1e-9)
    revenue = conversions.set_index("order_id")["revenue"]
    expected_revenue = revenue.reindex(per_model.index.get_level_values("order_id")).to_numpy()
    np.testing.assert_allclose(per_model["credited_revenue"], expected_revenue, rtol=0, atol=1e-6)
    assert (attribution["credited_conversions"] >= 0).all()


def test_the_channel_summary_adds_up_the_purchase_rows(demo_warehouse, attribution, conversions):
    """marts.attribution_by_channel: marts.attribution summed in pandas by purchase month,
    model and channel; and per month and model, the credit adds up to that month's purchases
    counted from the raw files."""
    summary = demo_warehouse.df("select * from marts.attribution_by_channel")
    rows = attribution.assign(
        purchase_month=attribution["purchased_at"].dt.to_period("M").dt.to_timestamp()
    )
    expected = (
        rows.groupby(["purchase_month", "model", "channel"])
        .agg(
            purchases=("order_id", "nunique"),
            touches=("touches", "sum"),
            credited_conversions=("credited_conversions", "sum"),
            credited_revenue=("credited_revenue", "sum"),
        )
        .reset_index()
    )
    assert len(summary) == len(expected) > len(MODELS)
    assert_same_rows(summary, expected, keys=["purchase_month", "model", "channel"])

    months = conversions["purchased_at"].dt.to_period("M").dt.to_timestamp()
    purchases = conversions.groupby(months)["order_id"].nunique()
    for model in MODELS:
        credit = (
            summary[summary["model"] == model]
            .groupby("purchase_month")["credited_conversions"]
            .sum()
        )
        credit.index = pd.to_datetime(credit.index)
        np.testing.assert_allclose(
            credit.sort_index().to_numpy(), purchases.sort_index().to_numpy(), atol=1e-9
        )
        assert list(credit.sort_index().index) == list(purchases.sort_index().index)


def test_paths_collapse_nothing_the_sql_keeps(demo_warehouse, expected_markov):
    """int_attribution_paths keeps every touch; collapsing repeats is the Python side's choice."""
    _, _, journeys = expected_markov
    rows = demo_warehouse.df("select count(*) as n from intermediate.int_attribution_paths")
    assert int(rows["n"].iloc[0]) == sum(len(path) for path in journeys["path"])
    assert any(len(collapse_repeats(path)) < len(path) for path in journeys["path"])


def test_sql_transitions_equal_the_counts_of_the_independent_journeys(
    demo_warehouse, expected_markov
):
    """int_markov_transitions (SQL) against transition_counts over the journeys built here from
    the raw files, and int_markov_order_channels against their converting paths."""
    _, _, journeys = expected_markov
    expected = transition_counts(list(journeys["path"]), list(journeys["is_converted"]))
    actual = demo_warehouse.df("select * from intermediate.int_markov_transitions")
    assert len(actual) > 20
    key = ["from_state", "to_state"]
    assert_same_rows(actual, expected, keys=key)
    converting = journeys.loc[journeys["is_converted"], ["order_id", "path"]]
    pairs = converting.explode("path").rename(columns={"path": "channel"}).drop_duplicates()
    channels = demo_warehouse.df("select * from intermediate.int_markov_order_channels")
    assert_same_rows(channels, pairs, keys=["order_id", "channel"])


def test_lineage_runs_paths_to_markov_to_the_mart():
    from dagster import AssetKey

    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()

    def parents(key: str) -> set[str]:
        node = graph.get(AssetKey.from_user_string(key))
        return {k.to_user_string() for k in node.parent_keys}

    assert "intermediate/int_markov_transitions" in parents("scoring/markov_attribution")
    assert "intermediate/int_markov_order_channels" in parents("scoring/markov_attribution")
    assert "intermediate/int_attribution_paths" in parents("intermediate/int_markov_transitions")
    # the mart reads the scores through their staging view (stg_scoring__*)
    assert "staging/stg_scoring__markov_attribution" in parents("marts/attribution")
    assert "scoring/markov_attribution" in parents("staging/stg_scoring__markov_attribution")
    assert "intermediate/int_attribution_touches" in parents("marts/attribution")
    assert "intermediate/int_purchases" in parents("marts/attribution")  # through the ephemeral
