"""Column schemas of the seven raw files and batch-wise CSV / Parquet writers.

Timestamps, dates and the consent flag are written as text (they carry planted unparseable
values); counts are ``int64`` and money ``float64`` rounded to cents. CSV follows RFC 4180 via
pandas (fields holding commas, quotes or newlines are quoted; an empty field is null) and writes
money with two decimals. Parquet uses zstd, one row group per batch.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

S, INT, F = pa.string(), pa.int64(), pa.float64()

SCHEMAS: dict[str, pa.Schema] = {
    "users": pa.schema(
        [
            ("user_id", S),
            ("signed_up_at", S),
            ("acquisition_channel", S),
            ("device_type", S),
            ("city", S),
            ("email", S),
            ("phone", S),
            ("consent_analytics", S),
        ]
    ),
    "touchpoints": pa.schema(
        [
            ("touchpoint_id", S),
            ("user_id", S),
            ("anonymous_id", S),
            ("occurred_at", S),
            ("touchpoint", S),
            ("channel", S),
            ("campaign", S),
            ("page", S),
            ("dwell_ms", INT),
            ("properties", S),
        ]
    ),
    "orders": pa.schema(
        [
            ("order_id", S),
            ("user_id", S),
            ("created_at", S),
            ("paid_at", S),
            ("status", S),
            ("amount", F),
            ("discount", F),
            ("currency", S),
        ]
    ),
    "order_items": pa.schema(
        [
            ("order_id", S),
            ("line_number", INT),
            ("product_id", S),
            ("category", S),
            ("quantity", INT),
            ("unit_price", F),
        ]
    ),
    "marketing_spend": pa.schema(
        [
            ("spend_date", S),
            ("channel", S),
            ("campaign", S),
            ("spend", F),
            ("impressions", INT),
            ("clicks", INT),
        ]
    ),
    "nps_responses": pa.schema(
        [("response_id", S), ("user_id", S), ("responded_at", S), ("score", INT), ("comment", S)]
    ),
    "experiment_assignments": pa.schema(
        [("experiment_id", S), ("user_id", S), ("variant", S), ("assigned_at", S)]
    ),
}
FILES: tuple[str, ...] = tuple(SCHEMAS)
FORMATS = ("csv", "parquet")


class TableWriter:
    """Appends Arrow tables of one raw file, as CSV or Parquet."""

    def __init__(self, out_dir: Path, name: str, fmt: str) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}, not {fmt!r}")
        self.name, self.fmt, self.schema = name, fmt, SCHEMAS[name]
        self.path = out_dir / f"{name}.{fmt}"
        self.rows = 0
        self._parquet: pq.ParquetWriter | None = None
        self._csv: TextIO | None = None
        if fmt == "parquet":
            self._parquet = pq.ParquetWriter(self.path, self.schema, compression="zstd")
        else:
            self._csv = self.path.open("w", encoding="utf-8", newline="")
            self._csv.write(",".join(self.schema.names) + "\n")

    def write(self, table: pa.Table) -> None:
        """Append rows (columns are selected and cast to the file's schema)."""
        table = table.select(self.schema.names).cast(self.schema)
        self.rows += table.num_rows
        if self._parquet is not None:
            self._parquet.write_table(table)
        elif self._csv is not None:
            frame = table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
            frame.to_csv(
                self._csv, header=False, index=False, float_format="%.2f", lineterminator="\n"
            )

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._csv is not None:
            self._csv.close()
