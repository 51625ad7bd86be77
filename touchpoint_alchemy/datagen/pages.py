"""The text columns of the touchpoints (step 3 of :mod:`.journeys`): page paths, the JSON
properties and the time on the page.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import vocab
from .commerce import Catalog, Orders
from .marketing import CampaignCalendar
from .util import concat, num_text, scatter_text, take_text, weighted_choice

EV = vocab.EV

#: events with a time on the page (dwell_ms)
VIEW_EVENTS = (
    EV["page_view"],
    EV["search"],
    EV["product_view"],
    EV["view_delivery_info"],
    EV["view_reviews"],
)

PAGE_PREFIXES = (
    "/",
    "/deals",
    "/account",
    "/help/shipping",
    "/wishlist",
    "/new-arrivals",
    "/category/",
    "/product/",
    "/search?q=",
    "/promo/",
    "/cart",
    "/help/delivery",
    "/checkout/delivery",
    "/checkout",
    "/checkout/payment",
    "/checkout/success",
    "/help/chat",
    "/login",
    "/logout",
)
PG = {p: i for i, p in enumerate(PAGE_PREFIXES)}
#: page per event code; page views and delivery info pages are chosen per event
FIXED_PAGE = {
    EV["add_to_cart"]: "/product/",
    EV["share"]: "/product/",
    EV["product_view"]: "/product/",
    EV["view_reviews"]: "/product/",
    EV["remove_from_cart"]: "/cart",
    EV["search"]: "/search?q=",
    EV["checkout_start"]: "/checkout",
    EV["apply_coupon"]: "/checkout",
    EV["payment_submit"]: "/checkout/payment",
    EV["payment_success"]: "/checkout/success",
    EV["support_chat"]: "/help/chat",
    EV["login"]: "/login",
    EV["logout"]: "/logout",
}
DELIVERY_SECTIONS = ("delivery_times", "shipping_fees", "returns")


def event_text(
    rng: np.random.Generator,
    ev_code: np.ndarray,
    ev_key: np.ndarray,
    first_step: np.ndarray,
    product: np.ndarray,
    catalog: Catalog,
    ev_camp: np.ndarray,
    campaigns: CampaignCalendar,
    orders: Orders,
    order_idx: np.ndarray,
    channel: np.ndarray,
) -> tuple[pa.Array, pa.Array]:
    """The page and properties of every event. ``ev_key`` is the event's sort key in its visit
    (0: the entry page view); ``first_step``, ``ev_camp``, ``order_idx`` and ``channel`` are
    those of the event's visit."""
    ne = ev_code.size
    page_prefix = np.full(ne, PG["/"], dtype=np.int64)
    for code, prefix in FIXED_PAGE.items():
        page_prefix[ev_code == code] = PG[prefix]
    suffix = np.zeros(ne, dtype=np.int64)  # 0 none, 1 product, 2 category, 3 query, 4 campaign
    trailer = (ev_code == EV["view_reviews"]).astype(np.int64)
    pv = ev_code == EV["page_view"]
    entry = pv & (ev_key == 0)
    u = rng.random(ne)
    entry_kind = np.where(u < 0.35, 0, np.where(u < 0.6, 2, np.where(u < 0.8, 1, 4)))
    entry_kind = np.where((entry_kind == 4) & (ev_camp < 0), 5, entry_kind)
    page_prefix[entry] = np.array(
        [PG["/"], PG["/product/"], PG["/category/"], 0, PG["/promo/"], PG["/deals"]]
    )[entry_kind[entry]]
    suffix[entry] = np.array([0, 1, 2, 0, 4, 0])[entry_kind[entry]]
    page_prefix[entry & (first_step == 3)] = PG["/cart"]
    suffix[entry & (first_step == 3)] = 0
    inner = pv & ~entry
    static = rng.integers(0, len(vocab.STATIC_PAGES), ne)
    page_prefix[inner] = np.where(u[inner] < 0.6, static[inner], PG["/category/"])
    suffix[inner] = np.where(u[inner] < 0.6, 0, 2)
    for code in (EV["product_view"], EV["add_to_cart"], EV["share"], EV["view_reviews"]):
        suffix[ev_code == code] = 1
    suffix[ev_code == EV["search"]] = 3
    dl = ev_code == EV["view_delivery_info"]
    page_prefix[dl] = np.where(u[dl] < 0.5, PG["/help/delivery"], PG["/checkout/delivery"])

    query = rng.integers(0, len(vocab.SEARCH_QUERIES), ne)
    page = _pages(rng, page_prefix, suffix, trailer, product, query, catalog, ev_camp, campaigns)
    props = _properties(
        rng,
        ev_code,
        entry,
        product,
        query,
        catalog,
        orders,
        order_idx,
        ev_camp,
        channel,
        campaigns,
    )
    return page, props


def _pages(
    rng: np.random.Generator,
    prefix: np.ndarray,
    suffix: np.ndarray,
    trailer: np.ndarray,
    product: np.ndarray,
    query: np.ndarray,
    catalog: Catalog,
    camp: np.ndarray,
    campaigns: CampaignCalendar,
) -> pa.Array:
    """Page paths: a prefix plus, by ``suffix`` kind, nothing (0), a product number (1), a
    category (2), a search query (3) or a campaign (4); ``/reviews`` where ``trailer`` is 1."""
    categories = tuple(c[0] for c in vocab.CATEGORIES)
    queries = tuple(q.replace(" ", "+") for q in vocab.SEARCH_QUERIES)
    parts: list[tuple[np.ndarray, pa.Array]] = []
    for kind in range(5):
        r = np.flatnonzero(suffix == kind)
        head = take_text(PAGE_PREFIXES, prefix[r])
        if kind == 0:
            parts.append((r, head))
        elif kind == 1:
            parts.append(
                (r, concat(head, num_text(product[r] + 1), take_text(("", "/reviews"), trailer[r])))
            )
        elif kind == 2:
            parts.append((r, concat(head, take_text(categories, catalog.category[product[r]]))))
        elif kind == 3:
            parts.append((r, concat(head, take_text(queries, query[r]))))
        else:
            parts.append((r, concat(head, take_text(campaigns.flat_names, camp[r]))))
    page = scatter_text(prefix.size, parts)
    return pc.if_else(pa.array(rng.random(prefix.size) < 0.02), pa.scalar(None, pa.string()), page)


def dwell_ms(
    rng: np.random.Generator, code: np.ndarray, gap: np.ndarray, first_ev: np.ndarray
) -> np.ndarray:
    """Milliseconds on the page (-1 = null): most of the time until the next event."""
    ne = code.size
    next_gap = np.r_[gap[1:], 0]
    has_next = np.r_[~first_ev[1:], False]
    dwell = np.where(
        has_next,
        np.round(next_gap / 1000 * rng.uniform(0.55, 0.95, ne)),
        np.round(np.exp(rng.normal(np.log(15000), 0.8, ne))),
    )
    dwell = np.maximum(dwell, 1).astype(np.int64)
    viewish = np.isin(code, VIEW_EVENTS)
    return np.where(viewish & (rng.random(ne) >= 0.05), dwell, -1)


def _properties(
    rng: np.random.Generator,
    code: np.ndarray,
    entry: np.ndarray,
    product: np.ndarray,
    query: np.ndarray,
    catalog: Catalog,
    orders: Orders,
    order_idx: np.ndarray,
    camp: np.ndarray,
    channel: np.ndarray,
    campaigns: CampaignCalendar,
) -> pa.Array:
    """JSON text per event (null for most page views and chats)."""
    parts: list[tuple[np.ndarray, pa.Array]] = []

    def rows(c: str) -> np.ndarray:
        return np.flatnonzero(code == EV[c])

    def pid(r: np.ndarray) -> pa.Array:
        return num_text(product[r] + 1)

    r = rows("product_view")
    parts.append(
        (
            r,
            concat(
                '{"product_id": "p_',
                pid(r),
                '", "price": ',
                num_text(catalog.price_usd[product[r]]),
                "}",
            ),
        )
    )
    r = rows("add_to_cart")
    qty = weighted_choice(rng, (0.85, 0.12, 0.03), r.size) + 1
    parts.append(
        (
            r,
            concat(
                '{"product_id": "p_',
                pid(r),
                '", "price": ',
                num_text(catalog.price_usd[product[r]]),
                ', "quantity": ',
                num_text(qty),
                "}",
            ),
        )
    )
    r = rows("search")
    r = r[rng.random(r.size) < 0.7]
    parts.append((r, concat('{"query": "', take_text(vocab.SEARCH_QUERIES, query[r]), '"}')))
    r = rows("checkout_start")
    parts.append((r, concat('{"cart_items": ', num_text(rng.integers(1, 5, r.size)), "}")))
    r = rows("apply_coupon")
    parts.append(
        (r, concat('{"code": "', take_text(vocab.COUPON_CODES, rng.integers(0, 5, r.size)), '"}'))
    )
    r = rows("payment_submit")
    parts.append(
        (
            r,
            concat(
                '{"method": "',
                take_text(
                    vocab.PAYMENT_METHODS, rng.integers(0, len(vocab.PAYMENT_METHODS), r.size)
                ),
                '"}',
            ),
        )
    )
    r = rows("login")
    parts.append(
        (
            r,
            concat(
                '{"method": "',
                take_text(vocab.LOGIN_METHODS, rng.integers(0, len(vocab.LOGIN_METHODS), r.size)),
                '"}',
            ),
        )
    )
    r = rows("share")
    parts.append(
        (
            r,
            concat(
                '{"network": "',
                take_text(vocab.SHARE_NETWORKS, rng.integers(0, len(vocab.SHARE_NETWORKS), r.size)),
                '", "product_id": "p_',
                pid(r),
                '"}',
            ),
        )
    )
    r = rows("view_delivery_info")
    r = r[rng.random(r.size) < 0.6]
    parts.append(
        (
            r,
            concat(
                '{"section": "',
                take_text(DELIVERY_SECTIONS, rng.integers(0, len(DELIVERY_SECTIONS), r.size)),
                '"}',
            ),
        )
    )
    r = rows("payment_success")
    o = order_idx[r]
    r, o = r[o >= 0], o[o >= 0]
    parts.append(
        (
            r,
            concat(
                '{"order_id": "',
                orders.order_id.take(pa.array(o)),
                '", "amount": ',
                num_text(orders.amount[o]),
                ', "currency": "',
                take_text(("USD", "CNY"), orders.cny[o].astype(np.int64)),
                '"}',
            ),
        )
    )
    r = np.flatnonzero(entry & (camp >= 0))
    parts.append(
        (
            r,
            concat(
                '{"utm_source": "',
                take_text(vocab.CHANNELS, channel[r]),
                '", "utm_campaign": "',
                take_text(campaigns.flat_names, camp[r]),
                '"}',
            ),
        )
    )
    return scatter_text(code.size, parts)
