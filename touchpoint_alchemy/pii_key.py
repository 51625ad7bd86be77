"""The key of the PII hashes: HMAC-SHA-256 keyed with ``PII_HASH_SALT`` (DECISIONLOG.md, 48).

dbt hashes e-mail addresses and phone numbers (``macros/pii.sql``) as HMAC-SHA-256 (RFC 2104)
of the normalised value, hex, with ``PII_HASH_SALT`` (UTF-8) as the key. The SQL never holds
the key: on DuckDB the dbt-duckdb plugin ``touchpoint_alchemy.dbt_duckdb_plugin`` puts the two
HMAC pads into session variables of every connection; on Spark the profile passes the key as a
session conf. This module is the one place that turns the environment into a key: the
development default, the refusal in production, the pads and the fingerprint. The plugin, the
Dagster salt and rotation checks and the publish step use it. No Dagster, no dbt here.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

SALT_VARIABLE = "PII_HASH_SALT"
#: the development key: fine on a laptop, never in a real deployment
DEFAULT_SALT = "touchpoint-alchemy-dev-salt"
#: the hash as the warehouse computes it; a new scheme changes every hash, like a new key
SCHEME = "hmac-sha256-v1"
#: TOUCHPOINT_ENV values that refuse the development key
PRODUCTION_VALUES = ("production", "prod")
#: the new key's fingerprint, set to confirm a rotation in production
ROTATION_VARIABLE = "PII_SALT_ROTATION_CONFIRMED"
#: SHA-256's block size in bytes: longer keys are hashed first, shorter ones padded with zeros
BLOCK_SIZE = 64
INNER_PAD, OUTER_PAD = 0x36, 0x5C


class HashSaltError(RuntimeError):
    """Production with the development key, or an unconfirmed change of key in production."""


@dataclass(frozen=True)
class PiiKey:
    """The key in force. ``repr`` never shows it."""

    salt: str = field(repr=False)
    is_default: bool

    def pads(self) -> tuple[bytes, bytes]:
        """The HMAC inner and outer pads of this key."""
        return hmac_pads(self.salt.encode("utf-8"))

    def fingerprint(self) -> str:
        return fingerprint(self.salt)


def is_production(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get("TOUCHPOINT_ENV", "").strip().lower() in PRODUCTION_VALUES


def refusal(salt_is_set: bool) -> str:
    """Why a production build with the development key stops (the same text everywhere)."""
    return (
        "Refusing to build: TOUCHPOINT_ENV=production but PII_HASH_SALT is "
        + ("the development default" if salt_is_set else "not set")
        + f" ('{DEFAULT_SALT}'), so every e-mail and phone hash could be reversed by "
        "anyone who has this open-source code and a list of candidate addresses. Set "
        "PII_HASH_SALT to a long random secret (for example the output of `openssl rand "
        "-hex 32`), keep it in your secret store and keep it stable: hashes made with "
        "another salt no longer match. Nothing was built."
    )


def key_from_env(environ: Mapping[str, str] | None = None) -> PiiKey:
    """The key of ``PII_HASH_SALT``: unset, blank or equal to the development default is the
    default; HashSaltError when that happens with TOUCHPOINT_ENV=production."""
    env = os.environ if environ is None else environ
    salt = env.get(SALT_VARIABLE, "")
    if salt.strip() and salt != DEFAULT_SALT:
        return PiiKey(salt, is_default=False)
    if is_production(env):
        raise HashSaltError(refusal(salt_is_set=bool(salt)))
    return PiiKey(DEFAULT_SALT, is_default=True)


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """RFC 2104: the key, SHA-256'd when longer than a block, zero-padded to the block, XOR
    0x36 (inner pad) and XOR 0x5c (outer pad). HMAC(K, m) = SHA256(opad || SHA256(ipad || m))."""
    if len(key) > BLOCK_SIZE:
        key = hashlib.sha256(key).digest()
    block = key.ljust(BLOCK_SIZE, b"\0")
    return bytes(b ^ INNER_PAD for b in block), bytes(b ^ OUTER_PAD for b in block)


def fingerprint(salt: str, scheme: str = SCHEME) -> str:
    """16 hex digits that tell keys (and schemes) apart: SHA-256 of the scheme and of the
    SHA-256 of the key. A hash of a hash: it names the key without giving it away."""
    inner = hashlib.sha256(salt.encode("utf-8")).digest()
    return hashlib.sha256(scheme.encode() + b"\n" + inner).hexdigest()[:16]
