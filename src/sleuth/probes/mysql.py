"""``target.mysql``: is a MySQL or MariaDB server healthy, asked read-only.

The driver is aiomysql: asyncio on the engine's loop over PyMySQL's protocol
code (the well-kept pure-Python driver), so a probe's deadline cancels a call
cleanly and a hundred probes need no thread each. Measured here (MariaDB
10.11, 50 concurrent connect + 3 statements, median of 5): aiomysql 49-56 ms,
asyncmy 40-45 ms, PyMySQL through a 50-thread executor 980-1060 ms (PyMySQL
1.2 builds a TLS context per connection, about 20 ms). asyncmy's edge is a
millisecond a call and needs compiled wheels from one maintainer; PyMySQL in
threads cannot be cancelled at a deadline.

One short session per call, opened without the multi-statement capability (so
the server runs one statement per call): ``SET SESSION TRANSACTION READ ONLY``
at connect, a statement time cap from the probe's remaining time (MariaDB's
``max_statement_time``, MySQL's ``max_execution_time``), never committed,
closed when the call ends.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import ssl
from typing import TYPE_CHECKING, Any, ClassVar

from sleuth import _wireclock as wireclock
from sleuth._compat import aiomysql as aiomysql_compat
from sleuth.engine.context import ProbeContext
from sleuth.errors import CheckFailed, ProbeError, TargetUnreachable
from sleuth.probes import _judge
from sleuth.probes._address import UrlAddress, parse_address
from sleuth.probes._dependency import load, other_error, translate_os_error
from sleuth.probes._sql import Params, SqlAddressOptions, SqlProbe
from sleuth.probes._sql_guard import ReadRules

if TYPE_CHECKING:
    from sleuth._evidence import Category
    from sleuth.probes._judge import Verdict

KIND = "mysql"
DEFAULT_PORT = 3306
# Server error codes (https://mariadb.com/kb/en/mariadb-error-codes/).
_ACCESS_DENIED = {1044, 1045, 1698}
_TOO_MANY_CONNECTIONS = {1040, 1203, 1226}
_STATEMENT_TIME_CAP = {1969, 3024}  # MariaDB, MySQL
_READ_ONLY_TRANSACTION = 1792
_NO_PRIVILEGE = {1227}
# Functions that act outside the transaction even in a read-only one: named
# locks other sessions wait on, sequences, and the best-known shell-running
# UDFs (lib_mysqludf_sys). Matched whole, on lowercased names. SLEEP and
# BENCHMARK stay: the statement time cap ends them. A deny list is never
# complete: the user's grants are the real line (docs/probes.md).
_ACTING_FUNCTIONS = re.compile(
    r"get_lock|release_lock|release_all_locks|nextval|setval|sys_exec|sys_eval"
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MysqlHealth:
    """What one ``check()`` read from the server."""

    target: str  # the address, password masked
    version: str  # "10.11.19-MariaDB-0+deb12u1"
    role: str  # "primary", "replica", or "unknown" without REPLICATION CLIENT
    read_only: bool  # the server's @@read_only
    connections_used: int  # Threads_connected, this probe's own included
    max_connections: int
    threads_running: int
    replication_lag_s: float | None  # Seconds_Behind_Master; None if not replicating
    replica_io_running: str | None  # "Yes", "No", "Connecting"; None off a replica
    replica_sql_running: str | None
    replica_error: str | None  # Last_IO_Error or Last_SQL_Error, when there is one

    def summary(self) -> str:
        flavour = "MariaDB" if "mariadb" in self.version.lower() else "MySQL"
        return f"{flavour} {self.version.split('-')[0]}, {self.role}"

    def figures(self) -> dict[str, object]:
        """The figures as evidence shows them."""
        share = self.connections_used / self.max_connections
        return {
            "version": self.version,
            "role": self.role,
            "read_only": "ON" if self.read_only else "OFF",
            "connections": f"{self.connections_used} of {self.max_connections} "
            f"({share:.0%})",
            "threads running": self.threads_running,
            "replication lag": None
            if self.replication_lag_s is None
            else f"{self.replication_lag_s:g} s",
            "replica IO/SQL threads": None
            if self.replica_io_running is None
            else f"{self.replica_io_running}/{self.replica_sql_running}",
            "replica error": self.replica_error,
        }


class MysqlProbeOptions(SqlAddressOptions, total=False):
    """The options of ``target.mysql(...)`` and of ``services: mysql:``."""

    tls: bool | str  # True to speak TLS


class MysqlProbe(SqlProbe[MysqlHealth]):
    """``target.mysql("shop").check(max_connections_used="80%")``.

    Addressed by ``dsn=`` (or ``url=``), ``mysql://user:password@host:3306/db``
    (``mariadb://`` too; ``?tls=true`` or ``?ssl-mode=REQUIRED`` turn on
    verified TLS), or ``host=``, ``port=``, ``user=``, ``password=``,
    ``database=`` and ``tls=``, which override the URL's parts. Thresholds of
    ``check()``: ``role``, ``max_replication_lag``, ``max_connections_used``
    ("80%" of max_connections, or a count), ``max_threads_running``. A replica
    whose IO or SQL thread is not running always fails ``check()``.
    """

    kind: ClassVar[str] = KIND
    drivers: ClassVar[tuple[str, ...]] = ("aiomysql", "pymysql.constants.CLIENT")
    address_keys: ClassVar[frozenset[str]] = frozenset(
        MysqlProbeOptions.__annotations__
    )
    thresholds: ClassVar[dict[str, _judge.Parser]] = {
        "role": _judge.role,
        "max_replication_lag": _judge.duration,
        "max_connections_used": _judge.limit,
        "max_threads_running": _judge.count,
    }
    check_keys: ClassVar[frozenset[str]] = frozenset(thresholds)
    read_rules: ClassVar[ReadRules] = ReadRules(
        dialect="mysql",
        reads=frozenset(
            {"SELECT", "WITH", "SHOW", "EXPLAIN", "DESCRIBE", "DESC", "VALUES", "TABLE"}
        ),
        acting_functions=_ACTING_FUNCTIONS,
        hash_comments=True,
        dash_comment_needs_space=True,
        executable_comments=True,
        backslash_escapes=True,
    )
    example: ClassVar[str] = "mysql://app@db-1:3306/shop"

    @functools.cached_property
    def _address(self) -> UrlAddress:
        return parse_address(
            self._options,
            kind=KIND,
            where=self._where,
            schemes={"mysql": False, "mariadb": False},
            default_port=DEFAULT_PORT,
            path_key="database",
            example=self.example,
        )

    @property
    def display(self) -> str:
        return self._address.display

    @property
    def server(self) -> str:
        return self._address.server

    async def _connect(self, ctx: ProbeContext) -> Any:
        driver = _driver()
        a = self._address
        conn = await _connect_one_statement_at_a_time(
            driver,
            host=a.host,
            port=a.port,
            user=a.user,
            password=a.password or "",
            db=a.path or None,
            connect_timeout=max(ctx.remaining(), 0.001),
            ssl=ssl.create_default_context() if a.tls else None,
            init_command="SET SESSION TRANSACTION READ ONLY",
            program_name="sleuth",
        )
        remaining = max(ctx.remaining(), 0.001)
        async with conn.cursor() as cursor:
            if "mariadb" in conn.get_server_info().lower():
                await cursor.execute(
                    f"SET SESSION max_statement_time = {remaining:.3f}"
                )
            else:  # MySQL caps SELECTs only; the probe's deadline covers the rest
                await cursor.execute(
                    f"SET SESSION max_execution_time = {max(1, int(remaining * 1000))}"
                )
        return conn

    async def _close(self, conn: Any) -> None:
        conn.close()  # never committed: the server rolls the transaction back

    async def _fetch(self, conn: Any, sql: str, params: Params) -> list[dict[str, Any]]:
        driver = _driver()
        try:
            async with conn.cursor(driver.DictCursor) as cursor:
                await cursor.execute(sql, params)
                rows: list[dict[str, Any]] = list(await cursor.fetchall() or [])
                return rows
        except driver.OperationalError as exc:
            if exc.args and exc.args[0] == _READ_ONLY_TRANSACTION:
                # The server's words say it all: no driver traceback under them.
                raise self._server_refused_write(sql, str(exc.args[1])) from None
            raise

    async def _read_health(self, conn: Any) -> MysqlHealth:
        driver = _driver()
        base = (
            await self._fetch(
                conn,
                "SELECT VERSION() AS version, @@max_connections AS max_connections, "
                "@@read_only AS read_only",
                None,
            )
        )[0]
        status = {
            row["Variable_name"]: int(row["Value"])
            for row in await self._fetch(
                conn,
                "SHOW GLOBAL STATUS WHERE Variable_name IN "
                "('Threads_connected', 'Threads_running')",
                None,
            )
        }
        version = str(base["version"])
        try:
            replica = await self._fetch(conn, _replica_status_sql(version), None)
            role = "replica" if replica else "primary"
        except driver.OperationalError as exc:
            if not (exc.args and exc.args[0] in _NO_PRIVILEGE):
                raise
            replica, role = [], "unknown"
        row = replica[0] if replica else {}
        lag = _column(row, "Seconds_Behind_Source", "Seconds_Behind_Master")
        return MysqlHealth(
            target=self.display,
            version=version,
            role=role,
            read_only=bool(base["read_only"]),
            connections_used=status.get("Threads_connected", 0),
            max_connections=int(base["max_connections"]),
            threads_running=status.get("Threads_running", 0),
            replication_lag_s=None if lag is None else float(lag),
            replica_io_running=_column(row, "Replica_IO_Running", "Slave_IO_Running"),
            replica_sql_running=_column(
                row, "Replica_SQL_Running", "Slave_SQL_Running"
            ),
            replica_error=row.get("Last_IO_Error") or row.get("Last_SQL_Error") or None,
        )

    def _judge(self, health: MysqlHealth, verdict: Verdict) -> None:
        hint = (
            "Check the address points at the intended server: a failover swaps roles."
        )
        if health.role == "unknown":
            if {"role", "max_replication_lag"} & verdict.limits.keys():
                verdict.add(
                    "the server would not say whether it is a replica: SHOW REPLICA "
                    "STATUS needs the REPLICATION CLIENT privilege",
                    "Grant REPLICATION CLIENT (MariaDB: REPLICA MONITOR) to the "
                    "probe's user.",
                )
        else:
            verdict.role(health.role, hint=hint)
        stopped = health.role == "replica" and (
            health.replica_io_running != "Yes" or health.replica_sql_running != "Yes"
        )
        if stopped:
            error = f": {health.replica_error}" if health.replica_error else ""
            verdict.add(
                f"replication is not running (IO thread {health.replica_io_running}, "
                f"SQL thread {health.replica_sql_running}){error}",
                "See SHOW REPLICA STATUS on the replica (Last_IO_Error, "
                "Last_SQL_Error).",
            )
        else:
            verdict.lag(
                health.replication_lag_s,
                is_replica=health.role == "replica",
                hint="Check the replica's SQL thread and the primary's write load.",
            )
        verdict.share(
            "connections in use",
            health.connections_used,
            health.max_connections,
            "max_connections_used",
            hint="Look for a connection leak or an oversized pool (SHOW PROCESSLIST "
            "by user and host), or raise max_connections.",
        )
        verdict.ceiling(
            "threads running",
            health.threads_running,
            "max_threads_running",
            hint="SHOW PROCESSLIST shows what they run; many at once often means "
            "lock waits or a slow query.",
        )

    def _remote(self, conn: Any) -> str | None:
        return wireclock.peer_of(aiomysql_compat.stream_writer(conn))

    def translate_error(self, exc: BaseException) -> ProbeError:
        """The one place aiomysql's exceptions become sleuth's, with a category."""
        driver = _driver()
        what = f"{KIND} {self.display}"
        host, port = self._address.host, self._address.port
        code = exc.args[0] if isinstance(exc, driver.Error) and exc.args else None
        said = str(exc.args[1]) if code is not None and len(exc.args) > 1 else str(exc)

        def unreachable(message: str, category: Category) -> TargetUnreachable:
            return TargetUnreachable(
                f"{what}: {message}", target=what, category=category
            )

        if code == 2003 and exc.__cause__ is not None:  # could not connect
            cause = exc.__cause__
            return translate_os_error(
                cause, what=what, host=host, port=port
            ) or other_error(cause, what=what)
        if code in _ACCESS_DENIED:
            return unreachable(
                f"authentication failed: the server said {said!r}. Check the user, "
                f"the password and the host the grant is for.",
                "auth",
            )
        if code in _TOO_MANY_CONNECTIONS:
            return CheckFailed(
                f"{what}: no free connection: the server said {said!r}. Look for a "
                f"connection leak or a pool sized past max_connections.",
                target=what,
                category="unhealthy",
            )
        if code == 1049:
            return unreachable(f"{said}. Check the database name.", "other")
        if code in _STATEMENT_TIME_CAP:
            return unreachable(
                "the server stopped the statement at its time cap (the probe's "
                "remaining time). Make the query cheaper or give the probe a longer "
                "timeout.",
                "timeout",
            )
        if code in (2006, 2013):
            return unreachable(f"the server closed the connection: {said}", "reset")
        if isinstance(code, int) and not 2000 <= code < 3000:  # not the client's
            return CheckFailed(
                f"{what}: the statement failed: {said} (error {code})",
                target=what,
                category="failed",
            )
        if isinstance(exc, ssl.SSLError):
            return unreachable(f"TLS failed: {exc}", "tls")
        return translate_os_error(exc, what=what, host=host, port=port) or other_error(
            exc, what=what
        )


def _driver() -> Any:
    """aiomysql, imported now; MissingDriver with the pip hint without it."""
    return load("aiomysql", kind=KIND, package="aiomysql", extra="mysql")


async def _connect_one_statement_at_a_time(driver: Any, **options: Any) -> Any:
    """``aiomysql.connect(**options)`` without the multi-statement capability.

    aiomysql always asks for CLIENT.MULTI_STATEMENTS, so the server would run
    "SELECT 1; COMMIT; SET SESSION TRANSACTION READ WRITE; DELETE ..." whole;
    without it the server refuses a second statement (syntax error 1064). The
    flag is read only while the handshake is sent, by the private
    ``Connection._connect()`` that ``aiomysql.connect()`` itself calls (0.2
    to 0.3), reached through ``sleuth._compat.aiomysql``.
    """
    client = load("pymysql.constants.CLIENT", kind=KIND, package="aiomysql", extra=KIND)
    conn = driver.Connection(**options)
    conn.client_flag &= ~client.MULTI_STATEMENTS
    await aiomysql_compat.open_connection(conn)
    return conn


def _replica_status_sql(version: str) -> str:
    """SHOW REPLICA STATUS where the server knows it (MariaDB 10.5.1, MySQL 8.0.22)."""
    numbers = tuple(int(n) for n in re.findall(r"\d+", version.split("-")[0])[:3])
    newer = (10, 5, 1) if "mariadb" in version.lower() else (8, 0, 22)
    return "SHOW REPLICA STATUS" if numbers >= newer else "SHOW SLAVE STATUS"


def _column(row: dict[str, Any], *names: str) -> Any:
    """The first of ``names`` the row has: MySQL renamed its replica columns."""
    return next((row[name] for name in names if name in row), None)
