"""The journey report, opened in a real headless Chromium (the system's, through playwright).

The demo build (``demo_warehouse``) materializes ``reports/journey_report`` like every other asset;
the report is found where the asset writes it by default, beside the warehouse file. One browser
session loads it; the tests check that it is self-contained (no request leaves the file), that
the page logs no error, that every chart is drawn with marks, and that the numbers it shows equal
the marts, recomputed here from DuckDB and pandas. Screenshots go to ``test-artifacts/report/``.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest

from touchpoint_alchemy.report import (
    ReportInputs,
    default_report_path,
    exposure_inputs,
    load_manifest,
    render_journey_report,
)
from touchpoint_alchemy.report.browser import ChromiumNotFoundError, chromium_path, launch
from touchpoint_alchemy.report.screenshots import CHARTS_DRAWN
from touchpoint_alchemy.settings import DBT_PROJECT_DIR, REPO_ROOT

from report_sections import SECTIONS  # the page's section ids, in order

ARTIFACTS = REPO_ROOT / "test-artifacts" / "report"

# Per section: its plotly chart, how many SVG marks (bars, points, lines, heatmap images, Sankey
# links) have a non-empty bounding box, and how many traces the chart holds.
CHART_STATE = """
() => [...document.querySelectorAll('section.chart-section')].map(section => {
  const chart = section.querySelector('.js-plotly-plot');
  if (!chart) return {id: section.id, chart: false, hasChart: section.dataset.hasChart};
  const marks = [...chart.querySelectorAll(
    '.mlayer .trace .point path, .mlayer .trace path.js-line, .mlayer .trace .points path,'
    + ' .mlayer .trace .errorbar path, .heatmaplayer .hm image, .sankey path.sankey-link')]
    .filter(node => { const box = node.getBBox(); return box.width > 0 || box.height > 0; });
  return {
    id: section.id,
    chart: true,
    hasChart: section.dataset.hasChart,
    svgs: chart.querySelectorAll('svg.main-svg').length,
    traces: chart.data.length,
    marks: marks.length,
    takeaway: (section.querySelector('.takeaway') || {}).textContent || '',
  };
})
"""

FUNNEL_STATE = """
() => {
  const chart = document.getElementById('chart-funnel-purchase');
  const table = document.querySelector('table.funnel-table[data-funnel="purchase"]');
  const rows = [...table.querySelectorAll('tbody tr')];
  return {
    trace: {x: Array.from(chart.data[0].x), y: Array.from(chart.data[0].y)},
    rows: rows.map(row => ({
      step: Number(row.dataset.step),
      cells: [...row.cells].map(cell => cell.textContent),
      users: Number(row.querySelector('.users').dataset.value),
      seconds: row.querySelector('.gap').dataset.seconds,
    })),
  };
}
"""


@pytest.fixture(scope="module")
def report_path(demo_warehouse) -> Path:
    path = default_report_path(demo_warehouse.path)
    assert path.exists(), f"the demo build wrote no report at {path}"
    return path


@pytest.fixture(scope="module")
def browser():
    # A missing browser is a failure, not a skip: CI installs it (`make browser`).
    try:
        chromium_path()
    except ChromiumNotFoundError as error:
        pytest.fail(f"{error} The report's browser test cannot run without it.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = launch(playwright)
        yield instance
        instance.close()


def _open(browser, path: Path) -> dict:
    """Load ``path`` in a 1280x800 page; record console errors, page errors and requests."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    seen: dict = {"errors": [], "requests": [], "page": page}
    page.on(
        "console",
        lambda message: seen["errors"].append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: seen["errors"].append(f"page error: {error}"))
    page.on("request", lambda request: seen["requests"].append(request.url))
    page.goto(path.resolve().as_uri(), wait_until="load")
    page.wait_for_function(CHARTS_DRAWN, timeout=30_000)
    return seen


@pytest.fixture(scope="module")
def loaded(browser, report_path) -> dict:
    seen = _open(browser, report_path)
    page = seen["page"]
    seen["charts"] = page.evaluate(CHART_STATE)
    seen["funnel"] = page.evaluate(FUNNEL_STATE)
    seen["text"] = page.inner_text("body")
    seen["header"] = page.inner_text("#report-header")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "journey_report_viewport.png"))
    page.screenshot(path=str(ARTIFACTS / "journey_report_full.png"), full_page=True)
    yield seen
    page.close()


def test_report_is_one_self_contained_file(report_path, loaded):
    html = report_path.read_text(encoding="utf-8")
    # every script and style is inline: no src= or stylesheet links to anything
    assert not re.search(r"<script[^>]*\bsrc=", html, re.IGNORECASE)
    assert not re.search(r"<link[^>]*\bhref=", html, re.IGNORECASE)
    assert "Plotly.newPlot" in html
    # the browser fetched the file itself and nothing else
    assert loaded["requests"] == [report_path.resolve().as_uri()]
    # written atomically: no temporary file left beside it
    assert [p.name for p in report_path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_no_console_errors(loaded):
    assert loaded["errors"] == []


def test_every_chart_renders_with_marks(loaded):
    charts = loaded["charts"]
    assert [c["id"] for c in charts] == SECTIONS
    for chart in charts:
        # on the demo data every mart has rows, so every section has a drawn chart
        assert chart["chart"], f"{chart['id']}: no chart"
        assert chart["hasChart"] == "true"
        assert chart["svgs"] >= 1, chart
        assert chart["traces"] >= 1, chart
        assert chart["marks"] >= 1, f"{chart['id']}: the chart has no visible marks: {chart}"
        assert chart["takeaway"].strip(), f"{chart['id']}: no takeaway"
    assert "No data:" not in loaded["text"]


def test_funnel_numbers_equal_the_mart(demo_warehouse, loaded):
    mart = demo_warehouse.df(
        "select step_number, step_name, sum(users)::bigint as users "
        "from marts.funnel_conversion where funnel_name = 'purchase' "
        "group by all order by step_number"
    )
    funnel = loaded["funnel"]
    expected_users = mart["users"].tolist()
    assert len(expected_users) == 5 and expected_users[0] > 1000
    # the chart's trace and the table under it show the mart's numbers
    assert funnel["trace"]["x"] == expected_users
    assert funnel["trace"]["y"] == [
        f"{n}. {s}" for n, s in zip(mart["step_number"], mart["step_name"], strict=True)
    ]
    assert [r["step"] for r in funnel["rows"]] == mart["step_number"].tolist()
    assert [r["users"] for r in funnel["rows"]] == expected_users
    for row, users in zip(funnel["rows"], expected_users, strict=True):
        assert row["cells"][2] == f"{users:,}"
    for previous, row in zip(funnel["rows"], funnel["rows"][1:], strict=False):
        rate = row["users"] / previous["users"]
        assert row["cells"][3] == f"{rate:.1%}"  # conversion from the previous step
        assert row["cells"][4] == f"{1 - rate:.1%}"  # drop-off
        assert row["cells"][5] == f"{previous['users'] - row['users']:,}"  # lost
    # the headline funnel conversion is the same figure
    headline = demo_warehouse.df(
        "select metric_value from marts.headline_metrics "
        "where metric = 'purchase funnel conversion'"
    )["metric_value"].iloc[0]
    assert expected_users[-1] / expected_users[0] == pytest.approx(headline)
    assert f"{headline:.1%} of {expected_users[0]:,} entries" in loaded["text"]


def test_median_time_between_steps_equals_an_independent_computation(demo_warehouse, loaded):
    chains = demo_warehouse.df(
        "select actor_id, entry_date, step_number, step_at "
        "from intermediate.int_funnel_chains where funnel_name = 'purchase'"
    ).sort_values(["actor_id", "entry_date", "step_number"])
    chains["gap"] = chains.groupby(["actor_id", "entry_date"])["step_at"].diff()
    expected = chains.dropna(subset=["gap"]).groupby("step_number")["gap"].median()
    shown = {r["step"]: float(r["seconds"]) for r in loaded["funnel"]["rows"] if r["seconds"]}
    assert sorted(shown) == [2, 3, 4, 5]
    for step, seconds in shown.items():
        assert seconds == pytest.approx(expected[step].total_seconds(), abs=1e-3)


def test_header_shows_the_quarantine_and_the_dbt_tests(demo_warehouse, loaded):
    rejected = demo_warehouse.df(
        "select reason, count(*) as n from audit.rejected_rows group by reason"
    )
    page = loaded["page"]
    assert page.inner_text("#rejected-total") == f"{rejected['n'].sum():,}"
    for reason, n in zip(rejected["reason"], rejected["n"], strict=True):
        row = page.locator(f'table.quarantine tr[data-reason="{reason}"] td').all_inner_texts()
        assert row[:2] == [reason, f"{n:,}"]
    # dbt tests of this build: a full build runs every data test of the manifest once (unit
    # tests run in `make test`, not in builds), and every dbt asset check of the run passed, so
    # all of them show as passing
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    data_tests = sum(1 for n in manifest["nodes"].values() if n["resource_type"] == "test")
    evaluations = demo_warehouse.result.get_asset_check_evaluations()
    assert all(e.passed for e in evaluations if e.check_name != "raw_fresh")
    assert data_tests > 50
    shown = page.locator("#dbt-tests [data-kind]").all_inner_texts()
    assert shown == [f"data tests: {data_tests:,} pass"]
    cutoff = demo_warehouse.df("select data_cutoff_at from intermediate.int_data_cutoff")
    assert f"{cutoff['data_cutoff_at'].iloc[0]:%Y-%m-%d %H:%M:%S} UTC" in loaded["header"]


def test_takeaways_are_computed_from_the_marts(demo_warehouse, loaded):
    top = demo_warehouse.df(
        "select touchpoint, share_of_abandoners, share_of_converters, abandoner_lift "
        "from marts.touchpoint_value_overall where abandoner_lift is not null "
        "order by abandoner_lift desc, touchpoint limit 1"
    ).iloc[0]
    assert (
        f"{top['share_of_abandoners']:.0%} of payment abandoners had {top['touchpoint']}, vs "
        f"{top['share_of_converters']:.0%} of converters ({top['abandoner_lift']:.1f}x lift)"
    ) in loaded["text"]
    month1 = demo_warehouse.df(
        "select sum(active_customers) / sum(cohort_size) as rate "
        "from marts.cohort_retention where months_since_first_order = 1"
    )["rate"].iloc[0]
    assert f"{month1:.0%} of customers buy again in the month after" in loaded["text"]


def test_takeaways_read_from_the_rollup_marts_equal_pandas(demo_warehouse, loaded):
    """The sections read rates, shares and medians from rollup marts (funnel_conversion_overall,
    nps_overall, context_conversion_overall, rfm_segments, clv_by_risk_band, headline_metrics);
    here each figure is recomputed with pandas from the fine-grained marts."""
    text = loaded["text"]
    funnel = demo_warehouse.df(
        "select acquisition_channel, device_type, step_number, users "
        "from marts.funnel_conversion where funnel_name = 'purchase'"
    )
    last = funnel["step_number"].max()
    for dimension, label in (("acquisition_channel", "channel"), ("device_type", "device")):
        entries = funnel[funnel["step_number"] == 1].groupby(dimension)["users"].sum()
        converted = funnel[funnel["step_number"] == last].groupby(dimension)["users"].sum()
        rates = (converted / entries).drop(["(anonymous)", "(unknown)"], errors="ignore")
        rates = rates.sort_values(ascending=False)
        assert (
            f"by {label}, {rates.index[0]} converts best ({rates.iloc[0]:.1%}) and "
            f"{rates.index[-1]} worst ({rates.iloc[-1]:.1%})"
        ).lower() in text.lower()

    nps = demo_warehouse.df("select * from marts.nps_monthly where acquisition_channel = '(all)'")
    responses = nps["responses"].sum()
    score = 100 * (nps["promoters"].sum() - nps["detractors"].sum()) / responses
    themes = {
        c.removesuffix("_mentions"): nps[c].sum() / responses
        for c in nps.columns
        if c.endswith("_mentions")
    }
    theme = max(themes, key=themes.get)
    assert f"NPS is {score:.0f} over {responses:,} responses" in text
    assert f"{theme} is the most mentioned theme ({themes[theme]:.0%} of responses)" in text

    context = demo_warehouse.df("select * from marts.context_conversion")
    by_day = context.groupby("weekday_name")[["converting_sessions", "sessions"]].sum()
    by_day = (by_day["converting_sessions"] / by_day["sessions"]).sort_values(ascending=False)
    assert (
        f"Sessions convert best on {by_day.index[0]} ({by_day.iloc[0]:.1%}) and worst on "
        f"{by_day.index[-1]} ({by_day.iloc[-1]:.1%})"
    ) in text

    customers = demo_warehouse.df("select * from marts.customers")
    customers["net_revenue"] = customers["net_revenue"].astype(float)
    segments = customers.groupby("rfm_segment").agg(
        customers=("user_id", "count"), net_revenue=("net_revenue", "sum")
    )
    top = segments["net_revenue"].idxmax()
    assert (
        f"{top} are {segments.loc[top, 'customers'] / segments['customers'].sum():.0%} of "
        f"customers and bring "
        f"{segments.loc[top, 'net_revenue'] / segments['net_revenue'].sum():.0%} of net revenue"
    ) in text
    scored = customers.dropna(subset=["clv_12m", "risk_band"])
    high = scored[scored["risk_band"] == "high"]
    assert len(high) > 0
    assert (
        f"High churn risk customers are {len(high) / len(scored):.0%} of scored customers and "
        f"hold {high['clv_12m'].sum() / scored['clv_12m'].sum():.0%} of the expected 12-month "
        f"CLV; the median customer is worth {scored['clv_12m'].median():,.2f}."
    ) in text

    ltv = demo_warehouse.df(
        "select cumulative_revenue, cohort_size from marts.cohort_ltv "
        "where months_since_first_order = 6"
    )
    value = ltv["cumulative_revenue"].astype(float).sum() / ltv["cohort_size"].sum()
    assert f"By month 6 a customer has brought {value:,.2f} on average" in text


def test_empty_marts_give_no_data_notes(demo_warehouse, browser, tmp_path):
    """A tiny data set: every mart empty. The report still renders, with a note per section."""
    inputs = exposure_inputs(load_manifest(DBT_PROJECT_DIR / "target" / "manifest.json"))
    with demo_warehouse.connect() as con:
        empty = {
            name: con.execute(
                f'select * from "{relation.schema}"."{relation.identifier}" limit 0'
            ).df()
            for name, relation in inputs.items()
        }
    html = render_journey_report(ReportInputs(tables=empty, built_at=datetime(2025, 1, 1)))
    path = tmp_path / "empty.html"
    path.write_text(html, encoding="utf-8")
    seen = _open(browser, path)
    charts = seen["page"].evaluate(CHART_STATE)
    seen["page"].close()
    assert [c["id"] for c in charts] == SECTIONS
    assert all(not c["chart"] and c["hasChart"] == "false" for c in charts), charts
    assert html.count('class="no-data"') == len(SECTIONS)
    assert seen["errors"] == []
