"""``target.postgres``: is a PostgreSQL server healthy, asked read-only.

psycopg 3's async connection on the engine's loop, one short session per call:
opened with a ``connect_timeout`` and, from the probe's remaining time, a
``statement_timeout``; read-only twice over (``default_transaction_read_only``
for the session, ``BEGIN READ ONLY`` for the transaction, which is never
committed); closed when the call ends. ``check()`` reads the version, the
role, replication lag, connections against ``max_connections``, the oldest
open transaction and the sessions waiting on locks, in one round trip.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from typing import TYPE_CHECKING, Any, ClassVar

from sleuth.context import ProbeContext
from sleuth.errors import CheckFailed, ConfigError, ProbeError, TargetUnreachable
from sleuth.probes import _judge
from sleuth.probes._dependency import load, other_error, translate_os_error
from sleuth.probes._sql import Params, SqlProbe
from sleuth.redact import mask_dsn, mask_url
from sleuth.timing import format_duration

if TYPE_CHECKING:
    import psycopg

    from sleuth.probes._judge import Verdict

KIND = "postgres"

# One round trip. Lag on a replica is zero while it has replayed all it has
# received (an idle primary sends nothing to replay), else the age of the last
# transaction replayed. Only client sessions count against max_connections.
_HEALTH_SQL = """
SELECT current_setting('server_version') AS version,
       pg_is_in_recovery() AS in_recovery,
       current_setting('max_connections')::int AS max_connections,
       (SELECT count(*) FROM pg_stat_activity
         WHERE backend_type = 'client backend') AS connections_used,
       (SELECT count(*) FROM pg_stat_activity
         WHERE wait_event_type = 'Lock') AS lock_waits,
       (SELECT extract(epoch FROM now() - min(xact_start))::float8
          FROM pg_stat_activity
         WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid()
           AND backend_type = 'client backend') AS oldest_transaction_s,
       (SELECT count(*) FROM pg_stat_replication) AS replicas,
       CASE WHEN pg_is_in_recovery() THEN
         CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
              ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())
         END::float8
       END AS replication_lag_s
"""
# option -> libpq parameter
_PARAM_KEYS = {
    "host": "host",
    "port": "port",
    "user": "user",
    "password": "password",
    "database": "dbname",
}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PostgresHealth:
    """What one ``check()`` read from the server."""

    target: str  # the DSN, password masked
    version: str  # "15.20 (Debian 15.20-0+deb12u1)"
    role: str  # "primary" or "replica"
    connections_used: int  # client sessions, this probe's own included
    max_connections: int
    lock_waits: int  # sessions waiting on a lock now
    oldest_transaction_s: float | None  # None: no other transaction is open
    replicas: int  # streaming replicas attached (on a primary)
    replication_lag_s: float | None  # None on a primary, or nothing replayed yet

    def summary(self) -> str:
        return f"PostgreSQL {self.version.split()[0]}, {self.role}"

    def figures(self) -> dict[str, object]:
        """The figures as evidence shows them."""
        share = self.connections_used / self.max_connections
        return {
            "version": self.version,
            "role": self.role,
            "connections": f"{self.connections_used} of {self.max_connections} "
            f"({share:.0%})",
            "replication lag": _seconds(self.replication_lag_s),
            "replicas": self.replicas if self.role == "primary" else None,
            "oldest transaction": _seconds(self.oldest_transaction_s),
            "lock waits": self.lock_waits,
        }


class PostgresProbe(SqlProbe[PostgresHealth]):
    """``target.postgres("orders").check(max_connections_used="80%")``.

    Addressed by ``dsn=`` (or ``url=``): a ``postgresql://`` URL or a libpq
    ``key=value`` string; ``host=``, ``port=``, ``user=``, ``password=`` and
    ``database=`` override its parts. Thresholds of ``check()``: ``role``
    (primary or replica), ``max_replication_lag`` ("5s"),
    ``max_connections_used`` ("80%" of max_connections, or a count),
    ``max_transaction_age`` ("10min"), ``max_lock_waits`` (a count).
    """

    kind: ClassVar[str] = KIND
    address_keys: ClassVar[frozenset[str]] = frozenset({"dsn", "url", *_PARAM_KEYS})
    thresholds: ClassVar[dict[str, _judge.Parser]] = {
        "role": _judge.role,
        "max_replication_lag": _judge.duration,
        "max_connections_used": _judge.limit,
        "max_transaction_age": _judge.duration,
        "max_lock_waits": _judge.count,
    }
    check_keys: ClassVar[frozenset[str]] = frozenset(thresholds)
    reads: ClassVar[frozenset[str]] = frozenset(
        {"SELECT", "WITH", "SHOW", "EXPLAIN", "VALUES", "TABLE"}
    )
    # Functions that act on the server, or elsewhere, from inside a SELECT.
    side_effects: ClassVar[re.Pattern[str]] = re.compile(
        r"\b(pg_terminate_backend|pg_cancel_backend|pg_reload_conf|pg_rotate_logfile"
        r"|pg_switch_wal|pg_promote|pg_file_write|lo_export|lo_import|dblink_exec"
        r"|dblink)\s*\(",
        re.IGNORECASE,
    )
    example: ClassVar[str] = "postgresql://app@db-1:5432/orders"

    @functools.cached_property
    def _params(self) -> dict[str, str]:
        """libpq's connection parameters: the DSN's, the options over them."""
        driver = _driver()
        try:
            params = driver.conninfo.conninfo_to_dict(self._dsn) if self._dsn else {}
        except driver.Error:  # ProgrammingError or OperationalError, by libpq build
            # libpq's message quotes the DSN, password and all: not repeated here.
            raise ConfigError(
                f"invalid postgres dsn {mask_dsn(self._dsn)!r}: libpq cannot read "
                f"it. Expected a URL such as {self.example} or key=value pairs "
                f"such as 'host=db-1 dbname=orders user=app'",
                where=self._where,
            ) from None
        for option, key in _PARAM_KEYS.items():
            if self._options.get(option) is not None:
                params[key] = self._options[option]
        return {key: str(value) for key, value in params.items()}

    @property
    def display(self) -> str:
        p = self._params
        user = p.get("user", "") + (":***" if p.get("password") else "")
        at = "@" if user else ""
        return f"postgresql://{user}{at}{self.server}/{p.get('dbname', '')}"

    @property
    def server(self) -> str:
        p = self._params
        return f"{p.get('host') or 'localhost'}:{p.get('port') or 5432}"

    async def _connect(self, ctx: ProbeContext) -> psycopg.AsyncConnection[Any]:
        driver = _driver()
        remaining = max(ctx.remaining(), 0.001)
        params: dict[str, Any] = dict(self._params)
        # libpq's own minimum is 2 s; the probe's deadline cuts in sooner anyway.
        params["connect_timeout"] = str(max(2, math.ceil(remaining)))
        read_only = (
            "-c default_transaction_read_only=on "
            f"-c statement_timeout={max(1, int(remaining * 1000))}"
        )
        params["options"] = " ".join(filter(None, (params.get("options"), read_only)))
        params.setdefault("application_name", "sleuth")
        conn: psycopg.AsyncConnection[Any] = await driver.AsyncConnection.connect(
            **params
        )
        await conn.set_read_only(True)
        return conn

    async def _close(self, conn: psycopg.AsyncConnection[Any]) -> None:
        await conn.close()  # never committed: the transaction is rolled back

    async def _fetch(
        self, conn: psycopg.AsyncConnection[Any], sql: str, params: Params
    ) -> list[dict[str, Any]]:
        driver = _driver()
        try:
            async with conn.cursor(row_factory=driver.rows.dict_row) as cursor:
                await cursor.execute(sql, params)
                rows: list[dict[str, Any]] = (
                    await cursor.fetchall() if cursor.description else []
                )
                return rows
        except driver.errors.ReadOnlySqlTransaction as exc:
            raise self._server_refused_write(
                sql, exc.diag.message_primary or ""
            ) from exc

    async def _read_health(self, conn: psycopg.AsyncConnection[Any]) -> PostgresHealth:
        row = (await self._fetch(conn, _HEALTH_SQL, None))[0]
        return PostgresHealth(
            target=self.display,
            version=str(row["version"]),
            role="replica" if row["in_recovery"] else "primary",
            connections_used=int(row["connections_used"]),
            max_connections=int(row["max_connections"]),
            lock_waits=int(row["lock_waits"]),
            oldest_transaction_s=row["oldest_transaction_s"],
            replicas=int(row["replicas"]),
            replication_lag_s=row["replication_lag_s"],
        )

    def _judge(self, health: PostgresHealth, verdict: Verdict) -> None:
        verdict.role(
            health.role,
            hint="Check the DSN points at the intended server: a failover swaps roles.",
        )
        verdict.lag(
            health.replication_lag_s,
            is_replica=health.role == "replica",
            hint="Check pg_stat_wal_receiver on the replica and the primary's load.",
        )
        verdict.share(
            "connections in use",
            health.connections_used,
            health.max_connections,
            "max_connections_used",
            hint="Look for a connection leak or an oversized pool (pg_stat_activity "
            "by application_name), or raise max_connections.",
        )
        verdict.ceiling(
            "oldest open transaction",
            health.oldest_transaction_s,
            "max_transaction_age",
            show=format_duration,
            hint="Find it in pg_stat_activity (xact_start, state): an open "
            "transaction holds its locks and holds back vacuum.",
        )
        verdict.ceiling(
            "sessions waiting on locks",
            health.lock_waits,
            "max_lock_waits",
            hint="pg_blocking_pids(pid) names the sessions that hold the locks.",
        )

    def _remote(self, conn: psycopg.AsyncConnection[Any]) -> str | None:
        host = conn.info.hostaddr or conn.info.host
        return f"{host}:{conn.info.port}" if host else None

    def translate_error(self, exc: BaseException) -> ProbeError:
        """The one place psycopg's exceptions become sleuth's, with a category."""
        driver = _driver()
        what = f"{KIND} {self.display}"
        text = mask_url(str(exc))
        said = _server_said(text)
        host, _, port = self.server.rpartition(":")

        def unreachable(message: str, category: str) -> TargetUnreachable:
            return TargetUnreachable(
                f"{what}: {message}", target=what, category=category
            )

        if isinstance(exc, driver.errors.QueryCanceled):
            return unreachable(
                "the server cancelled the statement at its statement_timeout (the "
                "probe's remaining time). Make the query cheaper or give the probe "
                "a longer timeout.",
                "timeout",
            )
        if isinstance(exc, driver.errors.ConnectionTimeout):
            return unreachable(f"no answer from {host}:{port} in time", "timeout")
        if re.search(r"too many (clients|connections)|connection slots are", text):
            return CheckFailed(
                f"{what}: no free connection: the server said {said!r}. It is at "
                f"max_connections: look for a connection leak or a pool sized past it.",
                target=what,
                category="unhealthy",
            )
        if re.search(r"failed to resolve host|could not translate host name", text):
            return unreachable(
                f"the name {host} does not resolve. Check the host name and this "
                f"runner's DNS.",
                "dns",
            )
        if "Connection refused" in text:
            return unreachable(
                f"connection refused by {host}:{port}. Is PostgreSQL running and "
                f"listening there?",
                "refused",
            )
        if re.search(r"authentication failed|role \".*\" does not exist|pg_hba", text):
            return unreachable(
                f"authentication failed: the server said {said!r}. Check the user "
                f"and password (and pg_hba.conf).",
                "auth",
            )
        if re.search(r"database \".*\" does not exist", text):
            return unreachable(f"{said}. Check the database name.", "other")
        if re.search(r"\bSSL\b|certificate", text):
            return unreachable(f"TLS failed: {said}", "tls")
        if re.search(r"server closed the connection|Connection reset", text):
            return unreachable("the server closed the connection", "reset")
        if isinstance(exc, driver.Error) and exc.sqlstate:
            return CheckFailed(
                f"{what}: the statement failed: {exc.diag.message_primary} "
                f"(SQLSTATE {exc.sqlstate})",
                target=what,
                category="failed",
            )
        if isinstance(exc, driver.OperationalError):
            return unreachable(f"cannot connect: {said}", "other")
        return translate_os_error(
            exc, what=what, host=host, port=int(port) if port.isdigit() else None
        ) or other_error(exc, what=what)


def _driver() -> Any:
    """psycopg, imported now; MissingDriver with the pip hint without it."""
    return load("psycopg", kind=KIND, package="psycopg", extra="postgres")


def _server_said(text: str) -> str:
    """The server's words in a libpq message, without the connection preamble."""
    for marker in ("FATAL:", "ERROR:"):
        text = text.rsplit(marker, 1)[-1]
    return " ".join(text.split())


def _seconds(value: float | None) -> str | None:
    return None if value is None else format_duration(value)
