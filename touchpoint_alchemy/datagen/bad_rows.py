"""The deliberately bad (and deliberately odd) rows planted in every generated data set.

This is the single list of them. Each row is appended after the generated rows of its file and
names the reason the warehouse must give when it quarantines the row (see the reasons table in
``docs/raw_data_contract.md``). Rows whose ``reason`` is ``None`` are odd but valid: they must be
staged, untouched, and never rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PlantedRow:
    """One planted row: the file it goes to, the expected rejection reason, its values."""

    file: str
    reason: str | None
    row: dict[str, Any]


@dataclass(frozen=True)
class PlantContext:
    """Facts about the generated data that planted rows refer to."""

    n_users: int
    n_touchpoints: int
    n_orders: int
    n_responses: int
    anon_id_of_first_user: str
    first_spend_key: tuple[str, str, str]
    mid_ts: str  # a valid timestamp inside the period, e.g. 2025-07-02T12:00:00Z
    first_user_ts: str  # a valid timestamp shortly after u_000001 signed up
    mid_date: str  # a valid date inside the period

    @property
    def unknown_user(self) -> str:
        """A user id that no generated user has."""
        return "u_999999" if self.n_users < 900_000 else f"u_{self.n_users + 100_000}"

    def fresh_user(self, k: int) -> str:
        """The k-th user id past every generated one (used for rejected user rows)."""
        return f"u_{max(900_000, self.n_users) + k:06d}"

    def touchpoint(self, k: int) -> str:
        return f"t_{self.n_touchpoints + k:08d}"

    def order(self, k: int) -> str:
        return f"o_{self.n_orders + k:07d}"

    @property
    def unknown_order(self) -> str:
        return "o_9999999" if self.n_orders < 9_000_000 else f"o_{self.n_orders + 1_000_000}"

    def response(self, k: int) -> str:
        return f"r_{self.n_responses + k:06d}"


def planted_rows(ctx: PlantContext) -> list[PlantedRow]:
    """All planted rows, in the order they are appended to their files."""
    ts, day = ctx.first_user_ts, ctx.mid_date
    anon = ctx.anon_id_of_first_user
    user = {
        "acquisition_channel": "organic",
        "device_type": "mobile",
        "city": "Shanghai",
        "email": None,
        "phone": None,
        "consent_analytics": "true",
    }
    tp = {
        "user_id": "u_000001",
        "anonymous_id": anon,
        "occurred_at": ts,
        "touchpoint": "page_view",
        "channel": None,
        "campaign": None,
        "page": "/",
        "dwell_ms": 1200,
        "properties": None,
    }
    order = {
        "user_id": "u_000001",
        "created_at": ts,
        "paid_at": ts,
        "status": "delivered",
        "amount": 25.0,
        "discount": 0.0,
        "currency": "USD",
    }
    item = {"product_id": "p_1", "category": "books", "quantity": 1, "unit_price": 9.99}
    spend = {"spend": 10.0, "impressions": 1000, "clicks": 20}
    nps = {"user_id": "u_000001", "responded_at": ts, "score": 8, "comment": None}
    exp = {"variant": "treatment", "assigned_at": ts}
    d_date, d_channel, d_campaign = ctx.first_spend_key
    return [
        # --- users ---------------------------------------------------------------------------
        PlantedRow("users", "null key", {**user, "user_id": None, "signed_up_at": ctx.mid_ts}),
        PlantedRow(
            "users",
            "duplicate key",  # same id as a generated user, other values
            {
                **user,
                "user_id": "u_000002",
                "signed_up_at": ctx.mid_ts,
                "city": "Atlantis",
                "email": "duplicate.user@example.com",
            },
        ),
        PlantedRow(
            "users",
            "unparseable timestamp",
            {**user, "user_id": ctx.fresh_user(1), "signed_up_at": "not-a-date"},
        ),
        PlantedRow(
            "users",
            "future timestamp",
            {**user, "user_id": ctx.fresh_user(2), "signed_up_at": "2099-01-01T00:00:00Z"},
        ),
        PlantedRow(
            "users",
            "invalid boolean",
            {
                **user,
                "user_id": ctx.fresh_user(3),
                "signed_up_at": ctx.mid_ts,
                "consent_analytics": "maybe",
            },
        ),
        # --- touchpoints ---------------------------------------------------------------------
        PlantedRow("touchpoints", "null key", {**tp, "touchpoint_id": None}),
        PlantedRow(
            "touchpoints",
            "duplicate key",  # t_00000005 exists, this is the second one
            {
                **tp,
                "touchpoint_id": "t_00000005",
                "touchpoint": "search",
                "page": "/search?q=duplicate",
            },
        ),
        PlantedRow(
            "touchpoints",
            "unparseable timestamp",
            {**tp, "touchpoint_id": ctx.touchpoint(1), "occurred_at": "2025-13-45T99:00:00Z"},
        ),
        PlantedRow(
            "touchpoints",
            "future timestamp",
            {**tp, "touchpoint_id": ctx.touchpoint(2), "occurred_at": "2099-06-01T12:00:00Z"},
        ),
        PlantedRow(
            "touchpoints",
            "no identity",
            {**tp, "touchpoint_id": ctx.touchpoint(3), "user_id": None, "anonymous_id": None},
        ),
        PlantedRow(
            "touchpoints",
            "negative amount",  # dwell_ms below zero
            {**tp, "touchpoint_id": ctx.touchpoint(4), "dwell_ms": -500},
        ),
        # odd but valid: invalid JSON keeps the row (properties_is_valid_json = false)
        PlantedRow(
            "touchpoints",
            None,
            {**tp, "touchpoint_id": ctx.touchpoint(5), "properties": '{"broken": '},
        ),
        # odd but valid: SQL-looking text with quotes in campaign and page
        PlantedRow(
            "touchpoints",
            None,
            {
                **tp,
                "touchpoint_id": ctx.touchpoint(6),
                "channel": "social",
                "campaign": "'; DROP TABLE users; --",
                "page": '/search?q=Robert"); --',
            },
        ),
        # odd but valid: a comma and a newline inside quoted fields
        PlantedRow(
            "touchpoints",
            None,
            {
                **tp,
                "touchpoint_id": ctx.touchpoint(7),
                "channel": "email",
                "campaign": "summer, sale\nsecond line",
                "page": "/promo/summer,sale",
                "properties": '{"note": "a, b \\"quoted\\""}',
            },
        ),
        # --- orders --------------------------------------------------------------------------
        PlantedRow(
            "orders", "negative amount", {**order, "order_id": ctx.order(1), "amount": -25.0}
        ),
        PlantedRow(
            "orders", "unknown status", {**order, "order_id": ctx.order(2), "status": "teleported"}
        ),
        PlantedRow(
            "orders",
            "unknown user",
            {**order, "order_id": ctx.order(3), "user_id": ctx.unknown_user},
        ),
        PlantedRow(
            "orders",
            "duplicate key",  # o_0000001 exists, this is the second one
            {**order, "order_id": "o_0000001", "amount": 999.99},
        ),
        PlantedRow(
            "orders",
            "unparseable timestamp",
            {**order, "order_id": ctx.order(4), "created_at": "last tuesday"},
        ),
        # --- order_items ---------------------------------------------------------------------
        PlantedRow(
            "order_items",
            "unknown order",
            {**item, "order_id": ctx.unknown_order, "line_number": 1},
        ),
        PlantedRow(
            "order_items",
            "negative amount",  # quantity below zero, on a real order
            {**item, "order_id": "o_0000002", "line_number": 9, "quantity": -2},
        ),
        PlantedRow(
            "order_items",
            "duplicate key",  # (o_0000001, 1) exists
            {**item, "order_id": "o_0000001", "line_number": 1, "unit_price": 1.0},
        ),
        # --- marketing_spend -----------------------------------------------------------------
        PlantedRow(
            "marketing_spend",
            "negative amount",
            {
                **spend,
                "spend_date": day,
                "channel": "social",
                "campaign": "chargeback_adjustment",
                "spend": -120.5,
            },
        ),
        PlantedRow(
            "marketing_spend",
            "duplicate key",  # repeats the first generated key
            {**spend, "spend_date": d_date, "channel": d_channel, "campaign": d_campaign},
        ),
        PlantedRow(
            "marketing_spend",
            "unparseable timestamp",
            {
                **spend,
                "spend_date": "2025-13-01",
                "channel": "email",
                "campaign": "weekly_newsletter",
            },
        ),
        # --- nps_responses -------------------------------------------------------------------
        PlantedRow(
            "nps_responses",
            "score out of range",
            {**nps, "response_id": ctx.response(1), "score": 11},
        ),
        PlantedRow(
            "nps_responses",
            "score out of range",
            {**nps, "response_id": ctx.response(2), "score": -1},
        ),
        PlantedRow(
            "nps_responses",
            "unknown user",
            {**nps, "response_id": ctx.response(3), "user_id": ctx.unknown_user},
        ),
        PlantedRow("nps_responses", "null key", {**nps, "response_id": None}),
        # --- experiment_assignments ----------------------------------------------------------
        PlantedRow(
            "experiment_assignments",
            "unknown user",
            {**exp, "experiment_id": "checkout_button_color", "user_id": ctx.unknown_user},
        ),
        PlantedRow(
            "experiment_assignments",
            "duplicate key",  # every user is in this one
            {
                **exp,
                "experiment_id": "checkout_button_color",
                "user_id": "u_000001",
                "variant": "control",
            },
        ),
        PlantedRow(
            "experiment_assignments",
            "missing value",  # variant is required
            {**exp, "experiment_id": "search_ranking_v2", "user_id": "u_000001", "variant": None},
        ),
    ]
