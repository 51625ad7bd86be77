"""The table catalog, ``docs/marts.md``, generated from the dbt manifest.

Every description, type and test lives once, in the dbt YAML; this page is a rendering of it for
readers without a built warehouse (the dbt docs site, ``make docs``, needs one). It lists the
marts, the quarantine and the tables Python writes, with their columns and tests.

    python -m touchpoint_alchemy.docs_catalog            # write docs/marts.md (make catalog)
    python -m touchpoint_alchemy.docs_catalog --check    # exit 1 when docs/marts.md is stale
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

from touchpoint_alchemy.settings import DBT_PROJECT_DIR, REPO_ROOT

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
CATALOG = REPO_ROOT / "docs" / "marts.md"
#: Folders whose models the catalog lists, in this order (path prefixes under models/).
CATALOG_FOLDERS = ("marts", "audit")
#: Sources the catalog lists: the tables the Python scoring assets write.
CATALOG_SOURCES = ("scoring",)
#: Section titles of the model folders; a folder not named here is titled by its name.
FOLDER_TITLES = {
    "marts": "Funnels, cohorts, customers and headline metrics",
    "marts/journeys": "Customer journeys",
    "marts/activity": "Product activity: active users, stickiness, retention",
    "marts/products": "Products: what sells and what sells together",
    "marts/attribution": "Attribution",
    "marts/growth": "Growth and channel economics",
    "marts/experiments": "Experiments",
    "marts/feedback": "NPS",
    "audit": "Quarantine and audit",
}
FOLDER_ORDER = list(FOLDER_TITLES)


def _one_line(text: str | None) -> str:
    """Text for a table cell: one line, pipes escaped."""
    return re.sub(r"\s+", " ", text or "").strip().replace("|", "\\|")


def _range_label(bounds: dict) -> str:
    low, high = bounds.get("min_value"), bounds.get("max_value")
    if low is not None and high is not None:
        return f"between {low} and {high}"
    return f">= {low}" if low is not None else f"<= {high}"


def _test_label(test: dict) -> str:
    meta = test.get("test_metadata") or {}
    name, kwargs = meta.get("name", test["name"]), meta.get("kwargs", {})
    if name == "accepted_values":
        # values are SQL literals: a quote is doubled in the YAML ("Can''t lose")
        values = [str(v).replace("''", "'") for v in kwargs.get("values", [])]
        return "one of " + ", ".join(f"`{v}`" for v in values)
    if name == "relationships":
        target = re.findall(r"ref\('([^']+)'\)", str(kwargs.get("to", "")))
        return f"in {target[0] if target else kwargs.get('to')}.{kwargs.get('field')}"
    return name.replace("_", " ")


class _Tests:
    """The data tests, singular tests and unit tests of each node, from the manifest."""

    def __init__(self, manifest: dict):
        self.by_column: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.grain: dict[str, list[list[str]]] = defaultdict(list)
        self.other: dict[str, list[str]] = defaultdict(list)
        for test in sorted(manifest["nodes"].values(), key=lambda n: n["unique_id"]):
            if test["resource_type"] != "test":
                continue
            meta = test.get("test_metadata") or {}
            attached = test.get("attached_node")
            if meta.get("name") == "unique_combination_of_columns" and attached:
                self.grain[attached].append(meta["kwargs"]["combination_of_columns"])
            # one test per model checks several columns (DECISIONLOG 135): listed per column
            elif meta.get("name") == "not_null_columns" and attached:
                for column in meta["kwargs"]["columns"]:
                    self.by_column[(attached, column)].append("not null")
            elif meta.get("name") == "accepted_ranges" and attached:
                for column, bounds in meta["kwargs"]["ranges"].items():
                    self.by_column[(attached, column)].append(_range_label(bounds))
            elif meta and attached and test.get("column_name"):
                self.by_column[(attached, test["column_name"])].append(_test_label(test))
            elif meta and attached:
                self.other[attached].append(f"`{meta['name']}`")
            else:  # a singular test (dbt_project/tests/*.sql) concerns every node it reads
                for node in test["depends_on"]["nodes"]:
                    self.other[node].append(f"`{test['name']}`")
        for unit in sorted(manifest.get("unit_tests", {}).values(), key=lambda u: u["name"]):
            model = f"model.{unit['package_name']}.{unit['model']}"
            self.other[model].append(f"unit test `{unit['name']}`")


def _columns_table(node: dict, tests: _Tests) -> list[str]:
    lines = ["| column | type | description | checks |", "|---|---|---|---|"]
    for name, column in node["columns"].items():
        checks = list(tests.by_column.get((node["unique_id"], name), []))
        if any(c["type"] == "not_null" for c in column.get("constraints", [])):
            checks.insert(0, "not null (contract)")
        lines.append(
            f"| `{name}` | {column.get('data_type') or ''} | "
            f"{_one_line(column.get('description'))} | {_one_line('; '.join(checks))} |"
        )
    return lines


def _grain_line(node: dict, tests: _Tests) -> str | None:
    keys = [" × ".join(f"`{c}`" for c in combo) for combo in tests.grain.get(node["unique_id"], [])]
    keys += [
        f"`{name}`"
        for name in node["columns"]
        if "unique" in tests.by_column.get((node["unique_id"], name), [])
    ]
    return f"**Grain** (tested unique): {'; '.join(keys)}." if keys else None


def _node_section(node: dict, tests: _Tests, yaml_path: str, sql_path: str | None) -> list[str]:
    relation = f"{node['schema']}.{node.get('alias') or node.get('identifier') or node['name']}"
    facts = [f"`{relation}`"]
    config = node.get("config", {})
    if config.get("materialized"):
        contract = (config.get("contract") or {}).get("enforced")
        facts.append(config["materialized"] + (", contract enforced" if contract else ""))
    if sql_path:
        facts.append(f"[SQL](../dbt_project/{sql_path})")
    facts.append(f"[YAML](../dbt_project/{yaml_path})")
    lines = [f"### {node['name']}", "", " · ".join(facts), "", node["description"].strip(), ""]
    grain = _grain_line(node, tests)
    if grain:
        lines += [grain, ""]
    upstream = sorted(
        dep.split(".")[-1]
        if dep.startswith("model.")
        else f"seed {dep.split('.')[-1]}"
        if dep.startswith("seed.")
        else ".".join(dep.split(".")[-2:])
        for dep in node.get("depends_on", {}).get("nodes", [])
    )
    if upstream:
        lines += ["**Reads**: " + ", ".join(f"`{name}`" for name in upstream) + ".", ""]
    others = tests.other.get(node["unique_id"], [])
    if others:
        lines += ["**Other tests**: " + ", ".join(others) + ".", ""]
    return lines + _columns_table(node, tests) + [""]


def _folder(node: dict) -> str:
    parts = Path(node["original_file_path"]).parts  # models/<folder>/.../<name>.sql
    return "/".join(parts[1:-1])


def render_catalog(manifest: dict) -> str:
    """The Markdown text of docs/marts.md for this manifest."""
    project = manifest["metadata"]["project_name"]
    tests = _Tests(manifest)
    folders: dict[str, list[dict]] = defaultdict(list)
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["package_name"] == project:
            folder = _folder(node)
            if folder.split("/")[0] in CATALOG_FOLDERS:
                folders[folder].append(node)
    order = sorted(folders, key=lambda f: (FOLDER_ORDER.index(f) if f in FOLDER_ORDER else 99, f))
    sources: dict[str, list[dict]] = defaultdict(list)
    for source in manifest["sources"].values():
        if source["package_name"] == project and source["source_name"] in CATALOG_SOURCES:
            sources[source["source_name"]].append(source)

    lines = [
        "# Table catalog",
        "",
        "<!-- Generated by `make catalog` (python -m touchpoint_alchemy.docs_catalog) from the dbt",
        "     manifest. Do not edit: change the dbt YAML and run `make catalog`. -->",
        "",
        "Every mart, the quarantine and the tables the Python scoring assets write, with their",
        "columns and tests, rendered from the dbt YAML (`dbt_project/models/**/_*.yml` and the",
        "doc blocks in `dbt_project/models/docs.md`). The dbt docs site (`make docs`) shows the",
        "same text with the lineage graph. Marts are tables with enforced contracts: an API for",
        "BI tools.",
        "",
    ]
    toc = []
    for folder in order:
        title = FOLDER_TITLES.get(folder, folder)
        names = sorted(n["name"] for n in folders[folder])
        toc.append(f"- **{title}**: " + ", ".join(f"[{n}](#{n})" for n in names))
    for name in sources:
        tables = sorted(s["name"] for s in sources[name])
        links = ", ".join(f"[{t}](#{t})" for t in tables)
        toc.append(f"- **Written by Python ({name})**: {links}")
    lines += toc + [""]

    for folder in order:
        lines += [f"## {FOLDER_TITLES.get(folder, folder)}", ""]
        for node in sorted(folders[folder], key=lambda n: n["name"]):
            yaml_path = (node.get("patch_path") or "").split("://")[-1]
            lines += _node_section(node, tests, yaml_path, node["original_file_path"])
    for name, tables in sources.items():
        lines += [f"## Written by Python ({name})", ""]
        for source in sorted(tables, key=lambda s: s["name"]):
            lines += _node_section(source, tests, source["original_file_path"], None)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=MANIFEST)
    parser.add_argument("--out", type=Path, default=CATALOG)
    parser.add_argument("--check", action="store_true", help="fail when the file is stale")
    args = parser.parse_args(argv)
    text = render_catalog(json.loads(args.manifest.read_text(encoding="utf-8")))
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is stale: run `make catalog`.", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"Wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
