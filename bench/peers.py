"""The peers of the benchmark (chdb, polars, pandas) and DuckDB's scan floor, on the raw
Parquet files: the purchase funnel per actor and entry day (windowFunnel semantics) and the
monthly cohort retention. Each returns its seconds."""

from __future__ import annotations

import time
from pathlib import Path

FUNNEL = ("product_view", "add_to_cart", "checkout_start", "payment_submit", "payment_success")
WINDOW_SECONDS = 7 * 24 * 3600
PANDAS_MAX_TOUCHPOINTS = 10_000_000


def duckdb_seconds(sql: str, threads: int) -> float:
    import duckdb

    con = duckdb.connect(config={"threads": threads})
    started = time.perf_counter()
    con.execute(sql).fetchall()
    return time.perf_counter() - started


def scan_floor(data_dir: Path, threads: int) -> float:
    path = data_dir / "touchpoints.parquet"
    return duckdb_seconds(
        f"select user_id, count(*) from read_parquet('{path}') group by user_id", threads
    )


def chdb_funnel(data_dir: Path) -> float:
    import chdb

    path = data_dir / "touchpoints.parquet"
    steps = ", ".join(f"touchpoint = '{step}'" for step in FUNNEL[1:])
    sql = f"""
        with events as (
            select coalesce(user_id, anonymous_id) as actor,
                   parseDateTime64BestEffortOrNull(occurred_at, 6) as ts,
                   touchpoint
            from file('{path}', Parquet)
            where touchpoint in ({", ".join(f"'{s}'" for s in FUNNEL)}) and ts is not null
        ),
        entries as (
            select distinct actor, toDate(ts) as entry_day
            from events where touchpoint = '{FUNNEL[0]}'
        )
        select count(), sum(level) from (
            select entries.actor, entries.entry_day,
                   windowFunnel({WINDOW_SECONDS * 1_000_000}, 'strict_increase')(
                       toUInt64(toUnixTimestamp64Micro(events.ts)),
                       events.touchpoint = '{FUNNEL[0]}' and toDate(events.ts) = entries.entry_day,
                       {steps}
                   ) as level
            from entries
            inner join events on events.actor = entries.actor
            where events.ts >= entries.entry_day
              and events.ts < entries.entry_day + interval 8 day
            group by entries.actor, entries.entry_day
        )
    """
    started = time.perf_counter()
    chdb.query(sql, "CSV")
    return time.perf_counter() - started


def _funnel_frame(frame_lib: str, data_dir: Path):
    """Funnel events as a sorted frame: actor, ts (datetime, UTC), step (0-based)."""
    path = data_dir / "touchpoints.parquet"
    if frame_lib == "polars":
        import polars as pl

        return (
            pl.scan_parquet(path)
            .filter(pl.col("touchpoint").is_in(FUNNEL))
            .select(
                pl.coalesce("user_id", "anonymous_id").alias("actor"),
                pl.col("occurred_at")
                .str.to_datetime(time_zone="UTC", strict=False, format=None)
                .alias("ts"),
                pl.col("touchpoint")
                .replace_strict(FUNNEL, list(range(len(FUNNEL))), return_dtype=pl.Int8)
                .alias("step"),
            )
            .drop_nulls(["actor", "ts"])
        )
    import pandas as pd

    raw = pd.read_parquet(path, columns=["user_id", "anonymous_id", "occurred_at", "touchpoint"])
    raw = raw[raw["touchpoint"].isin(FUNNEL)]
    frame = pd.DataFrame(
        {
            "actor": raw["user_id"].fillna(raw["anonymous_id"]),
            "ts": pd.to_datetime(raw["occurred_at"], utc=True, errors="coerce", format="mixed"),
            "step": raw["touchpoint"].map({s: i for i, s in enumerate(FUNNEL)}),
        }
    )
    return frame.dropna(subset=["actor", "ts"])


def polars_funnel(data_dir: Path) -> float:
    """Exact windowFunnel per (actor, entry day): for a fixed start, taking the earliest
    strictly later event of each next step is optimal, so one forward as-of join per step
    from every start, then the best start per day."""
    import polars as pl

    started = time.perf_counter()
    events = _funnel_frame("polars", data_dir).collect()
    chains = (
        events.filter(pl.col("step") == 0)
        .select("actor", pl.col("ts").alias("start"), pl.col("ts").alias("at"))
        .with_columns(level=pl.lit(1, pl.Int8))
        .sort("at")
    )
    for step in range(1, len(FUNNEL)):
        nxt = events.filter(pl.col("step") == step).select("actor", pl.col("ts").alias("next"))
        nxt = nxt.sort("next")
        chains = chains.join_asof(
            nxt,
            left_on="at",
            right_on="next",
            by="actor",
            strategy="forward",
            allow_exact_matches=False,
            check_sortedness=False,
        )
        ok = (
            (pl.col("level") == step)
            & pl.col("next").is_not_null()
            & (pl.col("next") <= pl.col("start") + pl.duration(seconds=WINDOW_SECONDS))
        )
        chains = chains.with_columns(
            level=pl.when(ok).then(pl.lit(step + 1, pl.Int8)).otherwise(pl.col("level")),
            at=pl.when(ok).then(pl.col("next")).otherwise(pl.col("at")),
        ).drop("next")
        chains = chains.sort("at")
    result = chains.group_by("actor", pl.col("start").dt.date().alias("entry_day")).agg(
        pl.col("level").max()
    )
    assert result.height > 0
    return time.perf_counter() - started


def pandas_funnel(data_dir: Path) -> float:
    import pandas as pd

    started = time.perf_counter()
    events = _funnel_frame("pandas", data_dir)
    chains = events[events["step"] == 0][["actor", "ts"]].rename(columns={"ts": "start"})
    chains["at"] = chains["start"]
    chains["level"] = 1
    for step in range(1, len(FUNNEL)):
        nxt = events[events["step"] == step][["actor", "ts"]].rename(columns={"ts": "next"})
        chains = pd.merge_asof(
            chains.sort_values("at"),
            nxt.sort_values("next"),
            left_on="at",
            right_on="next",
            by="actor",
            direction="forward",
            allow_exact_matches=False,
        )
        ok = (
            (chains["level"] == step)
            & chains["next"].notna()
            & (chains["next"] <= chains["start"] + pd.Timedelta(seconds=WINDOW_SECONDS))
        )
        chains.loc[ok, "level"] = step + 1
        chains.loc[ok, "at"] = chains.loc[ok, "next"]
        chains = chains.drop(columns="next")
    chains["entry_day"] = chains["start"].dt.date
    chains.groupby(["actor", "entry_day"])["level"].max()
    return time.perf_counter() - started


def polars_retention(data_dir: Path) -> float:
    import polars as pl

    started = time.perf_counter()
    orders = (
        pl.scan_parquet(data_dir / "orders.parquet")
        .filter(
            pl.col("paid_at").is_not_null() & ~pl.col("status").is_in(["cancelled", "refunded"])
        )
        .select(
            "user_id",
            pl.col("created_at")
            .str.to_datetime(time_zone="UTC", strict=False)
            .dt.truncate("1mo")
            .alias("month"),
        )
        .drop_nulls()
    )
    first = orders.group_by("user_id").agg(pl.col("month").min().alias("cohort"))
    active = orders.unique(["user_id", "month"]).join(first, on="user_id")
    grid = (
        active.with_columns(
            k=(pl.col("month").dt.year() - pl.col("cohort").dt.year()) * 12
            + pl.col("month").dt.month()
            - pl.col("cohort").dt.month()
        )
        .group_by("cohort", "k")
        .agg(pl.len().alias("retained"))
        .join(first.group_by("cohort").agg(pl.len().alias("size")), on="cohort")
        .with_columns(rate=pl.col("retained") / pl.col("size"))
        .collect()
    )
    assert grid.height > 0
    return time.perf_counter() - started


def pandas_retention(data_dir: Path) -> float:
    import pandas as pd

    started = time.perf_counter()
    orders = pd.read_parquet(
        data_dir / "orders.parquet", columns=["user_id", "created_at", "paid_at", "status"]
    )
    orders = orders[orders["paid_at"].notna() & ~orders["status"].isin(["cancelled", "refunded"])]
    created = pd.to_datetime(orders["created_at"], utc=True, errors="coerce", format="mixed")
    months = created.dt.tz_localize(None).dt.to_period("M")
    frame = pd.DataFrame({"user_id": orders["user_id"], "month": months}).dropna()
    frame = frame.drop_duplicates()
    frame["cohort"] = frame.groupby("user_id")["month"].transform("min")
    frame["k"] = (frame["month"] - frame["cohort"]).apply(lambda d: d.n)
    retained = frame.groupby(["cohort", "k"]).size()
    size = frame.groupby("cohort")["user_id"].nunique()
    (retained / size.reindex(retained.index.get_level_values(0)).to_numpy()).to_frame("rate")
    return time.perf_counter() - started
