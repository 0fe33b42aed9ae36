"""Alerts on change, end to end: a real suite run again and again against a
target whose answer changes, the history it stores, and a receiver counting
what arrived."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote

from sleuth.suite.config import load_suite_config
from sleuth.watch.alerts import Alerter
from tests.watch.alerting import (
    CANARY,
    alerter_for,
    run_cycle,
    write_suite,
)

HOOK_TOKEN = "T0ALERTS/B0HOOK/hooksecret9d27c1f3"  # noqa: S105 (a planted test secret)
PROBE = "test_probes.py::test_health"


def cycle(pytester, switch, alerter: Alerter, status: int) -> None:
    """One watch cycle with the target answering ``status``."""
    switch.status = status
    run_cycle(pytester, alerter)


def test_an_alert_once_after_n_failures_a_recovery_once_and_no_resend(
    pytester, switch, receiver, caplog
):
    caplog.set_level(logging.DEBUG, logger="sleuth.watch.alerts")
    write_suite(
        pytester,
        target_url=switch.url,
        after=3,
        receivers=[
            "webhook: {url: '${setting:HOOK_URL}'}",
            f"slack: {{url: '{receiver.url}/slack'}}",
            f"alertmanager: {{url: '{receiver.url}/am'}}",
        ],
    )
    with pytester.path.joinpath("deploy.env").open("a") as env:
        env.write(f"HOOK_URL={receiver.url}/hooks/{HOOK_TOKEN}\n")
    alerter = alerter_for(pytester.path)

    # Flaps shorter than three results say nothing.
    for status in (200, 500, 500, 200, 500, 500, 200):
        cycle(pytester, switch, alerter, status)
    assert alerter.close(timeout_s=10)
    assert receiver.bodies() == []

    # Three failures in a row: one alert per receiver, and no more after.
    alerter = alerter_for(pytester.path)
    for status in (500, 500, 500, 500, 500):
        cycle(pytester, switch, alerter, status)
    assert alerter.close(timeout_s=10)
    assert len(receiver.wait_for(3)) == 3

    # A restarted watch does not send it again, nor after a single pass.
    alerter = alerter_for(pytester.path)
    for status in (500, 200, 500, 200, 200):
        cycle(pytester, switch, alerter, status)
    assert alerter.close(timeout_s=10)
    assert len(receiver.bodies()) == 3

    # The third pass in a row: one recovery per receiver, then quiet.
    alerter = alerter_for(pytester.path)
    for status in (200, 200, 200):
        cycle(pytester, switch, alerter, status)
    assert alerter.close(timeout_s=10)
    arrived = receiver.wait_for(6)
    assert len(arrived) == 6
    by_path: dict[str, list[Any]] = {}
    for path, body in receiver.requests:
        by_path.setdefault(path.split("/")[1], []).append(body)
    assert sorted(by_path) == ["am", "hooks", "slack"]
    assert [path for path, _ in receiver.requests if path.startswith("/am")] == [
        "/am/api/v2/alerts"
    ] * 2
    link = f"http://status.example.test/probes/{quote(PROBE, safe='')}?target=local"

    alert, recovery = by_path["hooks"]
    assert (alert["event"], recovery["event"]) == ("alert", "recovery")
    assert (alert["probe"], alert["target"], alert["agent"]) == (PROBE, "local", "eu-1")
    assert (alert["outcome"], alert["category"]) == ("error", "http-5xx")
    assert "/health -> 500 Internal Server Error" in alert["diagnosis"]
    assert alert["diagnosis"].endswith("; health answered 500")
    assert alert["link"] == recovery["link"] == link
    assert alert["after"] == 3
    # The recovery names the streak it ends, and when it ended.
    assert recovery["since"] == alert["since"] < alert["at"] < recovery["at"]

    slack_alert, slack_recovery = by_path["slack"]
    assert set(slack_alert) == {"text"}
    assert slack_alert["text"].startswith(
        f":red_circle: FAILING: {PROBE} fails on local"
    )
    assert "health answered 500" in slack_alert["text"]
    assert link in slack_alert["text"]
    assert "RECOVERED" in slack_recovery["text"]

    [firing], [resolved] = by_path["am"]
    labels = {
        "alertname": "SleuthProbeFailing",
        "target": "local",
        "probe": PROBE,
        "agent": "eu-1",
        "category": alert["category"],
    }
    assert firing["labels"] == resolved["labels"] == labels
    assert firing["annotations"]["diagnosis"] == alert["diagnosis"]
    assert firing["annotations"]["summary"].startswith(f"{PROBE} fails on local")
    assert firing["generatorURL"] == link
    assert firing["startsAt"] == resolved["startsAt"] == alert["since"]
    assert firing["endsAt"] > firing["startsAt"]
    assert resolved["endsAt"] == recovery["at"]

    # Not a byte of a secret anywhere: the canary in the failing answer's
    # evidence, the webhook's token in its URL.
    everything = json.dumps(receiver.bodies()) + caplog.text
    assert CANARY not in everything
    assert HOOK_TOKEN not in everything
    assert HOOK_TOKEN.split("/")[-1] not in caplog.text
    assert "sent to http://127.0.0.1:" in caplog.text


def test_no_alerts_configured_means_no_alerter(tmp_path):
    path = tmp_path / "sleuth.yaml"
    path.write_text("targets:\n  local: {base_url: http://127.0.0.1:1}\n")
    assert (
        Alerter.from_suite(load_suite_config(path, environ={}), target="local") is None
    )
