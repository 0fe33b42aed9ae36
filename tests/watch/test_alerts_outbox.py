"""An alert recorded as announced is delivered even when the watch that
recorded it is killed first: the next watch sends what the store's outbox
kept, once, and the outbox is empty after."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from sleuth.demo.server import BackgroundServer
from sleuth.history.store import HistoryStore
from sleuth.watch.delivery import Retry
from tests.watch.alerting import FAST, Receiver, closed_port, serve
from tests.watch.conftest import STATE_PROBE, Target, write_suite
from tests.watch.stored import PROBE as STORED_PROBE, alerter, cycles

WAIT_S = 60.0
TOKEN = "T0OUTBOX/B0HOOK/outboxsecret5c1e"  # noqa: S105 (a planted test secret)
SLEUTH_WATCH = (sys.executable, "-m", "sleuth", "watch")
PROBE = "test_probes.py::test_state_is_ok"


def kept(store: Path) -> int:
    """Rows in the store's outbox (0 before the store has the table)."""
    if not store.exists():
        return 0
    with sqlite3.connect(store) as db:
        try:
            return int(
                db.execute("SELECT count(*) FROM sleuth_alert_outbox").fetchone()[0]
            )
        except sqlite3.OperationalError:  # the watch has not made the table yet
            return 0


def children_of(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def watch(suite: Path, store: Path, cycles: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *SLEUTH_WATCH,
            *("--every", "1s", "--jitter", "0", "--cycles", str(cycles)),
            *("--history", f"sqlite:///{store}", "-q", "-p", "no:cacheprovider"),
        ],
        cwd=suite,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its group, cycles included, is killed below
    )


def test_an_alert_left_unsent_by_a_killed_watch_is_sent_by_the_next(
    tmp_path: Path, target_app: Target
) -> None:
    port = closed_port()  # the receiver is down while the first watch runs
    suite = write_suite(tmp_path / "suite", target_app.url, STATE_PROBE)
    config = suite / "sleuth.yaml"
    config.write_text(
        config.read_text() + f"alerts:\n  after: 1\n  to:\n"
        f"    - webhook: {{url: 'http://127.0.0.1:{port}/hook'}}\n"
    )
    target_app.switch.status = 500
    store = tmp_path / "watch.db"

    first = watch(suite, store, cycles=100)
    try:
        deadline = time.monotonic() + WAIT_S
        while kept(store) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert kept(store) == 1  # recorded, and being retried against a refusal
    finally:
        cycles_running = children_of(first.pid)  # each in a group of its own
        for pgid in [first.pid, *cycles_running]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
        first.communicate(timeout=WAIT_S)
    assert first.returncode == -signal.SIGKILL

    receiver = Receiver()
    with BackgroundServer(receiver.app(), port=port):
        second = watch(suite, store, cycles=2)
        out, err = second.communicate(timeout=WAIT_S)
        assert second.returncode == 0, out + err
        bodies = receiver.wait_for(1)
    # The probe still fails: no new change, only the kept alert, sent once.
    assert len(bodies) == 1, bodies
    assert (bodies[0]["event"], bodies[0]["probe"]) == ("alert", PROBE)
    assert kept(store) == 0
    with sqlite3.connect(store) as db:
        announced = db.execute("SELECT probe_id, state FROM sleuth_alerts").fetchall()
    assert announced == [(PROBE, "failing")]


def outbox_rows(store: HistoryStore) -> list[dict[str, object]]:
    with store.db.read() as tx:
        return tx.rows("SELECT receiver, what, body FROM sleuth_alert_outbox")


def test_a_delivery_cut_short_by_the_watch_stopping_is_kept_and_sent_next_time(
    tmp_path, caplog
):
    caplog.set_level(logging.INFO, logger="sleuth.watch.alerts")
    store = HistoryStore.open(f"sqlite:///{tmp_path}/h.db")
    port = closed_port()
    slow = Retry(attempts=5, first_backoff_s=30, max_backoff_s=30, total_s=300)
    hook = f"- webhook: {{url: 'http://127.0.0.1:{port}/h/{TOKEN}'}}\n"
    try:
        made = alerter(tmp_path, hook, after=1, retry=slow)
        cycles(store, made, ["failed"])
        assert not made.close(timeout_s=0.5)  # refused, and waiting to retry
        assert "kept in the store, the next watch sends them" in caplog.text
        [row] = outbox_rows(store)
        assert row["what"] == f"alert for {STORED_PROBE}"
        assert TOKEN not in str(row)  # the receiver by a keyed digest only
        assert str(port) not in str(row["receiver"])

        receiver = Receiver()
        with BackgroundServer(receiver.app(), port=port):
            again = alerter(tmp_path, hook, after=1, retry=FAST)
            again.after_cycle(store, target="local", agent="eu-1")
            assert again.close(timeout_s=WAIT_S)
        assert [body["event"] for body in receiver.bodies()] == ["alert"]
        assert outbox_rows(store) == []
        assert "was left unsent by an earlier watch: sending it" in caplog.text
    finally:
        store.close()


def test_a_kept_delivery_for_a_receiver_no_longer_configured_is_dropped(
    tmp_path, caplog
):
    store = HistoryStore.open(f"sqlite:///{tmp_path}/h.db")
    slow = Retry(attempts=5, first_backoff_s=30, max_backoff_s=30, total_s=300)
    try:
        made = alerter(
            tmp_path,
            f"- webhook: {{url: 'http://127.0.0.1:{closed_port()}/old'}}\n",
            after=1,
            retry=slow,
        )
        cycles(store, made, ["failed"])
        assert not made.close(timeout_s=0.5)
        assert len(outbox_rows(store)) == 1

        receiver = Receiver()
        with serve(receiver.app()) as server:
            moved = alerter(
                tmp_path, f"- webhook: {{url: '{server.url}/new'}}\n", after=1
            )
            moved.after_cycle(store, target="local", agent="eu-1")
            assert moved.close(timeout_s=WAIT_S)
        assert receiver.bodies() == []  # announced already: not sent anew
        assert outbox_rows(store) == []
        assert (
            f"alerts: alert for {STORED_PROBE}, left unsent by an earlier watch, was for a "
            "receiver no longer in alerts: dropped"
        ) in caplog.text
    finally:
        store.close()


def test_deliveries_resumed_at_once_each_leave_the_outbox_as_they_finish(tmp_path):
    # Many left unsent, resumed together: each is sent once and taken out of
    # the outbox as it finishes (a row left would be sent again by the next
    # watch). The outbox is in place before the first is queued; that order
    # is not forced here, the sending threads rarely finish one that soon.
    from sleuth.watch import outbox

    store = HistoryStore.open(f"sqlite:///{tmp_path}/h.db")
    receiver = Receiver()
    try:
        with serve(receiver.app()) as server:
            hook = f"- webhook: {{url: '{server.url}/h'}}\n"
            made = alerter(tmp_path, hook, after=1, retry=FAST)
            cycles(store, made, ["passed"])  # the store's tables, a run
            assert made.close(timeout_s=WAIT_S)
            key = outbox.receiver_key(store.key(), "webhook", f"{server.url}/h")
            left = [
                outbox.Kept(
                    key=outbox.new_key(),
                    receiver=key,
                    what=f"alert {i}",
                    body=f'{{"n": {i}}}'.encode(),
                )
                for i in range(200)
            ]
            with store.db.write() as tx:
                outbox.keep(tx, left, target="local", agent="eu-1")
            again = alerter(tmp_path, hook, after=1, retry=FAST)
            again.after_cycle(store, target="local", agent="eu-1")
            assert again.close(timeout_s=WAIT_S)
        assert sorted(body["n"] for body in receiver.bodies()) == list(range(200))
        assert outbox_rows(store) == []
    finally:
        store.close()
