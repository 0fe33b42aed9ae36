"""An agent's local buffer: the runs a shared store could not take, kept until it can.

An agent writing to a shared (PostgreSQL) store that is unreachable (refused,
timed out, not resolved, the connection lost mid-write) keeps probing: its run
goes, as the rows the store would have taken, into a SQLite file in the suite's
``.sleuth/``, one file per store. The next run that reaches the store writes
every buffered run first, oldest first, each in its own transaction, then its
own. Each run carries a unique key (``run_key``), so a flush cut short and
tried again, or a write whose commit was never acknowledged, stores a run once.

Setting fingerprints are keyed with the store's own key (``HistoryStore.key``)
so that runs from every agent compare. The buffer keeps a copy of that key from
the last time the store was reached (as a SQLite store keeps its own key
beside its fingerprints), and marks each buffered run with a digest of the key
it used. A run buffered before this agent ever reached the store, or under a
key the store no longer has, is written without setting fingerprints: its
settings' sources and states are kept, their values' changes are unknown.

The file name carries the store's host and database and a digest of its URL
without the password; the password is in no file name, line or row.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import hashlib
import json
import os
import re
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from sleuth import _timing as timing
from sleuth._atomicfile import create_file
from sleuth._evidence import RunRecord
from sleuth._localdir import make_dir
from sleuth.history.db import BUSY_TIMEOUT_S, sqlite_pragmas
from sleuth.history.masking import history_scrub
from sleuth.history.rows import RunRows, rows_from_record

if TYPE_CHECKING:
    from sleuth.history.store import HistoryStore

BUFFER_PREFIX = "history-buffer-"
# How far along an exception's causes to look for the network's own error.
_CAUSE_DEPTH = 8

# The driver's words for a store it cannot reach, and ours for them. Anything
# else (a wrong password, no such database, a store from a newer sleuth) is
# not buffered: waiting would not mend it, and the run's summary says so.
_UNREACHABLE_WORDS = (
    ("connection refused", "connection refused"),
    ("timeout expired", "timed out"),
    ("timed out", "timed out"),
    ("could not translate host name", "name not resolved"),
    ("failed to resolve host", "name not resolved"),
    ("name or service not known", "name not resolved"),
    ("temporary failure in name resolution", "name not resolved"),
    ("nodename nor servname", "name not resolved"),
    ("no route to host", "no route to host"),
    ("network is unreachable", "network unreachable"),
    ("server closed the connection unexpectedly", "connection lost"),
    ("terminating connection due to administrator command", "connection lost"),
    ("consuming input failed", "connection lost"),
    ("connection reset", "connection lost"),
    ("the connection is closed", "connection lost"),
    ("the database system is starting up", "starting up"),
    ("the database system is shutting down", "shutting down"),
    ("the database system is in recovery mode", "in recovery"),
)

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS buffer_meta "
    "(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS buffered_runs ("
    "seq INTEGER PRIMARY KEY AUTOINCREMENT, "
    "run_key TEXT NOT NULL UNIQUE, "
    "key_id TEXT, "  # digest of the fingerprint key the rows used; NULL: none
    "buffered_at TEXT NOT NULL, "
    "rows TEXT NOT NULL)",
)


def unreachable_reason(exc: BaseException) -> str | None:
    """A few words on why the store could not be reached, or None when the
    failure is of another kind (which a later run would meet again)."""
    seen: BaseException | None = exc
    for _ in range(_CAUSE_DEPTH):
        if seen is None:
            break
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, socket.gaierror):
            return "name not resolved"
        if isinstance(seen, TimeoutError):
            return "timed out"
        if isinstance(seen, (ConnectionResetError, BrokenPipeError)):
            return "connection lost"
        text = str(seen).lower()
        for words, reason in _UNREACHABLE_WORDS:
            if words in text:
                return reason
        seen = getattr(seen, "orig", None) or seen.__cause__ or seen.__context__
    return None


def url_without_password(url: str) -> str:
    """The store's URL less its password (in the netloc or a ``password=``)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return re.sub(r"//([^:/@]*):[^@/]*@", r"//\1@", url)
    if ":" in host:
        host = f"[{host}]"
    user = f"{parts.username}@" if parts.username else ""
    netloc = f"{user}{host}" + (f":{port}" if port else "")
    query = re.sub(r"(^|&)password=[^&]*", "", parts.query).lstrip("&")
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def buffer_path(url: str, *, local_dir: Path) -> Path:
    """The buffer file for the store at ``url``, under the suite's ``.sleuth/``:
    ``history-buffer-<host>-<database>-<digest>.db``."""
    plain = url_without_password(url)
    digest = hashlib.sha256(plain.encode("utf-8")).hexdigest()[:12]
    parts = urlsplit(plain)
    words = [parts.hostname or "", parts.path.strip("/")]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", "-".join(w for w in words if w))[:60]
    return local_dir / f"{BUFFER_PREFIX}{slug + '-' if slug else ''}{digest}.db"


def key_id(key: bytes) -> str:
    """A digest that tells fingerprint keys apart without giving the key."""
    return hashlib.sha256(b"sleuth fingerprint key id\0" + key).hexdigest()[:16]


def run_rows(
    record: RunRecord,
    *,
    key: bytes | None,
    agent: str,
    git_revision: str | None,
    store_url: str,
) -> RunRows:
    """The rows of ``record`` as the store at ``store_url`` takes them.

    Every text is scrubbed of the run's secrets, its setting values and the
    store's own password. Without ``key`` the rows keep no fingerprints.
    """
    scrub = history_scrub(record.scrub, record.setting_values)
    password = _password(store_url)
    if password:
        inner = scrub
        forms = sorted({password, unquote(password)}, key=len, reverse=True)

        def scrub(text: str) -> str:
            text = inner(text)
            for form in forms:
                text = text.replace(form, "***")
            return text

    rows = rows_from_record(
        record,
        key=key if key is not None else os.urandom(32),
        agent=agent,
        git_revision=git_revision,
        scrub=scrub,
    )
    return rows if key is not None else without_fingerprints(rows)


def without_fingerprints(rows: RunRows) -> RunRows:
    """``rows`` with every setting fingerprint dropped (their key is not the
    store's, so they would read as changed values)."""
    return dataclasses.replace(
        rows,
        settings=[{**s, "fingerprint": None} for s in rows.settings],
        sources=[{**s, "fingerprint": None} for s in rows.sources],
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BufferedRun:
    run_key: str
    key_id: str | None
    rows: RunRows


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Flushed:
    """What a flush wrote: runs stored, runs found stored already (a flush cut
    short before), and runs stored without their fingerprints."""

    written: int = 0
    already_stored: int = 0
    without_fingerprints: int = 0

    @property
    def total(self) -> int:
        return self.written + self.already_stored


class RunBuffer:
    """One store's buffer file (made, with the mode ``open()`` gives, when a
    run is first kept in it or the store's key is first remembered)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def exists(self) -> bool:
        return self.path.exists()

    @contextlib.contextmanager
    def _connect(self, *, create: bool) -> Iterator[sqlite3.Connection]:
        if create:
            make_dir(self.path.parent)
            create_file(self.path)
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            sqlite_pragmas(conn)
            if create:
                for statement in _SCHEMA:
                    conn.execute(statement)
            yield conn
        finally:
            conn.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connect(create=True) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # -- the store's key ------------------------------------------------------------

    def known_key(self) -> bytes | None:
        """The store's fingerprint key as last seen, if this agent ever saw it."""
        if not self.exists:
            return None
        with self._connect(create=True) as conn:
            row = conn.execute(
                "SELECT value FROM buffer_meta WHERE key = 'store_key'"
            ).fetchone()
        return bytes.fromhex(row[0]) if row else None

    def remember_key(self, key: bytes) -> None:
        """Keep the store's key for runs buffered later (written only when new)."""
        if self.known_key() == key:
            return
        with self._write() as conn:
            conn.execute(
                "INSERT INTO buffer_meta (key, value) VALUES ('store_key', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key.hex(),),
            )

    # -- runs ---------------------------------------------------------------------

    def add(self, rows: RunRows, *, run_key: str, key_id: str | None) -> int:
        """Keep one run; returns how many runs now wait in the buffer."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO buffered_runs (run_key, key_id, buffered_at, rows) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (run_key) DO NOTHING",
                (
                    run_key,
                    key_id,
                    timing.utcnow().isoformat(),
                    _dump(rows),
                ),
            )
            return int(conn.execute("SELECT count(*) FROM buffered_runs").fetchone()[0])

    def count(self) -> int:
        if not self.exists:
            return 0
        with self._connect(create=True) as conn:
            return int(conn.execute("SELECT count(*) FROM buffered_runs").fetchone()[0])

    def pending(self) -> list[BufferedRun]:
        """Every buffered run, oldest first."""
        if not self.exists:
            return []
        with self._connect(create=True) as conn:
            found = conn.execute(
                "SELECT run_key, key_id, rows FROM buffered_runs ORDER BY seq"
            ).fetchall()
        return [BufferedRun(run_key=k, key_id=i, rows=_load(r)) for k, i, r in found]

    def remove(self, run_key: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM buffered_runs WHERE run_key = ?", (run_key,))

    def flush(self, store: HistoryStore) -> Flushed:
        """Write every buffered run to ``store``, oldest first, each once.

        Each run is its own transaction and leaves the buffer only once it is
        stored; a flush killed half-way leaves the rest for the next one.

        Raises:
            Exception: the store's, when a run cannot be written; the runs
                not yet written stay in the buffer.
        """
        written = already = unkeyed = 0
        store_key_id = key_id(store.key())
        for run in self.pending():
            rows = run.rows
            if run.key_id != store_key_id:
                rows = without_fingerprints(rows)
                unkeyed += 1
            if store.write_rows(rows, run_key=run.run_key) is None:
                already += 1
            else:
                written += 1
            self.remove(run.run_key)
        return Flushed(
            written=written, already_stored=already, without_fingerprints=unkeyed
        )


def _password(url: str) -> str | None:
    with contextlib.suppress(ValueError):
        password = urlsplit(url).password
        if password:
            return password
    found = re.search(r"(?:^|[?&])password=([^&]+)", url)
    return found.group(1) if found else None


def _dump(rows: RunRows) -> str:
    run = {**rows.run, "started_at": rows.run["started_at"].isoformat()}
    return json.dumps(
        {
            "run": run,
            "results": rows.results,
            "settings": rows.settings,
            "sources": rows.sources,
        }
    )


def _load(text: str) -> RunRows:
    data: dict[str, Any] = json.loads(text)
    run = dict(data["run"])
    run["started_at"] = _dt.datetime.fromisoformat(run["started_at"])
    return RunRows(
        run=run,
        results=data["results"],
        settings=data["settings"],
        sources=data["sources"],
    )
