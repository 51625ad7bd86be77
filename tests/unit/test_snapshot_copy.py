"""The working copy is a reflink where the file system offers one, else a plain copy; either
way its bytes are the published file's."""

from __future__ import annotations

import hashlib
import os

from touchpoint_alchemy.snapshots import clone_or_copy


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_copy_has_the_same_bytes_whichever_way_it_was_made(tmp_path):
    source = tmp_path / "published.duckdb"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    target = tmp_path / "working.duckdb"
    target.write_bytes(b"an older, longer working file" * 200_000)  # replaced, not merged
    method = clone_or_copy(source, target)
    assert method in ("reflink", "copy")
    assert _sha(target) == _sha(source)
    # the copy is independent: changing it leaves the published file as it was
    before = _sha(source)
    with target.open("r+b") as changed:
        changed.write(b"changed")
    assert _sha(source) == before
