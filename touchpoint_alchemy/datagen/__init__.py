"""Deterministic demo-data generator for Touchpoint Alchemy.

Writes the seven raw files of ``docs/raw_data_contract.md`` (users, touchpoints, orders,
order_items, marketing_spend, nps_responses, experiment_assignments) as CSV or Parquet::

    python -m touchpoint_alchemy.datagen --out seeds --users 2000 --seed 42 --format csv
    python -m touchpoint_alchemy.datagen --out data/raw/scale_200k --users 200000 --format parquet

or ``generate(out_dir, users=2000, seed=42, fmt="csv", start="2025-01-01", days=365)``. The
same arguments give byte-identical files. Modules: :mod:`.people` (users), :mod:`.visits`
(the visits), :mod:`.journeys` (touchpoints), :mod:`.pages` (their pages and properties),
:mod:`.commerce` (catalogue, orders, items), :mod:`.marketing` (campaigns and spend),
:mod:`.feedback` (NPS, experiments), :mod:`.bad_rows` (the planted bad rows, one list),
:mod:`.writer` (schemas, CSV/Parquet), :mod:`.core` (batching).

Facts seeded on purpose, which downstream analyses can look for:

- Visit funnel ``product_view -> add_to_cart -> checkout_start -> payment_submit ->
  payment_success`` continues at about 35% / 55% / 70% / 85% (30-minute sessions).
- Users who reach checkout but never pay view ``view_delivery_info`` ~4 times on average;
  buyers well under once.
- Repeat purchases: about a third of a first-purchase cohort buys again the next month, falling
  towards ~10% after half a year.
- ``checkout_button_color``: treatment converts better (~+20% relative); ``free_shipping_banner``
  (signups March to August) has no effect.
- Activity peaks 19:00-22:00 local time; Chinese cities are UTC+08:00.
- Every order is in USD: the warehouse reports in one currency (DECISIONLOG.md).
- Every ``payment_success`` touchpoint's properties carry the ``order_id`` it created.

This package stands alone: it imports nothing from ``orchestration``.
"""

from .core import generate

__all__ = ["generate"]
