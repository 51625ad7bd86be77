"""dbt-duckdb plugin: the PII hashing key as session variables, never as SQL text.

``profiles.yml`` loads it (``plugins: [{module: touchpoint_alchemy.dbt_duckdb_plugin}]``). When
dbt opens the warehouse it reads ``PII_HASH_SALT`` from the environment (``pii_key``: the
development default when unset, and a refusal, raised here, with ``TOUCHPOINT_ENV=production``)
and sets two variables on every connection and cursor dbt uses:

- ``pii_hmac_ipad``, ``pii_hmac_opad``: the HMAC-SHA-256 inner and outer pads of the key
  (64-byte BLOBs).

``duckdb__hash_pii`` (``macros/pii.sql``) reads them with ``getvariable``. DuckDB variables
belong to one connection (a cursor has its own) and are never stored in the database file, so
the key reaches no compiled SQL, dbt artifact or log, and no table or view.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

from touchpoint_alchemy import pii_key

INNER_PAD_VARIABLE = "pii_hmac_ipad"
OUTER_PAD_VARIABLE = "pii_hmac_opad"


def _refuse_a_missing_folder(path: str | None) -> None:
    """DuckDB's own error for a database in a folder that does not exist is a stack trace; the
    usual cause is plain dbt before `make dev-db` (its development database, docs/develop.md)."""
    if not path or path == ":memory:" or path.startswith(("md:", "motherduck:")):
        return
    folder = Path(path).expanduser().absolute().parent
    if not folder.is_dir():
        raise RuntimeError(
            f"No folder {folder} for the DuckDB database {path}. Plain dbt builds the "
            "development database: run `make dev-db` first, a copy of the published warehouse "
            "(or set DBT_DEV_DUCKDB_PATH to a file in an existing folder; docs/develop.md)."
        )


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        # HashSaltError (a RuntimeError) in production with the development key: dbt reports
        # it as a failed connection, with this message, before any statement runs.
        self._pads = pii_key.key_from_env().pads()
        _refuse_a_missing_folder(getattr(self.creds, "path", None))

    def _set_pads(self, conn: DuckDBPyConnection) -> None:
        # A hex literal, not a bound parameter: DuckDB's Python client imports pandas the first
        # time a statement has parameters (about 1 s, in every dbt process, which otherwise never
        # loads it). The statement goes straight to this connection: dbt never sees it, so it
        # reaches no log or artifact (the salt-secrecy test searches them for the pads in hex).
        inner, outer = self._pads
        conn.execute(f"set variable {INNER_PAD_VARIABLE} = unhex('{inner.hex()}')")
        conn.execute(f"set variable {OUTER_PAD_VARIABLE} = unhex('{outer.hex()}')")

    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        self._set_pads(conn)

    def configure_cursor(self, cursor: DuckDBPyConnection) -> None:
        self._set_pads(cursor)
