"""A benchmark re-run rewrites its result file but keeps the sections a person wrote
(``## ... (written by hand)``), which the docs link to."""

import pytest

from bench.result_file import hand_written_sections

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
