"""The redis helper's commands: which it may send, and how an answer is recorded.

A command is sent only when it is on ``READ_COMMANDS`` or is a read
subcommand in ``READ_SUBCOMMANDS``; anything else (a write, a typo, an unknown
command) is refused before it leaves. The check is made on the bytes that will
be sent, not on the objects a probe passed: a ``str`` subclass whose
``__str__`` says ``GET`` while its text is ``SET``, or a buffer whose ``len()``
is not its size (which would let data spill into a second command), cannot say
one thing to the check and another to the server. Evidence shows an answer's
shape, never its value, since a value may be a secret.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sleuth.engine.context import ProbeContext
from sleuth.errors import ConfigError, WriteRefused
from sleuth.probes._dependency import record

if TYPE_CHECKING:
    import redis.asyncio

# Each of these only reads: Redis's own COMMAND INFO flags none of them
# "write" or "may_replicate", and its key specs say "RO" (a test checks this
# against the server). PFCOUNT is missing on purpose: it rewrites the cached
# count inside the value, so Redis counts it as a write. EVALSHA_RO and FCALL_RO
# run a script or function already on the server, which the server keeps from
# writing; EVAL_RO is missing because it leaves its script in the server's cache.
READ_COMMANDS = frozenset(
    # a word list reads better than 50 quoted items
    "DBSIZE ECHO EVALSHA_RO EXISTS FCALL_RO GET GETRANGE HEXISTS HGET HGETALL HKEYS "  # noqa: SIM905
    "HLEN HMGET HSCAN HSTRLEN HVALS INFO LASTSAVE LINDEX LLEN LPOS LRANGE MGET PING "
    "PTTL ROLE SCAN SCARD SISMEMBER SMEMBERS SMISMEMBER SORT_RO SRANDMEMBER SSCAN "
    "STRLEN TIME TTL TYPE XLEN XPENDING XRANGE XREVRANGE ZCARD ZCOUNT ZLEXCOUNT "
    "ZMSCORE ZRANGE ZRANGEBYSCORE ZRANK ZREVRANGE ZREVRANK ZSCAN ZSCORE".split()
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
# Why a refused command that looks like a read is not one, and what reads instead.
_SCRIPTS_MAY_WRITE = (
    "a script may write; EVALSHA_RO and FCALL_RO run code the server keeps read-only"
)
_WHY_NOT: Mapping[str, str] = {
    "EVAL": _SCRIPTS_MAY_WRITE,
    "EVALSHA": _SCRIPTS_MAY_WRITE,
    "FCALL": _SCRIPTS_MAY_WRITE,
    "EVAL_RO": "it leaves its script in the server's script cache; load the script "
    "with the application and call it with EVALSHA_RO",
    "GETDEL": "it deletes the key; GET reads it",
    "GETEX": "it changes the key's expiry; GET and TTL read them",
    "KEYS": "it blocks the server while it walks every key; scan() reads the "
    "names in batches",
    "MULTI": "a transaction exists to group writes; send each read on its own",
    "PFCOUNT": "it rewrites the count cached inside the HyperLogLog, which Redis "
    "counts as a write",
    "SORT": "SORT ... STORE writes; SORT_RO reads",
    "XREADGROUP": "it creates the consumer and moves the messages it reads into "
    "the group's pending list; XRANGE, XPENDING and XINFO read without that",
}
# What the server says when a read-only script or function tries to write.
_SCRIPT_WRITE_ERRORS = (
    "Write commands are not allowed from read-only scripts",
    "Can not execute a script with write flag using *_ro command",
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ReadCommand:
    """A command checked to only read, in the exact words that will be sent."""

    name: str  # upper case, one word: "HGET", "CONFIG"
    args: tuple[bytes, ...]

    @property
    def shown(self) -> str:
        """The name and its first argument (a key or subcommand), for evidence."""
        first = self.args[0].decode(errors="replace") if self.args else ""
        return f"{self.name} {first}".rstrip()


def read_command(parts: tuple[Any, ...], *, display: str) -> ReadCommand:
    """The command ``parts`` as it will be sent, or WriteRefused if it is no read.

    Raises:
        WriteRefused: not on the read-only allowlist; nothing was sent.
        ConfigError: a part redis-py could not send either (None, a bool...).
    """
    __tracebackhide__ = True
    words = [_wire_word(part, i, display=display) for i, part in enumerate(parts)]
    # redis-py splits a first word on whitespace ("CONFIG GET" is two words);
    # split it here, so that what is checked is what goes out.
    words = (words[0].split() + words[1:]) if words else []
    name = _ascii_upper(words[0]) if words else ""
    sub = _ascii_upper(words[1]) if len(words) > 1 else ""
    if name in READ_COMMANDS or sub in READ_SUBCOMMANDS.get(name, ()):
        return ReadCommand(name=name, args=tuple(words[1:]))
    if not words:
        said = "(no command)"
    elif name in READ_SUBCOMMANDS:
        said = f"{name} {sub or '(no subcommand)'}"
    else:
        said = name or repr(words[0])
    why = _WHY_NOT.get(name)
    raise WriteRefused(
        f"redis {display}: {said} refused: the redis helper sends only read "
        f"commands (GET, EXISTS, TTL, TYPE, SCAN, INFO, HGET, LRANGE, ...; see "
        f"READ_COMMANDS), with or without --allow-writes"
        f"{f'; {why}' if why else ''}. Nothing was sent.",
        method=said,
        url=display,
    )


async def send_command(
    client: redis.asyncio.Redis, command: ReadCommand, *, display: str
) -> Any:
    """Send a checked command; a write the server stops in a script is refused."""
    from redis.exceptions import ResponseError

    try:
        send = client.execute_command
        return await send(command.name, *command.args)  # type: ignore[no-untyped-call]
    except ResponseError as exc:
        said = str(exc)
        if not said.startswith(_SCRIPT_WRITE_ERRORS):
            raise
        raise WriteRefused(
            f"redis {display}: the server refused a write in {command.shown}: "
            f"{said} The script or function ran read-only, so nothing was changed.",
            method=command.name,
            url=display,
        ) from None


def record_answer(
    ctx: ProbeContext, *, request: str, started: float, answer: Any
) -> None:
    """Record one command's exchange as evidence, the answer by its shape."""
    record(ctx, kind="redis", request=request, started=started, answer=_shape(answer))


def _wire_word(part: Any, index: int, *, display: str) -> bytes:
    """``part`` as the exact bytes redis-py would send for it.

    Base-class methods on purpose: a subclass may override ``__str__``,
    ``encode``, ``__repr__`` or ``__len__``, and then what a check reads would
    not be what the wire carries.
    """
    if isinstance(part, str):
        return str.encode(part, "utf-8", "replace")
    if isinstance(part, bytes | bytearray | memoryview):
        return memoryview(part).tobytes()
    if isinstance(part, int) and not isinstance(part, bool):
        return int.__repr__(part).encode()
    if isinstance(part, float):
        return float.__repr__(part).encode()
    raise ConfigError(
        f"redis {display}: part {index + 1} of the command is "
        f"{type(part).__name__} {part!r}: expected a str, bytes, int or float"
    )


def _ascii_upper(word: bytes) -> str:
    # Redis matches command names case-insensitively in ASCII only; a name
    # that is not ASCII is no command it knows, and stays unequal to all ours.
    return word.upper().decode("ascii", errors="replace")


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
