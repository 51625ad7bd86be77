"""The peers' results computed by the warehouse's own models, each run alone: ``dbt run`` of
the funnel model (a full refresh) and of the retention models on the benchmark's built
warehouse, one invocation per peer (both retention models in one), after the builds. The first
model of a dbt invocation pays dbt's own start (about 0.3 s of its Python: the first compile and
contract check), which is most of a sub-second model's time, so it is paid once per peer, as the
peer's own start is. In the full build dbt runs two models at a time
on the machine's cores, so a model's time there includes waiting for its neighbours; the peers
run alone. Both figures go into the result file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from touchpoint_alchemy.settings import DBT_PROJECT_DIR

#: label -> the models whose summed ``dbt run`` time it is
ALONE = {
    "funnel": ("int_funnel_chains",),
    "retention": ("int_cohort_months", "cohort_retention"),
}


def models_alone(data_dir: Path, work_dir: Path) -> dict[str, float]:
    """Label -> seconds: dbt's execution time of the label's models, run alone (no other model
    at the same time) on the built warehouse in ``work_dir``."""
    env = {
        **os.environ,
        "WAREHOUSE_DUCKDB_PATH": str(work_dir / "warehouse.duckdb"),
        "RAW_DATA_DIR": str(data_dir),
    }
    dbt = Path(sys.executable).parent / "dbt"
    seconds: dict[str, float] = {}
    for label, models in ALONE.items():
        target = work_dir / f"alone_{label}"
        subprocess.run(
            [
                str(dbt),
                "run",
                "--quiet",
                "--target",
                "duckdb",
                "--full-refresh",
                "--select",
                *models,
                "--vars",
                json.dumps({"raw_data_dir": str(data_dir)}),
                "--target-path",
                str(target),
            ],
            check=True,
            cwd=DBT_PROJECT_DIR,
            env=env,
        )
        results = json.loads((target / "run_results.json").read_text())["results"]
        # the models' times, not the project's on-run-end hook
        seconds[label] = sum(
            r["execution_time"] for r in results if r["unique_id"].startswith("model.")
        )
    return seconds
