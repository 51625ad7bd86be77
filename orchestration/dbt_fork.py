"""What the dbt server (``orchestration.dbt_server``) does besides forking: the work it does
once for all the commands it forks, and the one write of dbt's it spares them (DECISIONLOG 130).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from touchpoint_alchemy.dbt_targets import PARSE_CACHE, target_base


def warm_up() -> Iterator[None]:
    """Compute, once in the server, what every dbt command of this project would compute for
    itself on first use, so that each forked command inherits it (DECISIONLOG 130). Yields
    between steps, so that a command never waits for more than one step (about 0.1 s):

    - the JSON schemas dbt validates the project against (built on first use, then cached on
      the class);
    - mashumaro's readers and writers of the manifest (generated on first use): the saved parse
      is read, as each command reads it, and written out as a manifest, as each writes it;
    - the Jinja templates of every macro: dbt compiles a macro's template the first time a
      command calls it and keeps it by its text (``dbt_common.clients.jinja.template_cache``).

    Nothing here opens a database, starts a thread or writes a file. Without a saved parse (a
    project never parsed) only the schemas are built."""
    from dbt.contracts.graph.manifest import Manifest
    from dbt.contracts.project import Configuration, Project
    from dbt_common.clients.jinja import template_cache

    Project.json_schema()
    Configuration.json_schema()
    yield
    saved = sorted(
        (target_base() / PARSE_CACHE).glob("*.msgpack"), key=lambda path: path.stat().st_mtime
    )
    if not saved:
        return
    manifest = Manifest.from_msgpack(saved[-1].read_bytes())
    yield
    with _flags(SEND_ANONYMOUS_USAGE_STATS=False):
        manifest.writable_manifest().to_dict(omit_none=False)
    yield
    for number, macro in enumerate(manifest.macros.values(), start=1):
        template_cache.get_node_template(macro)
        if number % 40 == 0:
            yield


def warm_step(warming: Iterator[None]) -> Iterator[None] | None:
    """One step of the warm-up; None when it is over (or failed: it only ever saves time)."""
    try:
        next(warming)
    except StopIteration:
        return None
    except Exception:  # noqa: BLE001 - a command forked without the warm-up works the same
        return None
    return warming


@contextlib.contextmanager
def _flags(**values: Any) -> Iterator[None]:
    """dbt's global flags set to ``values`` for the block (the manifest's writer reads one);
    each command sets its own flags when it starts."""
    from argparse import Namespace

    from dbt import flags

    before = flags.get_flags()
    flags.set_flags(Namespace(**values))
    try:
        yield
    finally:
        flags.set_flags(before)


#: the commands whose task writes manifest.json when it has run (with the compiled code)
WRITE_MANIFEST_AFTER_RUN = frozenset({"build", "run", "test", "seed"})


def write_manifest_once() -> None:
    """Skip the first of the two manifest.json a ``build`` (``run``, ``test``, ``seed``) writes.

    dbt writes the manifest once after reading the project and again after the run, with the
    compiled code; the second overwrites the first, and nothing reads the target folder while
    dbt runs. The first cost 0.4 to 0.6 s of every demo dbt step (DECISIONLOG 130). Other
    commands (``parse``, ``compile``, ``docs``) write as dbt writes."""
    import dbt.cli.requires
    from dbt.flags import get_flags

    parse_manifest = dbt.cli.requires.parse_manifest

    def parse_and_write_later(
        runtime_config: Any,
        write_perf_info: bool,
        write: bool,
        write_json: bool,
        active_integrations: Any,
    ) -> Any:
        if getattr(get_flags(), "WHICH", None) in WRITE_MANIFEST_AFTER_RUN:
            write = False
        return parse_manifest(
            runtime_config, write_perf_info, write, write_json, active_integrations
        )

    dbt.cli.requires.parse_manifest = parse_and_write_later
