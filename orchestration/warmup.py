"""The scoring steps' imports, made in the background while dbt builds (DECISIONLOG 99).

A run's steps share one process (``in_process_executor``, definitions.py). The Python steps come
after the dbt steps, and the first to use pandas, scikit-learn, pymc-marketing or Prophet pays
for importing it: about 4 s of the demo build, for pymc-marketing alone 3.7 s. While a dbt step
runs, this process only waits for dbt's subprocess and stores its events, so the dbt steps start
one thread per run that imports what the run's scoring steps will import; a scoring step waits
for that thread before it starts (:func:`wait`), so no import runs in two threads at once.

Each step registers what it imports (:func:`register`, by ``orchestration.assets``): a function
of the run (its selection and config) returning module names (``module:function`` also calls a
function of the module without arguments: what a library loads on first use, not at import, as
pytensor's numba backend does) and, run first, a ``prepare``
(churn sets ``OMP_NUM_THREADS``, which OpenMP reads only when it is first loaded). The warm-up
is an optimization only: a module that fails to import here fails, with its own error, in the
step that needs it.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

#: imported for every scoring step: the tables reach the models as pandas DataFrames
COMMON_MODULES = ("pyarrow", "pandas")


@dataclass(frozen=True)
class Imports:
    """What a step imports in a given run: ``modules(run)`` (empty: not in this run), and
    ``prepare(run)``, called first (settings a library reads when it loads)."""

    modules: Callable[[Any], Sequence[str]]
    prepare: Callable[[Any], None] | None = None


_REGISTRY: dict[str, Imports] = {}
_lock = threading.Lock()
#: run id -> its warm-up thread (one per run and process)
_threads: dict[str, threading.Thread] = {}


def register(step: str, imports: Imports) -> None:
    """Declare what step ``step`` (its op name) imports."""
    _REGISTRY[step] = imports


def modules_for(run: Any) -> tuple[list[str], list[Callable[[], None]]]:
    """The modules the registered steps import in ``run`` (a DagsterRun), common ones first, and
    their ``prepare`` calls."""
    modules: list[str] = []
    prepares: list[Callable[[], None]] = []
    for imports in _REGISTRY.values():
        found = list(imports.modules(run))
        if not found:
            continue
        modules += [m for m in (*COMMON_MODULES, *found) if m not in modules]
        if imports.prepare is not None:
            prepare = imports.prepare
            prepares.append(lambda prepare=prepare: prepare(run))
    return modules, prepares


def start(run: Any) -> threading.Thread | None:
    """Start importing, in a daemon thread, what ``run``'s registered steps import (once per
    run), and return the thread (None: nothing to import)."""
    with _lock:
        if run.run_id in _threads:
            return _threads[run.run_id]
        modules, prepares = modules_for(run)
        if not modules:
            return None
        thread = threading.Thread(
            target=_import_all,
            args=(modules, prepares),
            name=f"warmup-{run.run_id[:8]}",
            daemon=True,
        )
        _threads[run.run_id] = thread
        thread.start()
        return thread


def wait(run_id: str) -> None:
    """Wait until the warm-up of run ``run_id`` (if any) has finished."""
    with _lock:
        thread = _threads.get(run_id)
    if thread is not None:
        thread.join()


def _import_all(modules: Sequence[str], prepares: Sequence[Callable[[], None]]) -> None:
    for prepare in prepares:
        try:
            prepare()
        except Exception as error:  # noqa: BLE001 - the step reports its own settings' errors
            log.debug("warm-up: a prepare failed: %s", error)
    for name in modules:
        module, _, function = name.partition(":")
        try:
            loaded = importlib.import_module(module)
            if function:
                getattr(loaded, function)()
        except Exception as error:  # noqa: BLE001 - the step that needs it reports it
            log.debug("warm-up: importing %s failed: %s", name, error)
