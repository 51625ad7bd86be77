"""What the report reads: the tables its dbt exposure lists, found in the dbt manifest.

The exposure ``journey_report`` (``dbt_project/models/exposures.yml``) is the one list of the
report's inputs: :func:`exposure_inputs` turns its ``depends_on`` into relations to read, the
Dagster asset reads them into :class:`ReportInputs`, and each section picks the tables it names.
Standard library only: the code location imports this module at load time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from touchpoint_alchemy.scoring import ModelStatus

#: the dbt exposure that declares the report
REPORT_EXPOSURE = "journey_report"
#: the columns of scoring.model_metrics the model statuses are read from
MODEL_METRICS_COLUMNS = ("model", "metric", "value", "n", "detail")


class ExposureNotFoundError(KeyError):
    pass


@dataclass(frozen=True)
class Relation:
    """One table the report reads: ``name`` is the dbt model or source table name (what the
    sections ask for), ``schema`` and ``identifier`` where it is in the warehouse."""

    name: str
    unique_id: str
    resource_type: str
    schema: str
    identifier: str


def load_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The dbt manifest (``dbt_project/target/manifest.json``, written by ``make manifest``)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def exposure_inputs(
    manifest: Mapping[str, Any], exposure: str = REPORT_EXPOSURE
) -> dict[str, Relation]:
    """Every node of ``exposure``'s ``depends_on``, by name: the models in the manifest's
    order, then the sources."""
    found = [e for e in manifest["exposures"].values() if e["name"] == exposure]
    if not found:
        raise ExposureNotFoundError(
            f"the dbt manifest has no exposure {exposure!r} (dbt_project/models/exposures.yml)"
        )
    relations = {}
    depends_on = found[0]["depends_on"]["nodes"]
    for unique_id in sorted(depends_on, key=lambda unique_id: unique_id.startswith("source.")):
        pool = manifest["sources"] if unique_id.startswith("source.") else manifest["nodes"]
        node = pool[unique_id]
        identifier = node.get("identifier") or node.get("alias") or node["name"]
        relations[node["name"]] = Relation(
            name=node["name"],
            unique_id=unique_id,
            resource_type=node["resource_type"],
            schema=node["schema"],
            identifier=identifier,
        )
    return relations


@dataclass
class ReportInputs:
    """What the report is drawn from.

    ``tables`` maps a table name of the exposure to its rows (a missing name counts as an empty
    table); ``dbt_tests`` counts the dbt test statuses of the build by kind,
    ``{"data tests": {"pass": 180}, "unit tests": {"pass": 12}}`` (None when unknown);
    ``source`` names the warehouse file.
    """

    tables: Mapping[str, pd.DataFrame]
    built_at: datetime
    dbt_tests: Mapping[str, Mapping[str, int]] | None = None
    source: str = ""

    def table(self, name: str) -> pd.DataFrame:
        """A copy of table ``name``'s rows, or an empty frame."""
        import pandas as pd

        frame = self.tables.get(name)
        return frame.copy() if frame is not None else pd.DataFrame()


def model_statuses(model_metrics: pd.DataFrame) -> dict[str, ModelStatus]:
    """Each predictive model's status (fitted, did not converge, or no scores and why) from the
    rows of scoring.model_metrics; a table written before ``detail`` existed reads as null."""
    from touchpoint_alchemy.scoring import model_statuses as from_rows

    if model_metrics.empty:
        return {}
    rows = model_metrics.reindex(columns=list(MODEL_METRICS_COLUMNS))
    rows = rows.astype(object).where(rows.notna(), None)
    return from_rows(rows.itertuples(index=False, name=None))
