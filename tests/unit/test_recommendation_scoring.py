"""Item-to-item recommendations (touchpoint_alchemy.scoring.recommendations, and
recommendation_evaluation) on matrices small
enough to work by hand.

The main matrix (customers x products A..D):

    u1: A B      u2: A B C    u3: B C    u4: D    u6: B        (u5: a user without purchase)

Buyers: A {u1, u2} (2), B {u1, u2, u3, u6} (4), C {u2, u3} (2), D {u4} (1). Cosine similarity
co-buyers / sqrt(n_i n_j): sim(A, B) = 2 / sqrt(8) = 0.7071, sim(A, C) = 1 / sqrt(4) = 0.5,
sim(B, C) = 2 / sqrt(8) = 0.7071, D: 0 with every product. Popularity (distinct customers):
B 4, A 2, C 2, D 1, so the popularity ranking is B, A, C, D (A before C: product_id), and the
popularity score is the share of the 5 customers: B 0.8, A 0.4, C 0.4, D 0.2.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from touchpoint_alchemy.scoring import InsufficientDataError
from touchpoint_alchemy.scoring.recommendation_evaluation import (
    evaluate,
    popularity_baseline,
    score_recommendations,
)
from touchpoint_alchemy.scoring.recommendations import (
    COLUMNS,
    RecommendationSettings,
    cosine_similarity,
    purchase_matrix,
    recommend,
    sorted_unique,
    top_k,
)

import reference

S = 2 / math.sqrt(8)  # sim(A, B) = sim(B, C)
BOUGHT = {"u1": "AB", "u2": "ABC", "u3": "BC", "u4": "D", "u6": "B"}
PAIRS = pd.DataFrame(
    [(user, product) for user, products in BOUGHT.items() for product in products],
    columns=["user_id", "product_id"],
)
USERS = ["u1", "u2", "u3", "u4", "u5", "u6"]


def lists(table: pd.DataFrame) -> dict[str, list[tuple]]:
    """user -> [(product, score, because_of)] in rank order."""
    out: dict[str, list[tuple]] = {}
    for row in table.sort_values(["user_id", "rank"]).itertuples():
        because = None if pd.isna(row.because_of_product_id) else row.because_of_product_id
        out.setdefault(row.user_id, []).append((row.product_id, round(row.score, 6), because))
    return out


def test_cosine_similarity_by_hand():
    products = ["A", "B", "C", "D"]
    matrix = purchase_matrix(PAIRS, products, sorted(BOUGHT))
    expected = np.array(
        [
            [0, S, 0.5, 0],
            [S, 0, S, 0],
            [0.5, S, 0, 0],
            [0, 0, 0, 0],
        ]
    )
    np.testing.assert_allclose(cosine_similarity(matrix), expected, atol=1e-12)


def test_a_pair_listed_twice_is_one_purchase_relation():
    doubled = pd.concat([PAIRS, PAIRS.iloc[:1]], ignore_index=True)
    products = ["A", "B", "C", "D"]
    once = cosine_similarity(purchase_matrix(PAIRS, products, sorted(BOUGHT)))
    twice = cosine_similarity(purchase_matrix(doubled, products, sorted(BOUGHT)))
    np.testing.assert_allclose(twice, once)


def test_recommendations_by_hand():
    table = recommend(PAIRS, USERS, count=3)
    assert list(table.columns) == list(COLUMNS)
    r = round(0.5 + S, 6)
    assert lists(table) == {
        # C: sim(A, C) + sim(B, C); B contributes most. D has no similarity: popularity fill.
        # Only two products are left to recommend (A, B bought).
        "u1": [("C", r, "B"), ("D", 0.2, None)],
        "u2": [("D", 0.2, None)],
        "u3": [("A", r, "B"), ("D", 0.2, None)],
        # nothing similar to D: the popularity ranking, A before C (equal customers)
        "u4": [("B", 0.8, None), ("A", 0.4, None), ("C", 0.4, None)],
        # no purchase: the popularity ranking
        "u5": [("B", 0.8, None), ("A", 0.4, None), ("C", 0.4, None)],
        # A and C have the same score: product_id breaks the tie
        "u6": [("A", round(S, 6), "B"), ("C", round(S, 6), "B"), ("D", 0.2, None)],
    }
    assert (
        table.groupby("user_id")["rank"].apply(list)
        == table.groupby("user_id").size().map(lambda n: list(range(1, n + 1)))
    ).all()
    # the rows in user order, each user's by rank: u5 (made apart, as every user without a
    # purchase) between u4 and u6
    rows = list(zip(table["user_id"], table["rank"], strict=True))
    assert rows == sorted(rows)


def test_bought_products_are_excluded_unless_repeatable():
    table = recommend(PAIRS, ["u1"], count=3)
    assert not table["product_id"].isin(["A", "B"]).any()
    repeat = lists(recommend(PAIRS, ["u1"], count=3, repeatable=["A"]))["u1"]
    # A is recommended again, for what u1 bought besides it: sim(B, A) (the diagonal is 0)
    assert repeat == [("C", round(0.5 + S, 6), "B"), ("A", round(S, 6), "B"), ("D", 0.2, None)]


def test_because_of_ties_go_to_the_smaller_product_id():
    """x: P R, y: Q R, w: P Q. Every pair has one co-buyer out of 2 x 2: sim = 0.5. For w, R
    scores sim(P, R) + sim(Q, R) = 1.0, with P and Q contributing equally: P."""
    pairs = pd.DataFrame(
        [("x", "P"), ("x", "R"), ("y", "Q"), ("y", "R"), ("w", "P"), ("w", "Q")],
        columns=["user_id", "product_id"],
    )
    assert lists(recommend(pairs, ["w"], count=5)) == {"w": [("R", 1.0, "P")]}


def test_sorted_unique_sorts_as_python_does():
    """Arrow's sort of the ids is Python's (code points: capitals, then small letters, then
    accents), over every column given, without repeats or nulls."""
    column = pd.Series(["b", "B", "é", "a", None, "b", "ab"], dtype="str")
    assert sorted_unique(column, {"z", "a"}, iter(["Z"])) == ["B", "Z", "a", "ab", "b", "z", "é"]
    assert sorted_unique([]) == []


def test_count_is_kept_when_the_catalogue_is_larger():
    pairs = pd.DataFrame(
        {"user_id": [f"c{i}" for i in range(30)], "product_id": [f"p{i:02d}" for i in range(30)]}
    )
    table = recommend(pairs, ["c0", "nobody"], count=10)
    assert table.groupby("user_id").size().to_dict() == {"c0": 10, "nobody": 10}
    # every product has one customer: popularity ties, broken by product_id
    assert table.loc[table["user_id"] == "nobody", "product_id"].tolist() == [
        f"p{i:02d}" for i in range(10)
    ]
    assert table.loc[table["user_id"] == "c0", "product_id"].tolist()[0] == "p01"


def test_popularity_baseline_excludes_own_products():
    baseline = popularity_baseline(PAIRS, ["u1", "u4", "u5"], count=2)
    got = baseline.groupby("user_id")["product_id"].apply(list).to_dict()
    assert got == {"u1": ["C", "D"], "u4": ["B", "A"], "u5": ["B", "A"]}


def holdout_frame() -> tuple[pd.DataFrame, pd.Timestamp]:
    """Fit period up to cutoff - 60 days. Fit: c1..c3 P, c4 Q R, c5 Q R, c6 Q, c7 S (bought
    exactly at the fit's end: still fit). Holdout: c6 R (one microsecond after the fit's end),
    c7 P, c4 S and P (two targets), c1 P again (not new: no target), c8 P (no purchase
    before: not evaluated)."""
    cutoff = pd.Timestamp("2024-06-30 12:00:00")
    fit_end = cutoff - pd.Timedelta(days=60)
    early = pd.Timestamp("2024-01-15")
    rows = [
        ("c1", "P", early),
        ("c2", "P", early),
        ("c3", "P", early),
        ("c4", "Q", early),
        ("c4", "R", early),
        ("c5", "Q", early),
        ("c5", "R", early),
        ("c6", "Q", early),
        ("c7", "S", fit_end),
        ("c6", "R", fit_end + pd.Timedelta(microseconds=1)),
        ("c7", "P", cutoff),
        ("c4", "S", fit_end + pd.Timedelta(days=3)),
        ("c4", "P", fit_end + pd.Timedelta(days=4)),
        ("c8", "P", fit_end + pd.Timedelta(days=5)),
    ]
    frame = pd.DataFrame(rows, columns=["user_id", "product_id", "first_purchased_at"])
    return frame, cutoff


def test_evaluation_by_hand():
    """Fit popularity: P 3, Q 3, R 2, S 1 (ranking P, Q, R, S). sim(Q, R) = 2 / sqrt(3 x 2).
    Evaluated: c4 (targets S, P), c6 (R), c7 (P). Top 1 of the model: c4 has nothing similar
    left (P, S: 0), so popularity: P (hit, recall 1/2); c6: R (hit); c7 (S, similar to
    nothing): P (hit). Popularity, own products excluded: c4 P (hit, 1/2), c6 P (miss), c7 P
    (hit). Coverage: model {P, R} of 4 products, popularity {P}."""
    frame, cutoff = holdout_frame()
    metrics = evaluate(frame, cutoff, holdout_days=60, k=1)
    got = {name: (round(m.value, 6), m.n) for name, m in metrics.items()}
    assert got == {
        "hit_rate_at_1": (1.0, 3),
        "recall_at_1": (round((0.5 + 1 + 1) / 3, 6), 3),
        "catalog_coverage": (0.5, 3),
        "hit_rate_at_1_popularity": (round(2 / 3, 6), 3),
        "recall_at_1_popularity": (0.5, 3),
        "catalog_coverage_popularity": (0.25, 3),
    }


def test_evaluation_without_anyone_to_evaluate_records_no_value():
    frame, cutoff = holdout_frame()
    metrics = evaluate(frame, cutoff + pd.Timedelta(days=365), holdout_days=60)
    assert set(metrics) == {
        f"{name}{suffix}"
        for name in ("hit_rate_at_10", "recall_at_10", "catalog_coverage")
        for suffix in ("", "_popularity")
    }
    assert all(m.value is None and m.n == 0 and m.detail for m in metrics.values())


def test_score_recommendations_covers_every_user_and_evaluates():
    frame, cutoff = holdout_frame()
    result = score_recommendations(frame, ["c1", "u_without_purchase"], cutoff)
    # c4 bought all four products: nothing is left to recommend to them
    everyone = {f"c{i}" for i in range(1, 9)} - {"c4"} | {"u_without_purchase"}
    assert set(result.table["user_id"].to_pylist()) == everyone
    assert result.metrics["hit_rate_at_10"].n == 3
    with pytest.raises(InsufficientDataError):
        score_recommendations(frame.iloc[:0], ["c1"], cutoff)
    with pytest.raises(ValueError):
        RecommendationSettings(recommendation_count=0)


@pytest.mark.parametrize("k", [1, 3, 10, 12])
def test_top_k_is_the_stable_argsort(k):
    """Ties (few distinct keys), infinite keys (bought products) and k up to the width: the
    first k columns of numpy's stable argsort, row by row."""
    rng = np.random.default_rng(k)
    key = rng.integers(-3, 4, size=(500, 12)).astype("float64")
    key[rng.random(key.shape) < 0.3] = np.inf
    key[0] = np.inf  # a row of ties only
    assert np.array_equal(top_k(key, k), np.argsort(key, axis=1, kind="stable")[:, :k])
    assert top_k(np.array([[2.0, 1.0, 2.0, 0.5]]), 3).tolist() == [[3, 1, 0]]  # by hand


@pytest.mark.parametrize("seed", range(6))
def test_recommendations_match_the_reference_on_random_purchases(seed):
    """Random purchases over a small catalogue (many equal similarities and scores: ties), users
    without a purchase, lists longer than what is left to some: every list equals the plain
    Python reference (tests/support/reference.py), in the order of the users, ranks 1 to n."""
    rng = np.random.default_rng(seed)
    products = [f"p{i}" for i in rng.permutation(9)]
    bought = {}
    for i in rng.permutation(60):
        chosen = rng.choice(products, size=rng.integers(0, 6), replace=False)
        if len(chosen):
            bought[f"u{i:03d}"] = {str(p) for p in chosen}
    pairs = pd.DataFrame(
        [(user, product) for user, products in bought.items() for product in products],
        columns=["user_id", "product_id"],
    ).sample(frac=1.0, random_state=seed)
    users = [f"u{i:03d}" for i in rng.permutation(70)]  # ten without purchase, unordered
    for count in (4, 10):
        expected = reference.ranked_lists(bought, sorted(users), count, decimals=9)
        table = recommend(pairs, users, count)
        assert table["user_id"].tolist() == [u for u in sorted(users) for _ in expected[u]]
        assert table.groupby("user_id")["rank"].apply(list).to_dict() == {
            u: list(range(1, len(expected[u]) + 1)) for u in users if expected[u]
        }
        got = lists(table)
        for user in sorted(users):
            want = expected[user]
            assert [(p, b) for p, _, b in got.get(user, [])] == [(p, b) for p, _, b in want]
            scores = [s for _, s, _ in got.get(user, [])]
            assert scores == pytest.approx([round(s, 6) for _, s, _ in want], abs=1e-6)
