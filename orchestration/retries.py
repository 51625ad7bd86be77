"""The retry policy of every asset, and what counts as a transient failure.

A transient failure (another process holds the DuckDB file lock, an I/O or network hiccup) is
retried twice, after 10 and 20 seconds. Everything else fails at once: a broken raw file, a
failing dbt test, a SQL error or a ValueError in Python give the same result on every try, so
retrying would only delay the alert. Dagster's ``RetryPolicy`` retries every exception, so every
Python asset and asset check is wrapped in :func:`fail_fast_unless_transient`, which re-raises
any non-transient exception as ``Failure(allow_retries=False)`` (DECISIONLOG.md, 46).
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from dagster import Backoff, Failure, MetadataValue, RetryPolicy, RetryRequested

TRANSIENT_RETRY = RetryPolicy(max_retries=2, delay=10, backoff=Backoff.EXPONENTIAL)

TRANSIENT_ERRORS = re.compile(
    r"could not set lock|conflicting lock|resource temporarily unavailable|"
    r"io error|timed out|connection reset|no space left",
    re.IGNORECASE,
)

#: set on every function wrapped by fail_fast_unless_transient (tests/dbt/test_definitions.py checks
#: that every Python asset and check of the code location carries it)
FAILS_FAST = "_fails_fast_unless_transient"


def is_transient(message: str | None) -> bool:
    return bool(TRANSIENT_ERRORS.search(message or ""))


@contextmanager
def _non_transient_as_failure() -> Iterator[None]:
    try:
        yield
    except (Failure, RetryRequested):
        raise  # already says whether to retry
    except Exception as error:
        if is_transient(str(error)):
            raise  # retried by TRANSIENT_RETRY
        kind = type(error).__name__
        raise Failure(
            description=f"{kind}: {error}\n(not retried: not a transient error)",
            metadata={"error_type": MetadataValue.text(f"{type(error).__module__}.{kind}")},
            allow_retries=False,
        ) from error


def fail_fast_unless_transient[F: Callable[..., Any]](fn: F) -> F:
    """Wrap the body of an asset or asset check (a function or a generator): an exception that
    is not transient (:func:`is_transient` on its message) leaves as
    ``Failure(description="<type>: <message>", allow_retries=False)``, chained to the original
    (the stack trace keeps it); a transient one, a ``Failure`` and a ``RetryRequested`` pass
    unchanged. Apply it under the ``@asset`` / ``@asset_check`` decorator: Dagster reads the
    signature through ``functools.wraps``."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator(*args: Any, **kwargs: Any) -> Any:
            with _non_transient_as_failure():
                yield from fn(*args, **kwargs)

        wrapper: Any = generator
    else:

        @functools.wraps(fn)
        def function(*args: Any, **kwargs: Any) -> Any:
            with _non_transient_as_failure():
                return fn(*args, **kwargs)

        wrapper = function
    setattr(wrapper, FAILS_FAST, True)
    return wrapper
