"""``writes:`` in sleuth.yaml: probes named there count as @pytest.mark.writes,
still only with --allow-writes; the rest stay read-only."""

from __future__ import annotations

import textwrap

import pytest

PROBES = """
import pytest

@pytest.mark.parametrize("endpoint, method", [
    ("/echo", "POST"),
    ("/echo", "PUT"),
    ("/echo", "GET"),
])
def test_api_endpoints(target, endpoint, method):
    assert target.http.request(method, endpoint, json={"a": 1}).status_code == 200

class TestOrders:
    def test_delete(self, target):
        assert target.http.delete("/echo").status_code == 200
"""


def config(url: str, writes: str) -> str:
    return textwrap.dedent(
        f"""
        targets:
          local:
            base_url: {url}
            timeout: 5s
        """
    ) + textwrap.dedent(writes)


@pytest.fixture
def listed(suite, pytester, http_target):
    # Only the POST case and the class's probes are listed; brackets are literal.
    suite(
        config(
            http_target.url,
            """
            writes:
              - test_w.py::test_api_endpoints[/echo-POST]
              - test_w.py::TestOrders::*
            """,
        ),
        test_w=PROBES,
    )
    return http_target


def test_listed_write_is_still_refused_without_allow_writes(pytester, listed):
    result = pytester.runpytest("-rf")
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(
        [
            "*POST * refused: *; this run does not have --allow-writes. Nothing was sent.*",
            "*PUT * refused: *; this probe is not marked @pytest.mark.writes (nor named under writes: in the suite's config) and this run does not have --allow-writes.*",
        ]
    )
    assert listed.recorder.count("/echo", "POST") == 0
    assert listed.recorder.count("/echo", "PUT") == 0
    assert listed.recorder.count("/echo", "DELETE") == 0
    assert listed.recorder.count("/echo", "GET") == 1


def test_listed_write_is_sent_with_allow_writes_and_the_rest_refused(pytester, listed):
    result = pytester.runpytest("--allow-writes", "-rf")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*PUT * refused: *; this probe is not marked @pytest.mark.writes (nor named under writes: in the suite's config). Nothing was sent.*",
            "FAILED test_w.py::test_api_endpoints[[]/echo-PUT[]]*",
        ]
    )
    assert listed.recorder.count("/echo", "POST") == 1
    assert listed.recorder.count("/echo", "DELETE") == 1
    assert listed.recorder.count("/echo", "PUT") == 0


def test_patterns_are_relative_to_the_config_folder(pytester, http_target):
    # pytest started one folder up: its node ids start with suite/, the
    # patterns in suite/sleuth.yaml do not.
    folder = pytester.mkdir("suite")
    (folder / "sleuth.yaml").write_text(
        config(http_target.url, "writes: ['test_w.py::test_api_endpoints[*-POST]']")
    )
    (folder / "test_w.py").write_text(textwrap.dedent(PROBES))
    result = pytester.runpytest("suite", "--allow-writes", "-rf")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        ["FAILED suite/test_w.py::test_api_endpoints[[]/echo-PUT[]]*"]
    )
    assert http_target.recorder.count("/echo", "POST") == 1


@pytest.mark.parametrize(
    ("writes", "message"),
    [
        pytest.param(
            "writes: test_w.py::*\n",
            "ERROR: sleuth.yaml line 5: writes must be a list of node-id patterns, found str 'test_w.py::*'",
            id="a-string",
        ),
        pytest.param(
            "writes:\n  - test_w.py::*\n  - {test_w.py: POST}\n",
            "ERROR: sleuth.yaml line 7: writes entries must be a pattern such as test_api.py::*, found a mapping",
            id="a-mapping-in-the-list",
        ),
        pytest.param(
            "writes:\n  - 3\n",
            "ERROR: sleuth.yaml line 6: writes entries must be a pattern such as test_api.py::*, found int 3",
            id="a-number",
        ),
    ],
)
def test_a_bad_writes_value_is_one_config_error(pytester, http_target, writes, message):
    pytester.makefile(".yaml", sleuth=config(http_target.url, writes))
    pytester.makepyfile(test_w=PROBES)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output
    assert [line for line in output.splitlines() if "ERROR" in line] == [message]
    assert http_target.recorder.total() == 0
