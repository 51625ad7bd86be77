"""The scoring assets as the Dagster UI shows them: each names its table (``dagster/table_name``,
the relation of its dbt source table) and has a code version that follows the source of the
``touchpoint_alchemy`` modules computing it, which are also its code references."""

from __future__ import annotations

import ast
import hashlib
import inspect
import json

import pytest

from touchpoint_alchemy.settings import REPO_ROOT

#: imported by the scores' code but not part of the model: configuration and metadata formatting
NOT_MODEL_CODE = {"touchpoint_alchemy.settings", "touchpoint_alchemy.markdown"}


@pytest.fixture(scope="module")
def specs() -> dict:
    from orchestration.assets.scoring import SCORING_SPECS

    return {spec.name: spec for spec in SCORING_SPECS}


@pytest.fixture(scope="module")
def asset_graph():
    from orchestration.definitions import defs

    return defs.resolve_asset_graph()


def _file(module: str):
    base = REPO_ROOT.joinpath(*module.split("."))
    return base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"


def _project_imports(tree: ast.AST) -> set[str]:
    """The touchpoint_alchemy modules a source imports (``from pkg import module`` included)."""
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
            names += [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if name.split(".")[0] == "touchpoint_alchemy" and _file(name).is_file():
                found.add(name)
    return found - {"touchpoint_alchemy"}


def test_scoring_assets_name_their_table(asset_graph, dbt_manifest, specs):
    from dagster import AssetKey

    manifest = json.loads(dbt_manifest.read_text(encoding="utf-8"))
    for name in specs:
        node = asset_graph.get(AssetKey(["scoring", name]))
        (source,) = [
            s
            for s in manifest["sources"].values()
            if s["source_name"] == "scoring" and s["name"] == name
        ]
        expected = source["relation_name"].replace('"', "")
        assert node.metadata["dagster/table_name"] == expected == f"warehouse.scoring.{name}"


def test_the_code_version_is_a_hash_of_every_module_the_scores_run(asset_graph, specs):
    """The declared modules are closed under the project's imports (of the fit function and of
    each module), the version is their hash, and each module is a code reference."""
    from dagster import AssetKey

    versions = {}
    for name, spec in specs.items():
        required = _project_imports(ast.parse(inspect.getsource(spec.fit)))
        for module in spec.modules:
            required |= _project_imports(ast.parse(_file(module).read_text()))
        assert required - NOT_MODEL_CODE <= set(spec.modules), name
        digest = hashlib.sha256()
        for module in sorted(spec.modules):
            digest.update(module.encode() + b"\0" + _file(module).read_bytes() + b"\0")
        node = asset_graph.get(AssetKey(["scoring", name]))
        assert node.code_version == digest.hexdigest()[:16], name
        versions[name] = node.code_version
        files = {r.file_path for r in node.metadata["dagster/code_references"].code_references}
        assert {str(_file(m).resolve()) for m in spec.modules} <= files, name
    assert len(set(versions.values())) == len(specs)


def test_the_code_version_changes_with_the_model_code(specs, tmp_path, monkeypatch):
    """A changed scoring module gives a new version; the same source the same one."""
    import shutil

    from orchestration import code_references

    modules = specs["customer_rfm"].modules
    before = code_references.code_version(modules)
    assert code_references.code_version(tuple(reversed(modules))) == before
    copy = tmp_path / "repo"
    for module in modules:
        target = copy / _file(module).relative_to(REPO_ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(_file(module), target)
    monkeypatch.setattr(code_references, "REPO_ROOT", copy)
    assert code_references.code_version(modules) == before
    rfm = copy / "touchpoint_alchemy" / "scoring" / "rfm.py"
    rfm.write_text(rfm.read_text() + "\n# a change\n")
    assert code_references.code_version(modules) != before
