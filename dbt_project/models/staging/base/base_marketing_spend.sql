-- Every raw marketing spend row, typed and validated. A null campaign is its own campaign.
with

source as (
    select * from {{ read_raw('marketing_spend') }}
),

parsed as (
    select
        *,
        {{ parse_date('spend_date') }} as spend_date_value,
        {{ parse_money('spend') }} as spend_value,
        {{ parse_integer('impressions') }} as impressions_value,
        {{ parse_integer('clicks') }} as clicks_value,
        {{ key_occurrence(['spend_date', 'channel', 'campaign']) }} as key_occurrence
    from source
),

validated as (
    select
        *,
        case
            when {{ blank_to_null('spend_date') }} is null
                or {{ blank_to_null('channel') }} is null then 'null key'
            when key_occurrence > 1 then 'duplicate key'
            when spend_date_value is null then 'unparseable timestamp'
            when {{ is_in_future('cast(spend_date_value as ' ~ dbt.type_timestamp() ~ ')') }}
                then 'future timestamp'
            when spend_value is null
                or (impressions is not null and impressions_value is null)
                or (clicks is not null and clicks_value is null) then 'unparseable number'
            when spend_value < 0 or impressions_value < 0 or clicks_value < 0
                then 'negative amount'
        end as rejection_reason
    from parsed
),

final as (
    select
        spend_date_value as spend_date,
        channel,
        campaign,
        spend_value as spend,
        impressions_value as impressions,
        clicks_value as clicks,
        _source_row_number,
        {{ quarantine_columns(
            'rejection_reason',
            ['spend_date', 'channel', 'campaign'],
            ['spend_date', 'channel', 'campaign', 'spend', 'impressions', 'clicks']
        ) }}
    from validated
)

select * from final
