"""The README and the docs/ pages: the generated table catalog is current, it lists every mart
and column of the dbt YAML, every relative link resolves, and the README stays a front door.
No warehouse: reads the manifest prepared by the session fixture ``dbt_manifest``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from touchpoint_alchemy.docs_catalog import CATALOG, render_catalog
from touchpoint_alchemy.settings import DBT_PROJECT_DIR, REPO_ROOT

README = REPO_ROOT / "README.md"
PAGES = [README, *sorted((REPO_ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 200

FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown text."""
    anchors: set[str] = set()
    for heading in HEADING.findall(FENCE.sub("", markdown)):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        anchor, n = slug, 0
        while anchor in anchors:
            n += 1
            anchor = f"{slug}-{n}"
        anchors.add(anchor)
    return anchors


def broken_links(page: Path) -> list[str]:
    """Relative links of ``page`` whose file, folder or heading anchor does not exist."""
    text = page.read_text(encoding="utf-8")
    broken = []
    for target in LINK.findall(FENCE.sub("", text)):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / path_part).resolve() if path_part else page
        if not resolved.exists():
            broken.append(f"{page.name}: {target} (no such file)")
        elif (
            anchor
            and resolved.suffix == ".md"
            and anchor not in github_anchors(resolved.read_text(encoding="utf-8"))
        ):
            broken.append(f"{page.name}: {target} (no such heading)")
    return broken


def test_link_check_finds_broken_links(tmp_path):
    (tmp_path / "other.md").write_text("# Other page\n\n## What `make run` does (now)\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md#what-make-run-does-now) [ok](#top-heading) [web](https://example.com/x)\n"
        "# Top heading\n"
        "[missing file](nowhere.md) [missing anchor](other.md#nope) ![img](img/none.png)\n"
        "```\n[inside a code block](ignored.md)\n```\n"
    )
    assert broken_links(page) == [
        "page.md: nowhere.md (no such file)",
        "page.md: other.md#nope (no such heading)",
        "page.md: img/none.png (no such file)",
    ]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page):
    assert not broken_links(page)


def test_readme_is_a_front_door():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines"


@pytest.fixture(scope="module")
def manifest(dbt_manifest: Path) -> dict:
    return json.loads(dbt_manifest.read_text(encoding="utf-8"))


def test_catalog_is_current(manifest):
    assert CATALOG.read_text(encoding="utf-8") == render_catalog(manifest), (
        "docs/marts.md is stale: run `make catalog` and commit it"
    )


def test_catalog_lists_every_mart_and_column_of_the_yaml():
    """Read the YAML directly (not the manifest the generator reads): every model under
    models/marts/ and models/audit/ has a section, and every declared column a row in it."""
    catalog = CATALOG.read_text(encoding="utf-8")
    sections = dict(re.findall(r"^### (\w+)\n(.*?)(?=^### |\Z)", catalog, re.M | re.S))
    expected: dict[str, list[str]] = {}
    for folder in ("marts", "audit"):
        for path in (DBT_PROJECT_DIR / "models" / folder).rglob("_*.yml"):
            for model in yaml.safe_load(path.read_text(encoding="utf-8")).get("models", []):
                expected[model["name"]] = [c["name"] for c in model.get("columns", [])]
    assert len(expected) > 15
    missing = [name for name in expected if name not in sections]
    assert not missing, f"no section in docs/marts.md for {missing}"
    for name, columns in expected.items():
        rows = re.findall(r"^\| `(\w+)` \|", sections[name], re.M)
        assert rows == columns, name
