"""Python scoring assets: thin wrappers that read an intermediate model, call a scoring function
from ``touchpoint_alchemy.scoring`` and write the result to the ``scoring`` schema, which the
marts read back through the dbt source ``scoring``.

pandas, pyarrow and the scoring code are imported inside the assets, so loading the code
location stays fast.
"""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset
from dagster_dbt import get_asset_key_for_model, get_asset_keys_by_output_name_for_source

from orchestration.assets.dbt import warehouse_dbt_assets
from orchestration.resources import WarehouseResource
from orchestration.translator import OWNER

# scoring table name -> asset key of the dbt source table the marts read
SCORING_KEYS = {
    key.path[-1]: key
    for key in get_asset_keys_by_output_name_for_source([warehouse_dbt_assets], "scoring").values()
}
CUSTOMER_ORDERS = get_asset_key_for_model([warehouse_dbt_assets], "int_customer_orders")


@asset(
    key=SCORING_KEYS["customer_rfm"],
    deps=[CUSTOMER_ORDERS],
    group_name="scoring",
    owners=[OWNER],
    kinds={"python", "pandas", "duckdb"},
    description=(
        "RFM quintile scores (1-5) and segment per customer, computed in Python by "
        "touchpoint_alchemy.scoring.rfm from intermediate.int_customer_orders."
    ),
)
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
