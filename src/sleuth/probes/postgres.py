"""``target.postgres``: is a PostgreSQL server healthy, asked read-only.

psycopg 3's async connection on the engine's loop, one short session per call:
opened with a ``connect_timeout`` and, from the probe's remaining time, a
``statement_timeout``; read-only twice over (``default_transaction_read_only``
for the session, ``BEGIN READ ONLY`` for the transaction, which is never
committed); every statement sent alone over the extended protocol (pipeline
mode), so a text of several is refused by the server too; closed when the call
ends. ``check()`` reads the version, the
role, replication lag, connections against ``max_connections``, the oldest
open transaction and the sessions waiting on locks, in one round trip.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from typing import TYPE_CHECKING, Any, ClassVar

from sleuth._timing import format_duration
from sleuth.engine.context import ProbeContext
from sleuth.errors import CheckFailed, ConfigError, ProbeError, TargetUnreachable
from sleuth.probes import _judge
from sleuth.probes._dependency import load, other_error, translate_os_error, warn_once
from sleuth.probes._sql import Params, SqlAddressOptions, SqlProbe
from sleuth.probes._sql_guard import ReadRules
from sleuth.redact import mask_dsn, mask_url

if TYPE_CHECKING:
    import psycopg

    from sleuth._evidence import Category
    from sleuth.probes._judge import Verdict

KIND = "postgres"
# libpq says whether the server asked for the password (PQconnectionUsedPassword):
# a login let in by trust, peer or cert while the DSN carries a password is a
# clue (a pg_hba.conf line that trusts too much, or the wrong server).
TRUSTED_LOGIN = (
    "the server let the login in without using the password given: pg_hba.conf "
    "does not ask this connection for one (trust, peer or cert)"
)

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
# Functions that act outside the transaction even in a read-only one (on other
# sessions, the server, its files, replication, the network), or run SQL given
# as text, or change what the session allows; nextval/setval the server refuses
# anyway, but the refusal before sending says why. Matched whole, on lowercased
# names (schema names too: aws_s3.query_export_to_s3), so no catalog view may
# match (pg_replication_slots, pg_file_settings are reads). A deny list is never
# complete: the role's grants are the real line (docs/probes.md).
_ACTING_FUNCTIONS = re.compile(
    r"pg_(terminate|cancel)_backend|pg_reload_conf|pg_rotate_logfile\w*"
    r"|pg_log_backend_memory_contexts|pg_log_standby_snapshot"
    r"|pg_switch_(wal|xlog)|pg_promote|pg_create_restore_point"
    r"|pg_(start|stop)_backup|pg_backup_(start|stop)|pg_(wal|xlog)_replay_\w+"
    r"|pg_(create|copy)_(physical|logical)_replication_slot"
    r"|pg_(drop_replication_slot|replication_slot_advance|sync_replication_slots)"
    r"|pg_logical_slot_get_\w+|pg_logical_emit_message"
    r"|pg_replication_origin_(create|drop|advance|session_setup|session_reset)"
    r"|pg_replication_origin_xact_(setup|reset)|pg_stat_reset\w*|pg_stat_statements_reset"
    r"|pg_file_(write|rename|unlink|sync)|pg_import_system_collations|pg_(try_)?advisory_\w+|pg_notify"
    r"|lo_(import|export|unlink|create|creat|put|from_bytea|truncate\w*)"
    r"|lowrite|dblink\w*|set_config|nextval|setval"
    r"|query_to_xml\w*|cursor_to_xml\w*|ts_stat|ts_rewrite"
    r"|brin_\w*summarize\w*|gin_clean_pending_list|binary_upgrade_\w+|pg_nextoid"
    r"|pg_stop_making_pinned_objects"
    # extensions: a background worker's own transaction, HTTP, AWS (RDS, Aurora)
    r"|pg_background_\w+|http_(get|post|put|patch|delete|head|request)"
    r"|aws_s3|aws_lambda"
)
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


class PostgresProbeOptions(SqlAddressOptions, total=False):
    """The options of ``target.postgres(...)`` and of ``services: postgres:``."""


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
    drivers: ClassVar[tuple[str, ...]] = ("psycopg",)
    address_keys: ClassVar[frozenset[str]] = frozenset(
        PostgresProbeOptions.__annotations__
    )
    thresholds: ClassVar[dict[str, _judge.Parser]] = {
        "role": _judge.role,
        "max_replication_lag": _judge.duration,
        "max_connections_used": _judge.limit,
        "max_transaction_age": _judge.duration,
        "max_lock_waits": _judge.count,
    }
    check_keys: ClassVar[frozenset[str]] = frozenset(thresholds)
    read_rules: ClassVar[ReadRules] = ReadRules(
        dialect="postgres",
        reads=frozenset({"SELECT", "WITH", "SHOW", "EXPLAIN", "VALUES", "TABLE"}),
        acting_functions=_ACTING_FUNCTIONS,
        nested_comments=True,
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
        # standard_conforming_strings=on: the server reads '\' as the guard
        # does (a backslash, not an escape), whatever the database's default.
        read_only = (
            "-c default_transaction_read_only=on "
            "-c standard_conforming_strings=on "
            f"-c statement_timeout={max(1, int(remaining * 1000))}"
        )
        params["options"] = " ".join(filter(None, (params.get("options"), read_only)))
        params.setdefault("application_name", "sleuth")
        conn: psycopg.AsyncConnection[Any] = await driver.AsyncConnection.connect(
            **params
        )
        await conn.set_read_only(True)
        if params.get("password") and not conn.pgconn.used_password:
            warn_once(ctx, f"{KIND} {self.display}: {TRUSTED_LOGIN}")
        return conn

    async def _close(self, conn: psycopg.AsyncConnection[Any]) -> None:
        await conn.close()  # never committed: the transaction is rolled back

    async def _fetch(
        self, conn: psycopg.AsyncConnection[Any], sql: str, params: Params
    ) -> list[dict[str, Any]]:
        driver = _driver()
        try:
            # Pipeline mode sends every statement over the extended protocol
            # (Parse/Bind/Execute), which takes one statement per text: with no
            # parameters psycopg would otherwise use the simple protocol, where
            # "SELECT 1; COMMIT; BEGIN READ WRITE; DELETE ..." runs whole.
            async with (
                conn.pipeline() as pipeline,
                conn.cursor(row_factory=driver.rows.dict_row) as cursor,
            ):
                await cursor.execute(sql, params)
                await pipeline.sync()
                rows: list[dict[str, Any]] = (
                    await cursor.fetchall() if cursor.description else []
                )
                return rows
        except driver.errors.ReadOnlySqlTransaction as exc:
            # Where the write was (a function's statement) says which one it is.
            where = " ".join((exc.diag.context or "").split())
            said = exc.diag.message_primary or ""
            # The server's words say it all: no driver traceback under them.
            raise self._server_refused_write(
                sql, f"{said} ({where})" if where else said
            ) from None

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

        def unreachable(message: str, category: Category) -> TargetUnreachable:
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
