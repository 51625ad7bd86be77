"""Small helpers for SQL text built in Python (the warehouse resource, the PII check, erasure)."""


def quote_identifier(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (a ``"`` in it doubled)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """``value`` as a single-quoted SQL string literal (a ``'`` in it doubled)."""
    return "'" + value.replace("'", "''") + "'"
