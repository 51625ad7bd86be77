"""The report as one self-contained HTML page, from Jinja2 templates (``templates/``).

The page, the header, the section layout and the funnel table are templates with autoescape on;
the CSS (``templates/report.css``) and plotly.js are inlined, so the file needs no network. The
sections come from :mod:`touchpoint_alchemy.report.sections`; plotly is imported only to draw.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from touchpoint_alchemy.report.figures import PLOTLY_CONFIG
from touchpoint_alchemy.report.format import FILTERS
from touchpoint_alchemy.report.header import header_context
from touchpoint_alchemy.report.inputs import ReportInputs
from touchpoint_alchemy.report.section import Section
from touchpoint_alchemy.report.sections import build_sections

TEMPLATES = Path(__file__).with_name("templates")
TITLE = "Touchpoint Alchemy: journey report"


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env


def chart(section: Section) -> Markup:
    """The section's plotly figure as a ``<div>`` and its script (plotly.js is on the page)."""
    return Markup(
        section.figure.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=f"chart-{section.id}",
            config=PLOTLY_CONFIG,
        )
    )


def render_journey_report(inputs: ReportInputs) -> str:
    """The whole report as one HTML page, with plotly.js and the CSS inlined."""
    from plotly.offline import get_plotlyjs

    return (
        environment()
        .get_template("page.html.j2")
        .render(
            title=TITLE,
            css=Markup((TEMPLATES / "report.css").read_text(encoding="utf-8")),
            plotly_js=Markup(get_plotlyjs()),
            header=header_context(inputs),
            sections=build_sections(inputs.table),
            chart=chart,
        )
    )
