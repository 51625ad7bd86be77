"""Vectorised helpers: group expansion, id and string building, calendar and timestamp text.

All timestamps inside the generator are int64 microseconds since the Unix epoch (UTC). They are
turned into text only when a table is assembled, by :func:`format_ts`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

US_PER_S = 1_000_000
US_PER_DAY = 86_400 * US_PER_S

#: timestamp text styles (see :func:`format_ts`)
STYLE_Z = 0  # 2025-03-01T09:30:00.123456Z
STYLE_CN = 1  # 2025-03-01T17:30:00.123456+08:00 (same instant)
STYLE_NAIVE = 2  # 2025-03-01 09:30:00 (no offset, meaning UTC)


def expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ``counts[i]`` children of parent ``i`` return (parent index, rank within parent)."""
    counts = np.asarray(counts, dtype=np.int64)
    parent = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    rank = np.arange(parent.size, dtype=np.int64) - np.repeat(starts, counts)
    return parent, rank


def weighted_choice(
    rng: np.random.Generator, weights: np.ndarray | tuple[float, ...], size: int
) -> np.ndarray:
    """Indices drawn with the given (unnormalised) weights."""
    w = np.asarray(weights, dtype=np.float64)
    cdf = np.cumsum(w / w.sum())
    cdf[-1] = 1.0
    return np.searchsorted(cdf, rng.random(size), side="right").astype(np.int64)


def prefixed_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded number, e.g. ``u_000042``."""
    digits = pc.utf8_lpad(
        pc.cast(pa.array(numbers, pa.int64()), pa.string()), width=width, padding="0"
    )
    return pc.binary_join_element_wise(prefix, digits, "")


def concat(*parts: pa.Array | str) -> pa.Array:
    """Element-wise string concatenation of arrays and scalar strings (null if any is null)."""
    return pc.binary_join_element_wise(*parts, "")


def num_text(values: np.ndarray) -> pa.Array:
    """Numbers as their shortest text (``19.9``, ``3``)."""
    return pc.cast(pa.array(values), pa.string())


def take_text(vocab: tuple[str, ...] | list[str], idx: np.ndarray) -> pa.Array:
    """``vocab[idx]`` as an Arrow string array; negative indices become null."""
    idx = np.asarray(idx, dtype=np.int64)
    indices = pa.array(np.where(idx < 0, 0, idx), mask=idx < 0)
    return pa.array(list(vocab), pa.string()).take(indices)


def scatter_text(size: int, parts: list[tuple[np.ndarray, pa.Array]]) -> pa.Array:
    """Build a string column of ``size`` rows from (row positions, values) parts; rest null."""
    out = np.full(size, None, dtype=object)
    for rows, values in parts:
        if len(rows):
            out[rows] = values.to_numpy(zero_copy_only=False)
    return pa.array(out, pa.string())


def format_ts(us: np.ndarray, style: np.ndarray) -> pa.Array:
    """Render UTC microsecond instants as ISO-8601 text in one of the three styles.

    ``STYLE_Z`` keeps microseconds and appends ``Z``; ``STYLE_CN`` shows the same instant in
    UTC+08:00 with that offset; ``STYLE_NAIVE`` drops the offset and the fraction of a second.
    """
    us = np.asarray(us, dtype=np.int64)
    style = np.asarray(style, dtype=np.int8)
    shifted = us + np.where(style == STYLE_CN, 8 * 3600 * US_PER_S, 0)
    base = pa.array(np.datetime_as_string(shifted.astype("datetime64[us]"), unit="us"))
    suffix = pc.choose(pa.array(style), pa.scalar("Z"), pa.scalar("+08:00"), pa.scalar(""))
    naive = pc.replace_substring(pc.utf8_slice_codeunits(base, 0, 19), "T", " ")
    return pc.if_else(pa.array(style == STYLE_NAIVE), naive, concat(base, suffix))


def ts_styles(rng: np.random.Generator, is_cn: np.ndarray) -> np.ndarray:
    """Pick a text style per row: Chinese-city rows mostly ``+08:00``, ~5% without offset."""
    u = rng.random(is_cn.size)
    style = np.where(is_cn & (u < 0.70), STYLE_CN, STYLE_Z)
    style = np.where(u >= 0.95, STYLE_NAIVE, style)
    return style.astype(np.int8)


@dataclass(frozen=True)
class Calendar:
    """The simulated period: ``days`` days from ``start`` (a ``YYYY-MM-DD`` date, UTC)."""

    start: str
    days: int
    start_day: np.datetime64 = field(init=False)
    month_starts: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        start_day = np.datetime64(self.start, "D")
        object.__setattr__(self, "start_day", start_day)
        first = start_day.astype("datetime64[M]")
        months = first + np.arange(self.days // 28 + 14)
        starts = (months.astype("datetime64[D]") - start_day).astype(np.int64)
        object.__setattr__(self, "month_starts", starts)

    @property
    def start_us(self) -> int:
        return int(self.start_day.astype("datetime64[us]").astype(np.int64))

    @property
    def end_us(self) -> int:
        return self.start_us + self.days * US_PER_DAY

    def month_of(self, day: np.ndarray) -> np.ndarray:
        """Index into :attr:`month_starts` of the month holding each day offset."""
        return np.searchsorted(self.month_starts, day, side="right") - 1

    def date_text(self, day: np.ndarray) -> pa.Array:
        """Day offsets as ``YYYY-MM-DD``."""
        dates = self.start_day + np.asarray(day, dtype=np.int64).astype("timedelta64[D]")
        return pa.array(np.datetime_as_string(dates, unit="D"))

    def month_day(self, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(month 1-12, day of month 1-31) for each day offset."""
        dates = self.start_day + np.asarray(day, dtype=np.int64).astype("timedelta64[D]")
        month = dates.astype("datetime64[M]")
        mon = (month.astype(np.int64) % 12) + 1
        dom = (dates - month.astype("datetime64[D]")).astype(np.int64) + 1
        return mon, dom
