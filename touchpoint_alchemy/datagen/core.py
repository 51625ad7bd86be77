"""The :func:`generate` entry point: batches of users in, seven raw files out.

Users are simulated in fixed batches of :data:`BATCH_USERS`; each batch has its own random
stream derived from the seed (``SeedSequence(seed, spawn_key=(1, batch))``), so the output only
depends on the arguments, memory stays bounded, and ids continue across batches. Planted bad
rows (:mod:`bad_rows`) are appended at the end of each file.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from .bad_rows import PlantContext, planted_rows
from .commerce import make_catalog, order_tables
from .feedback import experiments_table, nps_table
from .journeys import simulate_batch
from .marketing import CampaignCalendar
from .people import make_people, users_table
from .util import US_PER_DAY, US_PER_S, Calendar, format_ts, ts_styles
from .writer import FILES, SCHEMAS, TableWriter

BATCH_USERS = 10_000
MIN_USERS = 100


def _stream(seed: int, *key: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def _ts_text(us: int) -> str:
    return str(format_ts(np.array([us]), np.zeros(1, dtype=np.int8))[0])


def generate(
    out_dir: str | Path,
    users: int = 2000,
    seed: int = 42,
    fmt: str = "csv",
    start: str = "2025-01-01",
    days: int = 365,
    verbose: bool | None = None,
) -> dict[str, int]:
    """Write the seven raw files to ``out_dir`` and return the row count of each.

    ``fmt`` is ``csv`` or ``parquet``. The same arguments always give byte-identical files.
    ``verbose`` (default: on for 50,000 users or more) prints progress to stderr: the step in
    progress, the users and rows done so far and the elapsed time.
    """
    if users < MIN_USERS:
        raise ValueError(f"users must be at least {MIN_USERS}")
    if days < 60:
        raise ValueError("days must be at least 60")
    if verbose is None:
        verbose = users >= 50_000
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cal = Calendar(start, days)
    catalog = make_catalog(_stream(seed, 0))
    salt = int(_stream(seed, 3).integers(0, 2**40))
    campaigns = CampaignCalendar(cal)
    writers = {name: TableWriter(out, name, fmt) for name in FILES}
    seen_emails: set[str] = set()
    t0 = time.monotonic()

    def progress(message: str) -> None:
        if verbose:
            print(f"[datagen {time.monotonic() - t0:6.1f}s] {message}", file=sys.stderr, flush=True)

    progress(f"simulating {users:,} users over {days} days from {start} into {out} ({fmt})")
    n_tp = n_orders = n_resp = n_anon = 0
    first_user_us = 0
    first_anon = ""
    try:
        for batch, lo in enumerate(range(0, users, BATCH_USERS)):
            n = min(BATCH_USERS, users - lo)
            rng = _stream(seed, 1, batch)
            people = make_people(rng, cal, lo, n, salt, seen_emails)
            res = simulate_batch(
                rng,
                cal,
                people,
                catalog,
                campaigns,
                anon_offset=n_anon,
                salt=salt,
                tp_offset=n_tp,
                order_offset=n_orders,
            )
            signup_text = format_ts(res.signup_us, ts_styles(rng, people.is_cn))
            orders_tbl, items_tbl = order_tables(rng, res.orders, people.user_id, people.is_cn)
            nps_tbl, n_new_resp = nps_table(
                rng,
                cal,
                people,
                res.orders,
                res.signup_us,
                res.is_buyer,
                res.abandoned,
                res.lapsed,
                n_resp,
            )
            writers["users"].write(users_table(people, signup_text))
            writers["touchpoints"].write(res.touchpoints)
            writers["orders"].write(orders_tbl)
            writers["order_items"].write(items_tbl)
            writers["nps_responses"].write(nps_tbl)
            writers["experiment_assignments"].write(experiments_table(rng, people, res.signup_us))
            if batch == 0:
                first_user_us, first_anon = int(res.signup_us[0]), str(people.anon_id[0])
            n_tp += res.n_touchpoints
            n_orders += res.orders.size
            n_resp += n_new_resp
            n_anon += res.n_anon
            progress(
                f"users {lo + n:,}/{users:,} ({(lo + n) / users:.0%}): touchpoints {n_tp:,}, "
                f"orders {n_orders:,}, NPS responses {n_resp:,} written"
            )

        progress("writing marketing spend")
        spend = campaigns.spend_table(_stream(seed, 2))
        writers["marketing_spend"].write(spend)
        ctx = PlantContext(
            n_users=users,
            n_touchpoints=n_tp,
            n_orders=n_orders,
            n_responses=n_resp,
            anon_id_of_first_user=first_anon,
            first_spend_key=(
                str(spend["spend_date"][0]),
                str(spend["channel"][0]),
                str(spend["campaign"][0]),
            ),
            mid_ts=_ts_text(cal.start_us + (days // 2) * US_PER_DAY + 12 * 3600 * US_PER_S),
            first_user_ts=_ts_text(first_user_us + 3600 * US_PER_S),
            mid_date=str(cal.date_text(np.array([days // 2]))[0]),
        )
        progress("planting the bad rows that exercise the quarantine")
        for name in FILES:
            rows = [p.row for p in planted_rows(ctx) if p.file == name]
            writers[name].write(pa.Table.from_pylist(rows, schema=SCHEMAS[name]))
    finally:
        for w in writers.values():
            w.close()
    counts = {name: w.rows for name, w in writers.items()}
    for w in writers.values():
        progress(f"{w.path}: {w.rows:,} rows, {w.path.stat().st_size / 1e6:.1f} MB")
    progress(f"done: {sum(counts.values()):,} rows in {len(counts)} files")
    return counts
