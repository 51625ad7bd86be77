"""The settings the dbt models read from the environment when they run (``execution_choice``,
macros/data_tests.sql): ``DATA_TEST_SCOPE`` (orchestration/data_test_scope.py) and
``CHURN_FEATURE_SCOPE`` (orchestration/assets/model_store.py, DECISIONLOG 151). Unset or blank,
the first value; one of the values, in any case and with blanks around it; another value fails
the node, naming the variable and its values."""

from __future__ import annotations

from builds import compile_inline

BOTH = "{{ data_test_scope() }}|{{ churn_feature_scope() }}"


def test_unset_blank_or_one_of_the_values(tmp_path):
    assert compile_inline(BOTH, tmp_path / "a", env={"CHURN_FEATURE_SCOPE": " "}).strip() == (
        "window|all"
    )
    assert (
        compile_inline(
            BOTH, tmp_path / "b", env={"DATA_TEST_SCOPE": " FULL ", "CHURN_FEATURE_SCOPE": "Score"}
        ).strip()
        == "full|score"
    )


def test_another_value_fails_naming_the_variable(tmp_path):
    out = compile_inline(
        BOTH, tmp_path, env={"CHURN_FEATURE_SCOPE": "weekly"}, expect_success=False
    )
    assert "CHURN_FEATURE_SCOPE must be 'all' or 'score', got 'weekly'" in out
