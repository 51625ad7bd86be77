"""Daily incremental runs equal a full refresh, row for row, and re-running a day changes nothing.

The demo touchpoints arrive as a folder of daily Parquet parts (the Hive layout of the raw data
contract): one part with all history before ``FIRST_DAY``, then one part per arrival day. Every
tenth event of a day arrives one or two days late, in a later part, and a synthetic case adds
late events that must merge two sessions, lengthen a funnel chain and stitch an anonymous
device to a user (all within the 3-day lookback). The equivalence cases of issue #17 add a session
resumed across a run's window start, a session cut by the 24-hour cap across it, a device
stitched to one user and then re-stitched to another, a suppressed device that logs in as a
consenting user (``CASES``), and a very late touch before a purchase made before the window
(``LATE_TOUCH``); the churn model scores in some
of the runs, one of them a weekly refit between two daily runs. Each day is built as its own
Dagster partition run into one warehouse file; a second file gets one full build over all the
parts. Every table the daily partitions build must then be identical in both files.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import date, datetime, time, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from orchestration.assets.model_store import REFIT_TAG
from orchestration.run_config import build_run_config
from touchpoint_alchemy.settings import DEMO_RAW_DATA_DIR, Settings

from builds import MANIFEST

FIRST_DAY = date(2025, 12, 28)
DAYS = [FIRST_DAY + timedelta(days=offset) for offset in range(3)]
#: the arrival day of the first part: all history before FIRST_DAY
HISTORY = FIRST_DAY - timedelta(days=1)

# Touchpoints of the synthetic late-data case (user and anonymous id filled in by the test):
# (touchpoint_id, occurred_at, touchpoint, identity, arrival day)
# - two sessions 50 minutes apart on DAYS[0]; an event between them arrives 2 days late, so the
#   two become one session;
# - a product view whose add_to_cart arrives 1 day late: the chain of that entry day grows;
# - an anonymous device browsing on DAYS[0] that logs in on DAYS[2] (the login arrives on time,
#   the anonymous events with it, two days late): its events move from `anon:` to the user.
SYNTHETIC = [
    ("late_01", "2025-12-28 10:00:00", "page_view", "user", DAYS[0]),
    ("late_02", "2025-12-28 10:50:00", "page_view", "user", DAYS[0]),
    ("late_03", "2025-12-28 10:25:00", "page_view", "user", DAYS[2]),
    ("late_04", "2025-12-28 12:00:00", "product_view", "user", DAYS[0]),
    ("late_05", "2025-12-28 12:05:00", "add_to_cart", "user", DAYS[1]),
    ("late_06", "2025-12-28 20:00:00", "product_view", "anonymous", DAYS[0]),
    ("late_07", "2025-12-28 20:10:00", "add_to_cart", "anonymous", DAYS[2]),
    ("late_08", "2025-12-30 09:00:00", "login", "both", DAYS[2]),
    # very late (older than the window's start minus the 3-day lookback): an event 7 days late
    # that merges two sessions of the history, and one 41 days late that links a device seen
    # nowhere else to the user (the identity map takes the device from the late rows)
    ("late_09", "2025-12-22 10:00:00", "page_view", "user", HISTORY),
    ("late_10", "2025-12-22 10:45:00", "page_view", "user", HISTORY),
    ("late_11", "2025-12-22 10:20:00", "page_view", "user", DAYS[1]),
    ("late_12", "2025-11-19 09:00:00", "product_view", "late device", DAYS[2]),
]


#: the anonymous_id of each identity of SYNTHETIC ("user": none)
SYNTHETIC_DEVICES = {
    "anonymous": "anon_late_device",
    "both": "anon_late_device",
    "late device": "anon_very_late_device",
}


def window_start(day: date) -> datetime:
    """The first instant a daily run of ``day`` reprocesses: the day minus the 3-day lookback."""
    return datetime.combine(day - timedelta(days=3), time())


# The equivalence cases of issue #17 (tests named after each below). Each has a user of its own
# (role -> user: ``_case_users``), quiet since November apart from these rows, and
# (touchpoint_id, occurred_at, touchpoint, user role or None, anonymous_id or None, arrival day):
# - resume: a session opened before DAYS[1]'s window start (23:40 and 23:55, in the history part)
#   and continued 15 minutes after it by an add_to_cart that arrives with DAYS[1]: the stored
#   session and the funnel chain it entered grow across the window start;
# - cap: continuous activity every 20 minutes from 2025-12-26 06:00 to 2025-12-27 09:00; the rows
#   of 2025-12-27 arrive with DAYS[2], whose window starts at 2025-12-27 00:00, so the 24-hour cap
#   (counted from 2025-12-26 06:00, before the window start) cuts the session inside the window;
# - restitch: a device browsing anonymously on 2025-12-20 (history part) logs in as one user on
#   2025-12-25 (arriving with DAYS[0], inside its window) and as another on DAYS[2]: its anonymous
#   events go to the first user, then to the second (int_identity_map: a device belongs to the
#   user it was seen with last). The first login is older than DAYS[2]'s window, so that run
#   rebuilds the first user only as the device's previous actor;
# - reach_back: a step that arrives after the entry's activity run ended, on a day after the
#   entry's: a checkout_start on 2025-11-30 (history) whose payment_success of 2025-12-02
#   arrives with DAYS[0], 26 days late, and a product_view of 2025-12-24 (history, before
#   DAYS[1]'s window) whose add_to_cart of 2025-12-27 arrives with DAYS[1]. Each run resumes the
#   user from the late event, in a month or on a day after the entry's, and must still rebuild
#   the entry's month (the intent is no longer abandoned) and entry day (the chain reaches
#   add_to_cart): the resumed facts start a funnel window before rebuild_from (DECISIONLOG 146);
# - unsuppressed: a device seen on 2025-12-18 with a user who does not consent (so its anonymous
#   events are left out: int_identity_map suppresses it) logs in on 2025-12-27 as a consenting user
#   who has a session of their own on 2025-12-21; the login arrives with DAYS[1], inside its window.
CAP_START = datetime(2025, 12, 26, 6)


def _cap_rows() -> list[tuple]:
    """Every 20 minutes from CAP_START to 27 hours later; 2025-12-27 arrives with DAYS[2]."""
    rows = []
    for step in range(82):
        at = CAP_START + timedelta(minutes=20 * step)
        arrival = DAYS[2] if at >= window_start(DAYS[2]) else HISTORY
        rows.append((f"cap_{step:02d}", f"{at}", "page_view", "cap", None, arrival))
    return rows


CASES = {
    "resume": [
        ("resume_01", "2025-12-25 23:40:00", "page_view", "resume", None, HISTORY),
        ("resume_02", "2025-12-25 23:55:00", "product_view", "resume", None, HISTORY),
        ("resume_03", "2025-12-26 00:15:00", "add_to_cart", "resume", None, DAYS[1]),
    ],
    "cap": _cap_rows(),
    "restitch": [
        ("restitch_01", "2025-12-20 14:00:00", "product_view", None, "anon_restitched", HISTORY),
        ("restitch_02", "2025-12-20 14:05:00", "add_to_cart", None, "anon_restitched", HISTORY),
        ("restitch_03", "2025-12-25 10:00:00", "login", "first", "anon_restitched", DAYS[0]),
        ("restitch_04", "2025-12-30 09:00:00", "login", "second", "anon_restitched", DAYS[2]),
    ],
    "reach_back": [
        ("reach_back_01", "2025-11-30 10:00:00", "checkout_start", "reach_back", None, HISTORY),
        ("reach_back_02", "2025-12-02 09:00:00", "payment_success", "reach_back", None, DAYS[0]),
        ("reach_back_03", "2025-12-24 10:00:00", "product_view", "reach_back", None, HISTORY),
        ("reach_back_04", "2025-12-27 09:00:00", "add_to_cart", "reach_back", None, DAYS[1]),
    ],
    "unsuppressed": [
        ("unsuppressed_01", "2025-12-18 15:00:00", "page_view", "hidden", "anon_hidden", HISTORY),
        ("unsuppressed_02", "2025-12-18 15:10:00", "product_view", None, "anon_hidden", HISTORY),
        ("unsuppressed_03", "2025-12-21 09:00:00", "page_view", "unsuppressed", None, HISTORY),
        ("unsuppressed_04", "2025-12-27 10:00:00", "login", "unsuppressed", "anon_hidden", DAYS[1]),
    ],
}
#: the roles of the cases' consenting users, in the order they are picked (the role "hidden" is
#: a user who does not consent)
CASE_ROLES = ("resume", "cap", "first", "second", "unsuppressed", "reach_back")


def channel_touch_before_purchase(gap_hours: int = 0) -> str:
    """SQL condition on an ``orders`` row: its buyer has a channel touch (``touchpoints``) in the
    30 days before the order, at least ``gap_hours`` before it."""
    return f"""exists (
            select 1 from touchpoints
            where
                touchpoints.user_id = orders.user_id and touchpoints.channel is not null
                and try_cast(touchpoints.occurred_at as timestamp)
                between try_cast(orders.created_at as timestamp) - interval 30 days
                and try_cast(orders.created_at as timestamp) - interval {gap_hours} hours
        )"""


#: Raw timestamp text at the edges of a daily run's text filter (DECISIONLOG 145), on an
#: anonymous device of its own: (touchpoint_id, occurred_at, staged as: a UTC time or a
#: rejection reason, arrival day). A leading blank or zero sorts before every date, so the filter
#: reads those rows (the later runs reprocess them inside their windows); a date written before
#: the window that does not parse, and a year of five digits, are left to the late rows: when
#: they arrive they are not staged yet, and once stored they stay as they are.
RAW_TEXT_CASES = [
    ("raw_text_01", "2025-11-31 10:00:00", "unparseable timestamp", HISTORY),
    ("raw_text_02", "12025-01-01 00:00:00", "future timestamp", HISTORY),
    ("raw_text_03", " 2025-12-29 08:00:00", datetime(2025, 12, 29, 8), DAYS[1]),
    ("raw_text_04", "02025-12-29 09:00:00", datetime(2025, 12, 29, 9), DAYS[1]),
    ("raw_text_05", "2025-12-01 25:00:00", "unparseable timestamp", DAYS[1]),
    ("raw_text_06", "12025-06-01 00:00:00", "future timestamp", DAYS[1]),
]

#: a demo touchpoint of November rejected for its negative dwell_ms (a planted bad row)
REJECTED_KEY = "t_00122523"
#: a valid demo touchpoint of 2025-12-27 (in the history part, inside every daily window)
REPROCESSED_KEY = "t_00121634"

#: a channel touch an hour before a December purchase made before DAYS[0]'s window, arriving
#: with DAYS[1] (older than its window too): the purchase's attribution journey gains it in
#: that run, although the purchase is older than the window (DECISIONLOG 140)
LATE_TOUCH = "late_touch_01"
#: the purchase: a consenting buyer's paid order of 10-20 December with a channel touch of its
#: own in the 30 days before it, at least two hours before (so the runs before DAYS[1] attribute
#: it, and the buyer has a stored session before the late touch: that run resumes the buyer
#: from there rather than rebuilding all history), not one of the other cases' users
LATE_TOUCH_PURCHASE = f"""
    select orders.order_id, orders.user_id, try_cast(orders.created_at as timestamp)
    from read_csv($orders, header = true, all_varchar = true) as orders
    inner join read_csv($users, header = true, all_varchar = true) as users
        on orders.user_id = users.user_id and users.consent_analytics = 'true'
    where
        orders.paid_at is not null and orders.status not in ('cancelled', 'refunded')
        and try_cast(orders.created_at as timestamp) between '2025-12-10' and '2025-12-20'
        and orders.user_id not in (select unnest($taken))
        and {channel_touch_before_purchase(2)}
    order by orders.order_id
    limit 1
"""

#: the scoring asset whose stored model the runs use (DECISIONLOG 72): the clusters, whose fit
#: is the cheapest of the stored models (churn's is the same mechanism: test_stored_models.py)
STORED_MODEL = dg.AssetKey(["scoring", "customer_clusters"])
DAILY_TABLES = [
    ("staging", "base_touchpoints"),
    ("intermediate", "int_identity_map"),
    ("intermediate", "int_touchpoints"),
    ("intermediate", "int_sessions"),
    ("intermediate", "int_funnel_chains"),
    ("intermediate", "int_attribution_touches"),
    ("intermediate", "int_actor_touchpoint_months"),
    ("intermediate", "int_actor_touchpoints"),
    ("intermediate", "int_touchpoint_value"),
    ("intermediate", "int_actor_channel_months"),
    ("intermediate", "int_actor_days"),
    ("intermediate", "int_actor_event_days"),
    ("intermediate", "int_session_paths"),
    ("intermediate", "int_attribution_paths"),
    ("intermediate", "int_actor_path_transitions"),
    ("marts", "activity_retention"),
    ("marts", "stickiness"),
    ("marts", "user_lifecycle"),
    ("marts", "attribution"),
    ("marts", "paths"),
]

#: the marts that keep their rows for the periods before the touchpoints changed (DECISIONLOG
#: 147): every run of the fixture builds them (and the unpartitioned models they read), as every
#: run of the job does
PERIOD_MARTS = ("activity_retention", "stickiness", "user_lifecycle")
#: the marts that keep their rows for the purchases whose touches did not change (DECISIONLOG
#: 150), and the paths, whose per-actor fact keeps the actors whose session paths did not change
#: (DECISIONLOG 160); every run of the fixture builds them, and the Markov scoring step they read
#: the touchpoint value keeps its months before the touchpoints changed (DECISIONLOG 166)
TOUCHPOINT_VALUE = "int_touchpoint_value"
KEPT_MARTS = (*PERIOD_MARTS, "attribution", "paths", TOUCHPOINT_VALUE)
#: the unpartitioned model kept by actor that marts.paths adds up
PATH_TRANSITIONS = "int_actor_path_transitions"

#: the models whose data tests one daily run runs (their windows: by time and late rows, by
#: actor); every windowed model's: tests/warehouse/test_data_test_window.py
WINDOWED_CHECKS = ("stg_touchpoints", "int_touchpoints")


def _daily_assets(score: str | None, checks: bool = False):
    """The raw-file checks, the daily dbt assets, the marts kept by period or purchase
    (KEPT_MARTS) with what they read (the Markov scoring step among it), the publish step that
    follows them, and the selection to run. ``score``: "features" adds the stored model's
    scoring step and the unpartitioned models it reads (as every run of the job builds them),
    "model" the scoring step alone (on the features the last "features" run built).
    ``checks``: the data tests of ``WINDOWED_CHECKS`` run too (on the rows the run wrote,
    DECISIONLOG 77)."""
    from orchestration.assets.dbt import daily_dbt_assets, model_asset_key, warehouse_dbt_assets
    from orchestration.assets.raw import raw_files
    from orchestration.assets.scoring import SCORING_ASSETS
    from orchestration.publish import PUBLISHED_SNAPSHOT, build_publish_asset

    assets = [raw_files, daily_dbt_assets, warehouse_dbt_assets, *SCORING_ASSETS]
    marts = dg.AssetSelection.assets(*(model_asset_key(name) for name in KEPT_MARTS))
    selection = dg.AssetSelection.assets(raw_files, daily_dbt_assets, PUBLISHED_SNAPSHOT)
    selection = selection | marts.upstream()
    if score:
        model = dg.AssetSelection.assets(STORED_MODEL)
        selection = selection | (model.upstream() if score == "features" else model)
    # the models only: their dbt tests run in every other build of the suite
    selection = selection.without_checks()
    if checks:
        keys = [model_asset_key(name) for name in WINDOWED_CHECKS]
        selection = selection | dg.AssetSelection.checks_for_assets(*keys)
    return [*assets, build_publish_asset(assets)], selection


def build_partition(
    raw_dir: Path,
    warehouse: Path,
    day: date,
    full_refresh=False,
    raise_on_error=True,
    score=None,
    tags=None,
    checks=False,
):
    """One run of ``day``'s partition; ``score``: the stored model scores too (see
    ``_daily_assets``); ``tags``: the run's, e.g. the weekly refit's; ``checks``: the
    data tests of ``WINDOWED_CHECKS`` run too."""
    from orchestration.resources import build_resources

    settings = Settings(warehouse_path=warehouse, raw_data_dir=raw_dir)
    assets, selection = _daily_assets(score, checks)
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            assets,
            selection=selection,
            resources=build_resources(settings),
            instance=instance,
            partition_key=day.isoformat(),
            run_config=build_run_config(full_refresh=full_refresh),
            raise_on_error=raise_on_error,
            tags=tags,
        )
    assert result.success or not raise_on_error
    return result


def _case_users(con: duckdb.DuckDBPyConnection, taken: str) -> dict[str, str]:
    """A consenting user for each role of ``CASE_ROLES``: users without a touchpoint since
    November, theirs or their devices', so that the cases' rows are all they do then."""
    rows = con.execute(
        "with recent as (select user_id, anonymous_id from touchpoints "
        "where try_cast(occurred_at as timestamp) >= '2025-11-01'), "
        "devices as (select distinct user_id, anonymous_id from touchpoints "
        "where user_id is not null and anonymous_id is not null) "
        "select user_id from read_csv($path, header = true, all_varchar = true) as users "
        "where consent_analytics = 'true' and signed_up_at < '2025-11-01' and user_id <> $taken "
        "and user_id not in (select user_id from recent where user_id is not null) "
        "and user_id not in (select devices.user_id from devices "
        "inner join recent on devices.anonymous_id = recent.anonymous_id) "
        "order by user_id limit $n",
        {"path": str(DEMO_RAW_DATA_DIR / "users.csv"), "taken": taken, "n": len(CASE_ROLES)},
    ).fetchall()
    assert len(rows) == len(CASE_ROLES)
    return dict(zip(CASE_ROLES, (row[0] for row in rows), strict=True))


def _write_parts(raw_dir: Path) -> tuple[str, dict[str, str]]:
    """Split the demo touchpoints (plus the synthetic cases) into arrival-day parts; return the
    synthetic late-data case's user and the equivalence cases' users (role -> user_id)."""
    for path in DEMO_RAW_DATA_DIR.glob("*.csv"):
        if path.stem != "touchpoints":
            shutil.copy(path, raw_dir / path.name)
    con = duckdb.connect()
    con.execute(
        "create table touchpoints as select * from read_csv($path, header = true, "
        "all_varchar = true)",
        {"path": str(DEMO_RAW_DATA_DIR / "touchpoints.csv")},
    )
    # a consenting user who signed up before the synthetic events
    (user_id,) = con.execute(
        "select user_id from read_csv($path, header = true, all_varchar = true) "
        "where consent_analytics = 'true' and signed_up_at < '2025-12-01' "
        "order by user_id limit 1",
        {"path": str(DEMO_RAW_DATA_DIR / "users.csv")},
    ).fetchone()
    for touchpoint_id, occurred_at, touchpoint, identity, _ in SYNTHETIC:
        con.execute(
            "insert into touchpoints (touchpoint_id, user_id, anonymous_id, occurred_at, "
            "touchpoint, channel) values (?, ?, ?, ?, ?, 'email')",
            [
                touchpoint_id,
                None if identity == "anonymous" else user_id,
                SYNTHETIC_DEVICES.get(identity),
                occurred_at,
                touchpoint,
            ],
        )
    case_users = _case_users(con, user_id)
    (case_users["hidden"],) = con.execute(
        "select user_id from read_csv($path, header = true, all_varchar = true) "
        "where consent_analytics = 'false' order by user_id limit 1",
        {"path": str(DEMO_RAW_DATA_DIR / "users.csv")},
    ).fetchone()
    for rows in CASES.values():
        for touchpoint_id, occurred_at, touchpoint, role, anonymous_id, _ in rows:
            con.execute(
                "insert into touchpoints (touchpoint_id, user_id, anonymous_id, occurred_at, "
                "touchpoint, channel) values (?, ?, ?, ?, ?, 'email')",
                [touchpoint_id, case_users.get(role), anonymous_id, occurred_at, touchpoint],
            )
    _, buyer, purchased_at = con.execute(
        LATE_TOUCH_PURCHASE,
        {
            "orders": str(DEMO_RAW_DATA_DIR / "orders.csv"),
            "users": str(DEMO_RAW_DATA_DIR / "users.csv"),
            "taken": [user_id, *case_users.values()],
        },
    ).fetchone()
    con.execute(
        "insert into touchpoints (touchpoint_id, user_id, occurred_at, touchpoint, channel) "
        "values (?, ?, ?, 'page_view', 'email')",
        [LATE_TOUCH, buyer, str(purchased_at - timedelta(hours=1))],
    )
    case_users["late_touch"] = buyer
    late = {row[0]: row[4] for row in SYNTHETIC}
    late.update({row[0]: row[5] for rows in CASES.values() for row in rows})
    late[LATE_TOUCH] = DAYS[1]
    # Arrival day: history before FIRST_DAY (and rows without a usable timestamp) in the first
    # part; every tenth event of the days after arrives one or two days late.
    con.execute(
        """
        create table arrivals as
        select
            touchpoints.*,
            try_cast(occurred_at as timestamp) as t,
            cast(try_cast(occurred_at as timestamp) as date) as day,
            hash(touchpoint_id) % 10 as bucket
        from touchpoints
        """
    )
    parts: dict[date, int] = {}
    first_part = HISTORY
    for arrival in [first_part, *DAYS]:
        late_ids = [tid for tid, day in late.items() if day == arrival]
        if arrival == first_part:
            condition = f"(day is null or day < '{FIRST_DAY}')"
        else:
            last = arrival == DAYS[-1]
            previous_day_buckets = "<= 1" if last else "= 0"
            condition = (
                f"day >= '{FIRST_DAY}' and ((day = '{arrival}' and bucket > {-1 if last else 1})"
                f" or (day = '{arrival - timedelta(days=1)}' and bucket {previous_day_buckets})"
                f" or (day = '{arrival - timedelta(days=2)}' and bucket = 1)"
                f" or ({'true' if last else 'false'} and day > '{arrival}'))"
            )
        query = (
            f"select * exclude (t, day, bucket) from arrivals where "
            f"coalesce(touchpoint_id, '') not in (select unnest($synthetic)) and ({condition}) "
            f"or touchpoint_id in (select unnest($late))"
        )
        params = {"late": late_ids, "synthetic": list(late)}
        folder = raw_dir / "touchpoints" / f"date={arrival}"
        folder.mkdir(parents=True)
        con.execute(f"copy ({query}) to '{folder / 'part-0.parquet'}' (format parquet)", params)
        parts[arrival] = con.execute(f"select count(*) from ({query})", params).fetchone()[0]
    total = con.execute("select count(*) from touchpoints").fetchone()[0]
    assert sum(parts.values()) == total, "every demo touchpoint lands in exactly one part"
    # a second part of the last day: a copy of late_09's key (kept, in the history part) on a
    # new row inside that run's window, which both builds must reject as a duplicate key
    con.execute(
        "copy (select * replace ('2025-12-29 11:00:00' as occurred_at) from touchpoints "
        "where touchpoint_id = 'late_09') "
        f"to '{raw_dir / 'touchpoints' / f'date={DAYS[-1]}' / 'part-1.parquet'}' (format parquet)"
    )
    # a third: a valid copy of a key whose only row, in the history part, is rejected for its
    # negative dwell. The rejected row still holds the key (the full build numbers every raw
    # row of a key), so both builds reject the copy as a duplicate key
    con.execute(
        "copy (select * replace ('2025-12-29 11:30:00' as occurred_at, '900' as dwell_ms) "
        f"from touchpoints where touchpoint_id = '{REJECTED_KEY}') "
        f"to '{raw_dir / 'touchpoints' / f'date={DAYS[-1]}' / 'part-2.parquet'}' (format parquet)"
    )
    # and a copy, dated 2025-12-20, of a key whose row of 2025-12-27 is in the history part,
    # arriving with DAYS[0]: a duplicate (it comes later in file order). The original is
    # reprocessed by the later runs (it is inside their windows) while the copy stays stored:
    # the original still comes first in file order, so it stays valid
    con.execute(
        "copy (select * replace ('2025-12-20 10:00:00' as occurred_at) from touchpoints "
        f"where touchpoint_id = '{REPROCESSED_KEY}') "
        f"to '{raw_dir / 'touchpoints' / f'date={DAYS[0]}' / 'part-1.parquet'}' (format parquet)"
    )
    # timestamp text that the daily runs' text filter must read or leave alone (RAW_TEXT_CASES)
    for arrival in (HISTORY, DAYS[1]):
        cases = [case for case in RAW_TEXT_CASES if case[3] == arrival]
        selects = " union all ".join(
            "select * replace (? as touchpoint_id, ? as occurred_at, "
            "cast(null as varchar) as user_id, 'anon_raw_text' as anonymous_id) "
            "from touchpoints where touchpoint_id = 'late_01'"
            for _ in cases
        )
        part = raw_dir / "touchpoints" / f"date={arrival}" / "part-9.parquet"
        con.execute(
            f"copy ({selects}) to '{part}' (format parquet)",
            [value for case in cases for value in case[:2]],
        )
    return user_id, case_users


#: a purchase of one-purchase buyers with channel touches, none since December (so no touchpoint
#: change lists them in the daily runs), created in November
ONE_PURCHASE_BUYERS = f"""
    select orders.order_id, orders.user_id, orders.status
    from orders
    where
        orders.paid_at is not null and orders.status not in ('cancelled', 'refunded')
        and try_cast(orders.created_at as timestamp) between '2025-11-01' and '2025-12-01'
        and orders.user_id in (
            select user_id from orders
            where paid_at is not null and status not in ('cancelled', 'refunded')
            group by user_id having count(*) = 1
        )
        and orders.user_id in (
            select user_id from touchpoints
            where channel is not null
            group by user_id having max(try_cast(occurred_at as timestamp)) < '2025-12-01'
        )
        -- a channel touch in the 30 days before the purchase: the order has a journey
        and {channel_touch_before_purchase()}
    order by orders.order_id
"""


def _order_cases(
    raw_dir: Path,
) -> tuple[duckdb.DuckDBPyConnection, dict[str, tuple[str, str, str]]]:
    """Buyers who change inside the daily runs (the Markov journeys, int_attribution_paths): a
    November order that arrives late, with DAYS[1] (its user is no buyer before), and the only
    purchase of another user, refunded from DAYS[1] on (a buyer before, not after). The full
    refresh's orders.csv holds the final state: the late order, and the refund."""
    con = duckdb.connect()
    con.execute(
        "create table orders as select * from read_csv($path, header = true, all_varchar = true)",
        {"path": str(raw_dir / "orders.csv")},
    )
    con.execute(
        "create table touchpoints as select * from read_csv($path, header = true, "
        "all_varchar = true)",
        {"path": str(DEMO_RAW_DATA_DIR / "touchpoints.csv")},
    )
    picked = con.execute(ONE_PURCHASE_BUYERS).fetchall()
    assert len(picked) >= 2, picked
    cases = {"late": picked[0], "refunded": picked[1]}
    con.execute(
        "update orders set status = 'refunded' where order_id = $order",
        {"order": cases["refunded"][0]},
    )
    con.execute("copy orders to $out (header)", {"out": str(raw_dir / "orders.csv")})
    return con, cases


def _write_orders(
    con: duckdb.DuckDBPyConnection,
    cases: dict[str, tuple[str, str, str]],
    folder: Path,
    day: date,
) -> None:
    """orders.csv as of ``day``'s run: the orders created up to that day (every order on the
    last day), the late order from DAYS[1] on, the refund from DAYS[1] on."""
    refunded, _, status_before = cases["refunded"]
    con.execute(
        f"""
        copy (
            select * replace (
                case when order_id = $refunded then $status else status end as status
            )
            from orders
            where
                (order_id <> $late or {"true" if day >= DAYS[1] else "false"})
                and (
                    {"true" if day == DAYS[-1] else "false"}
                    or try_cast(created_at as timestamp) is null
                    or try_cast(created_at as timestamp) < '{day + timedelta(days=1)}'
                )
        ) to $out (header)
        """,
        {
            "late": cases["late"][0],
            "refunded": refunded,
            "status": "refunded" if day >= DAYS[1] else status_before,
            "out": str(folder / "orders.csv"),
        },
    )


def table_differences(left: Path, right: Path, schema: str, table: str) -> tuple[int, int, int]:
    """(rows, rows only in left, rows only in right), as multisets."""
    con = duckdb.connect(str(left), read_only=True)
    try:
        con.execute(f"attach '{right}' as other (read_only)")
        (main,) = con.execute("select current_database()").fetchone()
        rows = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
        only_left, only_right = (
            con.execute(
                f'select count(*) from (select * from {a}."{schema}"."{table}" '
                f'except all select * from {b}."{schema}"."{table}")'
            ).fetchone()[0]
            for a, b in ((main, "other"), ("other", main))
        )
        return rows, only_left, only_right
    finally:
        con.close()


def _withdraw_consent(raw_dir: Path, users: list[str]) -> None:
    """``users`` no longer consent to analytics, in ``raw_dir``'s users.csv."""
    with duckdb.connect() as con:
        con.execute(
            "copy (select * replace (case when list_contains($users, user_id) then 'false' "
            "else consent_analytics end as consent_analytics) "
            "from read_csv($path, header = true, all_varchar = true)) to $out (header)",
            {"users": users, "path": str(raw_dir / "users.csv"), "out": str(raw_dir / "u.csv")},
        )
    (raw_dir / "u.csv").replace(raw_dir / "users.csv")


@pytest.fixture(scope="module")
def daily_and_full(tmp_path_factory):
    raw_dir = tmp_path_factory.mktemp("daily_raw")
    arriving = tmp_path_factory.mktemp("daily_arriving")
    user_id, case_users = _write_parts(raw_dir)
    orders, order_cases = _order_cases(raw_dir)
    (arriving / "touchpoints").mkdir()
    for path in raw_dir.glob("*.csv"):
        shutil.copy(path, arriving / path.name)

    def arrive(day: date) -> None:
        name = f"date={day}"
        shutil.copytree(raw_dir / "touchpoints" / name, arriving / "touchpoints" / name)
        _write_orders(orders, order_cases, arriving, day)

    daily = tmp_path_factory.mktemp("daily") / "warehouse.duckdb"
    arrive(HISTORY)
    # The stored model scores in the history run (none is stored yet: it fits), in DAYS[1]'s (a
    # daily run: the stored model), in DAYS[2]'s (the weekly refit), in DAYS[2]'s again (a daily
    # run after the refit) and in the full refresh. Only the fits rebuild the features they
    # read (a dbt step, about 6 s a run): the daily runs score the last fit's features, which
    # after the refit are those of the same data.
    build_partition(arriving, daily, HISTORY, score="features")
    snapshots = {}
    runs = []
    checked = []
    scores = {DAYS[1]: "model", DAYS[2]: "features"}
    for day in DAYS:
        arrive(day)
        score = scores.get(day)
        tags = {REFIT_TAG: "true"} if day == DAYS[-1] else None
        # DAYS[1]'s run also runs data tests of windowed models, on the rows it wrote, and
        # DAYS[2]'s (the weekly run) on whole tables
        checks = day in DAYS[1:]
        result = build_partition(arriving, daily, day, score=score, tags=tags, checks=checks)
        runs.append(result.run_id)
        checked += result.get_asset_check_evaluations() if checks else []
        snapshots[day] = tmp_path_factory.mktemp(f"after_{day}") / "warehouse.duckdb"
        shutil.copy(daily, snapshots[day])
    # the same partition again, as a daily run: nothing may change
    build_partition(arriving, daily, DAYS[-1], score="model")

    full = tmp_path_factory.mktemp("full") / "warehouse.duckdb"
    build_partition(raw_dir, full, DAYS[-1], full_refresh=True, score="features")

    # the synthetic user withdraws consent, and so does the user active earliest (whose first
    # day is before every day the run's other changes reach back to: DECISIONLOG 147); the next
    # daily run (no new touchpoints) removes them
    withdrawn = tmp_path_factory.mktemp("withdrawn") / "warehouse.duckdb"
    shutil.copy(daily, withdrawn)
    with duckdb.connect(str(daily), read_only=True) as con:
        (early_user,) = con.execute(
            "select actor_id from intermediate.int_actor_days "
            "where not starts_with(actor_id, 'anon:') and actor_id <> $user "
            "order by activity_date, actor_id limit 1",
            {"user": user_id},
        ).fetchone()
    assert early_user not in case_users.values()
    _withdraw_consent(arriving, [user_id, early_user])
    build_partition(arriving, withdrawn, DAYS[-1])
    return {
        "raw_dir": raw_dir,
        "arriving": arriving,
        "daily": daily,
        "full": full,
        "snapshots": snapshots,
        "withdrawn": withdrawn,
        "early_user": early_user,
        "user_id": user_id,
        "case_users": case_users,
        "order_cases": order_cases,
        "daily_runs": runs,
        "checked": checked,
    }


@pytest.mark.parametrize(("schema", "table"), DAILY_TABLES)
def test_day_by_day_equals_full_refresh(daily_and_full, schema, table):
    rows, only_daily, only_full = table_differences(
        daily_and_full["daily"], daily_and_full["full"], schema, table
    )
    assert rows > 0
    assert (only_daily, only_full) == (0, 0)


@pytest.mark.parametrize(("schema", "table"), DAILY_TABLES)
def test_running_a_partition_twice_changes_nothing(daily_and_full, schema, table):
    before = daily_and_full["snapshots"][DAYS[-1]]
    _, only_before, only_after = table_differences(before, daily_and_full["daily"], schema, table)
    assert (only_before, only_after) == (0, 0)


def test_late_events_rebuild_sessions_chains_and_identities(daily_and_full):
    """The synthetic late events changed the tables they must change (so the equality above is
    not the equality of two stale builds)."""
    con = duckdb.connect(str(daily_and_full["daily"]), read_only=True)
    before = duckdb.connect(str(daily_and_full["snapshots"][DAYS[1]]), read_only=True)
    try:
        session_query = (
            "select count(distinct (actor_id, session_number)) from intermediate.int_touchpoints "
            "where touchpoint_id in ('late_01', 'late_02', 'late_03')"
        )
        # before the late event: two sessions; after it: one
        assert before.execute(session_query).fetchone()[0] == 2
        assert con.execute(session_query).fetchone()[0] == 1
        # the anonymous device's events now belong to the user who logged in
        actor_query = (
            "select distinct actor_id from intermediate.int_touchpoints "
            "where touchpoint_id in ('late_06', 'late_07', 'late_08')"
        )
        actors = [row[0] for row in con.execute(actor_query).fetchall()]
        assert len(actors) == 1 and not actors[0].startswith("anon:")
        assert before.execute(actor_query).fetchall() == [("anon:anon_late_device",)]
        # and the device's actor x month rows went with them
        device_months = (
            "select count(*) from intermediate.int_actor_touchpoint_months "
            "where actor_id = 'anon:anon_late_device'"
        )
        assert before.execute(device_months).fetchone()[0] > 0
        assert con.execute(device_months).fetchone()[0] == 0
        # and so did its actor x day rows
        device_days = (
            "select count(*) from intermediate.int_actor_days "
            "where actor_id = 'anon:anon_late_device'"
        )
        assert before.execute(device_days).fetchone()[0] > 0
        assert con.execute(device_days).fetchone()[0] == 0
    finally:
        con.close()
        before.close()


def test_very_late_events_are_taken_and_rebuild_what_they_touch(daily_and_full):
    """Events older than the window's start minus the lookback (7 and 41 days late) are staged
    by the daily run that receives them, and rebuild their actor: the 7-day-late one joins two
    sessions of the history into one, the 41-day-late one maps a device to its user. With the
    equality tests above: as a full refresh."""
    snapshots = daily_and_full["snapshots"]
    session_query = (
        "select count(distinct (actor_id, session_number)) from intermediate.int_touchpoints "
        "where touchpoint_id in ('late_09', 'late_10', 'late_11')"
    )
    staged_query = (
        "select touchpoint_id from staging.stg_touchpoints "
        "where touchpoint_id in ('late_11', 'late_12') order by 1"
    )
    with duckdb.connect(str(snapshots[DAYS[0]]), read_only=True) as before:
        assert before.execute(session_query).fetchone()[0] == 2
        assert before.execute(staged_query).fetchall() == []
    with duckdb.connect(str(snapshots[DAYS[1]]), read_only=True) as after_day_1:
        assert after_day_1.execute(session_query).fetchone()[0] == 1
        assert after_day_1.execute(staged_query).fetchall() == [("late_11",)]
    with duckdb.connect(str(daily_and_full["daily"]), read_only=True) as last:
        assert last.execute(staged_query).fetchall() == [("late_11",), ("late_12",)]
        # the copy of a key kept before the window is rejected, the kept row stays
        copies = last.execute(
            "select cast(occurred_at as varchar), _rejection_reason from staging.base_touchpoints "
            "where touchpoint_id = 'late_09' order by occurred_at"
        ).fetchall()
        assert copies == [("2025-12-22 10:00:00", None), ("2025-12-29 11:00:00", "duplicate key")]
        # so is the copy of a key whose first row was rejected for another reason
        copies = last.execute(
            "select cast(occurred_at as varchar), _rejection_reason from staging.base_touchpoints "
            f"where touchpoint_id = '{REJECTED_KEY}' order by occurred_at"
        ).fetchall()
        assert copies == [
            ("2025-11-26 07:55:22.534557", "negative amount"),
            ("2025-12-29 11:30:00", "duplicate key"),
        ]
        # an older copy later in file order is the duplicate, whichever of the two a run reprocesses
        copies = last.execute(
            "select cast(occurred_at as date), _rejection_reason from staging.base_touchpoints "
            f"where touchpoint_id = '{REPROCESSED_KEY}' order by occurred_at"
        ).fetchall()
        assert copies == [(date(2025, 12, 20), "duplicate key"), (date(2025, 12, 27), None)]
        assert (
            last.execute(
                "select count(*) from intermediate.int_touchpoints where touchpoint_id = 'late_12'"
            ).fetchone()[0]
            == 1
        )
        # the device the 41-day-late event links to the user is mapped to them
        assert last.execute(
            "select user_id, cast(first_linked_at as varchar) from intermediate.int_identity_map "
            "where anonymous_id = 'anon_very_late_device'"
        ).fetchone() == (daily_and_full["user_id"], "2025-11-19 09:00:00")


def test_every_raw_row_is_staged_or_rejected_after_each_day(daily_and_full):
    """Conservation, counted from the raw parts that had arrived by each day (independently of
    the models): every raw row is in staging.base_touchpoints (valid or rejected) exactly once."""
    raw_dir = daily_and_full["raw_dir"]
    for day, snapshot in daily_and_full["snapshots"].items():
        arrived = [raw_dir / "touchpoints" / f"date={d}" for d in [HISTORY, *DAYS] if d <= day]
        files = [str(file) for folder in arrived for file in sorted(folder.glob("*.parquet"))]
        raw_rows = duckdb.execute("select count(*) from read_parquet($files)", {"files": files})
        with duckdb.connect(str(snapshot), read_only=True) as con:
            based = con.execute("select count(*) from staging.base_touchpoints").fetchone()[0]
        assert based == raw_rows.fetchone()[0], day


def test_timestamp_text_the_window_filter_reads_or_leaves_is_staged_once(daily_and_full):
    """The daily runs read only the raw rows whose timestamp text may be in their window, plus
    the rows not staged yet by position (DECISIONLOG 145). Each case of RAW_TEXT_CASES is staged
    once, with the outcome a full build gives it: a leading blank or zero is read (and
    reprocessed by the next run), an old date that does not parse and a year of five digits are
    staged on arrival and then kept as they are."""
    expected = {
        touchpoint_id: (None, outcome) if isinstance(outcome, str) else (outcome, None)
        for touchpoint_id, _, outcome, _ in RAW_TEXT_CASES
    }
    for build in ("daily", "full"):
        with duckdb.connect(str(daily_and_full[build]), read_only=True) as con:
            rows = con.execute(
                "select touchpoint_id, occurred_at, _rejection_reason "
                "from staging.base_touchpoints where touchpoint_id like 'raw_text_%'"
            ).fetchall()
        staged = {}
        for touchpoint_id, occurred_at, reason in rows:
            assert touchpoint_id not in staged, (build, touchpoint_id)
            staged[touchpoint_id] = (occurred_at if reason is None else None, reason)
        assert staged == expected, build


def test_a_user_who_withdraws_consent_leaves_every_intermediate_table(daily_and_full):
    """No new touchpoints, only the consent flag: the daily run still removes the user from every
    intermediate table it builds (their id in any text column), and keeps everyone else's rows."""
    from orchestration.assets.dbt import daily_dbt_assets

    user_id = daily_and_full["user_id"]
    con = duckdb.connect(str(daily_and_full["withdrawn"]), read_only=True)
    before = duckdb.connect(str(daily_and_full["daily"]), read_only=True)
    try:
        columns = con.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'intermediate' and data_type = 'VARCHAR'"
        ).fetchall()
        # the tables the daily partition builds (the unpartitioned ones, which a scoring run of
        # the fixture built, rebuild in full in every run of the job), and the one kept by actor
        tables = {table for table, _ in columns} & {
            PATH_TRANSITIONS,
            *(key.path[-1] for key in daily_dbt_assets.keys if key.path[0] == "intermediate"),
        }
        assert {"int_touchpoints", "int_sessions", "int_funnel_chains", PATH_TRANSITIONS} <= tables
        for table in sorted(tables):
            text = [column for t, column in columns if t == table]
            mentions = " or ".join(f'"{column}" = $user' for column in text)
            query = f'select count(*) from intermediate."{table}" where {mentions}'
            assert con.execute(query, {"user": user_id}).fetchone()[0] == 0, table
        mine = "select count(*) from intermediate.int_touchpoints where actor_id = $user"
        assert before.execute(mine, {"user": user_id}).fetchone()[0] > 0
        # everyone else's rows stay (the user active earliest withdrew in the same run)
        others = (
            "select count(*) from intermediate.int_touchpoints "
            "where actor_id not in ($user, $early)"
        )
        users = {"user": user_id, "early": daily_and_full["early_user"]}
        assert con.execute(others, users).fetchone() == before.execute(others, users).fetchone()
    finally:
        con.close()
        before.close()


def _schema(model: str) -> str:
    return "intermediate" if model.startswith("int_") else "marts"


def _period_marts_rebuilt(
    warehouse: Path, raw_dir: Path, folder: Path, marts: tuple[str, ...] = PERIOD_MARTS
) -> Path:
    """A copy of ``warehouse`` whose ``marts`` are rebuilt from all history on its facts (a
    run of the marts alone, without a partition), emptied first, so that a run that did not
    rebuild and publish them cannot pass."""
    from orchestration.assets.dbt import daily_dbt_assets, model_asset_key, warehouse_dbt_assets
    from orchestration.publish import PUBLISHED_SNAPSHOT, build_publish_asset
    from orchestration.resources import build_resources

    rebuilt = folder / "warehouse.duckdb"
    shutil.copy(warehouse, rebuilt)
    with duckdb.connect(str(rebuilt)) as con:
        for mart in marts:
            con.execute(f"delete from {_schema(mart)}.{mart}")
    settings = Settings(warehouse_path=rebuilt, raw_data_dir=raw_dir)
    keys = [model_asset_key(mart) for mart in marts]
    assets = [daily_dbt_assets, warehouse_dbt_assets]
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [*assets, build_publish_asset(assets)],
            selection=dg.AssetSelection.assets(*keys, PUBLISHED_SNAPSHOT),
            resources=build_resources(settings),
            instance=instance,
        )
    assert result.success
    return rebuilt


def _assert_period_marts_as_rebuilt(warehouse: Path, rebuilt: Path, before: Path) -> None:
    """Each of PERIOD_MARTS in ``warehouse`` equals its rebuild from all history, row for row,
    and lost rows against ``before``."""
    for mart in PERIOD_MARTS:
        rows, only_kept, only_rebuilt = table_differences(warehouse, rebuilt, "marts", mart)
        assert rows > 0 and (only_kept, only_rebuilt) == (0, 0), mart
        _, gone, _ = table_differences(before, warehouse, "marts", mart)
        assert gone > 0, mart


def _assert_path_transitions_as_session_paths(warehouse: Path) -> None:
    """int_actor_path_transitions in ``warehouse`` equals the transitions of its
    int_session_paths as of its data cutoff, worked out in pandas: what a build from all
    history would hold."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        steps = con.execute(
            "select actor_id, path_start, step_index, touchpoint, step_at, next_touchpoint, "
            "next_step_at from intermediate.int_session_paths"
        ).df()
        cutoff_query = "select data_cutoff_at from intermediate.int_data_cutoff"
        (cutoff,) = con.execute(cutoff_query).fetchone()
        actual = con.execute(f"select * from intermediate.{PATH_TRANSITIONS}").df()
    finally:
        con.close()
    assert cutoff is not None
    steps = steps[steps["step_at"] <= cutoff]
    ended = steps["next_step_at"].isna() | (steps["next_step_at"] > cutoff)
    steps = steps.assign(
        from_touchpoint=steps["touchpoint"],
        to_touchpoint=steps["next_touchpoint"].where(~ended, "$session_end"),
        last_step_at=steps["next_step_at"].fillna(steps["step_at"]),
    )
    keys = ["actor_id", "path_start", "step_index", "from_touchpoint", "to_touchpoint"]
    expected = steps.groupby(keys, as_index=False).agg(
        sessions=("step_at", "size"), last_step_at=("last_step_at", "max")
    )
    assert len(expected) > 0
    pd.testing.assert_frame_equal(
        actual[expected.columns].sort_values(keys).reset_index(drop=True),
        expected.sort_values(keys).reset_index(drop=True),
        check_dtype=False,
    )


def test_a_withdrawal_rebuilds_the_periods_of_the_users_history(daily_and_full, tmp_path):
    """The withdrawal's daily run (no new touchpoint) logged the first active day of the user
    active earliest, who withdrew (no other change of the run reaches back that far), and the
    marts that keep their earlier periods (PERIOD_MARTS) rebuilt their rows from that day's
    period on (DECISIONLOG 147): each equal, row for row, to the mart rebuilt from all history
    on the same facts, and different from its rows before the withdrawal."""
    withdrawn = daily_and_full["withdrawn"]
    rebuilt = _period_marts_rebuilt(withdrawn, daily_and_full["arriving"], tmp_path)
    _assert_period_marts_as_rebuilt(withdrawn, rebuilt, daily_and_full["daily"])
    # the paths' fact dropped the user's rows and kept everyone else's (DECISIONLOG 160)
    _assert_path_transitions_as_session_paths(withdrawn)

    with duckdb.connect(str(daily_and_full["daily"]), read_only=True) as con:
        (first_day,) = con.execute(
            "select min(activity_date) from intermediate.int_actor_days where actor_id = $user",
            {"user": daily_and_full["early_user"]},
        ).fetchone()
        (others,) = con.execute(
            "select min(changed_from) from intermediate.int_touchpoint_change_log "
            "where not rebuilt_all"
        ).fetchone()
    with duckdb.connect(str(withdrawn), read_only=True) as con:
        changed_from, rebuilt_all = con.execute(
            "select changed_from, rebuilt_all from intermediate.int_touchpoint_change_log "
            "order by run_number desc limit 1"
        ).fetchone()
        assert con.execute(
            "select count(*) from intermediate.int_actor_days where actor_id = $user",
            {"user": daily_and_full["early_user"]},
        ).fetchone() == (0,)
    # the user's first day is before any day the daily runs' other changes reached back to
    assert first_day < others
    assert not rebuilt_all and changed_from == first_day


def test_an_erasure_outside_the_runs_makes_the_marts_rebuild_every_row(daily_and_full, tmp_path):
    """An erasure (touchpoint_alchemy/erase.py) deletes the user active earliest from the facts
    outside any daily run, so the change log does not know the user's days. The next daily run's
    marts (PERIOD_MARTS) find that the rows they keep no longer add up to the facts and rebuild
    every row (DECISIONLOG 147): equal to the marts rebuilt from all history on the same facts."""
    from touchpoint_alchemy.erase import erase_in

    erased = tmp_path / "erased" / "warehouse.duckdb"
    erased.parent.mkdir()
    shutil.copy(daily_and_full["daily"], erased)
    with duckdb.connect(str(erased)) as con:
        deleted = erase_in(con, daily_and_full["early_user"])
    assert deleted["intermediate.int_actor_days"] > 0
    # the arrived parts as the withdrawal left them: the run also removes the synthetic user,
    # whose first day (logged) is later than the erased user's
    build_partition(daily_and_full["arriving"], erased, DAYS[-1])
    folder = tmp_path / "rebuilt"
    folder.mkdir()
    marts = (*PERIOD_MARTS, TOUCHPOINT_VALUE)
    rebuilt = _period_marts_rebuilt(erased, daily_and_full["arriving"], folder, marts)
    _assert_period_marts_as_rebuilt(erased, rebuilt, daily_and_full["daily"])
    # the touchpoint value's months kept no longer add up to the facts either (DECISIONLOG 166)
    assert deleted["intermediate.int_actor_touchpoint_months"] > 0
    rows, only_kept, only_rebuilt = table_differences(
        erased, rebuilt, "intermediate", TOUCHPOINT_VALUE
    )
    assert rows > 0 and (only_kept, only_rebuilt) == (0, 0)
    # the erasure deleted the user's rows of the paths' fact too, which the run kept
    assert deleted[f"intermediate.{PATH_TRANSITIONS}"] > 0
    _assert_path_transitions_as_session_paths(erased)


def test_the_period_marts_check_the_months_they_keep_past_the_floors_week(daily_and_full, tmp_path):
    """A mart kept by period keeps the weeks before its floor's week and the months before its
    month (DECISIONLOG 147, 149). When the floor's week starts in the month before (the
    fixture's runs rebuild one actor from all history, first active on Thursday 2025-04-03, in
    the week of Monday 03-31), the month kept ends after the weeks kept do, so a check of the
    weeks alone misses a change to the days between. On the withdrawal's warehouse, the days of
    a user first active on such a day are deleted from the activity facts, as an erasure does
    outside the runs (the change log does not know; the user's touchpoints stay, so no run takes
    them again). After a daily run with nothing new, each mart of PERIOD_MARTS is equal to its
    rebuild from all history on the same facts (stickiness's month rows counted those days)."""
    with duckdb.connect(str(daily_and_full["daily"]), read_only=True) as con:
        # the day the same partition run again logged: a run with nothing new
        (floor,) = con.execute(
            "select changed_from from intermediate.int_touchpoint_change_log "
            "order by run_number desc limit 1"
        ).fetchone()
    week = floor - timedelta(days=floor.weekday())
    month = floor.replace(day=1)
    assert week < month, floor

    taken = [daily_and_full["user_id"], *daily_and_full["case_users"].values()]
    warehouse = tmp_path / "checked" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    shutil.copy(daily_and_full["withdrawn"], warehouse)
    with duckdb.connect(str(warehouse)) as con:
        # a user first active in the floor's week, before its month, and not after the runs'
        # windows start
        (deleted,) = con.execute(
            "select actor_id from intermediate.int_actor_days "
            "where not starts_with(actor_id, 'anon:') and not list_contains($taken, actor_id) "
            "group by actor_id "
            "having min(activity_date) >= $week and min(activity_date) < $month "
            "and max(activity_date) < $end "
            "order by actor_id limit 1",
            {"taken": taken, "week": week, "month": month, "end": window_start(DAYS[0]).date()},
        ).fetchone()
        for fact in ("int_actor_days", "int_actor_event_days"):
            con.execute(
                f"delete from intermediate.{fact} where actor_id = $actor", {"actor": deleted}
            )
    build_partition(daily_and_full["arriving"], warehouse, DAYS[-1])
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute(
            "select changed_from, rebuilt_all from intermediate.int_touchpoint_change_log "
            "order by run_number desc limit 1"
        ).fetchone() == (floor, False)

    folder = tmp_path / "rebuilt"
    folder.mkdir()
    rebuilt = _period_marts_rebuilt(warehouse, daily_and_full["arriving"], folder)
    _assert_period_marts_as_rebuilt(warehouse, rebuilt, daily_and_full["withdrawn"])


def test_a_user_quiet_before_the_floor_returns_to_the_paths(daily_and_full, tmp_path):
    """int_actor_path_transitions keeps the actors with no step from its floor on (DECISIONLOG
    160). A user quiet since before the floor returns in a new part of the last day: the run
    rebuilds the user from the session paths after it (the rows it kept know nothing of the
    return), and the fact equals the transitions of int_session_paths, worked out in pandas."""
    raw_dir = tmp_path / "raw"
    shutil.copytree(daily_and_full["arriving"], raw_dir)
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(daily_and_full["withdrawn"], warehouse)
    taken = [
        daily_and_full["user_id"],
        daily_and_full["early_user"],
        *daily_and_full["case_users"].values(),
    ]
    with duckdb.connect(str(daily_and_full["daily"]), read_only=True) as con:
        # the day a run of the same partition again logged (one actor of the fixture is rebuilt
        # from all history in each run): the run below reaches no further back
        (floor,) = con.execute(
            "select changed_from from intermediate.int_touchpoint_change_log "
            "order by run_number desc limit 1"
        ).fetchone()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        user, last_day = con.execute(
            "select days.actor_id, max(days.activity_date) from intermediate.int_actor_days "
            "as days inner join intermediate.int_users as users on days.actor_id = users.user_id "
            "where not list_contains($taken, days.actor_id) group by days.actor_id "
            "having max(days.activity_date) < $floor order by days.actor_id limit 1",
            {"taken": taken, "floor": floor},
        ).fetchone()
    folder = raw_dir / "touchpoints" / f"date={DAYS[-1]}"
    returns = [("return_01", "2025-12-30 10:00:00", "page_view")]
    returns.append(("return_02", "2025-12-30 10:05:00", "product_view"))
    selects = " union all ".join(
        "(select * replace (? as touchpoint_id, ? as user_id, cast(null as varchar) as "
        "anonymous_id, ? as occurred_at, ? as touchpoint) from "
        f"read_parquet('{folder / 'part-0.parquet'}') limit 1)"
        for _ in returns
    )
    params = [value for tid, at, name in returns for value in (tid, user, at, name)]
    with duckdb.connect() as con:
        con.execute(f"copy ({selects}) to '{folder / 'part-7.parquet'}' (format parquet)", params)

    result = build_partition(raw_dir, warehouse, DAYS[-1])
    # the rows kept from before the run do not reach the floor: only the paths after it find
    # the user
    assert last_day < _path_transitions_floor(result.run_id)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        returned = con.execute(
            f"select from_touchpoint, to_touchpoint from intermediate.{PATH_TRANSITIONS} "
            "where actor_id = $user and last_step_at >= '2025-12-30'",
            {"user": user},
        ).fetchall()
    assert ("page_view", "product_view") in returned
    _assert_path_transitions_as_session_paths(warehouse)


def _attribution_floor(run_id: str) -> date:
    """The day marts.attribution rebuilt its purchases from in the run ``run_id``, as its
    pre-hook logged it in the dbt step's log (a run that rebuilt every row logs none)."""
    return _logged_floor(run_id, "attribution: rebuilding the purchases made from")


def _path_transitions_floor(run_id: str) -> date:
    """The day from which int_actor_path_transitions rebuilt its actors in the run ``run_id``
    (its pre-hook's line in the dbt step's log; none when it rebuilt every actor)."""
    return _logged_floor(run_id, f"{PATH_TRANSITIONS}: rebuilding the actors with a step from")


def _logged_floor(run_id: str, message: str) -> date:
    """The day after ``message`` in the dbt logs of the run ``run_id``'s unpartitioned steps,
    logged once."""
    from orchestration.dbt_steps import dbt_target_base

    logged = re.compile(re.escape(message) + r" ([0-9-]{10})")
    floors = {
        floor
        for path in dbt_target_base().glob(f"warehouse_dbt_assets*-{run_id[:7]}-*/dbt.log")
        for floor in logged.findall(path.read_text())
    }
    assert len(floors) == 1, floors
    return date.fromisoformat(floors.pop())


def test_attribution_rebuilds_the_kept_purchases_that_no_longer_match(daily_and_full, tmp_path):
    """marts.attribution keeps the rule rows of the purchases made before its floor (DECISIONLOG
    150), unless they no longer match int_purchases. On the withdrawal's warehouse, a daily run
    with nothing new (its floor the cutoff's day) after four purchases' kept rows were tampered
    with, all made before that floor (one's credited revenue, one's buyer, one's rows deleted,
    and the rows of a purchase that does not exist), ends with the mart it had before."""
    withdrawn = daily_and_full["withdrawn"]
    tampered = tmp_path / "warehouse.duckdb"
    shutil.copy(withdrawn, tampered)
    with duckdb.connect(str(tampered)) as con:
        orders = [
            row[0]
            for row in con.execute(
                "select order_id from marts.attribution where model = 'first_touch' "
                "group by order_id having count(*) = 1 order by min(purchased_at) limit 4"
            ).fetchall()
        ]
        assert len(orders) == 4
        revenue, buyer, deleted, copied = orders
        con.execute(
            "update marts.attribution set credited_revenue = credited_revenue * 2 + 1 "
            "where order_id = $order",
            {"order": revenue},
        )
        con.execute(
            "update marts.attribution set user_id = 'someone_else' where order_id = $order",
            {"order": buyer},
        )
        con.execute("delete from marts.attribution where order_id = $order", {"order": deleted})
        con.execute(
            "insert into marts.attribution select * replace ('no_such_order' as order_id) "
            "from marts.attribution where order_id = $order",
            {"order": copied},
        )
        (latest,) = con.execute(
            "select max(purchased_at) from marts.attribution where order_id in ($1, $2, $3, $4)",
            orders,
        ).fetchone()
    result = build_partition(daily_and_full["arriving"], tampered, DAYS[-1])
    # the floor did not reach the tampered purchases: their rows were rebuilt for not matching
    assert latest.date() < _attribution_floor(result.run_id)
    rows, only_tampered, only_before = table_differences(
        tampered, withdrawn, "marts", "attribution"
    )
    assert rows > 0 and (only_tampered, only_before) == (0, 0)


def test_daily_runs_log_their_changes_and_the_mart_rebuilds_only_later_periods(daily_and_full):
    """int_touchpoint_change_log (DECISIONLOG 147): the history's build rebuilt all history;
    each daily run logged the first day whose touchpoints it changed, at or before its window's
    start minus the lookback. marts.activity_retention's build recorded the last run it read,
    and every daily run's marts (PERIOD_MARTS) rebuilt only the periods from the earliest day
    logged since their last build (their compiled SQL holds that day), the touchpoint value
    its months from that day's less the funnel window (DECISIONLOG 166)."""
    from orchestration.dbt_steps import dbt_target_base

    con = duckdb.connect(str(daily_and_full["daily"]), read_only=True)
    try:
        log = con.execute(
            "select run_number, changed_from, rebuilt_all "
            "from intermediate.int_touchpoint_change_log order by run_number"
        ).fetchall()
        (built,) = con.execute(
            "select change_log_run from intermediate.int_mart_builds "
            "where mart = 'activity_retention'"
        ).fetchone()
    finally:
        con.close()
    # the history, the three days and the same day again
    assert [run for run, _, _ in log] == list(range(1, len(DAYS) + 3))
    assert log[0][2] and not any(rebuilt_all for _, _, rebuilt_all in log[1:])
    lookback = timedelta(days=3)
    for (_, changed_from, _), day in zip(log[1:], DAYS, strict=False):
        assert changed_from is not None and changed_from <= day - lookback
    assert built == log[-1][0]

    # Every daily run rebuilt each mart from a floor, never every row: so the equalities with
    # the full refresh are those of marts kept by period. (A mart whose kept rows went wrong
    # would also be caught by its check at the next run, which rebuilds every row and so hides
    # the error from the last comparison: DECISIONLOG 149.)
    paths = {
        "activity_retention": "activity",
        "stickiness": "activity",
        "user_lifecycle": "journeys",
    }
    assert set(paths) == set(PERIOD_MARTS)
    for number, run in enumerate(daily_and_full["daily_runs"], start=2):
        (target,) = dbt_target_base().glob(f"warehouse_dbt_assets-{run[:7]}-*")
        # its compiled SELECT (the run folder holds an incremental model's INSERT only)
        models = target / "compiled" / "touchpoint_alchemy" / "models" / "marts"
        for mart, folder in paths.items():
            compiled = (models / folder / f"{mart}.sql").read_text()
            # the earliest of the days logged since the last build and of the cutoffs before
            # and after the run
            floors = set(re.findall(r"cast\('([0-9-]{10})' as date\)", compiled))
            assert len(floors) == 1, (mart, number)
            assert date.fromisoformat(floors.pop()) <= log[number - 1][1], (mart, number)
        # the touchpoint value's floor: the month of that day less the funnel window (7 days)
        value = target / "compiled" / "touchpoint_alchemy" / "models" / "intermediate"
        compiled = (value / "journeys" / f"{TOUCHPOINT_VALUE}.sql").read_text()
        (month,) = set(re.findall(r"cast\('([0-9-]{10})' as date\)", compiled))
        expected = (log[number - 1][1] - timedelta(days=7)).replace(day=1)
        assert date.fromisoformat(month) == expected, number
        # marts.attribution's floor is in its pre-hook, which logs it; so is the paths fact's
        assert _attribution_floor(run) <= log[number - 1][1], number
        assert _path_transitions_floor(run) <= log[number - 1][1], number


def test_a_withdrawal_stays_held_until_every_daily_model_has_run(daily_and_full, tmp_path):
    """int_held_users (DECISIONLOG 144): the daily models delete the users who left int_users
    since the last complete daily run. A run of some daily models only (a selection) deletes
    the withdrawn user from those and keeps the user held; the next complete daily run deletes
    the user from every other table and only then drops the user from int_held_users."""
    from orchestration.assets.dbt import daily_dbt_assets, model_asset_key
    from orchestration.assets.raw import raw_files
    from orchestration.publish import PUBLISHED_SNAPSHOT, build_publish_asset
    from orchestration.resources import build_resources

    user_id = daily_and_full["user_id"]
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(daily_and_full["daily"], warehouse)
    # the fixture's raw folder has the user's withdrawal (its last run)
    raw_dir = daily_and_full["arriving"]
    assets = [raw_files, daily_dbt_assets]
    # the users' staging, int_users, int_held_users, and one daily model
    some = ["base_users", "stg_users", "int_users", "int_held_users", "int_touchpoints"]
    selection = dg.AssetSelection.assets(
        raw_files, PUBLISHED_SNAPSHOT, *[model_asset_key(name) for name in some]
    ).without_checks()
    settings = Settings(warehouse_path=warehouse, raw_data_dir=raw_dir)
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [*assets, build_publish_asset(assets)],
            selection=selection,
            resources=build_resources(settings),
            instance=instance,
            partition_key=DAYS[-1].isoformat(),
            run_config=build_run_config(full_refresh=False),
        )
    assert result.success

    def rows(table: str, column: str = "actor_id") -> int:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            query = f'select count(*) from intermediate."{table}" where "{column}" = $user'
            return con.execute(query, {"user": user_id}).fetchone()[0]

    assert rows("int_touchpoints") == 0
    assert rows("int_users", "user_id") == 0
    assert rows("int_sessions") > 0  # not in the selection: the user's rows are still there
    assert rows("int_held_users", "user_id") == 1

    build_partition(raw_dir, warehouse, DAYS[-1])
    for table in ["int_touchpoints", "int_sessions", "int_funnel_chains", "int_actor_days"]:
        assert rows(table) == 0, table
    assert rows("int_held_users", "user_id") == 0
    with duckdb.connect(str(warehouse), read_only=True) as con:
        held = con.execute(
            "select user_id from intermediate.int_held_users except all "
            "select user_id from intermediate.int_users"
        ).fetchall()
    assert held == []


def test_a_warehouse_built_before_the_held_users_still_loses_a_withdrawn_user(
    daily_and_full, tmp_path
):
    """The first build of int_held_users on a warehouse built without it (DECISIONLOG 144)
    starts from the previous build's int_users: a user who withdrew before that first daily run
    still leaves every daily table, and the list then equals int_users."""
    user_id = daily_and_full["user_id"]
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(daily_and_full["daily"], warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("drop table intermediate.int_held_users")
    build_partition(daily_and_full["arriving"], warehouse, DAYS[-1])
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table in ["int_touchpoints", "int_sessions", "int_funnel_chains", "int_actor_days"]:
            query = f'select count(*) from intermediate."{table}" where actor_id = $user'
            assert con.execute(query, {"user": user_id}).fetchone()[0] == 0, table
        held = "select user_id from intermediate.int_held_users"
        users = "select user_id from intermediate.int_users"
        assert con.execute(f"{held} except all {users}").fetchall() == []
        assert con.execute(f"{users} except all {held}").fetchall() == []


def test_a_part_rewritten_after_a_run_read_it_is_refused(daily_and_full, tmp_path):
    """The ledger of raw parts (audit.raw_parts): each day's parts were recorded by the run that
    found them; a part rewritten afterwards stops the next daily run before any model, with a
    message naming the part, and nothing is published."""
    raw = tmp_path / "raw"
    shutil.copytree(daily_and_full["arriving"], raw)  # copy2: sizes and times kept
    warehouse = tmp_path / "daily" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    shutil.copy(daily_and_full["daily"], warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        ledger = con.execute(
            "select part, recorded_by_run, row_count from audit.raw_parts "
            "where source = 'touchpoints' order by part"
        ).fetchall()
    parts = sorted(p.relative_to(raw).as_posix() for p in (raw / "touchpoints").rglob("*.parquet"))
    assert [part for part, _, _ in ledger] == parts
    # one run per arrival day found its parts (the history part and one per day)
    assert len({run for _, run, _ in ledger}) == 1 + len(DAYS)
    part, _, rows = ledger[0]
    duckdb.execute(
        f"copy (select * from read_parquet('{raw / part}') "
        f"union all (select * from read_parquet('{raw / part}') limit 1)) "
        f"to '{tmp_path / 'rewritten.parquet'}' (format parquet)"
    )
    (tmp_path / "rewritten.parquet").replace(raw / part)
    before = warehouse.read_bytes()

    result = build_partition(raw, warehouse, DAYS[-1], raise_on_error=False)

    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failure.step_key == "raw_files"
    message = failure.step_failure_data.user_failure_data.description
    assert part in message and f"rows {rows} -> {rows + 1}" in message, message
    assert "full refresh" in message
    assert warehouse.read_bytes() == before


def test_daily_runs_reuse_the_saved_dbt_parse(daily_and_full):
    """Every run after the first on a warehouse starts dbt from the saved parse: the vars (none)
    and the database path dbt sees are the same from one day to the next (DECISIONLOG 71, 91),
    so dbt never parses the whole project again (about 8 s a run)."""
    from orchestration.dbt_steps import dbt_target_base

    later_runs = daily_and_full["daily_runs"][1:]
    logs = [
        log
        for run in later_runs
        for log in dbt_target_base().glob(f"daily_dbt_assets-{run[:7]}-*/dbt.log")
    ]
    assert len(logs) == len(later_runs)
    for log, day in zip(sorted(logs, key=lambda path: path.stat().st_mtime), DAYS[1:], strict=True):
        text = log.read_text()
        # the run's dbt log is at info level, which has the version line and, when dbt cannot
        # use its saved parse, the reason (a full parse of a fresh target logs it too)
        assert '"name": "MainReportVersion"' in text, log
        assert '"name": "UnableToPartialParse"' not in text, log
        # and the day still reached the models (INCREMENTAL_WINDOW_START, read at run time)
        changes = log.parent / "run/touchpoint_alchemy/models/intermediate"
        changes = changes / "int_touchpoint_changes.sql"
        assert f"cast('{day.isoformat()}' as timestamp)" in changes.read_text(), changes


def test_a_daily_run_tests_the_rows_it_wrote(daily_and_full):
    """DAYS[1]'s run ran the data tests of two windowed models (DECISIONLOG 77), and they
    passed on the rows it wrote: its key tests read the staged touchpoints since its window's
    start minus the lookback and the rows of the actors it rebuilt (compiled SQL of its dbt
    step). DAYS[2]'s run, the weekly one (touchpoint/refit=true), read whole tables."""
    from orchestration.assets.dbt import model_asset_key
    from orchestration.dbt_steps import dbt_target_base

    checked = daily_and_full["checked"]
    # every dbt test of the two models ran in both runs, and passed
    models = {f"model.touchpoint_alchemy.{name}" for name in WINDOWED_CHECKS}
    tests = {
        node["name"]
        for node in json.loads(MANIFEST.read_text())["nodes"].values()
        if node["resource_type"] == "test" and node.get("attached_node") in models
    }
    names = [evaluation.check_name for evaluation in checked]
    assert len(tests) >= 8 and all(names.count(test) == 2 for test in tests), sorted(names)
    assert all(evaluation.passed for evaluation in checked)
    assert {evaluation.asset_key for evaluation in checked} == {
        model_asset_key(name) for name in WINDOWED_CHECKS
    }

    def compiled(run: str, folder: str, test: str) -> str:
        (target,) = dbt_target_base().glob(f"daily_dbt_assets-{run[:7]}-*")
        models = target / "run" / "touchpoint_alchemy" / "models"
        return (models / folder / f"{test}.sql").read_text()

    daily, weekly = daily_and_full["daily_runs"][1:]
    staged = ("staging/_staging.yml", "unique_stg_touchpoints_touchpoint_id")
    actors = ("intermediate/_intermediate.yml", "unique_int_touchpoints_touchpoint_id")
    assert "dbt_test_window" in compiled(daily, *staged)
    assert f"cast('{DAYS[1].isoformat()}' as timestamp)" in compiled(daily, *staged)
    assert "dbt_test_window" in compiled(daily, *actors)
    assert '"int_touchpoint_changes"' in compiled(daily, *actors)
    assert "dbt_test_window" not in compiled(weekly, *staged) + compiled(weekly, *actors)


# --- the equivalence cases of issue #17 (CASES) ------------------------------------------------

#: the daily tables with an actor column: the rows of a case's actors
ACTOR_TABLES = [
    ("int_touchpoints", "actor_id"),
    ("int_sessions", "actor_id"),
    ("int_funnel_chains", "actor_id"),
    ("int_attribution_touches", "user_id"),
    ("int_actor_touchpoint_months", "actor_id"),
    ("int_actor_touchpoints", "actor_id"),
    ("int_actor_channel_months", "actor_id"),
    ("int_actor_days", "actor_id"),
    ("int_actor_event_days", "actor_id"),
    ("int_session_paths", "actor_id"),
]


def _raw_case(raw_dir: Path, case: str) -> list[tuple]:
    """The case's raw rows as the parts hold them: (touchpoint_id, user_id, anonymous_id,
    occurred_at, arrival day), by occurred_at; read from the files, not from the models."""
    ids = [row[0] for row in CASES[case]]
    return duckdb.execute(
        "select touchpoint_id, user_id, anonymous_id, cast(occurred_at as timestamp), "
        "cast(regexp_extract(filename, 'date=([0-9-]+)', 1) as date) "
        "from read_parquet($glob, filename = true) where touchpoint_id in (select unnest($ids)) "
        "order by 4, 1",
        {"glob": str(raw_dir / "touchpoints" / "*" / "*.parquet"), "ids": ids},
    ).fetchall()


def _actor_rows_equal(daily: Path, full: Path, actors: list[str]) -> dict[str, int]:
    """Each daily table's rows of ``actors`` (all their history, not only a case's rows) are the
    same in both builds (as multisets); returns each table's row count."""
    con = duckdb.connect(str(daily), read_only=True)
    try:
        con.execute(f"attach '{full}' as full_refresh (read_only)")
        (main,) = con.execute("select current_database()").fetchone()
        counts = {}
        for table, column in ACTOR_TABLES:
            rows = {
                db: f'select * from {db}.intermediate."{table}" '
                f"where {column} in (select unnest($actors))"
                for db in (main, "full_refresh")
            }
            for a, b in ((main, "full_refresh"), ("full_refresh", main)):
                query = f"select count(*) from ({rows[a]} except all {rows[b]})"
                assert con.execute(query, {"actors": actors}).fetchone()[0] == 0, (table, a)
            counts[table] = con.execute(
                f"select count(*) from ({rows[main]})", {"actors": actors}
            ).fetchone()[0]
        return counts
    finally:
        con.close()


def _query(path: Path, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params).fetchall()


def test_a_session_resumed_across_the_window_start(daily_and_full):
    """A session stored by earlier runs (opened before DAYS[1]'s window start) is continued by an
    event inside the window: DAYS[1]'s run extends the same session and the funnel chain it
    entered, as the full refresh has them."""
    start = window_start(DAYS[1])
    raw = _raw_case(daily_and_full["raw_dir"], "resume")
    # in the raw data: two events before the window start, arrived with the history; the third
    # 15 minutes after it (20 after the second), arriving with DAYS[1]
    assert [(row[0], row[4]) for row in raw] == [
        ("resume_01", HISTORY),
        ("resume_02", HISTORY),
        ("resume_03", DAYS[1]),
    ]
    assert raw[1][3] < start <= raw[2][3] <= raw[1][3] + timedelta(minutes=30)
    user = daily_and_full["case_users"]["resume"]
    sessions = (
        "select touchpoint_id, actor_id || '#' || session_number from intermediate.int_touchpoints "
        "where touchpoint_id like 'resume_%' order by 1"
    )
    chain = (
        "select max(step_number) from intermediate.int_funnel_chains "
        "where actor_id = $user and entry_date = '2025-12-25'"
    )
    before = daily_and_full["snapshots"][DAYS[0]]
    stored = _query(before, sessions)
    assert [row[0] for row in stored] == ["resume_01", "resume_02"]
    assert len({row[1] for row in stored}) == 1
    assert _query(before, chain, {"user": user}) == [(1,)]
    for after in (daily_and_full["snapshots"][DAYS[1]], daily_and_full["daily"]):
        resumed = _query(after, sessions)
        assert [row[1] for row in resumed] == [stored[0][1]] * 3, "not the same session"
        assert _query(after, chain, {"user": user}) == [(2,)]  # the add_to_cart joined it
        ((started, ended, count),) = _query(
            after,
            "select started_at, ended_at, touchpoint_count from intermediate.int_sessions "
            "where session_id = $session",
            {"session": stored[0][1]},
        )
        assert (started, ended, count) == (raw[0][3], raw[2][3], 3)
        assert started < start <= ended
    counts = _actor_rows_equal(daily_and_full["daily"], daily_and_full["full"], [user])
    assert counts["int_touchpoints"] >= 3 and counts["int_funnel_chains"] > 0


def test_a_late_step_reaches_back_to_an_entry_before_the_resume_point(daily_and_full):
    """The reach_back case: each daily run resumes the user from the late event (a new activity
    run, so rebuild_from is that event), yet the intent of the month before is no longer
    abandoned and the product_view's chain reaches add_to_cart, as in the full refresh."""
    raw = _raw_case(daily_and_full["raw_dir"], "reach_back")
    assert [(row[0], row[4]) for row in raw] == [
        ("reach_back_01", HISTORY),
        ("reach_back_02", DAYS[0]),
        ("reach_back_03", HISTORY),
        ("reach_back_04", DAYS[1]),
    ]
    # independently: each late step is within the 7-day funnel window of its entry, more than the
    # 30-minute session timeout after it, and in a later month or on a later day
    for entry, step in ((raw[0], raw[1]), (raw[2], raw[3])):
        assert timedelta(minutes=30) < step[3] - entry[3] <= timedelta(days=7)
        assert step[3].date() > entry[3].date()
    user = daily_and_full["case_users"]["reach_back"]
    abandoned = (
        "select abandoned_intent_count from intermediate.int_actor_touchpoint_months "
        "where actor_id = $user and month_start = '2025-11-01' and touchpoint = 'checkout_start'"
    )
    chain = (
        "select max(step_number) from intermediate.int_funnel_chains "
        "where actor_id = $user and entry_date = '2025-12-24'"
    )
    assert _query(daily_and_full["snapshots"][DAYS[0]], abandoned, {"user": user}) == [(0,)]
    assert _query(daily_and_full["snapshots"][DAYS[0]], chain, {"user": user}) == [(1,)]
    for after in (daily_and_full["snapshots"][DAYS[1]], daily_and_full["daily"]):
        assert _query(after, abandoned, {"user": user}) == [(0,)]
        assert _query(after, chain, {"user": user}) == [(2,)]
    # each run resumed the user from its late step (so the entry's month and day were rebuilt
    # because the resumed facts reach a funnel window back, not because all history was)
    resumed = "select rebuild_from from intermediate.int_touchpoint_changes where actor_id = $user"
    for day, step in ((DAYS[0], raw[1]), (DAYS[1], raw[3])):
        assert _query(daily_and_full["snapshots"][day], resumed, {"user": user}) == [(step[3],)]
    _actor_rows_equal(daily_and_full["daily"], daily_and_full["full"], [user])


def test_the_24_hour_cap_cuts_a_session_across_the_window_start(daily_and_full):
    """Continuous activity from before DAYS[2]'s window start runs 27 hours into it: the cap
    counts from the first touchpoint of the activity (before the window), so DAYS[2]'s run cuts
    the session 24 hours after it, inside the window, as the full refresh does."""
    start = window_start(DAYS[2])
    raw = _raw_case(daily_and_full["raw_dir"], "cap")
    times = [row[3] for row in raw]
    # in the raw data: one activity without a 30-minute gap, from before the window start to
    # after its cap; what occurred before the window start arrived with the history, the rest
    # (2025-12-27, 3 days late: inside the lookback) with DAYS[2]
    assert times[0] == CAP_START < start < CAP_START + timedelta(hours=24) < times[-1]
    assert max(b - a for a, b in zip(times, times[1:], strict=False)) <= timedelta(minutes=30)
    assert {row[4] for row in raw if row[3] < start} == {HISTORY}
    assert {row[4] for row in raw if row[3] >= start} == {DAYS[2]}
    # independently: a touchpoint more than 24 hours after the first opens the next session
    capped = [row[0] for row in raw if row[3] <= CAP_START + timedelta(hours=24)]
    expected = [capped, [row[0] for row in raw if row[0] not in capped]]
    assert [len(ids) for ids in expected] == [73, 9]
    sessions = (
        "select actor_id || '#' || session_number, list(touchpoint_id order by occurred_at) "
        "from intermediate.int_touchpoints where touchpoint_id like 'cap_%' "
        "group by 1 order by min(occurred_at)"
    )
    before = _query(daily_and_full["snapshots"][DAYS[1]], sessions)
    assert [len(ids) for _, ids in before] == [54]  # up to 23:40, not capped yet
    for after in (daily_and_full["snapshots"][DAYS[2]], daily_and_full["daily"]):
        assert [ids for _, ids in _query(after, sessions)] == expected
    user = daily_and_full["case_users"]["cap"]
    counts = _actor_rows_equal(daily_and_full["daily"], daily_and_full["full"], [user])
    assert counts["int_touchpoints"] >= len(raw) and counts["int_sessions"] >= 2


def test_a_device_restitched_to_another_user(daily_and_full):
    """A device seen anonymously, then linked to one user (arriving with DAYS[0]), then to
    another (DAYS[2]): its anonymous events, older than every window, move to the first user and
    then to the second; the first user, with nothing in DAYS[2]'s window, keeps only their own
    login, as in the full refresh."""
    users = daily_and_full["case_users"]
    first, second = users["first"], users["second"]
    raw = _raw_case(daily_and_full["raw_dir"], "restitch")
    assert [(row[0], row[1], row[4]) for row in raw] == [
        ("restitch_01", None, HISTORY),
        ("restitch_02", None, HISTORY),
        ("restitch_03", first, DAYS[0]),
        ("restitch_04", second, DAYS[2]),
    ]
    assert {row[2] for row in raw} == {"anon_restitched"}
    assert raw[1][3] < window_start(DAYS[0]) <= raw[2][3] < window_start(DAYS[2]) <= raw[3][3]
    actors = (
        "select touchpoint_id, actor_id from intermediate.int_touchpoints "
        "where touchpoint_id like 'restitch_%' order by 1"
    )
    mapped = (
        "select user_id, linked_users from intermediate.int_identity_map "
        "where anonymous_id = 'anon_restitched'"
    )
    for day in DAYS[:2]:
        after_first = daily_and_full["snapshots"][day]
        assert [row[1] for row in _query(after_first, actors)] == [first, first, first]
        assert _query(after_first, mapped) == [(first, 1)]
    for after in (daily_and_full["snapshots"][DAYS[2]], daily_and_full["daily"]):
        assert [row[1] for row in _query(after, actors)] == [second, second, first, second]
        assert _query(after, mapped) == [(second, 2)]
        # the chain the device entered on 2025-12-20 moved with it
        chains = _query(
            after,
            "select distinct actor_id from intermediate.int_funnel_chains "
            "where entry_date = '2025-12-20' and actor_id in ($first, $second)",
            {"first": first, "second": second},
        )
        assert chains == [(second,)]
    counts = _actor_rows_equal(
        daily_and_full["daily"], daily_and_full["full"], [first, second, "anon:anon_restitched"]
    )
    assert counts["int_touchpoints"] >= 4 and counts["int_funnel_chains"] > 0
    _, only_daily, only_full = table_differences(
        daily_and_full["daily"], daily_and_full["full"], "intermediate", "int_identity_map"
    )
    assert (only_daily, only_full) == (0, 0)


def test_a_suppressed_device_that_logs_in_moves_to_its_user(daily_and_full):
    """A device seen with a user who does not consent (its anonymous events are left out) logs in
    as a consenting user inside DAYS[1]'s window: its anonymous event from before the window now
    belongs to that user, who also has a session of their own from before the window, so DAYS[1]'s
    run rebuilds the user from all their history, not from the login's activity run, as the full
    refresh has them (int_touchpoint_changes, DECISIONLOG 138)."""
    users = daily_and_full["case_users"]
    user, hidden = users["unsuppressed"], users["hidden"]
    raw = _raw_case(daily_and_full["raw_dir"], "unsuppressed")
    assert [(row[0], row[1], row[2], row[4]) for row in raw] == [
        ("unsuppressed_01", hidden, "anon_hidden", HISTORY),
        ("unsuppressed_02", None, "anon_hidden", HISTORY),
        ("unsuppressed_03", user, None, HISTORY),
        ("unsuppressed_04", user, "anon_hidden", DAYS[1]),
    ]
    assert raw[2][3] < window_start(DAYS[1]) <= raw[3][3]
    actors = (
        "select touchpoint_id, actor_id from intermediate.int_touchpoints "
        "where touchpoint_id like 'unsuppressed_%' order by 1"
    )
    assert _query(daily_and_full["snapshots"][DAYS[0]], actors) == [("unsuppressed_03", user)]
    for after in (daily_and_full["snapshots"][DAYS[1]], daily_and_full["daily"]):
        assert _query(after, actors) == [
            ("unsuppressed_02", user),
            ("unsuppressed_03", user),
            ("unsuppressed_04", user),
        ]
    counts = _actor_rows_equal(daily_and_full["daily"], daily_and_full["full"], [user])
    assert counts["int_touchpoints"] >= 3 and counts["int_sessions"] >= 3


def _stored_model(path: Path) -> tuple:
    """(the stored model's fit time, the model_version detail of the last run that scored)."""
    ((fitted_at,),) = _query(
        path, "select fitted_at from scoring.model_store where model = 'clusters'"
    )
    ((detail,),) = _query(
        path,
        "select detail from scoring.model_metrics "
        "where model = 'clusters' and metric = 'model_version'",
    )
    return fitted_at, detail


def _scores(path: Path) -> dict[str, list[tuple]]:
    """The model's score tables, every column but the fit's time, sorted."""
    scores = {}
    with duckdb.connect(str(path), read_only=True) as con:
        for table in ("customer_clusters", "cluster_profiles"):
            columns = con.execute(
                "select column_name from information_schema.columns where table_schema = "
                "'scoring' and table_name = $table and column_name <> 'fitted_at' "
                "order by ordinal_position",
                {"table": table},
            ).fetchall()
            listed = ", ".join(f'"{column}"' for (column,) in columns)
            scores[table] = con.execute(
                f"select {listed} from scoring.{table} order by all"
            ).fetchall()
    return scores


def test_a_very_late_touch_joins_the_journey_of_an_older_purchase(daily_and_full):
    """A channel touch an hour before a purchase of mid-December arrives with DAYS[1], older
    than that run's window, as is the purchase: the run rebuilds the buyer's purchases from
    the touch on (not only those since the window), so the purchase's touches and its Markov
    journey gain it, as in the full refresh."""
    buyer = daily_and_full["case_users"]["late_touch"]
    # the purchase an hour after the touch (a later one of the buyer may have it too)
    touches = (
        "select order_id, purchased_at, touch_count from intermediate.int_attribution_touches "
        "where touchpoint_id = $touch and purchased_at = occurred_at + interval 1 hour"
    )
    journey = (
        "select journey_id from intermediate.int_attribution_paths "
        "where touchpoint_id = $touch and journey_id = 'order:' || $order"
    )
    before = daily_and_full["snapshots"][DAYS[0]]
    # attributed before the touch arrives (from the buyer's own earlier touches)
    assert (
        _query(
            before,
            "select count(*) from intermediate.int_attribution_touches where user_id = $buyer "
            "and purchased_at between '2025-12-10' and '2025-12-21'",
            {"buyer": buyer},
        )[0][0]
        > 0
    )
    assert _query(
        before,
        "select count(*) from intermediate.int_attribution_touches where touchpoint_id = $touch",
        {"touch": LATE_TOUCH},
    ) == [(0,)]
    for after in (daily_and_full["snapshots"][DAYS[1]], daily_and_full["daily"]):
        ((order_id, purchased_at, touch_count),) = _query(after, touches, {"touch": LATE_TOUCH})
        assert purchased_at < window_start(DAYS[1]) - timedelta(days=5)
        journeys = _query(after, journey, {"touch": LATE_TOUCH, "order": order_id})
        assert journeys == [(f"order:{order_id}",)]
        ((user,),) = _query(
            after,
            "select user_id from intermediate.int_purchases where order_id = $order",
            {"order": order_id},
        )
        assert user == buyer
        # every touch of the purchase is there once, the late one among them
        ((count,),) = _query(
            after,
            "select count(*) from intermediate.int_attribution_touches where order_id = $order",
            {"order": order_id},
        )
        assert count == touch_count >= 2
    counts = _actor_rows_equal(daily_and_full["daily"], daily_and_full["full"], [buyer])
    assert counts["int_touchpoints"] >= 1


def test_a_weekly_refit_between_two_daily_runs(daily_and_full):
    """The history run fits the stored model (none is stored yet); DAYS[1]'s daily run scores
    with it; DAYS[2]'s run carries the weekly refit's tag and refits; the daily run after it
    scores with the refit's model. After the refit the scores are the full refresh's (the same
    data); before it, the stored model scored."""
    snapshots = daily_and_full["snapshots"]
    fitted, detail = _stored_model(snapshots[DAYS[0]])  # DAYS[0]'s run did not score
    assert "fitted in this run" in detail
    before_refit = _stored_model(snapshots[DAYS[1]])
    assert before_refit[0] == fitted
    assert "stored model, not refitted" in before_refit[1]
    refitted, detail = _stored_model(snapshots[DAYS[2]])
    assert refitted > fitted and "fitted in this run" in detail
    after_refit = _stored_model(daily_and_full["daily"])
    assert after_refit[0] == refitted
    assert "stored model, not refitted" in after_refit[1]
    assert "fitted in this run" in _stored_model(daily_and_full["full"])[1]

    full = _scores(daily_and_full["full"])
    assert len(full["customer_clusters"]) > 100 and len(full["cluster_profiles"]) >= 3
    assert _scores(snapshots[DAYS[2]]) == full
    assert _scores(daily_and_full["daily"]) == full
    # and the refit's fit metrics are the full refresh's
    metrics = (
        "select metric, value, n, data_cutoff from scoring.model_metrics "
        "where model = 'clusters' and metric <> 'model_version' order by metric"
    )
    assert _query(snapshots[DAYS[2]], metrics) == _query(daily_and_full["full"], metrics)


def test_buyers_who_change_inside_the_daily_runs(daily_and_full):
    """A late order makes its user a buyer on DAYS[1]: their non-converting journey goes, the
    order's journey comes. A refund on DAYS[1] makes the only purchase of another user no
    purchase: their converting journey goes, a non-converting one comes. Neither user has a
    touchpoint in the daily runs (no touchpoint change lists them); the tables themselves are
    compared with the full refresh by test_day_by_day_equals_full_refresh."""
    snapshots = daily_and_full["snapshots"]
    journeys = (
        "select is_converted, order_id from intermediate.int_attribution_paths "
        "where actor_id = $user group by all order by all"
    )
    late_order, late_user, _ = daily_and_full["order_cases"]["late"]
    refunded_order, refunded_user, _ = daily_and_full["order_cases"]["refunded"]
    assert _query(snapshots[DAYS[0]], journeys, {"user": late_user}) == [(False, None)]
    assert _query(snapshots[DAYS[1]], journeys, {"user": late_user}) == [(True, late_order)]
    assert _query(snapshots[DAYS[0]], journeys, {"user": refunded_user}) == [(True, refunded_order)]
    assert _query(snapshots[DAYS[1]], journeys, {"user": refunded_user}) == [(False, None)]
    for user in (late_user, refunded_user):
        assert _query(daily_and_full["daily"], journeys, {"user": user}) == _query(
            daily_and_full["full"], journeys, {"user": user}
        )


GRID_USER = "g1"
GRID_DAY = date(2025, 6, 20)


def _lifecycle_partition(raw_dir: Path, warehouse: Path, full_refresh: bool) -> None:
    """GRID_DAY's partition run of user_lifecycle and what it reads, published."""
    from orchestration.assets.dbt import daily_dbt_assets, model_asset_key, warehouse_dbt_assets
    from orchestration.assets.raw import raw_files
    from orchestration.publish import PUBLISHED_SNAPSHOT, build_publish_asset
    from orchestration.resources import build_resources

    assets = [raw_files, daily_dbt_assets, warehouse_dbt_assets]
    selection = dg.AssetSelection.assets(model_asset_key("user_lifecycle")).upstream()
    selection = (selection | dg.AssetSelection.assets(PUBLISHED_SNAPSHOT)).without_checks()
    settings = Settings(warehouse_path=warehouse, raw_data_dir=raw_dir)
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [*assets, build_publish_asset(assets)],
            selection=selection,
            resources=build_resources(settings),
            instance=instance,
            partition_key=GRID_DAY.isoformat(),
            run_config=build_run_config(full_refresh=full_refresh),
        )
    assert result.success


def test_the_lifecycle_rebuilds_when_the_activity_ends_before_the_period_before_its_floor(
    tmp_path,
):
    """The lifecycle keeps its rows before the floor's period; they end with the period before
    it, which the grid reaches only while some activity does (DECISIONLOG 149). The hand-worked
    `cohorts_small` data is active up to April 2025; one more user, GRID_USER, is active once,
    on June 10, and buys then (the data cutoff is the latest purchase). After the full build,
    that user's days are deleted from the activity fact (int_actor_days), as an erasure does
    outside the runs (the change log does not know; the purchase stays, so the cutoff and the
    floor stay on June 10). The kept rows' 'new' actors still add up (the user was first active
    in the floor's periods), but the activity now ends in April, before May and before the week
    of June 2: the next daily run (nothing new) must rebuild every row, and equal the lifecycle
    rebuilt from all history on the same facts, whose grid ends in April."""
    from builds import DATA_DIR

    raw_dir = tmp_path / "raw"
    raw_dir.mkdir()
    for path in (DATA_DIR / "cohorts_small").glob("*.csv"):
        if not path.name.startswith("expected_"):
            shutil.copy(path, raw_dir / path.name)
    with (raw_dir / "users.csv").open("a") as users:
        users.write(f"{GRID_USER},2025-06-01T10:00:00Z,organic,mobile,,,,true\n")
    with (raw_dir / "touchpoints.csv").open("a") as touchpoints:
        touchpoints.write(f"tp-grid-1,{GRID_USER},,2025-06-10T09:00:00Z,page_view,organic,,/,,\n")
    # a purchase: the data cutoff is the latest purchase's time
    with (raw_dir / "orders.csv").open("a") as orders:
        orders.write(
            f"o-grid,{GRID_USER},2025-06-10T10:00:00Z,2025-06-10T10:01:00Z,paid,10.00,,EUR\n"
        )

    warehouse = tmp_path / "daily" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    _lifecycle_partition(raw_dir, warehouse, full_refresh=True)
    before = tmp_path / "before.duckdb"
    shutil.copy(warehouse, before)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "delete from intermediate.int_actor_days where actor_id = $actor", {"actor": GRID_USER}
        )
        (last_day,) = con.execute(
            "select max(activity_date) from intermediate.int_actor_days"
        ).fetchone()
    assert last_day < date(2025, 5, 1), last_day
    _lifecycle_partition(raw_dir, warehouse, full_refresh=False)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        # the run changed nothing: its floor is the cutoff's day, in the user's periods
        assert con.execute(
            "select changed_from, (select cast(data_cutoff_at as date) "
            "from intermediate.int_data_cutoff) "
            "from intermediate.int_touchpoint_change_log order by run_number desc limit 1"
        ).fetchone() == (None, date(2025, 6, 10))

    folder = tmp_path / "rebuilt"
    folder.mkdir()
    rebuilt = _period_marts_rebuilt(warehouse, raw_dir, folder, ("user_lifecycle",))
    rows, only_kept, only_rebuilt = table_differences(warehouse, rebuilt, "marts", "user_lifecycle")
    assert rows > 0 and (only_kept, only_rebuilt) == (0, 0)
    with duckdb.connect(str(rebuilt), read_only=True) as con:
        # the rebuilt grid ends with April: the user's June and the kept May are gone
        assert con.execute(
            "select max(period_start) from marts.user_lifecycle where period_type = 'month'"
        ).fetchone() == (date(2025, 4, 1),)
    _, gone, _ = table_differences(before, warehouse, "marts", "user_lifecycle")
    assert gone > 0
