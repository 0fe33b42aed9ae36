"""Politeness: in-flight caps, Retry-After honoured, retries opt-in and bounded.

Everything is checked at a real server: what arrived, how many at once.
"""

from __future__ import annotations

import re
import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from tests.conftest import outcomes
from tests.plugin.tables_helpers import records, with_records, write_table


def probes(template: str, n: int) -> str:
    return f"""
import pytest

@pytest.mark.parametrize("n", range({n}))
def test_probe(target, n):
    assert target.http.get(f"{template}").status_code == 200
"""


@pytest.mark.usefixtures("http_transport")  # in-process and worker
def test_per_host_cap_is_observed_at_the_server(suite, pytester, http_target):
    suite(
        f"""
        targets:
          local:
            base_url: {http_target.url}
            http: {{max_in_flight_per_host: 3}}
        """,
        test_p=probes("/status/200?together=3&delay=0.3&n={n}", 12),
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=12)
    assert http_target.recorder.max_in_flight == 3


def test_suite_level_caps_are_every_targets_defaults(suite, pytester, http_target):
    suite(
        f"""
        http: {{max_in_flight_per_host: 2}}
        targets:
          local:
            base_url: {http_target.url}
            http: {{max_in_flight: 50}}
        """,
        test_p=probes("/status/200?together=2&delay=0.3&n={n}", 6),
    )
    pytester.runpytest().assert_outcomes(passed=6)
    assert http_target.recorder.max_in_flight == 2


@pytest.mark.usefixtures("http_transport")  # in-process and worker
def test_total_cap_is_observed_at_the_server(suite, pytester, http_target):
    suite(
        f"""
        targets:
          local:
            base_url: {http_target.url}
            http: {{max_in_flight: 4}}
        """,
        test_p=probes("/status/200?together=4&delay=0.3&n={n}", 10),
    )
    pytester.runpytest().assert_outcomes(passed=10)
    assert http_target.recorder.max_in_flight == 4


def flaky_probe(query: str, *, marker: str = "", key: str = "k") -> str:
    return f"""
import pytest

{marker}
def test_flaky(target):
    assert target.http.get("/flaky/{key}?{query}").status_code == 200
"""


@pytest.mark.usefixtures("http_transport")  # in-process and worker
def test_retry_after_is_honoured_once_without_asking(suite, pytester, http_target):
    suite(test_r=flaky_probe("fail=1&retry_after=1"))
    with_records(pytester)
    result = pytester.runpytest()
    assert outcomes(result) == {"flaky": 1}
    assert http_target.recorder.hits["k"] == 2
    record = records(pytester)["test_r.py::test_flaky"]
    assert record["flaky"] is True
    assert record["attempts"] == [1, 2]
    url = f"{http_target.url}/flaky/k?fail=1&retry_after=1"
    assert record["retry_notes"] == [
        f"GET {url}: attempt 1 got 503 Service Unavailable; retried after 1.00 s "
        f"(the server asked: Retry-After 1 s)"
    ]
    result.stdout.fnmatch_lines(
        [
            "flaky (passed only on retry): 1",
            "  test_r.py::test_flaky",
            f"      GET {url}: attempt 1 got 503 Service Unavailable; retried after*",
        ]
    )


def test_retry_after_as_an_http_date(suite, pytester, http_target):
    past = "Wed,%2021%20Oct%202015%2007:28:00%20GMT"
    suite(test_r=flaky_probe(f"fail=1&status=429&retry_after={past}"))
    assert outcomes(pytester.runpytest()) == {"flaky": 1}
    assert http_target.recorder.hits["k"] == 2


@pytest.mark.usefixtures("http_transport")  # in-process and worker
def test_retry_after_past_the_deadline_fails_at_once_saying_so(
    suite, pytester, http_target
):
    suite(
        test_r=flaky_probe(
            "fail=1&retry_after=30", marker="@pytest.mark.probe(timeout=2, retries=3)"
        )
    )
    result = pytester.runpytest()
    assert outcomes(result) == {"errors": 1}
    result.stdout.fnmatch_lines(
        [
            f"E*sleuth.errors.CheckFailed: GET {http_target.url}/flaky/k?fail=1&"
            f"retry_after=30: status 503 Service Unavailable; the server asked to "
            f"retry after 30 s (Retry-After), but this probe has *s left (timeout "
            f"from @pytest.mark.probe). Not retried: the server is shedding load. "
            f"Raise the probe's timeout to wait it out, or look at why it is "
            f"overloaded."
        ]
    )
    assert http_target.recorder.hits["k"] == 1


def test_retries_are_opt_in(suite, pytester, http_target):
    suite(test_r=flaky_probe("fail=1&status=500"))
    result = pytester.runpytest()
    assert outcomes(result) == {"errors": 1}
    result.stdout.fnmatch_lines(["*assert 500 == 200*"])
    assert http_target.recorder.hits["k"] == 1
    assert "passed only on retry" not in result.stdout.str()


@pytest.mark.usefixtures("http_transport")  # in-process and worker
def test_marker_retries_with_backoff_until_it_passes(suite, pytester, http_target):
    suite(
        test_r=flaky_probe("fail=2&status=500", marker="@pytest.mark.probe(retries=2)")
    )
    with_records(pytester)
    result = pytester.runpytest()
    assert outcomes(result) == {"flaky": 1}
    assert http_target.recorder.hits["k"] == 3
    record = records(pytester)["test_r.py::test_flaky"]
    assert record["flaky"] is True
    assert record["attempts"] == [1, 2, 3]
    notes = record["retry_notes"]
    assert [note.split(": ", 1)[1].split(";")[0] for note in notes] == [
        "attempt 1 got 500 Internal Server Error",
        "attempt 2 got 500 Internal Server Error",
    ]
    # Exponential backoff with jitter: 0.05-0.1 s, then 0.1-0.2 s.
    waits = [float(note.rsplit("after ", 1)[1].split(" s")[0]) for note in notes]
    assert 0.05 <= waits[0] <= 0.1
    assert 0.1 <= waits[1] <= 0.2


@pytest.mark.usefixtures("http_transport")  # in-process and worker
def test_retries_are_bounded_and_every_attempt_is_evidence(
    suite, pytester, http_target
):
    suite(
        test_r=flaky_probe("fail=9&status=503", marker="@pytest.mark.probe(retries=2)")
    )
    result = pytester.runpytest()
    assert outcomes(result) == {"errors": 1}
    assert http_target.recorder.hits["k"] == 3
    url = f"{http_target.url}/flaky/k?fail=9&status=503"
    result.stdout.fnmatch_lines(
        [
            "*assert 503 == 200*",
            "*- sleuth evidence -*",
            f"GET {url} -> 503 Service Unavailable (*",
            f"GET {url} -> 503 Service Unavailable (*(attempt 2)",
            f"GET {url} -> 503 Service Unavailable (*(attempt 3)",
        ]
    )


def test_429_is_retried_but_a_404_is_not(suite, pytester, http_target):
    suite(
        test_r="""
        import pytest

        @pytest.mark.probe(retries=2)
        def test_throttled(target):
            assert target.http.get("/flaky/a?fail=1&status=429").status_code == 200

        @pytest.mark.probe(retries=2)
        def test_not_found(target):
            assert target.http.get("/flaky/b?fail=1&status=404").status_code == 200
        """
    )
    result = pytester.runpytest()
    assert outcomes(result) == {"flaky": 1, "failed": 1}
    assert http_target.recorder.hits["a"] == 2
    assert http_target.recorder.hits["b"] == 1


def test_only_idempotent_methods_are_retried(suite, pytester, http_target):
    suite(
        test_r="""
        import pytest

        @pytest.mark.writes
        @pytest.mark.probe(retries=2)
        def test_post(target):
            r = target.http.post("/flaky/post?fail=1&retry_after=0", json={})
            assert r.status_code == 503

        @pytest.mark.writes
        @pytest.mark.probe(retries=2)
        def test_put(target):
            r = target.http.put("/flaky/put?fail=1&retry_after=0", json={})
            assert r.status_code == 200
        """
    )
    assert outcomes(pytester.runpytest("--allow-writes")) == {"passed": 1, "flaky": 1}
    assert http_target.recorder.hits["post"] == 1
    assert http_target.recorder.hits["put"] == 2


@pytest.mark.usefixtures("http_transport")  # in-process and worker
def test_refused_connections_are_retried_and_each_attempt_recorded(
    suite, pytester, closed_port
):
    suite(
        f"""
        targets:
          down:
            base_url: http://127.0.0.1:{closed_port}
        """,
        test_r="""
        import pytest

        @pytest.mark.probe(retries=2)
        def test_down(target):
            target.http.get("/health")
        """,
    )
    result = pytester.runpytest()
    assert outcomes(result) == {"errors": 1}
    url = f"http://127.0.0.1:{closed_port}/health"
    result.stdout.fnmatch_lines(
        [
            f"E*sleuth.errors.TargetUnreachable: GET {url}: connection refused by "
            f"127.0.0.1:{closed_port}. Is the service running and listening there?",
            "E*sleuth: 3 attempts: no answer (refused), no answer (refused), no "
            "answer (refused)",
            f"GET {url} -> GET {url}: connection refused by *(attempt 3)",
        ]
    )


class ResettingServer:
    """A loopback HTTP server that resets connections on purpose.

    The first ``reset_first`` connections are reset as soon as they are
    accepted. With ``drop_kept_alive``, every connection answers one request
    and keeps the connection open, then resets it when a second request comes
    on it (a server that closed an idle connection the client still holds).
    """

    def __init__(self, *, reset_first: int = 0, drop_kept_alive: bool = False):
        self.reset_first = reset_first
        self.drop_kept_alive = drop_kept_alive
        self.connections = 0
        self.requests = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)  # to notice close(), not to time anything
        self.port: int = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            if self.connections <= self.reset_first:
                _reset(conn)
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        keep = b"keep-alive" if self.drop_kept_alive else b"close"
        if not _read_request(conn):
            conn.close()
            return
        self.requests += 1
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: "
            + keep
            + b"\r\n\r\nok"
        )
        if self.drop_kept_alive and _read_request(conn):
            _reset(conn)
            return
        conn.close()

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        self._thread.join(timeout=5)


def _read_request(conn: socket.socket) -> bool:
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = conn.recv(4096)
        except OSError:
            return False
        if not chunk:
            return False
        data += chunk
    return True


def _reset(conn: socket.socket) -> None:
    # linger 0: close() sends RST, as a crashing proxy would
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


@pytest.fixture
def resetting_server() -> Iterator[ResettingServer]:
    server = ResettingServer(reset_first=1)
    try:
        yield server
    finally:
        server.close()


@pytest.mark.usefixtures("http_transport")  # in-process and worker
def test_a_reset_connection_is_retried_and_the_probe_is_flaky(
    suite, pytester, resetting_server
):
    suite(
        f"""
        targets:
          proxy:
            base_url: http://127.0.0.1:{resetting_server.port}
        """,
        test_r="""
        import pytest

        @pytest.mark.probe(retries=1)
        def test_through_proxy(target):
            assert target.http.get("/").text == "ok"
        """,
    )
    with_records(pytester)
    assert outcomes(pytester.runpytest()) == {"flaky": 1}
    assert resetting_server.connections == 2
    record = records(pytester)["test_r.py::test_through_proxy"]
    assert record["flaky"] is True
    assert "attempt 1 got no answer (reset)" in record["retry_notes"][0], record[
        "errors"
    ]


@pytest.mark.usefixtures("http_transport")  # in-process and worker
def test_an_attempt_that_hangs_gets_its_share_of_the_deadline(
    suite, pytester, http_target
):
    suite(
        test_r=flaky_probe(
            "fail=1&mode=slow&delay=5",
            marker="@pytest.mark.probe(timeout=2, retries=1)",
        )
    )
    with_records(pytester)
    assert outcomes(pytester.runpytest()) == {"flaky": 1}
    assert http_target.recorder.hits["k"] == 2
    record = records(pytester)["test_r.py::test_flaky"]
    # Half of the 2 s deadline, less what the probe spent before its first
    # attempt (the HTTP stack loads while probes start).
    waited = re.fullmatch(r"no answer within (\d\.\d) s", record["errors"][0])
    assert waited is not None, record["errors"]
    assert 0.7 <= float(waited[1]) <= 1.0
    assert record["attempts"] == [1, 2]
    assert record["flaky"] is True


def test_backoff_stops_at_the_deadline(suite, pytester, http_target):
    suite(
        test_r="""
        import pytest

        @pytest.mark.probe(timeout=3, retries=10)
        def test_broken(target):
            assert target.http.get("/status/500").status_code == 200
        """
    )
    result = pytester.runpytest()
    assert outcomes(result) == {"errors": 1}
    # The last answer is reported (not a timeout): waits that would pass the
    # deadline are not started, so it never got near ten retries.
    result.stdout.fnmatch_lines(["*assert 500 == 200*"])
    assert "timed out" not in result.stdout.str()
    assert 2 <= http_target.recorder.count("/status/500") < 11


@pytest.mark.usefixtures("http_transport")  # in-process and worker
def test_async_probes_retry_too(suite, pytester, http_target):
    suite(
        test_r="""
        import pytest

        @pytest.mark.probe(retries=1)
        async def test_async(target):
            assert (await target.ahttp.get("/flaky/k?fail=1&status=502")).status_code == 200
        """
    )
    assert outcomes(pytester.runpytest()) == {"flaky": 1}
    assert http_target.recorder.hits["k"] == 2


def test_table_rows_retry_and_honour_retry_after(suite, pytester, http_target):
    suite()
    with_records(pytester)
    write_table(
        pytester,
        """
        http:
          - {request: "GET /flaky/a?fail=2&status=500", retries: 2}
          - {request: "GET /flaky/b?fail=1&retry_after=0"}
          - {request: "GET /flaky/c?fail=3&status=500", retries: 1}
        """,
    )
    result = pytester.runpytest()
    assert outcomes(result) == {"flaky": 2, "errors": 1}
    result.stdout.fnmatch_lines(
        [
            f"CheckFailed: GET {http_target.url}/flaky/c?fail=3&status=500: status 500 "
            f"Internal Server Error, expected 2xx (after 2 attempts)"
        ]
    )
    assert dict(http_target.recorder.hits) == {"a": 3, "b": 2, "c": 2}
    flaky = {k for k, v in records(pytester).items() if v["flaky"]}
    assert flaky == {
        "api.yaml::GET /flaky/a?fail=2&status=500",
        "api.yaml::GET /flaky/b?fail=1&retry_after=0",
    }


def test_a_bad_retries_marker_is_a_usage_error(suite, pytester):
    suite(test_r=flaky_probe("", marker='@pytest.mark.probe(retries="many")'))
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: @pytest.mark.probe on test_r.py::test_flaky: invalid retries "
            "'many': expected a whole number from 0 to 10, e.g. 2"
        ]
    )


@pytest.mark.usefixtures("http_transport")  # in-process and worker
def test_a_dropped_kept_alive_connection_is_resent_at_once_and_not_flaky(
    suite, pytester
):
    server = ResettingServer(drop_kept_alive=True)
    try:
        suite(
            f"""
            targets:
              proxy:
                base_url: http://127.0.0.1:{server.port}
            """,
            test_r="""
            def test_twice(target):
                assert target.http.get("/one").text == "ok"
                assert target.http.get("/two").text == "ok"
            """,
        )
        with_records(pytester)
        pytester.runpytest("--sleuth-in-order").assert_outcomes(passed=1)
        assert server.requests == 2
        assert server.connections == 2
    finally:
        server.close()
    record = records(pytester)["test_r.py::test_twice"]
    # Three attempts in the evidence (the second request twice), none hidden;
    # a connection the server had closed is not the target being flaky.
    assert record["attempts"] == [1, 1, 2]
    assert record["errors"][0] is None
    assert record["errors"][1].endswith(
        "the connection was reset before an answer came"
    )
    assert record["flaky"] is False


@pytest.mark.usefixtures("http_transport")  # in-process and worker
def test_time_queued_behind_the_cap_is_not_the_targets_latency(
    suite, pytester, http_target
):
    suite(
        f"""
        targets:
          local:
            base_url: {http_target.url}
            http: {{max_in_flight_per_host: 1}}
        """
    )
    rows = "\n".join(
        f"  - {{request: 'GET /status/200?delay=0.3&n={i}', expect: {{max_latency: 1.5s}}}}"
        for i in range(6)
    )
    write_table(pytester, f"http:\n{rows}\n")
    result = pytester.runpytest()
    # One at a time: the last waited 1.5 s for its turn, yet answered in 0.3 s.
    result.assert_outcomes(passed=6)
    assert http_target.recorder.max_in_flight == 1
