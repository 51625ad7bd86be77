-- The table scoring.customer_clv as its Python asset wrote it: the columns declared in the
-- source, in their declared order. The marts read scores only through these views.
select
    {{ scoring_columns('customer_clv') }}
from {{ source('scoring', 'customer_clv') }}
