"""Independent pandas reference implementation of Touchpoint Alchemy's definitions.

This module is a second implementation, written from the written definitions (the raw data
contract in ``docs/raw_data_contract.md`` and the metric definitions given to the test authors),
never from the dbt SQL. Tests compare the warehouse against it.

Only pandas, numpy and pyarrow are used: no duckdb, no dbt, no dagster.

Conventions of the outputs:

* timestamps are tz-naive UTC ``datetime64[us]``;
* dates (``spend_date``, ``entry_date``, ``cohort_month``) are ``datetime.date`` objects
  (object dtype);
* money is summed exactly with ``Decimal`` and returned as ``float64``;
* counts are ``int64``; nullable integer columns of staged data are ``Int64``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pandas as pd

# ---------------------------------------------------------------------------------------------
# Contract
# ---------------------------------------------------------------------------------------------

RAW_NAMES: tuple[str, ...] = (
    "users",
    "touchpoints",
    "orders",
    "order_items",
    "marketing_spend",
    "nps_responses",
    "experiment_assignments",
)

# Order in which files are validated: a file's foreign keys point at files validated earlier.
VALIDATION_ORDER: tuple[str, ...] = (
    "users",
    "orders",
    "order_items",
    "touchpoints",
    "marketing_spend",
    "nps_responses",
    "experiment_assignments",
)

# name -> column -> kind. Kinds: text, timestamp, date, decimal, integer, boolean, json.
COLUMNS: dict[str, dict[str, str]] = {
    "users": {
        "user_id": "text",
        "signed_up_at": "timestamp",
        "acquisition_channel": "text",
        "device_type": "text",
        "city": "text",
        "email": "text",
        "phone": "text",
        "consent_analytics": "boolean",
    },
    "touchpoints": {
        "touchpoint_id": "text",
        "user_id": "text",
        "anonymous_id": "text",
        "occurred_at": "timestamp",
        "touchpoint": "text",
        "channel": "text",
        "campaign": "text",
        "page": "text",
        "dwell_ms": "integer",
        "properties": "json",
    },
    "orders": {
        "order_id": "text",
        "user_id": "text",
        "created_at": "timestamp",
        "paid_at": "timestamp",
        "status": "text",
        "amount": "decimal",
        "discount": "decimal",
        "currency": "text",
    },
    "order_items": {
        "order_id": "text",
        "line_number": "integer",
        "product_id": "text",
        "category": "text",
        "quantity": "integer",
        "unit_price": "decimal",
    },
    "marketing_spend": {
        "spend_date": "date",
        "channel": "text",
        "campaign": "text",
        "spend": "decimal",
        "impressions": "integer",
        "clicks": "integer",
    },
    "nps_responses": {
        "response_id": "text",
        "user_id": "text",
        "responded_at": "timestamp",
        "score": "integer",
        "comment": "text",
    },
    "experiment_assignments": {
        "experiment_id": "text",
        "user_id": "text",
        "variant": "text",
        "assigned_at": "timestamp",
    },
}

KEYS: dict[str, tuple[str, ...]] = {
    "users": ("user_id",),
    "touchpoints": ("touchpoint_id",),
    "orders": ("order_id",),
    "order_items": ("order_id", "line_number"),
    "marketing_spend": ("spend_date", "channel", "campaign"),
    "nps_responses": ("response_id",),
    "experiment_assignments": ("experiment_id", "user_id"),
}

# Key columns that may be null (a null campaign is its own "no campaign" campaign).
NULLABLE_KEYS: dict[str, frozenset[str]] = {"marketing_spend": frozenset({"campaign"})}

# Non-key columns that may not be null.
REQUIRED: dict[str, frozenset[str]] = {
    "users": frozenset({"signed_up_at"}),
    "touchpoints": frozenset({"occurred_at", "touchpoint"}),
    "orders": frozenset({"user_id", "created_at", "status", "amount"}),
    "order_items": frozenset({"quantity", "unit_price"}),
    "marketing_spend": frozenset({"spend"}),
    "nps_responses": frozenset({"user_id", "responded_at", "score"}),
    "experiment_assignments": frozenset({"variant", "assigned_at"}),
}

NON_NEGATIVE: frozenset[str] = frozenset(
    {"amount", "discount", "spend", "unit_price", "quantity", "impressions", "clicks", "dwell_ms"}
)

ORDER_STATUSES: frozenset[str] = frozenset(
    {"pending", "paid", "shipped", "delivered", "cancelled", "refunded"}
)
NOT_PURCHASE_STATUSES: frozenset[str] = frozenset({"cancelled", "refunded"})

TRUE_WORDS: frozenset[str] = frozenset({"true", "1", "t", "yes"})
FALSE_WORDS: frozenset[str] = frozenset({"false", "0", "f", "no"})

USER_FK: frozenset[str] = frozenset({"orders", "nps_responses", "experiment_assignments"})

REASONS: tuple[str, ...] = (
    "null key",
    "duplicate key",
    "unparseable timestamp",
    "future timestamp",
    "unparseable number",
    "negative amount",
    "unknown status",
    "score out of range",
    "invalid boolean",
    "missing value",
    "unknown user",
    "unknown order",
    "no identity",
)

DEFAULT_FUNNEL_NAME = "purchase"
DEFAULT_FUNNEL_STEPS: tuple[str, ...] = (
    "product_view",
    "add_to_cart",
    "checkout_start",
    "payment_submit",
    "payment_success",
)
DEFAULT_FUNNEL_WINDOW_SECONDS = 7 * 24 * 3600

UNKNOWN = "(unknown)"
ANONYMOUS = "(anonymous)"

_US_PER_SECOND = 1_000_000
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


class RawDataError(Exception):
    """A raw file or a required column is missing."""


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


def _parquet_as_text(path: Path) -> pd.DataFrame:
    """Read a Parquet file with every value turned into text (None stays null)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    columns: dict[str, list[object]] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        if pa.types.is_null(column.type):
            values: list[object] = [None] * len(column)
        elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            values = column.to_pylist()
        else:
            try:
                values = pc.cast(column, pa.string()).to_pylist()
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                values = [None if v is None else str(v) for v in column.to_pylist()]
        columns[name] = values
    frame = pd.DataFrame(columns, dtype=object)
    return frame.astype("str") if len(frame.columns) else frame


def _read_csv_as_text(path: Path) -> pd.DataFrame:
    # Only an empty field is null (the contract), not pandas' default "NA"/"null"/"None" list.
    return pd.read_csv(
        path,
        dtype=str,
        keep_default_na=False,
        na_values=[""],
        encoding="utf-8",
    )


def load_raw(raw_dir: str | Path) -> dict[str, pd.DataFrame]:
    """Read the seven raw files of ``raw_dir`` as text (``<name>.parquet`` wins over ``.csv``).

    Every column is text; an empty CSV field is NaN. Raises :class:`RawDataError` naming the
    file when one is missing.
    """
    raw_dir = Path(raw_dir)
    raw: dict[str, pd.DataFrame] = {}
    for name in RAW_NAMES:
        parquet = raw_dir / f"{name}.parquet"
        csv = raw_dir / f"{name}.csv"
        if parquet.exists():
            raw[name] = _parquet_as_text(parquet)
        elif csv.exists():
            raw[name] = _read_csv_as_text(csv)
        else:
            raise RawDataError(f"missing raw file: {name} (looked for {parquet.name}, {csv.name})")
    return raw


# ---------------------------------------------------------------------------------------------
# Value parsing
# ---------------------------------------------------------------------------------------------

_TS_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?)?$"
)
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_NUMBER_RE = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


def _is_null(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def _is_blank(value: object) -> bool:
    return _is_null(value) or str(value).strip() == ""


def parse_timestamp(text: object) -> dt.datetime | None:
    """ISO-8601 text -> naive UTC datetime (microseconds), or None when not ISO-8601.

    Accepted: ``YYYY-MM-DD`` (midnight), ``YYYY-MM-DD[T| ]HH:MM[:SS[.f{1,9}]]`` optionally
    followed by ``Z`` or an offset ``+HH``, ``+HHMM``, ``+HH:MM``. Digits past the microsecond
    are truncated. Without an offset the value is UTC.
    """
    if _is_null(text):
        return None
    match = _TS_RE.match(str(text).strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "").ljust(6, "0")[:6] or 0)
    try:
        value = dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            micro,
        )
    except ValueError:
        return None
    if offset and offset not in ("Z", "z"):
        sign = 1 if offset[0] == "+" else -1
        digits = offset[1:].replace(":", "")
        hours = int(digits[:2])
        minutes = int(digits[2:4] or 0)
        if hours > 23 or minutes > 59:
            return None
        value = value - sign * dt.timedelta(hours=hours, minutes=minutes)
    return value


def parse_date(text: object) -> dt.date | None:
    """``YYYY-MM-DD`` -> date, or None."""
    if _is_null(text):
        return None
    match = _DATE_RE.match(str(text).strip())
    if not match:
        return None
    try:
        return dt.date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


def parse_number(text: object) -> Decimal | None:
    """Plain decimal text (``.`` decimal point, no thousands separator) -> Decimal, or None."""
    if _is_null(text):
        return None
    stripped = str(text).strip()
    if not _NUMBER_RE.match(stripped):
        return None
    try:
        value = Decimal(stripped)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def parse_boolean(text: object) -> bool | None:
    """true/false, 1/0, t/f, yes/no in any case -> bool; anything else -> None."""
    if _is_null(text):
        return None
    word = str(text).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def _is_integral(value: Decimal) -> bool:
    return value == value.to_integral_value()


def _json_or_none(text: object) -> tuple[object, object]:
    """(properties, properties_is_valid_json)."""
    if _is_null(text):
        return None, pd.NA

    def _reject_constant(_: str) -> float:
        raise ValueError("not JSON")

    try:
        json.loads(str(text), parse_constant=_reject_constant)
    except ValueError:
        return None, False
    return str(text), True


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


def _check_columns(raw: dict[str, pd.DataFrame]) -> None:
    for name in RAW_NAMES:
        if name not in raw:
            raise RawDataError(f"missing raw file: {name}")
        missing = [c for c in COLUMNS[name] if c not in raw[name].columns]
        if missing:
            raise RawDataError(f"raw file {name} is missing column(s): {', '.join(missing)}")


def _key_text(value: object) -> str:
    return "" if _is_null(value) else str(value)


def _row_reason(
    name: str,
    row: dict[str, object],
    seen: set[tuple[str, ...]],
    now_plus_day: dt.datetime,
    staged_users: set[str],
    staged_orders: set[str],
) -> str | None:
    """First failing rule for one row (None when the row is valid). Updates ``seen``."""
    columns = COLUMNS[name]
    keys = KEYS[name]
    nullable_keys = NULLABLE_KEYS.get(name, frozenset())
    required = REQUIRED[name]

    # null key
    if any(_is_blank(row[k]) for k in keys if k not in nullable_keys):
        return "null key"
    # duplicate key (first occurrence by file order is kept, whatever happens to it later)
    key = tuple(_key_text(row[k]) for k in keys)
    if key in seen:
        return "duplicate key"
    seen.add(key)
    # unparseable timestamp (also dates; a required timestamp that is null)
    parsed_ts: list[dt.datetime] = []
    for col, kind in columns.items():
        if kind not in ("timestamp", "date"):
            continue
        value = row[col]
        if _is_null(value):
            if col in required or col in keys:
                return "unparseable timestamp"
            continue
        if kind == "timestamp":
            ts = parse_timestamp(value)
            if ts is None:
                return "unparseable timestamp"
            parsed_ts.append(ts)
        elif parse_date(value) is None:
            return "unparseable timestamp"
    # future timestamp (timestamp columns only; dates are not timestamps)
    if any(ts > now_plus_day for ts in parsed_ts):
        return "future timestamp"
    # unparseable number (or a required number is null)
    numbers: dict[str, Decimal] = {}
    for col, kind in columns.items():
        if kind not in ("decimal", "integer"):
            continue
        value = row[col]
        if _is_null(value):
            if col in required or col in keys:
                return "unparseable number"
            continue
        number = parse_number(value)
        if number is None:
            return "unparseable number"
        is_score = name == "nps_responses" and col == "score"
        in_range = _is_integral(number) and _INT64_MIN <= int(number) <= _INT64_MAX
        if kind == "integer" and not is_score and not in_range:
            return "unparseable number"
        numbers[col] = number
    # negative amount
    if any(col in NON_NEGATIVE and value < 0 for col, value in numbers.items()):
        return "negative amount"
    # unknown status (a null status is a missing value, checked below)
    status = row.get("status")
    known = _is_null(status) or str(status).strip().lower() in ORDER_STATUSES
    if name == "orders" and not known:
        return "unknown status"
    # score out of range
    if name == "nps_responses":
        score = numbers["score"]
        if not _is_integral(score) or not 0 <= score <= 10:
            return "score out of range"
    # invalid boolean
    for col, kind in columns.items():
        if kind == "boolean" and not _is_null(row[col]) and parse_boolean(row[col]) is None:
            return "invalid boolean"
    # missing value
    if any(_is_null(row[col]) for col in required):
        return "missing value"
    # unknown user
    if name in USER_FK and str(row["user_id"]) not in staged_users:
        return "unknown user"
    # unknown order
    if name == "order_items" and str(row["order_id"]) not in staged_orders:
        return "unknown order"
    # no identity
    if name == "touchpoints" and _is_null(row["user_id"]) and _is_null(row["anonymous_id"]):
        return "no identity"
    return None


def _typed(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Cast the (valid, text) rows of one file to their types. Extra columns are dropped."""
    out = pd.DataFrame(index=range(len(frame)))
    for col, kind in COLUMNS[name].items():
        values = list(frame[col])
        if kind == "timestamp":
            out[col] = pd.Series(
                [pd.NaT if _is_null(v) else parse_timestamp(v) for v in values],
                dtype="datetime64[us]",
            )
        elif kind == "date":
            out[col] = pd.Series(
                [None if _is_null(v) else parse_date(v) for v in values], dtype=object
            )
        elif kind == "decimal":
            out[col] = pd.Series(
                [np.nan if _is_null(v) else float(parse_number(v)) for v in values],
                dtype="float64",
            )
        elif kind == "integer":
            out[col] = pd.Series(
                [pd.NA if _is_null(v) else int(parse_number(v)) for v in values], dtype="Int64"
            )
        elif kind == "boolean":
            out[col] = pd.Series(
                [pd.NA if _is_null(v) else parse_boolean(v) for v in values], dtype="boolean"
            )
        elif kind == "json":
            pairs = [_json_or_none(v) for v in values]
            out[col] = pd.Series([p[0] for p in pairs], dtype=object)
            out[f"{col}_is_valid_json"] = pd.Series([p[1] for p in pairs], dtype="boolean")
        else:
            out[col] = pd.Series([None if _is_null(v) else str(v) for v in values], dtype=object)
    return out


def validate(
    raw: dict[str, pd.DataFrame], now: dt.datetime | None = None
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Split every raw row into its staged (typed) file or the rejected rows.

    ``now`` is the start of the run (naive UTC or aware; default: the current time).
    Returns ``(staged, rejected)``; ``rejected`` has text columns source, record_key, reason
    in file order (files in :data:`VALIDATION_ORDER`).
    """
    _check_columns(raw)
    if now is None:
        now = dt.datetime.now(dt.UTC)
    if now.tzinfo is not None:
        now = now.astimezone(dt.UTC).replace(tzinfo=None)
    now_plus_day = now + dt.timedelta(days=1)

    staged: dict[str, pd.DataFrame] = {}
    rejected: list[dict[str, str]] = []
    staged_users: set[str] = set()
    staged_orders: set[str] = set()
    for name in VALIDATION_ORDER:
        frame = raw[name]
        text = frame[list(COLUMNS[name])].astype(object)
        seen: set[tuple[str, ...]] = set()
        keep: list[int] = []
        for position, row in enumerate(text.to_dict("records")):
            reason = _row_reason(name, row, seen, now_plus_day, staged_users, staged_orders)
            if reason is None:
                keep.append(position)
            else:
                record_key = "|".join(_key_text(row[k]) for k in KEYS[name])
                rejected.append({"source": name, "record_key": record_key, "reason": reason})
        valid = text.iloc[keep].reset_index(drop=True)
        staged[name] = _typed(name, valid)
        if name == "users":
            staged_users = set(staged[name]["user_id"])
        elif name == "orders":
            staged_orders = set(staged[name]["order_id"])
    rejected_frame = pd.DataFrame(rejected, columns=["source", "record_key", "reason"])
    return {name: staged[name] for name in RAW_NAMES}, rejected_frame.astype(object)


def load_staged(
    raw_dir: str | Path, now: dt.datetime | None = None
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """``validate(load_raw(raw_dir))``."""
    return validate(load_raw(raw_dir), now=now)


# ---------------------------------------------------------------------------------------------
# Foundations: consent, purchases, cutoff
# ---------------------------------------------------------------------------------------------


def consenting_users(staged: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Staged users whose consent_analytics is true (null = no consent)."""
    users = staged["users"]
    return users[users["consent_analytics"].fillna(False).astype(bool)].reset_index(drop=True)


def identity_map(staged: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every anonymous_id seen together with a user_id -> the user it was seen with last
    (latest occurred_at, then the larger touchpoint_id). Columns: anonymous_id, user_id."""
    tps = staged["touchpoints"]
    links = tps[tps["user_id"].notna() & tps["anonymous_id"].notna()]
    links = links.sort_values(["anonymous_id", "occurred_at", "touchpoint_id"])
    last = links.groupby("anonymous_id", sort=True).tail(1)
    return last[["anonymous_id", "user_id"]].reset_index(drop=True)


def actor_touchpoints(staged: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Touchpoints by stitched actor.

    The actor is the touchpoint's user_id; else the user its anonymous_id was last seen with;
    else ``anon:<anonymous_id>`` when the anonymous_id was never seen with any user. A resolved
    user must be a consenting staged user, or the touchpoint is dropped (this drops the anonymous
    touchpoints of a device whose last user does not consent, too).

    Columns: touchpoint_id, actor_id, user_id (resolved, None for anonymous actors), occurred_at,
    touchpoint, channel, campaign, page, dwell_ms.
    """
    tps = staged["touchpoints"]
    last_user = dict(zip(*identity_map(staged).T.values, strict=True))
    allowed = set(consenting_users(staged)["user_id"])

    def text(column: str) -> pd.Series:
        values = tps[column].astype(object)
        return values.where(values.map(lambda value: isinstance(value, str)).astype(bool), None)

    user, anon = text("user_id"), text("anonymous_id")
    # the touchpoint's user, else the user its device was last seen with
    user = user.where(user.notna(), anon.map(lambda device: last_user.get(device)))
    # a resolved user must consent; an unresolved touchpoint needs its device
    kept = user.isin(allowed) | (user.isna() & anon.notna())
    actor = user.where(user.notna(), "anon:" + anon.fillna(""))
    actors = pd.DataFrame(
        {
            "touchpoint_id": tps["touchpoint_id"][kept].to_numpy(),
            "actor_id": actor[kept].to_numpy(),
            "resolved_user_id": user[kept].to_numpy(),
        }
    )
    cols = ["touchpoint_id", "occurred_at", "touchpoint", "channel", "campaign", "page", "dwell_ms"]
    out = actors.merge(tps[cols], on="touchpoint_id", how="left")
    out = out.rename(columns={"resolved_user_id": "user_id"})
    return out[["touchpoint_id", "actor_id", "user_id", *cols[1:]]].reset_index(drop=True)


def consented_touchpoints(staged: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Funnel input: touchpoints by stitched actor, the actor in column ``user_id``.

    Columns: touchpoint_id, user_id (= actor_id), occurred_at, touchpoint.
    """
    actors = actor_touchpoints(staged)
    out = actors[["touchpoint_id", "actor_id", "occurred_at", "touchpoint"]]
    return out.rename(columns={"actor_id": "user_id"}).reset_index(drop=True)


def sessionize(
    actors: pd.DataFrame, timeout_minutes: float = 30, max_hours: float = 24
) -> pd.DataFrame:
    """Assign sessions by walking each actor's touchpoints in time order.

    A new session starts after a gap of more than ``timeout_minutes``. Within a run of
    continuous activity that started at r, a touchpoint at t belongs to chunk
    ceil((t - r) / max) - 1 (0 at t = r): no session is longer than ``max_hours``.
    Returns ``actors`` with session_number (1-based per actor) and session_id
    ('<actor_id>#<n>').
    """
    timeout = pd.Timedelta(minutes=timeout_minutes)
    max_us = int(max_hours * 3600 * _US_PER_SECOND)
    frame = actors.sort_values(["actor_id", "occurred_at", "touchpoint_id"]).copy()
    numbers = []
    for _, events in frame.groupby("actor_id", sort=False):
        session = 0
        run_start = previous = None
        current_key = None
        for t in events["occurred_at"]:
            if previous is None or t - previous > timeout:
                run_start = t
            offset_us = (t - run_start) // pd.Timedelta(microseconds=1)
            chunk = 0 if offset_us == 0 else -(-offset_us // max_us) - 1
            key = (run_start, chunk)
            if key != current_key:
                session += 1
                current_key = key
            numbers.append(session)
            previous = t
    frame["session_number"] = numbers
    frame["session_id"] = frame["actor_id"] + "#" + frame["session_number"].astype(str)
    return frame.reset_index(drop=True)


def _to_decimal(value: float) -> Decimal:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Decimal(0)
    return Decimal(repr(float(value)))


def all_purchases(staged: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Purchases of all users (consenting or not), no cutoff.

    A purchase is a staged order with paid_at set and lower(status) not cancelled/refunded.
    Columns: order_id, user_id, created_at, revenue (float64), revenue_decimal (Decimal).
    """
    orders = staged["orders"]
    status = orders["status"].astype(str).str.strip().str.lower()
    mask = orders["paid_at"].notna() & ~status.isin(NOT_PURCHASE_STATUSES)
    out = orders.loc[mask, ["order_id", "user_id", "created_at", "amount", "discount"]].copy()
    out["revenue_decimal"] = [
        _to_decimal(a) - _to_decimal(d) for a, d in zip(out["amount"], out["discount"], strict=True)
    ]
    out["revenue"] = out["revenue_decimal"].map(float).astype("float64")
    out = out.drop(columns=["amount", "discount"])
    return out.sort_values(["created_at", "order_id"]).reset_index(drop=True)


def resolve_cutoff(staged: dict[str, pd.DataFrame], cutoff: object = None) -> pd.Timestamp | None:
    """The inclusive cutoff instant (naive UTC).

    Default: created_at of the latest purchase in the staged orders (all users). A date (a
    ``datetime.date`` or ``YYYY-MM-DD`` text) means the end of that day, inclusive; a
    datetime / timestamp text is used as is. None when there is no purchase and no cutoff.
    """
    if cutoff is None:
        purchases = all_purchases(staged)
        if purchases.empty:
            return None
        return pd.Timestamp(purchases["created_at"].max())
    if isinstance(cutoff, str):
        if _DATE_RE.match(cutoff.strip()):
            cutoff = parse_date(cutoff)
        else:
            parsed = parse_timestamp(cutoff)
            if parsed is None:
                raise ValueError(f"unparseable cutoff: {cutoff!r}")
            cutoff = parsed
    if isinstance(cutoff, pd.Timestamp):
        cutoff = cutoff.to_pydatetime()
    if isinstance(cutoff, dt.datetime):
        if cutoff.tzinfo is not None:
            cutoff = cutoff.astimezone(dt.UTC).replace(tzinfo=None)
        return pd.Timestamp(cutoff)
    if isinstance(cutoff, dt.date):
        end = dt.datetime.combine(cutoff, dt.time()) + dt.timedelta(days=1)
        return pd.Timestamp(end - dt.timedelta(microseconds=1))
    raise TypeError(f"unsupported cutoff: {cutoff!r}")


def purchases(staged: dict[str, pd.DataFrame], cutoff: object = None) -> pd.DataFrame:
    """Purchases of consenting users with created_at <= the (resolved) cutoff."""
    limit = resolve_cutoff(staged, cutoff)
    out = all_purchases(staged)
    out = out[out["user_id"].isin(set(consenting_users(staged)["user_id"]))]
    if limit is not None:
        out = out[out["created_at"] <= limit]
    return out.reset_index(drop=True)


def _month_index(ts: pd.Timestamp | dt.date) -> int:
    return ts.year * 12 + ts.month - 1


def _month_start(index: int) -> dt.date:
    return dt.date(index // 12, index % 12 + 1, 1)


def _decimal_sum(values: object) -> Decimal:
    return sum(values, Decimal(0))


# ---------------------------------------------------------------------------------------------
# Cohorts
# ---------------------------------------------------------------------------------------------


def _cohort_grid(staged: dict[str, pd.DataFrame], cutoff: object) -> pd.DataFrame:
    """One row per (cohort_month, k) with cohort_size, active_customers, revenue (Decimal)."""
    columns = [
        "cohort_month",
        "months_since_first_order",
        "cohort_size",
        "active_customers",
        "revenue_decimal",
    ]
    limit = resolve_cutoff(staged, cutoff)
    buys = purchases(staged, cutoff)
    if limit is None or buys.empty:
        return pd.DataFrame(columns=columns)
    buys = buys.assign(month=[_month_index(t) for t in buys["created_at"]])
    first = buys.groupby("user_id")["month"].min().rename("cohort")
    buys = buys.join(first, on="user_id")
    buys["k"] = buys["month"] - buys["cohort"]
    sizes = first.value_counts()
    cutoff_month = _month_index(limit)
    rows = []
    for cohort in sorted(sizes.index):
        in_cohort = buys[buys["cohort"] == cohort]
        for k in range(0, cutoff_month - cohort + 1):
            month = in_cohort[in_cohort["k"] == k]
            rows.append(
                {
                    "cohort_month": _month_start(cohort),
                    "months_since_first_order": k,
                    "cohort_size": int(sizes[cohort]),
                    "active_customers": int(month["user_id"].nunique()),
                    "revenue_decimal": _decimal_sum(month["revenue_decimal"]),
                }
            )
    return pd.DataFrame(rows, columns=columns)


def cohort_retention(staged: dict[str, pd.DataFrame], cutoff: object = None) -> pd.DataFrame:
    """Monthly cohort retention.

    Columns: cohort_month (date), months_since_first_order (int64), cohort_size (int64),
    active_customers (int64), retention_rate (float64). Sorted by cohort_month, k.
    """
    grid = _cohort_grid(staged, cutoff)
    out = grid[["cohort_month", "months_since_first_order", "cohort_size", "active_customers"]]
    out = out.astype(
        {"months_since_first_order": "int64", "cohort_size": "int64", "active_customers": "int64"}
    )
    out = out.assign(
        retention_rate=(out["active_customers"] / out["cohort_size"]).astype("float64")
    )
    out["cohort_month"] = out["cohort_month"].astype(object)
    return out.reset_index(drop=True)


def cohort_ltv(staged: dict[str, pd.DataFrame], cutoff: object = None) -> pd.DataFrame:
    """Monthly cohort LTV.

    Columns: cohort_month (date), months_since_first_order (int64), cohort_size (int64),
    revenue, cumulative_revenue, ltv_per_customer (float64). Sorted by cohort_month, k.
    """
    grid = _cohort_grid(staged, cutoff)
    rows = []
    running: dict[dt.date, Decimal] = {}
    for rec in grid.to_dict("records"):
        cum = running.get(rec["cohort_month"], Decimal(0)) + rec["revenue_decimal"]
        running[rec["cohort_month"]] = cum
        rows.append(
            {
                "cohort_month": rec["cohort_month"],
                "months_since_first_order": rec["months_since_first_order"],
                "cohort_size": rec["cohort_size"],
                "revenue": float(rec["revenue_decimal"]),
                "cumulative_revenue": float(cum),
                "ltv_per_customer": float(cum / rec["cohort_size"]),
            }
        )
    columns = [
        "cohort_month",
        "months_since_first_order",
        "cohort_size",
        "revenue",
        "cumulative_revenue",
        "ltv_per_customer",
    ]
    out = pd.DataFrame(rows, columns=columns)
    return out.astype(
        {
            "cohort_month": object,
            "months_since_first_order": "int64",
            "cohort_size": "int64",
            "revenue": "float64",
            "cumulative_revenue": "float64",
            "ltv_per_customer": "float64",
        }
    )


# ---------------------------------------------------------------------------------------------
# Funnel
# ---------------------------------------------------------------------------------------------


def _to_micros(values: pd.Series) -> np.ndarray:
    return values.astype("datetime64[us]").to_numpy().astype("int64")


def _longest_chain(
    times: np.ndarray,
    roles: list[frozenset[int]],
    start: int,
    n_steps: int,
    window_us: int,
) -> list[int]:
    """Longest strictly-increasing chain of steps 1..n starting at event ``start`` (step 1).

    ``times`` are sorted microseconds; ``roles[j]`` are the 0-based steps event j can play.
    Exhaustive dynamic programme over all events in (t1, t1 + window]: best[(j, s)] is the
    length of the longest chain s, s+1, ... starting with event j in role s. Returns the
    lexicographically earliest chain (event positions) of the maximal length.
    """
    t1 = int(times[start])
    deadline = t1 + window_us
    candidates = [j for j in range(len(times)) if t1 < times[j] <= deadline]
    best: dict[tuple[int, int], int] = {}
    # Backward over distinct timestamps so that equal timestamps never chain.
    by_time: dict[int, list[int]] = {}
    for j in candidates:
        by_time.setdefault(int(times[j]), []).append(j)
    longest_from: dict[int, int] = {}  # step -> longest chain starting at a later event
    for t in sorted(by_time, reverse=True):
        group: dict[tuple[int, int], int] = {}
        for j in by_time[t]:
            for s in roles[j]:
                if s == 0:
                    continue
                tail = longest_from.get(s + 1, 0) if s + 1 < n_steps else 0
                group[(j, s)] = 1 + tail
        for (j, s), length in group.items():
            best[(j, s)] = length
            longest_from[s] = max(longest_from.get(s, 0), length)
    level = 1 + (longest_from.get(1, 0) if n_steps > 1 else 0)
    chain = [start]
    previous = t1
    for s in range(1, level):
        need = level - s
        pick = next(j for j in candidates if times[j] > previous and best.get((j, s), 0) >= need)
        chain.append(pick)
        previous = int(times[pick])
    return chain


def funnel_levels(
    touchpoints: pd.DataFrame,
    steps: Sequence[str] = DEFAULT_FUNNEL_STEPS,
    window_seconds: float = DEFAULT_FUNNEL_WINDOW_SECONDS,
) -> pd.DataFrame:
    """Funnel level per (user, UTC entry day).

    ``touchpoints`` has user_id, occurred_at (naive UTC), touchpoint, and should hold only
    consenting users (see :func:`consented_touchpoints`); null user_ids are dropped.
    Columns: user_id (str), entry_date (date), level (int64), seconds_to_step_1..N (float64).
    Sorted by user_id, entry_date.
    """
    steps = list(steps)
    n_steps = len(steps)
    window_us = int(round(float(window_seconds) * _US_PER_SECOND))
    step_roles = {name: frozenset(i for i, s in enumerate(steps) if s == name) for name in steps}
    seconds_cols = [f"seconds_to_step_{i + 1}" for i in range(n_steps)]

    tps = touchpoints[touchpoints["user_id"].notna()]
    tps = tps[tps["touchpoint"].isin(list(step_roles))].copy()
    occurred = pd.to_datetime(tps["occurred_at"])
    if occurred.dt.tz is not None:
        occurred = occurred.dt.tz_convert("UTC").dt.tz_localize(None)
    tps["occurred_at"] = occurred.astype("datetime64[us]")
    rows = []
    for user_id, events in tps.groupby("user_id", sort=True):
        events = events.sort_values("occurred_at", kind="stable")
        times = _to_micros(events["occurred_at"])
        roles = [step_roles[name] for name in events["touchpoint"]]
        days = events["occurred_at"].dt.date.to_numpy()
        starts_by_day: dict[dt.date, list[int]] = {}
        for j, role in enumerate(roles):
            if 0 in role:
                starts_by_day.setdefault(days[j], []).append(j)
        for day in sorted(starts_by_day):
            best_chain: list[int] | None = None
            for start in starts_by_day[day]:  # ascending time: strict '>' keeps the earliest
                chain = _longest_chain(times, roles, start, n_steps, window_us)
                if best_chain is None or len(chain) > len(best_chain):
                    best_chain = chain
            assert best_chain is not None
            t1 = int(times[best_chain[0]])
            seconds = [np.nan] * n_steps
            for i, j in enumerate(best_chain):
                seconds[i] = (int(times[j]) - t1) / _US_PER_SECOND
            rows.append(
                {"user_id": str(user_id), "entry_date": day, "level": len(best_chain)}
                | dict(zip(seconds_cols, seconds, strict=True))
            )
    out = pd.DataFrame(rows, columns=["user_id", "entry_date", "level", *seconds_cols])
    return out.astype(
        {"user_id": object, "entry_date": object, "level": "int64"}
        | dict.fromkeys(seconds_cols, "float64")
    ).reset_index(drop=True)


def funnel_conversion(
    staged: dict[str, pd.DataFrame],
    funnel_name: str = DEFAULT_FUNNEL_NAME,
    steps: Sequence[str] = DEFAULT_FUNNEL_STEPS,
    window_seconds: float = DEFAULT_FUNNEL_WINDOW_SECONDS,
) -> pd.DataFrame:
    """Funnel conversion per funnel_name x entry_date x channel x device x step.

    Columns: funnel_name, entry_date (date), acquisition_channel, device_type (text, null ->
    '(unknown)'), step_number (int64), step_name, users (int64), conversion_from_previous,
    conversion_from_start, median_seconds_from_entry (float64).
    """
    steps = list(steps)
    levels = funnel_levels(consented_touchpoints(staged), steps, window_seconds)
    users = consenting_users(staged)[["user_id", "acquisition_channel", "device_type"]]
    anonymous = levels["user_id"].str.startswith("anon:")
    levels = levels.merge(users, on="user_id", how="left")
    for col in ("acquisition_channel", "device_type"):
        levels[col] = levels[col].astype(object).where(levels[col].notna(), UNKNOWN)
        levels.loc[anonymous.to_numpy(), col] = ANONYMOUS
    group_cols = ["entry_date", "acquisition_channel", "device_type"]
    groups = levels.groupby(group_cols, sort=True).size().index  # every (day, channel, device)
    frames = []
    start = previous = None
    for i, name in enumerate(steps, start=1):
        # per group: the pairs that reached step i, and the median time they took to reach it
        reached = levels[levels["level"] >= i].groupby(group_cols, sort=True)
        count = reached.size().reindex(groups, fill_value=0)
        if i == 1:
            start = count
            from_previous = pd.Series(1.0, index=groups)
            median = pd.Series(0.0, index=groups)
        else:
            from_previous = (count / previous.where(previous > 0)).astype("float64")
            median = reached[f"seconds_to_step_{i}"].median().reindex(groups)
        frame = groups.to_frame(index=False)
        frame.insert(0, "funnel_name", funnel_name)
        frame["step_number"] = i
        frame["step_name"] = name
        frame["users"] = count.to_numpy()
        frame["conversion_from_previous"] = from_previous.to_numpy()
        frame["conversion_from_start"] = (count / start.where(start > 0)).to_numpy()
        frame["median_seconds_from_entry"] = median.to_numpy()
        frame["group"] = range(len(groups))
        frames.append(frame)
        previous = count
    # each group's steps in order, the groups sorted
    rows = pd.concat(frames, ignore_index=True).sort_values(["group", "step_number"], kind="stable")
    columns = [
        "funnel_name",
        "entry_date",
        "acquisition_channel",
        "device_type",
        "step_number",
        "step_name",
        "users",
        "conversion_from_previous",
        "conversion_from_start",
        "median_seconds_from_entry",
    ]
    out = rows[columns].reset_index(drop=True)
    return out.astype(
        {
            "funnel_name": object,
            "entry_date": object,
            "acquisition_channel": object,
            "device_type": object,
            "step_number": "int64",
            "step_name": object,
            "users": "int64",
            "conversion_from_previous": "float64",
            "conversion_from_start": "float64",
            "median_seconds_from_entry": "float64",
        }
    )


# ---------------------------------------------------------------------------------------------
# Customers and RFM
# ---------------------------------------------------------------------------------------------

_SEGMENTS: dict[int, dict[int, str]] = {
    5: {1: "New", 2: "Potential loyalist", 3: "Potential loyalist", 4: "Champions", 5: "Champions"},
    4: {
        1: "Promising",
        2: "Potential loyalist",
        3: "Potential loyalist",
        4: "Loyal",
        5: "Champions",
    },
    3: {1: "Hibernating", 2: "Need attention", 3: "Need attention", 4: "Loyal", 5: "Loyal"},
    2: {1: "Hibernating", 2: "Hibernating", 3: "At risk", 4: "At risk", 5: "Can't lose"},
    1: {1: "Lost", 2: "Lost", 3: "At risk", 4: "At risk", 5: "Can't lose"},
}


def quintile_scores(metric: pd.Series, user_id: pd.Series) -> pd.Series:
    """Score 1..5 per row: sort ascending by (metric, user_id), rank r = 1..n,
    score = floor((r - 1) * 5 / n) + 1. Returned aligned with the input index (int64)."""
    frame = pd.DataFrame({"metric": metric, "user_id": user_id.astype(str)})
    order = frame.sort_values(["metric", "user_id"], kind="stable").index
    n = len(frame)
    ranks = pd.Series(np.arange(1, n + 1), index=order)
    return ((ranks - 1) * 5 // n + 1).reindex(frame.index).astype("int64")


def fm_score(frequency_score: int, monetary_score: int) -> int:
    """ceil((F + M) / 2)."""
    return -(-(int(frequency_score) + int(monetary_score)) // 2)


def rfm_segment(recency_score: int, frequency_score: int, monetary_score: int) -> str:
    """Segment name from R and FM = ceil((F + M) / 2)."""
    return segment_for(int(recency_score), fm_score(frequency_score, monetary_score))


def segment_for(recency_score: int, fm: int) -> str:
    """Segment name of one cell of the R x FM map."""
    return _SEGMENTS[int(recency_score)][int(fm)]


def customers(staged: dict[str, pd.DataFrame], cutoff: object = None) -> pd.DataFrame:
    """One row per customer (consenting user with >= 1 purchase up to the cutoff).

    Columns: user_id, acquisition_channel, device_type (object, may be null), cohort_month
    (date), first_order_at, last_order_at (datetime64[us]), orders (int64), net_revenue,
    avg_order_value (float64), recency_score, frequency_score, monetary_score (int64),
    rfm_segment (object). Sorted by user_id.
    """
    columns = [
        "user_id",
        "acquisition_channel",
        "device_type",
        "cohort_month",
        "first_order_at",
        "last_order_at",
        "orders",
        "net_revenue",
        "avg_order_value",
        "recency_score",
        "frequency_score",
        "monetary_score",
        "rfm_segment",
    ]
    buys = purchases(staged, cutoff)
    if buys.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for user_id, own in buys.groupby("user_id", sort=True):
        total = _decimal_sum(own["revenue_decimal"])
        first = own["created_at"].min()
        rows.append(
            {
                "user_id": str(user_id),
                "cohort_month": _month_start(_month_index(first)),
                "first_order_at": first,
                "last_order_at": own["created_at"].max(),
                "orders": len(own),
                "net_revenue": float(total),
                "avg_order_value": float(total / len(own)),
            }
        )
    out = pd.DataFrame(rows)
    users = staged["users"][["user_id", "acquisition_channel", "device_type"]]
    out = out.merge(users, on="user_id", how="left")
    out["recency_score"] = quintile_scores(out["last_order_at"], out["user_id"])
    out["frequency_score"] = quintile_scores(out["orders"], out["user_id"])
    out["monetary_score"] = quintile_scores(out["net_revenue"], out["user_id"])
    out["rfm_segment"] = [
        rfm_segment(r, f, m)
        for r, f, m in zip(
            out["recency_score"], out["frequency_score"], out["monetary_score"], strict=True
        )
    ]
    out = out[columns].astype(
        {
            "user_id": object,
            "acquisition_channel": object,
            "device_type": object,
            "cohort_month": object,
            "first_order_at": "datetime64[us]",
            "last_order_at": "datetime64[us]",
            "orders": "int64",
            "net_revenue": "float64",
            "avg_order_value": "float64",
            "recency_score": "int64",
            "frequency_score": "int64",
            "monetary_score": "int64",
            "rfm_segment": object,
        }
    )
    return out.sort_values("user_id").reset_index(drop=True)


def ranked_lists(
    bought: dict[str, set[str]], users: list[str], count: int, decimals: int
) -> dict[str, list[tuple[str, float, str | None]]]:
    """user -> [(product, score, because_of)] of item-to-item recommendations, from the
    purchases ``bought`` (user -> products), in plain Python from the written definition
    (docs/scoring.md): cosine similarity of two products' customer sets; a user's score of an
    unbought product, the sum of its similarities to the products they bought (because_of: the
    largest one, ties by product_id); positive scores first (ties by product_id), then the
    others by distinct customers (ties by product_id), scored by the share of customers. Scores
    and similarities equal to ``decimals`` places are ties."""
    buyers: dict[str, set[str]] = {}
    for user, products in bought.items():
        for product in products:
            buyers.setdefault(product, set()).add(user)
    catalog = sorted(buyers)
    customers = len(bought)
    popular = sorted(catalog, key=lambda p: (-len(buyers[p]), p))

    def sim(i: str, j: str) -> float:
        if i == j:
            return 0.0
        return len(buyers[i] & buyers[j]) / math.sqrt(len(buyers[i]) * len(buyers[j]))

    out = {}
    for user in users:
        mine = bought.get(user, set())
        scored = []
        for j in catalog:
            if j in mine:
                continue
            contributions = sorted(
                ((sim(i, j), i) for i in mine), key=lambda c: (-round(c[0], decimals), c[1])
            )
            score = sum(c[0] for c in contributions)
            if round(score, decimals) > 0:
                scored.append((j, score, contributions[0][1]))
        scored.sort(key=lambda r: (-round(r[1], decimals), r[0]))
        chosen = {r[0] for r in scored}
        fill = [(p, len(buyers[p]) / customers, None) for p in popular if p not in mine | chosen]
        out[user] = (scored + fill)[:count]
    return out
