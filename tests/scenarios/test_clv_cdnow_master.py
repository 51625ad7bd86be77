"""CLV on the whole CDNOW master log (23,570 customers), end to end, against maximum likelihood
computed independently.

The master log goes in through the raw data contract as paid orders (plus one consenting user per
customer; every other raw file header-only), with DATA_CUTOFF = 1998-06-30, the last day of the
log: the real dbt build, the real Dagster assets. Fader, Hardie & Lee publish fits of the 1/10th
sample only (tests/scenarios/test_clv_cdnow.py), so the reference here is the maximum-likelihood fit
of the same data computed in this test with pandas and scipy from the closed-form log-likelihoods
(tests/support/clv_reference.py): same-day purchases merged, weeks, T to the cutoff date,
Gamma-Gamma on the repeat customers with a positive mean repeat spend. The pipeline must agree
within 1%.

The master log has one customer whose repeat purchases are all worth $0: pymc-marketing's
Gamma-Gamma model refuses such a spend column, and the build used to fail on it (issue #15).

The build is limited to marts.customers and everything it reads (the CLV scores and the other
models and scores that mart joins): about a minute on 2 cores, most of it the build, so it is
marked ``slow``; `make test` runs it (it deselects only ``spark``).
"""

from __future__ import annotations

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from builds import DATA_DIR, Warehouse, built
from clv_reference import (
    bg_nbd_log_likelihood,
    bg_nbd_mle,
    customer_summary,
    gamma_gamma_log_likelihood,
    gamma_gamma_mle,
    write_contract_files,
)

pytestmark = pytest.mark.slow

MASTER = DATA_DIR / "cdnow" / "CDNOW_master.txt"
CUTOFF = "1998-06-30"


@pytest.fixture(scope="module")
def master_log() -> pd.DataFrame:
    log = pd.read_csv(MASTER, sep=r"\s+", dtype={"customer_id": str, "date": str})
    log["user_id"] = "m" + log["customer_id"]
    log["day"] = pd.to_datetime(log["date"], format="%Y%m%d")
    return log


@pytest.fixture(scope="module")
def summary(master_log) -> pd.DataFrame:
    return customer_summary(master_log, CUTOFF)


@pytest.fixture(scope="module")
def master_warehouse(tmp_path_factory, master_log) -> Warehouse:
    raw_dir = tmp_path_factory.mktemp("cdnow_master_raw")
    write_contract_files(master_log, raw_dir)
    # marts.customers (which joins the CLV scores back in) and what it reads
    return built(
        tmp_path_factory,
        "cdnow_master",
        raw_dir,
        data_cutoff=CUTOFF,
        upstream_of=[dg.AssetKey(["marts", "customers"])],
    )


def fitted(warehouse: Warehouse, model: str) -> pd.DataFrame:
    return warehouse.df(
        "select parameter, value, log_likelihood, n_customers, converged "
        f"from scoring.clv_model_parameters where model = '{model}'"
    ).set_index("parameter")


def clv_metrics(warehouse: Warehouse) -> pd.DataFrame:
    return warehouse.df(
        "select metric, value, n, detail from scoring.model_metrics where model = 'clv'"
    ).set_index("metric")


def test_the_reference_reproduces_the_published_fit_of_the_sample():
    """The independent reference is right: on the 1/10th sample (calibration to 1997-09-30) it
    gives Fader, Hardie & Lee's published BG/NBD fit and Gamma-Gamma fit."""
    sample = pd.read_csv(
        DATA_DIR / "cdnow" / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "user_id", "date", "cds", "dollar_value"],
        dtype={"date": str},
    )
    sample["day"] = pd.to_datetime(sample["date"], format="%Y%m%d")
    calibration = customer_summary(sample[sample["day"] <= "1997-09-30"], "1997-09-30")
    bg = bg_nbd_mle(calibration)
    for name, published in {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}.items():
        assert bg[name] == pytest.approx(published, rel=0.002), name
    assert bg_nbd_log_likelihood(**bg, summary=calibration) == pytest.approx(-9582.4, abs=0.1)
    gg = gamma_gamma_mle(calibration)
    for name, published in {"p": 6.25, "q": 3.74, "v": 15.44}.items():
        assert gg[name] == pytest.approx(published, rel=0.002), name


def test_the_master_log_has_a_zero_value_repeat_buyer_that_pymc_marketing_rejects(summary):
    """The data of issue #15: repeat buyers whose mean repeat spend is 0, which the Gamma-Gamma
    model of pymc-marketing refuses (ValueError), so the old fit on every repeat customer
    failed."""
    from pymc_marketing.clv import GammaGammaModel

    assert len(summary) == 23_570
    repeat = summary[summary["x"] > 0]
    assert len(repeat) == 11_516
    zero = repeat[repeat["z"] <= 0]
    assert len(zero) == 1
    data = pd.DataFrame(
        {
            "customer_id": repeat.index,
            "frequency": repeat["x"].astype(int).to_numpy(),
            "monetary_value": repeat["z"].to_numpy(),
        }
    )
    with pytest.raises(ValueError, match="monetary_value contains zeroes"):
        GammaGammaModel().build_model(data)


def test_bg_nbd_equals_the_independent_maximum_likelihood_fit(master_warehouse, summary):
    reference = bg_nbd_mle(summary)
    ours = fitted(master_warehouse, "bg_nbd")
    for name, value in reference.items():
        assert ours.loc[name, "value"] == pytest.approx(value, rel=0.01), name
    assert ours["converged"].all()
    assert (ours["n_customers"] == 23_570).all()
    assert ours["log_likelihood"].iloc[0] == pytest.approx(
        bg_nbd_log_likelihood(**reference, summary=summary), abs=0.5
    )


def test_gamma_gamma_equals_the_independent_fit_on_positive_spenders(master_warehouse, summary):
    reference = gamma_gamma_mle(summary)
    ours = fitted(master_warehouse, "gamma_gamma")
    for name, value in reference.items():
        assert ours.loc[name, "value"] == pytest.approx(value, rel=0.01), name
    assert ours["converged"].all()
    assert (ours["n_customers"] == 11_515).all()
    assert ours["log_likelihood"].iloc[0] == pytest.approx(
        gamma_gamma_log_likelihood(**reference, summary=summary), abs=0.5
    )


def test_the_zero_value_repeat_buyer_is_counted_and_valued_at_the_population_mean(
    master_warehouse, summary
):
    metrics = clv_metrics(master_warehouse)
    excluded = metrics.loc["gamma_gamma_excluded_nonpositive_spend"]
    assert excluded["value"] == 1 and excluded["n"] == 1
    assert "population mean" in excluded["detail"]
    assert not any(name.endswith("_not_converged") for name in metrics.index)
    assert "fit_failed" not in metrics.index and "insufficient_data" not in metrics.index

    gg = fitted(master_warehouse, "gamma_gamma")["value"]
    population_mean = gg["p"] * gg["v"] / (gg["q"] - 1)
    zero_spender = summary[(summary["x"] > 0) & (summary["z"] <= 0)].index[0]
    scores = master_warehouse.df(
        "select user_id, frequency, monetary_value, p_alive, expected_purchases_365d, "
        "expected_avg_order_value, clv_12m from scoring.customer_clv"
    ).set_index("user_id")
    row = scores.loc[zero_spender]
    assert row["frequency"] > 0 and row["monetary_value"] == 0
    assert row["expected_avg_order_value"] == pytest.approx(population_mean, rel=1e-9)
    # BG/NBD still covers this customer: p_alive and expected purchases, and so a CLV
    assert 0 < row["p_alive"] < 1 and row["expected_purchases_365d"] > 0
    assert row["clv_12m"] > 0
    # and every customer has every score, in the mart too
    customers = master_warehouse.df("select user_id, p_alive, clv_12m from marts.customers")
    assert len(customers) == 23_570
    assert customers["p_alive"].notna().all() and customers["clv_12m"].notna().all()
    assert np.isfinite(scores[["p_alive", "clv_12m"]].to_numpy()).all()
