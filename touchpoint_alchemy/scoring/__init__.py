"""Scoring functions: plain Python over DataFrames, no Dagster, no database."""
