"""A model that cannot fit on the data does not stop the publish, a fit that did not converge is
not presented as a clean one, and a bug of ours still fails the run, once (issue #15).

- A real build (raw contract, dbt, Dagster) of a purchase log whose repeat spend is spread over
  six orders of magnitude: its Gamma-Gamma maximum-likelihood q, computed independently with
  scipy, is below 1, so the model's mean spend p*v/(q-1) does not exist. CLV records
  ``fit_failed`` with that reason, its scores are null, the rest is published, and the summary
  and the journey report say which model has no scores and why.
- The real CLV asset on a log with many one-time buyers and 15 repeaters: BG/NBD runs off to
  a, b of 1e22 (the optimizer itself reports ABNORMAL), and the log-likelihood, computed here,
  is flat along that ridge. It is recorded as ``bg_nbd_not_converged``; the asset metadata, the
  parameters table, the summary and the report say "did not converge".
- The real CLV asset on a purchase-days table without its revenue column: a KeyError of ours,
  which fails the step at once, without retries.
- Library level: a spend pymc cannot evaluate becomes ModelFitError; data that would make
  scikit-learn raise ValueError in churn or clusters becomes ModelFitError with a reason.
"""

from __future__ import annotations

from datetime import datetime

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from touchpoint_alchemy.scoring import ModelFitError, ModelNotFitted, model_statuses
from touchpoint_alchemy.settings import Settings

from builds import Warehouse, built
from clv_reference import (
    bg_nbd_log_likelihood,
    customer_summary,
    gamma_gamma_mle,
    write_contract_files,
)

CUTOFF = "2024-12-31"


def heavy_tailed_log(customers: int = 120, repeaters: int = 60, seed: int = 7) -> pd.DataFrame:
    """A purchase log (user_id, day, dollar_value) in 2024 whose customers' order values lie
    between $1 and $1,000,000, log-uniformly; the first ``repeaters`` buy again 1 to 3 times."""
    rng = np.random.default_rng(seed)
    end = pd.Timestamp(CUTOFF)
    rows = []
    for i in range(customers):
        first = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 270)))
        base = 10 ** rng.uniform(0, 6)
        days = [first]
        if i < repeaters:
            gaps = rng.integers(1, (end - first).days, rng.integers(1, 4))
            days += [first + pd.Timedelta(days=int(gap)) for gap in gaps]
        rows += [(f"h{i:03d}", day, round(base * rng.uniform(0.8, 1.2), 2)) for day in days]
    return pd.DataFrame(rows, columns=["user_id", "day", "dollar_value"])


def few_repeaters_log(customers: int = 1000, repeaters: int = 15, seed: int = 2) -> pd.DataFrame:
    """Many one-time buyers ($40 each) and a few repeat buyers, first purchases in 2024."""
    rng = np.random.default_rng(seed)
    end = pd.Timestamp(CUTOFF)
    rows = []
    for i in range(customers):
        first = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 300)))
        rows.append((f"u{i:05d}", first, 40.0))
        if i < repeaters:
            for _ in range(int(rng.integers(1, 3))):
                day = first + pd.Timedelta(days=int(rng.integers(1, (end - first).days)))
                rows.append((f"u{i:05d}", day, float(rng.gamma(4, 10))))
    return pd.DataFrame(rows, columns=["user_id", "day", "dollar_value"])


# --- a fit that fails on the data: the rest is published -------------------------------------


@pytest.fixture(scope="module")
def heavy_log() -> pd.DataFrame:
    return heavy_tailed_log()


@pytest.fixture(scope="module")
def failed_fit_warehouse(tmp_path_factory, heavy_log) -> Warehouse:
    raw_dir = tmp_path_factory.mktemp("heavy_tailed_raw")
    write_contract_files(heavy_log, raw_dir)
    return built(tmp_path_factory, "heavy_tailed", raw_dir, data_cutoff=CUTOFF)


def test_the_spend_model_has_no_finite_mean_on_this_data(heavy_log):
    """The independent maximum-likelihood fit: q < 1, so p*v/(q-1) is not a mean spend."""
    reference = gamma_gamma_mle(customer_summary(heavy_log, CUTOFF))
    assert reference["q"] < 1


def test_a_failed_fit_is_recorded_and_the_rest_is_published(failed_fit_warehouse, heavy_log):
    from touchpoint_alchemy import snapshots

    assert snapshots.published_run_id(failed_fit_warehouse.path) == (
        failed_fit_warehouse.result.run_id
    )
    metrics = failed_fit_warehouse.df(
        "select metric, value, n, detail from scoring.model_metrics where model = 'clv'"
    )
    assert metrics["metric"].tolist() == ["fit_failed"]
    detail = metrics["detail"].iloc[0]
    reference_q = gamma_gamma_mle(customer_summary(heavy_log, CUTOFF))["q"]
    assert detail.startswith("gamma_gamma: q = ")
    assert float(detail.split("q = ")[1].split(" ")[0]) == pytest.approx(reference_q, rel=0.01)
    assert metrics["n"].iloc[0] == heavy_log["user_id"].nunique()
    assert failed_fit_warehouse.df("select count(*) as n from scoring.customer_clv")["n"][0] == 0
    assert (
        failed_fit_warehouse.df("select count(*) as n from scoring.clv_model_parameters")["n"][0]
        == 0
    )
    customers = failed_fit_warehouse.df(
        "select user_id, rfm_segment, p_alive, clv_12m from marts.customers"
    )
    assert len(customers) == heavy_log["user_id"].nunique()
    assert customers["p_alive"].isna().all() and customers["clv_12m"].isna().all()
    assert customers["rfm_segment"].notna().all()


def test_the_summary_and_the_report_say_which_model_has_no_scores_and_why(failed_fit_warehouse):
    from touchpoint_alchemy.report import default_report_path
    from touchpoint_alchemy.summary import render

    with failed_fit_warehouse.connect() as con:
        text = render(con)
    clv_line = next(line for line in text.splitlines() if line.strip().startswith("CLV"))
    assert "no scores (fit failed: gamma_gamma: q = " in clv_line
    report = default_report_path(failed_fit_warehouse.path).read_text()
    assert 'data-model="clv" data-state="fit failed"' in report
    assert "<strong>CLV</strong>: no scores (fit failed: gamma_gamma: q = " in report
    section = report.split('id="clv-risk"')[1].split("</section>")[0]
    assert "No data: CLV: no scores (fit failed: gamma_gamma: q = " in section


# --- the real CLV asset on hand-made inputs ------------------------------------------------------


def clv_inputs(path, log: pd.DataFrame, *, drop: tuple[str, ...] = ()) -> None:
    """A warehouse file holding only what scoring/customer_clv reads: the purchase days of
    ``log`` and the data cutoff (the tables dbt would build), less the columns ``drop``."""
    days = log.groupby(["user_id", "day"], as_index=False)["dollar_value"].agg(["sum", "size"])
    purchase_days = pd.DataFrame(
        {
            "user_id": days["user_id"],
            "purchase_date": days["day"].dt.date,
            "purchases": days["size"],
            "revenue": days["sum"],
            "observation_end_date": pd.Timestamp(CUTOFF).date(),
        }
    ).drop(columns=list(drop))
    with duckdb.connect(str(path)) as con:
        con.execute("create schema intermediate")
        con.register("purchase_days", purchase_days)
        con.execute(
            "create table intermediate.int_customer_purchase_days as select * from purchase_days"
        )
        con.execute(
            f"create table intermediate.int_data_cutoff as select timestamp '{CUTOFF} 23:59:59' "
            "as data_cutoff_at, date '2024-12-01' as data_cutoff_month, "
            "'configured' as cutoff_source"
        )


def materialize_clv(path, *, publish: bool = True) -> dg.ExecuteInProcessResult:
    from orchestration.assets.scoring import SCORING_KEYS
    from orchestration.definitions import defs
    from orchestration.publish import PUBLISHED_SNAPSHOT
    from orchestration.resources import build_resources

    keys = [SCORING_KEYS["customer_clv"], *([PUBLISHED_SNAPSHOT] if publish else [])]
    settings = Settings(warehouse_path=path, raw_data_dir=path.parent, data_cutoff=CUTOFF)
    with dg.DagsterInstance.ephemeral() as instance:
        return dg.materialize(
            list(defs.assets),
            selection=keys,
            resources=build_resources(settings),
            instance=instance,
            raise_on_error=False,
        )


@pytest.fixture(scope="module")
def unconverged(tmp_path_factory) -> tuple[Warehouse, dg.ExecuteInProcessResult, pd.DataFrame]:
    log = few_repeaters_log()
    path = tmp_path_factory.mktemp("few_repeaters") / "warehouse.duckdb"
    clv_inputs(path, log)
    result = materialize_clv(path)
    assert result.success
    return Warehouse(path, path.parent, result), result, log


def test_a_degenerate_fit_is_recorded_as_not_converged(unconverged):
    warehouse, result, log = unconverged
    metrics = warehouse.df(
        "select metric, value, n, detail from scoring.model_metrics where model = 'clv'"
    ).set_index("metric")
    warning = metrics.loc["bg_nbd_not_converged"]
    assert warning["value"] == 1 and warning["n"] == log["user_id"].nunique()
    assert "outside [0.001, 1000]" in warning["detail"]
    parameters = warehouse.df(
        "select parameter, value, converged from scoring.clv_model_parameters "
        "where model = 'bg_nbd'"
    ).set_index("parameter")
    assert not parameters["converged"].any()
    a, b = parameters.loc["a", "value"], parameters.loc["b", "value"]
    assert a > 1e3 and b > 1e3
    # Independently: the likelihood is flat along the ridge a/(a+b) = const, so a and b are not
    # identified: ten times larger (or smaller, still beyond the bound) changes nothing.
    summary = customer_summary(log, CUTOFF)
    point = parameters["value"].to_dict()
    at_point = bg_nbd_log_likelihood(**point, summary=summary)
    for factor in (0.01, 10.0):
        moved = {**point, "a": a * factor, "b": b * factor}
        assert bg_nbd_log_likelihood(**moved, summary=summary) == pytest.approx(at_point, abs=0.01)
    # the scores are still written (the warning is not a failure)
    assert warehouse.df("select count(*) as n from scoring.customer_clv")["n"][0] == len(summary)


def test_not_converged_is_said_in_the_metadata_the_summary_and_the_report(unconverged):
    from touchpoint_alchemy.report.header import header_context
    from touchpoint_alchemy.report.inputs import ReportInputs
    from touchpoint_alchemy.report.render import environment
    from touchpoint_alchemy.report.sections import clv_risk
    from touchpoint_alchemy.summary import _scoring_lines

    warehouse, result, _ = unconverged
    materialization = next(
        m
        for m in result.asset_materializations_for_node("scoring__customer_clv")
        if m.asset_key.path == ["scoring", "customer_clv"]
    )
    status = materialization.metadata["fit_status"].value
    assert status.startswith("fitted, but did not converge: ")
    assert "bg_nbd" in materialization.metadata["model_metrics"].value

    with warehouse.connect() as con:
        lines = _scoring_lines(con)
        rows = con.execute(
            "select model, metric, value, n, detail from scoring.model_metrics"
        ).fetchall()
        scores = con.execute("select user_id, clv_12m from scoring.customer_clv").df()
    bg_line = next(line for line in lines if "CLV bg_nbd" in line)
    assert "DID NOT CONVERGE" in bg_line and "outside [0.001, 1000]" in bg_line
    assert any("Churn" in line and "no scores (not run" in line for line in lines)

    # the report's model list (header) and its CLV section, drawn from these rows
    statuses = model_statuses(rows)
    assert statuses["clv"].state == "not converged"
    metrics = pd.DataFrame(rows, columns=["model", "metric", "value", "n", "detail"])
    inputs = ReportInputs(tables={"model_metrics": metrics}, built_at=datetime(2025, 1, 1))
    header = (
        environment()
        .get_template("header.html.j2")
        .render(title="report", header=header_context(inputs))
    )
    assert 'data-model="clv" data-state="not converged"' in header
    section = clv_risk.build(scores.assign(risk_band="low"), pd.DataFrame(), metrics)
    assert section.has_chart
    assert section.note.startswith("The CLV fit did not converge (")
    assert "outside [0.001, 1000]" in section.note


def test_a_bug_of_ours_fails_the_step_once(tmp_path):
    """A purchase-days table without its revenue column: the KeyError is not a model that
    cannot fit; it fails the step at once (no retry) and nothing is published."""
    path = tmp_path / "warehouse.duckdb"
    clv_inputs(path, few_repeaters_log(customers=50, repeaters=10), drop=("revenue",))
    result = materialize_clv(path)
    assert not result.success
    events = [e for e in result.all_events if e.step_key == "scoring__customer_clv"]
    kinds = [e.event_type for e in events]
    assert kinds.count(dg.DagsterEventType.STEP_START) == 1
    assert dg.DagsterEventType.STEP_UP_FOR_RETRY not in kinds
    assert dg.DagsterEventType.STEP_RESTARTED not in kinds
    error = next(e for e in events if e.is_step_failure).event_specific_data.error
    assert error.cls_name == "Failure"
    assert "KeyError: 'Column not found: revenue'" in error.message
    assert error.cause is not None and error.cause.cls_name == "KeyError"
    with duckdb.connect(str(path), read_only=True) as con:
        assert not con.execute(
            "select * from information_schema.tables where table_schema = 'scoring'"
        ).fetchall()


# --- library level ------------------------------------------------------------------------


def test_a_spend_pymc_cannot_evaluate_is_a_fit_error():
    """An infinite mean spend reaches the Gamma-Gamma likelihood (it is positive, so not left
    out): pymc's SamplingError (non-finite log-likelihood at the start) becomes ModelFitError."""
    from touchpoint_alchemy.scoring.clv_fit import fit_clv

    summary = customer_summary(heavy_tailed_log(customers=30, repeaters=20), CUTOFF)
    summary = pd.DataFrame(
        {
            "user_id": summary.index,
            "frequency": summary["x"].astype("int64").to_numpy(),
            "recency": summary["t_x"].to_numpy(),
            "t": summary["T"].to_numpy(),
            "monetary_value": summary["z"].to_numpy(),
        }
    )
    summary.loc[summary["frequency"] > 0, "monetary_value"] = np.inf
    with pytest.raises(ModelFitError, match="gamma_gamma: SamplingError"):
        fit_clv(summary)


def test_a_fit_leaves_no_files_in_the_temporary_directory(tmp_path, monkeypatch):
    """pytensor's numba backend writes the source of every function it compiles to a file it
    keeps; by default a new file in the system temporary directory each time, never removed.
    A fit writes it into one directory named by content instead (keep_generated_source)."""
    import tempfile
    from pathlib import Path

    import pytensor
    from pymc_marketing.clv import BetaGeoModel

    from touchpoint_alchemy.scoring.clv_fit import (
        BG_NBD_PARAMETERS,
        ClvSettings,
        fit_model,
        model_frame,
    )

    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    monkeypatch.setattr(pytensor.config, "generated_src_dir", "")
    summary = customer_summary(heavy_tailed_log(customers=30, repeaters=20), CUTOFF)
    summary = pd.DataFrame(
        {
            "user_id": summary.index,
            "frequency": summary["x"].astype("int64").to_numpy(),
            "recency": summary["t_x"].to_numpy(),
            "t": summary["T"].to_numpy(),
            "monetary_value": summary["z"].to_numpy(),
        }
    )
    fit_model(BetaGeoModel, BG_NBD_PARAMETERS, model_frame(summary), ClvSettings(), "bg_nbd")
    generated = Path(pytensor.config.compiledir) / "generated_src"
    assert pytensor.config.generated_src_dir == str(generated)
    assert list(temporary.iterdir()) == []
    assert list(generated.glob("*.py"))


def test_churn_and_clusters_say_why_they_cannot_fit():
    """Data under which scikit-learn raises ValueError is a ModelFitError with a reason; a
    missing column (our bug) is still a plain error."""
    from touchpoint_alchemy.scoring.churn import FEATURE_COLUMNS, score_churn
    from touchpoint_alchemy.scoring.clusters import BEHAVIOUR_FEATURES, cluster_customers

    rng = np.random.default_rng(0)
    rows = []
    for snapshot in ("train", "validation", "score"):
        for i in range(40):
            row = {"user_id": f"u{i}", "snapshot": snapshot}
            row.update({column: 1.0 for column in FEATURE_COLUMNS})
            row["churned"] = None if snapshot == "score" else bool(i % 2)
            rows.append(row)
    features = pd.DataFrame(rows)
    counts = pd.DataFrame(
        columns=["user_id", "snapshot", "touchpoint", "touchpoints_30d", "touchpoints_90d"]
    )
    # every feature the same for everyone: nothing to learn from
    with pytest.raises(ModelFitError, match="no feature takes two distinct values"):
        score_churn(features, counts)
    features["monetary"] = rng.uniform(1, 100, len(features))
    features.loc[3, "monetary"] = np.inf
    with pytest.raises(ModelFitError, match=r"infinite feature values: monetary \(1 rows\)"):
        score_churn(features, counts)

    score = features[features["snapshot"] == "score"].copy()
    for column in BEHAVIOUR_FEATURES:
        score[column] = rng.uniform(1, 100, len(score))
    score["is_mobile"] = rng.uniform(size=len(score)) < 0.5
    score.loc[score.index[0], "avg_order_value"] = np.inf
    with pytest.raises(ModelFitError, match=r"avg_order_value \(1 customers\)"):
        cluster_customers(score)
    with pytest.raises(ValueError, match="cluster_customers needs columns") as error:
        cluster_customers(score.rename(columns={"user_id": "id"}))
    assert not isinstance(error.value, ModelNotFitted)


def test_model_metrics_of_an_older_warehouse_gets_the_detail_column(tmp_path):
    """A warehouse built before `detail` existed: the next write adds the column (the other
    models' rows keep null there) instead of failing the build."""
    import pyarrow as pa

    from orchestration.resources import WarehouseResource

    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema scoring")
        con.execute(
            "create table scoring.model_metrics as select 'churn' as model, 'holdout_auc' as "
            "metric, 0.8::double as value, 10::bigint as n, timestamp '2025-01-01' as "
            "fitted_at, timestamp '2025-01-01' as data_cutoff"
        )
    incoming = pa.table(
        {
            "model": ["clv"],
            "metric": ["fit_failed"],
            "value": [1.0],
            "n": pa.array([5], pa.int64()),
            "fitted_at": pa.array([None], pa.timestamp("us")),
            "data_cutoff": pa.array([None], pa.timestamp("us")),
            "detail": ["gamma_gamma: q = 0.5 <= 1"],
        }
    )
    warehouse = WarehouseResource(database=str(path), raw_data_dir=str(tmp_path))
    warehouse.replace_rows("scoring", "model_metrics", incoming, key_column="model")
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "select model, metric, detail from scoring.model_metrics order by model"
        ).fetchall()
    assert rows == [
        ("churn", "holdout_auc", None),
        ("clv", "fit_failed", "gamma_gamma: q = 0.5 <= 1"),
    ]
