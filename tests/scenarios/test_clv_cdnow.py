"""CLV reproduces the published CDNOW results, end to end.

The CDNOW sample goes through the raw data contract (orders and users files), the real dbt
build and the real Dagster CLV asset, with DATA_CUTOFF = 1997-09-30. The published figures
(Fader, Hardie & Lee 2005; tests/data/cdnow/README.md) are the independent reference; the
conditional expectation, the expected spend and clv_12m are recomputed here from the closed-form
formulas, not with pymc-marketing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from builds import DATA_DIR, Warehouse, built
from clv_reference import conditional_expected_purchases, customer_summary, write_contract_files

CDNOW = DATA_DIR / "cdnow"
PUBLISHED_BG_NBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}
PUBLISHED_LOG_LIKELIHOOD = -9582.4


def read_cdnow() -> pd.DataFrame:
    raw = pd.read_csv(
        CDNOW / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "sample_id", "date", "cds", "dollar_value"],
        dtype={"master_id": str, "date": str},
    )
    raw["user_id"] = raw["sample_id"].map(lambda i: f"c{i:04d}")
    raw["day"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw


@pytest.fixture(scope="module")
def cdnow_raw() -> pd.DataFrame:
    return read_cdnow()


@pytest.fixture(scope="module")
def cdnow_warehouse(tmp_path_factory, cdnow_raw) -> Warehouse:
    raw_dir = tmp_path_factory.mktemp("cdnow_raw")
    write_contract_files(cdnow_raw, raw_dir)
    from orchestration.assets.scoring import SCORING_KEYS

    # the CLV asset and what it reads only (the full build is tested elsewhere)
    return built(
        tmp_path_factory,
        "cdnow",
        raw_dir,
        data_cutoff="1997-09-30",
        upstream_of=[SCORING_KEYS["customer_clv"]],
    )


def parameters(warehouse: Warehouse, model: str) -> dict[str, float]:
    rows = warehouse.df(
        f"select parameter, value from scoring.clv_model_parameters where model = '{model}'"
    )
    return dict(zip(rows["parameter"], rows["value"], strict=True))


def test_rfm_summary_equals_the_published_summary(cdnow_warehouse):
    published = pd.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv")
    published["user_id"] = published["ID"].map(lambda i: f"c{i:04d}")
    ours = cdnow_warehouse.df("select * from scoring.customer_clv")
    merged = published.merge(ours, on="user_id", how="outer", indicator=True)
    assert (merged["_merge"] == "both").all()
    assert len(merged) == 2357
    assert (merged["frequency"] == merged["x"]).all()
    # the published summary is rounded to two decimals
    assert np.abs(merged["recency"] - merged["t_x"]).max() < 0.006
    assert np.abs(merged["t"] - merged["T"]).max() < 0.006
    assert np.abs(merged["monetary_value"] - merged["zbar"]).max() < 0.006


def test_bg_nbd_reproduces_the_published_parameters(cdnow_warehouse):
    fitted = parameters(cdnow_warehouse, "bg_nbd")
    for name, published in PUBLISHED_BG_NBD.items():
        assert fitted[name] == pytest.approx(published, rel=0.01), name
    row = cdnow_warehouse.df(
        "select distinct log_likelihood, n_customers from scoring.clv_model_parameters "
        "where model = 'bg_nbd'"
    )
    assert len(row) == 1
    assert row["log_likelihood"][0] == pytest.approx(PUBLISHED_LOG_LIKELIHOOD, abs=0.5)
    assert row["n_customers"][0] == 2357


def test_gamma_gamma_reproduces_the_published_parameters(cdnow_warehouse):
    fitted = parameters(cdnow_warehouse, "gamma_gamma")
    for name, published in PUBLISHED_GAMMA_GAMMA.items():
        assert fitted[name] == pytest.approx(published, rel=0.01), name
    n = cdnow_warehouse.df(
        "select distinct n_customers from scoring.clv_model_parameters where model = 'gamma_gamma'"
    )
    assert n["n_customers"].tolist() == [946]


def test_conditional_expectation_matches_the_published_value(cdnow_warehouse):
    fitted = parameters(cdnow_warehouse, "bg_nbd")
    expected = conditional_expected_purchases(39, 2, 30.43, 38.86, **fitted)
    assert float(expected) == pytest.approx(1.226, rel=0.01)


def test_customer_scores_match_the_closed_form(cdnow_warehouse):
    """p_alive, expected purchases, expected spend and the discounted clv_12m, recomputed."""
    bg = parameters(cdnow_warehouse, "bg_nbd")
    gg = parameters(cdnow_warehouse, "gamma_gamma")
    scores = cdnow_warehouse.df("select * from scoring.customer_clv order by user_id")
    x, t_x, big_t = scores["frequency"], scores["recency"], scores["t"]
    r, alpha, a, b = bg["r"], bg["alpha"], bg["a"], bg["b"]
    odds_dropped = (a / np.maximum(b + x - 1, 1e-12)) * ((alpha + big_t) / (alpha + t_x)) ** (r + x)
    p_alive = 1 / (1 + (x > 0) * odds_dropped)
    np.testing.assert_allclose(scores["p_alive"], p_alive, rtol=1e-6)
    for days, column in ((90, "expected_purchases_90d"), (365, "expected_purchases_365d")):
        expected = conditional_expected_purchases(days / 7, x, t_x, big_t, **bg)
        np.testing.assert_allclose(scores[column], expected, rtol=1e-6)
    p, q, v = gg["p"], gg["q"], gg["v"]
    population_mean = p * v / (q - 1)
    spend = np.where(
        x > 0,
        (p * (v + x * scores["monetary_value"])) / (p * x + q - 1),
        population_mean,
    )
    np.testing.assert_allclose(scores["expected_avg_order_value"], spend, rtol=1e-6)
    months = np.arange(1, 13) * 30.4375 / 7
    cumulative = np.array([conditional_expected_purchases(m, x, t_x, big_t, **bg) for m in months])
    per_month = np.diff(np.vstack([np.zeros(len(x)), cumulative]), axis=0)
    discount = 1.01 ** np.arange(1, 13)
    clv = (per_month * spend / discount[:, None]).sum(axis=0)
    np.testing.assert_allclose(scores["clv_12m"], clv, rtol=1e-6)


def test_holdout_validation_counts_the_real_repeat_purchases(cdnow_warehouse, cdnow_raw):
    metrics = cdnow_warehouse.df(
        "select metric, value, n, data_cutoff from scoring.model_metrics where model = 'clv'"
    ).set_index("metric")
    # calibration ends 90 days before the cutoff date 1997-09-30: 1997-07-02
    calibration_end = pd.Timestamp("1997-07-02")
    days = cdnow_raw.drop_duplicates(["user_id", "day"])
    calibration_customers = set(days.loc[days["day"] <= calibration_end, "user_id"])
    holdout = days[
        (days["day"] > calibration_end)
        & (days["day"] <= pd.Timestamp("1997-09-30"))
        & days["user_id"].isin(calibration_customers)
    ]
    assert metrics.loc["holdout_actual_purchases", "value"] == len(holdout)
    assert metrics.loc["holdout_actual_purchases", "n"] == len(calibration_customers)
    predicted = metrics.loc["holdout_predicted_purchases", "value"]
    assert metrics.loc["holdout_aggregate_error", "value"] == pytest.approx(
        predicted / len(holdout) - 1
    )
    # BG/NBD tracks CDNOW's aggregate repeat purchases closely (Fader et al. 2005, figure 2)
    assert abs(metrics.loc["holdout_aggregate_error", "value"]) < 0.1
    assert 0 < metrics.loc["holdout_mae", "value"] < 1
    assert str(metrics["data_cutoff"].iloc[0]).startswith("1997-09-30 23:59:59")


def test_a_small_map_fit_compiles_fast_and_finds_the_same_optimum(monkeypatch, cdnow_raw):
    """A MAP fit of fewer than FAST_COMPILE_MAX_ROWS rows compiles with pytensor's FAST_COMPILE
    mode, a larger one with pytensor's default (the threshold lowered here so that the sample
    is "larger"), and both reach the published optimum, equal to each other far inside its
    rounding (DECISIONLOG 171). Sampling keeps the default mode at any size."""
    import pytensor
    from pymc_marketing.clv import BetaGeoModel

    from touchpoint_alchemy.scoring import clv_fit

    calibration = customer_summary(cdnow_raw[cdnow_raw["day"] <= "1997-09-30"], "1997-09-30")
    data = clv_fit.model_frame(
        pd.DataFrame(
            {
                "user_id": calibration.index,
                "frequency": calibration["x"],
                "recency": calibration["t_x"],
                "t": calibration["T"],
                "monetary_value": calibration["z"],
            }
        )
    )
    modes = []
    compile_function = pytensor.function

    def recording_mode(*args, **kwargs):
        modes.append(pytensor.config.mode)
        return compile_function(*args, **kwargs)

    monkeypatch.setattr(pytensor, "function", recording_mode)

    def fit() -> dict[str, float]:
        modes.clear()
        settings = clv_fit.ClvSettings()
        _, point, _ = clv_fit.fit_model(
            BetaGeoModel, clv_fit.BG_NBD_PARAMETERS, data, settings, "bg_nbd"
        )
        return point

    fast = fit()
    assert modes and set(modes) == {"FAST_COMPILE"}
    monkeypatch.setattr(clv_fit, "FAST_COMPILE_MAX_ROWS", len(data))
    compiled = fit()
    assert modes and "FAST_COMPILE" not in modes
    for name, published in PUBLISHED_BG_NBD.items():
        assert fast[name] == pytest.approx(published, rel=0.002), name
        assert fast[name] == pytest.approx(compiled[name], rel=1e-6), name
    assert clv_fit.map_compile_mode(10, "mcmc") is None
