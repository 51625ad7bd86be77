"""What the dbt server (``orchestration.dbt_server``) does besides forking: the work it does
once for all the commands it forks, and the one write of dbt's it spares them (DECISIONLOG 130).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

from orchestration.dbt_credentials import build_in_child
from touchpoint_alchemy.dbt_targets import PARSE_CACHE, target_base


def warm_up() -> Iterator[None]:
    """Compute, once in the server, what every dbt command of this project would compute for
    itself on first use, so that each forked command inherits it (DECISIONLOG 130). Yields
    between steps, so that a command never waits for more than one step (about 0.1 s):

    - the JSON schemas dbt validates the project, its flags, packages, selectors, profile,
      hooks and column constraints against (built on first use, then cached on the class); the
      adapter's credentials' schema is built by a child of the server, as their class imports
      duckdb, which starts a thread (``orchestration.dbt_credentials``, DECISIONLOG 164, 168);
    - mashumaro's readers and writers of the manifest (generated on first use): the saved parse
      is read, as each command reads it, and written out as a manifest, as each writes it;
    - the Jinja templates of every macro: dbt compiles a macro's template the first time a
      command calls it and keeps it by its text (``dbt_common.clients.jinja.template_cache``);
    - the templates of every node's code, which dbt compiles each time it renders them, kept by
      :func:`cache_compiled_templates` (DECISIONLOG 167).

    Nothing here opens a database, starts a thread or writes a file. Without a saved parse (a
    project never parsed) only the schemas are built."""
    from dbt.artifacts.resources.v1.config import Hook
    from dbt.contracts.graph.manifest import Manifest
    from dbt.contracts.project import (
        Configuration,
        PackageConfig,
        ProfileConfig,
        Project,
        ProjectFlags,
    )
    from dbt.contracts.selection import SelectorFile
    from dbt_common.clients.jinja import template_cache
    from dbt_common.contracts.constraints import ColumnLevelConstraint

    for schema in (Project, Configuration, ProjectFlags, PackageConfig, ProfileConfig):
        schema.json_schema()
    yield
    for schema in (SelectorFile, Hook, ColumnLevelConstraint):
        schema.json_schema()
    yield
    yield from build_in_child()  # the credentials' schema (DECISIONLOG 168)
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
    yield from _compile_node_templates(manifest)


def _compile_node_templates(manifest: Any) -> Iterator[None]:
    """The templates of the nodes' own code (models, tests, seeds, analyses), each compiled once
    into the cache of :func:`cache_compiled_templates` (many generic tests share a text), in
    steps of 40 nodes. A node whose template does not compile is left to its command, which
    reports the error as dbt does."""
    import dbt.clients.jinja
    from dbt_common.exceptions import CompilationError

    for number, node in enumerate(manifest.nodes.values(), start=1):
        code = getattr(node, "raw_code", None)
        if isinstance(code, str) and _RENDERED.search(code):
            with contextlib.suppress(CompilationError):
                dbt.clients.jinja.get_template(code, {}, node)
        if number % 40 == 0:
            yield


#: what dbt's ``get_rendered`` renders (a text without it is returned as it is)
_RENDERED = re.compile(r"({[{%#]|[#}%]})")


def cache_compiled_templates() -> None:
    """Compile each template text once per process, not once per call (DECISIONLOG 167).

    dbt keeps the compiled templates of its macros, by their text, but not the others: each
    node's SQL, each argument of a generic test and each rendered setting is parsed, turned
    into Python source and compiled by ``get_template`` every time it is rendered, in a new
    Jinja environment. That was 45 CPU-s of the dbt commands of a ``make test`` (about 2 s of a
    demo run). The code a text compiles to depends only on the environment's class, its
    extensions and filters (all fixed for a class) and the ``capture_macros`` flag (the
    ``undefined`` class), so it is kept by those and the text, and each call makes its template
    from that code in the call's own environment with the call's globals, as
    ``Environment.from_string`` does after compiling. Applied in the server before its warm-up,
    which compiles the nodes' templates, so that every forked command inherits them. With dbt's
    macro debugging on (``DBT_MACRO_DEBUGGING``, which stores each compiled source under its
    own name) each call compiles, as in dbt."""
    import dbt.clients.jinja
    import dbt_common.clients.jinja as common

    if getattr(common.get_template, "_cached", False):
        return
    compile_each_time = common.get_template
    compiled: dict[tuple[type, bool, str], Any] = {}

    def get_template(
        string: Any,
        ctx: dict[str, Any],
        node: Any = None,
        capture_macros: bool = False,
        native: bool = False,
    ) -> Any:
        if common.MACRO_DEBUGGING:  # set by the command's flags (DBT_MACRO_DEBUGGING)
            return compile_each_time(string, ctx, node, capture_macros, native)
        with common.catch_jinja(node):
            env = common.get_environment(node, capture_macros, native=native)
            source = str(string)
            key = (type(env), capture_macros, source)
            code = compiled.get(key)
            if code is None:
                code = compiled[key] = env.compile(source)
            return env.template_class.from_code(env, code, env.make_globals(ctx), None)

    get_template._cached = True  # type: ignore[attr-defined]
    common.get_template = get_template
    dbt.clients.jinja.get_template = get_template


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


def skip_graph_pickle() -> None:
    """Skip ``graph.gpickle`` in a forked ``build`` (``run``, ``test``, ``seed``).

    dbt pickles its node graph, with every node's attributes, into the target folder each time it
    compiles the manifest: 0.2 to 0.3 s of every dbt step (DECISIONLOG 164). Nothing reads the
    file: not dbt (it builds the graph again from the manifest in every command), not
    dagster-dbt, not this project. ``graph_summary.json`` is still written, and plain dbt and
    the other commands write the pickle as dbt does."""
    from dbt.compilation import Compiler
    from dbt.flags import get_flags

    write_graph_file = Compiler.write_graph_file

    def write_unless_run(self: Compiler, linker: Any, manifest: Any) -> None:
        if getattr(get_flags(), "WHICH", None) not in WRITE_MANIFEST_AFTER_RUN:
            write_graph_file(self, linker, manifest)

    Compiler.write_graph_file = write_unless_run


def reuse_type_testers() -> None:
    """Build each of dbt's agate type testers once per command, not once per query result.

    dbt turns every result it fetches (a column list, a test's failures, an introspection query)
    into an agate table, through a type tester built for the call: seven agate types, two of
    them date parsers that each set up a ``parsedatetime`` calendar. That was 0.2 to 0.3 s of
    each dbt step of a demo run (DECISIONLOG 164). The testers hold settings only (the types,
    the forced text columns), so one per set of arguments serves every call. So does the empty
    table dbt returns for each statement that fetches nothing (about 1,700 a demo run, 1.1 ms
    each: ``agate.Table(rows=[])`` builds agate's default type tester every time; DECISIONLOG
    172): agate tables are immutable, so one serves every statement."""
    from dbt_common.clients import agate_helper

    build = agate_helper.build_type_tester
    built: dict[tuple[tuple[str, ...], tuple[str, ...] | None], Any] = {}

    def build_once(text_columns: Any, string_null_values: Any = ("null", "")) -> Any:
        key = (
            tuple(text_columns),
            None if string_null_values is None else tuple(string_null_values),
        )
        if key not in built:
            built[key] = build(text_columns, string_null_values=string_null_values)
        return built[key]

    agate_helper.build_type_tester = build_once
    empty = agate_helper.empty_table()
    agate_helper.empty_table = lambda: empty


def name_behavior_flags_from_frames() -> None:
    """Find the module that declares a behavior flag from the calling frames' globals, not
    through ``inspect.stack()``.

    dbt gives each behavior flag without a ``source`` the name of the module that declared it,
    found with ``inspect.stack()``, which reads the source file of every frame of the stack; the
    adapter declares its flags in every command, and that was about 0.16 s of each (DECISIONLOG
    165). The frames' own module names give the same answer: the first module on the stack other
    than ``dbt_common.behavior_flags``."""
    import sys

    from dbt_common import behavior_flags

    def default_source() -> str:
        frame = sys._getframe(1)  # noqa: SLF001 - the caller's frames, without their source
        while frame is not None:
            name = frame.f_globals.get("__name__")
            if name and name != behavior_flags.__name__:
                return name
            frame = frame.f_back
        return "Unknown"

    behavior_flags.BehaviorFlagRendered._default_source = staticmethod(default_source)


def skip_unlogged_events() -> None:
    """Build no log line, and no message, for an event that no logger of the command writes.

    dbt fires an event for each statement it runs, each connection it opens or names, each
    compiled file it writes: about fifteen per node, most of them at ``debug``. Each event is
    turned into a protobuf message, and each logger turns that message into its line (JSON on
    stdout for Dagster, text in ``dbt.log``) before Python's logging drops the line for being
    below the logger's level (``info`` for both here: ``orchestration.project``). That was 5 s of
    the 22 s dbt's node thread took in a demo run (DECISIONLOG 134).

    Here a logger formats only the events at or above its level, as it writes only those; and an
    event below the level of every logger is not made into a message at all, when nothing else
    listens to events (dbt's own listener of behaviour-change warnings aside, which reads
    warnings only) and dbt has not been asked to check that events serialize. With a logger at
    ``debug`` (``DBT_LOG_LEVEL_FILE=debug``, ``--debug``) every event is built and written as
    before. A print event (dbt's ``print`` in a macro) always is: dbt writes it as an error."""
    import logging
    import os

    from dbt.events.logging import track_behavior_change_warn
    from dbt_common.events.base_types import EventLevel
    from dbt_common.events.event_manager import EventManager
    from dbt_common.events.logger import PRINT_EVENT_NAMES, _log_level_map, _Logger

    levels = {level.value: _log_level_map[level] for level in EventLevel}
    write_line = _Logger.write_line
    fire_event = EventManager.fire_event

    def write_line_at_level(self: _Logger, msg: Any) -> None:
        if levels[msg.info.level] < _log_level_map[self.level] and (
            msg.info.name not in PRINT_EVENT_NAMES
        ):
            return
        write_line(self, msg)

    def fire_event_if_logged(
        self: EventManager,
        e: Any,
        level: EventLevel | None = None,
        node: Any = None,
        force_warn_or_error_handling: bool = False,
    ) -> None:
        if (
            not force_warn_or_error_handling
            and all(callback is track_behavior_change_warn for callback in self.callbacks)
            and not os.environ.get("DBT_TEST_BINARY_SERIALIZATION")
            and type(e).__name__ not in PRINT_EVENT_NAMES
        ):
            number = levels[(level or e.level_tag()).value]
            if number < logging.WARNING and all(
                number < _log_level_map[logger.level] for logger in self.loggers
            ):
                return
        fire_event(self, e, level, node, force_warn_or_error_handling)

    _Logger.write_line = write_line_at_level
    EventManager.fire_event = fire_event_if_logged


def parse_event_fields_when_used() -> None:
    """Turn an event's fields into its protobuf message when something reads it, not when the
    event is made.

    dbt makes each event with ``ParseDict`` over its fields (protobuf's pure-Python JSON
    reader), whether or not a logger writes it. :func:`skip_unlogged_events` drops the events
    below every logger's level before anything reads them, so their fields were parsed for
    nothing: about fifteen events a node, 0.3 to 0.5 ms each (DECISIONLOG 169). An event read
    (logged, listened to, raised as an error) parses its fields on that first read, with dbt's
    own code, into the same message; the fields are the ones it was made with. A field dbt
    cannot parse is reported when the event is read, not when it is made."""
    from dbt_common.events.base_types import BaseEvent

    make = BaseEvent.__init__

    def keep_fields(self: BaseEvent, *args: Any, **kwargs: Any) -> None:
        object.__setattr__(self, "_fields", (args, kwargs))

    def message(self: BaseEvent) -> Any:
        with contextlib.suppress(KeyError):
            return self.__dict__["pb_msg"]
        args, kwargs = self.__dict__["_fields"]
        make(self, *args, **kwargs)
        return self.__dict__["pb_msg"]

    def get_field(self: BaseEvent, key: str) -> Any:
        if key == "pb_msg":
            return message(self)
        return message(self).__getattribute__(key)

    def set_field(self: BaseEvent, key: str, value: Any) -> None:
        if key == "pb_msg":
            object.__setattr__(self, key, value)
        else:
            message(self).__setattr__(key, value)

    BaseEvent.__init__ = keep_fields
    BaseEvent.__getattr__ = get_field
    BaseEvent.__setattr__ = set_field
