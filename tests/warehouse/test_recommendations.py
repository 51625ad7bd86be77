"""Product recommendations on the demo warehouse against an independent computation.

Everything expected is computed here from the raw demo files through tests/support/reference.py
(validate, purchases of consenting users up to the data cutoff) and the staged order lines, with
plain Python sets and dicts from the written definitions (DECISIONLOG.md, 62; docs/scoring.md):
never from touchpoint_alchemy.scoring.recommendations or the SQL.

- cosine similarity of products i, j: |buyers(i) & buyers(j)| / sqrt(|buyers(i)| |buyers(j)|);
- a user's score of an unbought product j: the sum of sim(i, j) over the products i they bought;
  its because_of: the i with the largest sim(i, j), ties by product_id;
- the list: the products with a positive score by score (ties: product_id), then the others by
  distinct customers (ties: product_id); a popularity row's score is the share of customers;
- evaluation: fit on purchases up to cutoff - 60 days; targets: products a customer who bought
  before first bought in (cutoff - 60 days, cutoff].
"""

from __future__ import annotations

import pandas as pd
import pytest

import reference

K = 10
HOLDOUT = pd.Timedelta(days=60)
DECIMALS = 9  # scores equal to this precision are ties (the model rounds to 10)


@pytest.fixture(scope="module")
def staged(demo_validated):
    return demo_validated[0]


@pytest.fixture(scope="module")
def lines(staged) -> tuple[pd.DataFrame, pd.Timestamp]:
    """(user_id, product_id, created_at) of every purchase line up to the cutoff, and it."""
    cutoff = reference.resolve_cutoff(staged)
    purchases = reference.purchases(staged, cutoff)
    items = staged["order_items"][["order_id", "product_id"]]
    joined = purchases.merge(items, on="order_id")
    return joined[["user_id", "product_id", "created_at"]], cutoff


def test_recommendations_match_an_independent_computation(demo_warehouse, staged, lines):
    frame, _ = lines
    bought = frame.groupby("user_id")["product_id"].agg(set).to_dict()
    users = sorted(set(reference.consenting_users(staged)["user_id"]))
    expected = reference.ranked_lists(bought, users, K, DECIMALS)
    actual = demo_warehouse.df(
        "select * from scoring.product_recommendations order by user_id, rank"
    )
    assert sorted(actual["user_id"].unique()) == users, "every consenting user, no one else"
    got: dict[str, list] = {}
    for row in actual.itertuples():
        because = None if pd.isna(row.because_of_product_id) else row.because_of_product_id
        got.setdefault(row.user_id, []).append((row.product_id, row.score, because))
    for user in users:
        want = expected[user]
        assert [(p, b) for p, _, b in got[user]] == [(p, b) for p, _, b in want], user
        assert [s for _, s, _ in got[user]] == pytest.approx([s for _, s, _ in want]), user
    ranks = actual.groupby("user_id")["rank"].apply(list)
    assert all(r == list(range(1, K + 1)) for r in ranks), "1..10 for everyone (400 products)"
    nonbuyers = sorted(set(users) - set(bought))
    assert nonbuyers and all(b is None for u in nonbuyers for _, _, b in got[u])


def test_next_best_product_is_rank_one(demo_warehouse):
    customers = demo_warehouse.df(
        """select c.user_id, c.next_best_product_id, r.product_id
        from marts.customers c left join scoring.product_recommendations r
        on r.user_id = c.user_id and r.rank = 1"""
    )
    assert len(customers) and customers["next_best_product_id"].notna().all()
    assert (customers["next_best_product_id"] == customers["product_id"]).all()


def test_evaluation_matches_an_independent_computation(demo_warehouse, lines):
    frame, cutoff = lines
    fit_end = cutoff - HOLDOUT
    first = frame.groupby(["user_id", "product_id"])["created_at"].min().reset_index()
    fit = first[first["created_at"] <= fit_end]
    bought = fit.groupby("user_id")["product_id"].agg(set).to_dict()
    new = first[(first["created_at"] > fit_end) & first["user_id"].isin(set(bought))]
    targets = new.groupby("user_id")["product_id"].agg(set).to_dict()
    evaluated = sorted(targets)
    model = {
        u: [p for p, _, _ in r]
        for u, r in reference.ranked_lists(bought, evaluated, K, DECIMALS).items()
    }
    buyers = fit.groupby("product_id")["user_id"].nunique()
    popular = sorted(buyers.index, key=lambda p: (-buyers[p], p))
    baseline = {u: [p for p in popular if p not in bought[u]][:K] for u in evaluated}

    def figures(top: dict[str, list[str]]) -> tuple[float, float, float]:
        hits = [len(set(top[u]) & targets[u]) for u in evaluated]
        hit_rate = sum(h > 0 for h in hits) / len(evaluated)
        recall = sum(h / len(targets[u]) for h, u in zip(hits, evaluated, strict=True))
        coverage = len({p for u in evaluated for p in top[u]}) / len(buyers)
        return hit_rate, recall / len(evaluated), coverage

    # model_version: which fit the evaluation is of (tests/scenarios/test_stored_models.py)
    metrics = demo_warehouse.df(
        "select metric, value, n from scoring.model_metrics "
        "where model = 'product_recommendations' and metric <> 'model_version'"
    ).set_index("metric")
    names = ("hit_rate_at_10", "recall_at_10", "catalog_coverage")
    expected = dict(zip(names, figures(model), strict=True))
    expected |= {f"{n}_popularity": v for n, v in zip(names, figures(baseline), strict=True)}
    assert sorted(metrics.index) == sorted(expected)
    assert (metrics["n"] == len(evaluated)).all() and len(evaluated) >= 30
    for name, value in expected.items():
        assert metrics.loc[name, "value"] == pytest.approx(value, abs=1e-12), name
    # the bar for the demo data: the model beats the popularity baseline on hit rate
    assert expected["hit_rate_at_10"] > expected["hit_rate_at_10_popularity"]


def test_non_consenting_users_are_absent(demo_warehouse, staged):
    users = staged["users"]
    refused = set(users.loc[~users["consent_analytics"].fillna(False).astype(bool), "user_id"])
    assert refused
    for table in ("scoring.product_recommendations", "intermediate.int_customer_products"):
        present = set(demo_warehouse.df(f"select distinct user_id from {table}")["user_id"])
        assert not present & refused, table


def test_the_run_summary_prints_the_hit_rate_against_popularity(demo_warehouse):
    """`make run`'s summary: the model's hit rate and recall at 10 against the baseline's, as
    model_metrics holds them (the figures themselves: the test above)."""
    from touchpoint_alchemy.summary import render

    metrics = demo_warehouse.df(
        "select metric, value, n from scoring.model_metrics where model = 'product_recommendations'"
    ).set_index("metric")
    with demo_warehouse.connect() as con:
        text = render(con)
    (line,) = [line for line in text.splitlines() if line.strip().startswith("Recommendations")]
    hit, popular = metrics.loc["hit_rate_at_10"], metrics.loc["hit_rate_at_10_popularity"]
    verdict = "beats" if hit["value"] > popular["value"] else "does NOT beat"
    assert f"hit rate@10 {hit['value']:.1%} {verdict} popularity {popular['value']:.1%}" in line
    assert f"recall@10 {metrics.loc['recall_at_10', 'value']:.1%}" in line
    assert f"{int(hit['n']):,} customers" in line
