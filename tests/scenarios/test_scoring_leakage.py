"""No information after the cutoff leaks into the churn features or any score.

The demo data is built twice: as it is (the data cutoff is its latest purchase, X), and with
poison appended after X: for every customer, ten support chats and ten delivery-info views, a
huge paid order and an NPS score of 0, all within ten days after X, with DATA_CUTOFF = X. If a
feature, a label or a model looked past X, some row below would differ. They must be identical.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from touchpoint_alchemy.settings import DEMO_RAW_DATA_DIR

from builds import Warehouse, built
from reference import RAW_NAMES

RAW_FILES = RAW_NAMES
# Tables that must not change, and the columns that record when a model ran.
COMPARED = {
    "intermediate.int_customer_purchase_days": (),
    "intermediate.int_customer_features": (),
    "intermediate.int_customer_touchpoint_counts": (),
    "scoring.customer_clv": (),
    "scoring.clv_model_parameters": ("fitted_at",),
    "scoring.customer_churn": (),
    "scoring.customer_clusters": (),
    "scoring.cluster_profiles": (),
    "intermediate.int_customer_products": (),
    "scoring.product_recommendations": (),
    "intermediate.int_demand_daily": (),
    "scoring.demand_history": (),
    "scoring.demand_forecast": (),
    "scoring.model_metrics": ("fitted_at",),
}


def _iso(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_poisoned_raw(folder, cutoff: pd.Timestamp, customers: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in RAW_FILES:
        (folder / f"{name}.csv").write_bytes((DEMO_RAW_DATA_DIR / f"{name}.csv").read_bytes())
    touchpoints, orders, answers = [], [], []
    for i, user in enumerate(customers):
        for k in range(10):
            at = _iso(cutoff + timedelta(hours=1 + 20 * k, seconds=i))
            for kind in ("support_chat", "view_delivery_info"):
                touchpoints.append(
                    f"poison_{kind}_{i}_{k},{user},,{at},{kind},direct,,/help/chat,1000,"
                )
        paid = _iso(cutoff + timedelta(days=2, seconds=i))
        orders.append(f"poison_{i},{user},{paid},{paid},paid,9999.00,0.00,USD")
        answers.append(f"poison_{i},{user},{_iso(cutoff + timedelta(days=1, seconds=i))},0,awful")
    for name, rows in (
        ("touchpoints", touchpoints),
        ("orders", orders),
        ("nps_responses", answers),
    ):
        with open(folder / f"{name}.csv", "a", encoding="utf-8") as out:
            out.write("\n".join(rows) + "\n")


@pytest.fixture(scope="module")
def poisoned_warehouse(tmp_path_factory, demo_warehouse) -> tuple[Warehouse, pd.Timestamp]:
    cutoff = pd.Timestamp(
        demo_warehouse.df("select data_cutoff_at from intermediate.int_data_cutoff").iloc[0, 0]
    )
    customers = demo_warehouse.df("select user_id from marts.customers order by user_id")
    raw_dir = tmp_path_factory.mktemp("poisoned_raw")
    write_poisoned_raw(raw_dir, cutoff, customers["user_id"].tolist())
    configured = cutoff.strftime("%Y-%m-%d %H:%M:%S.%f")
    return built(tmp_path_factory, "poisoned", raw_dir, data_cutoff=configured), cutoff


def _rows(warehouse: Warehouse, table: str, skip: tuple[str, ...]) -> pd.DataFrame:
    frame = warehouse.df(f"select * from {table}")
    frame = frame.drop(columns=list(skip))
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def test_the_poison_reached_the_warehouse(poisoned_warehouse):
    """Guard: the poison rows are valid and staged, so the comparison below means something."""
    warehouse, cutoff = poisoned_warehouse
    late = warehouse.df(
        "select count(*) as n from intermediate.int_touchpoints "
        f"where occurred_at > timestamp '{cutoff}' and touchpoint_id like 'poison_%'"
    )["n"][0]
    assert late > 1000
    poison_orders = warehouse.df(
        "select count(*) as n from intermediate.int_purchases where order_id like 'poison_%'"
    )["n"][0]
    assert poison_orders > 100
    configured = warehouse.df(
        "select data_cutoff_at, cutoff_source from intermediate.int_data_cutoff"
    )
    assert pd.Timestamp(configured["data_cutoff_at"][0]) == cutoff
    assert configured["cutoff_source"][0] == "configured"


@pytest.mark.parametrize("table", sorted(COMPARED))
def test_features_and_scores_ignore_everything_after_the_cutoff(
    demo_warehouse, poisoned_warehouse, table
):
    warehouse, _ = poisoned_warehouse
    skip = COMPARED[table]
    clean, poisoned = _rows(demo_warehouse, table, skip), _rows(warehouse, table, skip)
    assert len(clean) > 0
    pd.testing.assert_frame_equal(clean, poisoned, check_exact=True)
