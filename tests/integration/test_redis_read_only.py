"""target.redis never changes the server: every way round the allowlist, tried.

Against a Redis of this module's own (a redis-server on a free port), so that
what changed there can be counted exactly, and so that a guard that broke
would flush or shut down nothing but that server. After each form the test
compares the server with a snapshot taken before: every key's serialized
value and expiry, the write counter, the config, the script cache, the
functions, a bystander client, and which commands the server ran.
"""

from __future__ import annotations

import array
import contextlib
import hashlib
from collections.abc import Iterator
from importlib.metadata import version
from typing import Any

import pytest

from sleuth.engine import Engine
from sleuth.errors import WriteRefused
from sleuth.probes._redis_commands import READ_COMMANDS, READ_SUBCOMMANDS
from sleuth.target import Target
from tests.integration.asyncprobe import run_async
from tests.integration.conftest import (
    MakeTarget,
    free_port,
    in_probe,
    require_program,
    running,
)

WRITE_SCRIPT = "return redis.call('SET', KEYS[1], 'written')"
PUBLISH_SCRIPT = "return redis.call('PUBLISH', 'news', 'written')"
READ_SCRIPT = "return redis.call('GET', KEYS[1])"
EVAL_RO_SCRIPT = "return 'only read, but cached'"
LIBRARY = """#!lua name=sleuthlib
redis.register_function{function_name='sleuth_w',
  callback=function(keys) return redis.call('SET', keys[1], 'written') end}
redis.register_function{function_name='sleuth_r', flags={'no-writes'},
  callback=function(keys) return redis.call('GET', keys[1]) end}
redis.register_function{function_name='sleuth_sneak', flags={'no-writes'},
  callback=function(keys) return redis.call('SET', keys[1], 'written') end}
"""
# The commands the snapshot itself and the helper's connection send: their
# counts may move; no other command's may.
QUIET = frozenset(
    "hello client|setname client|list select ping info scan dump expiretime "  # noqa: SIM905
    "config|get script|exists function|list".split()
)
# Every command and subcommand the helper may send, as COMMAND INFO names them.
ALLOWED = sorted(name.lower() for name in READ_COMMANDS) + sorted(
    f"{command}|{sub}".lower()
    for command, subs in READ_SUBCOMMANDS.items()
    for sub in subs
)
# A second command hidden in an argument: "SET seed:injected x". It runs only
# if an argument's length prefix is shorter than the bytes that follow it.
INJECTED = b"*3\r\n$3\r\nSET\r\n$13\r\nseed:injected\r\n$1\r\nx"


def sha(script: str) -> str:
    return hashlib.sha1(script.encode()).hexdigest()  # noqa: S324 (Redis's script id)


class LyingStr(str):
    """Says GET when asked, holds SET: the old check asked str()."""

    __slots__ = ()

    def __str__(self) -> str:
        return "GET"


class LyingEncode(str):
    """Is GET, but would encode itself as SET for redis-py."""

    __slots__ = ()

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return b"SET"


class ShortBytes(bytes):
    """A key whose len() is 1: redis-py's length prefix would cover 'k' only."""

    def __len__(self) -> int:
        return 1


def items_not_bytes() -> memoryview:
    """A buffer of 2-byte items: its len() counts items, half its bytes."""
    size = len(INJECTED) + 2
    return memoryview(array.array("H", b"k" * size + b"\r\n" + INJECTED))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private redis-server, seeded, with a bystander client connected."""
    program = require_program("redis-server")
    port = free_port()
    argv = [program, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    argv += ["--appendonly", "no", "--dir", str(tmp_path_factory.mktemp("redis"))]
    with running(argv, port), contextlib.closing(admin(port)) as client:
        client.set("seed:str", "kept")
        client.set("seed:ttl", "kept", ex=3600)
        client.pfadd("seed:hll", "a", "b", "c")  # its cached count is stale now
        client.rpush("seed:list", "b", "a", "c")
        client.sadd("seed:set", "x", "y")
        client.xadd("seed:stream", {"f": "v"})
        client.xgroup_create("seed:stream", "g", id="0")
        client.geoadd("seed:geo", (13.4, 52.5, "berlin"))
        client.script_load(WRITE_SCRIPT)
        client.script_load(PUBLISH_SCRIPT)
        client.script_load(READ_SCRIPT)
        client.function_load(LIBRARY)
        with contextlib.closing(admin(port, client_name="bystander")) as bystander:
            bystander.ping()  # connects, and stays connected
            yield f"redis://127.0.0.1:{port}/0"


def admin(port: int, *, decode: bool = False, **options: Any) -> Any:
    """A direct client for set-up and inspection, not through sleuth."""
    import redis

    return redis.Redis(
        port=port,
        protocol=3,
        decode_responses=decode,
        single_connection_client=True,
        **options,
    )


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


def snapshot(url: str, *, also_quiet: frozenset[str] = frozenset()) -> dict[str, Any]:
    """What a write of any kind would change on the server at ``url``."""
    quiet = QUIET | also_quiet
    with contextlib.closing(admin(port_of(url))) as c:
        keys = sorted(c.scan_iter(count=1000))
        stats = c.info("commandstats")
        return {
            "writes": c.info("persistence")["rdb_changes_since_last_save"],
            "keyspace": {
                db: (space["keys"], space["expires"])  # avg_ttl moves with the clock
                for db, space in c.info("keyspace").items()
            },
            "keys": {k: (c.dump(k), c.execute_command("EXPIRETIME", k)) for k in keys},
            "config": c.config_get("*"),
            "scripts": c.script_exists(
                sha(WRITE_SCRIPT), sha(PUBLISH_SCRIPT), sha(EVAL_RO_SCRIPT)
            ),
            "functions": c.function_list(withcode=True),
            "bystander": [
                (x["id"], x["flags"], x["db"])
                for x in c.client_list()
                if x["name"] == "bystander"
            ],
            "commands run": {
                name.removeprefix("cmdstat_"): stat["calls"]
                for name, stat in stats.items()
                if name.removeprefix("cmdstat_") not in quiet and stat["calls"]
            },
        }


@pytest.fixture
def target(make_target: MakeTarget, server: str) -> Target:
    return make_target(
        f"""
        targets:
          local:
            services:
              redis:
                private: "{server}"
        """
    )


REFUSED_BEFORE_SENDING = [
    pytest.param(("SET", "seed:new", "x"), id="set"),
    pytest.param(("set", "seed:new", "x"), id="lowercase"),
    pytest.param(("sEt", "seed:new", "x"), id="mixed-case"),
    pytest.param((b"SET", b"seed:new", b"x"), id="bytes"),
    pytest.param((bytearray(b"SET"), "seed:new", "x"), id="bytearray"),
    pytest.param(("SET seed:new x",), id="one-string"),
    pytest.param(("  SET\tseed:new x",), id="whitespace-around"),
    pytest.param((LyingStr("SET"), "seed:new", "x"), id="str-subclass-lying-str"),
    # A long s upper-cases to "S": a check on Python's upper() would read SET.
    pytest.param(("ſet", "seed:new", "x"), id="non-ascii-s"),  # noqa: RUF001
    pytest.param(("DEL", "seed:str"), id="del"),
    pytest.param(("UNLINK", "seed:str"), id="unlink"),
    pytest.param(("EXPIRE", "seed:str", 1), id="expire"),
    pytest.param(("PERSIST", "seed:ttl"), id="persist"),
    pytest.param(("RENAME", "seed:str", "seed:moved"), id="rename"),
    pytest.param(("FLUSHALL",), id="flushall"),
    pytest.param(("flushdb", "async"), id="flushdb"),
    pytest.param(("SWAPDB", 0, 1), id="swapdb"),
    pytest.param(("SELECT", 1), id="select"),
    pytest.param(("GETDEL", "seed:str"), id="getdel"),
    pytest.param(("GETEX", "seed:ttl", "PERSIST"), id="getex"),
    pytest.param(("GETSET", "seed:str", "x"), id="getset"),
    pytest.param(("LPOP", "seed:list"), id="lpop"),
    pytest.param(("BLPOP", "seed:list", 0.01), id="blpop"),
    pytest.param(("SPOP", "seed:set"), id="spop"),
    pytest.param(("PFCOUNT", "seed:hll"), id="pfcount"),
    pytest.param(("SORT", "seed:list", "ALPHA", "STORE", "seed:new"), id="sort"),
    pytest.param(
        ("GEORADIUS", "seed:geo", 13, 52, 500, "km", "STORE", "seed:new"),
        id="georadius-store",
    ),
    pytest.param(
        ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "seed:stream", ">"),
        id="xreadgroup",
    ),
    pytest.param(("XAUTOCLAIM", "seed:stream", "g", "c", 0, "0"), id="xautoclaim"),
    pytest.param(("XACK", "seed:stream", "g", "0-1"), id="xack"),
    pytest.param(("XGROUP", "DESTROY", "seed:stream", "g"), id="xgroup-destroy"),
    pytest.param(("EVAL", WRITE_SCRIPT, 1, "seed:str"), id="eval"),
    pytest.param(("EVALSHA", sha(WRITE_SCRIPT), 1, "seed:str"), id="evalsha"),
    pytest.param(("FCALL", "sleuth_w", 1, "seed:str"), id="fcall"),
    pytest.param(("EVAL_RO", EVAL_RO_SCRIPT, 0), id="eval-ro-caches-script"),
    pytest.param(("SCRIPT", "LOAD", EVAL_RO_SCRIPT), id="script-load"),
    pytest.param(("SCRIPT", "FLUSH"), id="script-flush"),
    pytest.param(("FUNCTION", "DELETE", "sleuthlib"), id="function-delete"),
    pytest.param(("FUNCTION", "FLUSH"), id="function-flush"),
    pytest.param(("MULTI",), id="multi"),
    pytest.param(("EXEC",), id="exec"),
    pytest.param(("WATCH", "seed:str"), id="watch"),
    pytest.param(("CONFIG", "SET", "maxmemory", "1mb"), id="config-set"),
    pytest.param(("config set", "maxmemory", "1mb"), id="config-set-one-string"),
    pytest.param(("CONFIG", "set", "maxmemory", "1mb"), id="config-set-lowercase-sub"),
    pytest.param(("CONFIG", "REWRITE"), id="config-rewrite"),
    pytest.param(("CONFIG", "RESETSTAT"), id="config-resetstat"),
    pytest.param(("CONFIG",), id="config-no-subcommand"),
    pytest.param(("CLIENT", "KILL", "TYPE", "normal"), id="client-kill"),
    pytest.param(("CLIENT", "PAUSE", 1, "WRITE"), id="client-pause"),
    pytest.param(("CLIENT", "NO-EVICT", "ON"), id="client-no-evict"),
    pytest.param(("CLIENT", "SETNAME", "x"), id="client-setname"),
    pytest.param(("CLIENT", "REPLY", "OFF"), id="client-reply-off"),
    pytest.param(("DEBUG", "SET-ACTIVE-EXPIRE", 0), id="debug"),
    pytest.param(("SHUTDOWN", "NOSAVE"), id="shutdown"),
    pytest.param(("SAVE",), id="save"),
    pytest.param(("BGSAVE",), id="bgsave"),
    pytest.param(("BGREWRITEAOF",), id="bgrewriteaof"),
    pytest.param(("REPLICAOF", "127.0.0.1", 1), id="replicaof"),
    pytest.param(("SLAVEOF", "NO", "ONE"), id="slaveof"),
    pytest.param(("MIGRATE", "127.0.0.1", 1, "seed:str", 0, 10, "COPY"), id="migrate"),
    pytest.param(("PUBLISH", "news", "x"), id="publish"),
    pytest.param(("SUBSCRIBE", "news"), id="subscribe"),
    pytest.param(("WAIT", 0, 1), id="wait"),
    pytest.param(("MEMORY", "PURGE"), id="memory-purge"),
    pytest.param(("SLOWLOG", "RESET"), id="slowlog-reset"),
    pytest.param(("LATENCY", "RESET"), id="latency-reset"),
    pytest.param(
        ("ACL", "SETUSER", "intruder", "on", ">pw", "+@all"), id="acl-setuser"
    ),
    pytest.param(("ACL", "DELUSER", "default"), id="acl-deluser"),
    pytest.param(("MODULE", "LOAD", "/nonexistent.so"), id="module-load"),
    pytest.param(("CLUSTER", "RESET"), id="cluster-reset"),
    pytest.param(("KEYS", "*"), id="keys"),
    pytest.param((), id="nothing"),
]


@pytest.mark.parametrize("command", REFUSED_BEFORE_SENDING)
def test_refused_before_anything_is_sent(
    target: Target, server: str, command: tuple[Any, ...]
) -> None:
    before = snapshot(server)
    with in_probe() as ctx, pytest.raises(WriteRefused) as refused:
        target.redis("private").execute(*command)
    assert ctx.exchanges == []  # not even a connection
    assert snapshot(server) == before
    message = str(refused.value)
    assert message.startswith(f"redis {server}: ")
    assert " refused: the redis helper sends only read commands " in message
    assert message.endswith(". Nothing was sent.")


@pytest.mark.parametrize(
    ("command", "said"),
    [
        pytest.param(("config set", "maxmemory", "1mb"), "CONFIG SET", id="config"),
        pytest.param((b"client", b"kill"), "CLIENT KILL", id="client-kill"),
        pytest.param(("CLIENT",), "CLIENT (no subcommand)", id="client"),
        pytest.param(("eval", "return 1", 0), "EVAL", id="eval"),
        pytest.param((), "(no command)", id="nothing"),
    ],
)
def test_refusal_names_the_command_as_the_server_would_read_it(
    target: Target, server: str, command: tuple[Any, ...], said: str
) -> None:
    with pytest.raises(WriteRefused) as refused:
        target.redis("private").execute(*command)
    assert str(refused.value).startswith(f"redis {server}: {said} refused: ")
    assert refused.value.method == said


@pytest.mark.parametrize(
    ("command", "why"),
    [
        pytest.param(
            ("PFCOUNT", "seed:hll"),
            "it rewrites the count cached inside the HyperLogLog, which Redis "
            "counts as a write",
            id="pfcount",
        ),
        pytest.param(
            ("EVAL_RO", "return 1", 0),
            "it leaves its script in the server's script cache; load the script "
            "with the application and call it with EVALSHA_RO",
            id="eval-ro",
        ),
        pytest.param(
            ("FCALL", "f", 0),
            "a script may write; EVALSHA_RO and FCALL_RO run code the server keeps "
            "read-only",
            id="fcall",
        ),
        pytest.param(
            ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"),
            "it creates the consumer and moves the messages it reads into the "
            "group's pending list; XRANGE, XPENDING and XINFO read without that",
            id="xreadgroup",
        ),
    ],
)
def test_a_read_that_writes_says_why_and_what_reads_instead(
    target: Target, server: str, command: tuple[Any, ...], why: str
) -> None:
    with pytest.raises(WriteRefused) as refused:
        target.redis("private").execute(*command)
    assert str(refused.value) == (
        f"redis {server}: {command[0]} refused: the redis helper sends only read "
        f"commands (GET, EXISTS, TTL, TYPE, SCAN, INFO, HGET, LRANGE, ...; see "
        f"READ_COMMANDS), with or without --allow-writes; {why}. Nothing was sent."
    )


def test_refused_in_async_probes_too(target: Target, server: str, engine: Engine):
    before = snapshot(server)
    with pytest.raises(WriteRefused, match=r"^redis \S+: FLUSHALL refused: "):
        run_async(engine, lambda: target.redis("private").aexecute("flushall"))
    assert snapshot(server) == before


SENT_AND_HARMLESS = [
    pytest.param(("GET", "seed:str"), "kept", id="get"),
    pytest.param(("GET", "seed:str\r\nFLUSHALL\r\n"), None, id="crlf-in-key"),
    pytest.param(("GET", ShortBytes(b"k\r\n" + INJECTED)), None, id="len-too-short"),
    pytest.param(("GET", items_not_bytes()), None, id="buffer-of-2-byte-items"),
    pytest.param((LyingEncode("GET"), "seed:str"), "kept", id="str-lying-encode"),
    pytest.param(("config get", "maxmemory"), {"maxmemory": "0"}, id="config-get"),
    pytest.param(("OBJECT", "ENCODING", "seed:str"), "embstr", id="object-encoding"),
    pytest.param(("SORT_RO", "seed:list", "ALPHA"), ["a", "b", "c"], id="sort-ro"),
    pytest.param(
        ("EVALSHA_RO", sha(READ_SCRIPT), 1, "seed:str"), "kept", id="evalsha-ro"
    ),
    pytest.param(("FCALL_RO", "sleuth_r", 1, "seed:str"), "kept", id="fcall-ro"),
    pytest.param(
        ("XPENDING", "seed:stream", "g"),
        {"pending": 0, "min": None, "max": None, "consumers": []},
        id="xpending",
    ),
    pytest.param(("CLIENT", "GETNAME"), "sleuth", id="client-getname"),
]


@pytest.mark.parametrize(("command", "answer"), SENT_AND_HARMLESS)
def test_reads_that_look_sneaky_are_sent_and_change_nothing(
    target: Target, server: str, command: tuple[Any, ...], answer: Any
) -> None:
    reads = frozenset(ALLOWED)
    before = snapshot(server, also_quiet=reads)
    config_get = str(command[0]).lower() == "config get"
    if config_get and int(version("redis").split(".")[0]) < 8:
        # redis-py's asyncio client gives CONFIG GET as a flat list before 8.
        answer = [item for pair in answer.items() for item in pair]
    with in_probe() as ctx:
        assert target.redis("private").execute(*command) == answer
    assert [e.error for e in ctx.exchanges] == [None]
    assert snapshot(server, also_quiet=reads) == before


@pytest.mark.parametrize(
    ("command", "said"),
    [
        pytest.param(
            ("EVALSHA_RO", sha(WRITE_SCRIPT), 1, "seed:str"),
            "Write commands are not allowed from read-only scripts",
            id="evalsha-ro-script-that-sets",
        ),
        pytest.param(
            ("EVALSHA_RO", sha(PUBLISH_SCRIPT), 0),
            "Write commands are not allowed from read-only scripts",
            id="evalsha-ro-script-that-publishes",
        ),
        pytest.param(
            ("FCALL_RO", "sleuth_w", 1, "seed:str"),
            "Can not execute a script with write flag using *_ro command",
            id="fcall-ro-function-flagged-to-write",
        ),
        pytest.param(
            ("FCALL_RO", "sleuth_sneak", 1, "seed:str"),
            "Write commands are not allowed from read-only scripts",
            id="fcall-ro-function-flagged-no-writes-that-writes",
        ),
    ],
)
def test_a_write_inside_a_read_only_script_is_refused_by_the_server(
    target: Target, server: str, command: tuple[Any, ...], said: str
) -> None:
    reads = frozenset(ALLOWED)
    before = snapshot(server, also_quiet=reads)
    with in_probe() as ctx, pytest.raises(WriteRefused) as refused:
        target.redis("private").execute(*command)
    assert snapshot(server, also_quiet=reads) == before
    message = str(refused.value)
    assert message.startswith(
        f"redis {server}: the server refused a write in {command[0]} {command[1]}: "
        f"{said}"
    )
    assert message.endswith(
        "The script or function ran read-only, so nothing was changed."
    )
    assert ctx.exchanges[-1].error == message  # evidence, like any failure


def test_every_allowed_command_is_read_only_by_the_servers_own_account(
    server: str,
) -> None:
    """Redis describes each command: its flags, and how it uses each key."""
    with contextlib.closing(admin(port_of(server), decode=True)) as client:
        described = client.execute_command("COMMAND", "INFO", *ALLOWED)
    writes = {}
    for name in ALLOWED:
        info = described.get(name)
        assert info is not None, f"{name} is unknown to this Redis"
        key_flags = {f for spec in info["key_specifications"] for f in spec["flags"]}
        suspect = (set(info["flags"]) & {"write", "may_replicate", "blocking"}) | (
            key_flags & {"RW", "OW", "RM", "insert", "delete", "update"}
        )
        if suspect:
            writes[name] = sorted(suspect)
    assert writes == {}


def test_the_helpers_connection_leaves_nothing_behind(target: Target, server: str):
    """HELLO, CLIENT SETNAME, SELECT and PING belong to its own connection."""
    reads = frozenset(ALLOWED)
    before = snapshot(server, also_quiet=reads)
    with in_probe():
        target.redis("private").check()
        target.redis("private").get("seed:str")
        target.redis("private").scan("seed:*")
    assert snapshot(server, also_quiet=reads) == before
