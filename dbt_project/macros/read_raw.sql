{#-
    read_raw(name): a relation over the raw file <raw_data_dir>/<name>.parquet, a folder
    <raw_data_dir>/<name>/ of Parquet parts (any depth, e.g. Hive `date=YYYY-MM-DD/` folders),
    or <name>.csv, read in place (never persisted). Every contract column of the `raw` source
    comes back as text, plus `_source_row_number` (1-based position in the file; for a folder,
    part number x 10^12 + position in the part, parts in path order) so "first occurrence" is
    well defined. Extra columns in the file are ignored. A CSV row may be up to 32 MB (DuckDB's
    default is 2 MB; a 10 MB JSON value must not stop a run); the dialect matches
    touchpoint_alchemy.raw_contract.CSV_OPTIONS. The call to source() records the lineage edge
    raw -> model for dbt and Dagster.
-#}
{% macro raw_part_stride() -%}
    {#- _source_row_number of a folder's part: part number x this + position in the part. -#}
    1000000000000
{%- endmacro %}


{% macro read_raw(name) -%}
    {%- set relation = source('raw', name) -%}
    {{- return(adapter.dispatch('read_raw', 'touchpoint_alchemy')(name)) -}}
{%- endmacro %}


{% macro raw_columns(name) -%}
    {#- The contract columns of raw.<name>, in the order of the sources YAML. -#}
    {%- set columns = [] -%}
    {%- if execute -%}
        {%- for node in graph.sources.values() -%}
            {%- if node.source_name == 'raw' and node.name == name -%}
                {%- for column in node.columns -%}
                    {%- do columns.append(column) -%}
                {%- endfor -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if columns | length == 0 -%}
            {{ exceptions.raise_compiler_error("raw source '" ~ name ~ "' declares no columns") }}
        {%- endif -%}
    {%- endif -%}
    {{- return(columns) -}}
{%- endmacro %}


{% macro raw_data_dir() -%}
    {#- The raw folder: the `raw_data_dir` var when one is given (`dbt --vars`), else the
        environment variable RAW_DATA_DIR (a relative path is relative to the repository root,
        the folder above this project; the orchestrated runs set it, absolute, for dbt), else
        ../seeds (the demo data). Read only while dbt executes, never while it parses: the saved
        parse (target/partial_parse.msgpack) then holds for every raw folder, and dbt does not
        parse the project again when the folder changes (DECISIONLOG 91). -#}
    {%- set configured = var('raw_data_dir', none) -%}
    {%- if configured is none or configured | string | trim == '' -%}
        {%- set configured = env_var('RAW_DATA_DIR', '') | trim -%}
        {%- if configured and not configured.startswith('/') -%}
            {%- set configured = '../' ~ configured -%}
        {%- endif -%}
    {%- endif -%}
    {{- return((configured | string) or '../seeds') -}}
{%- endmacro %}


{% macro raw_file_path(name) -%}
    {#- The raw input of <name>: <name>.parquet, else the glob of a folder of Parquet parts,
        else <name>.csv (the order touchpoint_alchemy.raw_contract checks them in). -#}
    {%- if not execute -%}
        {{- return(name ~ '.csv') -}}
    {%- endif -%}
    {%- set directory = raw_data_dir() -%}
    {%- set stem = directory.rstrip('/') ~ '/' ~ name -%}
    {#- [pattern to look for, path to read]: a folder name may hold glob characters -#}
    {%- set pattern = glob_escape(stem) -%}
    {%- for candidate in [
        [pattern ~ '.parquet', stem ~ '.parquet'],
        [pattern ~ '/**/*.parquet', pattern ~ '/**/*.parquet'],
        [pattern ~ '.csv', stem ~ '.csv']
    ] -%}
        {%- set found = run_query("select file from glob(" ~ quote_literal(candidate[0]) ~ ")") -%}
        {%- if found.rows | length > 0 -%}
            {{- return(candidate[1]) -}}
        {%- endif -%}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error(
        "Raw file missing: neither " ~ stem ~ ".parquet, a folder " ~ stem
        ~ "/ of Parquet parts, nor " ~ stem ~ ".csv exists "
        ~ "(raw_data_dir = " ~ directory ~ ")") }}
{%- endmacro %}


{% macro default__read_raw(name) -%}
    {{ exceptions.raise_compiler_error(
        "read_raw has no implementation for adapter " ~ adapter.type()) }}
{%- endmacro %}


{% macro duckdb__read_raw(name) -%}
    {%- set path = raw_file_path(name) -%}
    {%- set columns = raw_columns(name) -%}
    (
        select
            {% for column in columns -%}
            cast({{ adapter.quote(column) }} as varchar) as {{ adapter.quote(column) }},
            {% endfor -%}
            {% if path.endswith('/**/*.parquet') -%}
            parts.part_number * {{ raw_part_stride() }} + raw_rows.file_row_number + 1
                as _source_row_number
        from read_parquet(
            {{ quote_literal(path) }},
            file_row_number = true,
            filename = true,
            hive_partitioning = false,
            union_by_name = true
        ) as raw_rows
        inner join (
            select
                file,
                row_number() over (order by file) as part_number
            from glob({{ quote_literal(path) }})
        ) as parts on raw_rows.filename = parts.file
            {%- elif path.endswith('.parquet') -%}
            file_row_number + 1 as _source_row_number
        from read_parquet({{ quote_literal(path) }}, file_row_number = true)
            {%- else -%}
            ordinality as _source_row_number
        from read_csv(
            {{ quote_literal(path) }},
            header = true,
            all_varchar = true,
            delim = ',',
            quote = '"',
            escape = '"',
            max_line_size = 33554432
        ) with ordinality
            {%- endif %}
    )
{%- endmacro %}


{% macro spark__read_raw(name) -%}
    {#- Spark has no table function with CSV options, so the file is registered as a temporary
        view of this session (created while the model compiles, dropped with the session) and
        read from it. CSV: header, every column text, quoted fields may span lines (multiLine,
        which also reads the file as one split, in file order), "" escapes a quote. The position
        in the file is monotonically_increasing_id(): increasing in file order, because the
        splits of one file are read in offset order (`_metadata.row_index` would be exact for
        Parquet, but a temporary view hides `_metadata`). For a folder, parts are numbered in
        path order (input_file_name()), like the DuckDB implementation. -#}
    {%- set path = spark_raw_file_path(name) -%}
    {%- set columns = raw_columns(name) -%}
    {%- set view = 'raw_file_' ~ name -%}
    {%- set folder = path.endswith('/') -%}
    {%- if execute -%}
        {%- if path.endswith('.csv') -%}
            {%- set options -%}
                path {{ quote_literal(path) }}, header 'true', inferSchema 'false',
                multiLine 'true', quote '"', escape '"', encoding 'UTF-8', mode 'PERMISSIVE'
            {%- endset -%}
            {%- do run_query('create or replace temporary view ' ~ view ~ ' using csv options (' ~ options ~ ')') -%}
        {%- else -%}
            {%- set options -%}
                path {{ quote_literal(path) }}, mergeSchema 'true'
                {%- if folder %}, recursiveFileLookup 'true', pathGlobFilter '*.parquet'{% endif %}
            {%- endset -%}
            {%- do run_query('create or replace temporary view ' ~ view ~ ' using parquet options (' ~ options ~ ')') -%}
        {%- endif -%}
    {%- endif %}
    (
        select
            {% for column in columns -%}
            cast({{ adapter.quote(column) }} as string) as {{ adapter.quote(column) }},
            {% endfor -%}
            {% if folder -%}
            dense_rank() over (order by _source_file) * {{ raw_part_stride() }}
                + row_number() over (partition by _source_file order by _source_position)
            {%- else -%}
            row_number() over (order by _source_position)
            {%- endif %} as _source_row_number
        from (
            select
                *,
                {% if folder -%}
                input_file_name() as _source_file,
                {% endif -%}
                monotonically_increasing_id() as _source_position
            from {{ view }}
        ) as raw_rows
    )
{%- endmacro %}


{% macro spark_raw_file_path(name) -%}
    {#- The raw input of <name> on Spark, found in the same order as raw_file_path: a path to
        <name>.parquet, a folder path ending in '/', or <name>.csv. Spark SQL has no glob(), so
        the raw folder is listed once (binaryFile, file names only, contents not read) and a
        file is matched by its path relative to the folder's last component. -#}
    {%- if not execute -%}
        {{- return(name ~ '.csv') -}}
    {%- endif -%}
    {%- set directory = raw_data_dir().rstrip('/') -%}
    {%- set stem = directory ~ '/' ~ name -%}
    {%- set marker = '/' ~ directory.split('/')[-1] ~ '/' ~ name -%}
    {%- set listing -%}
        create or replace temporary view raw_file_listing using binaryFile
        options (path {{ quote_literal(directory) }}, recursiveFileLookup 'true')
    {%- endset -%}
    {%- do run_query(listing) -%}
    {%- set found = run_query(
        "select"
        ~ " max(path like " ~ quote_literal('%' ~ marker ~ '.parquet') ~ "),"
        ~ " max(path like " ~ quote_literal('%' ~ marker ~ '/%.parquet') ~ "),"
        ~ " max(path like " ~ quote_literal('%' ~ marker ~ '.csv') ~ ")"
        ~ " from raw_file_listing") -%}
    {%- set row = found.rows[0] -%}
    {%- if row[0] -%}
        {{- return(stem ~ '.parquet') -}}
    {%- elif row[1] -%}
        {{- return(stem ~ '/') -}}
    {%- elif row[2] -%}
        {{- return(stem ~ '.csv') -}}
    {%- endif -%}
    {{ exceptions.raise_compiler_error(
        "Raw file missing: neither " ~ stem ~ ".parquet, a folder " ~ stem
        ~ "/ of Parquet parts, nor " ~ stem ~ ".csv exists "
        ~ "(raw_data_dir = " ~ directory ~ ")") }}
{%- endmacro %}


{% macro glob_escape(path) -%}
    {#- A folder name as a literal in a DuckDB glob: [ * and ? match themselves. (A plain file
        path needs no escaping: DuckDB reads an existing file by its literal name.) -#}
    {{- return(path | replace('[', '[[]') | replace('*', '[*]') | replace('?', '[?]')) -}}
{%- endmacro %}


{% macro quote_literal(value) -%}
    {#- A SQL string literal; single quotes are doubled so no value can end the literal. -#}
    '{{ value | string | replace("'", "''") }}'
{%- endmacro %}
