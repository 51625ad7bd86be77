"""The JSON schema of the adapter's credentials, built once for all the commands the dbt server
forks (``orchestration.dbt_server``, DECISIONLOG 168).

Each dbt command validates the profile's credentials against the JSON schema of the adapter's
credentials class, which mashumaro builds on first use: about 0.3 s of every command. The
server builds the other schemas before it forks (``orchestration.dbt_fork.warm_up``), but not
this one: the class's module imports duckdb, which starts a thread, and a process with a thread
must not fork. So a child of the server builds it and sends it back as JSON (a schema is plain
JSON data), and each forked command, which imports the adapter anyway, is given that schema for
the class instead of building it again.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import select
from collections.abc import Iterator
from typing import Any

#: the adapter's credentials class (dbt-duckdb), as a module and a name
CREDENTIALS = ("dbt.adapters.duckdb.credentials", "DuckDBCredentials")

#: the schema the server's child built (None until then, or if it failed)
_schema: dict[str, Any] | None = None


def _credentials_class() -> Any:
    module, name = CREDENTIALS
    return getattr(importlib.import_module(module), name)


def build_in_child() -> Iterator[None]:
    """In the server (no thread of its own): fork a child that imports the credentials class and
    writes its schema to a pipe, then read it; yields while the child works, so that a command
    arriving meanwhile is forked at once. Nothing is kept if the child fails."""
    global _schema
    readable, writable = os.pipe()
    child = os.fork()
    if child == 0:  # the child: never returns
        code = 1
        try:
            os.close(readable)
            with os.fdopen(writable, "wb") as out:
                out.write(json.dumps(_credentials_class().json_schema()).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(writable)
    with os.fdopen(readable, "rb") as source:
        while not select.select([source], [], [], 0.0)[0]:
            yield
        data = source.read()
    with contextlib.suppress(ChildProcessError):  # the server reaps its children (SIGCHLD)
        os.waitpid(child, 0)
    if data:
        _schema = json.loads(data)


def reuse_in_command() -> None:
    """In a forked command: the credentials class's ``json_schema`` returns the schema the server
    got from its child (a subclass's still builds its own). Nothing changes without one."""
    schema = _schema
    if schema is None:
        return
    credentials = _credentials_class()
    build = credentials.json_schema.__func__  # dbt's: cached per class (functools.lru_cache)

    def json_schema(cls: type) -> dict[str, Any]:
        return schema if cls is credentials else build(cls)

    credentials.json_schema = classmethod(json_schema)
