"""httpx (sync and async) and aiohttp in a probe's own code: guarded, bounded, evidenced.

Real clients against the tests' real HTTP server, in suites run as a user runs
them; what reached the server is counted there.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys

import aiohttp
import httpx
import pytest

from tests.clients._servers_httpx import FLAVOURS, Flavour, probes_of, wait_for_file

# What the hooks replace, as they were before any run: every run must put them back.
ORIGINALS = {
    (httpx.Client, "_send_single_request"): httpx.Client.__dict__[
        "_send_single_request"
    ],
    (httpx.AsyncClient, "_send_single_request"): httpx.AsyncClient.__dict__[
        "_send_single_request"
    ],
    (aiohttp.ClientSession, "_request"): aiohttp.ClientSession.__dict__["_request"],
}

flavours = pytest.mark.parametrize("flavour", FLAVOURS, ids=lambda f: f.name)


def assert_unhooked() -> None:
    for (cls, name), original in ORIGINALS.items():
        assert cls.__dict__[name] is original, f"{cls.__name__}.{name} left hooked"


def writes_suite(flavour: Flavour, url: str) -> str:
    return flavour.suite(
        flavour.probe(
            "test_get", "GET", f"{url}/users/123", then="assert status == 201"
        ),
        flavour.probe("test_unmarked_post", "POST", f"{url}/echo"),
        flavour.probe(
            "test_marked_post",
            "POST",
            f"{url}/echo",
            marks="@pytest.mark.writes\n",
            then="assert status == 200",
        ),
    )


@flavours
def test_get_evidenced_and_writes_refused_before_a_byte_is_sent(
    flavour, suite, pytester, http_target
):
    suite(test_client=writes_suite(flavour, http_target.url))
    out = pytester.path / "run.json"
    result = pytester.runpytest(f"--sleuth-json={out}")
    assert_unhooked()
    result.assert_outcomes(failed=3)
    url, via = http_target.url, f"via {flavour.client}"

    probes = probes_of(out)
    # The GET: its evidence, shown with the failure the probe's assert made.
    (get,) = probes["test_get"]["evidence"]["exchanges"]
    assert get["request"] == f"GET {url}/users/123 {via}"
    assert (get["status"], get["reason"], get["error"]) == (200, "OK", None)
    headers = {k.lower(): v for k, v in get["headers"].items()}
    assert headers["content-type"] == "application/json"
    assert headers["cache-control"] == "no-store"
    assert get["remote"] == f"127.0.0.1:{http_target.server.port}"
    assert get["timings_ms"]["total"] > 0
    if flavour.client == "httpx":  # httpcore's trace gives the phases
        assert get["timings_ms"]["first_byte"] > 0
    result.stdout.fnmatch_lines(
        [f"*GET {url}/users/123 {via} -> 200 OK*", "*: application/json*"]
    )
    assert http_target.recorder.count("/users/123", "GET") == 1

    # The POSTs: refused as sleuth's own error, as it was raised, nothing sent.
    for name in ("test_unmarked_post", "test_marked_post"):
        probe = probes[name]
        assert (probe["category"], probe["error_type"]) == (
            "write-refused",
            "WriteRefused",
        ), name
        assert probe["evidence"]["exchanges"] == [], name
    result.stdout.fnmatch_lines(
        [
            f"*WriteRefused: POST {url}/echo {via} refused: sleuth is read-only unless "
            "a probe is marked @pytest.mark.writes and the run has --allow-writes; "
            "this probe is not marked @pytest.mark.writes and this run does not have "
            "--allow-writes. Nothing was sent.*"
        ]
    )
    assert http_target.recorder.count("/echo", "POST") == 0


@flavours
def test_a_marked_probe_writes_with_allow_writes(flavour, suite, pytester, http_target):
    suite(test_client=writes_suite(flavour, http_target.url))
    out = pytester.path / "run.json"
    result = pytester.runpytest("--allow-writes", f"--sleuth-json={out}")
    assert_unhooked()
    result.assert_outcomes(passed=1, failed=2)
    probes = probes_of(out)
    assert probes["test_marked_post"]["outcome"] == "passed"
    (post,) = probes["test_marked_post"]["evidence"]["exchanges"]
    assert post["request"] == f"POST {http_target.url}/echo via {flavour.client}"
    assert post["status"] == 200
    assert probes["test_unmarked_post"]["category"] == "write-refused"
    result.stdout.fnmatch_lines(
        ["*POST*refused*; this probe is not marked @pytest.mark.writes. Nothing*"]
    )
    assert http_target.recorder.count("/echo", "POST") == 1  # the marked one only


@pytest.mark.parametrize(
    "flavour",
    [*FLAVOURS, *(f.sync_via_asyncio_run() for f in FLAVOURS if f.is_async)],
    ids=lambda f: f.name,
)
def test_a_hung_request_ends_at_the_deadline_naming_the_url_and_client(
    flavour, suite, pytester, http_target, tmp_path
):
    released = tmp_path / "released"
    suite(
        test_client=flavour.suite(
            flavour.probe(
                "test_hang",
                "GET",
                f"{http_target.url}/hang",
                marks="@pytest.mark.probe(timeout=1)\n",
                released=released,
            )
        )
    )
    result = pytester.runpytest()
    assert_unhooked()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            f"timed out after 1.0 s waiting for GET {http_target.url}/hang "
            f"via {flavour.client} (timeout from @pytest.mark.probe)"
        ]
    )
    # The hung call itself let go of its socket by deadline + 0.5 s: the
    # clients' own timeouts (httpx 5 s, aiohttp 5 min) were bounded by the
    # probe's (in an async probe, the engine cancels it at the deadline too).
    assert float(wait_for_file(released)) <= 1.5


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
        import aiohttp
        import httpx
        import pytest

        @pytest.fixture
        def created():  # a fixture is not the probe: its writes are its own
            return httpx.post("{http_target.url}/echo", json={{"a": 1}}).status_code

        def test_uses_it(created):
            assert created == 200
        """
    )
    result = pytester.runpytest()
    assert_unhooked()
    result.assert_outcomes(passed=1)
    assert http_target.recorder.count("/echo", "POST") == 1


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
    from sleuth import context as _context
    from sleuth.clients import aiohttp_hook
    from sleuth.context import ProbeContext
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
