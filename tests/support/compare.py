"""Comparing warehouse tables with independently computed frames."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd


def _kind(series: pd.Series) -> str:
    non_null = series.dropna()
    sample = non_null.iloc[0] if len(non_null) else None
    if pd.api.types.is_datetime64_any_dtype(series) or isinstance(sample, dt.date):
        return "datetime"
    if pd.api.types.is_bool_dtype(series) or isinstance(sample, bool | np.bool_):
        return "bool"
    if pd.api.types.is_numeric_dtype(series) or hasattr(sample, "as_tuple"):  # Decimal
        return "number"
    return "text"


def _normalise(series: pd.Series, kind: str) -> pd.Series:
    if kind == "datetime":
        return pd.to_datetime(series).astype("datetime64[us]")
    if kind == "bool":
        return series.astype("boolean")
    if kind == "number":
        return pd.to_numeric(series.astype("float64"), errors="raise")
    return series.astype("string")


_PRECEDENCE = ("datetime", "bool", "number", "text")


def assert_same_rows(
    actual: pd.DataFrame,
    expected: pd.DataFrame,
    keys: list[str],
    rtol: float = 1e-9,
    atol: float = 1e-6,
) -> None:
    """Same keys, and the same value in every column of ``expected`` (floats within tolerance)."""
    missing = [c for c in expected.columns if c not in actual.columns]
    assert not missing, f"warehouse lacks columns {missing}"
    columns = list(expected.columns)
    a = actual[columns].copy()
    e = expected[columns].copy()
    for column in columns:
        # the richer type of the two sides wins (a CSV's "2025-03-01" meets a DATE column)
        kinds = {_kind(a[column]), _kind(e[column])}
        kind = next(k for k in _PRECEDENCE if k in kinds)
        a[column] = _normalise(a[column], kind)
        e[column] = _normalise(e[column], kind)
    a = a.sort_values(keys).reset_index(drop=True)
    e = e.sort_values(keys).reset_index(drop=True)
    assert len(a) == len(e), f"row count: warehouse {len(a)} vs expected {len(e)}"
    merged = a.merge(e, on=keys, how="outer", suffixes=("_actual", "_expected"), indicator=True)
    unmatched = merged[merged["_merge"] != "both"]
    assert unmatched.empty, f"keys differ:\n{unmatched[keys + ['_merge']].head(20)}"
    for column in columns:
        if column in keys:
            continue
        left, right = merged[f"{column}_actual"], merged[f"{column}_expected"]
        if pd.api.types.is_float_dtype(left) or pd.api.types.is_float_dtype(right):
            close = np.isclose(
                left.astype("float64"),
                right.astype("float64"),
                rtol=rtol,
                atol=atol,
                equal_nan=True,
            )
        else:
            close = (left == right).fillna(left.isna() & right.isna()).astype(bool)
        bad = merged.loc[~np.asarray(close), keys + [f"{column}_actual", f"{column}_expected"]]
        assert bad.empty, f"column {column} differs in {len(bad)} rows:\n{bad.head(20)}"
