"""Tiny dependency-free charts for Dagster metadata: an SVG histogram as a markdown image.

The Dagster UI renders markdown metadata; a data-URI SVG keeps the chart inside the event log,
with no file to serve and no plotting library to import in the asset.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape


def histogram_svg(
    values: Sequence[float],
    bins: int = 20,
    title: str = "",
    width: int = 360,
    height: int = 140,
    color: str = "#4c78a8",
) -> str:
    """A histogram of ``values`` with equal-width bins between their minimum and maximum, as an
    SVG document; each bar's height is its count, the axis labels are the range and the
    tallest count."""
    finite = [float(v) for v in values if v is not None and v == v and abs(v) != float("inf")]
    counts = [0] * bins
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    span = (high - low) or 1.0
    for value in finite:
        counts[min(int((value - low) / span * bins), bins - 1)] += 1
    top = max(counts) or 1
    left, bottom, plot_height = 4, height - 18, height - 36
    bar = (width - 2 * left) / bins
    bars = "".join(
        f'<rect x="{left + i * bar:.1f}" y="{bottom - count / top * plot_height:.1f}" '
        f'width="{max(bar - 1, 1):.1f}" height="{count / top * plot_height:.1f}" '
        f'fill="{color}"><title>{count}</title></rect>'
        for i, count in enumerate(counts)
    )
    label = 'font-family="sans-serif" font-size="10" fill="#444"'
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">'
        f'<rect width="{width}" height="{height}" fill="white"/>'
        f'<text x="{left}" y="12" {label}>{escape(title)} (n = {len(finite):,}, '
        f"max bar {top:,})</text>"
        f"{bars}"
        f'<line x1="{left}" y1="{bottom}" x2="{width - left}" y2="{bottom}" stroke="#888"/>'
        f'<text x="{left}" y="{height - 4}" {label}>{low:,.3g}</text>'
        f'<text x="{width - left}" y="{height - 4}" text-anchor="end" {label}>{high:,.3g}</text>'
        "</svg>"
    )


def markdown_image(svg: str, alt: str) -> str:
    """The SVG as a markdown image with a data URI."""
    encoded = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f"![{alt}](data:image/svg+xml;base64,{encoded})"
