"""What a section of the report is: a title, a takeaway, and a chart or a "no data" note."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Table:
    """A table under the chart, drawn by ``templates/<template>`` from ``rows``."""

    template: str
    rows: list[Mapping[str, Any]]
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Section:
    """One section of the page. ``figure`` is a plotly figure; without one, ``no_data`` says
    why (the section then shows that note instead of a chart)."""

    id: str
    title: str
    source: str
    takeaway: str = ""
    figure: Any = None
    table: Table | None = None
    note: str = ""
    no_data: str = ""

    @property
    def has_chart(self) -> bool:
        return self.figure is not None

    @property
    def nav_label(self) -> str:
        """The title up to its colon: the link in the page's navigation bar."""
        return self.title.split(":")[0]
