"""dbt opens every run's working copy through a path shared by all builds (``shared_path``): the
lowest slot nobody holds, so one build at a time always gets the same path (and dbt's saved
parse), and builds that overlap never share a slot."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from touchpoint_alchemy.snapshots import shared_path


def _working(tmp_path, run: str):
    folder = tmp_path / "data" / ".builds" / run
    folder.mkdir(parents=True)
    path = folder / "warehouse.duckdb"
    path.write_text(run)
    return path


def test_one_build_at_a_time_gets_the_same_path(tmp_path):
    links = tmp_path / "links"
    first, second = _working(tmp_path, "run-1"), _working(tmp_path, "run-2")
    with shared_path(first, links) as path:
        assert path == links / "0" / "warehouse.duckdb"
        assert path.read_text() == "run-1"  # through the link, the run's own file
    with shared_path(second, links) as path:
        assert path == links / "0" / "warehouse.duckdb"
        assert path.read_text() == "run-2"  # the link follows the run that holds the slot


def test_overlapping_builds_get_slots_of_their_own(tmp_path):
    links = tmp_path / "links"
    first, second, third = (_working(tmp_path, f"run-{n}") for n in (1, 2, 3))
    with shared_path(first, links) as one, shared_path(second, links) as two:
        assert (one.parent.name, two.parent.name) == ("0", "1")
        assert (one.read_text(), two.read_text()) == ("run-1", "run-2")
    # another process holds slot 0 (flock: per open file, across processes too)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, pathlib
                from touchpoint_alchemy.snapshots import shared_path
                with shared_path(pathlib.Path({str(first)!r}), pathlib.Path({str(links)!r})):
                    print("held", flush=True)
                    sys.stdin.read()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with shared_path(third, links) as three:
            assert three.parent.name == "1" and three.read_text() == "run-3"
    finally:
        holder.communicate("")
    # released when the holder exits
    with shared_path(third, links) as three:
        assert three.parent.name == "0"
