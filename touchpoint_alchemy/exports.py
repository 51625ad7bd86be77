"""Parquet exports of the marts, for BI tools that cannot open a DuckDB file.

After each publish every mart is written to Parquet, one folder per mart, as one *export set*:

    <dir>/exports/<stem>/marts/<mart>/<mart>.parquet     what readers open
    <dir>/exports/<stem>/marts/_export.json              the snapshot it was exported from
    <dir>/exports/<stem>/.sets/<set id>/                 the sets themselves
    <dir>/exports/<stem>/.lock                           one exporter at a time

where ``<dir>/<stem>.duckdb`` is the published warehouse (WAREHOUSE_DUCKDB_PATH). ``marts`` is a
symbolic link to the current set. A new set is written completely into its own folder under
``.sets/``, then the link is switched with one ``os.replace`` of a new link over the old one:
atomic, like the publish of the database file (``snapshots``), so a reader that opens a path
through ``marts/`` gets a file of one whole set, never half of an export. A reader that reads
several marts and wants them from one snapshot resolves ``marts`` once (``realpath``) and reads
below the folder it names; the previous set is kept until the next export for such readers.

Which tables are marts comes from the dbt manifest (:func:`mart_relations`: the models of the
``models/marts/`` folder); an erasure re-exports the marts the current set holds
(:func:`refresh`), from the erased snapshot, and deletes every other set.

No Dagster here: the publish asset (``orchestration/exports.py``) and ``erase`` both use it.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from touchpoint_alchemy import snapshots
from touchpoint_alchemy.sql import quote_literal, quote_relation

EXPORTS_DIR = "exports"
#: the link readers open: ``<root>/marts`` -> ``.sets/<set id>``
CURRENT = "marts"
SETS_DIR = ".sets"
LOCK_FILE = ".lock"
#: written last into each set: the snapshot (run id) and the marts with their row counts
SET_MANIFEST = "_export.json"
#: sets kept after an export: the current one and the one before (for readers mid-way)
KEEP_SETS = 2
#: the dbt models folder whose models are the marts
MARTS_FOLDER = "marts"


@dataclass(frozen=True)
class ExportSet:
    """One complete export: its folder, the snapshot it copies and the rows per mart."""

    path: Path
    run_id: str | None
    rows: dict[str, int]


def exports_root(published: Path) -> Path:
    """``<dir>/exports/<stem>/``: the exports of the warehouse file ``published``. Each
    warehouse file of a folder has its own (as its kept builds are its own)."""
    return published.parent / EXPORTS_DIR / published.stem


def current_link(published: Path) -> Path:
    """``<dir>/exports/<stem>/marts``: the path readers use."""
    return exports_root(published) / CURRENT


def current_set(published: Path) -> Path | None:
    """The folder of the current export set, or None before the first export."""
    link = current_link(published)
    if not link.is_symlink():
        return None
    target = link.resolve()
    return target if target.is_dir() else None


def mart_relations(manifest: dict) -> list[tuple[str, str]]:
    """(schema, table) of every model in ``models/marts/`` (the dbt manifest), sorted."""
    relations = {
        (node["schema"], node["alias"])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and Path(node["path"]).parts[0] == MARTS_FOLDER
        and node["config"].get("materialized") != "ephemeral"
        and node["config"].get("enabled", True)
    }
    return sorted(relations)


def read_set_manifest(path: Path) -> dict:
    return json.loads((path / SET_MANIFEST).read_text())


@contextmanager
def _exclusive(published: Path) -> Iterator[Path]:
    """Hold the exports' lock: a build's export and an erasure's re-export never interleave
    (an export of the snapshot before the erasure can then not become current after it)."""
    root = exports_root(published)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield root


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_set(published: Path, relations: Sequence[tuple[str, str]], folder: Path) -> ExportSet:
    """Copy each relation of the published snapshot into ``folder/<table>/<table>.parquet``,
    all under one read-only connection (one snapshot), then write the set's manifest."""
    folder.mkdir(parents=True)
    rows: dict[str, int] = {}
    names = [table for _, table in relations]
    if len(set(names)) != len(names):
        raise ValueError(f"two marts share a name: {sorted(names)}")
    with duckdb.connect(str(published), read_only=True) as con:
        info = snapshots.build_info(con)
        for schema, table in relations:
            (folder / table).mkdir()
            target = folder / table / f"{table}.parquet"
            con.execute(
                f"copy (select * from {quote_relation(schema, table)}) "
                f"to {quote_literal(str(target))} (format parquet, compression zstd)"
            )
            rows[table] = con.execute(
                f"select count(*) from read_parquet({quote_literal(str(target))})"
            ).fetchone()[0]
            _fsync(target)
    run_id = info[0] if info else None
    manifest = {
        "run_id": run_id,
        "published_at": info[1].isoformat() if info else None,
        "exported_at": datetime.now(UTC).isoformat(),
        "marts": [
            {"schema": schema, "table": table, "rows": rows[table]} for schema, table in relations
        ],
    }
    (folder / SET_MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    _fsync(folder / SET_MANIFEST)
    _fsync(folder)
    return ExportSet(path=folder, run_id=run_id, rows=rows)


def _switch(root: Path, folder: Path) -> None:
    """Point ``root/marts`` at ``folder`` with one atomic rename of a new link over the old."""
    link = root / CURRENT
    if link.exists() and not link.is_symlink():
        raise RuntimeError(f"{link} is not a link; move it away, the exports own this path.")
    pending = root / f".{CURRENT}.{uuid.uuid4().hex}"
    os.symlink(os.path.relpath(folder, root), pending)
    os.replace(pending, link)
    _fsync(root)


def _prune(root: Path, keep: int) -> list[Path]:
    """Delete all sets but the current one and the newest ``keep - 1`` others; return them."""
    sets = root / SETS_DIR
    if not sets.is_dir():
        return []
    link = root / CURRENT
    current = link.resolve() if link.is_symlink() else None
    others = sorted((p for p in sets.iterdir() if p.resolve() != current), reverse=True)
    stale = others[max(keep - 1, 0) :]
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    for pending in root.glob(f".{CURRENT}.*"):  # a link left by an interrupted switch
        pending.unlink(missing_ok=True)
    return stale


def export_marts(
    published: Path, relations: Sequence[tuple[str, str]], keep: int = KEEP_SETS
) -> ExportSet:
    """Export ``relations`` of the published snapshot ``published`` as a new set, make it
    current, and keep ``keep`` sets (the current one included). The set's id starts with the
    time (UTC), so sets sort oldest first."""
    if not published.exists():
        raise FileNotFoundError(f"No published warehouse at {published} to export.")
    with _exclusive(published) as root:
        set_id = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}"
        folder = root / SETS_DIR / set_id
        try:
            exported = _write_set(published, relations, folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        _switch(root, folder)
        _prune(root, keep)
    return exported


def refresh(published: Path) -> ExportSet | None:
    """Re-export the marts of the current set from the published snapshot and delete every
    other set (after an erasure: no set may still hold the erased rows). None when there are
    no exports; leftover sets without a current one are deleted."""
    current = current_set(published)
    if current is None:
        if exports_root(published).is_dir():
            with _exclusive(published) as root:
                _prune(root, keep=1)
        return None
    relations = [(m["schema"], m["table"]) for m in read_set_manifest(current)["marts"]]
    return export_marts(published, relations, keep=1)
