"""The journey report: one self-contained, interactive HTML file built from the marts.

Plain Python, no Dagster. The report's inputs are the tables of the dbt exposure
``journey_report`` (:func:`exposure_inputs` reads them from the manifest); each section is a
module of :mod:`touchpoint_alchemy.report.sections` that turns the marts it reads into a chart and
a takeaway; :func:`render_journey_report` puts them into the page templates (``templates/``,
with plotly.js and the CSS inlined, so it works offline and as an e-mail attachment), and
:func:`write_atomically` puts the file in place. The Dagster asset ``reports/journey_report``
(``orchestration/assets/report.py``) reads the tables and calls these. Importing this package
loads jinja2 but neither pandas nor plotly.
"""

from touchpoint_alchemy.report.files import (
    REPORT_FILE_NAME,
    dbt_test_results,
    default_report_path,
    write_atomically,
)
from touchpoint_alchemy.report.inputs import (
    REPORT_EXPOSURE,
    Relation,
    ReportInputs,
    exposure_inputs,
    load_manifest,
)
from touchpoint_alchemy.report.render import render_journey_report

__all__ = [
    "REPORT_EXPOSURE",
    "REPORT_FILE_NAME",
    "Relation",
    "ReportInputs",
    "dbt_test_results",
    "default_report_path",
    "exposure_inputs",
    "load_manifest",
    "render_journey_report",
    "write_atomically",
]
