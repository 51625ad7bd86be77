"""The PII hash is HMAC-SHA-256 keyed with PII_HASH_SALT, the same on DuckDB and Spark.

Python's ``hmac`` module is the reference: the key derivation of ``touchpoint_alchemy.pii_key``
(pads, fingerprint) is checked against it, and so are the hashes dbt writes for a tiny users file
with non-ASCII e-mails and phones and a non-ASCII key longer than one SHA-256 block (64 bytes),
built with real dbt (``dbt run --select base_users``) on DuckDB (and, under ``make test-spark``,
on Spark). The key itself must not appear in what dbt wrote for that build.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from touchpoint_alchemy import pii_key, snapshots
from touchpoint_alchemy.settings import DBT_PROJECT_DIR

#: 101 bytes in UTF-8 (hashed to 32 bytes before padding); quote, backslash, $ and braces
LONG_KEY = "clé-très-secrète-ключ-" + "x" * 60 + "'\\${}%+ -end"
USERS_CSV = """\
user_id,signed_up_at,acquisition_channel,device_type,city,email,phone,consent_analytics
n1,2025-01-01T00:00:00Z,organic,mobile,Zürich,  Jörg.Müller@Exämple.CH ,+41 44 668 18 00,true
n2,2025-01-01T00:00:00Z,organic,mobile,北京,王伟@例子.中国,+86 138-0013-8000,true
n3,2025-01-01T00:00:00Z,organic,mobile,Paris,ascii@example.com,,true
n4,2025-01-01T00:00:00Z,organic,mobile,Nowhere,,,true
"""
#: the normalised values of USERS_CSV, by hand: e-mail trimmed and lower-cased, phone digits
#: and a leading +
NORMALISED = {
    "n1": ("jörg.müller@exämple.ch", "+41446681800"),
    "n2": ("王伟@例子.中国", "+8613800138000"),
    "n3": ("ascii@example.com", None),
    "n4": (None, None),
}


def reference(key: str, value: str | None) -> str | None:
    if value is None:
        return None
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


# --- the key derivation ---------------------------------------------------------------------


@pytest.mark.parametrize("key", ["", "k", "x" * 64, "x" * 65, LONG_KEY, pii_key.DEFAULT_SALT])
def test_the_pads_make_the_rfc_2104_hmac(key):
    inner, outer = pii_key.hmac_pads(key.encode())
    assert len(inner) == len(outer) == 64
    for message in ["", "jörg.müller@exämple.ch", "+8613800138000"]:
        digest = hashlib.sha256(inner + message.encode()).digest()
        assert hashlib.sha256(outer + digest).hexdigest() == reference(key, message)


def test_the_fingerprint_is_a_hash_of_a_hash_of_the_key_and_the_scheme():
    expected = hashlib.sha256(
        b"hmac-sha256-v1\n" + hashlib.sha256(LONG_KEY.encode()).digest()
    ).hexdigest()[:16]
    assert pii_key.fingerprint(LONG_KEY) == expected
    assert pii_key.fingerprint(LONG_KEY, scheme="hmac-sha256-v2") != expected
    assert pii_key.fingerprint("another key") != expected


def test_the_key_never_shows_in_its_repr():
    key = pii_key.key_from_env({"PII_HASH_SALT": LONG_KEY})
    assert not key.is_default and key.salt == LONG_KEY
    assert LONG_KEY not in repr(key) and LONG_KEY not in str(key)


def test_publish_records_the_fingerprint_and_an_erasure_keeps_it(tmp_path):
    published = tmp_path / "warehouse.duckdb"

    def publish(run_id, key):
        working = snapshots.working_path(published, run_id)
        snapshots.prepare_working_copy(published, working)
        if not working.exists():
            duckdb.connect(str(working)).close()
        snapshots.publish(working, published, run_id, pii_key=key)

    publish("build-1", ("hmac-sha256-v1", "0123456789abcdef"))
    assert snapshots.published_pii_key(published) == ("hmac-sha256-v1", "0123456789abcdef")
    publish("erasure-1", None)  # an erasure (or a run that did not hash) keeps it
    assert snapshots.published_pii_key(published) == ("hmac-sha256-v1", "0123456789abcdef")
    with duckdb.connect(str(published), read_only=True) as con:
        assert snapshots.build_info(con)[0] == "erasure-1"
    assert snapshots.published_pii_key(tmp_path / "none.duckdb") is None


# --- the hashes the warehouse writes ----------------------------------------------------------


def _build_users(tmp_path: Path, target: str, salt: str | None) -> Path:
    """``dbt run --select base_users`` over USERS_CSV; returns the build's folder."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "users.csv").write_text(USERS_CSV, encoding="utf-8")
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("PII_HASH_SALT", "TOUCHPOINT_ENV")
    }
    env.update(
        WAREHOUSE_DUCKDB_PATH=str(tmp_path / "warehouse.duckdb"),
        SPARK_DATA_DIR=str(tmp_path / "spark"),
        PYSPARK_PYTHON=sys.executable,
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    if salt is not None:
        env["PII_HASH_SALT"] = salt
    dbt = Path(sys.executable).parent / "dbt"
    command = [
        str(dbt), "run", "--target", target, "--select", "base_users",
        "--vars", f"{{raw_data_dir: '{raw}'}}",
        "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"),
    ]  # fmt: skip
    result = subprocess.run(
        command, cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-4000:]
    (tmp_path / "dbt_stdout.txt").write_text(result.stdout + result.stderr)
    return tmp_path


def _hashes(build: Path, target: str) -> dict[str, tuple[str | None, str | None]]:
    relation = (
        "staging.base_users"
        if target == "duckdb"
        else f"read_parquet('{build}/spark/warehouse/staging.db/base_users/*.parquet')"
    )
    database = str(build / "warehouse.duckdb") if target == "duckdb" else ":memory:"
    with duckdb.connect(database, read_only=target == "duckdb") as con:
        rows = con.execute(f"select user_id, email_hash, phone_hash from {relation}").fetchall()
    return {user: (email, phone) for user, email, phone in rows}


def _written(build: Path, text: str) -> list[str]:
    """The files of the build (and dbt's target folder of the project) holding ``text``."""
    needle = text.encode()
    return [
        str(path)
        for path in [*build.rglob("*"), *(DBT_PROJECT_DIR / "target").rglob("*")]
        if path.is_file() and needle in path.read_bytes()
    ]


@pytest.fixture(scope="module")
def duckdb_build(tmp_path_factory) -> Path:
    return _build_users(tmp_path_factory.mktemp("pii_hmac_duckdb"), "duckdb", LONG_KEY)


def _expected(key: str) -> dict[str, tuple[str | None, str | None]]:
    return {
        user: (reference(key, email), reference(key, phone))
        for user, (email, phone) in NORMALISED.items()
    }


def test_the_duckdb_hash_is_python_hmac(duckdb_build):
    """Non-ASCII e-mails and phones, a non-ASCII key longer than 64 bytes with a quote, a
    backslash, a dollar and braces in it."""
    assert _hashes(duckdb_build, "duckdb") == _expected(LONG_KEY)
    assert _written(duckdb_build, LONG_KEY) == []


def test_a_connection_without_the_plugin_refuses_to_hash(duckdb_build):
    """The compiled SQL of base_users, run on a DuckDB connection that has no key (no plugin),
    fails naming the plugin instead of writing null hashes."""
    [compiled] = (duckdb_build / "target" / "compiled").rglob("base_users.sql")
    with duckdb.connect(str(duckdb_build / "warehouse.duckdb")) as con:
        assert con.execute("select getvariable('pii_hmac_ipad')").fetchone() == (None,)
        with pytest.raises(duckdb.Error, match="touchpoint_alchemy.dbt_duckdb_plugin"):
            con.execute(compiled.read_text()).fetchall()


@pytest.mark.spark
@pytest.mark.parametrize("salt", [LONG_KEY, None], ids=["long-key", "default-key"])
def test_the_spark_hash_is_python_hmac(tmp_path, salt):
    """The same users and key on Spark (``make test-spark``), and the development default when
    PII_HASH_SALT is unset (the profile's default must be pii_key's)."""
    pytest.importorskip("pyspark", reason="the spark group: make test-spark")
    build = _build_users(tmp_path, "spark", salt)
    key = pii_key.DEFAULT_SALT if salt is None else salt
    assert _hashes(build, "spark") == _expected(key)
    if salt is not None:
        assert _written(build, key) == []
