"""Visits and touchpoints of one batch of users, plus visitors who never log in.

Planning works per visit (a few per user), the expansion into touchpoints is vectorised:

1. *Plan visits*: anonymous visits before signup, the signup visit (with the ``login`` event),
   planned purchase visits (first purchase, then month-by-month repeats whose probability decays
   like a cohort retention curve), browsing visits whose frequency decays after signup, and the
   visits of anonymous-only visitors.
2. *Funnel depth*: purchase visits go to ``payment_success``. The other logged-in visits get a
   depth (0 = no product view .. 4 = ``payment_submit``) in numbers chosen so that, over the batch,
   about :data:`vocab.FUNNEL_CONTINUE` of the visits at each step reach the next one.
3. *Expand* each visit into segments of events with a sort key (entry page, fillers, repeated
   funnel steps, ``view_delivery_info`` views, ``login``), sort, and add seconds-to-minutes gaps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import vocab
from .commerce import Catalog, Orders, build_orders
from .marketing import CampaignCalendar
from .people import ANON_ONLY_BASE, People, anonymous_ids, signup_days, time_of_day
from .util import (
    US_PER_DAY,
    US_PER_S,
    Calendar,
    concat,
    expand,
    format_ts,
    num_text,
    prefixed_ids,
    scatter_text,
    take_text,
    ts_styles,
    weighted_choice,
)

EV = vocab.EV
KIND_PRE, KIND_SIGNUP, KIND_BROWSE, KIND_PURCHASE, KIND_CART, KIND_ANON = range(6)
#: lifetime mean number of logged-in browsing visits of a user (before activity decay cut-off)
MEAN_VISITS = 10.0
#: probability of a repeat purchase k months after the first one while the customer is active:
#: ~0.42 falling to ~0.22 (times the customer's loyalty)
REPEAT_RATE = 0.22 + 0.20 * np.exp(-(np.arange(1, 12) - 1) / 1.8)
#: monthly probability that a customer of average loyalty lapses (stops buying for good)
LAPSE_RATE = 0.3
#: share of a lapsed customer's browsing visits that still happen after the lapse
LAPSED_VISIT_SHARE = 0.25
#: browsing visits a month of an active customer, from the first purchase until the lapse
ACTIVE_VISITS_PER_MONTH = 1.2
ANON_ONLY_SHARE = 0.15
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


@dataclass
class BatchResult:
    """Everything later steps need from the journeys of a batch."""

    touchpoints: pa.Table
    orders: Orders
    signup_us: np.ndarray
    is_buyer: np.ndarray
    abandoned: np.ndarray  # reached checkout at least once and never paid
    lapsed: np.ndarray  # customers who stopped buying before the end of the period
    n_touchpoints: int
    n_anon: int  # anonymous-only visitors of the batch


def _local_to_us(cal: Calendar, local: np.ndarray, tz_hours: np.ndarray) -> np.ndarray:
    return cal.start_us + np.round((local - tz_hours / 24.0) * US_PER_DAY).astype(np.int64)


def _fillers(rng: np.random.Generator, k: int, size: int) -> np.ndarray:
    names, weights = zip(*vocab.FILLERS[k], strict=True)
    codes = np.array([EV[n] for n in names])
    return codes[weighted_choice(rng, weights, size)]


def _pool_depths(
    rng: np.random.Generator, fixed_depth: np.ndarray, fixed_first: np.ndarray, pool_size: int
) -> np.ndarray:
    """Depths for the free logged-in visits so the whole batch follows the funnel rates."""
    reach = [int(((fixed_first <= k) & (fixed_depth >= k)).sum()) for k in range(1, 6)]
    cont = vocab.FUNNEL_CONTINUE
    need = np.zeros(5)  # visits of exactly depth 1..4 from the pool (index 1..4)
    target = float(reach[4])
    for k in (4, 3, 2, 1):  # walk the funnel backwards: N_k = N_{k+1} / continue_k
        target = target / cont[k - 1]
        above = need[k + 1 :].sum()
        need[k] = max(0.0, target - reach[k - 1] - above)
    total = need.sum()
    if total > 0.8 * pool_size:  # not enough visits: keep the proportions
        need *= 0.8 * pool_size / total
    counts = np.floor(need).astype(np.int64)
    depths = np.concatenate(
        [np.full(counts[k], k) for k in range(1, 5)]
        + [np.zeros(pool_size - counts.sum(), dtype=np.int64)]
    )
    return rng.permutation(depths).astype(np.int64)


def simulate_batch(
    rng: np.random.Generator,
    cal: Calendar,
    people: People,
    catalog: Catalog,
    campaigns: CampaignCalendar,
    *,
    anon_offset: int,
    salt: int,
    tp_offset: int,
    order_offset: int,
) -> BatchResult:
    """Plan the visits of a batch and expand them into touchpoints and orders."""
    n, days = people.n, cal.days
    su = people.signup_local
    su_day = np.floor(su).astype(np.int64)

    # --- who buys, and when --------------------------------------------------------------------
    p_buy = (
        np.array(vocab.CHANNEL_BUY_RATE)[people.channel]
        * np.array(vocab.DEVICE_BUY_FACTOR)[people.device]
        * np.where(people.variant[:, 0] == 1, 1.2, 1.0)
    )  # the winning experiment arm
    is_cust = rng.random(n) < p_buy
    in_signup = is_cust & (rng.random(n) < 0.25)
    first_day = su_day + np.where(in_signup, 0, 1 + np.floor(rng.exponential(10.0, n)))
    first_day = first_day.astype(np.int64)
    buys = is_cust & (first_day < days)
    in_signup &= buys

    buyers = np.flatnonzero(buys)
    loyalty = rng.gamma(2.0, 0.5, buyers.size)
    m0 = cal.month_of(first_day[buyers])
    hit = rng.random((buyers.size, REPEAT_RATE.size)) < np.minimum(
        0.9, REPEAT_RATE[None, :] * loyalty[:, None]
    )
    # Customers lapse after a geometric number of months (loyal ones stay longer): no repeat
    # purchase after that, and most of their browsing stops too, so churn shows in engagement
    # (and in NPS, see feedback.py) before it shows in purchases.
    life = rng.geometric(np.clip(LAPSE_RATE / loyalty, 0.05, 0.95))
    hit &= np.arange(1, REPEAT_RATE.size + 1)[None, :] <= life[:, None]
    lapse_month = np.minimum(m0 + life + 1, cal.month_starts.size - 1)
    lapse_day = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    lapse_day[buyers] = cal.month_starts[lapse_month]
    rb, rk = np.nonzero(hit)
    month = m0[rb] + rk + 1
    month_len = cal.month_starts[month + 1] - cal.month_starts[month]
    rep_day = cal.month_starts[month] + np.floor(rng.random(rb.size) * month_len).astype(np.int64)
    extra = buyers[rng.random(buyers.size) < 0.12]
    first_sep = buyers[~in_signup[buyers]]
    p_owner = np.concatenate([first_sep, extra, buyers[rb]])
    p_day = np.concatenate(
        [
            first_day[first_sep],
            first_day[extra] + 1 + np.floor(rng.random(extra.size) * 10),
            rep_day,
        ]
    ).astype(np.int64)
    keep = p_day < days
    p_owner, p_day = p_owner[keep], p_day[keep]
    p_local = p_day + time_of_day(rng, p_owner.size)
    p_first = np.ones(p_owner.size, dtype=np.int64)
    chained = ((p_local - su[p_owner]) >= 4) & (rng.random(p_owner.size) < 0.25)
    p_first[chained] = 3  # the cart was filled on an earlier visit
    c_owner = p_owner[chained]
    c_local = np.floor(p_local[chained] - 1 - 2 * rng.random(c_owner.size)) + time_of_day(
        rng, c_owner.size
    )

    # --- browsing visits, decaying after signup ----------------------------------------------
    lam = rng.gamma(1.5, MEAN_VISITS / 1.5, n) * np.where(is_cust, 1.3, 1.0)
    tau = np.exp(rng.normal(np.log(75.0), 0.6, n))
    frac = 1.0 - np.exp(-(days - su) / tau)
    b_owner, _ = expand(rng.poisson(lam * frac))
    x = -tau[b_owner] * np.log1p(-rng.random(b_owner.size) * frac[b_owner])
    b_local = np.floor(su[b_owner] + x) + time_of_day(rng, b_owner.size)
    b_local = np.where(b_local < su[b_owner] + 1 / 24, b_local + 1, b_local)
    # active customers keep coming back between purchases; lapsed ones do not
    active_from = first_day[buyers].astype(np.float64)
    active_days = np.maximum(np.minimum(lapse_day[buyers], days) - active_from, 0)
    e_idx, _ = expand(rng.poisson(ACTIVE_VISITS_PER_MONTH * active_days / 30.4375))
    e_owner = buyers[e_idx]
    e_local = np.floor(
        active_from[e_idx] + rng.random(e_idx.size) * active_days[e_idx]
    ) + time_of_day(rng, e_idx.size)
    e_local = np.where(e_local < su[e_owner] + 1 / 24, e_local + 1, e_local)  # after signup
    b_owner = np.concatenate([b_owner, e_owner])
    b_local = np.concatenate([b_local, e_local])
    quiet = (b_local >= lapse_day[b_owner]) & (rng.random(b_owner.size) >= LAPSED_VISIT_SHARE)
    b_owner, b_local = b_owner[~quiet], b_local[~quiet]

    # --- anonymous visits before signup -------------------------------------------------------
    a_owner, _ = expand(weighted_choice(rng, (0.3, 0.4, 0.2, 0.1), n))
    a_local = np.floor(su[a_owner] - 0.02 - 10 * rng.random(a_owner.size)) + time_of_day(
        rng, a_owner.size
    )
    a_local = np.where(a_local > su[a_owner] - 1 / 24, a_local - 1, a_local)

    # --- visitors who never log in ------------------------------------------------------------
    n_anon = int(round(ANON_ONLY_SHARE * n))
    anon_city = weighted_choice(rng, [c[3] for c in vocab.CITIES], n_anon)
    anon_first = signup_days(rng, n_anon, days) + time_of_day(rng, n_anon)
    o_idx, o_rank = expand(weighted_choice(rng, (0.6, 0.3, 0.1), n_anon) + 1)
    o_local = np.where(
        o_rank == 0,
        anon_first[o_idx],
        np.floor(anon_first[o_idx] + 14 * rng.random(o_idx.size)) + time_of_day(rng, o_idx.size),
    )

    # --- all visits ---------------------------------------------------------------------------
    owner_tz = np.concatenate([people.tz_hours, np.array([c[2] for c in vocab.CITIES])[anon_city]])
    owner_cn = np.concatenate(
        [people.is_cn, np.array([c[1] == "CN" for c in vocab.CITIES])[anon_city]]
    )
    owner_channel = np.concatenate(
        [people.channel, weighted_choice(rng, vocab.CHANNEL_SHARES, n_anon)]
    )
    owner_channel[n:][rng.random(n_anon) < 0.25] = -1  # direct traffic
    parts = [
        (a_owner, KIND_PRE, a_local, 1),
        (np.arange(n), KIND_SIGNUP, su, 1),
        (b_owner, KIND_BROWSE, b_local, 1),
        (p_owner, KIND_PURCHASE, p_local, p_first),
        (c_owner, KIND_CART, c_local, 1),
        (n + o_idx, KIND_ANON, o_local, 1),
    ]
    owner = np.concatenate([p[0] for p in parts]).astype(np.int64)
    kind = np.concatenate([np.full(p[0].size, p[1]) for p in parts]).astype(np.int64)
    local = np.concatenate([p[2] for p in parts]).astype(np.float64)
    first_step = np.concatenate([np.broadcast_to(p[3], p[0].size) for p in parts]).astype(np.int64)
    start_us = _local_to_us(cal, local, owner_tz[owner])
    ok = (start_us >= cal.start_us) & (start_us < cal.end_us - 6 * 3600 * US_PER_S)
    ok |= kind == KIND_SIGNUP
    order = np.lexsort((kind, start_us, owner))
    order = order[ok[order]]
    owner, kind, first_step, start_us = (
        owner[order],
        kind[order],
        first_step[order],
        start_us[order],
    )
    nv = owner.size

    # --- funnel depth per visit ---------------------------------------------------------------
    depth = np.full(nv, -1, dtype=np.int64)
    depth[kind == KIND_PURCHASE] = 5
    depth[kind == KIND_CART] = 2
    sign = kind == KIND_SIGNUP
    depth[sign & in_signup[np.minimum(owner, n - 1)]] = 5
    pre = kind == KIND_PRE
    depth[pre] = weighted_choice(rng, (0.35, 0.50, 0.15), int(pre.sum()))
    anon = kind == KIND_ANON
    depth[anon] = weighted_choice(rng, (0.50, 0.42, 0.08), int(anon.sum()))
    pool = depth < 0
    depth[pool] = _pool_depths(rng, depth[~pool], first_step[~pool], int(pool.sum()))

    n_owner = n + n_anon
    buyer = np.zeros(n_owner, dtype=bool)
    buyer[owner[depth == 5]] = True
    abandoned = np.zeros(n_owner, dtype=bool)
    abandoned[owner[(depth >= 3) & (depth < 5)]] = True
    abandoned &= ~buyer

    # payment abandoners read the delivery information again and again; converters rarely do
    u = rng.random(nv)
    deliv = np.where(depth == 5, (u < 0.05).astype(np.int64), 0)
    mid = (depth >= 3) & (depth < 5)
    deliv = np.where(mid & ~buyer[owner] & (u < 0.80), 2 + rng.poisson(1.5, nv), deliv)
    deliv = np.where(mid & buyer[owner] & (u < 0.12), 1, deliv)
    deliv = np.where((depth < 3) & (u < 0.02), 1, deliv)
    deliv_key = np.where(
        depth == 5,
        35.5,
        np.where(depth >= 3, 10 * np.minimum(depth, 4) + 5.5, np.where(depth >= 1, 15.5, 1.5)),
    )

    u = rng.random(nv)
    login_key = np.full(nv, np.nan)
    login_key[sign] = np.where(
        depth[sign] >= 3, 25.9, np.where((depth[sign] >= 1) & (u[sign] < 0.5), 15.9, 1.9)
    )
    ident = (kind == KIND_BROWSE) | (kind == KIND_PURCHASE) | (kind == KIND_CART)
    relog = ident & (u < np.where(first_step == 3, 0.4, 0.2))
    login_key[relog] = 0.5

    # --- channel and campaign per visit -------------------------------------------------------
    first_of_owner = np.r_[True, owner[1:] != owner[:-1]]
    u = rng.random(nv)
    own = owner_channel[owner]
    channel = np.where(
        u < 0.2, -1, np.where(u < 0.75, own, weighted_choice(rng, vocab.CHANNEL_SHARES, nv))
    )
    channel = np.where(first_of_owner, own, channel)
    vday = (start_us - cal.start_us) // US_PER_DAY
    slot = campaigns.draw(rng, channel, vday)
    campaigns.count(channel, slot, vday)
    camp_flat = campaigns.flat(channel, slot)

    # --- expand visits into events --------------------------------------------------------------
    seg_v: list[np.ndarray] = []
    seg_key: list[np.ndarray] = []
    seg_code: list[np.ndarray] = []
    seg_rank: list[np.ndarray] = []

    def add(v: np.ndarray, key: np.ndarray, code: np.ndarray | int, rank: np.ndarray) -> None:
        seg_v.append(v)
        seg_key.append(key.astype(np.float64))
        seg_code.append(np.broadcast_to(code, v.size).astype(np.int64))
        seg_rank.append(rank)

    all_v = np.arange(nv)
    add(all_v, np.zeros(nv), EV["page_view"], np.zeros(nv, dtype=np.int64))
    rate = np.where(depth == 0, 1.6, vocab.FILLER_RATE[0]) * (first_step == 1)
    p, r = expand(rng.poisson(rate))
    add(p, 1 + 0.01 * r, _fillers(rng, 0, p.size), r)
    extra_rep = (None, 1.0, 0.12, 0.06, 0.10, 0.0)
    for k in range(1, 6):
        m = (depth >= k) & (first_step <= k)
        # several products are viewed per visit; later steps are repeated now and then
        reps = 1 + (rng.poisson(0.8, nv) if k == 1 else rng.random(nv) < extra_rep[k])
        p, r = expand(reps * m)
        add(p, 10 * k + 0.01 * r, EV[vocab.FUNNEL[k - 1]], r)
        p, r = expand(rng.poisson(vocab.FILLER_RATE[k], nv) * m)
        add(p, 10 * k + 5 + 0.01 * r, _fillers(rng, k, p.size), r)
    p, r = expand(deliv)
    add(p, deliv_key[p] + 0.01 * r, EV["view_delivery_info"], r)
    p = np.flatnonzero(~np.isnan(login_key))
    add(p, login_key[p], EV["login"], np.zeros(p.size, dtype=np.int64))

    ev_v = np.concatenate(seg_v)
    ev_key = np.concatenate(seg_key)
    ev_code = np.concatenate(seg_code)
    ev_rank = np.concatenate(seg_rank)
    srt = np.lexsort((ev_key, ev_v))
    ev_v, ev_key, ev_code, ev_rank = ev_v[srt], ev_key[srt], ev_code[srt], ev_rank[srt]
    ne = ev_v.size

    # --- timing: seconds to minutes between events, a few equal timestamps --------------------
    first_ev = np.r_[True, ev_v[1:] != ev_v[:-1]]
    gap_s = np.clip(np.exp(rng.normal(np.log(20.0), 1.0, ne)), 0.3, 600.0)
    gap_s = np.where(ev_code == EV["view_delivery_info"], gap_s * 1.8, gap_s)
    gap_s = np.where(ev_code == EV["payment_success"], rng.uniform(1.0, 6.0, ne), gap_s)
    gap = np.round(gap_s * US_PER_S).astype(np.int64)
    gap[(rng.random(ne) < 0.012) | first_ev] = 0
    cs = np.cumsum(gap)
    first_idx = np.flatnonzero(first_ev)
    t = start_us[ev_v] + cs - cs[first_idx][ev_v]

    # a few events logged out of order: swap the timestamps of two neighbours in a visit
    t_out = t.copy()
    cand = np.flatnonzero((rng.random(ne) < 0.006) & np.r_[~first_ev[1:], False])
    # never around a login: identity must change exactly at the login event
    cand = cand[(ev_code[cand] != EV["login"]) & (ev_code[cand + 1] != EV["login"])]
    cand = cand[np.r_[True, np.diff(cand) > 1]] if cand.size else cand
    t_out[cand], t_out[cand + 1] = t[cand + 1], t[cand]

    keep = np.maximum(t, t_out) < cal.end_us
    ev_v, ev_key, ev_code, ev_rank = ev_v[keep], ev_key[keep], ev_code[keep], ev_rank[keep]
    t, t_out, gap, first_ev = t[keep], t_out[keep], gap[keep], first_ev[keep]
    ne = ev_v.size
    ev_owner = owner[ev_v]
    ev_kind = kind[ev_v]

    is_user = ev_owner < n
    identified = is_user & (ident[ev_v] | ((ev_kind == KIND_SIGNUP) & (ev_key >= login_key[ev_v])))
    signup_us = np.zeros(n, dtype=np.int64)
    login_at_signup = (ev_code == EV["login"]) & (ev_kind == KIND_SIGNUP)
    signup_us[ev_owner[login_at_signup]] = t_out[login_at_signup]

    # --- products -------------------------------------------------------------------------------
    focus = catalog.draw(rng, nv)
    product = focus[ev_v]
    browse_more = (ev_code == EV["product_view"]) & (ev_rank > 0)
    product[browse_more] = catalog.draw(rng, int(browse_more.sum()))

    # --- orders ---------------------------------------------------------------------------------
    # The warehouse reports in one currency (see DECISIONLOG.md), so every order is in USD. The
    # draw is kept so the rest of the random stream, and so the data, stays the same.
    owner_cny = np.concatenate([people.is_cn & (rng.random(n) < 0.5), np.zeros(n_anon, bool)])
    owner_cny[:] = False
    succ = np.flatnonzero(ev_code == EV["payment_success"])
    submit_t = np.full(nv, -1, dtype=np.int64)
    sub = ev_code == EV["payment_submit"]
    np.maximum.at(submit_t, ev_v[sub], t[sub])
    pend_v = np.flatnonzero((depth == 4) & (submit_t >= 0) & (rng.random(nv) < 0.5))
    o_visit = np.concatenate([ev_v[succ], pend_v])
    orders = build_orders(
        rng,
        catalog,
        owner=owner[o_visit],
        visit=o_visit,
        event_us=np.concatenate([t[succ], submit_t[pend_v]]),
        paid=np.r_[np.ones(succ.size, bool), np.zeros(pend_v.size, bool)],
        first_product=focus[o_visit],
        cny=owner_cny[owner[o_visit]],
        end_us=cal.end_us,
        id_offset=order_offset,
    )
    order_of_visit = np.full(nv, -1, dtype=np.int64)
    order_of_visit[orders.visit] = np.arange(orders.size)

    # --- text columns ---------------------------------------------------------------------------
    page_prefix = np.full(ne, PG["/"], dtype=np.int64)
    for code, prefix in FIXED_PAGE.items():
        page_prefix[ev_code == code] = PG[prefix]
    suffix = np.zeros(ne, dtype=np.int64)  # 0 none, 1 product, 2 category, 3 query, 4 campaign
    trailer = (ev_code == EV["view_reviews"]).astype(np.int64)
    pv = ev_code == EV["page_view"]
    entry = pv & (ev_key == 0)
    u = rng.random(ne)
    ev_camp = camp_flat[ev_v]
    entry_kind = np.where(u < 0.35, 0, np.where(u < 0.6, 2, np.where(u < 0.8, 1, 4)))
    entry_kind = np.where((entry_kind == 4) & (ev_camp < 0), 5, entry_kind)
    page_prefix[entry] = np.array(
        [PG["/"], PG["/product/"], PG["/category/"], 0, PG["/promo/"], PG["/deals"]]
    )[entry_kind[entry]]
    suffix[entry] = np.array([0, 1, 2, 0, 4, 0])[entry_kind[entry]]
    page_prefix[entry & (first_step[ev_v] == 3)] = PG["/cart"]
    suffix[entry & (first_step[ev_v] == 3)] = 0
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
        order_of_visit[ev_v],
        ev_camp,
        channel[ev_v],
        campaigns,
    )

    dwell = _dwell(rng, ev_code, gap, first_ev)

    # --- assemble, in time order ----------------------------------------------------------------
    out = np.lexsort((ev_key, ev_v, t))
    ev_owner_o = ev_owner[out]
    user_ids = people.user_id.take(
        pa.array(np.where(identified, ev_owner, 0)[out], mask=~identified[out])
    )
    anon_ids = np.concatenate(
        [
            people.anon_id,
            anonymous_ids(np.arange(anon_offset, anon_offset + n_anon) + ANON_ONLY_BASE, salt),
        ]
    )
    styles = ts_styles(rng, owner_cn[ev_owner_o])
    ch = channel[ev_v][out]
    table = pa.table(
        {
            "touchpoint_id": prefixed_ids("t_", np.arange(tp_offset + 1, tp_offset + ne + 1), 8),
            "user_id": user_ids,
            "anonymous_id": pa.array(anon_ids[ev_owner_o], pa.string()),
            "occurred_at": format_ts(t_out[out], styles),
            "touchpoint": take_text(vocab.EVENTS, ev_code[out]),
            "channel": take_text(vocab.CHANNELS, ch),
            "campaign": take_text(campaigns.flat_names, ev_camp[out]),
            "page": page.take(pa.array(out)),
            "dwell_ms": pa.array(dwell[out], pa.int64(), mask=dwell[out] < 0),
            "properties": props.take(pa.array(out)),
        }
    )
    return BatchResult(
        touchpoints=table,
        orders=orders,
        signup_us=signup_us,
        is_buyer=buyer[:n],
        abandoned=abandoned[:n],
        lapsed=lapse_day < days,
        n_touchpoints=ne,
        n_anon=n_anon,
    )


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


def _dwell(
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
