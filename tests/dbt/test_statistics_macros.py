"""The portable statistics macros (``macros/statistics.sql``: normal CDF, two-sided p-value,
chi-square upper tail, and ``sums_differ``, the reconciliation tests' tolerance) compiled by
dbt, run on DuckDB over a grid of arguments and compared with scipy or worked values; NULL in
gives NULL out. One ``dbt compile --inline`` serves every test."""

from __future__ import annotations

import re

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from builds import compile_inline

PORTABLE_FUNCTIONS = {"cast", "abs", "floor", "exp", "sqrt", "power"}
SQL_KEYWORDS = {"case", "when", "then", "else", "end", "and", "or", "not", "as", "select", "from"}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> str:
    """The macros over a table ``grid(x, df)``, compiled by dbt."""
    tmp_path = tmp_path_factory.mktemp("statistics_macros")
    return compile_inline(
        "select x, df, {{ normal_cdf('x') }} as phi, {{ normal_upper_tail('x') }} as q, "
        "{{ two_sided_p_value('x') }} as p_two_sided, "
        "{{ chi_square_upper_tail('x * x', 'df') }} as chi_square_p, "
        "{{ sums_differ('x', 'df') }} as sums_differ "
        "from grid",
        tmp_path,
    )


def run(compiled: str, grid: pd.DataFrame) -> pd.DataFrame:
    with duckdb.connect() as con:
        con.register("grid", grid)
        return con.execute(compiled).df()


def test_statistics_macros_match_scipy(compiled):
    called = {name.lower() for name in re.findall(r"([A-Za-z_]+)\s*\(", compiled)}
    functions = called - SQL_KEYWORDS
    assert functions <= PORTABLE_FUNCTIONS, functions - PORTABLE_FUNCTIONS

    xs = np.concatenate(
        [np.linspace(-40, 40, 16001), [0.67448975, np.sqrt(32), 37.5193, -37.5193, 1e-12]]
    )
    grid = pd.DataFrame({"x": np.repeat(xs, 6), "df": np.tile([0, 1, 2, 3, 5, 30], len(xs))})
    result = run(compiled, grid)

    x, df = result["x"].to_numpy(), result["df"].to_numpy()
    np.testing.assert_allclose(result["phi"], stats.norm.cdf(x), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(result["q"], stats.norm.sf(x), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(
        result["p_two_sided"], 2 * stats.norm.sf(np.abs(x)), rtol=1e-12, atol=1e-300
    )

    chi = result["chi_square_p"].to_numpy()
    assert np.isnan(chi[df == 0]).all()
    for k in (1, 2):
        m = df == k
        np.testing.assert_allclose(chi[m], stats.chi2.sf(x[m] ** 2, k), rtol=1e-9, atol=1e-15)
    for k in (3, 5, 30):
        m = df == k
        statistic = x[m] ** 2
        z = ((statistic / k) ** (1 / 3) - (1 - 2 / (9 * k))) / np.sqrt(2 / (9 * k))
        np.testing.assert_allclose(chi[m], stats.norm.sf(z), rtol=1e-12, atol=1e-15)
        # Wilson-Hilferty itself: within 0.006 of the exact p-value (the worst case is df = 3)
        assert np.abs(chi[m] - stats.chi2.sf(statistic, k)).max() < 0.006


def test_statistics_macros_are_null_for_null(compiled):
    grid = pd.DataFrame({"x": pd.Series([None], dtype="float64"), "df": [1]})
    row = run(compiled, grid).iloc[0]
    assert row[["phi", "q", "p_two_sided", "chi_square_p"]].isna().all()


@pytest.mark.parametrize(
    ("actual", "expected", "differ"),
    [
        (50_000_000.000121, 50_000_000.0, False),  # the 50M bench's rounding
        (6_004_100.37 - 1.6e-6, 6_004_100.37, False),  # one month of it
        (100.0 + 5e-7, 100.0, False),
        (50_000_000.01, 50_000_000.0, True),  # a lost cent on 50 million
        (89_999_999.99, 90_000_000.0, True),  # ... on 90 million
        (100.01, 100.0, True),
        (0.00001, 0.0, True),
    ],
)
def test_sums_differ_tolerates_rounding_not_a_cent(compiled, actual, expected, differ):
    """``sums_differ(x, df)``: x is the actual sum, df the expected one. The 50M bench's product
    revenue summed in two orders differed by 1.2e-4 on 50 million, which a fixed 1e-6
    tolerance failed (the build stopped)."""
    grid = pd.DataFrame({"x": [actual], "df": [expected]})
    assert bool(run(compiled, grid).iloc[0]["sums_differ"]) is differ
