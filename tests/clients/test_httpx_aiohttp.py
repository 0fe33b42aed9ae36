"""httpx (sync and async) and aiohttp in a probe's own code: guarded, bounded, evidenced.

Real clients against the tests' real HTTP server, in suites run as a user runs
them; what reached the server is counted there.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys

import aiohttp
import httpx
import pytest

from tests.clients._servers_httpx import (
    FLAVOURS,
    hooked_probe,
    probes_of,
    stalled_body_port_fixture,  # noqa: F401 (the fixture stalled_body_port)
    suite_of,
    wait_for_file,
)

# What the hooks replace, as they were before any run: every run must put them back.
ORIGINALS = {
    (httpx.Client, "_send_single_request"): httpx.Client.__dict__[
        "_send_single_request"
    ],
    (httpx.AsyncClient, "_send_single_request"): httpx.AsyncClient.__dict__[
        "_send_single_request"
    ],
    (aiohttp.ClientSession, "_request"): aiohttp.ClientSession.__dict__["_request"],
    (aiohttp.ClientResponse, "read"): aiohttp.ClientResponse.__dict__["read"],
}


def assert_unhooked() -> None:
    for (cls, name), original in ORIGINALS.items():
        assert cls.__dict__[name] is original, f"{cls.__name__}.{name} left hooked"


def sections(output: str) -> dict[str, str]:
    """Each probe's part of a run's ERRORS/FAILURES, by name."""
    parts = re.split(r"^_+ (?:ERROR at call of )?(test_\w+) _+$", output, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def writes_suite(url: str) -> str:
    """For each flavour: a GET of its own user (failing, to show its evidence),
    an unmarked POST and a POST marked ``writes``."""
    return suite_of(
        *(
            probe
            for n, flavour in enumerate(FLAVOURS, start=1)
            for probe in (
                flavour.probe(
                    "get", "GET", f"{url}/users/{n}", then="assert status == 201"
                ),
                flavour.probe("unmarked_post", "POST", f"{url}/echo"),
                flavour.probe(
                    "marked_post",
                    "POST",
                    f"{url}/echo",
                    marks="@pytest.mark.writes\n",
                    then="assert status == 200",
                ),
            )
        )
    )


def test_get_evidenced_and_writes_refused_before_a_byte_is_sent(
    suite, pytester, http_target
):
    suite(test_clients=writes_suite(http_target.url))
    out = pytester.path / "run.json"
    result = pytester.runpytest(f"--sleuth-json={out}")
    assert_unhooked()
    result.assert_outcomes(failed=3 * len(FLAVOURS))
    probes = probes_of(out)
    url = http_target.url
    for n, flavour in enumerate(FLAVOURS, start=1):
        via = f"via {flavour.client}"
        # The GET: its evidence, shown with the failure the probe's assert made.
        (get,) = probes[f"test_{flavour.name}_get"]["evidence"]["exchanges"]
        assert get["request"] == f"GET {url}/users/{n} {via}"
        assert (get["status"], get["reason"], get["error"]) == (200, "OK", None)
        headers = {k.lower(): v for k, v in get["headers"].items()}
        assert headers["content-type"] == "application/json"
        assert headers["cache-control"] == "no-store"
        assert get["remote"] == f"127.0.0.1:{http_target.server.port}"
        assert get["timings_ms"]["total"] > 0
        if flavour.client == "httpx":  # httpcore's trace gives the phases
            assert get["timings_ms"]["first_byte"] > 0
        result.stdout.fnmatch_lines(
            [
                f"*_ test_{flavour.name}_get _*",
                f"GET {url}/users/{n} {via} -> 200 OK (* ms) from 127.0.0.1:*",
                "*: application/json",
            ]
        )
        assert http_target.recorder.count(f"/users/{n}", "GET") == 1, flavour.name

        # The POSTs: refused by sleuth's own error, as it was raised; none sent.
        for what in ("unmarked_post", "marked_post"):
            probe = probes[f"test_{flavour.name}_{what}"]
            assert (probe["category"], probe["error_type"]) == (
                "write-refused",
                "WriteRefused",
            ), probe["name"]
            assert probe["evidence"]["exchanges"] == [], probe["name"]
        result.stdout.fnmatch_lines(
            [
                f"*_ test_{flavour.name}_unmarked_post _*",
                f"*WriteRefused: POST {url}/echo {via} refused: sleuth is read-only "
                "unless a probe is marked @pytest.mark.writes and the run has "
                "--allow-writes; this probe is not marked @pytest.mark.writes* and "
                "this run does not have --allow-writes. Nothing was sent.",
            ]
        )
    assert http_target.recorder.count("/echo", "POST") == 0


def test_a_marked_probe_writes_with_allow_writes(suite, pytester, http_target):
    suite(test_clients=writes_suite(http_target.url))
    out = pytester.path / "run.json"
    result = pytester.runpytest("--allow-writes", f"--sleuth-json={out}")
    assert_unhooked()
    result.assert_outcomes(passed=len(FLAVOURS), failed=2 * len(FLAVOURS))
    probes = probes_of(out)
    for flavour in FLAVOURS:
        marked = probes[f"test_{flavour.name}_marked_post"]
        assert marked["outcome"] == "passed", flavour.name
        (post,) = marked["evidence"]["exchanges"]
        assert post["request"] == f"POST {http_target.url}/echo via {flavour.client}"
        assert post["status"] == 200
        unmarked = probes[f"test_{flavour.name}_unmarked_post"]
        assert unmarked["category"] == "write-refused", flavour.name
        result.stdout.fnmatch_lines(
            [
                f"*_ test_{flavour.name}_unmarked_post _*",
                "*POST*refused*; this probe is not marked @pytest.mark.writes*. Nothing*",
            ]
        )
    # The marked ones only, one per flavour.
    assert http_target.recorder.count("/echo", "POST") == len(FLAVOURS)


def test_a_hung_request_or_body_ends_at_the_deadline_naming_the_url_and_client(
    suite, pytester, http_target, stalled_body_port, tmp_path
):
    """A request with no answer, and one whose body stalls after its headers,
    in each flavour and in async clients run by asyncio.run in a ``def`` probe:
    all at once, each with a 1 s timeout."""
    hang = f"{http_target.url}/hang"
    half = f"http://127.0.0.1:{stalled_body_port}/half"
    flavours = [*FLAVOURS, *(f.sync_via_asyncio_run() for f in FLAVOURS if f.is_async)]
    marks = "@pytest.mark.probe(timeout=1)\n"
    cases = [
        (flavour, what, url)
        for flavour in flavours
        for what, url in (("hang", hang), ("half", half))
    ]
    suite(
        test_clients=suite_of(
            *(
                flavour.probe(
                    what,
                    "GET",
                    url,
                    marks=marks,
                    released=tmp_path / f"{flavour.name}_{what}",
                )
                for flavour, what, url in cases
            )
        )
    )
    result = pytester.runpytest()
    assert_unhooked()
    result.assert_outcomes(errors=len(cases))
    reports = sections(result.stdout.str())
    for flavour, what, url in cases:
        name = f"test_{flavour.name}_{what}"
        # Said by the run's watchdog, or (a `def` probe the run came to after
        # its client gave up) raised by the hook: the same words either way.
        assert (
            f"timed out after 1.0 s waiting for GET {url} via {flavour.client} "
            "(timeout from @pytest.mark.probe)"
        ) in reports[name], name
        # The hung call itself let go soon after the 1 s deadline: the clients'
        # own timeouts (httpx 5 s, aiohttp 5 min) were bounded by the probe's
        # (in an async probe, the engine also cancels it at the deadline).
        # 2.5 s of slack for a loaded machine, still short of httpx's 5 s.
        seconds = float(wait_for_file(tmp_path / f"{flavour.name}_{what}"))
        assert seconds <= 1.0 + 2.5, (flavour.name, what, seconds)


@pytest.mark.usefixtures("http_transport")  # in-process and worker
def test_target_http_passes_through_the_hooks_untouched(suite, pytester, http_target):
    suite(
        test_own="""
        import aiohttp  # the suite uses both: both hooks are installed
        import httpx

        def test_sync(target):
            assert target.http.get("/users/1").status_code == 201

        async def test_async(target):
            assert (await target.ahttp.get("/users/2")).status_code == 201
        """
    )
    out = pytester.path / "run.json"
    result = pytester.runpytest(f"--sleuth-json={out}")
    assert_unhooked()
    result.assert_outcomes(failed=2)
    probes = probes_of(out)
    for name, path in (("test_sync", "/users/1"), ("test_async", "/users/2")):
        exchanges = probes[name]["evidence"]["exchanges"]
        assert [e["request"] for e in exchanges] == [f"GET {http_target.url}{path}"]
        assert http_target.recorder.count(path, "GET") == 1


def test_outside_a_probe_every_call_passes_through(suite, pytester, http_target):
    suite(
        test_fixture=f"""
        import asyncio

        import aiohttp
        import httpx
        import pytest

        URL = "{http_target.url}/echo"

        async def aiohttp_post():
            async with aiohttp.ClientSession() as session:
                async with session.post(URL, json={{"a": 1}}) as answer:
                    return answer.status

        async def httpx_post():
            async with httpx.AsyncClient() as client:
                return (await client.post(URL, json={{"a": 1}})).status_code

        @pytest.fixture
        def created():  # a fixture is not the probe: its writes are its own
            return [
                httpx.post(URL, json={{"a": 1}}).status_code,
                asyncio.run(httpx_post()),
                asyncio.run(aiohttp_post()),
            ]

        def test_uses_it(created):
            assert created == [200, 200, 200]
        """
    )
    result = pytester.runpytest()
    assert_unhooked()
    result.assert_outcomes(passed=1)
    assert http_target.recorder.count("/echo", "POST") == 3


@pytest.mark.parametrize("library", ["httpx", "aiohttp"])
def test_a_library_the_suite_did_not_import_is_neither_imported_nor_hooked(library):
    code = (
        "import sys\n"
        f"from sleuth.clients import {library}_hook\n"
        f"assert {library}_hook.install() is None\n"
        f"assert {library!r} not in sys.modules, 'imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_rabbitmq_api_session_is_sleuths_own(http_target):
    """The amqp probe's management API request is sleuth's: not the probe's
    code, so not refused, bounded or recorded twice by the aiohttp hook."""
    from sleuth.clients import aiohttp_hook
    from sleuth.engine import context as _context
    from sleuth.engine.context import ProbeContext
    from sleuth.probes._rabbitmq_api import BadStatus, get_nodes

    ctx = ProbeContext(probe_id="amqp", timeout_s=5.0)
    ctx.start()
    undo = aiohttp_hook.install()
    assert undo is not None
    token = _context.current.set(ctx)
    try:
        with pytest.raises(BadStatus, match="not a list of nodes"):
            asyncio.run(get_nodes(f"{http_target.url}/echo", "amqp://127.0.0.1/"))
    finally:
        _context.current.reset(token)
        undo()
    assert_unhooked()
    assert (ctx.exchanges, ctx.clients) == ([], {})
    assert http_target.recorder.count("/echo", "GET") == 1


def test_each_redirect_hop_is_evidenced(http_target):
    with (
        hooked_probe() as ctx,
        httpx.Client(follow_redirects=True, max_redirects=2) as client,
        pytest.raises(httpx.TooManyRedirects),
    ):
        client.get(f"{http_target.url}/redirect-loop")
    assert_unhooked()
    hops = [(e.request, e.status) for e in ctx.exchanges]
    assert hops == [(f"GET {http_target.url}/redirect-loop via httpx", 302)] * 3
    assert http_target.recorder.count("/redirect-loop", "GET") == 3


def test_a_trace_the_probe_gives_httpx_still_hears_every_event(http_target):
    heard: list[str] = []

    async def async_trace(event: str, info: dict[str, object]) -> None:
        heard.append(event)

    async def fetch_async() -> int:
        async with httpx.AsyncClient() as client:
            answer = await client.get(
                f"{http_target.url}/users/2", extensions={"trace": async_trace}
            )
            return answer.status_code

    with hooked_probe() as ctx, httpx.Client() as client:
        sync_status = client.get(
            f"{http_target.url}/users/1",
            extensions={"trace": lambda event, info: heard.append(event)},
        ).status_code
        assert asyncio.run(fetch_async()) == sync_status == 200
    assert_unhooked()
    # Both requests' events, from connecting to the body's end, to the probe's
    # traces; the hook's own phases in the evidence.
    for start in (
        "connection.connect_tcp.started",
        "http11.send_request_headers.started",
    ):
        assert heard.count(start) == 2, (start, heard)
    assert heard.count("http11.receive_response_body.complete") == 2, heard
    assert all("first_byte" in e.timings_ms for e in ctx.exchanges)


LATE_IMPORT = """
import sys
from sleuth import clients
from sleuth.engine import context
from sleuth.engine.context import ProbeContext
from sleuth.errors import WriteRefused

assert "httpx" not in sys.modules
clients.install()
ctx = ProbeContext(probe_id="late", timeout_s=5.0)
ctx.start()
context.current.set(ctx)
import httpx  # inside the probe, after the run started: hooked as it loads

try:
    httpx.post(sys.argv[1] + "/echo", content=b"x")
except WriteRefused as refused:
    print("refused:", refused)
original = httpx.Client.__dict__["_send_single_request"]
clients.uninstall()
assert httpx.Client.__dict__["_send_single_request"] is not original, "not hooked"
assert not any(type(f).__name__ == "_ImportWatcher" for f in sys.meta_path)
print("clients:", sorted(ctx.clients))
"""


def test_a_client_imported_inside_a_probe_is_hooked_as_it_loads(http_target):
    """``import httpx`` in a probe's body, after the run started: the header
    says httpx is held to the read-only rule, so it must be."""
    done = subprocess.run(
        [sys.executable, "-c", LATE_IMPORT, http_target.url],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert f"refused: POST {http_target.url}/echo via httpx refused" in done.stdout
    assert "clients: ['httpx']" in done.stdout
    assert http_target.recorder.count("/echo", "POST") == 0
