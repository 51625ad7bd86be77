"""The journey report's section ids, in page order: what the browser test (tests/warehouse/
test_report.py) finds on the page and the unit tests (tests/unit/test_report_sections.py) expect
of the section modules. Written down here, not read from the code under test."""

SECTIONS = [
    "funnel-purchase",
    "funnel-by-context",
    "cohort-retention",
    "cohort-ltv",
    "ltv-cac",
    "aarrr-benchmarks",
    "attribution",
    "touchpoint-value",
    "lifecycle",
    "paths",
    "repeat-purchase",
    "rfm",
    "clv-risk",
    "products",
    "affinity",
    "demand-forecast",
    "nps",
    "experiments",
    "hour-weekday",
]
