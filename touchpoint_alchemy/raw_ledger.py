"""The ledger of raw parts: which raw file or Parquet part a run read, as it was then.

A daily run reads each Parquet part of a folder input once: the rows of a part that arrives are
staged by the run that finds it, and a part already read is never read again for rows it did not
have (the models take late rows by their position, DECISIONLOG 52). A part rewritten after a run
read it would be half-counted: its new rows missed or its changed rows kept in their old form.
So parts are immutable once read, as in most data-lake loaders (Databricks Auto Loader, Snowpipe):

- The ledger (``audit.raw_parts``, declared in ``models/audit/_ingestion.yml``) records every
  file the raw step checked: its size, modification time and row count (Parquet parts), and the
  run that first recorded it.
- A daily run refuses to start when a recorded part of a folder input has changed (size,
  modification time or row count), with a message naming the part, the run that read it and what
  changed. A full refresh (``make run``) reads everything again and records the parts anew.
- A recorded part that is gone is only reported: raw data is often kept for a limited time, and
  its rows stay in the warehouse until the next full refresh.
- A single raw file (``touchpoints.csv``) is read whole by every run: it may grow or change, and
  its row is recorded for the record only.

Plain Python over :class:`touchpoint_alchemy.raw_contract.RawFile`; no Dagster, no database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from touchpoint_alchemy.raw_contract import RawFile

#: the ledger's columns, in the order of its dbt source (models/audit/_ingestion.yml)
COLUMNS = (
    "source",
    "part",
    "is_folder_part",
    "size_bytes",
    "modified_at",
    "row_count",
    "recorded_by_run",
    "recorded_at",
)


@dataclass(frozen=True)
class RawPart:
    source: str  # the raw file's name: touchpoints, orders, ...
    part: str  # the path under the raw data folder
    is_folder_part: bool  # a Parquet part of a folder input (immutable once read)
    size_bytes: int
    modified_at: datetime  # UTC
    row_count: int | None
    recorded_by_run: str = ""
    recorded_at: datetime | None = None

    def same_content(self, other: RawPart) -> bool:
        return (self.size_bytes, self.modified_at, self.row_count) == (
            other.size_bytes,
            other.modified_at,
            other.row_count,
        )


def current_parts(raw_dir: Path, raw_file: RawFile) -> list[RawPart]:
    """The parts of a checked raw file as they are now."""
    parts = []
    for path, rows in raw_file.parts or ((raw_file.path, raw_file.row_count),):
        stat = path.stat()
        parts.append(
            RawPart(
                source=raw_file.name,
                part=_relative(path, raw_dir),
                is_folder_part=raw_file.path.is_dir(),
                size_bytes=stat.st_size,
                # microseconds: what the ledger's timestamp column keeps
                modified_at=datetime.fromtimestamp(stat.st_mtime_ns // 1000 / 1e6, UTC),
                row_count=rows,
            )
        )
    return parts


def changed_parts(recorded: Iterable[RawPart], current: Iterable[RawPart]) -> list[str]:
    """Why a daily run must not read ``current``: one message per recorded folder part whose
    size, modification time or row count has changed since a run read it."""
    now = {(part.source, part.part): part for part in current}
    problems = []
    for old in recorded:
        new = now.get((old.source, old.part))
        if new is None or not old.is_folder_part or old.same_content(new):
            continue
        problems.append(
            f"Raw part {old.part} changed after run {old.recorded_by_run[:8] or '?'} read it"
            f"{_on(old.recorded_at)} ({'; '.join(_differences(old, new))})."
        )
    return problems


def removed_parts(recorded: Iterable[RawPart], current: Iterable[RawPart]) -> list[str]:
    """Recorded parts of the sources in ``current`` that are gone (reported, not refused)."""
    current = list(current)
    sources = {part.source for part in current}
    present = {(part.source, part.part) for part in current}
    return sorted(
        old.part
        for old in recorded
        if old.source in sources and (old.source, old.part) not in present
    )


def updated_ledger(
    recorded: Sequence[RawPart],
    current: Sequence[RawPart],
    run_id: str,
    now: datetime,
    *,
    full_refresh: bool,
) -> list[RawPart]:
    """The ledger after this run: for the sources checked now, their current parts (a part
    unchanged since it was recorded keeps its first run and time; a new or, on a full refresh,
    changed part is recorded by this run); other sources' rows are kept."""
    sources = {part.source for part in current}
    before = {(part.source, part.part): part for part in recorded}
    rows = [part for part in recorded if part.source not in sources]
    for part in current:
        old = before.get((part.source, part.part))
        if old is not None and old.same_content(part) and not full_refresh:
            rows.append(old)
        else:
            rows.append(replace(part, recorded_by_run=run_id, recorded_at=now))
    return sorted(rows, key=lambda part: (part.source, part.part))


def refusal(problems: Sequence[str]) -> str:
    """The message of a daily run that refuses changed parts."""
    return (
        "Raw parts changed after a run read them; a daily run reads each part once, so their "
        "changes would be half-counted. Write new or corrected rows as a new part, or restore "
        "the part; to take the changes, run a full refresh (`make run`).\n"
        + "\n".join(f"- {problem}" for problem in problems)
    )


def _relative(path: Path, raw_dir: Path) -> str:
    try:
        return path.resolve().relative_to(raw_dir.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _on(moment: datetime | None) -> str:
    return f" on {moment:%Y-%m-%d %H:%M} UTC" if moment else ""


def _differences(old: RawPart, new: RawPart) -> list[str]:
    found = []
    if old.size_bytes != new.size_bytes:
        found.append(f"size {old.size_bytes:,} -> {new.size_bytes:,} bytes")
    if old.row_count != new.row_count:
        found.append(f"rows {old.row_count} -> {new.row_count}")
    if old.modified_at != new.modified_at:
        moment = "%Y-%m-%d %H:%M:%S"
        found.append(f"modified {old.modified_at:{moment}} -> {new.modified_at:{moment}} UTC")
    return found
