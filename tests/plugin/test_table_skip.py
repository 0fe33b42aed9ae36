"""``skip:`` on a table row: not run, not sent, reported with its reason."""

from __future__ import annotations

import pytest

from tests.plugin.tables_helpers import write_table


def test_a_skipped_row_is_not_sent_and_says_why(suite, pytester, http_target):
    suite()
    write_table(
        pytester,
        """
        http:
          - GET /status/200: 200
          - request: GET /users/{user_id}
            skip: no example for user_id
        """,
    )
    result = pytester.runpytest("-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED*api.yaml: no example for user_id"])
    assert http_target.recorder.total() == 1


@pytest.mark.parametrize("value", ['""', "'  '", "[a]", "true"])
def test_a_skip_that_is_not_a_reason_is_a_table_mistake(suite, pytester, value):
    suite()
    write_table(pytester, "http:\n  - {request: GET /a, skip: " + value + "}\n")
    result = pytester.runpytest()
    assert result.ret == 4
    result.stderr.fnmatch_lines(
        ["ERROR: api.yaml line 2: skip is the reason the row is not run, e.g. *"]
    )
