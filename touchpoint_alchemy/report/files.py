"""Where the report goes, how it is written, and the dbt test results it shows."""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from pathlib import Path

REPORT_FILE_NAME = "journey_report.html"


def default_report_path(warehouse_path: str | os.PathLike[str]) -> Path:
    """``<folder of the warehouse file>/reports/journey_report.html``: the report lives next to
    the warehouse it was built from (``data/reports/`` for ``make run``)."""
    return Path(warehouse_path).resolve().parent / "reports" / REPORT_FILE_NAME


def write_atomically(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to a temporary file in the target folder, then rename it into place, so a
    reader never sees a half-written report."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def dbt_test_results(
    target_dir: str | os.PathLike[str], run_id: str
) -> dict[str, dict[str, int]] | None:
    """Count the statuses of the dbt data tests and unit tests of one Dagster run.

    dagster-dbt gives every dbt invocation its own target folder, ``<op>-<run id[:7]>-<uuid>``;
    a run that builds dbt in several steps has several, each with a ``run_results.json``.
    Returns e.g. ``{"data tests": {"pass": 180, "warn": 2}, "unit tests": {"pass": 12}}``, or
    None when the run left no results.
    """
    kinds = {"test": "data tests", "unit_test": "unit tests"}
    counts: dict[str, Counter[str]] = {}
    found = False
    for results_file in sorted(Path(target_dir).glob(f"*-{run_id[:7]}-*/run_results.json")):
        try:
            results = json.loads(results_file.read_text(encoding="utf-8"))["results"]
        except (OSError, ValueError, KeyError):
            continue
        found = True
        for result in results:
            kind = kinds.get(str(result.get("unique_id", "")).split(".")[0])
            if kind:
                counts.setdefault(kind, Counter())[str(result.get("status"))] += 1
    if not found:
        return None
    return {kind: dict(sorted(counts[kind].items())) for kind in kinds.values() if kind in counts}
