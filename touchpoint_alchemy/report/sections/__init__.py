"""The report's sections, one module each, in page order.

A section module has ``READS``, the names of the tables it draws from (every one listed in the
dbt exposure ``journey_report``), and ``build``, a function of those tables (pandas
DataFrames, in that order) that returns a :class:`~touchpoint_alchemy.report.section.Section`
or a list of them (one per funnel). ``build`` picks, orders and pivots the rows of the marts
and writes the takeaway; the figures themselves (rates, shares, medians, scores) come from the
marts. To add a section, add a module and put it in :data:`SECTIONS` (docs/journey-report.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING

from touchpoint_alchemy.report.section import Section
from touchpoint_alchemy.report.sections import (
    aarrr_benchmarks,
    affinity,
    attribution,
    clv_risk,
    cohort_ltv,
    cohort_retention,
    demand_forecast,
    experiments,
    funnel,
    funnel_by_context,
    hour_weekday,
    lifecycle,
    ltv_cac,
    nps,
    paths,
    products,
    repeat_purchase,
    rfm,
    touchpoint_value,
)

if TYPE_CHECKING:
    import pandas as pd

#: every section module, in page order
SECTIONS: tuple[ModuleType, ...] = (
    funnel,
    funnel_by_context,
    cohort_retention,
    cohort_ltv,
    ltv_cac,
    aarrr_benchmarks,
    attribution,
    touchpoint_value,
    lifecycle,
    paths,
    repeat_purchase,
    rfm,
    clv_risk,
    products,
    affinity,
    demand_forecast,
    nps,
    experiments,
    hour_weekday,
)


def tables_read(sections: Sequence[ModuleType] = SECTIONS) -> set[str]:
    """The names of the tables the sections read."""
    return {name for module in sections for name in module.READS}


def build_sections(
    table: Callable[[str], pd.DataFrame], sections: Sequence[ModuleType] = SECTIONS
) -> list[Section]:
    """Every section, in page order; ``table(name)`` gives a table's rows (a fresh copy)."""
    built: list[Section] = []
    for module in sections:
        result = module.build(*(table(name) for name in module.READS))
        built.extend(result if isinstance(result, list) else [result])
    return built
