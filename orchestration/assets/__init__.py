"""Assets: raw file contract checks, the dbt models, and the Python scoring assets."""
