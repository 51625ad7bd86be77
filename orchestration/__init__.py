"""The Dagster code location of Touchpoint Alchemy (see definitions.py)."""
