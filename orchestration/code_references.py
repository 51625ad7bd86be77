"""Code references in the Dagster UI: each asset links to the code that builds it.

- dbt assets: the model's SQL file (``DagsterDbtTranslatorSettings(enable_code_references=True)``
  in ``orchestration/translator.py``).
- Every asset: the Python function of its step, as ``with_source_code_references`` does, but
  through ``functools.wraps`` (``fail_fast_unless_transient`` wraps every body: Dagster's own
  helper takes the wrapper's file with the wrapped function's line); the scoring assets also the
  ``touchpoint_alchemy.scoring`` modules that fit the model (the factory adds them).
- When the repository has a GitHub or GitLab remote ``origin``, the local paths become links to
  the files on the branch checked out (``link_code_references_to_git``).

The remote and the branch are read from the git files themselves (``.git/config``,
``.git/HEAD``, a worktree's ``gitdir``), not with ``git remote get-url origin``: the code
location starts no process at import time. Credentials in a remote URL are never kept.
"""

from __future__ import annotations

import configparser
import hashlib
import inspect
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dagster import (
    AnchorBasedFilePathMapping,
    AssetsDefinition,
    AssetSpec,
    BetaWarning,
    CodeReferencesMetadataValue,
    LocalFileCodeReference,
    link_code_references_to_git,
)

from touchpoint_alchemy.settings import REPO_ROOT

#: the hosts whose file URLs Dagster knows how to build
GIT_PLATFORMS = ("github", "gitlab")
DEFAULT_BRANCH = "main"
#: the metadata entry the UI reads (dagster's CodeReferencesMetadataSet)
CODE_REFERENCES = "dagster/code_references"


def add_code_references(
    metadata: dict[str, Any], references: Sequence[LocalFileCodeReference]
) -> dict[str, Any]:
    """``metadata`` with ``references`` appended to its code references."""
    existing = metadata.get(CODE_REFERENCES)
    before = list(existing.code_references) if existing is not None else []
    new = [reference for reference in references if reference not in before]
    return {
        **metadata,
        CODE_REFERENCES: CodeReferencesMetadataValue(code_references=[*before, *new]),
    }


def function_reference(fn: Any) -> LocalFileCodeReference:
    """The file and first line of ``fn``, through ``functools.wraps`` wrappers."""
    fn = inspect.unwrap(fn)
    return LocalFileCodeReference(
        file_path=str(Path(inspect.getsourcefile(fn) or "").resolve()),
        line_number=inspect.getsourcelines(fn)[1],
    )


def _with_function_reference(assets_def: Any) -> Any:
    if not isinstance(assets_def, AssetsDefinition) or not assets_def.is_executable:
        return assets_def
    compute_fn = getattr(assets_def.node_def, "compute_fn", None)
    fn = getattr(compute_fn, "decorated_fn", compute_fn)
    if fn is None:
        return assets_def
    reference = function_reference(fn)

    def with_reference(spec: AssetSpec) -> AssetSpec:
        return spec.replace_attributes(
            metadata=add_code_references(dict(spec.metadata), [reference])
        )

    return assets_def.map_asset_specs(with_reference)


def _git_dirs(repo_root: Path) -> tuple[Path, Path] | None:
    """(the git dir with HEAD, the common dir with config) of ``repo_root``; a worktree's
    ``.git`` is a file naming its git dir, whose ``commondir`` names the shared one."""
    dot_git = repo_root / ".git"
    if dot_git.is_dir():
        return dot_git, dot_git
    if not dot_git.is_file():
        return None
    match = re.match(r"gitdir:\s*(.+)", dot_git.read_text().strip())
    if not match:
        return None
    git_dir = (repo_root / match.group(1).strip()).resolve()
    common = git_dir / "commondir"
    common_dir = (git_dir / common.read_text().strip()).resolve() if common.is_file() else git_dir
    return git_dir, common_dir


def remote_web_url(url: str) -> str | None:
    """The web address of a GitHub or GitLab remote (SSH or HTTPS), without credentials or
    ``.git``; None for a local path or another host."""
    url = url.strip()
    scp = re.match(r"^(?:[\w.-]+@)?([\w.-]+):(?!//)(.+)$", url)  # git@github.com:owner/repo.git
    if scp and "/" not in scp.group(1):
        host, path = scp.group(1), scp.group(2)
    else:
        parsed = re.match(r"^(?:https?|ssh|git)://(?:[^@/]+@)?([\w.-]+)(?::\d+)?/(.+)$", url)
        if not parsed:
            return None
        host, path = parsed.group(1), parsed.group(2)
    if not any(platform in host for platform in GIT_PLATFORMS):
        return None
    path = path.strip("/").removesuffix(".git")
    return f"https://{host}/{path}" if path else None


def git_remote(repo_root: Path = REPO_ROOT) -> tuple[str, str] | None:
    """(web URL of remote ``origin``, branch checked out) when ``origin`` is a GitHub or GitLab
    repository; the branch is ``main`` on a detached HEAD."""
    dirs = _git_dirs(repo_root)
    if dirs is None:
        return None
    git_dir, common_dir = dirs
    config = configparser.ConfigParser(strict=False, interpolation=None)
    try:
        config.read(common_dir / "config")
        url = config.get('remote "origin"', "url", fallback=None)
        head = (git_dir / "HEAD").read_text().strip()
    except (OSError, configparser.Error):
        return None
    web_url = remote_web_url(url) if url else None
    if web_url is None:
        return None
    branch = head.removeprefix("ref: refs/heads/") if head.startswith("ref: ") else DEFAULT_BRANCH
    return web_url, branch


def with_code_references(assets: Sequence[Any], repo_root: Path = REPO_ROOT) -> list[Any]:
    """``assets`` with a code reference to their Python function, linked to the repository's
    files on GitHub or GitLab when it has such a remote ``origin``."""
    with warnings.catch_warnings():  # code references are a beta feature; we mean to use it
        warnings.simplefilter("ignore", BetaWarning)
        return _with_code_references(assets, repo_root)


def _with_code_references(assets: Sequence[Any], repo_root: Path) -> list[Any]:
    referenced = [_with_function_reference(assets_def) for assets_def in assets]
    remote = git_remote(repo_root)
    if remote is None:
        return referenced
    url, branch = remote
    return list(
        link_code_references_to_git(
            referenced,
            git_url=url,
            git_branch=branch,
            file_path_mapping=AnchorBasedFilePathMapping(
                local_file_anchor=repo_root.resolve(), file_anchor_path_in_repository=""
            ),
        )
    )


def module_file(module: str) -> Path:
    """The source file of module ``module`` of this repository (``a.b`` -> ``a/b.py`` or
    ``a/b/__init__.py``), found without importing it."""
    base = REPO_ROOT.joinpath(*module.split("."))
    path = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
    if not path.is_file():
        raise ValueError(f"module {module!r} has no source file in {REPO_ROOT}")
    return path


def code_version(modules: Sequence[str]) -> str:
    """A hash of the source files of ``modules`` (in sorted order, each with its name)."""
    digest = hashlib.sha256()
    for module in sorted(set(modules)):
        digest.update(module.encode() + b"\0" + module_file(module).read_bytes() + b"\0")
    return digest.hexdigest()[:16]
