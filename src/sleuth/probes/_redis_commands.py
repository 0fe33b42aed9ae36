"""The redis helper's commands: which it may send, and how an answer is recorded.

A command is sent only when it is on ``READ_COMMANDS`` or is a read
subcommand in ``READ_SUBCOMMANDS``; anything else (a write, a typo, an unknown
command) is refused before it leaves. Evidence shows an answer's shape, never
its value, since a value may be a secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sleuth.context import ProbeContext
from sleuth.errors import WriteRefused
from sleuth.probes._dependency import record

if TYPE_CHECKING:
    import redis.asyncio

READ_COMMANDS = frozenset(
    # a word list reads better than 50 quoted items
    "DBSIZE ECHO EXISTS GET GETRANGE HEXISTS HGET HGETALL HKEYS HLEN HMGET HSCAN "  # noqa: SIM905
    "HSTRLEN HVALS INFO LASTSAVE LINDEX LLEN LPOS LRANGE MGET PFCOUNT PING PTTL "
    "ROLE SCAN SCARD SISMEMBER SMEMBERS SMISMEMBER SRANDMEMBER SSCAN STRLEN TIME "
    "TTL TYPE XLEN XPENDING XRANGE XREVRANGE ZCARD ZCOUNT ZLEXCOUNT ZMSCORE "
    "ZRANGE ZRANGEBYSCORE ZRANK ZREVRANGE ZREVRANK ZSCAN ZSCORE".split()
)
# Commands that read with one subcommand and change things with another.
READ_SUBCOMMANDS: Mapping[str, frozenset[str]] = {
    "CLIENT": frozenset({"GETNAME", "ID", "INFO", "LIST"}),
    "CLUSTER": frozenset({"INFO", "NODES", "SHARDS", "SLOTS"}),
    "CONFIG": frozenset({"GET"}),
    "LATENCY": frozenset({"HISTORY", "LATEST"}),
    "MEMORY": frozenset({"STATS", "USAGE"}),
    "OBJECT": frozenset({"ENCODING", "FREQ", "IDLETIME", "REFCOUNT"}),
    "SLOWLOG": frozenset({"GET", "LEN"}),
    "XINFO": frozenset({"CONSUMERS", "GROUPS", "STREAM"}),
}


def refuse_unless_read(command: tuple[Any, ...], *, display: str) -> None:
    """Raise WriteRefused, before anything is sent, unless ``command`` only reads."""
    __tracebackhide__ = True
    name = str(command[0]).upper() if command else ""
    sub = str(command[1]).upper() if len(command) > 1 else ""
    if name in READ_COMMANDS or sub in READ_SUBCOMMANDS.get(name, ()):
        return
    said = f"{name} {sub}" if name in READ_SUBCOMMANDS else name or "(no command)"
    hint = " Use scan() to list keys." if name == "KEYS" else ""
    raise WriteRefused(
        f"redis {display}: {said} refused: the redis helper sends only "
        f"read commands (GET, EXISTS, TTL, TYPE, SCAN, INFO, HGET, LRANGE, "
        f"...; see READ_COMMANDS). Nothing was sent.{hint}",
        method=said,
        url=display,
    )


async def send_command(client: redis.asyncio.Redis, *command: Any) -> Any:
    return await client.execute_command(*command)  # type: ignore[no-untyped-call]


def record_answer(
    ctx: ProbeContext, *, request: str, started: float, answer: Any
) -> None:
    """Record one command's exchange as evidence, the answer by its shape."""
    record(ctx, kind="redis", request=request, started=started, answer=_shape(answer))


def _shape(answer: Any) -> str:
    """What came back, without the value (a value may be a secret)."""
    if answer is None:
        return "nil"
    if isinstance(answer, bool | int | float):
        return str(answer)
    if isinstance(answer, str):
        return f"a string of {len(answer)} characters"
    if isinstance(answer, list | tuple | set | dict):
        return f"{len(answer)} item{'' if len(answer) == 1 else 's'}"
    return type(answer).__name__
