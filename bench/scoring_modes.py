"""Seconds of scoring steps refitting against scoring with the stored model (DECISIONLOG 72, 74).

``python -m bench.scoring_modes [--warehouse data/warehouse.duckdb] [--runs 3] asset...``
(the raw files: ``RAW_DATA_DIR``, the demo data by default)
copies a built warehouse (``make run``'s by default) into a temporary folder and materializes
each asset with the publish step, alternately with ``touchpoint/refit=true`` and ``false``,
``--runs`` times each, printing Dagster's step time of every run. The first run refits, so the
copy has a stored model of the current code for the daily runs. Each run is a process of its
own, as each step of a real run is (Dagster's multiprocess executor): a refit pays for importing
pymc every time.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import REPO


def step_seconds(path: Path, raw_dir: Path, asset: str, refit: bool) -> float:
    """Dagster's time of the step of ``asset`` in one run over the warehouse file ``path``."""
    import dagster as dg

    from orchestration.definitions import defs
    from orchestration.resources import build_resources
    from touchpoint_alchemy.settings import Settings

    publish = dg.AssetKey(["warehouse", "published_snapshot"])
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [*(defs.assets or [])],
            selection=dg.AssetSelection.assets(dg.AssetKey(["scoring", asset]), publish),
            resources=build_resources(Settings(warehouse_path=path, raw_data_dir=raw_dir)),
            instance=instance,
            tags={"touchpoint/refit": "true" if refit else "false"},
        )
        assert result.success, f"{asset} failed"
        steps = instance.get_run_step_stats(result.run_id)
    (seconds,) = [s.end_time - s.start_time for s in steps if s.step_key == f"scoring__{asset}"]
    return seconds


def main() -> None:
    from touchpoint_alchemy.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assets", nargs="+", help="scoring assets, e.g. customer_clv")
    parser.add_argument("--warehouse", type=Path, default=REPO / "data" / "warehouse.duckdb")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--one", choices=("refit", "daily"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    raw_dir = Settings.from_env().raw_data_dir
    if args.one:  # one run, in this process, over the warehouse file itself
        (asset,) = args.assets
        print(f"{step_seconds(args.warehouse, raw_dir, asset, args.one == 'refit'):.2f}")
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "warehouse.duckdb"
        shutil.copy(args.warehouse, path)
        for asset in args.assets:
            for run in range(args.runs):
                for mode in ("refit", "daily"):
                    command = [sys.executable, "-m", "bench.scoring_modes", "--one", mode]
                    command += ["--warehouse", str(path), asset]
                    out = subprocess.run(command, capture_output=True, text=True, check=True)
                    seconds = out.stdout.strip().splitlines()[-1]
                    print(f"{asset} {mode} (run {run + 1}): {seconds} s", flush=True)


if __name__ == "__main__":
    main()
