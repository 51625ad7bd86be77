{#-
    Statistics in portable SQL: arithmetic, abs, sqrt, exp, floor and power only, so the same
    expressions run on DuckDB and Spark (no engine's statistical functions are needed). Every
    macro returns a double and is null when its input is null. Pass a column or a short
    expression: the argument is repeated inside the generated expression.
-#}

{% macro _double(literal) -%}
    {#- A numeric literal typed as double on every engine (a plain 1.5 is a decimal). -#}
    cast({{ literal }} as double)
{%- endmacro %}


{% macro _polynomial(x, coefficients) -%}
    {#- Horner's scheme: coefficients from the highest power down to the constant. -#}
    {%- set ns = namespace(expression=_double(coefficients[0])) -%}
    {%- for coefficient in coefficients[1:] -%}
        {%- set ns.expression = '(' ~ ns.expression ~ ') * (' ~ x ~ ') + ' ~ _double(coefficient) -%}
    {%- endfor -%}
    {{- ns.expression -}}
{%- endmacro %}


{% macro normal_upper_tail(x) -%}
    {#-
        Q(x) = P(Z > x) = 1 - Phi(x) for a standard normal Z, computed directly (no 1 - Phi
        cancellation), so small p-values keep their relative accuracy.

        W. J. Cody's rational Chebyshev approximation of the normal distribution function:
        W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23
        (1969) 631-637, as packaged for the normal distribution in ANORM, ACM TOMS Algorithm 715
        (Cody 1993), the algorithm of R's pnorm. Phi(x) = erfc(-x / sqrt(2)) / 2. Three ranges
        of y = |x|:
          y <= 0.67448975        Phi(x) = 1/2 + x * A(x^2) / B(x^2)
          y <= sqrt(32)          Q(y)   = exp(-y^2/2) * C(y) / D(y)
          y <  37.5193           Q(y)   = exp(-y^2/2) / y * (1/sqrt(2 pi) - s P(s) / Q(s)),
                                 s = 1/y^2
        beyond that Q is 0 (or 1) in double precision. exp(-y^2/2) is split at y rounded down
        to 1/16 (Cody's device against the rounding error of y^2). Designed for an error below
        1e-18; in double precision the tests find a relative error below 1e-12 against scipy
        on [-40, 40].
    -#}
    {%- set a = ['6.5682337918207449113e-2', '2.2352520354606839287e0', '1.6102823106855587881e2',
                 '1.0676894854603709582e3', '1.8154981253343561249e4'] -%}
    {%- set b = ['1', '4.7202581904688241870e1', '9.7609855173777669322e2',
                 '1.0260932208618978205e4', '4.5507789335026729956e4'] -%}
    {%- set c = ['1.0765576773720192317e-8', '3.9894151208813466764e-1', '8.8831497943883759412e0',
                 '9.3506656132177855979e1', '5.9727027639480026226e2', '2.4945375852903726711e3',
                 '6.8481904505362823326e3', '1.1602651437647350124e4', '9.8427148383839780218e3'] -%}
    {%- set d = ['1', '2.2266688044328115691e1', '2.3538790178262499861e2',
                 '1.5193775994075548050e3', '6.4855582982667607550e3', '1.8615571640885098091e4',
                 '3.4900952721145977266e4', '3.8912003286093271411e4', '1.9685429676859990727e4'] -%}
    {%- set p = ['2.3073441764940173030e-2', '2.1589853405795699e-1', '1.274011611602473639e-1',
                 '2.2235277870649807e-2', '1.421619193227893466e-3', '2.9112874951168792e-5'] -%}
    {%- set q = ['1', '1.28426009614491121e0', '4.68238212480865118e-1',
                 '6.59881378689285515e-2', '3.78239633202758244e-3', '7.29751555083966205e-5'] -%}
    {%- set xd = 'cast(' ~ x ~ ' as double)' -%}
    {%- set y = 'abs(' ~ xd ~ ')' -%}
    {%- set y_16 = '(floor(' ~ y ~ ' * 16) / 16)' -%}
    {%- set s = '(1 / (' ~ y ~ ' * ' ~ y ~ '))' -%}
    {%- set tail -%}
        exp(-{{ y_16 }} * {{ y_16 }} / 2)
        * exp(-({{ y }} - {{ y_16 }}) * ({{ y }} + {{ y_16 }}) / 2)
        * (case
            when {{ y }} <= sqrt(32)
                then ({{ _polynomial(y, c) }}) / ({{ _polynomial(y, d) }})
            else
                ({{ _double('3.9894228040143267794e-1') }}
                - {{ s }} * ({{ _polynomial(s, p) }}) / ({{ _polynomial(s, q) }})) / {{ y }}
        end)
    {%- endset -%}
    (case
        when {{ y }} <= {{ _double('0.67448975') }}
            then {{ _double('0.5') }} - {{ xd }}
            * ({{ _polynomial(xd ~ ' * ' ~ xd, a) }}) / ({{ _polynomial(xd ~ ' * ' ~ xd, b) }})
        {#- Q(x) for x > 0, else 1 - Q(|x|), written so the tail is generated once. -#}
        when {{ y }} < 37.5193
            then (case when {{ xd }} > 0 then 0 else 1 end)
            + (case when {{ xd }} > 0 then 1 else -1 end) * {{ tail }}
        when {{ xd }} > 0 then {{ _double('0') }}
        when {{ xd }} < 0 then {{ _double('1') }}
    end)
{%- endmacro %}


{% macro normal_cdf(x) -%}
    {#- Phi(x) = P(Z <= x) for a standard normal Z (Cody's approximation, see normal_upper_tail). -#}
    {{ normal_upper_tail('-(' ~ x ~ ')') }}
{%- endmacro %}


{% macro two_sided_p_value(z) -%}
    {#- 2 * P(Z > |z|): the two-sided p-value of a z statistic. -#}
    (2 * {{ normal_upper_tail('abs(' ~ z ~ ')') }})
{%- endmacro %}


{% macro chi_square_normal_score(statistic, degrees_of_freedom) -%}
    {#-
        The standard normal score z whose upper tail gives chi_square_upper_tail: sqrt(statistic)
        for 1 degree of freedom, the Wilson-Hilferty score for 3 or more, null otherwise. Select
        it as a column and pass that column to chi_square_upper_tail: the normal tail repeats its
        argument dozens of times, so a column name keeps the generated SQL small (and sqlfluff
        fast).
    -#}
    {%- set chi2 = 'cast(' ~ statistic ~ ' as double)' -%}
    {%- set df = 'cast(' ~ degrees_of_freedom ~ ' as double)' -%}
    (case
        when {{ df }} = 1 then sqrt({{ chi2 }})
        when {{ df }} >= 3
            then (power({{ chi2 }} / {{ df }}, {{ _double('1') }} / 3) - (1 - 2 / (9 * {{ df }})))
            / sqrt(2 / (9 * {{ df }}))
    end)
{%- endmacro %}


{% macro chi_square_upper_tail(statistic, degrees_of_freedom, normal_score=none) -%}
    {#-
        P(X > statistic) for X chi-square with the given degrees of freedom (the p-value of a
        chi-square test). Null for fewer than 1 degree of freedom.
          df = 1: exactly 2 Q(sqrt(statistic)), Q the normal upper tail.
          df = 2: exactly exp(-statistic / 2).
          df >= 3: Wilson-Hilferty (1931): (X / df)^(1/3) is approximately normal with mean
                   1 - 2/(9 df) and variance 2/(9 df); absolute error of the p-value about 1e-3
                   at df = 3, shrinking as df grows.
        normal_score: a column holding chi_square_normal_score(statistic, degrees_of_freedom);
        without it the score's expression is generated inline.
    -#}
    {%- set chi2 = 'cast(' ~ statistic ~ ' as double)' -%}
    {%- set df = 'cast(' ~ degrees_of_freedom ~ ' as double)' -%}
    {%- set z = normal_score if normal_score is not none
        else chi_square_normal_score(statistic, degrees_of_freedom) -%}
    (case
        when {{ df }} = 2 then exp(-{{ chi2 }} / 2)
        when {{ df }} = 1 or {{ df }} >= 3
            then (case when {{ df }} = 1 then 2 else 1 end) * {{ normal_upper_tail(z) }}
    end)
{%- endmacro %}


{% macro sums_differ(actual, expected) -%}
    {#- True when two sums of the same money differ by more than adding doubles in another order
        can explain: 1e-6, plus 1e-10 of the expected sum. Sums of hundreds of thousands of
        amounts in another order differ by about 1e-12 of the total (1.2e-4 on the 50M-
        touchpoint bench's 50 million of revenue), so an absolute tolerance alone fails at
        scale; a lost cent is still caught on totals below 100 million. -#}
    (abs(({{ actual }}) - ({{ expected }})) > 1e-6 + 1e-10 * abs({{ expected }}))
{%- endmacro %}
