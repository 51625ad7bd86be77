"""The run config of a warehouse build, and the name of the op that takes it.

``daily_dbt_assets`` (orchestration/assets/dbt.py) is named here once; `make run`, the bench,
the tests and the dbt step itself build its run config with :func:`build_run_config`. No Dagster
import: `make run` calls ``python -m orchestration.run_config`` for the JSON.
"""

import json
from typing import Any

#: the op (and asset definition) name of the daily partitioned dbt models
DAILY_DBT_OP = "daily_dbt_assets"


def build_run_config(*, full_refresh: bool) -> dict[str, Any]:
    """The run config of a build: ``full_refresh`` rebuilds the incremental models from all
    history (dbt --full-refresh) instead of reprocessing the partition window."""
    return {"ops": {DAILY_DBT_OP: {"config": {"full_refresh": full_refresh}}}}


def full_refresh_requested(run_config: dict[str, Any] | None) -> bool:
    """Whether a run's config asks the daily dbt step for a full refresh."""
    ops = (run_config or {}).get("ops", {})
    return bool(ops.get(DAILY_DBT_OP, {}).get("config", {}).get("full_refresh", False))


if __name__ == "__main__":  # `make run`: the config of a full-refresh build, as JSON
    print(json.dumps(build_run_config(full_refresh=True)))
