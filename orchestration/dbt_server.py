"""dbt commands started from a process that has already imported dbt (DECISIONLOG 99).

Every dbt step runs ``dbt build`` as a new process (dagster-dbt streams its JSON log), and every
such process first imports dbt-core and its DuckDB adapter: 1.2 to 1.8 s of a demo dbt step that
takes 6 to 14 s, three times a run, and again in each of the test suite's builds. Here a server
process imports them once; each dbt command forks from it and runs exactly what the ``dbt``
executable runs (``dbt.cli.main.cli``), with the command's own arguments, working directory,
environment and standard streams.

- **The server** (``python -m orchestration.dbt_server serve SOCKET``) is started by the dbt
  resource (``orchestration.project.WarehouseDbtCli``) once per Dagster process, on a Unix
  socket in a private temporary folder. It ends when that process ends (``atexit``) or, if it
  was killed, within a second (its parent changes).
- **The client** is the dbt executable dagster-dbt starts (``touchpoint-dbt``, a script of this
  project). It sends its arguments, folder, environment and its stdin, stdout and stderr (file
  descriptors, over the socket) to the server, forwards SIGINT and SIGTERM to the forked dbt,
  and exits with dbt's exit status. Without a server (the variable ``TOUCHPOINT_DBT_SERVER``
  unset, or the socket gone) it replaces itself with the ``dbt`` beside it: the same command,
  with the import paid.
- **The warm-up** (``orchestration.dbt_fork``): between commands, the server also computes what
  each command would compute for itself on first use (the project's JSON schemas, the manifest's
  readers and writers, every macro's template), so each fork inherits it; and a forked
  ``build`` writes ``manifest.json`` once, after its run (DECISIONLOG 130).
- **The forked dbt** sets up its streams as a Python started with that environment would
  (``PYTHONUNBUFFERED``, which dagster-dbt sets), runs the command, reports its exit status to
  the client and ends without Python's teardown (its files are closed by dbt). It ends at once
  if the client goes away (killed), as a dbt process would with its parent's pipe gone.

dbt reads its settings from the arguments and the environment when the command runs, not at
import, so a forked command behaves as a new process does; the test suite runs every one of its
dbt builds this way.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from orchestration.dagster_cli import exit_code

#: the socket of this process's server, as dbt commands are told (through their environment)
SERVER_ENV = "TOUCHPOINT_DBT_SERVER"
#: what the server imports before it accepts a command: dbt's command line (1.2 s) and what a
#: build imports besides, except the DuckDB adapter: importing duckdb starts a thread, and a
#: process must not fork with threads (the adapter takes 0.05 s in each command)
PRELOAD = (
    "dbt.cli.main",
    "dbt.adapters.sql.impl",
    "dbt.compilation",
    "dbt.parser.sql",
    "dbt.task.build",
    "dbt.task.run",
    "dbt.task.test",
    "sqlparse",
)
_HEADER = struct.Struct("!Q")
_STATUS = struct.Struct("!i")


# --- the client: the executable dagster-dbt runs ---------------------------------------------


def real_dbt() -> str:
    """The ``dbt`` executable beside this Python (the project's environment)."""
    return str(Path(sys.executable).with_name("dbt"))


def client(argv: list[str] | None = None) -> None:
    """Run ``dbt`` with ``argv`` (default: this process's arguments) through the server."""
    args = list(sys.argv[1:] if argv is None else argv)
    path = os.environ.get(SERVER_ENV)
    conn = _connect(path) if path else None
    if conn is None:
        os.execv(real_dbt(), ["dbt", *args])  # noqa: S606 - the same command, without the server
    request = json.dumps({"argv": ["dbt", *args], "cwd": os.getcwd(), "env": dict(os.environ)})
    payload = request.encode()
    # SIGINT and SIGTERM go to the command; one that comes before it has started waits for it
    forked: list[int] = []
    pending: list[int] = []

    def forward(signum: int, _frame: Any) -> None:
        if not forked:
            pending.append(signum)
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(forked[0], signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    try:
        socket.send_fds(conn, [_HEADER.pack(len(payload))], [0, 1, 2])
        conn.sendall(payload)
        reply = _read_line(conn)
    except OSError:
        reply = b""
    if not reply:  # the server stopped before forking the command: run it here
        if pending:
            sys.exit(130)  # interrupted before anything ran
        os.execv(real_dbt(), ["dbt", *args])  # noqa: S606
    forked.append(int(json.loads(reply)["pid"]))
    for signum in pending:
        forward(signum, None)
    status = _read_exactly(conn, _STATUS.size)
    # no status: dbt was killed (by a signal it did not handle) before it could report one
    sys.exit(_STATUS.unpack(status)[0] if status else 1)


def _connect(path: str) -> socket.socket | None:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
    except OSError:
        conn.close()
        return None
    return conn


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        try:
            chunk = conn.recv(size - len(data))
        except InterruptedError:
            continue
        if not chunk:
            return b""
        data += chunk
    return data


def _read_line(conn: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(1)
        if not chunk:
            return b""
        data += chunk
    return data


# --- the server ------------------------------------------------------------------------------


def serve(path: str, parent: int) -> None:
    """Accept dbt commands on ``path`` until process ``parent`` is gone."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)  # first: a command sent while the imports run waits in the backlog
    server.listen(16)
    import importlib

    for module in PRELOAD:
        importlib.import_module(module)
    if _threads() > 1:
        return  # an import started a thread: no forks (the clients run dbt themselves)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the forked commands are reaped by the kernel
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the terminal's ^C is for the commands
    from orchestration.dbt_fork import cache_compiled_templates, warm_step, warm_up

    cache_compiled_templates()  # before the warm-up, which fills its cache for the commands
    warming: Iterator[None] | None = warm_up()
    while os.getppid() == parent:
        # a command waiting is forked at once; between commands, the warm-up goes on in steps
        if not select.select([server], [], [], 0.0 if warming else 1.0)[0]:
            if warming is not None:
                warming = warm_step(warming)
                if _threads() > 1:
                    return  # the warm-up started a thread: no more forks
            continue
        try:
            conn, _ = server.accept()
        except OSError:
            continue
        conn.settimeout(None)
        try:
            message, fds, _, _ = socket.recv_fds(conn, _HEADER.size, 3)
            request = json.loads(_read_exactly(conn, _HEADER.unpack(message)[0]))
        except (OSError, ValueError, struct.error):
            conn.close()
            continue
        if os.fork() == 0:
            server.close()
            _run_command(conn, request, fds)  # never returns
        for fd in fds:
            os.close(fd)
        conn.close()  # the command's copy stays open: it reports to the client itself


def _threads() -> int:
    """This process's threads, native ones included where the system lists them."""
    tasks = "/proc/self/task"
    return len(os.listdir(tasks)) if os.path.isdir(tasks) else threading.active_count()


def _run_command(conn: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
    """In the forked process: become the dbt command of ``request`` and end with its status."""
    code = 1
    try:
        # its own process group: a terminal's ^C reaches it through the client, which forwards
        # it, as does dagster-dbt's own SIGINT: twice, as it reached a dbt process started directly
        os.setpgid(0, 0)
        conn.sendall(json.dumps({"pid": os.getpid()}).encode() + b"\n")
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for target, fd in zip((0, 1, 2), fds, strict=True):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        _reopen_standard_streams()
        sys.argv = list(request["argv"])
        threading.Thread(target=_end_with_client, args=(conn,), daemon=True).start()
        from dbt.cli.main import cli

        from orchestration.dbt_context import build_macro_namespaces_with_fewer_calls
        from orchestration.dbt_credentials import reuse_in_command
        from orchestration.dbt_fork import (
            name_behavior_flags_from_frames,
            parse_event_fields_when_used,
            reuse_type_testers,
            skip_graph_pickle,
            skip_unlogged_events,
            write_manifest_once,
        )

        write_manifest_once()
        skip_graph_pickle()
        skip_unlogged_events()
        parse_event_fields_when_used()
        reuse_type_testers()
        name_behavior_flags_from_frames()
        reuse_in_command()
        build_macro_namespaces_with_fewer_calls()

        try:
            cli.main(args=sys.argv[1:], prog_name="dbt")
            code = 0
        except SystemExit as exit_:
            code = exit_code(exit_.code)
    except BaseException:  # noqa: BLE001 - reported as a process would, on stderr
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # the reader may be gone
                stream.flush()
        with contextlib.suppress(OSError):
            conn.sendall(_STATUS.pack(code))
        os._exit(code)


def _end_with_client(conn: socket.socket) -> None:
    """End this command when its client is gone (it sends nothing more; EOF means it died)."""
    with contextlib.suppress(OSError):
        while conn.recv(1):
            pass
    os.kill(os.getpid(), signal.SIGKILL)


def _reopen_standard_streams() -> None:
    """sys.stdin, stdout and stderr on the command's descriptors, buffered as a new Python
    process with this environment would buffer them."""
    unbuffered = bool(os.environ.get("PYTHONUNBUFFERED"))
    encoding = os.environ.get("PYTHONIOENCODING") or None
    sys.stdin = io.TextIOWrapper(open(0, "rb", closefd=False), encoding=encoding)  # noqa: SIM115
    for name, fd in (("stdout", 1), ("stderr", 2)):
        raw = open(fd, "wb", buffering=0, closefd=False)  # noqa: SIM115
        binary = raw if unbuffered else io.BufferedWriter(raw)
        tty = os.isatty(fd)
        stream = io.TextIOWrapper(
            binary,
            encoding=encoding,
            errors="backslashreplace" if name == "stderr" else None,
            line_buffering=tty or name == "stderr",
            write_through=unbuffered,
        )
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


# --- starting and stopping this process's server ---------------------------------------------

_lock = threading.Lock()
_server: dict[str, Any] = {}


def ensure_started() -> str | None:
    """The socket of this process's dbt server, started on first use; None where there is none
    (no ``touchpoint-dbt`` beside this Python, or not on Linux/macOS)."""
    if not hasattr(os, "fork") or not Path(client_executable()).exists():
        return None
    with _lock:
        process = _server.get("process")
        if process is not None and process.poll() is None:
            return _server["path"]
        folder = tempfile.mkdtemp(prefix="touchpoint-dbt-")
        path = os.path.join(folder, "socket")
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "orchestration.dbt_server", "serve", path, str(os.getpid())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=None,
        )
        _server.update(process=process, path=path, folder=folder)
        if not _server.get("registered"):
            atexit.register(stop)
            _server["registered"] = True
        return path


def stop() -> None:
    """Stop this process's server (at exit)."""
    with _lock:
        process = _server.pop("process", None)
        folder = _server.pop("folder", None)
        _server.pop("path", None)
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
    if folder:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


def client_executable() -> str:
    """``touchpoint-dbt``, the client script, beside this Python."""
    return str(Path(sys.executable).with_name("touchpoint-dbt"))


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        client(sys.argv[1:])
