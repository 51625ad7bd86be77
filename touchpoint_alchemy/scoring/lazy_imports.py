"""lazy_loader made cheap for modules that are not installed (DECISIONLOG 165).

pymc-marketing imports arviz-base, which lazily loads optional libraries (jax, numpyro) at
import; :func:`record_missing_lazy_modules_cheaply` keeps lazy_loader from walking the whole
stack for each of them. :func:`touchpoint_alchemy.scoring.clv_fit.import_pymc_marketing` applies
it before importing the CLV models.
"""

from __future__ import annotations

import importlib.util
import linecache
import sys
from typing import Any


def record_missing_lazy_modules_cheaply() -> None:
    """Make ``lazy_loader.load`` of a module that is not installed take its caller's frame
    directly rather than through ``inspect.stack()`` (DECISIONLOG 165).

    Importing pymc-marketing imports arviz-base, whose NumPyro converter lazily loads jax and
    numpyro at import. Neither is installed here, so lazy_loader returns a stand-in module that
    raises the import error if it is ever used, and records where it was asked for with
    ``inspect.stack()``: a source lookup for every frame of the stack, and in the middle of an
    import most frames are importlib's frozen ones, each looked up across every loaded module.
    In the Dagster process (about 3,000 modules) that was 2.4 of the 7.2 CPU-s of importing
    pymc-marketing. The stand-in is the same, with the same caller, line and source line. Any
    other call (an installed module, a version requirement, ``error_on_import``) goes to
    lazy_loader unchanged."""
    try:
        import lazy_loader
    except ImportError:  # not installed: nothing imports it either
        return
    if getattr(lazy_loader.load, "_records_cheaply", False):
        return
    load = lazy_loader.load

    def load_missing_cheaply(
        fullname: str,
        *,
        require: str | None = None,
        error_on_import: bool = False,
        suppress_warning: bool = False,
    ) -> Any:
        if (
            require is None
            and not error_on_import
            and "." not in fullname
            and fullname not in sys.modules
            and importlib.util.find_spec(fullname) is None
        ):
            caller = sys._getframe(1)  # noqa: SLF001 - inspect.stack()[1], without the stack
            filename, lineno = caller.f_code.co_filename, caller.f_lineno
            line = linecache.getline(filename, lineno, caller.f_globals)
            return lazy_loader.DelayedImportErrorModule(
                {
                    "filename": filename,
                    "lineno": lineno,
                    "function": caller.f_code.co_name,
                    "code_context": [line] if line else None,
                },
                "DelayedImportErrorModule",
                message=f"No module named '{fullname}'",
            )
        return load(
            fullname,
            require=require,
            error_on_import=error_on_import,
            suppress_warning=suppress_warning,
        )

    load_missing_cheaply._records_cheaply = True  # type: ignore[attr-defined]
    lazy_loader.load = load_missing_cheaply
