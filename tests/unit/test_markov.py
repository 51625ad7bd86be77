"""Markov attribution (touchpoint_alchemy.scoring.markov): a hand-computed chain and properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from touchpoint_alchemy.scoring.markov import (
    MarkovChain,
    build_chain,
    collapse_repeats,
    conversion_probability,
    credit_conversions,
    markov_attribution,
    markov_attribution_from_transitions,
    removal_effects,
    transition_counts,
)

# Four journeys over three channels:
#   1. C1 > C2 > conversion
#   2. C1 > null
#   3. C2 > C3 > conversion
#   4. C3 > null
# Transition counts and probabilities (rows: from; the rest of each row goes to null):
#   start -> C1 2/4, -> C2 1/4, -> C3 1/4
#   C1    -> C2 1/2,                         -> null 1/2
#   C2    ->                 C3 1/2, -> conversion 1/2
#   C3    ->                         -> conversion 1/2, -> null 1/2
# Absorption probabilities, x = P(conversion | state):
#   x3 = 1/2;  x2 = 1/2 + 1/2 x3 = 3/4;  x1 = 1/2 x2 = 3/8
#   x_start = 1/2 x1 + 1/4 x2 + 1/4 x3 = 3/16 + 3/16 + 2/16 = 1/2
# Removing a channel sends its inbound transitions to null (its x becomes 0):
#   without C1: x_start = 0 + 3/16 + 2/16 = 5/16           -> effect 1 - (5/16)/(1/2) = 3/8
#   without C2: x1 = 0, x3 = 1/2, x_start = 1/4 * 1/2 = 1/8 -> effect 1 - (1/8)/(1/2) = 3/4
#   without C3: x2 = 1/2, x1 = 1/4, x_start = 1/8 + 1/8 = 1/4 -> effect 1 - (1/4)/(1/2) = 1/2
# Sum of effects 13/8, so shares 3/13, 6/13, 4/13.
# Credits: journey 1 (C1, C2): C1 (3/8)/(9/8) = 1/3, C2 2/3;
#          journey 3 (C2, C3): C2 (3/4)/(5/4) = 3/5, C3 2/5.
HAND_PATHS = [["C1", "C2"], ["C1"], ["C2", "C3"], ["C3"]]
HAND_CONVERTED = [True, False, True, False]


def _rows(paths, converted):
    """Path rows as int_attribution_paths has them (one row per journey x touch)."""
    rows = []
    for number, (path, is_converted) in enumerate(zip(paths, converted, strict=True)):
        journey = f"order:o{number}" if is_converted else f"actor:a{number}"
        for position, channel in enumerate(path, start=1):
            rows.append(
                {
                    "journey_id": journey,
                    "is_converted": is_converted,
                    "order_id": f"o{number}" if is_converted else None,
                    "touch_number": position,
                    "channel": channel,
                }
            )
    return pd.DataFrame(rows)


def test_hand_computed_chain():
    chain = build_chain(HAND_PATHS, HAND_CONVERTED)
    assert chain.channels == ("C1", "C2", "C3")
    expected_q = np.array(
        [
            [0, 1 / 2, 1 / 4, 1 / 4],
            [0, 0, 1 / 2, 0],
            [0, 0, 0, 1 / 2],
            [0, 0, 0, 0],
        ]
    )
    np.testing.assert_allclose(chain.q, expected_q, rtol=0, atol=1e-12)
    np.testing.assert_allclose(chain.r, [0, 0, 1 / 2, 1 / 2], rtol=0, atol=1e-12)
    assert conversion_probability(chain) == pytest.approx(1 / 2, abs=1e-12)
    assert conversion_probability(chain, removed="C1") == pytest.approx(5 / 16, abs=1e-12)
    assert conversion_probability(chain, removed="C2") == pytest.approx(1 / 8, abs=1e-12)
    assert conversion_probability(chain, removed="C3") == pytest.approx(1 / 4, abs=1e-12)

    effects = removal_effects(chain).set_index("channel")
    expected_effects = {"C1": 3 / 8, "C2": 3 / 4, "C3": 1 / 2}
    expected_shares = {"C1": 3 / 13, "C2": 6 / 13, "C3": 4 / 13}
    for channel in expected_effects:
        assert effects.loc[channel, "removal_effect"] == pytest.approx(
            expected_effects[channel], abs=1e-12
        )
        assert effects.loc[channel, "share"] == pytest.approx(expected_shares[channel], abs=1e-12)
        assert effects.loc[channel, "conversion_probability"] == pytest.approx(1 / 2, abs=1e-12)


def test_hand_computed_credits():
    credits, _ = markov_attribution(_rows(HAND_PATHS, HAND_CONVERTED))
    got = {(r.order_id, r.channel): r.credited_conversions for r in credits.itertuples()}
    expected = {("o0", "C1"): 1 / 3, ("o0", "C2"): 2 / 3, ("o2", "C2"): 3 / 5, ("o2", "C3"): 2 / 5}
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-12)


def test_repeats_are_collapsed_and_change_nothing():
    assert collapse_repeats(["a", "a", "b", "a", "a"]) == ["a", "b", "a"]
    repeated = [["C1", "C1", "C2"], ["C1", "C1"], ["C2", "C3", "C3"], ["C3"]]
    a = removal_effects(build_chain(HAND_PATHS, HAND_CONVERTED))
    b = removal_effects(build_chain(repeated, HAND_CONVERTED))
    pd.testing.assert_frame_equal(a, b)
    # The uncollapsed chain, with self-loops, gives the same absorption probabilities:
    # C1 -> C1 2/4, -> C2 1/4, -> null 1/4; C3 -> C3 1/3, -> conversion 1/3, -> null 1/3.
    looped = MarkovChain(
        channels=("C1", "C2", "C3"),
        q=np.array(
            [
                [0, 1 / 2, 1 / 4, 1 / 4],
                [0, 2 / 4, 1 / 4, 0],
                [0, 0, 0, 1 / 2],
                [0, 0, 0, 1 / 3],
            ]
        ),
        r=np.array([0, 0, 1 / 2, 1 / 3]),
    )
    assert conversion_probability(looped) == pytest.approx(1 / 2, abs=1e-12)
    assert conversion_probability(looped, removed="C1") == pytest.approx(5 / 16, abs=1e-12)


def test_channel_that_cannot_reach_conversion_has_no_effect():
    # C4 is only ever followed by null.
    paths = [*HAND_PATHS, ["C4"], ["C4", "C4"], ["C1", "C4"]]
    converted = [*HAND_CONVERTED, False, False, False]
    effects = removal_effects(build_chain(paths, converted)).set_index("channel")
    assert effects.loc["C4", "removal_effect"] == pytest.approx(0, abs=1e-15)
    assert effects.loc["C4", "share"] == pytest.approx(0, abs=1e-15)


def test_channel_only_on_non_converting_paths_can_still_matter():
    # C5 never appears on a converting path, but it leads to C1, which converts elsewhere:
    # removing it loses those walks, so its effect is positive (a property of first-order
    # chains, not of the observed paths).
    paths = [*HAND_PATHS, ["C5", "C1"]]
    converted = [*HAND_CONVERTED, False]
    effects = removal_effects(build_chain(paths, converted)).set_index("channel")
    assert effects.loc["C5", "removal_effect"] > 0


def test_no_journey_and_no_conversion():
    empty = removal_effects(build_chain([], []))
    assert empty.empty
    nothing_converts = removal_effects(build_chain([["a"], ["a", "b"]], [False, False]))
    assert (nothing_converts["removal_effect"] == 0).all()
    assert (nothing_converts["conversion_probability"] == 0).all()


def _power_series_probability(chain: MarkovChain, removed: str | None = None) -> float:
    """An independent estimate: sum_k Q^k r by iteration (converges: every state is transient)."""
    q, r = chain.q.copy(), chain.r.copy()
    if removed is not None:
        i = chain.index(removed)
        q[:, i] = 0
        q[i, :] = 0
        r[i] = 0
    x = np.zeros_like(r)
    for _ in range(10_000):
        x = r + q @ x
    return float(x[0])


@pytest.mark.parametrize("seed", range(5))
def test_properties_on_random_journeys(seed):
    rng = np.random.default_rng(seed)
    channels = ["a", "b", "c", "d", "e"]
    paths, converted = [], []
    for _ in range(200):
        length = int(rng.integers(1, 7))
        paths.append(list(rng.choice(channels, size=length)))
        converted.append(bool(rng.random() < 0.3))
    chain = build_chain(paths, converted)
    effects = removal_effects(chain)
    assert effects["share"].sum() == pytest.approx(1, abs=1e-12)
    assert ((effects["removal_effect"] >= 0) & (effects["removal_effect"] <= 1)).all()
    assert conversion_probability(chain) == pytest.approx(
        _power_series_probability(chain), abs=1e-12
    )
    for channel in channels:
        assert conversion_probability(chain, removed=channel) == pytest.approx(
            _power_series_probability(chain, removed=channel), abs=1e-12
        )
    credits, effects_again = markov_attribution(_rows(paths, converted))
    pd.testing.assert_frame_equal(effects, effects_again)
    sums = credits.groupby("order_id")["credited_conversions"].sum()
    assert len(sums) == sum(converted)
    np.testing.assert_allclose(sums, 1, rtol=0, atol=1e-12)
    # every channel on a converting path has a positive effect
    on_converting = {c for path, conv in zip(paths, converted, strict=True) if conv for c in path}
    positive = set(effects.loc[effects["removal_effect"] > 0, "channel"])
    assert on_converting <= positive


def test_credit_split_uses_distinct_channels_of_the_own_path():
    journeys = pd.DataFrame(
        {
            "journey_id": ["order:x"],
            "is_converted": [True],
            "order_id": ["x"],
            "path": [["a", "b", "a"]],
        }
    )
    effects = pd.DataFrame({"channel": ["a", "b", "c"], "removal_effect": [0.2, 0.6, 0.9]})
    credits = credit_conversions(journeys, effects)
    assert credits.to_dict("list") == {
        "order_id": ["x", "x"],
        "channel": ["a", "b"],
        "credited_conversions": [pytest.approx(0.25, abs=1e-12), pytest.approx(0.75, abs=1e-12)],
    }


def test_the_transition_counts_of_the_hand_journeys():
    counts = transition_counts(HAND_PATHS + [["C1", "C1"]], HAND_CONVERTED + [False])
    got = {(f, t): n for f, t, n in counts.itertuples(index=False)}
    # the comment above, plus a fifth journey C1, C1 > null (its repeat collapsed)
    assert got == {
        ("start", "C1"): 3,
        ("start", "C2"): 1,
        ("start", "C3"): 1,
        ("C1", "C2"): 1,
        ("C1", "null"): 2,
        ("C2", "C3"): 1,
        ("C2", "conversion"): 1,
        ("C3", "conversion"): 1,
        ("C3", "null"): 1,
    }


def test_from_transitions_equals_from_paths():
    """The warehouse's entry point (counts from SQL, the purchases' channels) gives the hand
    example's effects and credits, as the path-based entry point does."""
    rows = _rows(HAND_PATHS, HAND_CONVERTED)
    credits, effects = markov_attribution(rows)
    order_channels = (
        rows.loc[rows["is_converted"], ["order_id", "channel"]].drop_duplicates().iloc[::-1]
    )
    credits_t, effects_t = markov_attribution_from_transitions(
        transition_counts(HAND_PATHS, HAND_CONVERTED).iloc[::-1], order_channels
    )
    pd.testing.assert_frame_equal(effects, effects_t)
    pd.testing.assert_frame_equal(credits, credits_t)
    shares = dict(zip(effects_t["channel"], effects_t["share"], strict=True))
    assert shares == pytest.approx({"C1": 3 / 13, "C2": 6 / 13, "C3": 4 / 13}, abs=1e-12)
