"""dbt's macro namespace built with fewer calls in a forked command (orchestration/dbt_context.py,
DECISIONLOG 170): on the project's saved parse, the same namespace and the same context
dictionary, object for object, as dbt's own code, without dbt's per-macro calls."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import glob, json, os
from dbt.clients.jinja import MacroGenerator, MacroStack
from dbt.context.macros import MacroNamespace, MacroNamespaceBuilder
from dbt.context.manifest import ManifestContext
from dbt.contracts.graph.manifest import Manifest
from touchpoint_alchemy.dbt_targets import PARSE_CACHE, target_base

saved = sorted(glob.glob(str(target_base() / PARSE_CACHE / "*.msgpack")), key=os.path.getmtime)
manifest = Manifest.from_msgpack(open(saved[-1], "rb").read())
macros = manifest.get_macros_by_package()
root = next(m.package_name for m in manifest.nodes.values() if m.resource_type == "model")
model = next(m for m in manifest.nodes.values() if m.resource_type == "model")
INTERNAL = ["dbt_duckdb", "dbt"]


class Probe(ManifestContext):
    # a context with a namespace and nothing else: no config, no builtins
    def __init__(self, namespace):
        self.namespace = namespace
        self._ctx = {}

    def generate_builtins(self):
        return {}


def build(search, node):
    ctx, stack = {}, MacroStack()
    builder = MacroNamespaceBuilder(root, search, stack, INTERNAL, node)
    return builder.build_namespace(macros, ctx), ctx, stack


def flat(dct, ctx, stack, node):
    return [
        [key, type(value).__name__, value.macro.unique_id, value.context is ctx,
         value.stack is stack, value.node is node, list(vars(value))]
        if isinstance(value, MacroGenerator) else [key, sorted(value)]
        for key, value in sorted(dct.items())
    ]


def describe(namespace, ctx, stack, node):
    parts = ("global_namespace", "local_namespace", "global_project_namespace")
    out = {part: flat(getattr(namespace, part), ctx, stack, node) for part in parts}
    out["packages"] = {
        package: flat(generators, ctx, stack, node)
        for package, generators in namespace.packages.items()
    }
    out["order"] = [list(getattr(namespace, part)) for part in parts] + [list(namespace.packages)]
    out["context"] = flat(Probe(namespace).to_dict(), ctx, stack, node)
    return out


cases = [(root, None), (root, model), ("dbt", None), ("dbt_duckdb", model)]
before = [describe(*build(search, node), node) for search, node in cases]

from orchestration.dbt_context import build_macro_namespaces_with_fewer_calls, flat_namespace
build_macro_namespaces_with_fewer_calls()
calls = {"generators": 0, "lookups": 0}
make, lookup = MacroGenerator.__init__, MacroNamespace.__getitem__
def counted_make(self, *args, **kwargs):
    calls["generators"] += 1
    make(self, *args, **kwargs)
def counted_lookup(self, key):
    calls["lookups"] += 1
    return lookup(self, key)
MacroGenerator.__init__, MacroNamespace.__getitem__ = counted_make, counted_lookup
after = [describe(*build(search, node), node) for search, node in cases]
# what MacroNamespace resolves, name by name, is what flat_namespace gives
namespace, ctx, stack = build(root, model)
counted = dict(calls)
MacroGenerator.__init__, MacroNamespace.__getitem__ = make, lookup
flat_same = all(flat_namespace(namespace)[key] is namespace[key] for key in namespace)
flat_same = flat_same and set(flat_namespace(namespace)) == set(namespace)
sizes = {"macros": sum(len(m) for m in macros.values()), "context": len(before[0]["context"]),
         "local": len(before[0]["local_namespace"])}
print(json.dumps({"same": before == after, "flat_same": flat_same, "calls": counted, **sizes}))
"""


def test_the_namespace_and_context_are_dbts_without_its_calls():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])
    # a probe with the project's macros, and a context that holds them
    assert result["macros"] > 500 and result["context"] > 500 and result["local"] > 20
    assert result["same"], "a namespace or context differs from dbt's"
    assert result["flat_same"]
    # no generator made through its constructors, no name looked up one at a time
    assert result["calls"] == {"generators": 0, "lookups": 0}
