"""What the report's header shows, as plain values for ``templates/header.html.j2``: the data
window and cutoff, the headline metrics, the dbt tests of the build, the rejected rows, the
predictive models' status and the rows read per table."""

from __future__ import annotations

from typing import Any

from touchpoint_alchemy.report.format import num, pct
from touchpoint_alchemy.report.inputs import ReportInputs, model_statuses
from touchpoint_alchemy.report.sections.clv_risk import LABELS

#: the tables the header draws from; it also counts the rows of every table the report reads
READS = (
    "headline_metrics",
    "funnel_conversion",
    "int_data_cutoff",
    "rejected_rows",
    "model_metrics",
)


def header_context(inputs: ReportInputs) -> dict[str, Any]:
    return {
        "facts": _facts(inputs),
        "tiles": _tiles(inputs.table("headline_metrics")),
        "dbt_tests": _dbt_tests(inputs.dbt_tests),
        "rejected": _rejected(inputs.table("rejected_rows")),
        "models": _models(inputs.table("model_metrics")),
        "row_counts": [(name, num(len(frame))) for name, frame in inputs.tables.items()],
    }


def _facts(inputs: ReportInputs) -> list[tuple[str, str]]:
    funnel = inputs.table("funnel_conversion")
    window = "n/a"
    if not funnel.empty:
        window = f"{funnel['entry_date'].min():%Y-%m-%d} to {funnel['entry_date'].max():%Y-%m-%d}"
    cutoff = inputs.table("int_data_cutoff")
    cutoff_text = "n/a"
    if not cutoff.empty and cutoff["data_cutoff_at"].notna().iloc[0]:
        row = cutoff.iloc[0]
        cutoff_text = f"{row['data_cutoff_at']:%Y-%m-%d %H:%M:%S} UTC ({row['cutoff_source']})"
    facts = [
        ("Data window (funnel entry days)", window),
        ("Data cutoff", cutoff_text),
        ("Report built", f"{inputs.built_at:%Y-%m-%d %H:%M:%S} UTC"),
    ]
    if inputs.source:
        facts.append(("Warehouse", inputs.source))
    return facts


def _tiles(metrics: Any) -> list[dict[str, str]]:
    tiles = []
    for m in (metrics.sort_values("metric") if not metrics.empty else metrics).to_dict("records"):
        value = m["metric_value"]
        if m["unit"] == "ratio":
            text = pct(value, 1)
        else:
            text = num(value, 0 if m["unit"] == "customers" else 2)
        tiles.append({"value": text, "label": m["metric"], "description": m["description"]})
    return tiles


def _dbt_tests(counts: Any) -> dict[str, Any] | None:
    if not counts:
        return None
    failing = sum(
        count
        for statuses in counts.values()
        for status, count in statuses.items()
        if status in ("fail", "error")
    )
    kinds = [
        (kind, [(status, num(count)) for status, count in statuses.items()])
        for kind, statuses in counts.items()
    ]
    return {"failing": failing > 0, "kinds": kinds}


def _rejected(rejected: Any) -> dict[str, Any] | None:
    if rejected.empty:
        return None
    by_reason = (
        rejected.groupby("reason")
        .agg(rows=("reason", "size"), files=("source", lambda v: ", ".join(sorted(set(v)))))
        .reset_index()
        .sort_values(["rows", "reason"], ascending=[False, True])
    )
    return {
        "total": num(len(rejected)),
        "reasons": [
            {"reason": r.reason, "rows": num(r.rows), "files": r.files}
            for r in by_reason.itertuples()
        ],
    }


def _models(model_metrics: Any) -> list[dict[str, Any]]:
    """One line per predictive model: fitted, fitted but did not converge, or no scores and
    why; CLV, churn and clusters first, as the `make run` summary lists them."""
    order = list(LABELS)
    statuses = sorted(
        model_statuses(model_metrics).items(),
        key=lambda item: (order.index(item[0]) if item[0] in order else len(order), item[0]),
    )
    return [
        {
            "name": name,
            "label": LABELS.get(name, name),
            "state": status.state,
            "fitted": status.state == "fitted",
            "text": status.describe(),
        }
        for name, status in statuses
    ]
