"""Visits and touchpoints of one batch of users, plus visitors who never log in.

Planning works per visit (a few per user), the expansion into touchpoints is vectorised:

1. *Plan visits*: anonymous visits before signup, the signup visit (with the ``login`` event),
   planned purchase visits (first purchase, then month-by-month repeats whose probability decays
   like a cohort retention curve), browsing visits whose frequency decays after signup, and the
   visits of anonymous-only visitors (:mod:`.visits`).
2. *Funnel depth*: purchase visits go to ``payment_success``. The other logged-in visits get a
   depth (0 = no product view .. 4 = ``payment_submit``) in numbers chosen so that, over the batch,
   about :data:`vocab.FUNNEL_CONTINUE` of the visits at each step reach the next one
   (:mod:`.visits`).
3. *Expand* each visit into segments of events with a sort key (entry page, fillers, repeated
   funnel steps, ``view_delivery_info`` views, ``login``), sort, and add seconds-to-minutes gaps
   (here); then the orders (:mod:`.commerce`) and the pages and properties (:mod:`.pages`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from . import vocab
from .commerce import Catalog, Orders, Tastes, build_orders
from .marketing import CampaignCalendar
from .pages import dwell_ms, event_text
from .people import ANON_ONLY_BASE, People, anonymous_ids
from .util import (
    US_PER_DAY,
    US_PER_S,
    Calendar,
    expand,
    format_ts,
    prefixed_ids,
    take_text,
    ts_styles,
    weighted_choice,
)
from .visits import KIND_BROWSE, KIND_CART, KIND_PURCHASE, KIND_SIGNUP, plan_visits

EV = vocab.EV


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


def _fillers(rng: np.random.Generator, k: int, size: int) -> np.ndarray:
    names, weights = zip(*vocab.FILLERS[k], strict=True)
    codes = np.array([EV[n] for n in names])
    return codes[weighted_choice(rng, weights, size)]


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
    visits = plan_visits(rng, cal, people)
    owner, kind, first_step, start_us = (
        visits.owner,
        visits.kind,
        visits.first_step,
        visits.start_us,
    )
    depth, n_anon, nv = visits.depth, visits.n_anon, visits.owner.size
    sign = kind == KIND_SIGNUP

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
    own = visits.owner_channel[owner]
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

    # --- products: of the visitor's taste, which persists over their visits ------------------
    tastes = Tastes.draw(catalog, n_owner, [salt, order_offset, anon_offset])
    focus = catalog.draw_with_taste(rng, tastes, tastes.line[owner], (0.7, 0.15))
    product = focus[ev_v]
    browse_more = (ev_code == EV["product_view"]) & (ev_rank > 0)
    product[browse_more] = catalog.draw_with_taste(
        rng, tastes, tastes.line[ev_owner[browse_more]], (0.4, 0.2)
    )

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
        tastes=tastes,
    )
    order_of_visit = np.full(nv, -1, dtype=np.int64)
    order_of_visit[orders.visit] = np.arange(orders.size)

    # --- text columns ---------------------------------------------------------------------------
    ev_camp = camp_flat[ev_v]
    page, props = event_text(
        rng,
        ev_code,
        ev_key,
        first_step[ev_v],
        product,
        catalog,
        ev_camp,
        campaigns,
        orders,
        order_of_visit[ev_v],
        channel[ev_v],
    )
    dwell = dwell_ms(rng, ev_code, gap, first_ev)

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
    styles = ts_styles(rng, visits.owner_cn[ev_owner_o])
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
        lapsed=visits.lapse_day < days,
        n_touchpoints=ne,
        n_anon=n_anon,
    )
