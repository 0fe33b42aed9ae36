"""The agent's local buffer and the per-agent view, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as _dt
import os
import socket
import stat
import subprocess
import sys
import textwrap

import pytest

from sleuth._evidence import ProbeOutcome
from sleuth.history.agents import latest_per_agent
from sleuth.history.buffer import (
    RunBuffer,
    buffer_path,
    key_id,
    run_rows,
    unreachable_reason,
    url_without_password,
)
from sleuth.history.store import HistoryStore, new_run_key
from tests.history.helpers import make_record

T0 = _dt.datetime(2026, 12, 6, 8, 0, tzinfo=_dt.UTC)
PASSWORD = "pw-canary-1e9d7"  # noqa: S105 (a planted test secret)


@pytest.fixture
def store(store_url):
    opened = HistoryStore.open(store_url)
    yield opened
    opened.close()


def buffered_run(
    buffer, *, key, minute, outcome: ProbeOutcome = "passed", agent="eu-1"
):
    record = make_record(
        {"t::a": outcome, "t::b": "passed"},
        settings={"FLAG": ("environment", "present", "on")},
        started_at=T0 + _dt.timedelta(minutes=minute),
        messages={"t::a": f"seen at {PASSWORD}"},
    )
    rows = run_rows(
        record,
        key=key,
        agent=agent,
        git_revision=None,
        store_url=f"postgresql+psycopg://app:{PASSWORD}@db/h",
    )
    run_key = new_run_key()
    buffer.add(rows, run_key=run_key, key_id=key_id(key) if key else None)
    return run_key, rows


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        pytest.param(ConnectionRefusedError(111, "refused"), "connection refused"),
        pytest.param(socket.gaierror(-2, "x"), "name not resolved", id="gaierror"),
        pytest.param(TimeoutError(), "timed out", id="timeout"),
        pytest.param(
            Exception('connection to server at "h", port 1 failed: Connection refused'),
            "connection refused",
            id="psycopg-refused",
        ),
        pytest.param(
            Exception("failed to resolve host 'x': Name or service not known"),
            "name not resolved",
            id="psycopg-dns",
        ),
        pytest.param(
            Exception("connection timeout expired"), "timed out", id="psycopg-timeout"
        ),
        pytest.param(
            Exception("server closed the connection unexpectedly"),
            "connection lost",
            id="lost",
        ),
        pytest.param(
            Exception('password authentication failed for user "app"'),
            None,
            id="auth-is-not-waited-for",
        ),
        pytest.param(ValueError("bad"), None, id="other"),
    ],
)
def test_unreachable_reason_tells_waiting_from_mending(exc, reason):
    assert unreachable_reason(exc) == reason


def test_a_cause_is_followed():
    outer = RuntimeError("wrapped")
    outer.__cause__ = ConnectionRefusedError(111, "refused")
    assert unreachable_reason(outer) == "connection refused"


def test_the_buffer_name_carries_no_password(tmp_path):
    url = f"postgresql+psycopg://app:{PASSWORD}@db-1:5432/orders?password={PASSWORD}"
    assert PASSWORD not in url_without_password(url)
    path = buffer_path(url, local_dir=tmp_path)
    assert path.name.startswith("history-buffer-db-1-orders-")
    assert PASSWORD not in str(path)
    # The same store under another password is the same buffer.
    other = url.replace(PASSWORD, "another")
    assert buffer_path(other, local_dir=tmp_path) == path


def test_the_buffer_file_gets_the_mode_open_gives(tmp_path):
    old = os.umask(0o027)
    try:
        buffered_run(RunBuffer(tmp_path / "b.db"), key=b"k" * 32, minute=0)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "b.db").stat().st_mode) == 0o640


def test_buffered_rows_come_back_exactly_and_without_the_password(tmp_path):
    buffer = RunBuffer(tmp_path / "b.db")
    run_key, rows = buffered_run(buffer, key=b"k" * 32, minute=3)
    (back,) = buffer.pending()
    assert back.run_key == run_key
    assert back.rows == rows
    assert back.key_id == key_id(b"k" * 32)
    assert "seen at ***" in back.rows.results[0]["message"]
    for path in tmp_path.iterdir():
        assert PASSWORD.encode() not in path.read_bytes()


def test_a_flush_writes_in_order_once_with_comparable_fingerprints(store, tmp_path):
    buffer = RunBuffer(tmp_path / "b.db")
    direct = store.write_run(
        make_record(
            {"t::a": "passed"}, settings={"FLAG": ("environment", "present", "on")}
        ),
        agent="eu-1",
    )
    plan: tuple[tuple[int, ProbeOutcome], ...] = (
        (1, "failed"),
        (2, "failed"),
        (3, "passed"),
    )
    keys = [
        buffered_run(buffer, key=store.key(), minute=m, outcome=o)[0] for m, o in plan
    ]
    done = buffer.flush(store)
    assert (done.written, done.already_stored, done.without_fingerprints) == (3, 0, 0)
    assert buffer.count() == 0
    runs = sorted(store.runs(limit=10), key=lambda r: r.id)
    assert runs[0].id == direct
    assert [r.started_at for r in runs[1:]] == [
        T0 + _dt.timedelta(minutes=m) for m in (1, 2, 3)
    ]
    assert [store.run_id_of(k) for k in keys] == [r.id for r in runs[1:]]
    # Keyed with the store's own key: the same value prints the same.
    prints = {store.snapshot(r.id).settings["FLAG"].fingerprint for r in runs}
    assert len(prints) == 1
    assert None not in prints


def test_a_flush_cut_short_and_retried_stores_each_run_once(store, tmp_path):
    buffer = RunBuffer(tmp_path / "b.db")
    first, rows = buffered_run(buffer, key=store.key(), minute=1)
    buffered_run(buffer, key=store.key(), minute=2)
    # The first run was written, but the flush died before it left the buffer.
    assert store.write_rows(rows, run_key=first) is not None
    done = buffer.flush(store)
    assert (done.written, done.already_stored) == (1, 1)
    assert len(store.runs(limit=10)) == 2


def test_a_run_buffered_without_the_stores_key_keeps_no_fingerprints(store, tmp_path):
    buffer = RunBuffer(tmp_path / "b.db")
    buffered_run(buffer, key=None, minute=1)
    buffered_run(buffer, key=b"another key" * 3, minute=2)
    done = buffer.flush(store)
    assert done.without_fingerprints == 2
    for run in store.runs(limit=10):
        snap = store.snapshot(run.id)
        assert snap.settings["FLAG"].state == "present"
        assert snap.settings["FLAG"].fingerprint is None


def test_the_stores_key_is_remembered_for_later_runs(store, tmp_path):
    buffer = RunBuffer(tmp_path / "b.db")
    assert buffer.known_key() is None
    buffer.remember_key(store.key())
    assert buffer.known_key() == store.key()


def test_latest_per_agent_gives_each_agents_last_result(store):
    seen: tuple[tuple[int, str, ProbeOutcome], ...] = (
        (0, "eu-1", "passed"),
        (1, "us-1", "passed"),
        (2, "eu-1", "failed"),
        (3, "ap-1", "passed"),
    )
    for minute, agent, outcome in seen:
        store.write_run(
            make_record(
                {"t::a": outcome}, started_at=T0 + _dt.timedelta(minutes=minute)
            ),
            agent=agent,
        )
    store.write_run(make_record({"t::a": "failed"}, target="other"), agent="us-1")
    latest = latest_per_agent(store, target="local")
    assert list(latest) == ["t::a"]
    assert {a: p.outcome for a, p in latest["t::a"].items()} == {
        "ap-1": "passed",
        "eu-1": "failed",
        "us-1": "passed",
    }
    assert list(latest["t::a"]) == ["ap-1", "eu-1", "us-1"]
    assert latest["t::a"]["eu-1"].started_at == T0 + _dt.timedelta(minutes=2)
    assert latest_per_agent(store, target="nothing") == {}
    # The window: the latest two runs of the target hold ap-1's and eu-1's.
    window = latest_per_agent(store, target="local", window_runs=2)
    assert sorted(window["t::a"]) == ["ap-1", "eu-1"]
    assert latest_per_agent(store, target="local", window_runs=None) == latest


KILLED_MID_WRITE = """
import os, signal, sys
from sleuth.history import db
from sleuth.history.store import HistoryStore
from tests.history.helpers import make_record

store = HistoryStore.open(sys.argv[1])
store.write_run(make_record({"t::a": "passed"}), agent="eu-1", run_key="whole")

def killed(self, sql, rows):
    # The run's row is inserted, its results are next: die between them.
    os.kill(os.getpid(), signal.SIGKILL)

db._SqliteTx.executemany = killed
db._EngineTx.executemany = killed
store.write_run(make_record({"t::a": "failed"}), agent="eu-1", run_key="doomed")
"""


def test_a_run_killed_between_its_statements_leaves_no_trace(store_url, tmp_path):
    script = tmp_path / "killed.py"
    script.write_text(textwrap.dedent(KILLED_MID_WRITE))
    done = subprocess.run(
        [sys.executable, str(script), store_url],
        cwd=os.getcwd(),
        capture_output=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert done.returncode == -9, done.stderr.decode()
    store = HistoryStore.open(store_url)
    try:
        (run,) = store.runs(limit=10)
        assert store.run_id_of("whole") == run.id
        with store.db.read() as tx:
            assert tx.scalar("SELECT count(*) FROM sleuth_runs") == 1
            assert tx.scalar("SELECT count(*) FROM sleuth_results") == 1
            assert (
                tx.scalar("SELECT count(*) FROM sleuth_runs WHERE run_key = 'doomed'")
                == 0
            )
    finally:
        store.close()


def test_a_setting_without_a_fingerprint_reads_as_unknown_not_changed():
    from sleuth.history.model import SettingRow
    from sleuth.history.timeline import describe_setting_change

    def seen(fingerprint):
        return SettingRow(
            run_id=1,
            name="FLAG",
            source="environment",
            state="present",
            fingerprint=fingerprint,
        )

    assert describe_setting_change(seen("aa"), seen(None)) == ""
    assert describe_setting_change(seen(None), seen("aa")) == ""
    assert describe_setting_change(seen("aa"), seen("bb")) == "value changed"


KILLED_MID_FLUSH = """
import os, signal, sys
from pathlib import Path
from sleuth.history.buffer import RunBuffer
from sleuth.history.store import HistoryStore

store = HistoryStore.open(sys.argv[1])
removed = []
remove = RunBuffer.remove

def killed(self, run_key):
    # The second run is stored; it has not left the buffer yet: die here.
    if len(removed) == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    removed.append(run_key)
    remove(self, run_key)

RunBuffer.remove = killed
RunBuffer(Path(sys.argv[2])).flush(store)
"""


def test_a_flush_killed_half_way_is_finished_once_by_the_next(store_url, tmp_path):
    store = HistoryStore.open(store_url)
    buffer = RunBuffer(tmp_path / "b.db")
    keys = [buffered_run(buffer, key=store.key(), minute=m)[0] for m in (1, 2, 3)]
    store.close()
    script = tmp_path / "killed.py"
    script.write_text(textwrap.dedent(KILLED_MID_FLUSH))
    done = subprocess.run(
        [sys.executable, str(script), store_url, str(buffer.path)],
        capture_output=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert done.returncode == -9, done.stderr.decode()
    assert buffer.count() == 2  # the first left; the second stored, still kept
    store = HistoryStore.open(store_url)
    try:
        again = buffer.flush(store)
        assert (again.written, again.already_stored) == (1, 1)
        runs = sorted(store.runs(limit=10), key=lambda r: r.id)
        assert [store.run_id_of(k) for k in keys] == [r.id for r in runs]
        assert [r.started_at.minute for r in runs] == [1, 2, 3]
    finally:
        store.close()
    assert buffer.count() == 0
