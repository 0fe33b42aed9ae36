"""Read-only by default: writes need @pytest.mark.writes and --allow-writes."""

from __future__ import annotations

import json

import pytest

PROBES = """
import pytest

def test_unmarked_post(target):
    target.http.post("/echo", json={"a": 1})

@pytest.mark.writes
def test_marked_put(target):
    assert target.http.put("/echo", json={"a": 1}).status_code == 200

@pytest.mark.writes
def test_marked_request_delete(target):
    assert target.http.request("DELETE", "/echo").status_code == 200

def test_get_is_fine(target):
    assert target.http.get("/echo").status_code == 200
"""


@pytest.mark.usefixtures("http_transport")  # in-process and worker
def test_writes_are_refused_and_nothing_reaches_the_server(
    suite, pytester, http_target
):
    suite(test_w=PROBES)
    out = pytester.path / "run.json"
    result = pytester.runpytest(f"--sleuth-json={out}")
    result.assert_outcomes(passed=1, failed=3)
    seen = {p["name"]: (p["outcome"], p["category"]) for p in _probes(out)}
    assert seen == {
        "test_unmarked_post": ("failed", "write-refused"),
        "test_marked_put": ("failed", "write-refused"),
        "test_marked_request_delete": ("failed", "write-refused"),
        "test_get_is_fine": ("passed", ""),
    }
    result.stdout.fnmatch_lines(
        [
            f"*WriteRefused: POST {http_target.url}/echo refused: sleuth is read-only unless a probe is marked @pytest.mark.writes and the run has --allow-writes; this probe is not marked @pytest.mark.writes (nor named under writes: in the suite's config) and this run does not have --allow-writes. Nothing was sent.*",
            f"*WriteRefused: PUT {http_target.url}/echo refused*; this run does not have --allow-writes. Nothing was sent.*",
        ]
    )
    assert http_target.recorder.count("/echo", "POST") == 0
    assert http_target.recorder.count("/echo", "PUT") == 0
    assert http_target.recorder.count("/echo", "DELETE") == 0
    assert http_target.recorder.count("/echo", "GET") == 1


@pytest.mark.usefixtures("http_transport")  # in-process and worker
def test_allow_writes_lets_only_marked_probes_write(suite, pytester, http_target):
    suite(test_w=PROBES)
    result = pytester.runpytest("--allow-writes")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*POST*refused*; this probe is not marked @pytest.mark.writes (nor named under writes: in the suite's config). Nothing was sent.*"
        ]
    )
    assert http_target.recorder.count("/echo", "POST") == 0
    assert http_target.recorder.count("/echo", "PUT") == 1
    assert http_target.recorder.count("/echo", "DELETE") == 1


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_async_client_refuses_writes_too(suite, pytester, http_target, method):
    suite(
        test_a=f"""
        async def test_a(target):
            await target.ahttp.{method}("/echo")
        """
    )
    result = pytester.runpytest("--allow-writes")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [f"*{method.upper()} *refused*not marked @pytest.mark.writes*"]
    )
    assert http_target.recorder.total() == 0


def _probes(path):
    return json.loads(path.read_text())["probes"]


def test_the_header_says_what_read_only_covers(suite, pytester):
    suite(test_w=PROBES)
    result = pytester.runpytest("--collect-only")
    header = [line for line in result.stdout.lines if line.startswith("sleuth: ")]
    # Only what sleuth holds to the rule; never the bare word over the rest.
    [scope] = [line for line in header if "read-only" in line]
    assert scope.startswith("sleuth: read-only: target.http")
    assert "psycopg" not in scope
    assert "redis" not in scope


def test_with_allow_writes_the_header_says_writes_are_allowed(suite, pytester):
    suite(test_w=PROBES)
    result = pytester.runpytest("--collect-only", "--allow-writes")
    result.stdout.fnmatch_lines(
        ["sleuth: timeout 5 s (*); writes allowed for @pytest.mark.writes; probes run*"]
    )
    assert "read-only" not in result.stdout.str()
