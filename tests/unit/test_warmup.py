"""The scoring steps' imports made while dbt builds (orchestration/warmup.py, DECISIONLOG 99):
what a run warms up, and that the thread imports after the prepare calls and once per run."""

from __future__ import annotations

import sys
import uuid

import pytest
from dagster import AssetKey, DagsterRun

from orchestration import warmup
from orchestration.assets.model_store import REFIT_TAG
from orchestration.run_config import build_run_config

# importing the definitions registers every scoring step's imports
from orchestration.definitions import defs  # noqa: F401  isort: skip


def run(tags=None, config=None, selection=None) -> DagsterRun:
    return DagsterRun(
        job_name="__ASSET_JOB",
        run_id=str(uuid.uuid4()),
        run_config=config or {},
        tags=tags or {},
        asset_selection=frozenset(selection) if selection is not None else None,
    )


DAY = {"dagster/partition": "2025-12-31"}
#: what warms pymc-marketing: its import, with lazy_loader made cheap first (DECISIONLOG 165)
PYMC = "touchpoint_alchemy.scoring.clv_fit:import_pymc_marketing"


def test_a_full_refresh_warms_every_fit_library():
    modules, prepares = warmup.modules_for(run(config=build_run_config(full_refresh=True)))
    assert modules[:2] == ["pyarrow", "pandas"]
    for module in (PYMC, "prophet", "touchpoint_alchemy.scoring.churn"):
        assert module in modules
    assert len(modules) == len(set(modules))
    assert prepares  # churn's thread setting among them


def test_a_daily_run_applies_the_stored_clv_so_pymc_is_not_warmed():
    modules, _ = warmup.modules_for(run(tags=DAY))
    assert "touchpoint_alchemy.scoring.clv" in modules
    assert PYMC not in modules
    assert "prophet" in modules  # the forecast fits its series every run (its backtest weekly)
    # the weekly run refits
    modules, _ = warmup.modules_for(run(tags={**DAY, REFIT_TAG: "true"}))
    assert PYMC in modules


def test_only_the_selected_steps_are_warmed():
    modules, _ = warmup.modules_for(run(selection=[AssetKey(["scoring", "customer_rfm"])]))
    assert "touchpoint_alchemy.scoring.rfm" in modules
    assert PYMC not in modules
    assert "touchpoint_alchemy.scoring.churn" not in modules
    assert warmup.modules_for(run(selection=[AssetKey(["marts", "customers"])])) == ([], [])


def test_the_thread_prepares_then_imports_once_per_run(tmp_path, monkeypatch):
    name = f"warm_probe_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(
        "import os\nSEEN = os.environ.get('WARM_PROBE')\nLOADED = []\n"
        "def load():\n    LOADED.append(SEEN)\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("WARM_PROBE", raising=False)
    monkeypatch.setattr(warmup, "_REGISTRY", {})
    calls = []

    def prepare(r):
        calls.append(r.run_id)
        monkeypatch.setenv("WARM_PROBE", "prepared")

    modules = [name, f"{name}:load", "no_such_module_xyz", f"{name}:no_such_function"]
    warmup.register("probe", warmup.Imports(modules=lambda r: modules, prepare=prepare))
    this = run()
    thread = warmup.start(this)
    assert thread is not None
    assert warmup.start(this) is thread  # once per run
    warmup.wait(this.run_id)
    assert not thread.is_alive()
    assert sys.modules[name].SEEN == "prepared"  # the prepare ran before the import
    assert calls == [this.run_id]
    assert sys.modules[name].LOADED == ["prepared"]  # `module:function` called it, once
    # a module that fails to import, or a function it lacks, is the step's to report
    assert "no_such_module_xyz" not in sys.modules
    warmup.wait("a run without a warm-up")  # returns at once


def test_nothing_to_import_starts_no_thread(monkeypatch):
    monkeypatch.setattr(warmup, "_REGISTRY", {})
    warmup.register("probe", warmup.Imports(modules=lambda r: []))
    assert warmup.start(run()) is None


@pytest.fixture(autouse=True)
def _forget_threads(monkeypatch):
    monkeypatch.setattr(warmup, "_threads", {})


def test_every_module_and_function_a_full_refresh_warms_exists():
    # the warm-up swallows its errors (the step reports its own), so a renamed module of a
    # library would only cost time, silently: check that each one imports and each function runs
    import importlib

    modules, _ = warmup.modules_for(run(config=build_run_config(full_refresh=True)))
    assert "touchpoint_alchemy.scoring.clv_fit:load_compiler" in modules
    for name in modules:
        module, _, function = name.partition(":")
        loaded = importlib.import_module(module)
        if function:
            getattr(loaded, function)()
