"""Product catalogue, orders and order items.

Orders are not drawn on their own: every ``payment_success`` touchpoint becomes a paid order and
some ``payment_submit`` touchpoints without success become ``pending`` orders (see
:func:`build_orders`). The amount of an order is the sum of its items.

Products have an affinity structure for the recommendations to learn: each category is split
into product *lines* of about :data:`vocab.LINE_SIZE` products that go together (a camera, its
lens, its bag), and every visitor has a favourite line that persists (:class:`Tastes`). A visit's
product is from the favourite line, its category or the whole catalogue; an order's further
lines are mostly complements of its first product (its line). Every draw still takes its
uniform numbers from the batch's stream as before, so the rest of the data does not move; the
choices between taste and popularity come from a stream of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from . import vocab
from .util import (
    US_PER_DAY,
    US_PER_S,
    expand,
    format_ts,
    prefixed_ids,
    ts_styles,
    weighted_choice,
)

STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled", "refunded")
ST = {name: code for code, name in enumerate(STATUSES)}


def _grouped_cdf(group: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Products sorted by group, and their cumulative weights within the group offset by the
    group number (group g spans (g, g + 1]), for :meth:`Catalog.draw_in`."""
    order = np.argsort(group, kind="stable")
    g, w = group[order], weights[order]
    total = np.bincount(g, weights=w)
    cum = np.cumsum(w) - np.r_[0.0, np.cumsum(total)][g]
    edges = g + cum / total[g]
    last = np.r_[g[1:] != g[:-1], True]
    edges[last] = g[last] + 1.0
    return order, edges


@dataclass(frozen=True)
class Catalog:
    """Products ``p_1`` .. ``p_N`` with a category, a USD price, a popularity weight and a
    product line (products of one category that go together; numbered 0..lines - 1)."""

    category: np.ndarray
    price_usd: np.ndarray
    popularity: np.ndarray
    line: np.ndarray

    @property
    def size(self) -> int:
        return int(self.category.size)

    @property
    def lines(self) -> int:
        return int(self.line.max()) + 1

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Product indices drawn by popularity."""
        return weighted_choice(rng, self.popularity, size)

    def draw_in(self, by: str, group: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Products drawn by popularity within ``group`` (a line or a category number per
        draw, ``by`` = "line" or "category"), from the uniform numbers ``u``."""
        order, edges = _grouped_cdf(getattr(self, by), self.popularity)
        index = np.searchsorted(edges, group + u, side="right")
        return order[np.minimum(index, order.size - 1)]

    def draw_with_taste(
        self,
        rng: np.random.Generator,
        tastes: Tastes,
        line: np.ndarray,
        shares: tuple[float, float],
    ) -> np.ndarray:
        """One product per entry of ``line`` (a product line each): from that line with
        probability ``shares[0]``, from its category with ``shares[1]``, else by popularity.
        The uniform numbers are ``rng``'s, as :meth:`draw` takes them."""
        u = rng.random(line.size)
        coin = tastes.rng.random(line.size)
        category = self.category[self.draw_in("line", line, np.zeros(line.size))]
        cdf = np.cumsum(self.popularity / self.popularity.sum())
        cdf[-1] = 1.0
        anywhere = np.searchsorted(cdf, u, side="right").astype(np.int64)
        return np.where(
            coin < shares[0],
            self.draw_in("line", line, u),
            np.where(coin < shares[0] + shares[1], self.draw_in("category", category, u), anywhere),
        )


@dataclass(frozen=True)
class Tastes:
    """Every visitor's favourite product line (by owner, kept for all their visits), and the
    stream that decides between taste and popularity."""

    line: np.ndarray
    rng: np.random.Generator

    @classmethod
    def draw(cls, catalog: Catalog, owners: int, seed: list[int]) -> Tastes:
        rng = np.random.default_rng(seed)
        weight = np.bincount(catalog.line, weights=catalog.popularity)
        return cls(line=weighted_choice(rng, weight, owners), rng=rng)


def make_catalog(rng: np.random.Generator) -> Catalog:
    """A fixed catalogue of :data:`vocab.N_PRODUCTS` products."""
    n = vocab.N_PRODUCTS
    category = weighted_choice(rng, [c[1] for c in vocab.CATEGORIES], n)
    median = np.array([c[2] for c in vocab.CATEGORIES])[category]
    sigma = np.array([c[3] for c in vocab.CATEGORIES])[category]
    raw = median * np.exp(rng.normal(0.0, 1.0, n) * sigma)
    price = np.clip(
        np.floor(raw) + np.array([0.99, 0.5, 0.0, 0.9])[rng.integers(0, 4, n)], 3.99, 249.0
    )
    popularity = rng.permutation(1.0 / (1.0 + np.arange(n)) ** 0.8)
    # product lines: each category's products in random order, cut into lines of LINE_SIZE
    order = np.lexsort((rng.random(n), category))
    position = np.arange(n) - np.r_[0, np.cumsum(np.bincount(category[order]))][category[order]]
    chunk = position // vocab.LINE_SIZE
    new_line = np.r_[True, (category[order][1:] != category[order][:-1]) | (np.diff(chunk) != 0)]
    line = np.empty(n, dtype=np.int64)
    line[order] = np.cumsum(new_line) - 1
    return Catalog(
        category=category, price_usd=np.round(price, 2), popularity=popularity, line=line
    )


@dataclass
class Orders:
    """Orders of a batch in ``created_at`` order, with their items."""

    order_id: pa.Array
    owner: np.ndarray  # user index within the batch
    visit: np.ndarray  # visit the order came from
    created_us: np.ndarray
    paid_us: np.ndarray  # -1 when not paid
    status: np.ndarray
    amount: np.ndarray
    discount: np.ndarray  # NaN = null
    cny: np.ndarray
    item_order: np.ndarray  # row of the order for each item
    item_line: np.ndarray
    item_product: np.ndarray
    item_category: np.ndarray
    item_quantity: np.ndarray
    item_price: np.ndarray

    @property
    def size(self) -> int:
        return int(self.owner.size)


def build_orders(
    rng: np.random.Generator,
    catalog: Catalog,
    *,
    owner: np.ndarray,
    visit: np.ndarray,
    event_us: np.ndarray,
    paid: np.ndarray,
    first_product: np.ndarray,
    cny: np.ndarray,
    end_us: int,
    id_offset: int,
    tastes: Tastes,
) -> Orders:
    """Orders from purchase events.

    ``event_us`` is the ``payment_success`` time for paid orders and the ``payment_submit`` time
    for pending ones (``paid`` false). ``first_product`` is the product put in the cart; the
    further lines are mostly its complements (its product line), some of the owner's taste
    (``tastes``, by owner).
    """
    n = owner.size
    created = np.where(
        paid, event_us - rng.integers(0, 2 * US_PER_S, n), event_us + rng.integers(0, US_PER_S, n)
    )
    created = np.where(paid & (rng.random(n) < 0.10), event_us, created)  # exactly at success
    paid_us = np.where(paid, event_us + rng.integers(US_PER_S // 2, 4 * US_PER_S, n), -1)

    order = np.lexsort((visit, created))
    owner, visit, created, paid_us = owner[order], visit[order], created[order], paid_us[order]
    paid, first_product, cny = paid[order], first_product[order], cny[order]

    lines = weighted_choice(rng, (0.55, 0.25, 0.13, 0.07), n) + 1
    item_order, rank = expand(lines)
    first = first_product[item_order]
    complement = tastes.rng.random(item_order.size) < 0.6
    line = np.where(complement, catalog.line[first], tastes.line[owner[item_order]])
    product = catalog.draw_with_taste(rng, tastes, line, (0.75, 0.05))
    product = np.where(rank == 0, first, product)
    quantity = weighted_choice(rng, (0.80, 0.15, 0.05), item_order.size) + 1
    price = catalog.price_usd[product]
    cny_price = np.round(price * vocab.CNY_PER_USD, 0) - 0.1  # priced like 143.90 yuan
    price = np.where(cny[item_order], cny_price, price)
    price = np.round(price, 2)
    amount = np.round(np.bincount(item_order, weights=quantity * price, minlength=n), 2)

    u = rng.random(n)
    discount = np.where(u < 0.15, np.round(amount * rng.uniform(0.03, 0.12, n), 2), 0.0)
    discount = np.where(u > 0.95, np.nan, discount)

    age_days = (end_us - created) / US_PER_DAY
    v = rng.random(n)
    status = np.where(
        age_days < 2,
        ST["paid"],
        np.where(
            age_days < 7,
            np.where(v < 0.7, ST["shipped"], ST["delivered"]),
            np.where(v < 0.03, ST["shipped"], ST["delivered"]),
        ),
    )
    w = rng.random(n)
    status = np.where(w < 0.05, ST["cancelled"], np.where(w < 0.09, ST["refunded"], status))
    status = np.where(paid, status, ST["pending"])
    discount = np.where(paid, discount, 0.0)

    return Orders(
        order_id=prefixed_ids("o_", np.arange(id_offset + 1, id_offset + n + 1), 7),
        owner=owner,
        visit=visit,
        created_us=created,
        paid_us=paid_us,
        status=status,
        amount=amount,
        discount=discount,
        cny=cny,
        item_order=item_order,
        item_line=rank + 1,
        item_product=product,
        item_category=catalog.category[product],
        item_quantity=quantity,
        item_price=price,
    )


def status_text(rng: np.random.Generator, status: np.ndarray) -> pa.Array:
    """Status names; about 1 in 200 written in another case (valid: any case is accepted)."""
    text = np.array(STATUSES, dtype=object)[status]
    odd = rng.random(status.size) < 0.005
    text[odd] = [s.upper() if i % 2 else s.capitalize() for i, s in enumerate(text[odd])]
    return pa.array(text, pa.string())


def order_tables(
    rng: np.random.Generator, orders: Orders, user_id: pa.Array, is_cn: np.ndarray
) -> tuple[pa.Table, pa.Table]:
    """The ``orders`` and ``order_items`` rows of a batch."""
    styles = ts_styles(rng, is_cn[orders.owner])
    paid = orders.paid_us >= 0
    paid_text = format_ts(np.where(paid, orders.paid_us, 0), styles)
    orders_tbl = pa.table(
        {
            "order_id": orders.order_id,
            "user_id": user_id.take(pa.array(orders.owner)),
            "created_at": format_ts(orders.created_us, styles),
            "paid_at": pa.array(paid_text.to_numpy(zero_copy_only=False), pa.string(), mask=~paid),
            "status": status_text(rng, orders.status),
            "amount": pa.array(orders.amount, pa.float64()),
            "discount": pa.array(orders.discount, pa.float64(), from_pandas=True),
            "currency": pa.array(np.where(orders.cny, "CNY", "USD").astype(object), pa.string()),
        }
    )
    items_tbl = pa.table(
        {
            "order_id": orders.order_id.take(pa.array(orders.item_order)),
            "line_number": pa.array(orders.item_line, pa.int64()),
            "product_id": prefixed_ids("p_", orders.item_product + 1, 1),
            "category": pa.array(
                np.array([c[0] for c in vocab.CATEGORIES], dtype=object)[orders.item_category],
                pa.string(),
            ),
            "quantity": pa.array(orders.item_quantity, pa.int64()),
            "unit_price": pa.array(orders.item_price, pa.float64()),
        }
    )
    return orders_tbl, items_tbl
