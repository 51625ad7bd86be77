"""One renderer for the markdown tables and numbers shown as Dagster metadata (the scoring
assets' metadata, the marts' previews): a float takes 4 significant digits unless its column
has a format of its own, None is an empty cell, and a pipe or newline cannot break the table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

FLOAT_FORMAT = "{:.4g}"


def cell(value: Any, number_format: str | None = None) -> str:
    """One cell: ``number_format`` (a str.format pattern) or, for a float, FLOAT_FORMAT."""
    if value is None:
        return ""
    if number_format is not None:
        text = number_format.format(value)
    elif isinstance(value, float):
        text = FLOAT_FORMAT.format(value)
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    formats: Mapping[str, str] | None = None,
) -> str:
    """A markdown table with a header of ``columns``; ``formats`` maps a column to its
    number format."""
    formats = formats or {}
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += [
        "| " + " | ".join(cell(v, formats.get(c)) for c, v in zip(columns, row, strict=True)) + " |"
        for row in rows
    ]
    return "\n".join(lines)


def frame_table(frame: pd.DataFrame, formats: Mapping[str, str] | None = None) -> str:
    """A DataFrame as a markdown table (its columns, its rows in order, no index)."""
    return markdown_table(
        [str(c) for c in frame.columns], frame.itertuples(index=False, name=None), formats
    )
