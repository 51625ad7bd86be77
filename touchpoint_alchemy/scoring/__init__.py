"""Scoring functions: plain Python over DataFrames, no Dagster, no database."""


class InsufficientDataError(ValueError):
    """The data is too small (or one-sided) to fit a model. The scoring assets then write an
    empty table and record why, instead of failing the run."""
