"""How numbers read in the report: percentages, counts, durations and months.

Pure formatting (a value in, a string out): the numbers themselves come from the marts. Every
function is also a Jinja filter of the page templates (``render.py``).
"""

from __future__ import annotations

import math
from typing import Any


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def pct(value: float | None, digits: int = 0) -> str:
    """``0.1234`` -> ``'12%'`` (``digits`` decimals); ``'n/a'`` for a missing value."""
    return "n/a" if _missing(value) else f"{value:.{digits}%}"


def num(value: float | None, digits: int = 0) -> str:
    """``1234.5`` -> ``'1,234'`` (``digits`` decimals); ``'n/a'`` for a missing value."""
    return "n/a" if _missing(value) else f"{value:,.{digits}f}"


def duration(seconds: float | None) -> str:
    """Seconds in the unit that reads best: ``'45 s'``, ``'12.5 min'``, ``'3.0 h'``, ``'2.1 d'``."""
    if _missing(seconds):
        return "n/a"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def plural(count: int, noun: str) -> str:
    """``plural(3, 'cohort')`` -> ``'3 cohorts'``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def month(value: Any) -> str:
    """A date or timestamp as ``'YYYY-MM'``."""
    return f"{value:%Y-%m}" if hasattr(value, "strftime") else str(value)[:7]


def sentence(text: str) -> str:
    """The first letter upper-case."""
    return text[:1].upper() + text[1:]


FILTERS = {"pct": pct, "num": num, "duration": duration, "month": month}
