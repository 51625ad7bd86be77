-- The table scoring.product_recommendations as its Python asset wrote it: the columns declared
-- in the source, in their declared order. The marts read scores only through these views.
select
    {{ scoring_columns('product_recommendations') }}
from {{ source('scoring', 'product_recommendations') }}
