"""Scoring functions: plain Python over DataFrames and Arrow, no Dagster, no database.

A model that cannot be fitted on the data raises a :class:`ModelNotFitted`:
:class:`InsufficientDataError` (too little data to try) or :class:`ModelFitError` (the fit was
tried and failed on this data). The scoring assets catch exactly these: they write empty scores
and record the metric named by the error (``insufficient_data`` or ``fit_failed``) with its
message as ``detail`` in ``scoring.model_metrics``, and the run goes on. Any other exception is
a bug and fails the run (DECISIONLOG.md, 44).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

#: the metric a model records when it has no scores, by reason
INSUFFICIENT_DATA = "insufficient_data"
FIT_FAILED = "fit_failed"
#: ``<part>_not_converged``: a fit that ended but cannot be trusted (scores are still written)
NOT_CONVERGED_SUFFIX = "_not_converged"
#: CLV: the repeat customers left out of the Gamma-Gamma fit (mean repeat spend <= 0)
GAMMA_GAMMA_EXCLUDED = "gamma_gamma_excluded_nonpositive_spend"


class Metric(NamedTuple):
    """One ``scoring.model_metrics`` row of a model: value, n (the customers or rows it is
    computed on) and, for a status or a warning, a ``detail`` in words."""

    value: float | None
    n: int
    detail: str | None = None


@dataclass
class Scored:
    """What a scoring function gives its asset: its tables by ``scoring`` table name (the
    columns declared in the dbt source ``scoring``, which lists the tables each asset writes),
    its ``scoring.model_metrics`` rows by metric (none for a model without metrics), and the
    details its asset shows as metadata. A table is a DataFrame or, for one of millions of rows
    of strings, an Arrow table (written as it is, never through Python objects)."""

    tables: dict[str, pd.DataFrame | pa.Table]
    metrics: dict[str, Metric] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    #: the fitted model, for the runs that score without refitting (``scoring.stored``); None
    #: for a model that is refitted on every run
    model: Any = None


class ModelNotFitted(ValueError):
    """The model has no scores on this data; ``metric`` names the reason in model_metrics."""

    metric = "not_fitted"


class InsufficientDataError(ModelNotFitted):
    """The data is too small (or one-sided) to fit a model. The scoring assets then write an
    empty table and record why, instead of failing the run."""

    metric = INSUFFICIENT_DATA


class ModelFitError(ModelNotFitted):
    """The fit failed on this data: a non-finite likelihood, parameters that make the model's
    predictions undefined, data the fitting library rejects. Raised from the specific exceptions
    the libraries raise for bad data (see :func:`fit_errors`) or from our own checks of their
    results, never from a bare ``Exception``: a bug of ours must still fail the run."""

    metric = FIT_FAILED


def first_line(message: object, limit: int = 300) -> str:
    """The first line of an error message, at most ``limit`` characters."""
    text = str(message).strip().splitlines()
    line = text[0].strip() if text else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


@contextmanager
def fit_errors(model: str, *errors: type[Exception]) -> Iterator[None]:
    """Turn ``errors``, the exceptions a fitting library raises for data it cannot fit, into
    :class:`ModelFitError` naming ``model``; every other exception passes through."""
    try:
        yield
    except errors as error:
        raise ModelFitError(f"{model}: {type(error).__name__}: {first_line(error)}") from error


@dataclass(frozen=True)
class ModelStatus:
    """What a model's metrics say about its scores, for people (summary, report, metadata)."""

    model: str
    #: "fitted", "not converged", "insufficient data", "fit failed" or "not run"
    state: str
    detail: str = ""

    @property
    def has_scores(self) -> bool:
        return self.state in ("fitted", "not converged")

    def describe(self) -> str:
        """One line: 'fitted', 'fitted, but did not converge: ...', 'no scores (fit failed:
        ...)'."""
        if self.state == "fitted":
            return "fitted"
        if self.state == "not converged":
            return f"fitted, but did not converge: {self.detail}"
        return f"no scores ({self.state}: {self.detail})" if self.detail else "no scores"


def model_status(model: str, metrics: Mapping[str, Metric | tuple]) -> ModelStatus:
    """The status of ``model`` from its model_metrics rows (metric -> (value, n, detail))."""
    rows = {name: Metric(*row) for name, row in metrics.items()}
    if not rows:
        return ModelStatus(model, "not run", "no rows in scoring.model_metrics")
    for metric, state in ((FIT_FAILED, "fit failed"), (INSUFFICIENT_DATA, "insufficient data")):
        if metric in rows:
            return ModelStatus(model, state, rows[metric].detail or "")
    warnings = [
        f"{name.removesuffix(NOT_CONVERGED_SUFFIX)}: {row.detail}" if row.detail else name
        for name, row in sorted(rows.items())
        if name.endswith(NOT_CONVERGED_SUFFIX) and row.value
    ]
    if warnings:
        return ModelStatus(model, "not converged", "; ".join(warnings))
    return ModelStatus(model, "fitted")


def model_statuses(rows: Iterable[Sequence[Any]]) -> dict[str, ModelStatus]:
    """Every model's status from ``scoring.model_metrics`` rows (model, metric, value, n,
    detail)."""
    by_model: dict[str, dict[str, Metric]] = {}
    for model, metric, value, n, detail in rows:
        by_model.setdefault(model, {})[metric] = Metric(value, n, detail)
    return {model: model_status(model, metrics) for model, metrics in sorted(by_model.items())}
