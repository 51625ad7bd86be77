"""dbt's events in a forked dbt command (orchestration/dbt_fork.py, DECISIONLOG 134 and 169):
each logger writes exactly what it wrote before, and an event no logger writes is not made into a
message at all, nor are its fields parsed."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

# Fires a set of events at loggers of the levels given, with and without the change, and prints
# what each logger wrote (JSON lines without the time, process and invocation) and how many
# messages were built.
SCRIPT = """
import io, json, sys
from dbt.adapters.events.types import ConnectionUsed, SQLQuery
from dbt.events.logging import track_behavior_change_warn
from dbt_common.events import base_types, event_manager
from dbt_common.events.base_types import EventLevel
from dbt_common.events.event_manager import EventManager
from dbt_common.events.logger import LineFormat, LoggerConfig
from dbt_common.events.types import Note, PrintEvent

if sys.argv[1] == "1":
    from orchestration.dbt_fork import parse_event_fields_when_used, skip_unlogged_events
    skip_unlogged_events()
    parse_event_fields_when_used()

built = []
build = event_manager.msg_from_base_event
event_manager.msg_from_base_event = lambda *a, **k: built.append(1) or build(*a, **k)
# every parse of an event's fields (and of a message's info, one per message built)
parsed = []
parse = base_types.ParseDict
base_types.ParseDict = lambda *a, **k: parsed.append(1) or parse(*a, **k)


def scenario(levels, callback):
    built.clear()
    parsed.clear()
    manager = EventManager()
    streams = []
    for number, level in enumerate(levels):
        streams.append(io.StringIO())
        manager.add_logger(LoggerConfig(
            name=f"log{number}", level=EventLevel(level), line_format=LineFormat.Json,
            output_stream=streams[-1]))
    manager.add_callback(track_behavior_change_warn)
    heard = []
    if callback:
        manager.add_callback(lambda msg: heard.append(msg.info.name))

    manager.fire_event(SQLQuery(conn_name="main", sql="select 1", node_info={}))
    manager.fire_event(ConnectionUsed(conn_type="duckdb", conn_name="main", node_info={}))
    manager.fire_event(Note(msg="a note"))
    manager.fire_event(Note(msg="a note at debug"), level=EventLevel.DEBUG)
    manager.fire_event(Note(msg="a note raised to warn"), level=EventLevel.WARN)
    manager.fire_event(PrintEvent(msg="printed at debug"), level=EventLevel.DEBUG)

    def lines(stream):
        out = []
        for line in stream.getvalue().splitlines():
            event = json.loads(line)
            for varying in ("ts", "pid", "invocation_id"):
                del event["info"][varying]
            out.append(event)
        return out

    written = [lines(stream) for stream in streams]
    return {"written": written, "built": len(built), "parsed": len(parsed), "heard": heard}


print(json.dumps([scenario(levels.split(","), callback == "1") for levels, callback in
                  (arg.split(":") for arg in sys.argv[2:])]))
"""


#: (logger levels, a listener of every event) of each scenario
SCENARIOS = [
    ("info", False),
    ("info,info", False),
    ("info,debug", False),
    ("warn", False),
    ("info", True),
]


def fire(patched: bool) -> dict[tuple[str, bool], dict]:
    """Each scenario's written lines, built messages and heard events, in one process."""
    args = [f"{levels}:{int(callback)}" for levels, callback in SCENARIOS]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(int(patched)), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return dict(zip(SCENARIOS, json.loads(done.stdout), strict=True))


@pytest.fixture(scope="module")
def before_and_after() -> tuple[dict, dict]:
    return fire(False), fire(True)


@pytest.mark.parametrize(("levels", "callback"), SCENARIOS)
def test_every_logger_writes_what_it_wrote_before(before_and_after, levels, callback):
    before, after = (results[(levels, callback)] for results in before_and_after)
    assert after["written"] == before["written"]
    assert after["heard"] == before["heard"]


def test_an_event_no_logger_writes_is_not_built(before_and_after):
    # six events: two at debug, one note at debug, one print at debug; at info only the note,
    # the note raised to warn and the print are written, and only they are built
    before, after = before_and_after
    at_info = after[("info", False)]
    assert [[e["info"]["msg"] for e in log] for log in at_info["written"]] == [
        ["a note", "a note raised to warn", "printed at debug"]
    ]
    assert at_info["built"] == 3
    assert before[("info", False)]["built"] == 6
    # nor are their fields parsed: the three written events' fields and their messages' info
    assert at_info["parsed"] == 3 + 3
    assert before[("info", False)]["parsed"] == 6 + 6
    # a logger at debug, or a listener of every event, brings every event back
    assert after[("info,debug", False)]["built"] == 6
    assert after[("info", True)]["built"] == 6
    assert after[("info", True)]["parsed"] == 6 + 6
    assert len(after[("info,debug", False)]["written"][1]) == 6
