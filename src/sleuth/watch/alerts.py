"""Alerts on change: after each watch cycle, say which probes changed state.

A probe's state changes when its last ``after`` results (of this target, from
this agent) all fail after it was passing, or all pass after an alert: shorter
flaps say nothing. A probe alerted on that is no longer in the suite (no result
in the last ``after`` runs, each of which ran: exit 0 or 1) gets its alert
resolved once, saying so. What was announced is kept in the store's ``sleuth_alerts``
table, so each change is sent once, also by a restarted watch. Skipped
results are neither passing nor failing: they break a streak.

``Alerter.after_cycle`` never raises and never waits for a receiver: the
deliveries go to a thread per receiver (``delivery.Senders``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sleuth import redact
from sleuth.history.model import FAILING, PASSING, ProbePoint
from sleuth.history.rows import probe_point, stored_time
from sleuth.suite.alerts import AlertsConfig
from sleuth.watch import outbox, payloads
from sleuth.watch.delivery import Delivery, Retry, Senders, shown_url
from sleuth.watch.payloads import Change, probe_link
from sleuth.watch.receivers import Receiver, receivers_of

if TYPE_CHECKING:
    from sleuth.history.db import Tx
    from sleuth.history.store import HistoryStore
    from sleuth.suite.config import SuiteConfig

logger = logging.getLogger("sleuth.watch.alerts")

DEFAULT_CLOSE_TIMEOUT_S = 10.0
MAX_DIAGNOSIS_CHARS = 300

_LATEST_RUN = (
    "SELECT max(id) FROM sleuth_runs WHERE target = :target AND agent = :agent"
)
_RESULTS = "SELECT probe_id, outcome FROM sleuth_results WHERE run_id = :run_id"
_POINTS = (
    "SELECT r.run_id, u.started_at, u.agent, r.outcome, r.category, r.duration_s, "
    "r.message FROM sleuth_results r JOIN sleuth_runs u ON u.id = r.run_id "
    "WHERE r.probe_id = :probe_id AND u.target = :target AND u.agent = :agent "
    "AND r.run_id <= :run_id ORDER BY r.run_id DESC LIMIT :limit"
)
# The latest runs of a target from an agent, newest first: a probe missing from
# ``after`` of them, each of which collected and ran the suite, has left it.
_RECENT_RUNS = (
    "SELECT id, started_at, exit_status FROM sleuth_runs "
    "WHERE target = :target AND agent = :agent ORDER BY id DESC LIMIT :limit"
)
_RESULTS_SINCE = (
    "SELECT count(*) FROM sleuth_results r JOIN sleuth_runs u ON u.id = r.run_id "
    "WHERE r.probe_id = :probe_id AND u.target = :target AND u.agent = :agent "
    "AND r.run_id >= :oldest"
)
# pytest's exit statuses of a run that collected the suite and ran it: a
# collection error (2), an internal error (3) or a usage error (4) leaves
# probes out of a run that are still in the suite.
_RAN = frozenset({0, 1})
_ANNOUNCED = (
    "SELECT probe_id, state, run_id, since, category FROM sleuth_alerts "
    "WHERE target = :target AND agent = :agent"
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Announced:
    state: str
    run_id: int
    since: object
    category: str


class Alerter:
    """Decides, after each cycle, which probes changed state, and sends it.

    Build it with ``Alerter.from_suite``; call ``after_cycle`` once a cycle's
    run is in the store, and ``close`` when the watch ends.
    """

    def __init__(
        self,
        config: AlertsConfig,
        receivers: Sequence[Receiver],
        *,
        target: str,
        retry: Retry | None = None,
        secrets: redact.SecretRegistry | None = None,
    ) -> None:
        self.config = config
        self.receivers = tuple(receivers)
        self.target = target
        self._secrets = secrets or redact.SecretRegistry()
        for receiver in self.receivers:
            self._secrets.add(receiver.url)
        self._senders = Senders(
            retry=retry or Retry(), scrub=self.scrub, finished=self._finished
        )
        self._outbox: outbox.Finished | None = None  # from the first cycle's store
        self._closed = False

    @classmethod
    def from_suite(
        cls,
        suite: SuiteConfig,
        *,
        target: str | None = None,
        retry: Retry | None = None,
        environ: dict[str, str] | None = None,
    ) -> Alerter | None:
        """The alerter of ``suite``'s ``alerts:``; None without one.

        ``suite`` is what ``sleuth.suite.config.load_suite_config`` returns (the
        file ``sleuth.suite.discovery.find_config_file`` finds; the whole file,
        not ``only=("history",)``). Receiver URLs' ``${setting:NAME}`` are
        filled in now, from the sources of ``target`` (None: the suite's
        ``default_target``, or its only target).

        Raises:
            ConfigError: an unknown target, a URL's setting with no value, or
                ``${setting:...}`` in a URL with no target to read it from.
        """
        config = suite.alerts
        if config is None:
            return None
        target, receivers, secrets = receivers_of(suite, config, target, environ)
        return cls(config, receivers, target=target, retry=retry, secrets=secrets)

    # -- the watch loop's calls ---------------------------------------------

    def after_cycle(self, store: HistoryStore, *, target: str, agent: str) -> None:
        """Read the latest run of ``target`` from ``agent``, send what changed.

        Never raises: a store or receiver problem is logged and the watch goes on.
        """
        try:
            if self._outbox is None:  # the first cycle: what an earlier watch left
                # In place before the first resumed delivery can finish, so
                # that one is taken out of the outbox too (not sent again).
                self._outbox = finished = outbox.Finished(store.db.url)
                try:
                    self._resume(store, finished, target=target, agent=agent)
                except BaseException:
                    self._outbox = None  # tried again after the next cycle
                    finished.close()
                    raise
            for delivery in self.announce(store, target=target, agent=agent):
                self._senders.put(delivery)
        except Exception as exc:
            logger.warning(
                "alerts: could not read the history to decide alerts (%s: %s); "
                "the next cycle tries again",
                type(exc).__name__,
                self.scrub(str(exc))[:300],
            )

    def close(self, timeout_s: float = DEFAULT_CLOSE_TIMEOUT_S) -> bool:
        """Send what is queued, for at most ``timeout_s``; True when all went out."""
        if self._closed:
            return True
        self._closed = True
        try:
            return self._senders.close(timeout_s)
        finally:
            if self._outbox is not None:
                self._outbox.close()

    @property
    def sent(self) -> int:
        """Deliveries that reached their receiver so far."""
        return self._senders.sent

    @property
    def failed(self) -> int:
        """Deliveries given up on so far."""
        return self._senders.failed

    # -- deciding -------------------------------------------------------------

    def announce(
        self, store: HistoryStore, *, target: str, agent: str
    ) -> list[Delivery]:
        """The deliveries of the changes the latest run confirms, recorded as
        announced in the store, and kept in its outbox until they finish.

        Recorded before they are sent: a change is announced at most once,
        and its deliveries are sent at least once (retried, then logged),
        by this watch or, if it is killed first, by the next.
        """
        after = self.config.after
        params = {"target": target, "agent": agent}
        with store.db.read() as tx:
            latest = tx.scalar(_LATEST_RUN, params)
            if latest is None:
                return []
            results = tx.rows(_RESULTS, {"run_id": latest})
            announced = _announced(tx, params)
            candidates: list[tuple[str, list[ProbePoint]]] = []
            for row in sorted(results, key=lambda r: str(r["probe_id"])):
                outcome = row["outcome"]
                if outcome not in PASSING and outcome not in FAILING:
                    continue
                was = announced.get(row["probe_id"])
                was_failing = was is not None and was.state == "failing"
                if (outcome in FAILING) == was_failing:
                    continue  # no change in sight: no more reads
                points = [
                    probe_point(p)
                    for p in tx.rows(
                        _POINTS,
                        {
                            **params,
                            "probe_id": row["probe_id"],
                            "run_id": latest,
                            "limit": after,
                        },
                    )
                ]
                candidates.append((row["probe_id"], points))
            present = {str(row["probe_id"]) for row in results}
            gone = self._gone(tx, present, announced, params)
        found = [
            change
            for probe_id, points in candidates
            if (change := self._change(probe_id, points, announced, params))
        ]
        found += gone
        if not found:
            return []
        return self._record(store, found, target=target, agent=agent)

    def _resume(
        self,
        store: HistoryStore,
        finished: outbox.Finished,
        *,
        target: str,
        agent: str,
    ) -> None:
        """Queue what an earlier watch of ``target`` from ``agent`` left unsent."""
        by_key = {
            outbox.receiver_key(store.key(), r.kind, r.url): r for r in self.receivers
        }
        for kept in outbox.pending(store, target=target, agent=agent):
            receiver = by_key.get(kept.receiver)
            if receiver is None:
                logger.warning(
                    "alerts: %s, left unsent by an earlier watch, was for a "
                    "receiver no longer in alerts: dropped",
                    kept.what,
                )
                finished.drop(kept.key)
                continue
            logger.info(
                "alerts: %s to %s was left unsent by an earlier watch: sending it",
                kept.what,
                shown_url(receiver.url),
            )
            self._senders.put(
                Delivery(
                    kind=receiver.kind,
                    url=receiver.endpoint,
                    body=kept.body,
                    timeout_s=receiver.timeout_s,
                    what=kept.what,
                    key=kept.key,
                )
            )

    def _finished(self, key: str) -> None:
        if self._outbox is not None:
            self._outbox(key)

    def _change(
        self,
        probe_id: str,
        points: list[ProbePoint],
        announced: dict[str, _Announced],
        params: dict[str, str],
    ) -> Change | None:
        after = self.config.after
        if len(points) < after:
            return None
        if all(p.outcome in FAILING for p in points):
            state = "failing"
        elif all(p.outcome in PASSING for p in points):
            state = "passing"
        else:
            return None
        was = announced.get(probe_id)
        if state == "passing" and (was is None or was.state != "failing"):
            return None
        if state == "failing" and was is not None and was.state == "failing":
            return None
        newest, oldest = points[0], points[-1]
        failing = state == "failing"
        return Change(
            state=state,
            target=params["target"],
            agent=params["agent"],
            probe_id=probe_id,
            outcome=newest.outcome,
            category=newest.category if failing else (was.category if was else ""),
            diagnosis=_diagnosis(newest.message) if failing else "",
            since=oldest.started_at
            if failing or was is None
            else stored_time(was.since),
            at=newest.started_at,
            run_id=newest.run_id,
            after=after,
            link=probe_link(self.config.page_url, probe_id, params["target"]),
        )

    def _gone(
        self,
        tx: Tx,
        present: set[str],
        announced: dict[str, _Announced],
        params: dict[str, str],
    ) -> list[Change]:
        """Resolutions for the alerted probes the suite no longer has."""
        missing = sorted(
            probe_id
            for probe_id, was in announced.items()
            if was.state == "failing" and probe_id not in present
        )
        if not missing:
            return []
        after = self.config.after
        recent = tx.rows(_RECENT_RUNS, {**params, "limit": after})
        if len(recent) < after or any(r["exit_status"] not in _RAN for r in recent):
            return []
        newest, oldest = recent[0], recent[-1]
        changes = []
        for probe_id in missing:
            seen = tx.scalar(
                _RESULTS_SINCE, {**params, "probe_id": probe_id, "oldest": oldest["id"]}
            )
            if seen:
                continue
            was = announced[probe_id]
            changes.append(
                Change(
                    state="gone",
                    target=params["target"],
                    agent=params["agent"],
                    probe_id=probe_id,
                    outcome="",
                    category=was.category,
                    diagnosis="",
                    since=stored_time(was.since),
                    at=stored_time(newest["started_at"]),
                    run_id=int(newest["id"]),
                    after=after,
                    link=probe_link(self.config.page_url, probe_id, params["target"]),
                )
            )
        return changes

    def _record(
        self, store: HistoryStore, found: list[Change], *, target: str, agent: str
    ) -> list[Delivery]:
        """Mark ``found`` as announced, and keep their deliveries in the outbox;
        those another process marked meanwhile go."""
        params = {"target": target, "agent": agent}
        store_key = store.key()
        deliveries: list[Delivery] = []
        with store.db.write() as tx:
            now = _announced(tx, params)
            for change in found:
                was = now.get(change.probe_id)
                if was is not None and (
                    was.state == change.state or was.run_id >= change.run_id
                ):
                    continue
                tx.execute(
                    "DELETE FROM sleuth_alerts WHERE target = :target "
                    "AND agent = :agent AND probe_id = :probe_id",
                    {**params, "probe_id": change.probe_id},
                )
                tx.execute(
                    "INSERT INTO sleuth_alerts "
                    "(target, agent, probe_id, state, run_id, since, category) "
                    "VALUES (:target, :agent, :probe_id, :state, :run_id, :since, "
                    ":category)",
                    {
                        **params,
                        "probe_id": change.probe_id,
                        "state": change.state,
                        "run_id": change.run_id,
                        "since": change.since.replace(tzinfo=None),
                        "category": change.category,
                    },
                )
                made = self._deliveries(change)
                outbox.keep(
                    tx,
                    [
                        outbox.Kept(
                            key=d.key,
                            receiver=outbox.receiver_key(store_key, r.kind, r.url),
                            what=d.what,
                            body=d.body,
                        )
                        for r, d in made
                    ],
                    **params,
                )
                deliveries += [d for _, d in made]
        return deliveries

    # -- sending --------------------------------------------------------------

    def _deliveries(self, change: Change) -> list[tuple[Receiver, Delivery]]:
        """``change`` built for each receiver (one that fails to build is logged)."""
        what = f"{change.event} for {change.probe_id}"
        what = self.scrub(what)
        made = []
        for receiver in self.receivers:
            try:
                body = payloads.build(receiver.kind, change, scrub=self.scrub)
            except Exception as exc:  # a bug: say so, send the rest
                logger.warning(
                    "alerts: %s for %s not built (%s, a bug in sleuth)",
                    what,
                    shown_url(receiver.url),
                    type(exc).__name__,
                )
                continue
            delivery = Delivery(
                kind=receiver.kind,
                url=receiver.endpoint,
                body=body,
                timeout_s=receiver.timeout_s,
                what=what,
                key=outbox.new_key(),
            )
            made.append((receiver, delivery))
        return made

    def scrub(self, text: str) -> str:
        """``text`` with every secret sleuth knows of masked."""
        return redact.scrub(self._secrets.scrub(text))


def _announced(tx: Tx, params: dict[str, str]) -> dict[str, _Announced]:
    return {
        row["probe_id"]: _Announced(
            state=row["state"],
            run_id=int(row["run_id"]),
            since=row["since"],
            category=row["category"],
        )
        for row in tx.rows(_ANNOUNCED, params)
    }


def _diagnosis(message: str) -> str:
    """The first line of a stored message, cut to one line of a screen."""
    line = next((part.strip() for part in message.splitlines() if part.strip()), "")
    if len(line) > MAX_DIAGNOSIS_CHARS:
        line = line[: MAX_DIAGNOSIS_CHARS - 1] + "…"
    return line
