"""Tests of the demo-data generator (``touchpoint_alchemy.datagen``).

The 2,000-user demo is generated once per session (a few seconds); the other checks use a few
hundred users. DuckDB reads the CSV files the way the warehouse does (all text).
"""

from __future__ import annotations

import ast
import csv
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from touchpoint_alchemy.datagen import generate
from touchpoint_alchemy.datagen.bad_rows import PlantContext, planted_rows
from touchpoint_alchemy.datagen.writer import FILES

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "touchpoint_alchemy" / "datagen"
CONTRACT = ROOT / "docs" / "raw_data_contract.md"
SEEDS = ROOT / "seeds"
FUNNEL = ("product_view", "add_to_cart", "checkout_start", "payment_submit", "payment_success")


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("demo")
    return out, generate(out, users=2000, seed=42, fmt="csv")


@pytest.fixture(scope="session")
def con(demo: tuple[Path, dict[str, int]]) -> duckdb.DuckDBPyConnection:
    out, _ = demo
    db = duckdb.connect()
    for name in FILES:
        db.sql(
            f"create table {name} as select * from read_csv('{out / name}.csv', "
            "all_varchar = true, header = true)"
        )
    db.sql("""create table tp as select *, try_cast(occurred_at as timestamptz) as ts,
              row_number() over () as rn from touchpoints""")
    return db


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple:
    row = con.sql(sql).fetchone()
    assert row is not None
    return row


def _contract_columns() -> dict[str, list[str]]:
    """Column names per file, read from the tables of docs/raw_data_contract.md."""
    columns: dict[str, list[str]] = {}
    current = None
    for line in CONTRACT.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            current = None
        heading = re.match(r"^### (\w+)\s*$", line)
        if heading:
            current = heading.group(1)
            columns[current] = []
            continue
        cell = re.match(r"^\|\s*\**([a-z_]+)\**\s*\|", line)
        if current and cell and cell.group(1) != "column":
            columns[current].append(cell.group(1))
    return columns


def _dir_bytes(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def _planted(ctx: PlantContext | None = None) -> list:
    ctx = ctx or PlantContext(
        n_users=300,
        n_touchpoints=100,
        n_orders=10,
        n_responses=5,
        anon_id_of_first_user="a_x",
        first_spend_key=("d", "c", "k"),
        mid_ts="m",
        first_user_ts="f",
        mid_date="md",
    )
    return planted_rows(ctx)


# --- determinism and formats ------------------------------------------------------------------


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    for fmt in ("csv", "parquet"):
        a = generate(tmp_path / f"a_{fmt}", users=300, seed=7, fmt=fmt)
        b = generate(tmp_path / f"b_{fmt}", users=300, seed=7, fmt=fmt)
        assert a == b
        assert _dir_bytes(tmp_path / f"a_{fmt}") == _dir_bytes(tmp_path / f"b_{fmt}")


def test_different_seed_gives_different_data(tmp_path: Path) -> None:
    generate(tmp_path / "s1", users=300, seed=1)
    generate(tmp_path / "s2", users=300, seed=2)
    one, two = _dir_bytes(tmp_path / "s1"), _dir_bytes(tmp_path / "s2")
    assert one.keys() == two.keys()
    for name in ("users.csv", "touchpoints.csv", "orders.csv", "nps_responses.csv"):
        assert one[name] != two[name]


def test_committed_seeds_match_the_generator(demo: tuple[Path, dict[str, int]]) -> None:
    """seeds/ must be exactly what ``--users 2000 --seed 42 --format csv`` writes."""
    out, _ = demo
    if not (SEEDS / "touchpoints.csv").exists():
        pytest.skip("seeds/ not generated")
    for name in FILES:
        assert (SEEDS / f"{name}.csv").read_bytes() == (out / f"{name}.csv").read_bytes(), name


def test_parquet_output(tmp_path: Path) -> None:
    counts = generate(tmp_path, users=300, seed=3, fmt="parquet")
    expected = _contract_columns()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{n}.parquet" for n in FILES)
    for name in FILES:
        pf = pq.ParquetFile(tmp_path / f"{name}.parquet")
        assert pf.schema_arrow.names == expected[name]
        assert pf.metadata.num_rows == counts[name]
        assert pf.metadata.row_group(0).column(0).compression == "ZSTD"
    assert counts["touchpoints"] > 300 * 30


def test_cli_without_orchestration(tmp_path: Path) -> None:
    """The CLI works, and neither it nor the package imports ``orchestration``."""
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0] == "orchestration" for n in names), path
    code = (
        "import sys; from touchpoint_alchemy.datagen.__main__ import main; "
        f"main(['--out', {str(tmp_path)!r}, '--users', '100', '--seed', '5', '--quiet']); "
        "sys.exit(any(m.split('.')[0] == 'orchestration' for m in sys.modules))"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{n}.csv" for n in FILES)


# --- contract ---------------------------------------------------------------------------------


def test_seven_files_with_contract_columns(demo: tuple[Path, dict[str, int]]) -> None:
    out, counts = demo
    expected = _contract_columns()
    assert sorted(expected) == sorted(FILES)
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.csv" for n in FILES)
    for name in FILES:
        with (out / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        assert rows[0] == expected[name], name
        assert len(rows) - 1 == counts[name], name


def test_row_counts(demo: tuple[Path, dict[str, int]]) -> None:
    _, c = demo
    assert c["users"] == 2000 + 5
    assert 80_000 <= c["touchpoints"] <= 130_000
    assert 1_000 <= c["orders"] <= 3_000
    assert 1.3 <= c["order_items"] / c["orders"] <= 2.2
    assert 300 <= c["nps_responses"] <= 500
    assert 2_000 < c["experiment_assignments"] < 4_000
    assert 3_000 <= c["marketing_spend"] <= 5_000


def test_demo_is_small(demo: tuple[Path, dict[str, int]]) -> None:
    out, _ = demo
    assert sum(p.stat().st_size for p in out.iterdir()) < 20e6


def test_timestamps_parse_and_stay_in_2025(con: duckdb.DuckDBPyConnection) -> None:
    planted = {
        "not-a-date",
        "2025-13-45T99:00:00Z",
        "last tuesday",
        "2099-01-01T00:00:00Z",
        "2099-06-01T12:00:00Z",
    }
    for table, col in (
        ("users", "signed_up_at"),
        ("touchpoints", "occurred_at"),
        ("orders", "created_at"),
        ("orders", "paid_at"),
        ("nps_responses", "responded_at"),
        ("experiment_assignments", "assigned_at"),
    ):
        bad, early, late = _one(
            con,
            f"""
            select count(*) filter (where try_cast({col} as timestamptz) is null),
                   min(try_cast({col} as timestamptz)), max(try_cast({col} as timestamptz))
            from {table} where {col} is not null and {col} not in {tuple(planted)}""",
        )
        assert bad == 0, (table, col)
        assert early.year == 2025 and late.year == 2025, (table, col)
    styles = con.sql("""select count(*) filter (where occurred_at like '%Z'),
        count(*) filter (where occurred_at like '%+08:00'),
        count(*) filter (where occurred_at not like '%Z' and occurred_at not like '%+08:00'),
        count(*) from touchpoints""").fetchone()
    assert styles is not None
    z, cn, naive, total = styles
    assert z / total > 0.5 and 0.1 < cn / total < 0.4 and 0.03 < naive / total < 0.07
    dates = _one(
        con,
        "select count(*) filter (where try_cast(spend_date as date) is null) from marketing_spend",
    )
    assert dates == (1,)  # the planted 2025-13-01


def test_users_shape(con: duckdb.DuckDBPyConnection) -> None:
    n, emails, distinct_emails, phones, consent_true, consent_null = _one(
        con,
        """
        select count(*), count(email), count(distinct lower(email)), count(phone),
               count(*) filter (where consent_analytics = 'true'),
               count(*) filter (where consent_analytics is null) from users""",
    )
    assert 0.85 < emails / n < 0.95 and distinct_emails == emails
    assert 0.62 < phones / n < 0.78
    assert 0.84 < consent_true / n < 0.92 and 0 < consent_null / n < 0.05
    first_half, second_half = _one(
        con,
        """
        select count(*) filter (where month(try_cast(signed_up_at as timestamptz)) <= 6),
               count(*) filter (where month(try_cast(signed_up_at as timestamptz)) > 6)
        from users""",
    )
    assert first_half > 1.5 * second_half
    cities = {r[0] for r in con.sql("select distinct city from users").fetchall()}
    assert {"Shanghai", "Beijing", "Shenzhen", "London", "New York"} <= cities


def test_funnel_drops_at_every_step(con: duckdb.DuckDBPyConnection) -> None:
    events = {r[0] for r in con.sql("select distinct touchpoint from touchpoints").fetchall()}
    assert {
        "page_view",
        "search",
        "view_delivery_info",
        "support_chat",
        "login",
        "share",
        *FUNNEL,
    } <= events
    con.sql("""create or replace temp view sessions as
        select *, sum(new_session) over (partition by anonymous_id order by ts, rn) as sid from (
          select *, coalesce(ts - lag(ts) over (partition by anonymous_id order by ts, rn)
                             > interval 30 minute, true)::int as new_session
          from tp where anonymous_id is not null and ts is not null)""")
    reached = [
        _one(
            con,
            f"""select count(distinct (anonymous_id, sid)) from sessions
                             where touchpoint = '{step}'""",
        )[0]
        for step in FUNNEL
    ]
    rates = [b / a for a, b in zip(reached, reached[1:], strict=False)]
    assert all(b < a for a, b in zip(reached, reached[1:], strict=False)), reached
    for got, want in zip(rates, (0.35, 0.55, 0.70, 0.85), strict=True):
        assert abs(got - want) < 0.12, rates
    # some chains are completed on a later visit: sessions that pay without a product view
    later = _one(
        con,
        """select count(*) from (select anonymous_id, sid from sessions
        group by all having bool_or(touchpoint = 'payment_success')
        and not bool_or(touchpoint = 'product_view'))""",
    )[0]
    assert later > 0.05 * reached[-1]


def test_abandoners_read_delivery_info_more(con: duckdb.DuckDBPyConnection) -> None:
    rows = dict(
        con.sql("""
        with per_user as (
          select user_id, bool_or(touchpoint = 'payment_success') as paid,
                 bool_or(touchpoint in ('checkout_start', 'payment_submit')) as checkout,
                 count(*) filter (where touchpoint = 'view_delivery_info') as views
          from tp where user_id is not null group by 1)
        select case when paid then 'converter' else 'abandoner' end, avg(views)
        from per_user where checkout group by 1""").fetchall()
    )
    assert rows["abandoner"] > 3 * rows["converter"], rows
    assert rows["abandoner"] >= 2.5 and rows["converter"] < 1.0


def test_identity_and_anonymous_visitors(con: duckdb.DuckDBPyConnection) -> None:
    anon_only, users_with_tp, anon_before_login = _one(
        con,
        """
        with ids as (select anonymous_id, count(user_id) as known from tp
                     where anonymous_id is not null group by 1)
        select count(*) filter (where known = 0), count(*) filter (where known > 0),
               (select count(distinct anonymous_id) from tp where user_id is null
                and anonymous_id in (select anonymous_id from ids where known > 0))
        from ids""",
    )
    assert 0.10 < anon_only / users_with_tp < 0.20
    assert anon_before_login > 0.9 * users_with_tp  # the signup visit starts anonymous
    # nobody is identified before signing up (1 s of slack for timestamps written without a
    # fraction of a second)
    early = _one(
        con,
        """select count(*) from tp join (select * from users
          qualify row_number() over (partition by user_id) = 1) u using (user_id)
        where tp.ts < try_cast(u.signed_up_at as timestamptz) - interval 1 second""",
    )[0]
    assert early == 0
    logins = _one(
        con,
        """select count(*) from (select user_id, min(ts) first_seen,
        min(ts) filter (where touchpoint = 'login') first_login from tp where user_id is not null
        group by 1) where first_seen < first_login - interval 1 second""",
    )[0]
    assert logins == 0


def test_evening_peak_in_local_time(con: duckdb.DuckDBPyConnection) -> None:
    by_hour = dict(
        con.sql("""select hour(ts at time zone 'Asia/Shanghai'), count(*) from tp
        join users using (user_id) where city in ('Shanghai', 'Beijing', 'Shenzhen')
        group by 1""").fetchall()
    )
    evening = sum(by_hour.get(h, 0) for h in (19, 20, 21))
    night = sum(by_hour.get(h, 0) for h in (2, 3, 4))
    assert evening > 8 * night


def test_orders_follow_touchpoints(con: duckdb.DuckDBPyConnection) -> None:
    planted = ("o_0000001", "o_0000002")
    mismatched = _one(
        con,
        f"""select count(*) from orders o join (
          select order_id, sum(quantity::int * unit_price::decimal(12, 2)) as s
          from order_items group by 1) i using (order_id)
        where abs(o.amount::decimal(12, 2) - i.s) > 0.005 and order_id not in {planted}""",
    )[0]
    assert mismatched == 0
    success, matched, close = _one(
        con,
        """select count(*), count(o.order_id),
        count(*) filter (where try_cast(o.created_at as timestamptz) <= tp.ts + interval 1 second
                           and tp.ts - try_cast(o.created_at as timestamptz) < interval 5 second)
        from tp left join orders o on o.order_id = json_extract_string(tp.properties, '$.order_id')
        where tp.touchpoint = 'payment_success'""",
    )
    assert matched == success and close > 0.95 * success
    statuses = dict(con.sql("select lower(status), count(*) from orders group by 1").fetchall())
    total = sum(statuses.values())
    assert 0.03 < statuses["cancelled"] / total < 0.08
    assert 0.02 < statuses["refunded"] / total < 0.07
    assert statuses["pending"] > 0 and statuses["delivered"] > total / 2
    unpaid = _one(
        con,
        """select count(*) filter (where lower(status) = 'pending'
        and paid_at is not null) + count(*) filter (where lower(status) <> 'pending'
        and paid_at is null) from orders""",
    )[0]
    assert unpaid == 0
    currencies = dict(con.sql("select currency, count(*) from orders group by 1").fetchall())
    assert currencies == {"USD": currencies["USD"]}, "one reporting currency (DECISIONLOG.md)"


def test_repeat_purchases_decay(con: duckdb.DuckDBPyConnection) -> None:
    retention = dict(
        con.sql("""
        with o as (select user_id, try_cast(created_at as timestamptz) as t from orders
                   where lower(status) <> 'pending' and try_cast(created_at as timestamptz)
                   is not null),
        f as (select user_id, date_trunc('month', min(t)) as cohort from o group by 1),
        a as (select distinct user_id, datediff('month', cohort, date_trunc('month', t)) as k
              from o join f using (user_id) where cohort <= date '2025-05-01')
        select k, count(*) / (select count(*) from a where k = 0) from a group by 1""").fetchall()
    )
    assert 0.25 < retention[1] < 0.45
    assert retention[6] < retention[1] * 0.7


def test_experiment_and_nps(con: duckdb.DuckDBPyConnection) -> None:
    conv = dict(
        con.sql("""select variant, avg((o.user_id is not null)::int) from
        experiment_assignments e left join (select distinct user_id from orders
        where paid_at is not null) o using (user_id)
        where experiment_id = 'checkout_button_color' group by 1""").fetchall()
    )
    assert conv["treatment"] > conv["control"] + 0.03
    split = _one(
        con,
        """select avg((variant = 'treatment')::int) from experiment_assignments
                         where experiment_id = 'free_shipping_banner'""",
    )[0]
    assert 0.4 < split < 0.6
    share, chinese, english = _one(
        con,
        """select
        count(distinct user_id) / (select count(*) from users),
        count(*) filter (where regexp_matches(comment, '[\u4e00-\u9fff]')),
        count(*) filter (where regexp_matches(comment, '^[A-Za-z]')) from nps_responses""",
    )
    assert 0.10 < share < 0.20 and chinese > 10 and english > 10


def test_marketing_spend(con: duckdb.DuckDBPyConnection) -> None:
    channels = {r[0] for r in con.sql("select distinct channel from marketing_spend").fetchall()}
    assert channels == {"paid_search", "social", "email", "affiliate"}
    ctr = _one(
        con,
        """select sum(clicks::int) / sum(impressions::int) from marketing_spend
                       where try_cast(spend_date as date) is not null""",
    )[0]
    assert 0.005 < ctr < 0.05


def test_planted_rows_are_appended(demo: tuple[Path, dict[str, int]]) -> None:
    """The file tails hold the planted rows; values not depending on the data must match."""
    out, _ = demo
    one = _planted()
    other = _planted(_planted_ctx_b())
    for name in FILES:
        mine = [(a, b) for a, b in zip(one, other, strict=True) if a.file == name]
        assert 3 <= len(mine) <= 10, name
        with (out / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
            tail = list(csv.DictReader(fh))[-len(mine) :]
        for (a, b), row in zip(mine, tail, strict=True):
            for col, value in a.row.items():
                if value == b.row[col]:  # does not depend on the generated data
                    text = (
                        ""
                        if value is None
                        else (f"{value:.2f}" if isinstance(value, float) else str(value))
                    )
                    assert row[col] == text, (name, a.reason, col)
    reasons = {p.reason for p in one if p.reason}
    assert {
        "null key",
        "duplicate key",
        "unparseable timestamp",
        "future timestamp",
        "invalid boolean",
        "no identity",
        "negative amount",
        "unknown status",
        "unknown user",
        "unknown order",
        "score out of range",
    } <= reasons


def _planted_ctx_b() -> PlantContext:
    return PlantContext(
        n_users=5000,
        n_touchpoints=777,
        n_orders=55,
        n_responses=9,
        anon_id_of_first_user="a_y",
        first_spend_key=("d2", "c2", "k2"),
        mid_ts="m2",
        first_user_ts="f2",
        mid_date="md2",
    )


def test_planted_keys_behave(con: duckdb.DuckDBPyConnection) -> None:
    """Duplicates really duplicate an earlier key; unknown ids really are unknown."""
    assert _one(con, "select count(*) from users where user_id = 'u_000002'") == (2,)
    assert _one(con, "select count(*) from users where user_id is null") == (1,)
    assert _one(con, "select count(*) from touchpoints where touchpoint_id = 't_00000005'") == (2,)
    assert _one(con, "select count(*) from orders where order_id = 'o_0000001'") == (2,)
    assert _one(
        con,
        """select count(*) from order_items
                        where order_id = 'o_0000001' and line_number = '1'""",
    ) == (2,)
    assert _one(
        con,
        """select count(*) from (select spend_date, channel, campaign
                        from marketing_spend group by all having count(*) > 1)""",
    ) == (1,)
    assert _one(
        con,
        """select count(*) from (select experiment_id, user_id
                        from experiment_assignments group by all having count(*) > 1)""",
    ) == (1,)
    for table in ("orders", "nps_responses", "experiment_assignments"):
        assert _one(
            con,
            f"""select count(*) from {table}
                             where user_id not in (select user_id from users
                                                   where user_id is not null)""",
        ) == (1,), table
    assert _one(
        con,
        """select count(*) from order_items
                        where order_id not in (select order_id from orders)""",
    ) == (1,)
    assert _one(
        con,
        """select count(*) from touchpoints
                        where user_id is null and anonymous_id is null""",
    ) == (1,)
    odd = con.sql("""select campaign, page, properties from touchpoints
                     where campaign like '%DROP TABLE%' or campaign like '%second line'
                        or properties = '{"broken": '""").fetchall()
    assert len(odd) == 3
    assert any(c == "summer, sale\nsecond line" for c, _, _ in odd)
    assert any(p == '/search?q=Robert"); --' for _, p, _ in odd)


def test_products_have_an_affinity_structure(con: duckdb.DuckDBPyConnection) -> None:
    """Products bought together (in one order) and by the same customer over time are of one
    category far more often than chance (the sum of squared category shares): complements and
    persistent tastes, which the recommendations learn. Draws by popularity alone give about
    chance (the generator before product lines: 0.17 and 0.18 against 0.18; with them about
    0.68 and 0.70)."""
    lines = """select o.order_id, o.user_id, try_cast(o.created_at as timestamptz) as t,
               i.product_id, i.category
               from orders o join order_items i using (order_id)
               where o.paid_at is not null and o.user_id is not null"""
    chance, same_order, same_customer = _one(
        con,
        f"""with l as ({lines}),
        shares as (select count(*) / sum(count(*)) over () as s from l group by category),
        in_order as (select a.category = b.category as same from l a join l b
                     on a.order_id = b.order_id and a.product_id < b.product_id),
        later as (select a.category = b.category as same from l a join l b
                  on a.user_id = b.user_id and b.t > a.t and a.order_id <> b.order_id)
        select (select sum(s * s) from shares), (select avg(same::int) from in_order),
               (select avg(same::int) from later)""",
    )
    assert same_order > 2 * chance
    assert same_customer > 2 * chance


def test_demand_has_a_weekly_pattern_a_trend_and_a_peak_season(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """The daily orders the demand forecast learns from (DECISIONLOG.md, 68): weekends busier
    than midweek, more orders in September-October than in January-February, and a peak season
    from 20 November to 24 December above the autumn before it."""
    weekend_ratio, trend_ratio, peak_ratio = _one(
        con,
        """
        with o as (select cast(try_cast(created_at as timestamptz) at time zone 'UTC' as date)
                          as d
                   from orders where lower(status) in ('delivered', 'shipped')),
        daily as (select d, count(*) as n from o where d is not null group by 1)
        select
            avg(n) filter (where dayofweek(d) in (0, 6))
                / avg(n) filter (where dayofweek(d) in (2, 3)),
            sum(n) filter (where month(d) in (9, 10)) / sum(n) filter (where month(d) in (1, 2)),
            avg(n) filter (where d between date '2025-11-20' and date '2025-12-24')
                / avg(n) filter (where month(d) in (9, 10))
        from daily""",
    )
    assert weekend_ratio > 1.3
    assert trend_ratio > 1.2
    assert peak_ratio > 1.3
