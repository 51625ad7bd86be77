{% macro path_max_steps() -%}
    {#- The `path_max_steps` var (marts.paths: transitions k = 1 .. N), checked: a whole number >= 1. -#}
    {%- set steps = var('path_max_steps') -%}
    {%- if steps is not number or steps < 1 or steps != (steps | int) -%}
        {{ exceptions.raise_compiler_error(
            "path_max_steps must be a whole number >= 1, got '" ~ steps ~ "'") }}
    {%- endif -%}
    {{- return(steps | int) -}}
{%- endmacro %}


{% macro path_starts() -%}
    {#- Where the paths of marts.paths start: '$session_start' always, then the
        `path_start_touchpoint` var when it is set (the first occurrence of that touchpoint in
        the session). -#}
    {%- set starts = ['$session_start'] -%}
    {%- set configured = var('path_start_touchpoint', none) -%}
    {%- if configured is not none and (configured | string | trim) != '' -%}
        {%- if configured is not string -%}
            {{ exceptions.raise_compiler_error(
                "path_start_touchpoint must be one touchpoint name, got '" ~ configured ~ "'") }}
        {%- endif -%}
        {%- do starts.append(configured | trim) -%}
    {%- endif -%}
    {{- return(starts) -}}
{%- endmacro %}
