"""NPS survey responses and A/B experiment assignments of one batch.

Scores follow what happened to the user: buyers without trouble score high, buyers with a
cancelled or refunded order and payment abandoners score low (and complain about delivery).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from . import vocab
from .commerce import ST, Orders
from .people import People
from .util import US_PER_DAY, US_PER_S, Calendar, expand, format_ts, prefixed_ids, ts_styles

#: score distributions 0..10
SCORES_HIGH = (0.01, 0.01, 0.01, 0.01, 0.02, 0.04, 0.06, 0.12, 0.20, 0.24, 0.28)
SCORES_MID = (0.03, 0.02, 0.03, 0.04, 0.06, 0.10, 0.14, 0.18, 0.18, 0.12, 0.10)
SCORES_LOW = (0.10, 0.07, 0.09, 0.10, 0.12, 0.13, 0.12, 0.10, 0.08, 0.05, 0.04)
#: theme weights (delivery, price, quality, service) by mood
THEMES_UNHAPPY = (0.45, 0.25, 0.15, 0.15)
THEMES_ABANDONER = (0.65, 0.20, 0.05, 0.10)
THEMES_HAPPY = (0.30, 0.15, 0.35, 0.20)


def nps_table(
    rng: np.random.Generator,
    cal: Calendar,
    people: People,
    orders: Orders,
    signup_us: np.ndarray,
    is_buyer: np.ndarray,
    abandoned: np.ndarray,
    lapsed: np.ndarray,
    id_offset: int,
) -> tuple[pa.Table, int]:
    """About 15% of users answer once or twice. Returns the table and its row count.

    Customers who lapse later (``lapsed``) are unhappy more often than those who stay: most of
    their answers come before they stop buying, so a low score warns of churn."""
    n = people.n
    answers = np.where(rng.random(n) < 0.15, np.where(rng.random(n) < 0.2, 2, 1), 0)
    who, _ = expand(answers)
    m = who.size

    paid = orders.paid_us >= 0
    trouble = np.zeros(n, dtype=bool)
    trouble[orders.owner[np.isin(orders.status, (ST["cancelled"], ST["refunded"]))]] = True
    # buyers answer a few days after one of their paid orders, others some time after signup
    last_paid = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last_paid, orders.owner[paid], orders.created_us[paid])
    first_paid = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_paid, orders.owner[paid], orders.created_us[paid])
    u = rng.random(m)
    after_order = is_buyer[who] & (last_paid[who] >= 0)
    anchor = np.where(
        after_order,
        first_paid[who] + (u * (last_paid[who] - first_paid[who])).astype(np.int64),
        signup_us[who],
    )
    delay = np.where(after_order, rng.uniform(2, 10, m), rng.uniform(1, 60, m)) * US_PER_DAY
    at = anchor + delay.astype(np.int64) + rng.integers(0, 3600 * US_PER_S, m)
    late = at >= cal.end_us - US_PER_DAY
    at = np.where(
        late,
        signup_us[who]
        + (rng.random(m) * (cal.end_us - US_PER_DAY - signup_us[who])).astype(np.int64),
        at,
    )

    souring = lapsed[who] & (rng.random(m) < 0.6)
    unhappy = trouble[who] | abandoned[who] | souring
    happy = is_buyer[who] & ~trouble[who]
    score = np.empty(m, dtype=np.int64)
    for mask, dist in (
        (happy, SCORES_HIGH),
        (unhappy, SCORES_LOW),
        (~happy & ~unhappy, SCORES_MID),
    ):
        k = int(mask.sum())
        score[mask] = rng.choice(11, size=k, p=np.array(dist) / sum(dist))

    themes = np.empty(m, dtype=np.int64)
    for mask, weights in (
        (abandoned[who], THEMES_ABANDONER),
        (~abandoned[who] & (score <= 6), THEMES_UNHAPPY),
        (~abandoned[who] & (score > 6), THEMES_HAPPY),
    ):
        k = int(mask.sum())
        themes[mask] = rng.choice(4, size=k, p=np.array(weights) / sum(weights))
    chinese = np.where(people.is_cn[who], rng.random(m) < 0.8, rng.random(m) < 0.03)
    has_comment = rng.random(m) >= 0.3
    pick = rng.random(m)
    comments = np.full(m, None, dtype=object)
    for i in np.flatnonzero(has_comment):
        key = ("zh" if chinese[i] else "en", vocab.NPS_THEMES[themes[i]], bool(score[i] > 6))
        options = vocab.NPS_COMMENTS[key]
        comments[i] = options[int(pick[i] * len(options))]

    order = np.lexsort((who, at))
    styles = ts_styles(rng, people.is_cn[who[order]])
    table = pa.table(
        {
            "response_id": prefixed_ids("r_", np.arange(id_offset + 1, id_offset + m + 1), 6),
            "user_id": people.user_id.take(pa.array(who[order])),
            "responded_at": format_ts(at[order], styles),
            "score": pa.array(score[order], pa.int64()),
            "comment": pa.array(comments[order], pa.string()),
        }
    )
    return table, m


def experiments_table(rng: np.random.Generator, people: People, signup_us: np.ndarray) -> pa.Table:
    """Assignments at signup: ``checkout_button_color`` for everyone (treatment converts better,
    see :mod:`journeys`), ``free_shipping_banner`` for users who signed up March to August."""
    users, exp = np.nonzero(people.variant >= 0)
    variant = people.variant[users, exp]
    at = signup_us[users] + rng.integers(US_PER_S // 5, 3 * US_PER_S, users.size)
    order = np.lexsort((exp, at))
    users, exp, variant, at = users[order], exp[order], variant[order], at[order]
    return pa.table(
        {
            "experiment_id": pa.array(np.array(vocab.EXPERIMENTS, dtype=object)[exp], pa.string()),
            "user_id": people.user_id.take(pa.array(users)),
            "variant": pa.array(
                np.array(["control", "treatment"], dtype=object)[variant], pa.string()
            ),
            "assigned_at": format_ts(at, ts_styles(rng, people.is_cn[users])),
        }
    )
