"""The benchmark (``make bench SCALE=5m``): :mod:`bench.run` is the entry point."""

from pathlib import Path

#: the repository root
REPO = Path(__file__).resolve().parent.parent
