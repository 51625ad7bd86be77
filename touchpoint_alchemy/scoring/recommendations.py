"""Product recommendations: item-to-item collaborative filtering with cosine similarity.

The customer x product purchase matrix X is binary (1: the customer bought the product at least
once up to the data cutoff). Two products are similar when the same customers bought both:
``sim(i, j) = |C_i & C_j| / sqrt(|C_i| |C_j|)``, the cosine of their columns, with the diagonal
set to 0. A customer's score of product j is the sum of sim(i, j) over the products i they
bought (a sparse product: only their products are added); ``because_of_product_id`` is the
bought product with the largest sim(i, j) (ties: the smallest product_id). Products the customer
bought are excluded unless repeatable. Scores are rounded to :data:`SCORE_DECIMALS` decimals, so
that sums equal up to float error (or added in another order) tie.

Each user gets ``count`` products (fewer only when fewer are left to recommend): the products
with a positive score by score (ties: product_id), then, to fill the list, by popularity
(distinct customers, ties: product_id). A user with no purchase gets the popularity ranking;
a popularity row has ``because_of_product_id`` null and, as score, the share of customers who
bought the product. That list is made once for all the users without a purchase (DECISIONLOG 89).

:func:`touchpoint_alchemy.scoring.recommendation_evaluation.evaluate` measures the method on a
holdout (DECISIONLOG.md, 62); only the refits evaluate, the daily runs recompute the lists from
the day's purchases (:func:`recommend_everyone`) and keep the last refit's evaluation
(DECISIONLOG 74). Ids become positions through Arrow (DECISIONLOG 153). No Dagster, no database;
scipy, pyarrow and pandas are imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from touchpoint_alchemy.scoring import InsufficientDataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import scipy.sparse as sp

#: the columns of scoring.product_recommendations, in order
COLUMNS = ("user_id", "rank", "product_id", "score", "because_of_product_id")
#: the list length the evaluation measures (hit_rate_at_10, recall_at_10)
EVALUATION_K = 10
#: the decimals scores are compared (and written) at
SCORE_DECIMALS = 10
#: customers scored at once (a dense block of customers x products)
CHUNK_USERS = 2_000


@dataclass(frozen=True)
class RecommendationSettings:
    """recommendation_count: products per user; holdout_days: the evaluation's holdout;
    repeatable: products recommended again to customers who bought them."""

    recommendation_count: int = 10
    holdout_days: int = 60
    repeatable: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.recommendation_count < 1:
            raise ValueError("recommendation_count must be at least 1")
        if self.holdout_days < 1:
            raise ValueError("holdout_days must be at least 1")


def purchase_matrix(
    pairs: pd.DataFrame, products: Sequence[str] | pa.Array, users: Sequence[str] | pa.Array
) -> sp.csr_matrix:
    """The binary users x products matrix of ``pairs`` (user_id, product_id), rows in the order
    of ``users`` and columns in that of ``products`` (pairs outside them are ignored)."""
    return _binary_matrix(
        _positions(pairs["user_id"], users),
        _positions(pairs["product_id"], products),
        (len(users), len(products)),
    )


def _binary_matrix(row: np.ndarray, col: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """The binary matrix of ``shape`` with a 1 at each (row, col); a position -1 is left out."""
    import numpy as np
    import scipy.sparse as sp

    keep = (row >= 0) & (col >= 0)
    data = np.ones(int(keep.sum()), dtype=np.float64)
    matrix = sp.csr_matrix((data, (row[keep], col[keep])), shape=shape)
    matrix.data[:] = 1.0  # a pair listed twice is still one purchase relation
    return matrix


def _strings(column: Iterable[str] | pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """``column`` as Arrow strings (a pandas column, a list, a set or any iterable)."""
    import pyarrow as pa

    if isinstance(column, (pa.Array, pa.ChunkedArray)):
        return column.cast(pa.string())
    if isinstance(column, (set, frozenset)) or not hasattr(column, "__len__"):
        column = list(column)
    return pa.array(column, type=pa.string(), from_pandas=True)


def _positions(values: Iterable[str], universe: Sequence[str] | pa.Array) -> np.ndarray:
    """The position in ``universe`` (distinct strings) of each of ``values``; -1 for a value not
    in it, or null. A hash lookup in Arrow: pandas' indexer over Python strings cost seconds at
    a million users."""
    import pyarrow.compute as pc

    found = pc.index_in(_strings(values), value_set=_strings(universe))
    return found.fill_null(-1).to_numpy().astype("int64")


def cosine_similarity(matrix: sp.csr_matrix) -> np.ndarray:
    """products x products cosine similarity of the columns of the binary ``matrix``, with a
    zero diagonal (dense: the catalogue is hundreds to thousands of products)."""
    return _similarity((matrix.T @ matrix).toarray())


def _similarity(co: np.ndarray) -> np.ndarray:
    """The cosine similarity of the co-purchase counts ``co`` (products x products: customers
    who bought both; the diagonal: each product's customers), with a zero diagonal."""
    import numpy as np

    buyers = np.sqrt(np.diag(co))
    with np.errstate(divide="ignore", invalid="ignore"):
        similarity = co / np.outer(buyers, buyers)
    similarity = np.nan_to_num(similarity, nan=0.0, posinf=0.0)
    np.fill_diagonal(similarity, 0.0)
    return similarity


def popularity_order(pairs: pd.DataFrame, products: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per product of ``products``: its distinct customers, and its rank by them (0 = most;
    ties: product_id, i.e. the order of ``products``, which is sorted)."""
    customers = (
        pairs.drop_duplicates(["user_id", "product_id"])
        .groupby("product_id")["user_id"]
        .size()
        .reindex(products, fill_value=0)
        .to_numpy()
    )
    return customers, _popularity_rank(customers)


def _popularity_rank(customers: np.ndarray) -> np.ndarray:
    """Each product's rank by its distinct ``customers`` (0 = most; ties: the product's
    position, i.e. product_id)."""
    import numpy as np

    order = np.lexsort((np.arange(len(customers)), -customers))
    rank = np.empty(len(customers), dtype=np.int64)
    rank[order] = np.arange(len(customers))
    return rank


def top_k(key: np.ndarray, k: int) -> np.ndarray:
    """``np.argsort(key, axis=1, kind="stable")[:, :k]`` (the columns of the k smallest keys of
    each row, ties by column) without sorting whole rows: the k smallest are partitioned out,
    and only the keys up to the k-th smallest (its ties included) are sorted."""
    import numpy as np

    n, width = key.shape
    if k >= width:
        return np.argsort(key, axis=1, kind="stable")[:, :k]
    smallest = np.argpartition(key, k - 1, axis=1)[:, :k]
    kth = np.take_along_axis(key, smallest, axis=1).max(axis=1)
    rows, cols = np.nonzero(key <= kth[:, np.newaxis])
    order = np.lexsort((cols, key[rows, cols], rows))
    rows, cols = rows[order], cols[order]
    position = np.arange(len(rows)) - np.searchsorted(rows, np.arange(n))[rows]
    keep = position < k
    top = np.empty((n, k), dtype=np.intp)
    top[rows[keep], position[keep]] = cols[keep]
    return top


def recommend(
    pairs: pd.DataFrame, users: Iterable[str], count: int, repeatable: Iterable[str] = ()
) -> pd.DataFrame:
    """Top ``count`` products for each of ``users`` from the purchases ``pairs`` (user_id,
    product_id: bought up to the fit's end). The catalogue is the products of ``pairs``."""
    return _recommend(pairs, _sorted_unique_array(users), count, repeatable).to_pandas()


def _recommend(
    pairs: pd.DataFrame, users: pa.Array, count: int, repeatable: Iterable[str]
) -> pa.Table:
    """:func:`recommend` for ``users`` already distinct and sorted (an Arrow array), as Arrow."""
    import numpy as np
    import pyarrow.compute as pc

    products = _sorted_unique_array(pairs["product_id"])
    if not len(products) or not len(users):
        return _arrow_schema().empty_table()
    product_of_pair = _positions(pairs["product_id"], products)
    matrix = _binary_matrix(
        _positions(pairs["user_id"], users), product_of_pair, (len(users), len(products))
    )
    # The co-purchases over every customer of ``pairs``, numbered in any order (a product's own
    # count, the diagonal, is its distinct customers: the popularity).
    customer_ids = _strings(pairs["user_id"])
    customers_all = pc.unique(customer_ids).drop_null()
    customer_matrix = _binary_matrix(
        _positions(customer_ids, customers_all),
        product_of_pair,
        (len(customers_all), len(products)),
    )
    co = (customer_matrix.T @ customer_matrix).toarray()
    similarity = _similarity(co)
    customers = np.diag(co).astype(np.int64)
    pop_rank = _popularity_rank(customers)
    share = customers / max(len(customers_all), 1)
    repeat = np.isin(np.asarray(products.to_pylist(), dtype=object), list(repeatable))
    k = min(count, len(products))
    has_purchase = np.diff(matrix.indptr) > 0
    buyers = np.flatnonzero(has_purchase)
    # Rows as positions (user, product, because: -1 none) until the end, where the names are
    # taken in Arrow: picking millions of Python strings cost more than the scoring.
    parts: list[dict[str, np.ndarray]] = []
    for start in range(0, len(buyers), CHUNK_USERS):
        chunk = buyers[start : start + CHUNK_USERS]
        rows = matrix[chunk]
        bought = rows.toarray() > 0
        # rounded: scores equal up to float error are ties (broken by product_id) on any engine
        # (and any order of adding: the sparse product adds only each user's products)
        scores = np.round(np.asarray(rows @ similarity), SCORE_DECIMALS)
        # one key: recommendations first by score, then popularity, bought products never
        key = np.where(scores > 1e-12, -scores, 1.0 + pop_rank[np.newaxis, :])
        key[bought & ~repeat[np.newaxis, :]] = np.inf
        top = top_k(key, k)
        top_key = np.take_along_axis(key, top, axis=1)
        # the finite keys are a prefix of each row (bought products, infinite, sort last), so
        # the ranks of a user are 1 to their count
        row, rank = np.nonzero(np.isfinite(top_key))
        product = top[row, rank]
        model = top_key[row, rank] < 0
        because = np.full(row.size, -1, dtype=np.int64)
        if model.any():
            because[model] = _because_of(rows, row[model], product[model], similarity)
        parts.append(
            {
                "user": chunk[row],
                "rank": rank + 1,
                "product": product,
                "score": np.where(model, -top_key[row, rank], share[product]),
                "because": because,
            }
        )
    # A user without a purchase scores 0 everywhere: every one of them gets the popularity
    # list the loop would give such a row, made once (at 50M, two thirds of the users).
    others = np.flatnonzero(~has_purchase)
    if len(others):
        popular = top_k((1.0 + pop_rank)[np.newaxis, :].astype(np.float64), k)[0]
        parts.append(
            {
                "user": np.repeat(others, k),
                "rank": np.tile(np.arange(1, k + 1), len(others)),
                "product": np.tile(popular, len(others)),
                "score": np.tile(share[popular], len(others)),
                "because": np.full(len(others) * k, -1, dtype=np.int64),
            }
        )
    # Back in the order of users, each user's rows by rank: a user's rows go to the user's
    # first place (the rows of the users before them) plus the rank minus one, a permutation
    # computed in one pass rather than a sort of millions of rows.
    columns = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    per_user = np.bincount(columns["user"], minlength=len(users))
    first = np.cumsum(per_user) - per_user
    place = first[columns["user"]] + columns["rank"] - 1
    placed = {}
    for name, values in columns.items():
        placed[name] = np.empty_like(values)
        placed[name][place] = values
    return _named(placed, users, products)


def _because_of(
    rows: sp.csr_matrix, users: np.ndarray, products: np.ndarray, similarity: np.ndarray
) -> np.ndarray:
    """Per pair (``users[i]``, a row of ``rows``; ``products[i]``, recommended to them): the
    product the user bought with the largest similarity to it (rounded; ties: the smallest
    product index, i.e. product_id). Only each user's own products are compared (a few),
    not the whole catalogue: each pair's products are a segment, reduced in one pass."""
    import numpy as np

    counts = np.diff(rows.indptr)[users]
    # a recommendation by score has a bought product behind it: no segment is empty
    starts = np.cumsum(counts) - counts
    pair = np.repeat(np.arange(len(users)), counts)
    offset = np.arange(len(pair)) - starts[pair]
    bought = rows.indices[rows.indptr[users][pair] + offset].astype(np.int64)
    value = np.round(similarity[bought, products[pair]], SCORE_DECIMALS)
    best = np.maximum.reduceat(value, starts)
    candidate = np.where(value == best[pair], bought, np.iinfo(np.int64).max)
    return np.minimum.reduceat(candidate, starts)


def sorted_unique(*columns: Iterable[str]) -> list[str]:
    """The distinct non-null strings of ``columns``, sorted (in code point order, as ``sorted``
    sorts them), counted in Arrow rather than in a Python set."""
    return _sorted_unique_array(*columns).to_pylist()


def _sorted_unique_array(*columns: Iterable[str]) -> pa.Array:
    """:func:`sorted_unique` as an Arrow array of strings."""
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = []
    for column in columns:
        array = _strings(column)
        chunks.extend(array.chunks if isinstance(array, pa.ChunkedArray) else [array])
    distinct = pc.unique(pa.chunked_array(chunks, type=pa.string()).drop_null())
    return distinct.take(pc.sort_indices(distinct))


def _arrow_schema() -> pa.Schema:
    """The Arrow types of :data:`COLUMNS` (``because_of_product_id``: null for a popularity
    pick)."""
    import pyarrow as pa

    return pa.schema(
        [
            ("user_id", pa.string()),
            ("rank", pa.int64()),
            ("product_id", pa.string()),
            ("score", pa.float64()),
            ("because_of_product_id", pa.string()),
        ]
    )


def _named(columns: dict[str, np.ndarray], users: pa.Array, products: pa.Array) -> pa.Table:
    """The rows of positions ``columns`` (user, rank, product, score, because: -1 for none) with
    the names of ``users`` and ``products``, as the table of :data:`COLUMNS` (Arrow)."""
    import numpy as np
    import pyarrow as pa

    user_names = users
    product_names = products
    because = columns["because"]
    return pa.table(
        {
            "user_id": user_names.take(columns["user"]),
            "rank": pa.array(columns["rank"], type=pa.int64()),
            "product_id": product_names.take(columns["product"]),
            "score": pa.array(columns["score"], type=pa.float64()),
            "because_of_product_id": product_names.take(
                pa.array(np.maximum(because, 0), mask=because < 0)
            ),
        },
        schema=_arrow_schema(),
    )


def recommend_everyone(
    customer_products: pd.DataFrame, users: Iterable[str], settings: RecommendationSettings
) -> pa.Table:
    """The recommendations of every user in ``users`` and every customer, from
    ``customer_products`` (user_id, product_id: purchases up to the data cutoff), as an Arrow
    table (:data:`COLUMNS`): at 50M touchpoints 7.8M rows, whose strings a DataFrame would hold
    as Python objects, to be turned back into Arrow for the warehouse. The daily runs compute
    them this way, without the evaluation (DECISIONLOG 74)."""
    if customer_products.empty:
        raise InsufficientDataError("product_recommendations: no purchase with a product")
    pairs = customer_products[["user_id", "product_id"]]
    everyone = _sorted_unique_array(users, pairs["user_id"])
    return _recommend(pairs, everyone, settings.recommendation_count, settings.repeatable)


def evaluation_changed(
    evaluated: RecommendationSettings, settings: RecommendationSettings
) -> str | None:
    """Why the evaluation made with ``evaluated`` does not describe ``settings`` (another
    holdout or other repeatable products), or None (the list length is not evaluated)."""
    measured = (evaluated.holdout_days, evaluated.repeatable)
    if measured == (settings.holdout_days, settings.repeatable):
        return None
    return "the stored evaluation has another holdout_days or other repeatable products"
