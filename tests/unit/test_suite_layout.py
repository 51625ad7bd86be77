"""The test folders have no __init__.py (pytest's rootdir import mode): two test modules with the
same file name in different tiers fail the whole run's collection ("import file mismatch"),
though each tier alone passes."""

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_no_two_test_modules_share_a_name():
    names = Counter(path.name for path in TESTS.glob("*/test_*.py"))
    assert len(names) > 50
    assert [name for name, count in names.items() if count > 1] == []
