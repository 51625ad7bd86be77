"""Touchpoint Alchemy: the Python library behind the warehouse.

It holds everything that is not orchestration: settings, the raw data contract check, the
scoring functions and the demo data generator. Nothing here imports Dagster, so each part can be
used and tested on its own; the Dagster code location in ``orchestration/`` wraps it.
"""
