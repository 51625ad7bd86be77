"""The journey report: one self-contained, interactive HTML file built from the marts.

Plain Python, no Dagster: :func:`render_journey_report` takes the marts as pandas DataFrames and
returns the HTML (plotly charts with plotly.js inlined, so it works offline and as an e-mail
attachment); :func:`write_atomically` puts it in place. The Dagster asset
``reports/journey_report`` (``orchestration/assets/report.py``) reads the tables and calls these.
"""

from touchpoint_alchemy.report.files import (
    REPORT_FILE_NAME,
    dbt_test_results,
    default_report_path,
    write_atomically,
)
from touchpoint_alchemy.report.journey import (
    INPUT_TABLES,
    STEP_GAPS_SQL,
    ReportInputs,
    render_journey_report,
)

__all__ = [
    "INPUT_TABLES",
    "REPORT_FILE_NAME",
    "STEP_GAPS_SQL",
    "ReportInputs",
    "dbt_test_results",
    "default_report_path",
    "render_journey_report",
    "write_atomically",
]
