"""Markov-chain attribution: removal effects of a first-order chain over channel paths.

A *path* is the ordered list of channels of one journey, and it ends in ``conversion`` (the
journey is a purchase) or ``null`` (an actor who never bought). The chain has the states
``start``, one state per channel, and the two absorbing states ``conversion`` and ``null``.
Transition probabilities are the observed transition counts, normalised per source state:
``start -> c1 -> c2 -> ... -> cn -> conversion | null``.

Repeated consecutive channels are collapsed (``a, a, b`` -> ``a, b``). This changes no result:
a self-loop of probability p on a transient state scales its other transitions by 1 / (1 - p)
once it is taken out, so every absorption probability, and with them every removal effect, is
the same with or without the repeats. Collapsing keeps the matrices free of self-loops.

The conversion probability from ``start`` is computed exactly: with Q the transitions among the
transient states (start and the channels) and r the transitions into ``conversion``, the
absorption probabilities x solve ``(I - Q) x = r`` (numpy.linalg.solve), and
P(conversion) = x[start]. No simulation.

*Removing* a channel sends its inbound transitions to ``null``. Its removal effect is
``1 - P(conversion without c) / P(conversion)`` (0 when nothing converts), and its share is its
removal effect divided by the sum of all removal effects. A converting journey's one conversion
is split over the distinct channels of its own path in proportion to their removal effects.

A channel on a converting path always has a positive removal effect (the path itself has a
positive probability and goes through it). A channel from which ``conversion`` cannot be
reached has none. Note that a channel seen only on non-converting paths can still have an
effect: if it leads to channels that do convert elsewhere, removing it loses those walks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

START = "start"
CONVERSION = "conversion"
NULL = "null"

PATH_COLUMNS = ("journey_id", "is_converted", "order_id", "touch_number", "channel")
CREDIT_COLUMNS = ("order_id", "channel", "credited_conversions")
EFFECT_COLUMNS = (
    "channel",
    "removal_effect",
    "share",
    "conversion_probability",
    "conversion_probability_without",
)


def collapse_repeats(path: Iterable[str]) -> list[str]:
    """Drop channels that repeat the one just before them: a, a, b, a -> a, b, a."""
    collapsed: list[str] = []
    for channel in path:
        if not collapsed or collapsed[-1] != channel:
            collapsed.append(channel)
    return collapsed


@dataclass(frozen=True)
class MarkovChain:
    """The transient part of the chain. Index 0 of ``q`` and ``r`` is ``start``, index i >= 1
    is ``channels[i - 1]``. ``q[i, j]`` is P(i -> j) among transient states, ``r[i]`` is
    P(i -> conversion); the rest of each row goes to ``null``."""

    channels: tuple[str, ...]
    q: np.ndarray
    r: np.ndarray

    def index(self, channel: str) -> int:
        return self.channels.index(channel) + 1


def build_chain(paths: Sequence[Sequence[str]], converted: Sequence[bool]) -> MarkovChain:
    """The first-order chain of the journeys ``paths`` (channel lists; empty paths are
    ignored), ``converted[i]`` telling whether journey i ends in conversion or in null."""
    if len(paths) != len(converted):
        raise ValueError("paths and converted must have the same length")
    journeys = [
        (collapse_repeats(path), bool(is_converted))
        for path, is_converted in zip(paths, converted, strict=True)
    ]
    journeys = [(path, is_converted) for path, is_converted in journeys if path]
    channels = tuple(sorted({channel for path, _ in journeys for channel in path}))
    position = {channel: i + 1 for i, channel in enumerate(channels)}
    size = len(channels) + 1
    to_transient = np.zeros((size, size))
    to_conversion = np.zeros(size)
    to_null = np.zeros(size)
    for path, is_converted in journeys:
        states = [0, *(position[channel] for channel in path)]
        for source, target in zip(states[:-1], states[1:], strict=True):
            to_transient[source, target] += 1
        if is_converted:
            to_conversion[states[-1]] += 1
        else:
            to_null[states[-1]] += 1
    outgoing = to_transient.sum(axis=1) + to_conversion + to_null
    # A state without outgoing transitions (only `start` when there is no journey) stays put
    # at probability 0 of converting.
    scale = np.divide(1.0, outgoing, out=np.zeros(size), where=outgoing > 0)
    return MarkovChain(channels=channels, q=to_transient * scale[:, None], r=to_conversion * scale)


def conversion_probability(chain: MarkovChain, removed: str | None = None) -> float:
    """P(reaching conversion from start), exactly: solve (I - Q) x = r. With ``removed``, every
    transition into that channel goes to null instead."""
    q = chain.q.copy()
    r = chain.r.copy()
    if removed is not None:
        i = chain.index(removed)
        q[:, i] = 0.0
        q[i, :] = 0.0
        r[i] = 0.0
    x = np.linalg.solve(np.eye(len(r)) - q, r)
    return float(x[0])


def removal_effects(chain: MarkovChain) -> pd.DataFrame:
    """One row per channel (sorted): removal_effect, share, and the conversion probability of
    the chain with and without the channel."""
    base = conversion_probability(chain)
    rows = []
    for channel in chain.channels:
        without = conversion_probability(chain, removed=channel)
        effect = 1.0 - without / base if base > 0 else 0.0
        rows.append((channel, effect, without))
    effects = pd.DataFrame(
        rows, columns=["channel", "removal_effect", "conversion_probability_without"]
    )
    effects["removal_effect"] = effects["removal_effect"].astype("float64")
    total = effects["removal_effect"].sum()
    effects["share"] = effects["removal_effect"] / total if total > 0 else np.nan
    effects["conversion_probability"] = base
    return effects[list(EFFECT_COLUMNS)]


def journeys_from_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Journeys from path rows (one row per journey x touch, columns PATH_COLUMNS): one row per
    journey with journey_id, is_converted, order_id and path (its channels in touch order)."""
    missing = [column for column in PATH_COLUMNS if column not in rows.columns]
    if missing:
        raise ValueError(f"path rows need columns {missing}")
    ordered = rows.sort_values(["journey_id", "touch_number"], kind="mergesort")
    grouped = ordered.groupby("journey_id", sort=True)
    journeys = grouped.agg(
        is_converted=("is_converted", "first"),
        order_id=("order_id", "first"),
        path=("channel", list),
    ).reset_index()
    journeys["is_converted"] = journeys["is_converted"].astype(bool)
    return journeys


def credit_conversions(journeys: pd.DataFrame, effects: pd.DataFrame) -> pd.DataFrame:
    """Split each converting journey's one conversion over the distinct channels of its path
    in proportion to their removal effects. Columns CREDIT_COLUMNS, sorted."""
    effect = dict(zip(effects["channel"], effects["removal_effect"], strict=True))
    rows = []
    for order_id, path in zip(
        journeys.loc[journeys["is_converted"], "order_id"],
        journeys.loc[journeys["is_converted"], "path"],
        strict=True,
    ):
        channels = sorted(set(path))
        total = sum(effect[channel] for channel in channels)
        if not total > 0:
            raise ValueError(f"order {order_id}: its channels have no removal effect")
        rows.extend((order_id, channel, effect[channel] / total) for channel in channels)
    credits = pd.DataFrame(rows, columns=list(CREDIT_COLUMNS))
    credits["credited_conversions"] = credits["credited_conversions"].astype("float64")
    return credits.sort_values(["order_id", "channel"], kind="mergesort").reset_index(drop=True)


def markov_attribution(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """From path rows (int_attribution_paths) to (credits per order x channel, effects per
    channel)."""
    journeys = journeys_from_rows(rows)
    chain = build_chain(list(journeys["path"]), list(journeys["is_converted"]))
    effects = removal_effects(chain)
    return credit_conversions(journeys, effects), effects
