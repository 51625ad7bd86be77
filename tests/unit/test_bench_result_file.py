"""A benchmark re-run rewrites its result file but keeps the sections a person wrote
(``## ... (written by hand)``), which the docs link to."""

import pytest

from bench.build import OUTSIDE_STEPS, peak_by_step
from bench.result_file import hand_written_sections, peak_rss_by_step

pytestmark = pytest.mark.unit

PREVIOUS = """# Benchmark at 50m touchpoints

| measure | value |
|---|---|
| full build | 1,741 s |

## Capacity estimate (written by hand)

Linear growth.

| touchpoints | 2 cores |
|---|---|
| 5 B | about 48 h |

## Dagster steps

| step | seconds |
|---|---|
| daily_dbt_assets | 651.1 |

## Conditions (written by hand)

Quiet machine.
"""


def test_hand_written_sections_are_kept_and_generated_ones_are_not():
    kept = hand_written_sections(PREVIOUS)
    assert kept == (
        "## Capacity estimate (written by hand)\n\nLinear growth.\n\n"
        "| touchpoints | 2 cores |\n|---|---|\n| 5 B | about 48 h |\n\n"
        "## Conditions (written by hand)\n\nQuiet machine.\n\n"
    )


def test_a_file_without_hand_written_sections_keeps_nothing():
    assert hand_written_sections("# Benchmark\n\n## Dagster steps\n\n| a | b |\n") == ""


GiB = 2**30

#: a hand-made full build: dbt's int_touchpoints holds the peak, churn runs in the Dagster process
MEMORY_BUILD = {
    "memory": {
        "daily_dbt_assets": {"peak": 9 * GiB, "process": 1 * GiB, "dbt": 8 * GiB, "other": 0},
        "scoring__customer_churn": {"peak": 3 * GiB, "process": 3 * GiB, "dbt": 0, "other": 0},
        "raw_files": {"peak": GiB // 2, "process": GiB // 2, "dbt": 0, "other": 0},
    }
}


def test_the_peak_rss_table_names_the_step_and_the_process_that_held_it():
    lines = peak_rss_by_step(MEMORY_BUILD, top=2)
    assert lines[1] == "## Peak RSS by step (full build)"
    assert lines[3] == (
        "The peak, 9.00 GiB, was during `daily_dbt_assets`, held by dbt: 1.00 GiB in the "
        "Dagster process (which runs the Python steps), 8.00 GiB in dbt, 0.00 GiB in other "
        "subprocesses."
    )
    assert lines[-2:] == [
        "| daily_dbt_assets | 9.00 GiB | 1.00 GiB | 8.00 GiB | 0.00 GiB |",
        "| scoring__customer_churn | 3.00 GiB | 3.00 GiB | 0.00 GiB | 0.00 GiB |",
    ]
    assert peak_rss_by_step({"steps": {}}) == []


def test_each_sample_counts_for_the_step_that_ran_when_it_was_taken():
    intervals = {"a": (10.0, 20.0), "b": (20.5, 30.0)}
    samples = [
        (5.0, 7 * GiB, 0, 0),  # before any step: start-up
        (11.0, GiB, 2 * GiB, 0),
        (15.0, GiB, 5 * GiB, 0),  # a's peak
        (19.0, 3 * GiB, 0, 0),
        (25.0, 4 * GiB, 0, GiB),  # b's peak
        (29.0, 2 * GiB, 0, 0),
    ]
    assert peak_by_step(samples, intervals) == {
        OUTSIDE_STEPS: {"peak": 7 * GiB, "process": 7 * GiB, "dbt": 0, "other": 0},
        "a": {"peak": 6 * GiB, "process": GiB, "dbt": 5 * GiB, "other": 0},
        "b": {"peak": 5 * GiB, "process": 4 * GiB, "dbt": 0, "other": GiB},
    }
