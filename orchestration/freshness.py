"""How fresh the published warehouse and the marts must be.

The daily schedule (``orchestration/schedules.py``) starts at 02:00 UTC and a normal run
publishes within the hour, so a published snapshot is at most about 25 hours old when the next
one lands. When the 02:00 run did not start or failed, the UI marks the marts and
``warehouse/published_snapshot`` *warn* from 04:00 (26 hours after the last publish) and
*fail* (stale) from 08:00 (30 hours), before mid-morning. Freshness is evaluated by the Dagster
daemon (``freshness: enabled`` in ``dagster.yaml``).
"""

from datetime import timedelta

from dagster import FreshnessPolicy

#: a day and the run's own hour, plus a margin for a slow run
WARN_AFTER = timedelta(hours=26)
#: the marts are stale before mid-morning when the night's run is missing
FAIL_AFTER = timedelta(hours=30)

DAILY_FRESHNESS = FreshnessPolicy.time_window(fail_window=FAIL_AFTER, warn_window=WARN_AFTER)
