"""Python scoring assets: thin wrappers that read an intermediate model, call a scoring function
from ``touchpoint_alchemy.scoring`` and write the result to the ``scoring`` schema, which the
marts read back through the dbt source ``scoring``.

pandas, pyarrow and the scoring code are imported inside the assets, so loading the code
location stays fast.
"""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from orchestration.assets.dbt import model_asset_key, source_asset_keys
from orchestration.resources import WarehouseResource
from orchestration.retries import TRANSIENT_RETRY, fail_fast_unless_transient
from orchestration.translator import OWNER

# scoring table name -> asset key of the dbt source table the marts read
SCORING_KEYS = source_asset_keys("scoring")
CUSTOMER_ORDERS = model_asset_key("int_customer_orders")
ATTRIBUTION_PATHS = model_asset_key("int_attribution_paths")
# The per-channel removal effects go to a table beside the credits, in the same schema.
MARKOV_EFFECTS_TABLE = "markov_channel_effects"


@asset(
    key=SCORING_KEYS["customer_rfm"],
    deps=[CUSTOMER_ORDERS],
    group_name="scoring",
    owners=[OWNER],
    retry_policy=TRANSIENT_RETRY,
    kinds={"python", "pandas", "duckdb"},
    description=(
        "RFM quintile scores (1-5) and segment per customer, computed in Python by "
        "touchpoint_alchemy.scoring.rfm from intermediate.int_customer_orders."
    ),
)
@fail_fast_unless_transient
def customer_rfm(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    import pyarrow as pa

    from touchpoint_alchemy.scoring.rfm import score_rfm

    customers = warehouse.read_table(*CUSTOMER_ORDERS.path).to_pandas()
    scored = score_rfm(customers)
    schema = pa.schema(
        [
            ("user_id", pa.string()),
            ("recency_score", pa.int32()),
            ("frequency_score", pa.int32()),
            ("monetary_score", pa.int32()),
            ("rfm_score", pa.string()),
            ("rfm_segment", pa.string()),
        ]
    )
    warehouse.write_table(
        *SCORING_KEYS["customer_rfm"].path,
        pa.Table.from_pandas(scored, schema=schema, preserve_index=False),
    )
    segments = scored["rfm_segment"].value_counts().sort_index()
    table = "| segment | customers |\n|---|---|\n" + "\n".join(
        f"| {name} | {count} |" for name, count in segments.items()
    )
    return MaterializeResult(
        metadata={
            "dagster/row_count": len(scored),
            "segments": MetadataValue.md(table),
        }
    )


@asset(
    key=SCORING_KEYS["markov_attribution"],
    deps=[ATTRIBUTION_PATHS],
    group_name="scoring",
    owners=[OWNER],
    retry_policy=TRANSIENT_RETRY,
    kinds={"python", "pandas", "numpy", "duckdb"},
    description=(
        "Markov-chain attribution, computed in Python by touchpoint_alchemy.scoring.markov from "
        "intermediate.int_attribution_paths: each purchase's conversion split over the channels "
        "of its path by removal effect (exact absorbing-chain probabilities). Also writes the "
        f"per-channel removal effects to scoring.{MARKOV_EFFECTS_TABLE}."
    ),
)
@fail_fast_unless_transient
def markov_attribution(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> MaterializeResult:
    import pyarrow as pa

    from touchpoint_alchemy.scoring.markov import PATH_COLUMNS
    from touchpoint_alchemy.scoring.markov import markov_attribution as attribute

    # only the columns the chain needs: the path table is about a third of the touchpoints, and
    # its touchpoint and actor ids would double the frame (50M touchpoints: 15M path rows)
    paths = warehouse.read_table(*ATTRIBUTION_PATHS.path, columns=PATH_COLUMNS).to_pandas()
    credits, effects = attribute(paths)
    schema_name, table_name = SCORING_KEYS["markov_attribution"].path[-2:]
    credit_schema = pa.schema(
        [
            ("order_id", pa.string()),
            ("channel", pa.string()),
            ("credited_conversions", pa.float64()),
        ]
    )
    effect_schema = pa.schema(
        [
            ("channel", pa.string()),
            ("removal_effect", pa.float64()),
            ("share", pa.float64()),
            ("conversion_probability", pa.float64()),
            ("conversion_probability_without", pa.float64()),
        ]
    )
    warehouse.write_table(
        schema_name,
        table_name,
        pa.Table.from_pandas(credits, schema=credit_schema, preserve_index=False),
    )
    warehouse.write_table(
        schema_name,
        MARKOV_EFFECTS_TABLE,
        pa.Table.from_pandas(effects, schema=effect_schema, preserve_index=False),
    )
    table = "| channel | removal effect | share |\n|---|---|---|\n" + "\n".join(
        f"| {row.channel} | {row.removal_effect:.4f} | {row.share:.2%} |"
        for row in effects.sort_values("share", ascending=False).itertuples()
    )
    probability = float(effects["conversion_probability"].iloc[0]) if len(effects) else 0.0
    return MaterializeResult(
        metadata={
            "dagster/row_count": len(credits),
            "conversion_probability": MetadataValue.float(probability),
            "converting_journeys": int(credits["order_id"].nunique()),
            "channel_effects": MetadataValue.md(table),
        }
    )
