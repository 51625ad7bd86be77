-- The table scoring.markov_attribution as its Python asset wrote it: the columns declared in the
-- source, in their declared order. The marts read scores only through these views.
select
    {{ scoring_columns('markov_attribution') }}
from {{ source('scoring', 'markov_attribution') }}
