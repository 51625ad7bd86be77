"""Small helpers for SQL text built in Python (the warehouse resource, the PII scan, erasure,
the publish step): quote every identifier and string literal with these, never by hand."""


def quote_identifier(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (a ``"`` in it doubled)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """``value`` as a single-quoted SQL string literal (a ``'`` in it doubled)."""
    return "'" + value.replace("'", "''") + "'"


def quote_relation(schema: str, table: str) -> str:
    """``"schema"."table"``, both quoted."""
    return f"{quote_identifier(schema)}.{quote_identifier(table)}"
