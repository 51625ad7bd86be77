"""The journey report's sections, header and page on small hand-made frames: no warehouse, no
dbt (``pytest -m unit``). The expected sentences and numbers are worked out by hand below."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from touchpoint_alchemy.report import ReportInputs, exposure_inputs, render_journey_report
from touchpoint_alchemy.report import header as report_header
from touchpoint_alchemy.report.inputs import ExposureNotFoundError
from touchpoint_alchemy.report.sections import (
    SECTIONS,
    build_sections,
    clv_risk,
    funnel,
    funnel_by_context,
    hour_weekday,
    nps,
)

from report_sections import SECTIONS as SECTION_IDS  # the page's section ids, in order

ALL = "(all)"


def overall_rows(funnel_name, channel, device, users, names=("view", "cart", "pay")):
    """funnel_conversion_overall rows of one segment, with the rates worked out from users."""
    rows = []
    for i, (name, n) in enumerate(zip(names, users, strict=True)):
        previous = users[i - 1] if i else n
        rate = 1.0 if i == 0 else (n / previous if previous else None)
        rows.append(
            {
                "funnel_name": funnel_name,
                "acquisition_channel": channel,
                "device_type": device,
                "step_number": i + 1,
                "step_name": name,
                "users": n,
                "users_lost": previous - n,
                "conversion_from_previous": rate,
                "drop_off_from_previous": None if rate is None else 1 - rate,
                "conversion_from_start": n / users[0],
            }
        )
    return rows


@pytest.fixture
def overall():
    return pd.DataFrame(
        overall_rows("signup", ALL, ALL, [10, 5, 5], ("visit", "form", "done"))
        + overall_rows("purchase", ALL, ALL, [200, 80, 60])
        + overall_rows("purchase", "organic", ALL, [100, 50, 50])
        + overall_rows("purchase", "paid", ALL, [80, 24, 10])
        + overall_rows("purchase", "(anonymous)", ALL, [20, 6, 0])
        + overall_rows("purchase", ALL, "mobile", [150, 70, 60])
        + overall_rows("purchase", ALL, "(anonymous)", [50, 10, 0])
    )


@pytest.fixture
def timing():
    return pd.DataFrame(
        {
            "funnel_name": ["purchase", "purchase"],
            "step_number": [2, 3],
            "step_name": ["cart", "pay"],
            "chains": [80, 60],
            "median_seconds_from_previous": [125.0, 30.0],
        }
    )


pytestmark = pytest.mark.unit


def test_one_section_per_funnel_purchase_first(overall, timing):
    sections = funnel.build(overall, timing)
    assert [s.id for s in sections] == ["funnel-purchase", "funnel-signup"]
    purchase = sections[0]
    # 60 of 200 reach pay; view -> cart loses 120 of 200 (60%), cart -> pay 20 of 80 (25%)
    assert purchase.takeaway == (
        "30.0% of 200 entries (actor × day) reach pay; the biggest loss is view → cart, where "
        "60% drop off (those who continue take a median 2.1 min)."
    )
    rows = purchase.table.rows
    assert [r["users_text"] for r in rows] == ["200", "80", "60"]
    assert [r["from_previous"] for r in rows] == ["", "40.0%", "75.0%"]
    assert [r["drop_off"] for r in rows] == ["", "60.0%", "25.0%"]
    assert [r["lost"] for r in rows] == ["", "120", "20"]
    assert [r["from_start"] for r in rows] == ["100.0%", "40.0%", "30.0%"]
    assert [r["seconds"] for r in rows] == ["", "125.000", "30.000"]
    # the signup funnel has no timing rows: its times are n/a, its takeaway has no time
    signup = sections[1]
    assert [r["gap"] for r in signup.table.rows] == ["", "n/a", "n/a"]
    assert signup.takeaway == (
        "50.0% of 10 entries (actor × day) reach done; the biggest loss is visit → form, where "
        "50% drop off."
    )


def test_conversion_by_channel_and_device_reads_the_last_step(overall):
    section = funnel_by_context.build(overall)
    # organic 50/100, paid 10/80; (anonymous) is drawn but not compared; mobile is the only
    # known device (60/150)
    assert section.takeaway == (
        "By channel, organic converts best (50.0%) and paid worst (12.5%); "
        "by device, only mobile (40.0%)."
    )
    channels = section.figure.data[0]
    assert list(channels.x) == ["organic", "paid", "(anonymous)"]
    assert list(channels.y) == [0.5, 0.125, 0.0]
    assert list(channels.customdata) == [100, 80, 20]


def test_clv_section_says_which_model_has_no_scores():
    metrics = pd.DataFrame(
        [
            ("clv", "fit_failed", 1.0, 40, "gamma_gamma: q = 1e-9"),
            ("churn", "holdout_auc", 0.8, 100, None),
        ],
        columns=["model", "metric", "value", "n", "detail"],
    )
    customers = pd.DataFrame({"user_id": ["u1"], "clv_12m": [None], "risk_band": ["low"]})
    section = clv_risk.build(customers, pd.DataFrame(), metrics)
    assert not section.has_chart
    assert section.no_data == "CLV: no scores (fit failed: gamma_gamma: q = 1e-9)"


def test_clv_takeaway_reads_the_band_mart():
    customers = pd.DataFrame(
        {"user_id": ["a", "b", "c"], "clv_12m": [10.0, 20.0, 30.0], "risk_band": ["low"] * 3}
    )
    bands = pd.DataFrame(
        {
            "risk_band": ["low", "(all)"],
            "customers": [3, 3],
            "share_of_customers": [1.0, 1.0],
            "total_clv_12m": [60.0, 60.0],
            "share_of_clv_12m": [1.0, 1.0],
            "median_clv_12m": [20.0, 20.0],
        }
    )
    section = clv_risk.build(customers, bands, pd.DataFrame())
    assert section.has_chart
    # no 'high' row: no scored customer is at high risk
    assert section.takeaway == (
        "High churn risk customers are 0% of scored customers and hold 0% of the expected "
        "12-month CLV; the median customer is worth 20.00."
    )


def test_hour_and_weekday_rank_the_mart_rates():
    cells = pd.DataFrame(
        {
            "weekday": [1, 1, 2],
            "weekday_name": ["Monday", "Monday", "Tuesday"],
            "hour_of_day": [9, 10, 9],
            "sessions": [8, 8, 8],
            "converting_sessions": [4, 0, 4],
            "conversion_rate": [0.5, 0.0, 0.5],
            "weekday_sessions": [16, 16, 8],
            "weekday_conversion_rate": [0.25, 0.25, 0.5],
            "hour_sessions": [16, 8, 16],
            "hour_conversion_rate": [0.5, 0.0, 0.5],
        }
    )
    section = hour_weekday.build(cells)
    assert section.takeaway == (
        "Sessions convert best on Tuesday (50.0%) and worst on Monday (25.0%); "
        "the best hour is 09:00 (50.0%), the worst 10:00 (0.0%)."
    )
    z = section.figure.data[0].z
    assert z[0][9] == 0.5 and z[0][10] == 0.0 and z[1][9] == 0.5


def test_nps_overall_comes_from_the_overall_row():
    monthly = pd.DataFrame(
        {
            "month": pd.to_datetime(["2025-03-01", "2025-04-01", "2025-04-01"]),
            "acquisition_channel": [ALL, ALL, "organic"],
            "responses": [4, 12, 5],
            "nps": [25.0, 50.0, -10.0],
        }
    )
    overall = pd.DataFrame(
        {
            "acquisition_channel": [ALL, "organic"],
            "responses": [16, 5],
            "nps": [43.75, -10.0],
            "delivery_mention_rate": [0.375, 0.2],
            "price_mention_rate": [0.5, 0.0],
        }
    )
    section = nps.build(monthly, overall)
    assert section.takeaway == (
        "NPS is 44 over 16 responses, 25 in 2025-03 and 50 in 2025-04; price is the most "
        "mentioned theme (50% of responses)."
    )


def test_every_section_has_a_no_data_note_on_empty_tables():
    sections = build_sections(lambda name: pd.DataFrame())
    assert [s.id for s in sections] == SECTION_IDS
    assert all(not s.has_chart and s.no_data for s in sections)


def test_the_page_escapes_text_and_inlines_plotly_once(overall, timing):
    from plotly.offline import get_plotlyjs

    hostile = overall.assign(
        step_name=overall["step_name"].where(
            overall["step_name"] != "cart", "<script>alert(1)</script>"
        )
    )
    inputs = ReportInputs(
        tables={"funnel_conversion_overall": hostile, "funnel_step_timing": timing},
        built_at=datetime(2025, 1, 2, 3, 4, 5),
        source='a "warehouse" <file>',
    )
    html = render_journey_report(inputs)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "a &#34;warehouse&#34; &lt;file&gt;" in html
    assert html.count(get_plotlyjs()[:200]) == 1
    assert html.count('class="chart-section"') == len(SECTION_IDS) + 1  # two funnels
    assert "Report built</dt><dd>2025-01-02 03:04:05 UTC" in html


def test_header_counts_rows_and_groups_rejected_rows():
    rejected = pd.DataFrame(
        {
            "reason": ["null key", "null key", "duplicate key"],
            "source": ["users", "orders", "users"],
        }
    )
    inputs = ReportInputs(
        tables={"headline_metrics": pd.DataFrame(), "rejected_rows": rejected},
        built_at=datetime(2025, 1, 1),
        dbt_tests={"data tests": {"pass": 3, "fail": 1}},
    )
    header = report_header.header_context(inputs)
    assert header["row_counts"] == [("headline_metrics", "0"), ("rejected_rows", "3")]
    assert header["rejected"] == {
        "total": "3",
        "reasons": [
            {"reason": "null key", "rows": "2", "files": "orders, users"},
            {"reason": "duplicate key", "rows": "1", "files": "users"},
        ],
    }
    assert header["dbt_tests"] == {
        "failing": True,
        "kinds": [("data tests", [("pass", "3"), ("fail", "1")])],
    }


def test_exposure_inputs_come_from_the_manifest_models_first():
    manifest = {
        "exposures": {
            "exposure.p.journey_report": {
                "name": "journey_report",
                "depends_on": {"nodes": ["source.p.scoring.model_metrics", "model.p.customers"]},
            }
        },
        "nodes": {
            "model.p.customers": {
                "name": "customers",
                "resource_type": "model",
                "schema": "marts",
                "alias": "customers_v2",
            }
        },
        "sources": {
            "source.p.scoring.model_metrics": {
                "name": "model_metrics",
                "resource_type": "source",
                "schema": "scoring",
                "identifier": "model_metrics",
            }
        },
    }
    inputs = exposure_inputs(manifest)
    assert list(inputs) == ["customers", "model_metrics"]
    assert (inputs["customers"].schema, inputs["customers"].identifier) == (
        "marts",
        "customers_v2",
    )
    assert inputs["model_metrics"].resource_type == "source"
    with pytest.raises(ExposureNotFoundError, match="no exposure 'other'"):
        exposure_inputs(manifest, "other")


@pytest.mark.parametrize("module", SECTIONS, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_a_section_builds_from_the_tables_it_names(module):
    """``build`` takes exactly the tables of ``READS``, by the same names."""
    import inspect

    assert list(inspect.signature(module.build).parameters) == list(module.READS)
