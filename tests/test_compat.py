"""Each private name sleuth reaches into, checked against the installed package.

``sleuth._compat`` holds every use of another package's private attributes and
functions, one module per package. When a release drops or renames one, the
test for it fails saying which package and version, and which shim to update,
instead of a probe quietly doing less (an attribute set on an object that no
longer reads it raises nothing).
"""

from __future__ import annotations

import asyncio
import importlib
import json
from importlib.metadata import version
from types import ModuleType
from typing import Any

import pytest

from sleuth._compat import (
    aiohttp as aiohttp_compat,
    aiomqtt as aiomqtt_compat,
    aiomysql as aiomysql_compat,
    nats as nats_compat,
    paho as paho_compat,
    pytest as pytest_compat,
    rewriting as rewriting_compat,
    xdist as xdist_compat,
)
from tests.conftest import packages_loaded_by, require_service


def require(owner: object, name: str, *, package: str, shim: str) -> None:
    """Fail, naming the package's version and the shim, if ``name`` is gone."""
    __tracebackhide__ = True
    if not hasattr(owner, name):
        named = owner if isinstance(owner, type | ModuleType) else type(owner)
        what = named.__name__
        pytest.fail(
            f"{package} {version(package)} no longer has {what}.{name}; sleuth's "
            f"shim in src/sleuth/_compat/{shim}.py needs updating",
            pytrace=False,
        )


def test_a_missing_name_is_reported_with_the_package_version_and_the_shim():
    class ClientSession:
        pass

    with pytest.raises(pytest.fail.Exception) as caught:
        require(ClientSession(), "_retry_connection", package="aiohttp", shim="aiohttp")
    assert str(caught.value) == (
        f"aiohttp {version('aiohttp')} no longer has "
        "ClientSession._retry_connection; sleuth's shim in "
        "src/sleuth/_compat/aiohttp.py needs updating"
    )
    with pytest.raises(pytest.fail.Exception) as caught:
        require(importlib.import_module("_pytest.skipping"), "evaluate_marks",
                package="pytest", shim="pytest")  # fmt: skip
    assert str(caught.value).startswith(
        f"pytest {version('pytest')} no longer has _pytest.skipping.evaluate_marks;"
    )


def test_the_shims_import_no_package_of_their_own():
    shims = "aiohttp, aiomqtt, paho, nats, aiomysql, pytest, xdist"
    loaded = packages_loaded_by(
        f"from sleuth._compat import {shims}",
        {
            "aiohttp",
            "aiomqtt",
            "paho",
            "nats",
            "aiomysql",
            "pymysql",
            "_pytest",
            "xdist",
        },
    )
    assert loaded == []


# -- aiohttp ------------------------------------------------------------------


async def _requests_seen_on_a_dropped_keepalive(*, silent_retry: bool) -> int:
    """A server answers one request, then drops the kept-alive connection at
    the next; how many requests reached it for two GETs?"""
    import aiohttp

    seen = 0
    handlers: set[asyncio.Task[Any]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        nonlocal seen
        handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                seen += 1
                if seen == 2:  # the second request: close instead of answering
                    break
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client closed its end
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        async with aiohttp.ClientSession() as session:
            require(
                session, aiohttp_compat.RETRY_SWITCH, package="aiohttp", shim="aiohttp"
            )
            if not silent_retry:
                aiohttp_compat.disable_silent_retry(session)
            async with asyncio.timeout(10):
                async with session.get(f"http://127.0.0.1:{port}/") as first:
                    assert await first.read() == b"ok"
                try:
                    async with session.get(f"http://127.0.0.1:{port}/") as second:
                        await second.read()
                except aiohttp.ServerDisconnectedError:
                    pass
        # Each handler sees the session's close and closes its own end.
        await asyncio.wait(handlers, timeout=10)
    return seen


def test_aiohttp_retries_silently_unless_the_shim_turns_it_off():
    assert asyncio.run(_requests_seen_on_a_dropped_keepalive(silent_retry=True)) == 3, (
        f"aiohttp {version('aiohttp')} no longer resends a GET after a dropped "
        "connection: sleuth's shim in src/sleuth/_compat/aiohttp.py may go"
    )
    assert asyncio.run(_requests_seen_on_a_dropped_keepalive(silent_retry=False)) == 2


# -- aiomqtt and paho ---------------------------------------------------------


def test_aiomqtt_hands_over_its_paho_client_and_paho_bounds_its_connect():
    import aiomqtt
    import paho.mqtt.client as paho

    async def check() -> None:
        client = aiomqtt.Client("127.0.0.1", 1883)
        require(client, aiomqtt_compat.PAHO_CLIENT, package="aiomqtt", shim="aiomqtt")
        assert isinstance(aiomqtt_compat.paho_client(client), paho.Client)
        aiomqtt_compat.set_connect_timeout(client, 1.5)
        assert aiomqtt_compat.paho_client(client).connect_timeout == 1.5

    asyncio.run(check())
    # A plain attribute would take the value and bound nothing.
    assert isinstance(getattr(paho.Client, "connect_timeout", None), property), (
        f"paho-mqtt {version('paho-mqtt')} has no Client.connect_timeout property; "
        "sleuth's shim in src/sleuth/_compat/aiomqtt.py needs updating"
    )


def test_paho_closes_the_socket_of_a_connected_client():
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    require(paho.Client, paho_compat.SOCKET_CLOSE, package="paho-mqtt", shim="paho")
    require_service("mosquitto", "127.0.0.1", 1883)
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="sleuth-compat")
    client.connect("127.0.0.1", 1883, keepalive=10)
    sock: Any = client.socket()
    assert sock is not None
    paho_compat.close_socket(client)
    assert client.socket() is None
    assert sock.fileno() == -1  # closed, not only forgotten
    paho_compat.close_socket(client)  # twice is harmless, as after a failed connect


# -- nats-py ------------------------------------------------------------------


def test_nats_keeps_the_servers_info():
    from nats.aio.client import Client

    async def check() -> None:
        client = Client()
        require(client, nats_compat.SERVER_INFO, package="nats-py", shim="nats")
        assert nats_compat.server_info(client) == {}
        require_service("nats", "127.0.0.1", 4222)
        await client.connect("nats://127.0.0.1:4222", allow_reconnect=False)
        try:
            info = nats_compat.server_info(client)
        finally:
            await client.close()
        assert {"server_id", "version", "jetstream"} <= set(info), info

    asyncio.run(check())


# -- aiomysql -----------------------------------------------------------------


def test_aiomysql_keeps_the_stream_it_talks_over():
    import aiomysql  # type: ignore[import-untyped]

    async def check() -> None:
        require_service("mariadb", "127.0.0.1", 3306)
        conn = await aiomysql.connect(
            host="127.0.0.1", port=3306, user="root", password="", db="test"
        )
        try:
            require(conn, aiomysql_compat.WRITER, package="aiomysql", shim="aiomysql")
            writer = aiomysql_compat.stream_writer(conn)
            assert isinstance(writer, asyncio.StreamWriter)
            assert writer.get_extra_info("peername")[:2] == ("127.0.0.1", 3306)
        finally:
            conn.close()
        assert aiomysql_compat.stream_writer(conn) is None  # closed: None, no error

    asyncio.run(check())


def test_aiomysql_connects_a_connection_made_apart_with_the_flags_it_was_given():
    import aiomysql
    from pymysql.constants import CLIENT  # type: ignore[import-untyped]

    async def check() -> None:
        require(aiomysql.Connection, aiomysql_compat.CONNECT, package="aiomysql",
                shim="aiomysql")  # fmt: skip
        require_service("mariadb", "127.0.0.1", 3306)
        conn = aiomysql.Connection(host="127.0.0.1", port=3306, user="root", db="test")
        conn.client_flag &= ~CLIENT.MULTI_STATEMENTS
        await aiomysql_compat.open_connection(conn)
        try:
            async with conn.cursor() as cursor:
                await cursor.execute("SELECT 1")
                assert await cursor.fetchone() == (1,)
                # The handshake asked without multi-statements: a second
                # statement is refused by the server.
                with pytest.raises(aiomysql.ProgrammingError) as caught:
                    await cursor.execute("SELECT 1; SELECT 2")
                assert caught.value.args[0] == 1064
        finally:
            conn.close()

    asyncio.run(check())


# -- pytest -------------------------------------------------------------------

ITEMS = """
import pytest

@pytest.fixture(scope="session")
def shared():
    return "one per session"

@pytest.mark.parametrize("word", ["a"])
def test_words(word, shared, tmp_path):
    pass

@pytest.mark.skipif(True, reason="switched off")
def test_off():
    pass
"""


@pytest.fixture
def items(pytester: pytest.Pytester) -> dict[str, Any]:
    return {item.name: item for item in pytester.getitems(ITEMS)}


def test_pytest_gives_an_items_fixtures_before_setup(items):
    item = items["test_words[a]"]
    require(item, "_fixtureinfo", package="pytest", shim="pytest")
    info = pytest_compat.fixture_info(item)
    require(info, "argnames", package="pytest", shim="pytest")
    require(info, "name2fixturedefs", package="pytest", shim="pytest")
    assert set(info.argnames) == {"word", "shared", "tmp_path"}
    assert pytest_compat.is_direct_param(info.name2fixturedefs["word"][-1]), (
        f"pytest {version('pytest')} names the pseudo-fixture of a parametrize "
        f"argument other than {pytest_compat.DIRECT_PARAM_FIXTURE}; sleuth's shim "
        "in src/sleuth/_compat/pytest.py needs updating"
    )
    assert not pytest_compat.is_direct_param(info.name2fixturedefs["shared"][-1])


def test_pytest_gives_a_session_fixtures_value_through_an_items_request(
    request, tmp_path_factory
):
    require(request.node, "_request", package="pytest", shim="pytest")
    value = pytest_compat.fixture_value(request.node, "tmp_path_factory")
    assert value is tmp_path_factory


def test_pytest_says_whether_skip_marks_skip(items):
    skipping = importlib.import_module("_pytest.skipping")
    require(skipping, "evaluate_skip_marks", package="pytest", shim="pytest")
    skipped = pytest_compat.evaluate_skip_marks(items["test_off"])
    assert getattr(skipped, "reason", None) == "switched off"
    assert pytest_compat.evaluate_skip_marks(items["test_words[a]"]) is None


def test_pytest_installs_the_stream_its_capture_is_handed(request, pytester):
    """``route_captured_streams``: pytest's fd capture installs the proxy it is
    given at every phase, so probe output is routed from the first byte."""
    capman = request.config.pluginmanager.getplugin("capturemanager")
    require(capman, "_global_capturing", package="pytest", shim="pytest")
    pytester.makeconftest(
        """
        from sleuth._compat import pytest as pytest_compat

        class Tagged:
            def __init__(self, name, stream):
                self.stream = stream

            def write(self, text):
                return self.stream.write(text.replace("plain", "tagged"))

            def __getattr__(self, name):
                return getattr(self.stream, name)

        def pytest_configure(config):
            config.routed = pytest_compat.route_captured_streams(config, Tagged)
        """
    )
    pytester.makepyfile(
        """
        import sys

        def test_prints(request):
            assert request.config.routed
            assert type(sys.stdout).__name__ == "Tagged"
            print("plain words")
        """
    )
    result = pytester.runpytest_subprocess("--capture=fd", "-rP", "-p", "no:sleuth")
    assert result.ret == 0, (
        f"pytest {version('pytest')} no longer installs the file its fd capture "
        f"is handed (FDCapture.syscapture.tmpfile); sleuth's shim in "
        f"src/sleuth/_compat/pytest.py needs updating\n{result.stdout.str()}"
    )
    result.stdout.fnmatch_lines(["*Captured stdout call*", "tagged words"])


def test_pytest_items_can_be_renamed(items):
    item = items["test_words[a]"]
    require(item.keywords, "_markers", package="pytest", shim="pytest")
    if hasattr(item, "_id"):  # pytest 9.2 and later: a structured id
        nodeid = importlib.import_module("_pytest.nodeid")
        require(nodeid, "coerce_node_id", package="pytest", shim="pytest")
    pytest_compat.rename_item(
        item, name="test_words[***]", nodeid="test_x.py::test_words[***]"
    )
    if item.nodeid != "test_x.py::test_words[***]":
        pytest.fail(
            f"pytest {version('pytest')} keeps a node's id neither in Node._id nor "
            "in Node._nodeid; sleuth's shim in src/sleuth/_compat/pytest.py needs "
            "updating (a secret in a test id would stay in it)",
            pytrace=False,
        )
    assert item.name == "test_words[***]"
    assert "test_words[***]" in item.keywords
    assert "test_words[a]" not in item.keywords  # -k no longer finds the old name


FAILING = """
import pytest

def helper(x):
    raise ValueError(f"bad {x}")

@pytest.mark.parametrize("x", ["token-1"])
def test_fails(x):
    local = "token-2"
    try:
        helper(x)
    except ValueError as error:
        raise KeyError(local) from error
"""


def test_pytest_rebuilds_a_failures_text_from_its_serialized_form(
    pytester, pytestconfig
):
    # The scrubber masks a failure's text as plain data and rebuilds it
    # through these two public hooks: nothing the terminal, JUnit or any
    # reporter reads may be lost on the way.
    recorded = pytester.inline_runsource(FAILING, "-p", "no:cacheprovider", "-l")
    (report,) = [r for r in recorded.getreports() if r.when == "call"]
    hook = pytestconfig.hook
    data = hook.pytest_report_to_serializable(config=pytestconfig, report=report)
    rebuilt = hook.pytest_report_from_serializable(config=pytestconfig, data=data)
    seen = (type(rebuilt).__name__, type(rebuilt.longrepr).__name__)
    text = report.longreprtext
    if seen != ("TestReport", type(report.longrepr).__name__) or (
        rebuilt.longreprtext != text
    ):
        pytest.fail(
            f"pytest {version('pytest')} no longer rebuilds a failure's text from "
            f"pytest_report_to_serializable's data (rebuilt as {seen}); sleuth's "
            "ScrubbingPlugin._scrub_longrepr in src/sleuth/plugin/scrubbing.py needs "
            "updating",
            pytrace=False,
        )
    # What the round trip must carry: the chain, the locals, the crash line.
    assert "The above exception was the direct cause" in text
    assert "local      = 'token-2'" in text
    assert rebuilt.longrepr.reprcrash.message == report.longrepr.reprcrash.message
    assert (
        rebuilt.nodeid
        == report.nodeid
        == "test_pytest_rebuilds_a_failures_text_from_its_serialized_form.py::test_fails[token-1]"
    )


def test_a_collection_errors_text_is_serialized_as_its_text(pytester):
    module = pytester.getmodulecol("raise ImportError('token-3')")
    report = module.ihook.pytest_make_collect_report(collector=module)
    config = module.config
    data = config.hook.pytest_report_to_serializable(config=config, report=report)
    assert hasattr(report.longrepr, "toterminal")
    assert data["longrepr"] == str(report.longrepr), (
        f"pytest {version('pytest')} serializes a collection error's text "
        "differently; sleuth's ScrubbingPlugin._scrub_longrepr in "
        "src/sleuth/plugin/scrubbing.py needs updating"
    )
    assert "token-3" in data["longrepr"]


def _helper() -> None:
    raise KeyError("deep")


def _body() -> None:
    _helper()


def _elsewhere() -> None:
    pass


def test_a_traceback_can_start_at_a_rows_body():
    from sleuth.plugin.tables import TableItem

    with pytest.raises(KeyError) as caught:
        _body()
    cut = pytest_compat.traceback_from(caught, _body)
    assert cut is not None
    assert [entry.name for entry in cut] == ["_body", "_helper"]
    assert pytest_compat.traceback_from(caught, len) is None  # no code object
    assert pytest_compat.traceback_from(caught, _elsewhere) is None  # not in it
    # TableItem's override is what pytest calls.
    require(
        pytest.Item, pytest_compat.TRACEBACK_FILTER, package="pytest", shim="pytest"
    )
    mixin = pytest_compat.TracebackFromBody
    assert TableItem._traceback_filter is mixin._traceback_filter


def test_pytest_cuts_a_failures_traceback_where_the_item_says(pytester):
    # End to end: a row's failure shows the row's body and the helper it
    # called, not the frames that ran it.
    pytester.makeconftest(
        """
        import pytest
        from sleuth._compat.pytest import TracebackFromBody

        def body():
            helper()

        def helper():
            raise KeyError("deep")

        def run(function):
            function()

        class Row(TracebackFromBody, pytest.Item):
            def runtest(self):
                run(body)

            def traceback_start(self):
                return body

        class Rows(pytest.File):
            def collect(self):
                yield Row.from_parent(self, name="row")

        def pytest_collect_file(file_path, parent):
            if file_path.suffix == ".rows":
                return Rows.from_parent(parent, path=file_path)
        """
    )
    pytester.makefile(".rows", table="")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    shown = result.stdout.str()
    if "def run(function)" in shown or "def body():" not in shown:
        pytest.fail(
            f"pytest {version('pytest')} no longer starts an item's traceback "
            "where Node._traceback_filter says; sleuth's TracebackFromBody in "
            "src/sleuth/_compat/pytest.py needs updating:\n" + shown,
            pytrace=False,
        )
    assert 'raise KeyError("deep")' in shown
    result = pytester.runpytest("-p", "no:cacheprovider", "--fulltrace")
    assert "def run(function)" in result.stdout.str()  # --fulltrace: no cut


def test_a_secret_in_a_test_id_is_gone_from_the_id_other_plugins_see(pytester):
    # Through the shim, end to end: --lf's cache, xdist and reporters read
    # item.nodeid, not what the terminal shows.
    pytester.makefile(
        ".yaml", sleuth="targets:\n  local:\n    base_url: http://127.0.0.1:9\n"
    )
    pytester.makeconftest(
        """
        def pytest_collection_finish(session):
            with open("ids.txt", "w") as f:
                f.write("\\n".join(item.nodeid for item in session.items))
        """
    )
    pytester.makepyfile(
        test_ids="""
        import pytest, sleuth

        TOKEN = sleuth.secret("canary-id-5d1e07")

        @pytest.mark.parametrize("x", [1], ids=[f"id-{TOKEN}"])
        def test_p(x):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--no-history")
    result.assert_outcomes(passed=1)
    assert (pytester.path / "ids.txt").read_text() == "test_ids.py::test_p[id-***]"


# -- pytest-xdist -------------------------------------------------------------


def test_an_xdist_worker_keeps_what_it_was_sent_where_the_shim_reads_it(pytester):
    # A worker reports, from inside a test, what the shim reads of its share:
    # the test running, the next, and the queue. Read in a real worker.
    pytester.makeconftest(
        """
        import json
        from sleuth._compat import xdist as xdist_compat

        def pytest_runtest_call(item):
            worker = xdist_compat.interactor(item.config.pluginmanager.get_plugins())
            index = item.session.items.index(item)
            with open(f"share-{item.name}.json", "w") as f:
                json.dump([index, xdist_compat.sent_indices(worker)], f)
        """
    )
    pytester.makepyfile(
        "import pytest\n"
        "@pytest.mark.parametrize('n', range(3))\n"
        "def test_n(n):\n    pass\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "1")
    result.assert_outcomes(passed=3)
    for n in range(3):
        path = pytester.path / f"share-test_n[{n}].json"
        if not path.exists():
            pytest.fail(
                f"pytest-xdist {version('pytest-xdist')} no longer keeps a worker's "
                "share in WorkerInteractor.torun; sleuth's shim in "
                "src/sleuth/_compat/xdist.py needs updating",
                pytrace=False,
            )
        index, sent = json.loads(path.read_text())
        # The one running first, then the next (xdist waits to know it), in order.
        assert sent[:2] == list(range(index, min(index + 2, 3)))
    assert xdist_compat.interactor([object()]) is None


def test_a_worker_share_is_read_from_the_queue_xdist_3_6_keeps_too():
    # pytest-xdist 3.6 (the floor) keeps the share in a queue.Queue of its
    # execmodel, not a TestQueue: read under the queue's own mutex.
    import queue
    import types

    torun: queue.Queue[object] = queue.Queue()
    for index in (7, 8, "QUEUE_REPLACED"):
        torun.put(index)
    worker = types.SimpleNamespace(item_index=5, nextitem_index=6, torun=torun)
    assert xdist_compat.sent_indices(worker) == [5, 6, 7, 8]
    assert torun.qsize() == 3  # read, not taken


def test_pytest_unmarks_a_package_for_assertion_rewriting(request):
    hook = request.config.pluginmanager.rewrite_hook
    for name in (rewriting_compat.MARKED, rewriting_compat.DECIDED):
        require(hook, name, package="pytest", shim="rewriting")
    marked = getattr(hook, rewriting_compat.MARKED)
    decided = getattr(hook, rewriting_compat.DECIDED)
    saved = (set(marked), dict(decided))  # this run's own, put back after
    try:
        hook.mark_rewrite("sleuth_probe_pkg", "sleuth_probe_pkgx")
        decided["sleuth_probe_pkg.sub"] = True  # a module pytest saw before
        rewriting_compat.keep_from_rewriting(hook, "sleuth_probe_pkg")
        # The package and its modules are no longer rewritten, a decision
        # taken before included; a package that only shares the prefix is.
        assert "sleuth_probe_pkg" not in marked
        assert "sleuth_probe_pkg.sub" not in decided
        assert "sleuth_probe_pkgx" in marked
    finally:
        marked.clear()
        marked.update(saved[0])
        decided.clear()
        decided.update(saved[1])
