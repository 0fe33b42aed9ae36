"""A probe removed from the suite while its alert fires: its alert is resolved
once, saying the probe is no longer in the suite; a run that could not collect
the suite resolves nothing."""

from __future__ import annotations

from sleuth.watch.alerts import Alerter
from tests.watch.alerting import alerter_for, run_cycle, write_suite

PROBE = "test_probes.py::test_health"
WITHOUT_HEALTH = """
def test_always_fine(target):
    pass
"""
BROKEN = "def test_always_fine(target):\n    pass(\n"


def cycles(pytester, alerter: Alerter, count: int) -> None:
    for _ in range(count):
        run_cycle(pytester, alerter)


def test_an_alerted_probe_removed_from_the_suite_is_resolved_once(
    pytester, switch, receiver
):
    write_suite(
        pytester,
        target_url=switch.url,
        after=2,
        receivers=[
            f"webhook: {{url: '{receiver.url}/hook'}}",
            f"slack: {{url: '{receiver.url}/slack'}}",
            f"alertmanager: {{url: '{receiver.url}/am'}}",
        ],
    )
    alerter = alerter_for(pytester.path)
    switch.status = 500
    cycles(pytester, alerter, 2)
    assert len(receiver.wait_for(3)) == 3  # the alert, to each receiver

    # A file that cannot be collected is not a probe removed: the run is
    # interrupted (exit 2), and nothing is resolved however long it lasts.
    pytester.path.joinpath("test_probes.py").write_text(BROKEN)
    cycles(pytester, alerter, 3)
    # The probe leaves the suite: one cycle without it is not yet `after`.
    pytester.path.joinpath("test_probes.py").write_text(WITHOUT_HEALTH)
    cycles(pytester, alerter, 1)
    assert alerter.close(timeout_s=10)
    assert len(receiver.bodies()) == 3

    # The second cycle without it resolves the alert once; a restarted watch
    # sends nothing more.
    for _ in range(2):
        alerter = alerter_for(pytester.path)
        cycles(pytester, alerter, 2)
        assert alerter.close(timeout_s=10)
    arrived = receiver.wait_for(6)
    assert len(arrived) == 6, arrived

    by_kind = {path.split("/")[1]: body for path, body in receiver.requests[3:]}
    hook = by_kind["hook"]
    assert (hook["event"], hook["state"], hook["probe"]) == ("resolved", "gone", PROBE)
    assert hook["summary"] == (
        f"{PROBE} is no longer in the suite on local from eu-1 "
        "(in none of the last 2 runs): its alert is resolved"
    )
    assert hook["category"] == "http-5xx"  # the alert's
    assert hook["outcome"] == hook["diagnosis"] == ""
    assert by_kind["slack"]["text"].startswith(f":white_circle: RESOLVED: {PROBE}")
    first = {path.split("/")[1]: body for path, body in receiver.requests[:3]}
    assert first["hook"]["since"] == hook["since"]
    [firing], [resolved] = first["am"], by_kind["am"]
    assert resolved["labels"] == firing["labels"]
    assert resolved["startsAt"] == firing["startsAt"]
    assert resolved["endsAt"] == hook["at"] < firing["endsAt"]
