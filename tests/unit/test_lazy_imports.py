"""lazy_loader's stand-in for a module that is not installed, recorded without inspect.stack()
(touchpoint_alchemy.scoring.lazy_imports.record_missing_lazy_modules_cheaply, DECISIONLOG 165): the
same stand-in as lazy_loader's own, from the same caller, without calling inspect.stack(), and
every other call unchanged. The case runs in a new interpreter, so the patch never reaches the
test process."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import json, sys
import lazy_loader
from touchpoint_alchemy.scoring.lazy_imports import record_missing_lazy_modules_cheaply

def ask(name):
    return lazy_loader.load(name)

def describe(module):
    try:
        module.anything
    except ModuleNotFoundError as error:
        raised = str(error)
    else:
        raised = None
    return {
        "type": type(module).__name__,
        "frame": getattr(module, "_DelayedImportErrorModule__frame_data", None),
        "raised": raised,
    }

before = describe(ask("no_such_module_tpa"))
record_missing_lazy_modules_cheaply()
record_missing_lazy_modules_cheaply()  # twice: wrapped once
# the point of it: no inspect.stack() on that path (which lazy_loader's own load calls)
import inspect
def no_stack(*args, **kwargs):
    raise AssertionError("inspect.stack() called")
inspect.stack = no_stack
after = describe(ask("no_such_module_tpa"))
installed = ask("json") is json
# an installed module not imported yet: lazy_loader's own lazy module, as before
lazy = lazy_loader.load("colorsys")
print(json.dumps({
    "before": before,
    "after": after,
    "installed": installed,
    "lazy": type(lazy).__name__,
}))
"""


def test_a_missing_module_gets_the_same_stand_in_from_the_same_caller(tmp_path):
    # a file, not `python -c`: the stand-in records the caller's source line
    script = tmp_path / "ask.py"
    script.write_text(SCRIPT, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True
    )
    result = json.loads(done.stdout.splitlines()[-1])
    before, after = result["before"], result["after"]
    assert before["type"] == after["type"] == "DelayedImportErrorModule"
    # the caller (the script's `ask`), its line and its source line, as inspect.stack() gave
    assert before["frame"] == after["frame"]
    assert after["frame"]["function"] == "ask"
    assert after["frame"]["code_context"] == ["    return lazy_loader.load(name)\n"]
    # and it raises the same error when used
    assert before["raised"] is not None
    assert before["raised"] == after["raised"]
    # an installed module: what lazy_loader returns (the module itself, or its lazy module)
    assert result["installed"] is True
    assert result["lazy"] != "DelayedImportErrorModule"
