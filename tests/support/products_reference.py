"""Independent pandas reference of the product definitions (issue 20: item revenue, the product
and category marts, basket affinity, the order-line audit), written from the definitions in
words, never from the dbt SQL.

- A purchase (``reference.purchases``: consenting users, up to the data cutoff) has lines in
  order_items; a line's revenue is the order's revenue x (quantity x unit_price) / the order's
  gross, or an equal split when that gross is 0. A purchase without lines is one line of
  product and category 'unknown' with 0 units.
- A product's category is the category of its latest purchase line (created_at, order_id,
  line_number); a missing product_id or category is 'unknown'.

Money is computed with ``Decimal`` and returned as float; months are ``datetime.date``.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from decimal import Decimal

import pandas as pd

import reference

UNKNOWN = "unknown"


def _decimal(value: float) -> Decimal:
    return reference._to_decimal(value)


def order_lines(staged: dict[str, pd.DataFrame], cutoff: object = None) -> pd.DataFrame:
    """One row per line of a purchase up to the cutoff (plus one 'unknown' row per purchase
    without lines). Columns: order_id, line_number, user_id, purchased_at, month, product_id,
    category, line_category, quantity, line_revenue, has_lines."""
    purchases = reference.purchases(staged, cutoff)
    items = staged["order_items"]
    by_order = {order: frame for order, frame in items.groupby("order_id")}
    rows = []
    for purchase in purchases.itertuples(index=False):
        common = {
            "order_id": purchase.order_id,
            "user_id": purchase.user_id,
            "purchased_at": purchase.created_at,
            "month": purchase.created_at.date().replace(day=1),
        }
        lines = by_order.get(purchase.order_id)
        if lines is None:
            rows.append(
                common
                | {
                    "line_number": None,
                    "product_id": UNKNOWN,
                    "line_category": UNKNOWN,
                    "quantity": 0,
                    "line_revenue": purchase.revenue_decimal,
                    "has_lines": False,
                }
            )
            continue
        gross = [
            Decimal(int(q)) * _decimal(p)
            for q, p in zip(lines["quantity"], lines["unit_price"], strict=True)
        ]
        total = sum(gross, Decimal(0))
        for line, line_gross in zip(lines.itertuples(index=False), gross, strict=True):
            if total == 0:
                share = purchase.revenue_decimal / len(gross)
            else:
                share = purchase.revenue_decimal * line_gross / total
            rows.append(
                common
                | {
                    "line_number": int(line.line_number),
                    "product_id": line.product_id if isinstance(line.product_id, str) else UNKNOWN,
                    "line_category": line.category if isinstance(line.category, str) else UNKNOWN,
                    "quantity": int(line.quantity),
                    "line_revenue": share,
                    "has_lines": True,
                }
            )
    out = pd.DataFrame(rows)
    # the category of each product's latest purchase line
    real = out[out["has_lines"]].sort_values(["purchased_at", "order_id", "line_number"])
    latest = real.groupby("product_id")["line_category"].last().to_dict()
    out["category"] = [
        latest[p] if has else UNKNOWN
        for p, has in zip(out["product_id"], out["has_lines"], strict=True)
    ]
    out["line_revenue"] = out["line_revenue"].map(float)
    return out


def _purchase_items(lines: pd.DataFrame, key: str) -> pd.DataFrame:
    """One row per purchase and product (or category): units and revenue summed."""
    grouped = lines.groupby([key, "order_id", "user_id", "purchased_at", "month"], dropna=False)
    return grouped.agg(units=("quantity", "sum"), revenue=("line_revenue", "sum")).reset_index()


def performance(lines: pd.DataFrame, key: str, by_month: bool) -> pd.DataFrame:
    """The product (key 'product_id', with its category) or category (key 'category')
    performance table, per month or over all time."""
    items = _purchase_items(lines, key)
    # each customer's purchases of the key, in time order: the first one makes them new
    history: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    for row in items.sort_values(["purchased_at", "order_id"]).itertuples(index=False):
        history[(getattr(row, key), row.user_id)].append((row.order_id, row.month))
    period = (lambda month: month) if by_month else (lambda month: "all")
    new: dict[tuple, set] = defaultdict(set)
    repeat: dict[tuple, set] = defaultdict(set)
    for (value, user), bought in history.items():
        if by_month:
            new[(value, bought[0][1])].add(user)
            for _, month in bought[1:]:
                repeat[(value, month)].add(user)
        else:
            new[(value, "all")].add(user)
            if len(bought) >= 2:
                repeat[(value, "all")].add(user)
    rows = []
    for (value, month), group in items.groupby([items[key], items["month"].map(period)]):
        rows.append(
            {
                key: value,
                "month": month,
                "orders": len(group),
                "units": int(group["units"].sum()),
                "revenue": float(sum(map(_decimal, group["revenue"]), Decimal(0))),
                "customers": group["user_id"].nunique(),
                "new_customers": len(new[(value, month)]),
                "repeat_customers": len(repeat[(value, month)]),
            }
        )
    out = pd.DataFrame(rows)
    months = out["month"].map(str) if by_month else pd.Series("all", index=out.index)
    totals = out.groupby(months)["revenue"].transform("sum")
    out["revenue_share"] = out["revenue"] / totals
    out["revenue_rank"] = (
        out["revenue"].round(2).groupby(months).rank(method="min", ascending=False).astype(int)
    )
    if key == "product_id":
        categories = lines.drop_duplicates("product_id").set_index("product_id")["category"]
        out["category"] = out["product_id"].map(categories)
    if not by_month:
        out = out.drop(columns=["month"])
    return out


def affinity(lines: pd.DataFrame, min_co_orders: int = 3) -> pd.DataFrame:
    """Ordered pairs of distinct products in the same purchase with at least min_co_orders
    co-orders, over the purchases with at least one line."""
    baskets = lines[lines["has_lines"]].groupby("order_id")["product_id"].agg(set)
    n_total = len(baskets)
    holding = Counter(p for basket in baskets for p in basket)
    co = Counter(pair for basket in baskets for pair in itertools.permutations(sorted(basket), 2))
    rows = [
        {
            "product_id": a,
            "related_product_id": b,
            "co_orders": n,
            "support": n / n_total,
            "confidence": n / holding[a],
            "lift": n * n_total / (holding[a] * holding[b]),
        }
        for (a, b), n in co.items()
        if n >= min_co_orders
    ]
    columns = ["product_id", "related_product_id", "co_orders", "support", "confidence", "lift"]
    return pd.DataFrame(rows, columns=columns)


def order_line_issues(staged: dict[str, pd.DataFrame], cutoff: object = None) -> pd.DataFrame:
    """What does not fit, over the purchases of consenting users up to the cutoff: one row per
    issue with the purchases (or products) affected and their revenue."""
    purchases = reference.purchases(staged, cutoff)
    amounts = staged["orders"].set_index("order_id")["amount"]
    items = staged["order_items"]
    gross: dict[str, Decimal] = defaultdict(Decimal)
    for line in items.itertuples(index=False):
        gross[line.order_id] += Decimal(int(line.quantity)) * _decimal(line.unit_price)
    without, differs, zero = [], [], []
    for purchase in purchases.itertuples(index=False):
        if purchase.order_id not in gross:
            without.append(purchase.revenue_decimal)
            continue
        order_gross = gross[purchase.order_id]
        if abs(order_gross - _decimal(amounts[purchase.order_id])) > Decimal("0.01"):
            differs.append(purchase.revenue_decimal)
        if order_gross == 0:
            zero.append(purchase.revenue_decimal)
    lines = order_lines(staged, cutoff)
    real = lines[lines["has_lines"]]
    several = [p for p, n in real.groupby("product_id")["line_category"].nunique().items() if n > 1]
    several_revenue = real.loc[real["product_id"].isin(several), "line_revenue"].sum()
    rows = [
        ("purchase without lines", "purchases", len(without), float(sum(without, Decimal(0)))),
        ("lines gross differs from amount", "purchases", len(differs), float(sum(differs))),
        ("lines gross is zero", "purchases", len(zero), float(sum(zero, Decimal(0)))),
        ("product under several categories", "products", len(several), float(several_revenue)),
    ]
    return pd.DataFrame(rows, columns=["issue", "counted", "affected", "revenue"])
