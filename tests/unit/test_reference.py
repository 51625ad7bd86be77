"""Tests of the independent pandas reference (tests/support/reference.py) on hand-worked inputs."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import reference as ref

DATA = Path(__file__).parents[1] / "data"
FUNNEL_EDGES = DATA / "funnel_edges"
COHORTS_SMALL = DATA / "cohorts_small"
NOW = dt.datetime(2025, 6, 1)
TOL = 0.005


@pytest.fixture(scope="module")
def funnel_staged():
    return ref.load_staged(FUNNEL_EDGES, now=NOW)


@pytest.fixture(scope="module")
def cohort_staged():
    return ref.load_staged(COHORTS_SMALL, now=NOW)


def _iso(values: pd.Series) -> list[str]:
    return [v.isoformat() for v in values]


def _rejections(rejected: pd.DataFrame) -> list[tuple[str, str, str]]:
    return [tuple(r) for r in rejected[["source", "record_key", "reason"]].itertuples(index=False)]


# ---------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-01T09:30:00Z", dt.datetime(2025, 3, 1, 9, 30)),
        ("2025-03-01 17:30:00+08:00", dt.datetime(2025, 3, 1, 9, 30)),
        ("2025-03-01T09:30:00.123456", dt.datetime(2025, 3, 1, 9, 30, 0, 123456)),
        ("2025-03-01T09:30:00.5", dt.datetime(2025, 3, 1, 9, 30, 0, 500000)),
        ("2025-03-01T20:30:00-05:00", dt.datetime(2025, 3, 2, 1, 30)),
        ("2025-03-01T00:30:00+0100", dt.datetime(2025, 2, 28, 23, 30)),
        ("2025-03-01", dt.datetime(2025, 3, 1)),
        ("2025-02-30T00:00:00Z", None),
        ("01/03/2025 09:30", None),
        ("yesterday", None),
        ("", None),
    ],
)
def test_parse_timestamp(text, expected):
    assert ref.parse_timestamp(text) == expected


def test_parse_number_and_boolean():
    assert ref.parse_number("12.50") == ref.Decimal("12.50")
    assert ref.parse_number("-3") == ref.Decimal("-3")
    assert ref.parse_number("12,50") is None
    assert ref.parse_number("1,000") is None
    assert ref.parse_number("nan") is None
    for word in ["true", "TRUE", "1", "t", "Yes"]:
        assert ref.parse_boolean(word) is True
    for word in ["false", "0", "F", "NO"]:
        assert ref.parse_boolean(word) is False
    assert ref.parse_boolean("maybe") is None


# ---------------------------------------------------------------------------------------------
# Loading and validation
# ---------------------------------------------------------------------------------------------


def _frame(rows: list[list[str | None]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns, dtype=object)


def _tiny_raw() -> dict[str, pd.DataFrame]:
    """Every rejection reason exactly once (NOW = 2025-06-01 00:00 UTC)."""
    users = _frame(
        [
            ["u1", "2025-01-01T00:00:00Z", "organic", "mobile", None, None, None, "true"],
            # exactly now + 1 day: not "more than one day after", so valid
            ["u2", "2025-06-02T00:00:00Z", None, None, None, None, None, "no"],
            [" ", "2025-01-01T00:00:00Z", None, None, None, None, None, "true"],
            ["u1", "2025-01-01T00:00:00Z", None, None, None, None, None, "true"],
            ["u3", "yesterday", None, None, None, None, None, "true"],
            ["u4", "2025-06-02T00:00:00.000001Z", None, None, None, None, None, "true"],
            ["u5", "2025-01-01T00:00:00Z", None, None, None, None, None, "maybe"],
        ],
        list(ref.COLUMNS["users"]),
    )
    orders = _frame(
        [
            ["o1", "u1", "2025-02-01T00:00:00Z", "2025-02-01T00:01:00Z", "paid", "10", None, "EUR"],
            ["o2", "u1", "2025-02-01T00:00:00Z", None, "paid", "12,50", None, "EUR"],
            ["o3", "u1", "2025-02-01T00:00:00Z", None, "paid", "-1", None, "EUR"],
            ["o4", "u1", "2025-02-01T00:00:00Z", None, "lost", "1", None, "EUR"],
            ["o5", "u1", "2025-02-01T00:00:00Z", None, None, "1", None, "EUR"],
            ["o6", "u9", "2025-02-01T00:00:00Z", None, "PAID", "1", "0", "EUR"],
        ],
        list(ref.COLUMNS["orders"]),
    )
    order_items = _frame(
        [["o1", "1", "p", "c", "1", "10"], ["o2", "1", "p", "c", "1", "12.50"]],
        list(ref.COLUMNS["order_items"]),
    )
    touchpoints = _frame(
        [
            [
                "t1",
                "u1",
                None,
                "2025-03-01T00:00:00Z",
                "product_view",
                None,
                None,
                None,
                "5",
                '{"a": 1}',
            ],
            [
                "t2",
                None,
                None,
                "2025-03-01T00:00:00Z",
                "product_view",
                None,
                None,
                None,
                None,
                None,
            ],
            [
                "t3",
                None,
                "anon",
                "2025-03-01T00:00:00Z",
                "page_view",
                None,
                None,
                None,
                None,
                "{broken",
            ],
        ],
        list(ref.COLUMNS["touchpoints"]),
    )
    spend = _frame(
        [["2025-03-01", "paid_search", None, "10.5", "100", "3"]],
        list(ref.COLUMNS["marketing_spend"]),
    )
    nps = _frame(
        [
            ["r1", "u1", "2025-03-01T00:00:00Z", "11", None],
            ["r2", "u1", "2025-03-02T00:00:00Z", "10", 'great, "really"'],
        ],
        list(ref.COLUMNS["nps_responses"]),
    )
    experiments = _frame(
        [["e1", "u1", "control", "2025-03-01T00:00:00Z"]],
        list(ref.COLUMNS["experiment_assignments"]),
    )
    return {
        "users": users,
        "touchpoints": touchpoints,
        "orders": orders,
        "order_items": order_items,
        "marketing_spend": spend,
        "nps_responses": nps,
        "experiment_assignments": experiments,
    }


def test_validate_rejects_each_reason_once():
    staged, rejected = ref.validate(_tiny_raw(), now=NOW)
    assert list(rejected.columns) == ["source", "record_key", "reason"]
    assert sorted(rejected["reason"]) == sorted(ref.REASONS)
    assert _rejections(rejected) == [
        ("users", " ", "null key"),
        ("users", "u1", "duplicate key"),
        ("users", "u3", "unparseable timestamp"),
        ("users", "u4", "future timestamp"),
        ("users", "u5", "invalid boolean"),
        ("orders", "o2", "unparseable number"),
        ("orders", "o3", "negative amount"),
        ("orders", "o4", "unknown status"),
        ("orders", "o5", "missing value"),
        ("orders", "o6", "unknown user"),
        ("order_items", "o2|1", "unknown order"),
        ("touchpoints", "t2", "no identity"),
        ("nps_responses", "r1", "score out of range"),
    ]
    assert list(staged["users"]["user_id"]) == ["u1", "u2"]
    assert list(staged["users"]["consent_analytics"]) == [True, False]
    assert list(staged["orders"]["order_id"]) == ["o1"]
    assert list(staged["touchpoints"]["touchpoint_id"]) == ["t1", "t3"]
    assert list(staged["touchpoints"]["properties_is_valid_json"]) == [True, False]
    assert staged["touchpoints"]["properties"].isna().tolist() == [False, True]
    assert staged["marketing_spend"]["spend_date"].tolist() == [dt.date(2025, 3, 1)]
    assert staged["nps_responses"]["score"].tolist() == [10]
    assert str(staged["orders"]["created_at"].dtype) == "datetime64[us]"
    assert ref.consenting_users(staged)["user_id"].tolist() == ["u1"]


def test_validate_first_failing_rule_wins_and_composite_keys():
    raw = _tiny_raw()
    # A row failing several rules gets the first one in the contract's order; a duplicate of a
    # row that was itself rejected later (unknown user) is still a duplicate.
    raw["orders"] = _frame(
        [
            ["o1", "u1", "not a time", None, "bogus", "-1", None, None],
            ["o7", "u9", "2025-02-01T00:00:00Z", None, "paid", "1", None, None],
            ["o7", "u1", "2025-02-01T00:00:00Z", None, "paid", "1", None, None],
        ],
        list(ref.COLUMNS["orders"]),
    )
    raw["order_items"] = _frame([], list(ref.COLUMNS["order_items"]))
    raw["marketing_spend"] = _frame(
        [
            ["2025-03-01", "social", None, "1", None, None],
            ["2025-03-01", "social", None, "2", None, None],
            ["2025-03-01", "social", "c1", "3", None, None],
            [None, "social", "c1", "3", None, None],
            ["2025-03-01", "social", "c2", "3", "-1", "x"],
        ],
        list(ref.COLUMNS["marketing_spend"]),
    )
    raw["experiment_assignments"] = _frame(
        [
            ["e1", "u1", "control", "2025-03-01T00:00:00Z"],
            ["e1", "u1", "treatment", "2025-03-01T00:00:00Z"],
            ["e1", "u2", None, "2025-03-01T00:00:00Z"],
        ],
        list(ref.COLUMNS["experiment_assignments"]),
    )
    raw["nps_responses"] = _frame(
        [["r1", "u1", "2025-03-01", "7.5", None], ["r2", "u1", "2025-03-01", None, None]],
        list(ref.COLUMNS["nps_responses"]),
    )
    _, rejected = ref.validate(raw, now=NOW)
    got = [r for r in _rejections(rejected) if r[0] != "users" and r[0] != "touchpoints"]
    assert got == [
        ("orders", "o1", "unparseable timestamp"),
        ("orders", "o7", "unknown user"),
        ("orders", "o7", "duplicate key"),
        ("marketing_spend", "2025-03-01|social|", "duplicate key"),
        ("marketing_spend", "|social|c1", "null key"),
        ("marketing_spend", "2025-03-01|social|c2", "unparseable number"),
        ("nps_responses", "r1", "score out of range"),
        ("nps_responses", "r2", "unparseable number"),
        ("experiment_assignments", "e1|u1", "duplicate key"),
        ("experiment_assignments", "e1|u2", "missing value"),
    ]


def test_validate_missing_column_names_file_and_column():
    raw = _tiny_raw()
    raw["users"] = raw["users"].drop(columns=["consent_analytics"])
    with pytest.raises(ref.RawDataError, match=r"users.*consent_analytics"):
        ref.validate(raw, now=NOW)


def test_load_raw_parquet_wins_and_is_read_as_text(tmp_path):
    for path in FUNNEL_EDGES.glob("*.csv"):
        if not path.name.startswith("expected"):
            (tmp_path / path.name).write_text(path.read_text())
    table = pa.table(
        {
            "user_id": pa.array([1, 2], pa.int64()),
            "signed_up_at": pa.array(["2025-01-01T00:00:00Z", "2025-01-02 08:00:00+08:00"]),
            "acquisition_channel": pa.array(["organic", None]),
            "device_type": pa.array([None, None], pa.null()),
            "city": pa.array([None, None], pa.null()),
            "email": pa.array([None, None], pa.null()),
            "phone": pa.array([None, None], pa.null()),
            "consent_analytics": pa.array([True, False]),
            "extra": pa.array([1.5, 2.5]),
        }
    )
    pq.write_table(table, tmp_path / "users.parquet")
    raw = ref.load_raw(tmp_path)
    assert raw["users"]["user_id"].tolist() == ["1", "2"]
    assert raw["users"]["consent_analytics"].tolist() == ["true", "false"]
    assert raw["users"]["device_type"].isna().all()
    staged, rejected = ref.validate(raw, now=NOW)
    assert staged["users"]["user_id"].tolist() == ["1", "2"]
    assert staged["users"]["signed_up_at"].tolist() == [
        pd.Timestamp("2025-01-01"),
        pd.Timestamp("2025-01-02"),
    ]
    assert "extra" not in staged["users"].columns
    # every touchpoint / order row now belongs to an unknown user: orders are rejected
    assert ("orders", "o-f01", "unknown user") in _rejections(rejected)

    (tmp_path / "nps_responses.csv").unlink()
    with pytest.raises(ref.RawDataError, match="nps_responses"):
        ref.load_raw(tmp_path)


def test_csv_only_empty_is_null(tmp_path):
    (tmp_path / "x.csv").write_text('a,b\nNA,""\nnull,\n')
    frame = ref._read_csv_as_text(tmp_path / "x.csv")
    assert frame["a"].tolist() == ["NA", "null"]
    assert frame["b"].isna().all()


# ---------------------------------------------------------------------------------------------
# Funnel
# ---------------------------------------------------------------------------------------------


def test_funnel_edges_rejections(funnel_staged):
    _, rejected = funnel_staged
    assert _rejections(rejected) == [
        ("users", "f16_rejected_user", "invalid boolean"),
        ("touchpoints", "tp-f12-3", "duplicate key"),
        ("touchpoints", "tp-f12-4", "unparseable timestamp"),
        ("touchpoints", "tp-f12-5", "negative amount"),
    ]


def test_funnel_levels_match_hand_expectation(funnel_staged):
    staged, _ = funnel_staged
    levels = ref.funnel_levels(ref.consented_touchpoints(staged))
    expected = pd.read_csv(FUNNEL_EDGES / "expected_funnel_levels.csv", dtype=str)
    got = pd.DataFrame(
        {
            "user_id": levels["user_id"].tolist(),
            "entry_date": _iso(levels["entry_date"]),
            "level": levels["level"].astype(str).tolist(),
        }
    )
    keys = ["user_id", "entry_date"]
    pd.testing.assert_frame_equal(
        got.sort_values(keys).reset_index(drop=True),
        expected.sort_values(keys).reset_index(drop=True),
        check_dtype=False,
    )
    assert list(levels.columns) == [
        "user_id",
        "entry_date",
        "level",
        *[f"seconds_to_step_{i}" for i in range(1, 6)],
    ]
    assert str(levels["level"].dtype) == "int64"


def test_funnel_seconds_hand_worked(funnel_staged):
    staged, _ = funnel_staged
    levels = ref.funnel_levels(ref.consented_touchpoints(staged))
    by_key = {(r.user_id, r.entry_date.isoformat()): r for r in levels.itertuples()}
    expected = {
        # 10:00:00.123456 -> 10:05:00, 03-05 12:00, 03-08 09:00, 03-10 10:00:00.123456
        ("f01_boundary_exact", "2025-03-03"): [0, 299.876544, 179999.876544, 428399.876544, 604800],
        ("f06_repeated", "2025-03-05"): [0, 120, 300, None, None],
        # the chosen start is PV 23:00, not the day's first PV
        ("f07_restart", "2025-03-06"): [0, 1800, 565200, 567000, None],
        ("f08_two_days", "2025-03-10"): [0, 3600, 10800, 18000, 25200],
        ("f08_two_days", "2025-03-11"): [0, 7200, None, None, None],
        ("f09_midnight", "2025-03-14"): [0, 0.000001, 0.000002, None, None],
        ("f10_offset_plus8", "2025-03-16"): [0, 900, 1200, 1800, None],
        ("f12_noise", "2025-03-20"): [0, 119.5, None, None, None],
    }
    for key, seconds in expected.items():
        row = by_key[key]
        for i, value in enumerate(seconds, start=1):
            got = getattr(row, f"seconds_to_step_{i}")
            if value is None:
                assert math.isnan(got), (key, i)
            else:
                assert got == pytest.approx(value, abs=1e-9), (key, i)


def test_funnel_conversion_hand_worked(funnel_staged):
    staged, _ = funnel_staged
    conv = ref.funnel_conversion(staged)
    # 14 (entry_date, channel, device) combinations x 5 steps; f05 and f06 share one; the
    # anonymous actor anon:anon-1 and the stitched f20 add one each
    assert len(conv) == 5 * 14
    anonymous = conv[conv["acquisition_channel"] == "(anonymous)"]
    assert anonymous["device_type"].unique().tolist() == ["(anonymous)"]
    assert anonymous["users"].tolist() == [1, 1, 1, 1, 1]
    group = conv[(conv["entry_date"] == dt.date(2025, 3, 5))]
    assert group[["acquisition_channel", "device_type"]].drop_duplicates().values.tolist() == [
        ["social", "desktop"]
    ]
    assert group["funnel_name"].unique().tolist() == ["purchase"]
    assert group["step_number"].tolist() == [1, 2, 3, 4, 5]
    assert group["step_name"].tolist() == list(ref.DEFAULT_FUNNEL_STEPS)
    assert group["users"].tolist() == [2, 2, 1, 0, 0]
    np.testing.assert_allclose(group["conversion_from_previous"], [1, 1, 0.5, 0, np.nan])
    np.testing.assert_allclose(group["conversion_from_start"], [1, 1, 0.5, 0, 0])
    np.testing.assert_allclose(group["median_seconds_from_entry"], [0, 90, 300, np.nan, np.nan])
    # null channel / device become '(unknown)'
    f04 = conv[(conv["entry_date"] == dt.date(2025, 3, 4)) & (conv["device_type"] == "(unknown)")]
    assert f04["users"].tolist() == [1, 1, 0, 0, 0]
    f08 = conv[conv["acquisition_channel"] == "(unknown)"]
    assert sorted(set(f08["entry_date"])) == [dt.date(2025, 3, 10), dt.date(2025, 3, 11)]


def _tp(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "occurred_at": pd.to_datetime([r[1] for r in rows]).astype("datetime64[us]"),
            "touchpoint": [r[2] for r in rows],
        }
    )


def test_funnel_repeated_step_names_and_window_param():
    steps = ["a", "b", "a"]
    levels = ref.funnel_levels(
        _tp(
            [
                ("u1", "2025-03-01 10:00", "a"),
                ("u1", "2025-03-01 10:01", "b"),
                ("u1", "2025-03-01 10:02", "a"),
                ("u2", "2025-03-01 10:00", "a"),
                ("u2", "2025-03-01 10:01", "a"),
                ("u2", "2025-03-01 10:02", "b"),
            ]
        ),
        steps,
        window_seconds=3600,
    )
    assert levels[["user_id", "level"]].values.tolist() == [["u1", 3], ["u2", 2]]
    assert levels["seconds_to_step_3"].tolist()[0] == 120.0
    # window of 60 s: 10:01 is exactly on the boundary, 10:02 is past it
    short = ref.funnel_levels(
        _tp(
            [
                ("u1", "2025-03-01 10:00", "a"),
                ("u1", "2025-03-01 10:01", "b"),
                ("u1", "2025-03-01 10:02", "a"),
            ]
        ),
        steps,
        window_seconds=60,
    )
    assert short["level"].tolist() == [2]


def _brute_force_level(
    events: list[tuple[int, str]], steps: list[str], start: int, window: int
) -> int:
    """Enumerate every subsequence of events as a candidate chain (exponential, tiny inputs)."""
    t1 = events[start][0]
    later = [e for e in events if t1 < e[0] <= t1 + window]
    best = 1
    for size in range(1, len(steps)):
        for combo in itertools.combinations(sorted(later), size):
            times = [t1, *[c[0] for c in combo]]
            names = [c[1] for c in combo]
            if names == steps[1 : size + 1] and all(x < y for x, y in itertools.pairwise(times)):
                best = max(best, size + 1)
    return best


def test_funnel_levels_against_brute_force():
    rng = random.Random(20250301)
    steps = ["s1", "s2", "s3", "s4"]
    base = pd.Timestamp("2025-03-01 23:00:00")
    for trial in range(150):
        n = rng.randint(1, 9)
        events = sorted(
            (rng.randint(0, 7200) * 1_000_000 + rng.choice([0, 0, 1]), rng.choice(steps + ["x"]))
            for _ in range(n)
        )
        window = rng.choice([600, 1800, 3600]) * 1_000_000
        frame = pd.DataFrame(
            {
                "user_id": ["u"] * n,
                "occurred_at": [base + pd.Timedelta(microseconds=t) for t, _ in events],
                "touchpoint": [name for _, name in events],
            }
        )
        frame["occurred_at"] = frame["occurred_at"].astype("datetime64[us]")
        got = ref.funnel_levels(frame, steps, window_seconds=window / 1_000_000)
        expected: dict[dt.date, int] = {}
        for i, (t, name) in enumerate(events):
            if name == "s1":
                day = (base + pd.Timedelta(microseconds=t)).date()
                level = _brute_force_level(events, steps, i, window)
                expected[day] = max(expected.get(day, 0), level)
        assert dict(zip(got["entry_date"], got["level"], strict=True)) == expected, trial


def test_funnel_levels_empty_input():
    out = ref.funnel_levels(_tp([]))
    assert out.empty
    assert "seconds_to_step_5" in out.columns


# ---------------------------------------------------------------------------------------------
# Cohorts
# ---------------------------------------------------------------------------------------------


def test_cohorts_small_rejections_and_cutoff(cohort_staged):
    staged, rejected = cohort_staged
    assert _rejections(rejected) == [
        ("orders", "o07", "duplicate key"),
        ("orders", "o20", "unknown user"),
        ("order_items", "o20|1", "unknown order"),
    ]
    assert ref.resolve_cutoff(staged) == pd.Timestamp("2025-04-29 10:00:00")
    assert ref.resolve_cutoff(staged, "2025-04-05") == pd.Timestamp("2025-04-05 23:59:59.999999")
    assert ref.resolve_cutoff(staged, dt.date(2025, 4, 5)) == pd.Timestamp(
        "2025-04-05 23:59:59.999999"
    )
    assert ref.resolve_cutoff(staged, "2025-04-05T12:00:00+02:00") == pd.Timestamp(
        "2025-04-05 10:00:00"
    )


def _compare_csv(got: pd.DataFrame, path: Path, money: list[str]) -> None:
    expected = pd.read_csv(path, dtype=str)
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected)
    assert _iso(got["cohort_month"]) == expected["cohort_month"].tolist()
    for col in expected.columns:
        if col == "cohort_month":
            continue
        if col in money or col.endswith("rate"):
            np.testing.assert_allclose(got[col], expected[col].astype(float), atol=TOL)
        else:
            assert got[col].tolist() == expected[col].astype(int).tolist(), col


def test_cohort_retention_matches_hand_expectation(cohort_staged):
    staged, _ = cohort_staged
    got = ref.cohort_retention(staged)
    _compare_csv(got, COHORTS_SMALL / "expected_cohort_retention.csv", [])
    assert got.dtypes.astype(str).tolist() == ["object", "int64", "int64", "int64", "float64"]


def test_cohort_ltv_matches_hand_expectation(cohort_staged):
    staged, _ = cohort_staged
    got = ref.cohort_ltv(staged)
    _compare_csv(
        got,
        COHORTS_SMALL / "expected_cohort_ltv.csv",
        ["revenue", "cumulative_revenue", "ltv_per_customer"],
    )


def test_cohorts_with_explicit_cutoff(cohort_staged):
    staged, _ = cohort_staged
    early = ref.cohort_retention(staged, cutoff="2025-04-05")
    assert [
        (m.isoformat(), k, a)
        for m, k, a in zip(
            early["cohort_month"],
            early["months_since_first_order"],
            early["active_customers"],
            strict=True,
        )
    ] == [
        ("2025-01-01", 0, 2),
        ("2025-01-01", 1, 1),
        ("2025-01-01", 2, 0),
        ("2025-01-01", 3, 1),
        ("2025-02-01", 0, 2),
        ("2025-02-01", 1, 0),
        ("2025-02-01", 2, 0),
        ("2025-03-01", 0, 1),
        ("2025-03-01", 1, 0),
    ]
    late = ref.cohort_ltv(staged, cutoff="2025-05-31")
    assert len(late) == 14
    may = late[late["months_since_first_order"] + late["cohort_month"].map(lambda d: d.month) == 5]
    assert len(may) == 4
    assert (may["revenue"] == 0).all()
    np.testing.assert_allclose(may["cumulative_revenue"], [250.10, 270.00, 50.00, 25.99])


def test_customers_and_rfm_on_cohorts_small(cohort_staged):
    staged, _ = cohort_staged
    got = ref.customers(staged)
    assert got["user_id"].tolist() == ["c1", "c2", "c3", "c4", "c6", "c8"]
    assert got["orders"].tolist() == [3, 1, 2, 2, 2, 1]
    np.testing.assert_allclose(got["net_revenue"], [170.10, 80, 80, 190, 50, 25.99], atol=TOL)
    np.testing.assert_allclose(got["avg_order_value"], [56.70, 80, 40, 95, 25, 25.99], atol=TOL)
    assert _iso(got["cohort_month"]) == [
        "2025-01-01",
        "2025-01-01",
        "2025-02-01",
        "2025-02-01",
        "2025-03-01",
        "2025-04-01",
    ]
    assert got.loc[1, "first_order_at"] == pd.Timestamp("2025-01-31 23:00:00")
    assert got["recency_score"].tolist() == [3, 1, 1, 4, 2, 5]
    assert got["frequency_score"].tolist() == [5, 1, 2, 3, 4, 1]
    assert got["monetary_score"].tolist() == [4, 2, 3, 5, 1, 1]
    assert got["rfm_segment"].tolist() == ["Loyal", "Lost", "At risk", "Loyal", "At risk", "New"]
    assert got.loc[5, "device_type"] is None
    assert str(got["last_order_at"].dtype) == "datetime64[us]"


# ---------------------------------------------------------------------------------------------
# RFM
# ---------------------------------------------------------------------------------------------


def test_quintile_scores_seven_with_ties():
    users = pd.Series(["u1", "u2", "u3", "u4", "u5", "u6", "u7"])
    metric = pd.Series([3, 1, 2, 1, 5, 2, 1])
    # sorted by (metric, user_id): u2 u4 u7 | u3 u6 | u1 | u5 -> ranks 1..7
    # score = floor((r-1)*5/7)+1 -> 1 1 2 3 3 4 5
    scores = ref.quintile_scores(metric, users)
    assert dict(zip(users, scores, strict=True)) == {
        "u2": 1,
        "u4": 1,
        "u7": 2,
        "u3": 3,
        "u6": 3,
        "u1": 4,
        "u5": 5,
    }


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, [1]),
        (3, [1, 2, 4]),
        (5, [1, 2, 3, 4, 5]),
        (6, [1, 1, 2, 3, 4, 5]),
        (10, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]),
    ],
)
def test_quintile_scores_by_rank(n, expected):
    users = pd.Series([f"u{i:02d}" for i in range(n)])
    # all tied: the order is the user_id order
    assert ref.quintile_scores(pd.Series([7.0] * n), users).tolist() == expected


def test_quintile_scores_timestamps_later_is_better():
    users = pd.Series(["b", "a", "c"])
    last = pd.Series(pd.to_datetime(["2025-03-01", "2025-03-01", "2025-01-01"]))
    assert ref.quintile_scores(last, users).tolist() == [4, 2, 1]


SEGMENT_MAP = {
    5: ["New", "Potential loyalist", "Potential loyalist", "Champions", "Champions"],
    4: ["Promising", "Potential loyalist", "Potential loyalist", "Loyal", "Champions"],
    3: ["Hibernating", "Need attention", "Need attention", "Loyal", "Loyal"],
    2: ["Hibernating", "Hibernating", "At risk", "At risk", "Can't lose"],
    1: ["Lost", "Lost", "At risk", "At risk", "Can't lose"],
}


@pytest.mark.parametrize(("r", "fm"), list(itertools.product(range(1, 6), range(1, 6))))
def test_segment_map_every_cell(r, fm):
    assert ref.segment_for(r, fm) == SEGMENT_MAP[r][fm - 1]


def test_rfm_segment_uses_ceil_of_fm_average():
    assert ref.fm_score(1, 1) == 1
    assert ref.fm_score(1, 2) == 2
    assert ref.fm_score(2, 3) == 3
    assert ref.fm_score(4, 5) == 5
    for r, f, m in itertools.product(range(1, 6), repeat=3):
        assert ref.rfm_segment(r, f, m) == SEGMENT_MAP[r][math.ceil((f + m) / 2) - 1]
    assert ref.rfm_segment(5, 1, 2) == "Potential loyalist"
    assert ref.rfm_segment(4, 4, 5) == "Champions"
    assert ref.rfm_segment(2, 5, 4) == "Can't lose"
