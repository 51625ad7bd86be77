"""Published snapshots of the warehouse: build into a copy, publish with one ``os.replace``.

BI tools read the *published* file (WAREHOUSE_DUCKDB_PATH) read-only. Nothing ever writes it in
place: a build or an erasure copies it to a *working* file ``<dir>/.builds/<run_id>/<file name>``,
writes there, and publishes by renaming the working file over the published one. The rename is
atomic, so a reader opens either the old snapshot or the new one, never half of a build; a reader
that already has the old file open keeps reading it (the old inode lives until it closes).
Working files that are never published (a failed or killed build) stay in their folder for
inspection; the newest ``KEEP_BUILDS`` are kept. See DECISIONLOG.md, 36.

One writer at a time: a run (or an erasure) takes :class:`WarehouseLock` before it copies the
published file and keeps it until it has published (or ended), so a second run started meanwhile
waits and then starts from the first one's snapshot instead of racing it to publish.

No Dagster here: the orchestration layer and ``touchpoint_alchemy.erase`` both use it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from touchpoint_alchemy.sql import quote_literal

#: unpublished working files (failed, killed or running builds) kept per warehouse
KEEP_BUILDS = 3
BUILDS_DIR = ".builds"
#: the table macro that says which build a snapshot is: ``select * from audit.build_info()``
BUILD_INFO = "audit.build_info"


@dataclass(frozen=True)
class BuildInfo:
    run_id: str
    published_at: datetime
    path: Path


def builds_directory(published: Path) -> Path:
    """Where the working files live: ``<dir>/.builds/``, one folder per run."""
    return published.parent / BUILDS_DIR


def working_path(published: Path, run_id: str) -> Path:
    """``<dir>/.builds/<run_id>/<file name>``. The file keeps the published file's name because
    DuckDB names the database (the catalog) after it, and dbt's views name their catalog."""
    return builds_directory(published) / run_id / published.name


@contextmanager
def shared_path(working: Path, links: Path) -> Iterator[Path]:
    """``working`` under a path that is the same for every build of every warehouse, for as
    long as the context lasts: ``<links>/<n>/<file name>``, where ``<links>/<n>`` is a symbolic
    link to the run's folder and ``n`` the lowest slot no other build holds (an ``flock`` on
    ``<links>/<n>.lock``, held until the context ends; the operating system releases it when
    the holder exits, killed or not).

    dbt keys its saved parse on the connection's settings, the database path among them: with a
    path per run, or per warehouse, every run of another warehouse (every test build, for one)
    parsed the whole project again (DECISIONLOG 71, 91). One build at a time, the usual case,
    always gets slot 0. It links the folder, not the file, so DuckDB's WAL beside the file lands
    in the run's folder."""
    links.mkdir(parents=True, exist_ok=True)
    slot = 0
    while True:
        lock = (links / f"{slot}.lock").open("a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            lock.close()
            slot += 1
    try:
        link = links / str(slot)
        target = str(working.parent.resolve())
        if not (link.is_symlink() and os.readlink(link) == target):
            staging = link.with_name(f"{link.name}.{os.getpid()}")
            staging.unlink(missing_ok=True)
            staging.symlink_to(target, target_is_directory=True)
            os.replace(staging, link)
        yield link / working.name
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


def wal_path(database: Path) -> Path:
    return database.with_name(database.name + ".wal")


def _run_folders(published: Path) -> dict[Path, float]:
    """The run folders holding working files of ``published`` -> their newest change."""
    directory = builds_directory(published)
    if not directory.is_dir():
        return {}
    folders: dict[Path, float] = {}
    for folder in directory.iterdir():
        # a run's own folder; not a symbolic link (older versions linked the active run here)
        files = (
            list(folder.glob(f"{published.name}*"))
            if folder.is_dir() and not folder.is_symlink()
            else []
        )
        times = []
        for path in files:
            try:
                times.append(path.stat().st_mtime)
            except FileNotFoundError:  # published or pruned meanwhile
                continue
        if times:
            folders[folder] = max(times)
    return folders


def kept_builds(published: Path) -> list[Path]:
    """The unpublished working files of ``published``, newest first."""
    folders = _run_folders(published)
    return [
        folder / published.name
        for folder in sorted(folders, key=folders.__getitem__, reverse=True)
        if (folder / published.name).exists()
    ]


def prune_builds(published: Path, keep: int = KEEP_BUILDS) -> list[Path]:
    """Delete the run folders of all but the ``keep`` most recently changed; return them."""
    folders = _run_folders(published)
    stale = sorted(folders, key=folders.__getitem__, reverse=True)[keep:]
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    return stale


class WarehouseLock:
    """An exclusive lock on one published warehouse, ``<dir>/.builds/<file name>.lock``
    (``flock``: the operating system releases it when the holder exits, killed or not).

    Held from before a run copies the published file until the run has published, so runs that
    overlap (two CLI runs, a run and an erasure; the Dagster run queue only orders the runs it
    launches) publish one after the other, each built on the snapshot before it."""

    def __init__(self, published: Path) -> None:
        self.path = builds_directory(published) / f"{published.name}.lock"
        self._file = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def acquire(self, on_wait: Callable[[str], None] | None = None) -> None:
        """Take the lock, waiting for the holder to finish; ``on_wait`` hears what is awaited."""
        if self._file is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        file = self.path.open("a+")
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            holder = file.read().strip() or "another run"
            if on_wait is not None:
                on_wait(f"Waiting for {holder} to finish with {self.path.parent.parent}")
            fcntl.flock(file, fcntl.LOCK_EX)
        self._file = file

    def mark(self, holder: str) -> None:
        """Say who holds the lock (read by a run that waits for it)."""
        assert self._file is not None
        self._file.seek(0)
        self._file.truncate()
        self._file.write(holder)
        self._file.flush()

    def release(self) -> None:
        if self._file is None:
            return
        self._file.seek(0)
        self._file.truncate()
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()
        self._file = None


def prepare_working_copy(published: Path, working: Path) -> None:
    """Make ``working`` a copy of ``published`` (with its WAL, if any), once.

    The copy is taken under a read-only DuckDB connection to the published file: its shared lock
    guarantees that no writer is changing the file while its bytes are copied (a process that
    holds the published file for writing makes this fail with DuckDB's lock error, which the
    assets' retry policy retries). The copy lands under a temporary name and is renamed, so an
    existing ``working`` file is always complete. Without a published file the build starts
    from an empty database.
    """
    if working.exists():
        return
    working.parent.mkdir(parents=True, exist_ok=True)
    prune_builds(published, keep=KEEP_BUILDS - 1)
    if not published.exists():
        return
    partial = working.with_name(working.name + ".copying")  # not a name DuckDB opens
    with duckdb.connect(str(published), read_only=True):
        clone_or_copy(published, partial)
        if wal_path(published).exists():
            clone_or_copy(wal_path(published), wal_path(working))
    os.replace(partial, working)


#: Linux's FICLONE ioctl (_IOW(0x94, 9, int)): the new file shares the source's blocks
FICLONE = 0x40049409


def clone_or_copy(source: Path, target: Path) -> str:
    """Copy ``source`` to ``target`` as a reflink (copy-on-write clone: instant, no extra space,
    on btrfs, XFS with reflink, bcachefs, ...) where the file system offers one, else as a plain
    copy (in-kernel on Linux). Returns ``"reflink"`` or ``"copy"``."""
    try:
        import fcntl

        with open(source, "rb") as src, open(target, "wb") as dst:
            fcntl.ioctl(dst.fileno(), FICLONE, src.fileno())
        return "reflink"
    except (ImportError, OSError):  # no fcntl (Windows), or no reflink on this file system
        target.unlink(missing_ok=True)
    shutil.copyfile(source, target)
    return "copy"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sql_string_or_null(value: str | None) -> str:
    return "null::varchar" if value is None else quote_literal(value)


def publish(
    working: Path, published: Path, run_id: str, pii_key: tuple[str, str] | None = None
) -> BuildInfo:
    """Stamp ``working`` with its build marker, checkpoint it and rename it over ``published``.

    The marker names the run and, as ``pii_hash_scheme`` and ``pii_salt_fingerprint``, the PII
    hashing key of the snapshot's hashes (``touchpoint_alchemy.pii_key``: a fingerprint, never
    the key). ``pii_key`` is (scheme, fingerprint) when this run hashed; None keeps what the
    working copy records (an erasure, or a run that did not rebuild the hashes).

    Readers see the new snapshot on their next connection. The published file's stale WAL, if
    any (a process wrote to the published file, which nothing here does), was copied into the
    working file when it was made, and is removed so it cannot be replayed onto the new file.
    """
    published_at = datetime.now(UTC)
    with duckdb.connect(str(working)) as con:
        scheme, fingerprint = pii_key if pii_key is not None else recorded_pii_key(con)
        con.execute("create schema if not exists audit")
        con.execute(
            f"create or replace macro {BUILD_INFO}() as table "
            f"select {quote_literal(run_id)} as run_id, "
            f"{quote_literal(published_at.isoformat())}::timestamptz as published_at, "
            f"{_sql_string_or_null(scheme)} as pii_hash_scheme, "
            f"{_sql_string_or_null(fingerprint)} as pii_salt_fingerprint"
        )
        con.execute("checkpoint")
    if wal_path(working).exists():
        raise RuntimeError(f"{working} still has a WAL after its checkpoint; not published.")
    _fsync(working)
    wal_path(published).unlink(missing_ok=True)
    os.replace(working, published)
    _fsync(published.parent)
    remove_build(working)  # the run's folder, now without its file
    return BuildInfo(run_id=run_id, published_at=published_at, path=published)


def remove_build(working: Path) -> None:
    """Delete a working file's run folder (the file, its WAL and DuckDB's spill folder)."""
    shutil.rmtree(working.parent, ignore_errors=True)


def published_run_id(published: Path) -> str | None:
    """The run id of the snapshot at ``published`` (None if there is none, or no marker)."""
    if not published.exists():
        return None
    with duckdb.connect(str(published), read_only=True) as con:
        info = build_info(con)
    return info[0] if info else None


def build_info(con: duckdb.DuckDBPyConnection) -> tuple[str, datetime] | None:
    """(run_id, published_at) of the snapshot ``con`` reads; None before the first publish."""
    try:
        row = con.execute(f"select run_id, published_at from {BUILD_INFO}()").fetchone()
    except duckdb.CatalogException:
        return None
    return (row[0], row[1]) if row else None


def recorded_pii_key(con: duckdb.DuckDBPyConnection) -> tuple[str | None, str | None]:
    """(pii_hash_scheme, pii_salt_fingerprint) that ``con``'s snapshot records; (None, None)
    before the first publish or for a snapshot from before fingerprints were recorded."""
    try:
        row = con.execute(
            f"select pii_hash_scheme, pii_salt_fingerprint from {BUILD_INFO}()"
        ).fetchone()
    except (duckdb.CatalogException, duckdb.BinderException):
        return (None, None)
    return (row[0], row[1]) if row else (None, None)


def published_pii_key(published: Path) -> tuple[str | None, str | None] | None:
    """What :func:`recorded_pii_key` says of the snapshot at ``published``; None when nothing is
    published there (no file, or a file no build has published)."""
    if not published.exists():
        return None
    with duckdb.connect(str(published), read_only=True) as con:
        if build_info(con) is None:
            return None
        return recorded_pii_key(con)
