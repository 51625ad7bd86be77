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

In the warehouse the transition counts come from SQL (``intermediate.int_markov_transitions``,
with the channels of each purchase in ``int_markov_order_channels``), and
:func:`markov_attribution_from_transitions` solves them. :func:`markov_attribution` does the
same from path rows, counting the transitions here (:func:`transition_counts`): the library's
own entry point, and the tests' independent check of the SQL.

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
TRANSITION_COLUMNS = ("from_state", "to_state", "transitions")
ORDER_CHANNEL_COLUMNS = ("order_id", "channel")
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


def transition_counts(paths: Sequence[Sequence[str]], converted: Sequence[bool]) -> pd.DataFrame:
    """The transitions of the journeys ``paths`` (channel lists; empty paths are ignored),
    ``converted[i]`` telling whether journey i ends in conversion or in null: one row per
    (from_state, to_state) with its count (columns TRANSITION_COLUMNS), repeats collapsed."""
    if len(paths) != len(converted):
        raise ValueError("paths and converted must have the same length")
    counts: dict[tuple[str, str], int] = {}
    for path, is_converted in zip(paths, converted, strict=True):
        channels = collapse_repeats(path)
        if not channels:
            continue
        states = [START, *channels, CONVERSION if is_converted else NULL]
        for pair in zip(states[:-1], states[1:], strict=True):
            counts[pair] = counts.get(pair, 0) + 1
    rows = [(source, target, count) for (source, target), count in counts.items()]
    return pd.DataFrame(rows, columns=list(TRANSITION_COLUMNS))


def chain_from_transitions(transitions: pd.DataFrame) -> MarkovChain:
    """The chain of transition counts (columns TRANSITION_COLUMNS): each state's counts
    normalised over all its outgoing transitions."""
    missing = [column for column in TRANSITION_COLUMNS if column not in transitions.columns]
    if missing:
        raise ValueError(f"transition rows need columns {missing}")
    sources = set(transitions["from_state"]) - {START}
    targets = set(transitions["to_state"]) - {CONVERSION, NULL}
    channels = tuple(sorted(sources | targets))
    position = {START: 0, **{channel: i + 1 for i, channel in enumerate(channels)}}
    size = len(channels) + 1
    to_transient = np.zeros((size, size))
    to_conversion = np.zeros(size)
    to_null = np.zeros(size)
    for source, target, count in transitions[list(TRANSITION_COLUMNS)].itertuples(index=False):
        if target == CONVERSION:
            to_conversion[position[source]] += count
        elif target == NULL:
            to_null[position[source]] += count
        else:
            to_transient[position[source], position[target]] += count
    outgoing = to_transient.sum(axis=1) + to_conversion + to_null
    # A state without outgoing transitions (only `start` when there is no journey) stays put
    # at probability 0 of converting.
    scale = np.divide(1.0, outgoing, out=np.zeros(size), where=outgoing > 0)
    return MarkovChain(channels=channels, q=to_transient * scale[:, None], r=to_conversion * scale)


def build_chain(paths: Sequence[Sequence[str]], converted: Sequence[bool]) -> MarkovChain:
    """The first-order chain of the journeys ``paths`` (see :func:`transition_counts`)."""
    return chain_from_transitions(transition_counts(paths, converted))


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
    converting = journeys.loc[journeys["is_converted"], ["order_id", "path"]]
    pairs = converting.explode("path").rename(columns={"path": "channel"})
    return credit_order_channels(pairs.drop_duplicates(), effects)


def credit_order_channels(order_channels: pd.DataFrame, effects: pd.DataFrame) -> pd.DataFrame:
    """Split each purchase's one conversion over its channels (``order_channels``: one row per
    distinct order_id x channel) in proportion to their removal effects. Columns
    CREDIT_COLUMNS, sorted."""
    effect = dict(zip(effects["channel"], effects["removal_effect"], strict=True))
    credits = order_channels[list(ORDER_CHANNEL_COLUMNS)].reset_index(drop=True)
    credits["effect"] = credits["channel"].map(effect).astype("float64")
    total = credits.groupby("order_id")["effect"].transform("sum")
    broken = credits.loc[~(total > 0), "order_id"]
    if len(broken):
        raise ValueError(f"order {broken.iloc[0]}: its channels have no removal effect")
    credits["credited_conversions"] = (credits["effect"] / total).astype("float64")
    credits = credits[list(CREDIT_COLUMNS)]
    return credits.sort_values(["order_id", "channel"], kind="mergesort").reset_index(drop=True)


def markov_attribution(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """From path rows (int_attribution_paths) to (credits per order x channel, effects per
    channel)."""
    journeys = journeys_from_rows(rows)
    chain = build_chain(list(journeys["path"]), list(journeys["is_converted"]))
    effects = removal_effects(chain)
    return credit_conversions(journeys, effects), effects


def markov_attribution_from_transitions(
    transitions: pd.DataFrame, order_channels: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """From transition counts (int_markov_transitions) and the purchases' channels
    (int_markov_order_channels) to (credits per order x channel, effects per channel)."""
    effects = removal_effects(chain_from_transitions(transitions))
    return credit_order_channels(order_channels, effects), effects
