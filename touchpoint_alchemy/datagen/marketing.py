"""Campaign calendar (which campaign a visit came from) and the daily ``marketing_spend`` rows.

Spend, clicks and impressions are derived from the visits the paid channels actually brought
(counted while touchpoints are generated), so cost per visit and CTR stay plausible at any scale.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from . import vocab
from .util import Calendar


class CampaignCalendar:
    """Per channel and day, the weight of each campaign (0 when the campaign is not running)."""

    def __init__(self, cal: Calendar) -> None:
        self.cal = cal
        self.slots = max(len(c) for c in vocab.CAMPAIGNS.values())
        self.names: list[list[str]] = [[c[0] for c in vocab.CAMPAIGNS[ch]] for ch in vocab.CHANNELS]
        month, dom = cal.month_day(np.arange(cal.days))
        md = month * 100 + dom
        weights = np.zeros((len(vocab.CHANNELS), cal.days, self.slots))
        for ci, ch in enumerate(vocab.CHANNELS):
            for si, (_, weight, start, end) in enumerate(vocab.CAMPAIGNS[ch]):
                if start is None or end is None:
                    active = np.ones(cal.days, dtype=bool)
                else:
                    active = (md >= start[0] * 100 + start[1]) & (md <= end[0] * 100 + end[1])
                weights[ci, :, si] = np.where(active, weight, 0.0)
        self.weights = weights
        total = weights.sum(axis=2, keepdims=True)
        self.cdf = np.cumsum(weights / np.where(total > 0, total, 1.0), axis=2)
        #: visits per (day, channel, campaign slot), filled by :meth:`count`
        self.visits = np.zeros((cal.days, len(vocab.CHANNELS), self.slots), dtype=np.int64)
        self.flat_names = [name for names in self.names for name in names]
        self.flat_offset = np.cumsum([0] + [len(n) for n in self.names])[:-1]

    def draw(self, rng: np.random.Generator, channel: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Campaign slot per visit (-1 = no campaign). ``channel`` -1 means direct traffic."""
        ch = np.where(channel < 0, 0, channel)
        d = np.clip(day, 0, self.cal.days - 1)
        cdf = self.cdf[ch, d]  # (n, slots)
        slot = (rng.random(channel.size)[:, None] > cdf).sum(axis=1)
        has = (channel >= 0) & (self.weights[ch, d].sum(axis=1) > 0)
        referral = vocab.CHANNELS.index("referral")
        has &= ~((channel == referral) & (rng.random(channel.size) < 0.3))
        return np.where(has, np.minimum(slot, self.slots - 1), -1)

    def count(self, channel: np.ndarray, slot: np.ndarray, day: np.ndarray) -> None:
        """Add visits that carry a campaign to the spend counters."""
        keep = (slot >= 0) & (day >= 0) & (day < self.cal.days)
        np.add.at(self.visits, (day[keep], channel[keep], slot[keep]), 1)

    def flat(self, channel: np.ndarray, slot: np.ndarray) -> np.ndarray:
        """Index into :attr:`flat_names` (-1 when there is no campaign)."""
        return np.where(slot >= 0, self.flat_offset[np.maximum(channel, 0)] + slot, -1)

    def spend_table(self, rng: np.random.Generator) -> pa.Table:
        """One row per day, paid channel and running campaign, sorted by those keys."""
        rows: list[tuple[int, str, str, int, float, float, float, float]] = []
        for ch_name in sorted(vocab.PAID_CHANNELS):
            ci = vocab.CHANNELS.index(ch_name)
            cpc, ctr_lo, ctr_hi = vocab.PAID_ECONOMICS[ch_name]
            order = sorted(range(len(self.names[ci])), key=lambda s: self.names[ci][s])
            for day in range(self.cal.days):
                for si in order:
                    weight = float(self.weights[ci, day, si])
                    if weight > 0:
                        rows.append(
                            (
                                day,
                                ch_name,
                                self.names[ci][si],
                                int(self.visits[day, ci, si]),
                                cpc,
                                ctr_lo,
                                ctr_hi,
                                weight,
                            )
                        )
        rows.sort(key=lambda r: (r[0], r[1], r[2]))
        n = len(rows)
        day, channel, campaign, visits, cpc, ctr_lo, ctr_hi, weight = (
            list(c) for c in zip(*rows, strict=True)
        )
        weight_a = np.array(weight)
        # not every click becomes a tracked visit; campaigns keep a little traffic on empty days
        clicks = np.round(
            np.array(visits) * rng.uniform(1.15, 1.5, n) + rng.poisson(0.4 * weight_a, n)
        )
        ctr = rng.uniform(np.array(ctr_lo), np.array(ctr_hi))
        impressions = np.round(np.maximum(clicks, 0.5 * weight_a) / ctr)
        spend = np.round(np.maximum(clicks, 0.3) * np.array(cpc) * rng.uniform(0.85, 1.15, n), 2)
        return pa.table(
            {
                "spend_date": self.cal.date_text(np.array(day, dtype=np.int64)),
                "channel": pa.array(channel, pa.string()),
                "campaign": pa.array(campaign, pa.string()),
                "spend": pa.array(spend, pa.float64()),
                "impressions": pa.array(impressions.astype(np.int64), pa.int64()),
                "clicks": pa.array(clicks.astype(np.int64), pa.int64()),
            }
        )
