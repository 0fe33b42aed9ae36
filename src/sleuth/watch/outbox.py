"""Alerts recorded as announced and not yet delivered, kept in the store.

An alert is recorded in ``sleuth_alerts`` (so that it is announced once) in
the same transaction that puts its deliveries here, one row per receiver; a
row goes once its delivery has finished, sent or given up on. A watch that
is killed, or stopped before its receivers answered, leaves its rows behind,
and the next watch of the same target and agent sends them when it starts:
nothing recorded is lost. A delivery that had reached its receiver just
before the kill is sent again (at least once, never not at all).

The receiver is named by a digest of its kind and URL keyed with the store's
key, never by the URL (a webhook's path is its credential); the body is the
payload as built, scrubbed like every output.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import threading
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sleuth import _timing as timing

if TYPE_CHECKING:
    from sleuth.history.db import Tx
    from sleuth.history.store import HistoryStore

logger = logging.getLogger("sleuth.watch.alerts")

_INSERT = (
    "INSERT INTO sleuth_alert_outbox "
    "(key, target, agent, receiver, what, body, created_at) "
    "VALUES (:key, :target, :agent, :receiver, :what, :body, :created_at)"
)
_PENDING = (
    "SELECT key, receiver, what, body FROM sleuth_alert_outbox "
    "WHERE target = :target AND agent = :agent ORDER BY created_at, key"
)
_DELETE = "DELETE FROM sleuth_alert_outbox WHERE key = :key"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Kept:
    """One delivery as the store keeps it until it has finished."""

    key: str
    receiver: str  # receiver_key(): which receiver, without its URL
    what: str
    body: bytes


def new_key() -> str:
    return str(uuid.uuid4())


def receiver_key(store_key: bytes, kind: str, url: str) -> str:
    """The receiver's name in the store: a keyed digest of its kind and URL."""
    digest = hmac.new(store_key, f"{kind}\n{url}".encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def keep(tx: Tx, kept: Iterable[Kept], *, target: str, agent: str) -> None:
    """Put ``kept`` in the outbox, in the caller's transaction."""
    now = timing.utcnow().replace(tzinfo=None)
    for item in kept:
        tx.execute(
            _INSERT,
            {
                "key": item.key,
                "target": target,
                "agent": agent,
                "receiver": item.receiver,
                "what": item.what,
                "body": item.body.decode("utf-8"),
                "created_at": now,
            },
        )


def pending(store: HistoryStore, *, target: str, agent: str) -> list[Kept]:
    """What an earlier watch of ``target`` from ``agent`` left unsent, oldest first."""
    with store.db.read() as tx:
        rows = tx.rows(_PENDING, {"target": target, "agent": agent})
    return [
        Kept(
            key=str(row["key"]),
            receiver=str(row["receiver"]),
            what=str(row["what"]),
            body=str(row["body"]).encode("utf-8"),
        )
        for row in rows
    ]


class Finished:
    """Takes deliveries out of the outbox as they finish, from the sending threads.

    It opens its own connection to the store (the watch opens and closes one
    per cycle) on first use, one thread at a time.
    """

    def __init__(self, url: str) -> None:
        self._url = url
        self._store: HistoryStore | None = None
        self._lock = threading.Lock()
        self._closed = False

    def __call__(self, key: str) -> None:
        """Delivery ``key`` has finished; never raises. After ``close`` (a
        delivery that outlived the watch's wait) the row stays, to be sent again."""
        try:
            with self._lock:
                if self._closed:
                    return
                if self._store is None:
                    from sleuth.history.store import HistoryStore

                    self._store = HistoryStore.open(self._url, create_dir=False)
                with self._store.db.write() as tx:
                    tx.execute(_DELETE, {"key": key})
        except Exception as exc:
            logger.warning(
                "alerts: a finished delivery stays in the store's outbox (%s); "
                "the next watch sends it again",
                type(exc).__name__,
            )

    def drop(self, key: str) -> None:
        """Take ``key`` out without sending it (its receiver is gone)."""
        self(key)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            store, self._store = self._store, None
        if store is not None:
            store.close()
