"""What each receiver kind is sent for one change: JSON built from a ``Change``."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from sleuth.reports.mdtext import counted

# Alertmanager resolves an alert nobody re-sends after its resolve_timeout
# (5 minutes by default). sleuth sends each change once, so a firing alert
# says when it ends: far ahead, until the recovery notice ends it.
FIRING_FOR = _dt.timedelta(days=7)
ALERTNAME = "SleuthProbeFailing"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """A probe's confirmed change of state, as one alert or recovery notice."""

    # "failing" (an alert), "passing" (a recovery notice), or "gone": the
    # alerted probe is no longer in the suite, and its alert is resolved.
    state: str
    target: str
    agent: str
    probe_id: str
    outcome: str  # the latest result: failed, error, blocked, passed, ...; "" gone
    category: str  # the failure's category (the alert's, for a recovery)
    diagnosis: str  # the failure's short cause as the history holds it
    since: _dt.datetime  # when the failing streak began (aware, UTC)
    at: _dt.datetime  # the run that confirmed the change (aware, UTC)
    run_id: int
    after: int  # how many consecutive results it took
    link: str | None = None  # the probe's page

    @property
    def is_alert(self) -> bool:
        return self.state == "failing"

    @property
    def event(self) -> str:
        """The webhook's ``event``: alert, recovery or resolved."""
        return {"failing": "alert", "gone": "resolved"}.get(self.state, "recovery")

    def summary(self) -> str:
        where = f"{self.target} from {self.agent}"
        if self.is_alert:
            in_a_row = counted(self.after, "result")
            return f"{self.probe_id} fails on {where} ({in_a_row} in a row)"
        if self.state == "gone":
            absent = (
                "not in the last run"
                if self.after == 1
                else f"in none of the last {self.after} runs"
            )
            return (
                f"{self.probe_id} is no longer in the suite on {where} "
                f"({absent}): its alert is resolved"
            )
        return f"{self.probe_id} passes again on {where}"


def probe_link(page_url: str | None, probe_id: str, target: str) -> str | None:
    """``<page_url>/probes/<probe id, quoted>?target=<target>``, or None
    without a page. The target is named: a suite run against staging and
    prod has the same probe ids in both, and the page shows one."""
    if not page_url:
        return None
    where = urlencode({"target": target})
    return f"{page_url.rstrip('/')}/probes/{quote(probe_id, safe='')}?{where}"


def build(kind: str, change: Change, *, scrub: Callable[[str], str]) -> bytes:
    """The JSON body for a receiver of ``kind``, every string scrubbed."""
    builders: dict[str, Callable[[Change], Any]] = {
        "webhook": webhook,
        "slack": slack,
        "alertmanager": alertmanager,
    }
    return json.dumps(_scrubbed(builders[kind](change), scrub)).encode("utf-8")


def webhook(change: Change) -> dict[str, Any]:
    return {
        "version": 1,
        "event": change.event,
        "state": change.state,
        "summary": change.summary(),
        "target": change.target,
        "agent": change.agent,
        "probe": change.probe_id,
        "outcome": change.outcome,
        "category": change.category,
        "diagnosis": change.diagnosis,
        "since": _iso(change.since),
        "at": _iso(change.at),
        "run": change.run_id,
        "after": change.after,
        "link": change.link,
    }


def slack(change: Change) -> dict[str, Any]:
    mark = {
        "failing": ":red_circle: FAILING",
        "gone": ":white_circle: RESOLVED",
    }.get(change.state, ":large_green_circle: RECOVERED")
    lines = [f"{mark}: {change.summary()}"]
    if change.is_alert and change.diagnosis:
        lines.append(f"> {change.diagnosis}")
    if change.link:
        lines.append(f"<{change.link}|the probe's page>")
    return {"text": "\n".join(lines)}


def alertmanager(change: Change) -> list[dict[str, Any]]:
    """Alertmanager's v2 ``POST /api/v2/alerts`` body: a list of one alert.

    The labels are the alert's identity: a recovery sends the same ones with
    ``endsAt`` at the recovery, which resolves it.
    """
    ends = change.at + FIRING_FOR if change.is_alert else change.at
    alert: dict[str, Any] = {
        "labels": {
            "alertname": ALERTNAME,
            "target": change.target,
            "probe": change.probe_id,
            "agent": change.agent,
            "category": change.category or "failed",
        },
        "annotations": {
            "summary": change.summary(),
            "diagnosis": change.diagnosis,
        },
        "startsAt": _iso(change.since),
        "endsAt": _iso(ends),
    }
    if change.link:
        alert["generatorURL"] = change.link
    return [alert]


def _iso(moment: _dt.datetime) -> str:
    return moment.astimezone(_dt.UTC).isoformat().replace("+00:00", "Z")


def _scrubbed(value: Any, scrub: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: _scrubbed(v, scrub) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrubbed(v, scrub) for v in value]
    return value
