"""The visits of one batch of users, plus visitors who never log in (steps 1 and 2 of
:mod:`.journeys`): when each visit starts, whose it is, what kind it is and how deep into the
purchase funnel it goes. :mod:`.journeys` expands them into touchpoints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import vocab
from .people import People, signup_days, time_of_day
from .util import US_PER_DAY, US_PER_S, Calendar, expand, weighted_choice

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


#: relative purchase intensity by local weekday, Monday first: quiet midweek, busy weekends
WEEKDAY_WEIGHTS = (1.0, 0.85, 0.8, 0.9, 1.1, 1.45, 1.6)
#: growth: a purchase on day d brings another within two weeks with probability
#: GROWTH x d / days (none at the start, a fifth of the purchases more by the end)
GROWTH = 0.4
#: the peak season (local month-day, first and last day) and the chance that a purchase in it
#: brings another one (a gift) on a later day of the season
PEAK_SEASON = ((11, 20), (12, 24))
PEAK_EXTRA = 0.8


def _demand_stream(rng: np.random.Generator) -> np.random.Generator:
    """A stream of its own for the demand calendar, derived from the batch's seed without
    drawing from the batch stream, so every other draw of the batch stays as it was."""
    seed_seq = rng.bit_generator.seed_seq
    return np.random.Generator(
        np.random.PCG64(
            np.random.SeedSequence(seed_seq.entropy, spawn_key=(*seed_seq.spawn_key, 9))
        )
    )


def _weekday(cal: Calendar, day: np.ndarray) -> np.ndarray:
    """Weekday (0 = Monday) of each day offset."""
    epoch_days = (cal.start_day + np.asarray(day, dtype=np.int64).astype("timedelta64[D]")).astype(
        np.int64
    )
    return (epoch_days + 3) % 7  # 1970-01-01 was a Thursday


def _peak_days(cal: Calendar) -> np.ndarray:
    """The day offsets of the peak season inside the calendar."""
    month, dom = cal.month_day(np.arange(cal.days))
    key = month * 100 + dom
    (m0, d0), (m1, d1) = PEAK_SEASON
    return np.flatnonzero((key >= m0 * 100 + d0) & (key <= m1 * 100 + d1))


def demand_calendar(
    rng: np.random.Generator, cal: Calendar, owner: np.ndarray, day: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The planned purchases (owner, local day) given a demand calendar: a growth trend (extra
    purchases, more the later in the period), a weekly pattern (each purchase moves 0-6 days
    forward, to a day chosen by :data:`WEEKDAY_WEIGHTS`: over any 7 days every weekday is
    there once, so the week's total stays and only its shape changes) and a peak season (a
    purchase in it brings another on a later season day). Purchases past the period are dropped."""
    grow = rng.random(day.size) < GROWTH * day / cal.days
    owner = np.concatenate([owner, owner[grow]])
    day = np.concatenate([day, day[grow] + 1 + np.floor(14 * rng.random(int(grow.sum())))])
    day = day.astype(np.int64)
    offsets = day[:, None] + np.arange(7)[None, :]
    weights = np.asarray(WEEKDAY_WEIGHTS)[_weekday(cal, offsets)]
    cdf = np.cumsum(weights, axis=1)
    pick = (cdf < rng.random(day.size)[:, None] * cdf[:, -1:]).sum(axis=1)
    day = day + pick
    season = _peak_days(cal)
    if season.size:
        # a gift on a later day of the season (never before the purchase, so never before the
        # customer signed up), chosen by weekday weight
        position = np.searchsorted(season, day, side="right")
        gift = np.isin(day, season) & (position < season.size)
        gift &= rng.random(day.size) < PEAK_EXTRA
        cumulative = np.concatenate(
            [[0.0], np.cumsum(np.asarray(WEEKDAY_WEIGHTS)[_weekday(cal, season)])]
        )
        before = cumulative[position[gift]]
        target = before + rng.random(int(gift.sum())) * (cumulative[-1] - before)
        index = np.minimum(np.searchsorted(cumulative, target, side="right") - 1, season.size - 1)
        owner = np.concatenate([owner, owner[gift]])
        day = np.concatenate([day, season[np.maximum(index, position[gift])]])
    keep = day < cal.days
    return owner[keep], day[keep]


@dataclass
class Visits:
    """The planned visits of a batch, sorted by owner, start time and kind.

    Owners are the batch's users (0 .. n-1), then its anonymous-only visitors (n ..)."""

    owner: np.ndarray
    kind: np.ndarray  # KIND_*
    first_step: np.ndarray  # funnel step the visit starts at (3: the cart was filled earlier)
    start_us: np.ndarray
    depth: np.ndarray  # 0 = no product view .. 5 = payment_success
    n_anon: int  # anonymous-only visitors of the batch
    owner_cn: np.ndarray  # per owner: in a Chinese city
    owner_channel: np.ndarray  # per owner: acquisition channel (-1: direct)
    lapse_day: np.ndarray  # per user: day the customer stops buying (int64 max: never)


def _local_to_us(cal: Calendar, local: np.ndarray, tz_hours: np.ndarray) -> np.ndarray:
    return cal.start_us + np.round((local - tz_hours / 24.0) * US_PER_DAY).astype(np.int64)


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


def plan_visits(rng: np.random.Generator, cal: Calendar, people: People) -> Visits:
    """Plan the visits of a batch: who buys and when, browsing, anonymous visits, funnel depth."""
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
    p_owner, p_day = demand_calendar(_demand_stream(rng), cal, p_owner[keep], p_day[keep])
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
    return Visits(
        owner=owner,
        kind=kind,
        first_step=first_step,
        start_us=start_us,
        depth=depth,
        n_anon=n_anon,
        owner_cn=owner_cn,
        owner_channel=owner_channel,
        lapse_day=lapse_day,
    )
