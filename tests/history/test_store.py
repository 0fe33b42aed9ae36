"""The store on SQLite and on PostgreSQL: writing, reading, retention, schema."""

from __future__ import annotations

import datetime as _dt
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from sleuth._evidence import ProbeOutcome
from sleuth.history import migrations
from sleuth.history.db import StoreError, make_engine
from sleuth.history.options import Retention
from sleuth.history.schema import SCHEMA_VERSION
from sleuth.history.store import HistoryStore
from tests.history.helpers import make_record

NOW = _dt.datetime.now(_dt.UTC)


@pytest.fixture
def store(store_url):
    opened = HistoryStore.open(store_url)
    yield opened
    opened.close()


def test_a_run_reads_back_as_written(store):
    record = make_record(
        {"t::a": "passed", "t::b": "failed"},
        settings={
            "FLAG": ("environment", "present", "on"),
            "MISSING": (None, "absent", None),
        },
        messages={"t::b": "GET /b -> 503"},
        started_at=NOW,
    )
    run_id = store.write_run(record, agent="eu-west", git_revision="abc123")
    snap = store.snapshot(run_id)
    assert snap is not None
    assert snap.run.agent == "eu-west"
    assert snap.run.git_revision == "abc123"
    assert snap.run.exit_status == 1
    assert abs((snap.run.started_at - NOW).total_seconds()) < 0.001
    assert snap.run.counts == {"passed": 1, "failed": 1}
    assert snap.results["t::b"].message == "GET /b -> 503"
    assert snap.settings["MISSING"].fingerprint is None
    assert snap.settings["FLAG"].source == "environment"
    assert len(snap.settings["FLAG"].fingerprint or "") == 64
    evidence = store.evidence(run_id, "t::b")
    assert evidence["exchanges"][0]["body_excerpt"] == "body of t::b"
    # passing probes keep request lines and timings, not bodies
    assert "body_excerpt" not in store.evidence(run_id, "t::a")["exchanges"][0]


def test_each_sources_answer_is_kept_per_run_with_keyed_fingerprints(store):
    both = [("environment", "present", "on"), ("dotenv deploy.env", "present", "off")]
    record = make_record(
        {"t::a": "passed"},
        settings={
            "FLAG": ("environment", "present", "on"),
            "GONE": (None, "absent", None),
        },
        sources={
            "FLAG": [*both, ("config app.yaml", "absent", None)],
            "GONE": [
                ("environment", "absent", None),
                ("config app.yaml", "error", None),
            ],
        },
    )
    run_id = store.write_run(record, agent="a")
    flag = store.source_points("FLAG")
    assert [(p.run_id, p.position, p.source, p.state) for p in flag] == [
        (run_id, 0, "environment", "present"),
        (run_id, 1, "dotenv deploy.env", "present"),
        (run_id, 2, "config app.yaml", "absent"),
    ]
    # the winner's fingerprint is the one the run's setting row has
    assert flag[0].fingerprint == store.snapshot(run_id).settings["FLAG"].fingerprint
    assert flag[1].fingerprint not in (None, flag[0].fingerprint)
    assert flag[2].fingerprint is None
    assert [p.state for p in store.source_points("GONE")] == ["absent", "error"]
    assert store.source_points("FLAG", since=run_id + 1) == []
    assert store.source_points("FLAG", target="elsewhere") == []


def test_pruned_runs_take_their_sources_with_them(store):
    record = make_record(
        {"t::a": "passed"},
        settings={"FLAG": ("environment", "present", "on")},
        sources={"FLAG": [("environment", "present", "on")]},
    )
    first = store.write_run(record, agent="a")
    second = store.write_run(record, agent="a", keep=Retention(runs=1))
    assert [p.run_id for p in store.source_points("FLAG")] == [second]
    assert first < second


def test_the_fingerprint_key_is_made_once_and_kept(store_url):
    first = HistoryStore.open(store_url)
    key = first.key()
    first.close()
    again = HistoryStore.open(store_url)
    assert again.key() == key
    assert len(key) == 32
    same = make_record({"t::a": "passed"}, settings={"F": ("env", "present", "on")})
    changed = make_record({"t::a": "passed"}, settings={"F": ("env", "present", "no")})
    prints = []
    for record in (same, same, changed):
        snap = again.snapshot(again.write_run(record, agent="a"))
        assert snap is not None
        prints.append(snap.settings["F"].fingerprint)
    fp1, fp2, fp3 = prints
    again.close()
    assert fp1 == fp2 != fp3


def test_probe_points_find_the_last_pass_and_the_first_failure_since(store):
    outcomes: list[ProbeOutcome] = [
        "passed",
        "failed",
        "passed",
        "skipped",
        "failed",
        "error",
    ]
    ids = [store.write_run(make_record({"t::p": o}), agent="a") for o in outcomes]
    store.write_run(make_record({"t::p": "failed"}, target="other"), agent="a")
    last_pass = store.probe_point("t::p", target="local", outcomes={"passed"})
    assert last_pass is not None
    assert last_pass.run_id == ids[2]
    first_fail = store.probe_point(
        "t::p", target="local", outcomes={"failed", "error"}, after=ids[2], newest=False
    )
    assert first_fail is not None
    assert first_fail.run_id == ids[4]
    assert store.probe_point("t::nope", target="local") is None
    assert [p.outcome for p in store.probe_points("t::p", target="local", limit=3)] == [
        "error",
        "failed",
        "skipped",
    ]
    assert store.count_runs(target="local") == 6
    assert store.last_green_run_id(target="local") == ids[3]  # skipped still exits 0
    assert store.latest_run_id(target="local") == ids[5]


def test_the_baseline_is_the_last_green_run_that_ran_every_probe(store):
    def run(outcomes, target="local"):
        return store.write_run(make_record(outcomes, target=target), agent="a")

    full = run({"t::a": "passed", "t::b": "passed"})
    wider = run({"t::a": "passed", "t::b": "passed", "t::c": "passed"})
    run({"t::a": "failed", "t::b": "passed", "t::c": "passed"})  # red
    subset = run({"t::a": "passed"})  # green, like `-k a`
    run({"t::a": "passed", "t::b": "passed", "t::c": "passed"}, target="other")
    latest = run({"t::a": "failed", "t::b": "passed", "t::c": "passed"})

    assert store.last_green_run_id(target="local", before=latest) == subset
    assert store.baseline_run_id(latest, target="local", agent="a") == wider
    # A subset is compared with the last green run that covers it.
    assert store.baseline_run_id(subset, target="local", agent="a") == wider
    narrow = run({"t::b": "failed"})
    assert store.baseline_run_id(narrow, target="local", agent="a") == wider
    # t::c came with run 2: not asked of run 1.
    assert store.baseline_run_id(wider, target="local", agent="a") == full
    assert store.baseline_run_id(full, target="local", agent="a") is None
    assert store.count_probe_runs("t::c", target="local") == 3
    assert store.count_probe_runs("t::a", target="local", before=latest) == 4

    # Another agent's green run, newer, is no baseline of agent a's runs,
    # and agent b's own first run has none.
    other = store.write_run(
        make_record({"t::a": "passed", "t::b": "passed", "t::c": "passed"}),
        agent="b",
    )
    again = run({"t::a": "failed", "t::b": "passed", "t::c": "passed"})
    assert store.baseline_run_id(again, target="local", agent="a") == wider
    assert store.baseline_run_id(other, target="local", agent="b") is None
    assert store.other_agents_passed(target="local", agent="b")
    assert store.count_runs(target="local", agent="b") == 1
    assert store.count_probe_runs("t::a", target="local", agent="b") == 1


def test_a_chosen_subset_is_no_baseline_even_as_the_first_run(store):
    # `sleuth run -k a` as the very first run: t::b was deselected, not added
    # later, though no run before shows it.
    def run(outcomes, selection):
        record = make_record(outcomes, selection=selection)
        return store.write_run(record, agent="a")

    subset = run({"t::a": "passed"}, ["/suite", "-k a"])
    full = run({"t::a": "passed", "t::b": "passed"}, ["/suite"])
    assert store.baseline_run_id(full, target="local", agent="a") is None
    # The same for -m and for test ids named.
    by_mark = run({"t::a": "passed"}, ["/suite", "-m fast"])
    by_id = run({"t::a": "passed"}, ["/suite/test_x.py::test_a"])
    later = run({"t::a": "failed", "t::b": "passed"}, ["/suite"])
    assert store.baseline_run_id(later, target="local", agent="a") == full
    # A chosen subset that ran every probe of the later run is its baseline.
    covering = run({"t::a": "passed", "t::b": "passed"}, ["/suite", "-k a or b"])
    assert store.baseline_run_id(covering, target="local", agent="a") == full
    again = run({"t::a": "failed", "t::b": "passed"}, ["/suite"])
    assert store.baseline_run_id(again, target="local", agent="a") == covering
    # A probe new since: not asked of a full run, but a chosen subset without
    # it is no baseline (new and deselected look the same to it).
    newer = run({"t::a": "passed", "t::b": "passed", "t::c": "failed"}, ["/suite"])
    assert store.baseline_run_id(newer, target="local", agent="a") == full
    assert subset < full < by_mark < by_id < later
    # Chosen the same way as the later run (`-m` in addopts): what it lacks
    # was added since, as for a full run.
    marked = run({"t::a": "passed"}, ["/suite", "-m fast"])
    grown = run({"t::a": "passed", "t::d": "failed"}, ["/suite", "-m fast"])
    assert store.baseline_run_id(grown, target="local", agent="a") == marked


def test_runs_lists_newest_first_with_counts(store):
    for outcome in ("passed", "failed"):
        store.write_run(make_record({"t::a": outcome, "t::b": "passed"}), agent="a")
    rows = store.runs(limit=5)
    assert [r.counts for r in rows] == [
        {"failed": 1, "passed": 1},
        {"passed": 2},
    ]
    assert rows[0].id > rows[1].id


def test_keep_a_run_count_drops_the_oldest_runs_of_that_target_only(store):
    other = store.write_run(make_record({"t::a": "passed"}, target="other"), agent="a")
    ids = [
        store.write_run(
            make_record({"t::a": "passed"}, settings={"F": ("env", "present", "x")}),
            agent="a",
            keep=Retention(runs=3),
        )
        for _ in range(5)
    ]
    assert [r.id for r in store.runs(target="local")] == ids[:1:-1]
    assert store.run(other) is not None
    assert store.snapshot(ids[0]) is None
    assert [p.run_id for p in store.setting_points("F")] == ids[:1:-1]


def test_keep_an_age_drops_older_runs_but_never_the_one_just_written(store):
    old = NOW - _dt.timedelta(days=40)
    store.write_run(make_record({"t::a": "passed"}, started_at=old), agent="a")
    recent = store.write_run(
        make_record({"t::a": "passed"}, started_at=NOW - _dt.timedelta(days=2)),
        agent="a",
    )
    stale = store.write_run(
        make_record({"t::a": "passed"}, started_at=old),
        agent="a",
        keep=Retention(max_age_s=30 * 86400),
    )
    assert [r.id for r in store.runs()] == [stale, recent]
    assert store.prune(target="local", keep=Retention(max_age_s=30 * 86400)) == 1
    assert [r.id for r in store.runs()] == [recent]


def test_names_list_probes_and_settings(store):
    store.write_run(
        make_record(
            {"t::b": "passed", "t::a": "passed"}, settings={"S": ("e", "present", "v")}
        ),
        agent="a",
    )
    assert store.names() == (["t::a", "t::b"], ["S"])
    assert store.names(target="nope") == ([], [])


def test_a_store_from_a_newer_sleuth_is_refused_with_a_next_step(store_url):
    HistoryStore.open(store_url).close()
    engine = make_engine(store_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE sleuth_meta SET value = '99' WHERE key = 'schema_version'"
        )
    engine.dispose()
    with pytest.raises(StoreError) as info:
        HistoryStore.open(store_url)
    assert str(info.value) == (
        f"the store has schema version 99, newer than this sleuth understands "
        f"({SCHEMA_VERSION}): upgrade sleuth, or use another store"
    )


def test_every_step_is_registered_up_to_the_current_version():
    assert sorted(migrations.STEPS) == list(range(1, SCHEMA_VERSION + 1))


def test_an_older_store_is_upgraded_in_place_keeping_its_runs(store_url, tmp_path):
    if store_url.startswith("sqlite"):
        # The bytes sleuth 0.1 wrote: a schema-1 store with one run.
        path = tmp_path / ".sleuth" / "history.db"
        path.parent.mkdir(parents=True)
        with sqlite3.connect(path) as conn:
            conn.executescript((pytest_data_dir() / "store_v1_sqlite.sql").read_text())
        old_run = 1
    else:
        engine = make_engine(store_url)
        assert migrations.upgrade(engine, to=1) == 0
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO sleuth_runs (target, agent, started_at, duration_s, "
                "sleuth_version, exit_status, selection) VALUES ('local', "
                "'old-agent', '2026-10-01 07:55:00', 0.5, '0.0.9', 0, '[]')"
            )
            conn.exec_driver_sql(
                "INSERT INTO sleuth_results VALUES "
                "(1, 'test_api.py::test_health', 'passed', 0.01, '', '{}')"
            )
            conn.exec_driver_sql(
                "INSERT INTO sleuth_settings VALUES "
                "(1, 'FEATURE_FLAG_X', 'environment', 'present', 'aa')"
            )
        engine.dispose()
        old_run = 1
    store = HistoryStore.open(store_url)
    try:
        engine = make_engine(store_url)
        with engine.connect() as conn:
            assert migrations.read_version(conn) == SCHEMA_VERSION
            import sqlalchemy as sa

            inspector = sa.inspect(conn)
            columns = {c["name"] for c in inspector.get_columns("sleuth_results")}
            indexes = {i["name"] for i in inspector.get_indexes("sleuth_results")}
            sources = {
                i["name"] for i in inspector.get_indexes("sleuth_setting_sources")
            }
        engine.dispose()
        assert "category" in columns
        assert "ix_sleuth_results_probe" in indexes
        assert "ix_sleuth_setting_sources_name" in sources
        # The source that won in an old run is that run's one known source.
        (copied,) = store.source_points("FEATURE_FLAG_X")
        assert (copied.run_id, copied.source, copied.state, copied.fingerprint) == (
            old_run,
            "environment",
            "present",
            "aa",
        )
        snap = store.snapshot(old_run)
        assert snap is not None
        assert snap.run.agent == "old-agent"
        assert snap.results["test_api.py::test_health"].category == ""
        new = store.write_run(
            make_record({"test_api.py::test_health": "failed"}), agent="new"
        )
        assert new > old_run
        last = store.probe_point(
            "test_api.py::test_health", target="local", outcomes={"passed"}
        )
        assert last is not None
        assert last.run_id == old_run
    finally:
        store.close()


def pytest_data_dir():
    from pathlib import Path

    return Path(__file__).parent / "data"


WRITER = textwrap.dedent(
    """
    import sys
    from sleuth.history.store import HistoryStore
    from tests.history.helpers import make_record

    url, runs, probes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    store = HistoryStore.open(url)
    outcomes = {f"t::p{i}": "passed" for i in range(probes)}
    settings = {f"S{i}": ("environment", "present", str(i)) for i in range(20)}
    n = 0
    while runs == 0 or n < runs:
        store.write_run(make_record(outcomes, settings=settings), agent=sys.argv[4])
        n += 1
        print(n, flush=True)
    store.close()
    """
)


def writer(url: str, runs: int, probes: int, agent: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, url, str(runs), str(probes), agent],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_concurrent_writers_all_land(store_url):
    HistoryStore.open(store_url).close()  # so the writers race on writes
    procs = [writer(store_url, 10, 50, f"agent-{i}") for i in range(4)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    store = HistoryStore.open(store_url)
    try:
        rows = store.runs(limit=100)
        assert len(rows) == 40
        assert all(r.counts == {"passed": 50} for r in rows)
        assert {r.agent for r in rows} == {f"agent-{i}" for i in range(4)}
    finally:
        store.close()


def test_concurrent_first_opens_create_the_store_once(store_url):
    procs = [writer(store_url, 1, 5, f"agent-{i}") for i in range(3)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    engine = make_engine(store_url)
    with engine.connect() as conn:
        keys = conn.exec_driver_sql(
            "SELECT count(*) FROM sleuth_meta WHERE key = 'hmac_key'"
        ).scalar()
        assert migrations.read_version(conn) == SCHEMA_VERSION
    engine.dispose()
    assert keys == 1


def test_a_writer_killed_mid_write_leaves_every_earlier_run_whole(store_url):
    proc = writer(store_url, 0, 2000, "doomed")
    assert proc.stdout is not None
    written = 0
    for line in proc.stdout:  # bounded: the writer prints once per run
        written = int(line)
        if written >= 3:
            break
    proc.kill()  # SIGKILL, most likely inside the next run's transaction
    proc.communicate(timeout=30)
    assert written >= 3
    store = HistoryStore.open(store_url)
    try:
        rows = store.runs(limit=1000)
        assert len(rows) >= 3
        assert all(r.counts == {"passed": 2000} for r in rows)
        for row in rows:
            snap = store.snapshot(row.id)
            assert snap is not None
            assert len(snap.settings) == 20
        after = store.write_run(make_record({"t::p0": "failed"}), agent="next")
        assert after > max(r.id for r in rows)
    finally:
        store.close()
    if store_url.startswith("sqlite"):
        path = store_url[len("sqlite:///") :]
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_postgres_store_without_psycopg_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg fails
    with pytest.raises(StoreError) as info:
        HistoryStore.open("postgresql+psycopg://app@127.0.0.1:1/history")
    assert str(info.value) == (
        "a PostgreSQL history needs the 'psycopg' package. Install it with: "
        "pip install 'sleuth[history-postgres]'"
    )
