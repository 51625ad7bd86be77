"""The retry policy of every asset, and what counts as a transient failure.

A transient failure (another process holds the DuckDB file lock, an I/O or network hiccup) is
retried twice, after 10 and 20 seconds. Data and code errors are raised as
``Failure(allow_retries=False)``: a broken raw file, a failing dbt test or a SQL error gives the
same result on every try, so retrying would only delay the alert.
"""

import re

from dagster import Backoff, RetryPolicy

TRANSIENT_RETRY = RetryPolicy(max_retries=2, delay=10, backoff=Backoff.EXPONENTIAL)

TRANSIENT_ERRORS = re.compile(
    r"could not set lock|conflicting lock|resource temporarily unavailable|"
    r"io error|timed out|connection reset|no space left",
    re.IGNORECASE,
)


def is_transient(message: str | None) -> bool:
    return bool(TRANSIENT_ERRORS.search(message or ""))
