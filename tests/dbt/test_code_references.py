"""Code references: every asset of the code location links to its code (a model's SQL file, a
step's Python function), and to the repository's web page when it has a GitHub or GitLab
remote ``origin``, read from the git files without running git."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

CODE_REFERENCES = "dagster/code_references"


@pytest.fixture(scope="module")
def asset_graph():
    from orchestration.definitions import defs

    return defs.resolve_asset_graph()


def _references(node) -> list:
    value = node.metadata.get(CODE_REFERENCES)
    assert value is not None, f"{node.key.to_user_string()} has no {CODE_REFERENCES}"
    return list(value.code_references)


def test_every_asset_links_to_its_code(asset_graph, dbt_manifest):
    """dbt models: first their SQL file (the manifest's original_file_path), then the dbt step's
    function; Python assets: the line of their function in the file that defines it."""
    from dagster import LocalFileCodeReference

    from touchpoint_alchemy.settings import DBT_PROJECT_DIR, REPO_ROOT

    manifest = json.loads(dbt_manifest.read_text(encoding="utf-8"))
    sql_files = {
        f"{node['schema']}/{node['name']}": (DBT_PROJECT_DIR / node["original_file_path"]).resolve()
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
    }
    nodes = [asset_graph.get(key) for key in asset_graph.get_all_asset_keys()]
    assert len(nodes) > 70
    for node in nodes:
        key = node.key.to_user_string()
        references = _references(node)
        assert all(isinstance(r, LocalFileCodeReference) for r in references), key
        files = [Path(r.file_path) for r in references]
        assert all(file.is_file() and file.is_relative_to(REPO_ROOT.resolve()) for file in files)
        if key in sql_files:
            assert files[0] == sql_files[key], key
            assert files[0].suffix == ".sql"
        # a function has a line; a whole file (a scoring asset's model modules) none
        python = [r for r in references if r.file_path.endswith(".py") and r.line_number]
        assert python, f"{key}: no Python function"
        for reference in python:
            line = Path(reference.file_path).read_text().splitlines()[reference.line_number - 1]
            assert line.lstrip().startswith(("@", "def ")), (key, reference, line)
    # the wrapped step bodies point to their own file, not to the retry wrapper's
    assert not any(
        r.file_path.endswith("orchestration/retries.py") for n in nodes for r in _references(n)
    )


ASSET_MODULE = """
import dagster as dg


@dg.asset
def planted():
    return 1
"""


def _planted_asset(root: Path):
    """An asset defined in a file of a fake repository ``root`` (line 5: its decorator)."""
    (root / "pkg").mkdir(parents=True)
    path = root / "pkg" / "planted_assets.py"
    path.write_text(ASSET_MODULE)
    spec = importlib.util.spec_from_file_location("planted_assets", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["planted_assets"] = module
    spec.loader.exec_module(module)
    return module.planted


def _urls(assets) -> list[str]:
    (assets_def,) = assets
    value = assets_def.specs_by_key[assets_def.key].metadata[CODE_REFERENCES]
    return [getattr(r, "url", None) or r.file_path for r in value.code_references]


def test_references_link_to_a_github_remote_without_credentials(tmp_path):
    from orchestration.code_references import with_code_references

    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text(
        '[core]\n\tbare = false\n[remote "origin"]\n'
        "\turl = https://someone:s3cret@github.com/acme/touchpoint-alchemy.git\n"
        "\tfetch = +refs/heads/*:refs/remotes/origin/*\n\tfetch = +refs/tags/*:refs/tags/*\n"
    )
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/release/1.0\n")
    urls = _urls(with_code_references([_planted_asset(tmp_path)], repo_root=tmp_path))
    assert urls == [
        "https://github.com/acme/touchpoint-alchemy/tree/release/1.0/pkg/planted_assets.py#L5"
    ]


def test_references_link_from_a_worktree_and_stay_local_without_a_known_remote(tmp_path):
    """A worktree's .git is a file naming its git dir, whose commondir holds the config (an SSH
    remote on GitLab here); a local or unknown remote leaves the local file references."""
    from orchestration.code_references import with_code_references

    main, tree = tmp_path / "main", tmp_path / "tree"
    (main / ".git" / "worktrees" / "tree").mkdir(parents=True)
    (main / ".git" / "config").write_text('[remote "origin"]\n\turl = git@gitlab.com:acme/ta.git\n')
    (main / ".git" / "worktrees" / "tree" / "commondir").write_text("../..\n")
    (main / ".git" / "worktrees" / "tree" / "HEAD").write_text("ref: refs/heads/ui\n")
    tree.mkdir()
    (tree / ".git").write_text(f"gitdir: {main / '.git' / 'worktrees' / 'tree'}\n")
    asset = _planted_asset(tree)
    assert _urls(with_code_references([asset], repo_root=tree)) == [
        "https://gitlab.com/acme/ta/-/tree/ui/pkg/planted_assets.py#L5"
    ]
    for url in ("/srv/git/ta.git", "https://git.example.org/acme/ta.git"):
        (main / ".git" / "config").write_text(f'[remote "origin"]\n\turl = {url}\n')
        local = _urls(with_code_references([asset], repo_root=tree))
        assert local == [str((tree / "pkg" / "planted_assets.py").resolve())]


@pytest.mark.parametrize(
    ("remote", "web"),
    [
        ("git@github.com:acme/ta.git", "https://github.com/acme/ta"),
        ("ssh://git@github.com:22/acme/ta.git", "https://github.com/acme/ta"),
        ("https://github.com/acme/ta", "https://github.com/acme/ta"),
        ("https://x-access-token:ghp_abc@github.com/acme/ta.git/", "https://github.com/acme/ta"),
        ("https://gitlab.com/group/sub/ta.git", "https://gitlab.com/group/sub/ta"),
        ("/work/main", None),
        ("file:///work/main", None),
        ("https://bitbucket.org/acme/ta.git", None),
    ],
)
def test_remote_web_url(remote, web):
    from orchestration.code_references import remote_web_url

    assert remote_web_url(remote) == web
