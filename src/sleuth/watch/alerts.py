"""Alerts on change: after each watch cycle, say which probes changed state.

A probe's state changes when its last ``after`` results (of this target, from
this agent) all fail after it was passing, or all pass after an alert: shorter
flaps say nothing. What was announced is kept in the store's ``sleuth_alerts``
table, so each change is sent once, also by a restarted watch. Skipped
results are neither passing nor failing: they break a streak.

``Alerter.after_cycle`` never raises and never waits for a receiver: the
deliveries go to ``delivery.Sender``'s thread.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sleuth import redact
from sleuth.errors import ConfigError
from sleuth.history.model import FAILING, PASSING, ProbePoint
from sleuth.history.rows import probe_point, stored_time
from sleuth.suite.alerts import AlertsConfig, ReceiverConfig, check_receiver_url
from sleuth.suite.interpolation import substitute
from sleuth.watch import payloads
from sleuth.watch.delivery import Delivery, Retry, Sender, shown_url
from sleuth.watch.payloads import Change, probe_link

if TYPE_CHECKING:
    from sleuth.history.db import Tx
    from sleuth.history.store import HistoryStore
    from sleuth.suite.config import SuiteConfig, TargetConfig

logger = logging.getLogger("sleuth.watch.alerts")

DEFAULT_CLOSE_TIMEOUT_S = 10.0
MAX_DIAGNOSIS_CHARS = 300
# A URL's path or query at least this long is masked on its own as well
# (``/api/v2/alerts`` is not a secret; a token's path is longer).
_MIN_SECRET_PART = 16

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
_ANNOUNCED = (
    "SELECT probe_id, state, run_id, since, category FROM sleuth_alerts "
    "WHERE target = :target AND agent = :agent"
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Receiver:
    """A receiver with its URL filled in (a secret)."""

    kind: str
    url: str
    timeout_s: float

    def __repr__(self) -> str:
        return f"Receiver(kind={self.kind!r}, to={shown_url(self.url)!r})"


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
        self._sender = Sender(retry=retry or Retry(), scrub=self.scrub)
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
        if target is None:
            target = _default_target(suite, config)
        if target not in suite.targets:
            from sleuth.suite.config import unknown_target_message

            raise ConfigError(
                unknown_target_message(target, suite.targets), where="--target"
            )
        secrets = redact.SecretRegistry(
            secret_words=(*redact.DEFAULT_SECRET_WORDS, *suite.secret_words)
        )
        fill = _filler(suite, suite.targets[target], secrets, environ)
        receivers = [_filled(r, fill, secrets) for r in config.receivers]
        return cls(config, receivers, target=target, retry=retry, secrets=secrets)

    # -- the watch loop's calls ---------------------------------------------

    def after_cycle(self, store: HistoryStore, *, target: str, agent: str) -> None:
        """Read the latest run of ``target`` from ``agent``, send what changed.

        Never raises: a store or receiver problem is logged and the watch goes on.
        """
        try:
            for change in self.changes(store, target=target, agent=agent):
                self._queue(change)
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
        return self._sender.close(timeout_s)

    @property
    def sent(self) -> int:
        """Deliveries that reached their receiver so far."""
        return self._sender.sent

    @property
    def failed(self) -> int:
        """Deliveries given up on so far."""
        return self._sender.failed

    # -- deciding -------------------------------------------------------------

    def changes(self, store: HistoryStore, *, target: str, agent: str) -> list[Change]:
        """The changes the latest run confirms, recorded as announced in the store.

        Recorded before they are sent: a change is announced at most once,
        whatever becomes of its delivery (which is retried, then logged).
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
        found = [
            change
            for probe_id, points in candidates
            if (change := self._change(probe_id, points, announced, params))
        ]
        if not found:
            return []
        return self._record(store, found, target=target, agent=agent)

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
            link=probe_link(self.config.page_url, probe_id),
        )

    def _record(
        self, store: HistoryStore, found: list[Change], *, target: str, agent: str
    ) -> list[Change]:
        """Mark ``found`` as announced; those another process marked meanwhile go."""
        params = {"target": target, "agent": agent}
        kept = []
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
                kept.append(change)
        return kept

    # -- sending --------------------------------------------------------------

    def _queue(self, change: Change) -> None:
        what = f"{'alert' if change.is_alert else 'recovery'} for {change.probe_id}"
        what = self.scrub(what)
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
            self._sender.put(
                Delivery(
                    kind=receiver.kind,
                    url=_endpoint(receiver),
                    body=body,
                    timeout_s=receiver.timeout_s,
                    what=what,
                )
            )

    def scrub(self, text: str) -> str:
        """``text`` with every secret sleuth knows of masked."""
        return redact.scrub(self._secrets.scrub(text))


def _default_target(suite: SuiteConfig, config: AlertsConfig) -> str:
    if suite.default_target is not None:
        return suite.default_target
    names = sorted(suite.targets)
    if len(names) == 1 or not any("${setting:" in r.url for r in config.receivers):
        return names[0]
    raise ConfigError(
        "a receiver's url reads ${setting:...}, and the suite has several "
        f"targets ({', '.join(names)}): name the one whose settings hold it "
        "(--target), or set default_target:",
        where=config.where,
    )


def _endpoint(receiver: Receiver) -> str:
    if receiver.kind == "alertmanager":
        return receiver.url.rstrip("/") + "/api/v2/alerts"
    return receiver.url


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


def _filler(
    suite: SuiteConfig,
    target: TargetConfig,
    secrets: redact.SecretRegistry,
    environ: dict[str, str] | None,
) -> Callable[[str, str], str]:
    resolver = None

    def setting(name: str, where: str) -> str:
        nonlocal resolver
        if resolver is None:
            from sleuth.settings import SettingsResolver, build_source

            resolver = SettingsResolver(
                [build_source(spec, root=suite.root) for spec in target.sources]
            )
        value, lookup = resolver.lookup(name)
        if lookup.is_missing:
            raise ConfigError(
                f"${{setting:{name}}} has no value for target {target.name!r}. "
                f"{lookup.describe()}",
                where=where,
            )
        secrets.add(str(value), name=name)
        return str(value)

    env = os.environ if environ is None else environ

    def fill(text: str, where: str) -> str:
        if "${" not in text:
            return text
        return substitute(
            text,
            {"setting": lambda name: setting(name, where), "env": env.get},
            where=where,
        )

    return fill


def _filled(
    receiver: ReceiverConfig,
    fill: Callable[[str, str], str],
    secrets: redact.SecretRegistry,
) -> Receiver:
    url = fill(receiver.url, receiver.where)
    check_receiver_url(url, kind=receiver.kind, where=receiver.where)
    secrets.add(url)
    # The path and query too: a Slack or webhook token is there, and may
    # show up in a text without the host before it.
    parts = urlsplit(url)
    for part in (parts.path.strip("/"), parts.query):
        if len(part) >= _MIN_SECRET_PART:
            secrets.add(part)
    return Receiver(kind=receiver.kind, url=url, timeout_s=receiver.timeout_s)
