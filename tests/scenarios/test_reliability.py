"""Reliability: freshness checks on the raw data, retries of transient failures only, and the
structured record (plus webhook) of a failed run. Real Dagster runs, a real lock held by another
process, a real HTTP server."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

import dagster as dg
import duckdb
import pytest

from touchpoint_alchemy.settings import DEMO_RAW_DATA_DIR, Settings, last_partition_key

from builds import DATA_DIR, build_warehouse

SMALL_RAW_DATA_DIR = DATA_DIR / "cohorts_small"


def run_freshness_checks(warehouse_path, monkeypatch, **env):
    from orchestration.definitions import defs
    from orchestration.reliability import raw_freshness_checks
    from orchestration.resources import build_resources

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    checks = raw_freshness_checks()
    keys = [key for check in checks for key in check.check_keys]
    settings = Settings(warehouse_path=warehouse_path, raw_data_dir=DEMO_RAW_DATA_DIR)
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [*defs.assets, *checks],
            selection=dg.AssetSelection.checks(*keys),
            resources=build_resources(settings),
            instance=instance,
            raise_on_error=False,
        )
    return {e.asset_key.path[-1]: e for e in result.get_asset_check_evaluations()}


def test_stale_demo_data_warns_and_a_generous_limit_passes(demo_warehouse, tmp_path, monkeypatch):
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_warehouse.path, copy)
    stale = run_freshness_checks(copy, monkeypatch)
    assert set(stale) == {
        "stg_users",
        "stg_touchpoints",
        "stg_orders",
        "stg_marketing_spend",
        "stg_nps_responses",
        "stg_experiment_assignments",
    }
    for evaluation in stale.values():
        assert not evaluation.passed
        assert evaluation.severity == dg.AssetCheckSeverity.WARN
    newest = stale["stg_touchpoints"].metadata["newest"].value
    latest = demo_warehouse.df("select max(occurred_at) as t from staging.stg_touchpoints")["t"][0]
    assert newest == str(latest)

    fresh = run_freshness_checks(copy, monkeypatch, RAW_FRESHNESS_HOURS="1000000")
    assert all(evaluation.passed for evaluation in fresh.values())


def test_a_stale_file_fails_the_run_when_configured(tmp_path, monkeypatch):
    """RAW_FRESHNESS_ACTION=fail: the check steps fail, naming the file, and the run fails (the
    small fixture: its data is from 2025, so every file is stale)."""
    monkeypatch.setenv("RAW_FRESHNESS_ACTION", "fail")
    result = build_warehouse(
        SMALL_RAW_DATA_DIR, tmp_path / "warehouse.duckdb", raise_on_error=False
    )
    assert not result.success
    failures = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert {e.step_key for e in failures} == {
        f"staging__stg_{name}_raw_fresh"
        for name in (
            "users",
            "touchpoints",
            "orders",
            "marketing_spend",
            "nps_responses",
            "experiment_assignments",
        )
    }
    message = next(e for e in failures if "touchpoints" in e.step_key).event_specific_data
    assert "Raw file 'touchpoints' is stale" in message.error.message


LOCK_HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("create table if not exists held (x int)")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def test_a_locked_warehouse_is_retried_until_the_lock_is_gone(tmp_path):
    """Another process holds the DuckDB file for 5 s: the first step of a build, which opens
    it, fails on the lock, is retried after 10 s (TRANSIENT_RETRY), and succeeds. Only that
    step runs (the raw files, a small fixture): the point is the lock, not the build."""
    path = tmp_path / "warehouse.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(path), "5"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        # raw_files opens the published warehouse first: it reads the fingerprint of the HMAC
        # key the warehouse was built with (check_salt_rotation)
        result = build_warehouse(
            SMALL_RAW_DATA_DIR,
            path,
            raise_on_error=False,
            selection=dg.AssetSelection.key_prefixes("raw"),
        )
    finally:
        holder.wait(timeout=60)
    assert result.success
    restarts = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_RESTARTED]
    assert [e.step_key for e in restarts] == ["raw_files"]
    errors = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert not errors


#: one run of the raw step and the publish step into a warehouse, in a process of its own: prints
#: its run id and when it published
RAW_AND_PUBLISH = """
import sys
sys.path.insert(0, sys.argv[3])
from pathlib import Path
import dagster as dg
from builds import build_warehouse
result = build_warehouse(
    Path(sys.argv[1]), Path(sys.argv[2]),
    selection=dg.AssetSelection.key_prefixes("raw")
    | dg.AssetSelection.keys("warehouse/published_snapshot"),
)
assert result.success
print(result.run_id)
"""


def test_two_runs_started_at_once_publish_one_after_the_other(tmp_path):
    """Two runs of the same warehouse started together (the CLI does not go through Dagster's
    run queue): the second waits for the warehouse lock, copies the first one's snapshot and
    publishes over it. The raw step's ledger shows it: the parts of the published snapshot were
    recorded by the first run and kept by the second, which started from its snapshot; had the
    two raced, each would have started from nothing and recorded the parts itself."""
    from touchpoint_alchemy.snapshots import WarehouseLock

    path = tmp_path / "warehouse.duckdb"
    support = str(DATA_DIR.parent / "support")
    # Held here until both runs are under way, so that they overlap for sure.
    held = WarehouseLock(path)
    held.acquire()
    held.mark("the test")
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", RAW_AND_PUBLISH, str(SMALL_RAW_DATA_DIR), str(path), support],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    errors: list[list[str]] = [[], []]
    readers = [
        threading.Thread(target=lambda run=run, lines=lines: lines.extend(run.stderr), daemon=True)
        for run, lines in zip(runs, errors, strict=True)
    ]
    for reader in readers:
        reader.start()
    try:
        deadline = time.monotonic() + 240
        while not all(any("Waiting for the test" in line for line in lines) for lines in errors):
            assert time.monotonic() < deadline, "the runs did not wait for the lock"
            assert all(run.poll() is None for run in runs), "a run ended without waiting"
            time.sleep(0.5)
        assert not path.exists()  # neither run got past the lock
    finally:
        held.release()
    outputs = []
    for run, reader, lines in zip(runs, readers, errors, strict=True):
        out = run.stdout.read()
        run.wait(timeout=300)
        reader.join(timeout=30)
        outputs.append((out, "".join(lines)))
    for run, (_, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err[-3000:]
    run_ids = {out.strip().splitlines()[-1] for out, _ in outputs}
    assert len(run_ids) == 2
    with duckdb.connect(str(path), read_only=True) as con:
        (last,) = con.execute("select run_id from audit.build_info()").fetchone()
        recorded = {
            row[0] for row in con.execute("select recorded_by_run from audit.raw_parts").fetchall()
        }
    (first,) = run_ids - {last}
    assert recorded == {first}


def _attempt_counting_asset(counter, body):
    """A tiny Python asset, wrapped like every asset of the code location, that appends a line
    to ``counter`` on every attempt and then runs ``body``. Its retry policy is the project's
    without the delays (2 retries), to keep the test short."""
    from orchestration.retries import fail_fast_unless_transient

    @dg.asset(retry_policy=dg.RetryPolicy(max_retries=2))
    @fail_fast_unless_transient
    def attempted(context) -> None:
        with counter.open("a") as attempts:
            attempts.write(f"attempt {context.retry_number}\n")
        body()

    return attempted


def _step_events(result, kind):
    return [e for e in result.all_events if e.event_type == kind]


def test_a_non_transient_error_in_a_python_asset_is_attempted_once(tmp_path):
    from orchestration.console import failure_paragraph

    counter = tmp_path / "attempts.txt"

    def broken():
        raise ValueError("Column monetary_value contains zeroes or negative values")

    result = dg.materialize([_attempt_counting_asset(counter, broken)], raise_on_error=False)
    assert not result.success
    assert counter.read_text().splitlines() == ["attempt 0"]
    assert not _step_events(result, dg.DagsterEventType.STEP_UP_FOR_RETRY)
    assert not _step_events(result, dg.DagsterEventType.STEP_RESTARTED)
    failure = _step_events(result, dg.DagsterEventType.STEP_FAILURE)[0]
    error = failure.event_specific_data.error
    assert error.cls_name == "Failure" and error.cause.cls_name == "ValueError"
    # what `make run` prints: the original message and its type, no stack trace
    paragraph = failure_paragraph([failure.message, *error.to_string().splitlines()])
    assert paragraph.startswith(
        "ValueError: Column monetary_value contains zeroes or negative values"
    )
    assert "Stack Trace" not in paragraph and 'File "' not in paragraph


def test_a_transient_error_in_a_python_asset_is_retried(tmp_path):
    """Another process holds a DuckDB file the asset opens: DuckDB's lock error is transient,
    so the wrapper lets it through and the retry policy tries again, twice."""
    held = tmp_path / "held.duckdb"
    counter = tmp_path / "attempts.txt"
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(held), "120"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        opens_held_file = lambda: duckdb.connect(str(held)).close()  # noqa: E731
        result = dg.materialize(
            [_attempt_counting_asset(counter, opens_held_file)], raise_on_error=False
        )
    finally:
        holder.kill()
        holder.wait(timeout=60)
    assert counter.read_text().splitlines() == ["attempt 0", "attempt 1", "attempt 2"]
    assert len(_step_events(result, dg.DagsterEventType.STEP_RESTARTED)) == 2
    error = _step_events(result, dg.DagsterEventType.STEP_FAILURE)[0].event_specific_data.error
    assert "Could not set lock" in error.to_string()


def _accepted_by(target: str, payload) -> bool:
    """What each target's incoming webhook requires of the JSON body. Slack
    (api.slack.com/messaging/webhooks) and Mattermost (developers.mattermost.com, incoming
    webhooks) answer 400 without a non-empty `text` (or blocks/attachments, which we don't send);
    a Teams connector's legacy message card needs `text` too."""
    if not isinstance(payload, dict):
        return False
    text = payload.get("text")
    return (
        isinstance(text, str) and bool(text.strip()) and target in ("slack", "mattermost", "teams")
    )


class _Receiver(BaseHTTPRequestHandler):
    """A local webhook: /slack, /mattermost, /teams validate the body the way the target does and
    answer 400 when it would be rejected."""

    received: list[tuple[str, dict]] = []

    def do_POST(self):  # noqa: N802 (http.server naming)
        length = int(self.headers["Content-Length"])
        target = self.path.strip("/")
        try:
            payload = json.loads(self.rfile.read(length))
        except ValueError:
            payload = None
        if self.headers.get("Content-Type") != "application/json" or not _accepted_by(
            target, payload
        ):
            self.send_response(400)
            self.end_headers()
            self.wfile.write(b"invalid_payload")
            return
        _Receiver.received.append((target, payload))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def test_a_failed_run_is_recorded_and_posted_without_retries(tmp_path, monkeypatch):
    from orchestration.definitions import defs
    from orchestration.reliability import failure_summary, post_webhook, record_run_failure
    from orchestration.resources import build_resources

    raw = tmp_path / "raw"
    shutil.copytree(DEMO_RAW_DATA_DIR, raw)
    (raw / "orders.csv").unlink()
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("RUN_FAILURE_DIR", str(tmp_path / "failures"))
    base_url = f"http://127.0.0.1:{server.server_port}"
    monkeypatch.setenv("RUN_FAILURE_WEBHOOK_URL", f"{base_url}/slack")
    _Receiver.received = []
    settings = Settings(warehouse_path=tmp_path / "warehouse.duckdb", raw_data_dir=raw)
    resources = build_resources(settings)
    try:
        with dg.DagsterInstance.ephemeral() as instance:
            result = dg.materialize(
                list(defs.assets),
                resources=resources,
                instance=instance,
                raise_on_error=False,
                partition_key=last_partition_key(),
            )
            assert not result.success
            # a data error is not retried
            assert not [
                e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_RESTARTED
            ]
            run = instance.get_run_by_id(result.run_id)
            failure = next(
                e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE
            )
            context = dg.build_run_status_sensor_context(
                sensor_name="record_run_failure",
                dagster_event=failure,
                dagster_instance=instance,
                dagster_run=run,
                # the sensor reads RUN_FAILURE_DIR and the webhook from the operations resource
                resources={"operations": resources["operations"]},
            ).for_run_failure()
            record_run_failure(context)
        record = json.loads(next((tmp_path / "failures").glob("*.json")).read_text())
        # the same payload lands in Mattermost and Teams; the bare record would not
        for target in ("mattermost", "teams"):
            assert post_webhook(f"{base_url}/{target}", record) == 200
        with pytest.raises(urllib.error.HTTPError, match="400"):
            urllib.request.urlopen(  # noqa: S310 (local test server)
                urllib.request.Request(
                    f"{base_url}/slack",
                    data=json.dumps(record).encode(),
                    headers={"Content-Type": "application/json"},
                )
            )
    finally:
        server.shutdown()
    files = list((tmp_path / "failures").glob("*.json"))
    assert len(files) == 1
    record = json.loads(files[0].read_text())
    assert record["run_id"] == result.run_id
    assert [step["step"] for step in record["failed_steps"]] == ["raw_files"]
    assert "orders" in record["failed_steps"][0]["error"]
    assert "missing" in record["failed_steps"][0]["error"].lower()
    assert [target for target, _ in _Receiver.received] == ["slack", "mattermost", "teams"]
    for _, payload in _Receiver.received:
        assert payload == {"text": failure_summary(record), "record": record}
    text = _Receiver.received[0][1]["text"]
    assert result.run_id in text and f"/runs/{result.run_id}" in text
    assert "Step raw_files: Failure: The raw data breaks the contract" in text
    assert "orders.csv exists" in text and "dagster._core" not in text


@pytest.mark.parametrize(
    ("message", "transient"),
    [
        ('IO Error: Could not set lock on file "w.duckdb": Conflicting lock is held', True),
        ("Resource temporarily unavailable", True),
        ("Binder Error: column x not found", False),
        ("Failure in test not_null_columns_customers", False),
        (None, False),
    ],
)
def test_only_transient_errors_are_retried(message, transient):
    from orchestration.retries import is_transient

    assert is_transient(message) is transient
