"""What a scoring asset's step imports in a run, for the warm-up while dbt builds
(orchestration/warmup.py, DECISIONLOG 99): its modules, and its fit's libraries when the run
refits (or those its daily apply needs); nothing when the run does not select it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dagster import AssetKey

from orchestration import warmup
from orchestration.assets.model_store import refit_requested_for

if TYPE_CHECKING:
    from orchestration.assets.scoring_factory import ScoringAsset


def run_config(spec: ScoringAsset, key: AssetKey, run: Any) -> Any:
    """The asset's config in ``run`` (its run config's values over the defaults), or None."""
    if spec.config is None:
        return None
    op = key.to_python_identifier()
    values = ((run.run_config or {}).get("ops", {}).get(op) or {}).get("config") or {}
    return spec.config(**values)


def run_imports(spec: ScoringAsset, key: AssetKey, run: Any) -> tuple[str, ...]:
    """What the asset's step will import in ``run`` (a DagsterRun): nothing when the run does
    not select it; its modules; and the fit's libraries when it refits (a daily run applies a
    stored model, with the libraries its ``apply`` declares)."""
    selection = run.asset_selection
    if selection is not None and key not in selection:
        return ()
    fitting = spec.apply is None or refit_requested_for(run)[0]
    return (*spec.modules, *(spec.fit_imports if fitting else spec.apply_imports))


def register_imports(spec: ScoringAsset, key: AssetKey) -> None:
    """Declare what the step of ``spec`` (own table ``key``) imports, to the warm-up."""
    prepare = spec.prepare
    warmup.register(
        key.to_python_identifier(),
        warmup.Imports(
            modules=lambda run: run_imports(spec, key, run),
            prepare=(lambda run: prepare(run_config(spec, key, run))) if prepare else None,
        ),
    )
