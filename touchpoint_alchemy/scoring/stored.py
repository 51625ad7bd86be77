"""Fitted models kept between runs: the daily run scores with them, a refit replaces them.

A fit is the expensive part of a scoring model (the churn model's six boosters are most of its
step), and a model fitted last week scores today's customers as well as one fitted today: the
features move daily, what the model learned from them does not. So the daily run scores with the
stored model, and the weekly refit, a full refresh, a changed model code or a missing model fit
anew (DECISIONLOG 72; orchestration/assets/scoring_factory.py decides).

The stored form is a text column of ``scoring.model_store`` (so the model travels with the
warehouse snapshot it scored, and any engine stores it): the pickled model, zlib-compressed,
base64. Pickle runs code when it loads, so a model is only ever read from the warehouse it was
written to: whoever can write that file can change far more than a model.
"""

from __future__ import annotations

import base64
import json
import pickle
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from touchpoint_alchemy.scoring import Metric

#: the metric of ``scoring.model_metrics`` that names the model version that scored the run (its
#: code version in ``detail``, its fit time in ``fitted_at``)
MODEL_VERSION = "model_version"


def dumps(model: Any) -> str:
    """``model`` as text for ``scoring.model_store.artifact``."""
    return base64.b64encode(zlib.compress(pickle.dumps(model, protocol=5), 6)).decode("ascii")


def loads(text: str) -> Any:
    """The model :func:`dumps` wrote."""
    return pickle.loads(zlib.decompress(base64.b64decode(text)))  # noqa: S301 - see module doc


@dataclass(frozen=True)
class StoredModel:
    """One row of ``scoring.model_store``: a fitted model and what it was fitted on."""

    model: str
    #: the code version of the scoring asset that fitted it (its modules' hash)
    code_version: str
    fitted_at: datetime
    data_cutoff: datetime | None
    #: the fit's own ``scoring.model_metrics`` rows (holdout figures), as JSON
    metrics: str
    artifact: str

    @property
    def version(self) -> str:
        """``<code version>@<fit time>``: the model, as the step's log names it."""
        return f"{self.code_version}@{self.fitted_at.isoformat(timespec='seconds')}"

    def fit_metrics(self) -> dict[str, Metric]:
        return {name: Metric(*row) for name, row in json.loads(self.metrics).items()}


def metrics_json(metrics: dict[str, Metric]) -> str:
    return json.dumps({name: list(Metric(*row)) for name, row in sorted(metrics.items())})


def version_metric(
    stored: StoredModel, scored_rows: int, scored_at: datetime, refitted: bool
) -> Metric:
    """The ``model_version`` row: value the model's age in days when it scored (0 when this run
    fitted it), n the rows it scored, detail the code version of the fit and whether this run
    fitted it. The fit's time is the row's ``fitted_at``, so the detail of a refit on the same
    data is the same every time."""
    if refitted:
        return Metric(0.0, scored_rows, f"{stored.code_version} (fitted in this run)")
    age = max((scored_at - stored.fitted_at).total_seconds(), 0.0) / 86400
    return Metric(round(age, 4), scored_rows, f"{stored.code_version} (stored model, not refitted)")
