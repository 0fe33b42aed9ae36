"""``target.redis``: is a Redis server healthy, asked with read commands only.

redis-py's asyncio client on the engine's loop, one short connection per call
(connect, HELLO, CLIENT SETNAME, SELECT, PING, the command, close), no
retries, the probe's remaining time as socket timeouts. Only commands on a
read-only allowlist are sent, checked on the bytes that go out: a write (or
anything unknown) through ``execute()`` is refused before anything leaves.
``check()`` reads ``INFO``: version, role, the replica's link to its primary,
memory against ``maxmemory``, evicted keys, clients against ``maxclients``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict

from sleuth import _timing as timing
from sleuth.engine.context import ProbeContext
from sleuth.errors import (
    CheckFailed,
    ConfigError,
    ProbeError,
    TargetUnreachable,
    WriteRefused,
)
from sleuth.probes import _judge
from sleuth.probes._address import UrlAddress, parse_address
from sleuth.probes._dependency import (
    load,
    other_error,
    record,
    translate_os_error,
    warn_once,
)
from sleuth.probes._redis_commands import (
    # Re-exported: the refusal message and docs/probes.md send readers here.
    READ_COMMANDS as READ_COMMANDS,
    READ_SUBCOMMANDS as READ_SUBCOMMANDS,
    ReadCommand,
    read_command,
    record_answer,
    send_command,
)
from sleuth.probes._sessions import SessionProbe
from sleuth.suite.units import format_bytes

if TYPE_CHECKING:
    import redis.asyncio

    from sleuth._evidence import Category
    from sleuth.probes._judge import Verdict

KIND = "redis"
DEFAULT_PORT = 6379
# The most keys one scan() returns unless told otherwise.
DEFAULT_SCAN_LIMIT = 1000
UNCHECKED_LOGIN = (
    "the server accepted the connection without checking the password: it has none set"
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RedisHealth:
    """What one ``check()`` read from ``INFO``."""

    target: str  # the URL, password masked
    version: str
    role: str  # "primary" or "replica"
    connected_clients: int  # this probe's own included
    max_clients: int | None  # INFO has it from Redis 7
    used_memory: int  # bytes
    max_memory: int  # bytes; 0 when no maxmemory is set
    system_memory: int | None  # the machine's, in bytes
    evicted_keys: int  # since the server started
    keys: int  # in the database this helper uses
    connected_replicas: int
    master_link_status: str | None  # "up" or "down" on a replica
    replication_lag_s: float | None  # a replica: since it last heard its primary

    def summary(self) -> str:
        return f"Redis {self.version}, {self.role}"

    def figures(self) -> dict[str, object]:
        """The figures as evidence shows them."""
        limit = format_bytes(self.max_memory) if self.max_memory else "no maxmemory"
        return {
            "version": self.version,
            "role": self.role,
            "memory": f"{format_bytes(self.used_memory)} of {limit}",
            "evicted keys": self.evicted_keys,
            "clients": f"{self.connected_clients} of {self.max_clients}"
            if self.max_clients
            else self.connected_clients,
            "keys": self.keys,
            "replicas": self.connected_replicas if self.role == "primary" else None,
            "master link": self.master_link_status,
            "last heard from primary": None
            if self.replication_lag_s is None
            else f"{self.replication_lag_s:g} s ago",
        }


class RedisProbeOptions(TypedDict, total=False):
    """The options of ``target.redis(...)`` and of ``services: redis:``."""

    url: str  # redis://host:6379/0 or rediss://...
    host: str
    port: int | str
    user: str
    password: str
    db: int | str  # the database number
    tls: bool | str  # True to speak TLS


class RedisProbe(SessionProbe[RedisHealth]):
    """``target.redis("cache").check(max_memory_used="80%")``, ``.get("key")``.

    Addressed by ``url=`` (``redis://user:password@host:6379/0``, ``rediss://``
    for TLS) and/or ``host=``, ``port=``, ``user=``, ``password=``, ``db=``,
    ``tls=``, which override the URL's parts. Values come back as text
    (undecodable bytes replaced). Thresholds of ``check()``: ``role``,
    ``max_memory_used`` ("80%" of maxmemory, or of the machine's memory when
    none is set; or a size such as "2GB"), ``max_connected_clients`` ("80%" of
    maxclients, or a count), ``max_evicted_keys``, ``max_replication_lag`` (how
    long since a replica last heard from its primary). A replica whose link to
    its primary is down always fails.
    """

    kind: ClassVar[str] = KIND
    drivers: ClassVar[tuple[str, ...]] = ("redis.asyncio",)
    address_keys: ClassVar[frozenset[str]] = frozenset(
        RedisProbeOptions.__annotations__
    )
    thresholds: ClassVar[dict[str, _judge.Parser]] = {
        "role": _judge.role,
        "max_memory_used": _judge.byte_limit,
        "max_connected_clients": _judge.limit,
        "max_evicted_keys": _judge.count,
        "max_replication_lag": _judge.duration,
    }
    check_keys: ClassVar[frozenset[str]] = frozenset(thresholds)
    example: ClassVar[str] = "redis://cache-1:6379/0"

    @functools.cached_property
    def _address(self) -> UrlAddress:
        address = parse_address(
            self._options,
            kind=KIND,
            where=self._where,
            schemes={"redis": False, "rediss": True},
            default_port=DEFAULT_PORT,
            path_key="db",
            example=self.example,
        )
        return address if address.path else dataclasses.replace(address, path="0")

    @property
    def display(self) -> str:
        return self._address.display

    @property
    def server(self) -> str:
        return self._address.server

    # -- read commands ------------------------------------------------------

    def execute(self, *command: Any) -> Any:
        """Send one read command, e.g. ``execute("HGET", "user:1", "name")``.

        Raises:
            WriteRefused: the command is not on the read-only allowlist;
                nothing was sent.
        """
        __tracebackhide__ = True
        checked = read_command(command, display=self.display)
        return self._run(lambda ctx: self._execute(ctx, checked))

    async def aexecute(self, *command: Any) -> Any:
        """``execute()`` for ``async def`` probes."""
        __tracebackhide__ = True
        checked = read_command(command, display=self.display)
        return await self._arun(lambda ctx: self._execute(ctx, checked))

    def get(self, key: str) -> str | None:
        __tracebackhide__ = True
        return self.execute("GET", key)  # type: ignore[no-any-return]

    async def aget(self, key: str) -> str | None:
        return await self.aexecute("GET", key)  # type: ignore[no-any-return]

    def exists(self, *keys: str) -> int:
        """How many of ``keys`` exist."""
        __tracebackhide__ = True
        return int(self.execute("EXISTS", *keys))

    async def aexists(self, *keys: str) -> int:
        return int(await self.aexecute("EXISTS", *keys))

    def ttl(self, key: str) -> int:
        """Seconds ``key`` has left: -1 when it never expires, -2 when it is absent."""
        __tracebackhide__ = True
        return int(self.execute("TTL", key))

    async def attl(self, key: str) -> int:
        return int(await self.aexecute("TTL", key))

    def type(self, key: str) -> str:
        """``string``, ``hash``, ``list``... or ``none`` when it is absent."""
        __tracebackhide__ = True
        return str(self.execute("TYPE", key))

    async def atype(self, key: str) -> str:
        return str(await self.aexecute("TYPE", key))

    def scan(self, match: str = "*", *, limit: int = DEFAULT_SCAN_LIMIT) -> list[str]:
        """Up to ``limit`` key names matching ``match``, by SCAN (never KEYS)."""
        __tracebackhide__ = True
        return self._run(lambda ctx: self._scan(ctx, match, limit))

    async def ascan(
        self, match: str = "*", *, limit: int = DEFAULT_SCAN_LIMIT
    ) -> list[str]:
        return await self._arun(lambda ctx: self._scan(ctx, match, limit))

    # -- on the loop --------------------------------------------------------

    async def _execute(self, ctx: ProbeContext, command: ReadCommand) -> Any:
        __tracebackhide__ = True
        started = timing.perf_counter()
        request = f"{KIND} {command.shown} {self.display}"
        async with self._session(ctx) as client:
            try:
                sent = send_command(client, command, display=self.display)
                answer = await self._step(ctx, request, sent)
            except WriteRefused as refused:  # by the server: evidence, like a failure
                record(
                    ctx, kind=KIND, request=request, started=started, error=str(refused)
                )
                raise
        record_answer(ctx, request=request, started=started, answer=answer)
        return answer

    async def _scan(self, ctx: ProbeContext, match: str, limit: int) -> list[str]:
        __tracebackhide__ = True
        started = timing.perf_counter()
        request = f"{KIND} SCAN MATCH {match} {self.display}"
        keys: list[str] = []
        async with self._session(ctx) as client:
            cursor = 0
            while True:
                command = read_command(
                    ("SCAN", cursor, "MATCH", match, "COUNT", 100),
                    display=self.display,
                )
                sent = send_command(client, command, display=self.display)
                cursor, batch = await self._step(ctx, request, sent)
                keys.extend(batch[: limit - len(keys)])
                if int(cursor) == 0 or len(keys) >= limit:
                    break
        record_answer(ctx, request=request, started=started, answer=keys)
        return keys

    async def _connect(self, ctx: ProbeContext) -> redis.asyncio.Redis:
        driver = _driver()
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        a = self._address
        remaining = max(ctx.remaining(), 0.001)
        client: redis.asyncio.Redis = driver.Redis(
            host=a.host,
            port=a.port,
            ssl=a.tls,
            db=self._db,
            # Named, so every redis-py sends the two-word AUTH a default user
            # with nopass accepts (before 5.1 a lone password went out as the
            # one-word AUTH, which such a server refuses); redis-py falls back
            # to one word for a server older than 6.
            username=a.user or ("default" if a.password else None),
            password=a.password,
            socket_connect_timeout=remaining,
            socket_timeout=remaining,
            retry=Retry(NoBackoff(), 0),  # retries are opt-in; none here
            single_connection_client=True,
            decode_responses=True,
            encoding_errors="replace",
            client_name="sleuth",
        )
        try:
            await client.ping()  # connects and authenticates now, within the step
            if a.password and a.user in (None, "", "default"):
                await _note_unchecked_password(ctx, client, a.password, self.display)
        except BaseException:
            await client.aclose()
            raise
        return client

    async def _close(self, client: redis.asyncio.Redis) -> None:
        await client.aclose()

    async def _read_health(self, client: redis.asyncio.Redis) -> RedisHealth:
        return self._health(await client.info())

    @property
    def _db(self) -> int:
        db = self._address.path or "0"
        if not db.isdigit():
            raise ConfigError(
                f"invalid redis db {db!r}: expected a database number, e.g. 0",
                where=self._where,
            )
        return int(db)

    def _health(self, info: Mapping[str, Any]) -> RedisHealth:
        replica = info.get("role") == "slave"
        keyspace = info.get(f"db{self._db}") or {}
        lag = info.get("master_last_io_seconds_ago") if replica else None
        return RedisHealth(
            target=self.display,
            version=str(info.get("redis_version", "?")),
            role="replica" if replica else "primary",
            connected_clients=int(info.get("connected_clients", 0)),
            max_clients=int(info["maxclients"]) if "maxclients" in info else None,
            used_memory=int(info.get("used_memory", 0)),
            max_memory=int(info.get("maxmemory", 0)),
            system_memory=int(info["total_system_memory"])
            if info.get("total_system_memory")
            else None,
            evicted_keys=int(info.get("evicted_keys", 0)),
            keys=int(keyspace.get("keys", 0)),
            connected_replicas=int(info.get("connected_slaves", 0)),
            master_link_status=info.get("master_link_status") if replica else None,
            # -1 while the link is down; the link's own check says that.
            replication_lag_s=float(lag) if lag is not None and lag >= 0 else None,
        )

    def _judge(self, health: RedisHealth, verdict: Verdict) -> None:
        verdict.role(
            health.role,
            hint="Check the URL points at the intended server: a failover swaps roles.",
        )
        if health.role == "replica" and health.master_link_status != "up":
            verdict.add(
                f"the replica's link to its primary is {health.master_link_status}",
                "See INFO replication on the replica and whether its primary is up.",
            )
        else:
            verdict.lag(
                health.replication_lag_s,
                is_replica=health.role == "replica",
                hint="The replica has not heard from its primary lately: check the "
                "network between them and the primary's load.",
            )
        verdict.share(
            "memory used",
            health.used_memory,
            health.max_memory or health.system_memory,
            "max_memory_used",
            show=format_bytes,
            of_what=" maxmemory"
            if health.max_memory
            else " (the machine's memory: no maxmemory is set)",
            hint="See INFO memory and MEMORY STATS; look for large or unexpiring keys.",
        )
        verdict.share(
            "connected clients",
            health.connected_clients,
            health.max_clients,
            "max_connected_clients",
            of_what=" maxclients",
            hint="CLIENT LIST shows who holds them: look for a leaking pool.",
        )
        verdict.ceiling(
            "evicted keys",
            health.evicted_keys,
            "max_evicted_keys",
            hint="Redis evicts at maxmemory: raise it, or find what fills it.",
        )

    def translate_error(self, exc: BaseException) -> ProbeError:
        """The one place redis-py's exceptions become sleuth's, with a category."""
        _driver()
        from redis import exceptions as errors

        what = f"{KIND} {self.display}"
        host, port = self._address.host, self._address.port
        if isinstance(exc, errors.AuthenticationError):
            return _unreachable(
                what,
                f"authentication failed: the server said {str(exc)!r}. Check the "
                f"user and password.",
                "auth",
            )
        if isinstance(exc, errors.NoPermissionError):
            return CheckFailed(
                f"{what}: the user may not run this: {exc}. Grant it in the ACL.",
                target=what,
                category="auth",
            )
        if isinstance(exc, errors.BusyLoadingError):
            return CheckFailed(
                f"{what}: the server is still loading its dataset into memory",
                target=what,
                category="unhealthy",
            )
        if isinstance(exc, errors.TimeoutError):
            return _unreachable(
                what, f"no answer from {host}:{port} in time", "timeout"
            )
        if isinstance(exc, errors.ConnectionError):
            cause = exc.__cause__ or exc.__context__
            if cause is not None:
                return translate_os_error(
                    cause, what=what, host=host, port=port
                ) or other_error(cause, what=what)
            return _unreachable(what, f"cannot connect: {exc}", "other")
        if isinstance(exc, errors.ResponseError):
            return CheckFailed(
                f"{what}: the command failed: {exc}", target=what, category="failed"
            )
        return translate_os_error(exc, what=what, host=host, port=port) or other_error(
            exc, what=what
        )


async def _note_unchecked_password(
    ctx: ProbeContext, client: redis.asyncio.Redis, password: str, display: str
) -> None:
    """Warn when the server let the default user in without checking the password.

    A default user with ``nopass`` (no ``requirepass``) accepts ``HELLO 3 AUTH
    default <anything>``, so redis-py's login succeeds and says nothing: a
    password that protects nothing, or a probe aimed at the wrong server. The
    one-word ``AUTH <password>`` the server answers differently: OK when the
    default user has that password, "called without any password configured"
    when it has none. Asked only for the default user (the same password sent
    again); for a named user it would be a login as someone else.
    """
    from redis import exceptions as errors

    # On the connection itself, keeping it on an error reply: through
    # execute_command an AuthenticationError would drop it, and the next
    # command would open another.
    connection = client.connection
    if connection is None:
        return
    await connection.send_command("AUTH", password)
    try:
        await connection.read_response(disconnect_on_error=False)
    except (errors.AuthenticationError, errors.ResponseError) as exc:
        said = str(exc).lower()  # anything else (a proxy without AUTH): no clue
        if "without any password" in said or "no password is set" in said:
            warn_once(ctx, f"{KIND} {display}: {UNCHECKED_LOGIN}")


def _driver() -> Any:
    """redis-py's asyncio client, imported now; MissingDriver with the pip hint."""
    return load("redis.asyncio", kind=KIND, package="redis", extra="redis")


def _unreachable(what: str, message: str, category: Category) -> ProbeError:
    return TargetUnreachable(f"{what}: {message}", target=what, category=category)
