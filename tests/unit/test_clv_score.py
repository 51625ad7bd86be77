"""CLV from stored parameters (touchpoint_alchemy.scoring.clv_score): the closed form against
the reference formulas of tests/support/clv_reference.py (written from the papers), over several
posterior draws as MCMC gives them, the settings that force a refit, and a daily scoring that
never imports pymc."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from touchpoint_alchemy.scoring.clv_fit import ClvSettings
from touchpoint_alchemy.scoring.clv_score import ClvModel, score_customers, stale

from clv_reference import conditional_expected_purchases

#: three draws of the seven parameters (weeks), around the CDNOW fit
DRAWS = {
    "r": np.array([0.24, 0.25, 0.23]),
    "alpha": np.array([4.4, 4.6, 4.2]),
    "a": np.array([0.79, 0.85, 0.75]),
    "b": np.array([2.4, 2.6, 2.3]),
    "p": np.array([6.25, 6.0, 6.5]),
    "q": np.array([3.74, 3.9, 3.6]),
    "v": np.array([15.4, 15.0, 16.0]),
}
SUMMARY = pd.DataFrame(
    {
        "user_id": ["u1", "u2", "u3", "u4"],
        "frequency": [0, 2, 5, 1],
        "recency": [0.0, 30.43, 20.0, 10.0],
        "t": [38.86, 38.86, 30.0, 12.0],
        # u4: a repeat purchase without positive spend, valued at the population mean
        "monetary_value": [0.0, 35.0, 20.0, 0.0],
    }
)


def _reference(draw: dict[str, float], rate: float) -> dict[str, np.ndarray]:
    """One draw's scores from the papers' formulas (weeks, monthly discounting)."""
    x, t_x, big_t = (SUMMARY[c].to_numpy(float) for c in ("frequency", "recency", "t"))
    bg = {name: draw[name] for name in ("r", "alpha", "a", "b")}
    r, alpha, a, b = bg.values()
    odds = (a / np.maximum(b + x - 1, 1e-12)) * ((alpha + big_t) / (alpha + t_x)) ** (r + x)
    p, q, v = draw["p"], draw["q"], draw["v"]
    spends = (SUMMARY["monetary_value"] > 0).to_numpy()
    spend = np.where(spends, p * (v + x * SUMMARY["monetary_value"]) / (p * x + q - 1), 0.0)
    spend = np.where(spends, spend, p * v / (q - 1))
    months = np.arange(1, 13) * 30.4375 / 7
    cumulative = np.array([conditional_expected_purchases(m, x, t_x, big_t, **bg) for m in months])
    per_month = np.diff(np.vstack([np.zeros(len(x)), cumulative]), axis=0)
    return {
        "p_alive": 1 / (1 + (x > 0) * odds),
        "expected_purchases_90d": conditional_expected_purchases(90 / 7, x, t_x, big_t, **bg),
        "spend": spend,
        "per_month": per_month,
        "discount": (1 + rate) ** np.arange(1, 13),
    }


def test_scores_are_the_closed_form_averaged_over_the_draws():
    settings = ClvSettings(method="mcmc", monthly_discount_rate=0.02)
    scores = score_customers(ClvModel(settings, DRAWS), SUMMARY, settings)
    draws = [_reference({k: v[i] for k, v in DRAWS.items()}, 0.02) for i in range(3)]
    for column in ("p_alive", "expected_purchases_90d"):
        expected = np.mean([d[column] for d in draws], axis=0)
        np.testing.assert_allclose(scores[column], expected, rtol=1e-10)
    spend = np.mean([d["spend"] for d in draws], axis=0)
    np.testing.assert_allclose(scores["expected_avg_order_value"], spend, rtol=1e-10)
    # each draw's CLV with the posterior mean spend, as pymc-marketing computes it
    clv = np.array([(d["per_month"] * spend / d["discount"][:, None]).sum(axis=0) for d in draws])
    np.testing.assert_allclose(scores["clv_12m"], clv.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(scores["clv_12m_lower"], np.quantile(clv, 0.05, axis=0))
    np.testing.assert_allclose(scores["clv_12m_upper"], np.quantile(clv, 0.95, axis=0))


def test_a_map_fit_has_one_draw_and_no_interval():
    settings = ClvSettings()
    one = {name: values[:1] for name, values in DRAWS.items()}
    scores = score_customers(ClvModel(settings, one), SUMMARY, settings)
    reference = _reference({k: v[0] for k, v in DRAWS.items()}, 0.01)
    np.testing.assert_allclose(scores["p_alive"], reference["p_alive"], rtol=1e-10)
    assert scores["clv_12m_lower"].isna().all() and scores["clv_12m_upper"].isna().all()


@pytest.mark.parametrize(
    ("change", "refit"),
    [({"monthly_discount_rate": 0.05}, False), ({"time_unit": "day"}, True), ({"seed": 1}, True)],
)
def test_only_fit_settings_make_a_stored_fit_stale(change, refit):
    model = ClvModel(ClvSettings(), DRAWS)
    reason = stale(model, ClvSettings(**change))
    assert (reason is not None) == refit
    if refit:
        assert next(iter(change)) in reason


def test_scoring_with_stored_parameters_does_not_import_pymc():
    first = {name: [float(values[0])] for name, values in DRAWS.items()}
    code = (
        "import sys, pandas as pd\n"
        "from touchpoint_alchemy.scoring.clv import apply_clv\n"
        "from touchpoint_alchemy.scoring.clv_score import ClvModel\n"
        "from touchpoint_alchemy.scoring.clv_fit import ClvSettings\n"
        "days = pd.DataFrame({'user_id': ['a', 'a', 'b'], 'purchase_date': ['2024-01-01',"
        " '2024-02-01', '2024-01-15'], 'revenue': [10.0, 20.0, 5.0],"
        " 'observation_end_date': ['2024-03-01'] * 3})\n"
        f"draws = {first!r}\n"
        "result = apply_clv(days, ClvModel(ClvSettings(), draws))\n"
        "assert len(result.scores) == 2\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('pymc', 'pymc_marketing', 'pytensor', 'arviz')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
