"""Command line: ``python -m touchpoint_alchemy.datagen --out DIR [--users N] [--seed S] ...``."""

from __future__ import annotations

import argparse
import sys

from .core import generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m touchpoint_alchemy.datagen",
        description="Write the seven Touchpoint Alchemy raw files (deterministic demo data).",
    )
    parser.add_argument("--out", required=True, help="output folder (created if missing)")
    parser.add_argument("--users", type=int, default=2000, help="number of users (default 2000)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument(
        "--format",
        choices=("csv", "parquet"),
        default="csv",
        dest="fmt",
        help="file format (default csv)",
    )
    parser.add_argument("--start", default="2025-01-01", help="first day, YYYY-MM-DD (UTC)")
    parser.add_argument("--days", type=int, default=365, help="length of the period in days")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    try:
        generate(
            args.out,
            users=args.users,
            seed=args.seed,
            fmt=args.fmt,
            start=args.start,
            days=args.days,
            verbose=not args.quiet,
        )
    except ValueError as error:  # a bad argument: one line saying what to change, no traceback
        parser.error(str(error))
    return 0


if __name__ == "__main__":
    sys.exit(main())
