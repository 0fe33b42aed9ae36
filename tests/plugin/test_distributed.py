"""sleuth under pytest-xdist: the same run with and without ``-n 2``.

Each run is a real pytest process (its workers are real processes too)
against the tests' HTTP target on a loopback port; what each run wrote (its
JSON document, its history store) is compared probe by probe.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

SECRET = "canary-xdist-5f0c2a"  # noqa: S105 (planted, to be looked for)

MIXED_SUITE = """
import pytest

@pytest.mark.parametrize("n", range(8))
def test_slow_answer(target, n):
    assert target.http.get("/status/200?delay=0.5").status_code == 200

@pytest.mark.api
def test_users(target):
    assert target.http.get("/status/404").status_code == 200

@pytest.mark.needs("api")
def test_orders(target):
    assert target.http.get("/status/500").status_code == 200

@pytest.mark.probe(timeout=1)
def test_hangs(target):
    target.http.get("/hang")

def test_writes(target):
    target.http.post("/echo", json={"a": 1})

def test_api_key(target):
    # The secret goes out in the request: the evidence holds it, masked.
    key = target.setting("API_KEY")
    assert target.http.get(f"/echo?token={key}").status_code == 401

def test_in_order(target, tmp_path):
    # tmp_path is made per test: this one runs in order, on either side.
    assert target.http.get("/status/200").status_code == 200
"""


# What each report carried from a worker to the controller (seen on both sides).
TRAVELLED = """
def pytest_runtest_logreport(report):
    data = getattr(report, "sleuth_record", None)
    if data is not None:
        with open("travelled.txt", "a") as f:
            f.write(repr(data) + "\\n")
"""


def run(pytester: pytest.Pytester, name: str, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-m", "not nothing",
        "--history", str(pytester.path / f"{name}.db"),
        "--sleuth-json", f"{name}.json",
        *args,
    )  # fmt: skip


def untimed(value: Any) -> Any:
    """``value`` without the times in its texts: "-> 404 (12 ms)", "no answer
    within 0.7 s" (what was left of the probe's deadline when it asked)."""
    text = re.sub(r" \(\d+ ms\)", "", json.dumps(value))
    return json.loads(re.sub(r"within [\d.]+ s", "within N s", text))


def probes_of(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each probe's outcome, category, diagnosis and evidence, without timings."""
    found: dict[str, dict[str, Any]] = {}
    for probe in document["probes"]:
        exchanges = [
            {k: e[k] for k in ("kind", "request", "status", "error", "body_excerpt")}
            for e in probe["evidence"]["exchanges"]
        ]
        found[probe["id"]] = {
            **{k: probe[k] for k in ("outcome", "category", "diagnosis", "blocked_by")},
            "exchanges": exchanges,
            "settings": probe["evidence"]["settings"],
        }
    return untimed(found)  # type: ignore[no-any-return]


def stored(path: Path) -> tuple[int, dict[str, str], list[tuple[str, str]]]:
    """(runs, each probe's stored outcome, the settings kept) in a history store."""
    with sqlite3.connect(path) as conn:
        runs = conn.execute("SELECT count(*) FROM sleuth_runs").fetchone()[0]
        results = dict(conn.execute("SELECT probe_id, outcome FROM sleuth_results"))
        settings = list(conn.execute("SELECT name, state FROM sleuth_settings"))
    return runs, results, settings


def test_a_run_under_n_2_gives_what_the_same_run_gives_without_it(
    suite, pytester, http_target, monkeypatch
):
    monkeypatch.setenv("API_KEY", SECRET)
    suite(test_mixed=MIXED_SUITE)
    pytester.makeconftest(TRAVELLED)
    pytester.makeini("[pytest]\nmarkers =\n    api: the users API")
    plain = run(pytester, "plain")
    shared = run(pytester, "xdist", "-n", "2")

    assert plain.ret == shared.ret == 1
    plain_doc = json.loads((pytester.path / "plain.json").read_text())
    shared_doc = json.loads((pytester.path / "xdist.json").read_text())
    expected = {
        **{f"test_mixed.py::test_slow_answer[{n}]": "passed" for n in range(8)},
        "test_mixed.py::test_users": "failed",
        "test_mixed.py::test_orders": "blocked",
        "test_mixed.py::test_hangs": "error",
        "test_mixed.py::test_writes": "failed",
        "test_mixed.py::test_api_key": "failed",
        "test_mixed.py::test_in_order": "passed",
    }
    for document in (plain_doc, shared_doc):
        assert {p["id"]: p["outcome"] for p in document["probes"]} == expected
    # Outcomes, categories, diagnoses and evidence, probe by probe, in the
    # collection's order; the counts and the root causes of the whole run.
    assert probes_of(shared_doc) == probes_of(plain_doc)
    assert list(probes_of(shared_doc)) == list(expected)
    assert shared_doc["run"]["counts"] == plain_doc["run"]["counts"]
    assert untimed(shared_doc["root_causes"]) == untimed(plain_doc["root_causes"])
    assert shared_doc["settings"] == plain_doc["settings"]
    # The controller's terminal section covers the whole run, as without -n.
    for result in (plain, shared):
        result.stdout.fnmatch_lines(
            [
                "*: 14 probes in * s: 3 failed, 1 error, 1 blocked, 9 passed (13 ran at once)"
            ]
        )
    # One history entry for the run, written by the controller, with every
    # probe and the settings it read (kept as fingerprints).
    plain_runs, plain_results, plain_settings = stored(pytester.path / "plain.db")
    shared_runs, shared_results, shared_settings = stored(pytester.path / "xdist.db")
    assert plain_runs == shared_runs == 1
    assert shared_results == plain_results == expected
    assert shared_settings == plain_settings == [("API_KEY", "present")]
    # Nothing of the secret travelled from a worker into any output.
    travelled = (pytester.path / "travelled.txt").read_text()
    assert "token=***" in travelled
    for text in (
        travelled,
        shared.stdout.str(),
        (pytester.path / "xdist.json").read_text(),
        (pytester.path / "xdist.db").read_bytes().decode("latin-1"),
    ):
        assert SECRET not in text
    # The next run under -n 2 reads that entry: a failure says its history.
    again = run(pytester, "xdist", "-n", "2")
    again.stdout.fnmatch_lines(["history: never passed in the 1 run kept"])
    assert stored(pytester.path / "xdist.db")[0] == 2


def test_each_worker_runs_its_share_at_once(suite, pytester, http_target):
    # 40 probes of half a second each over two workers: in order, at most two
    # would be in flight at the server at any moment.
    suite(
        test_slow="""
        import pytest

        @pytest.mark.parametrize("n", range(40))
        def test_slow_answer(target, n):
            assert target.http.get("/status/200?delay=0.5").status_code == 200
        """
    )
    result = run(pytester, "shared", "-n", "2")
    result.assert_outcomes(passed=40)
    assert http_target.recorder.count("/status/200") == 40
    assert http_target.recorder.max_in_flight > 2
    result.stdout.fnmatch_lines(["*: 40 probes in * s: 40 passed (40 ran at once)"])


def test_in_order_under_n_2_runs_one_probe_at_a_time_per_worker(
    suite, pytester, http_target
):
    suite(
        test_slow="""
        import pytest

        @pytest.mark.parametrize("n", range(6))
        def test_slow_answer(target, n):
            assert target.http.get("/status/200?delay=0.3").status_code == 200
        """
    )
    result = run(pytester, "shared", "-n", "2", "--sleuth-in-order")
    result.assert_outcomes(passed=6)
    assert http_target.recorder.max_in_flight <= 2


def test_a_worker_that_dies_is_said_and_its_probe_is_an_error(suite, pytester):
    suite(
        test_crash="""
        import os

        def test_first(target):
            pass

        def test_crashes(target, tmp_path):
            os._exit(3)

        def test_after(target):
            pass
        """
    )
    result = run(pytester, "crash", "-n", "1", "--max-worker-restart", "0")
    document = json.loads((pytester.path / "crash.json").read_text())
    crashed = {p["id"]: p for p in document["probes"]}["test_crash.py::test_crashes"]
    assert crashed["outcome"] == "error"
    assert crashed["diagnosis"] == (
        "worker 'gw0' crashed while running 'test_crash.py::test_crashes': "
        "the probe gave no outcome"
    )
    assert "test_crash.py::test_after" not in {p["id"] for p in document["probes"]}
    result.stdout.fnmatch_lines(
        ["pytest-xdist worker went down: gw0 (*); 1 selected probe never reported"]
    )
    runs, _results, _settings = stored(pytester.path / "crash.db")
    assert runs == 1


def test_under_worksteal_a_write_is_sent_once(suite, pytester, http_target):
    # xdist may take tests back from a worker to give an idle one work: a
    # write that worker had started ahead would be sent again by the other.
    suite(
        test_steal="""
        import pytest

        @pytest.mark.parametrize("n", range(30))
        def test_slow_answer(target, n):
            assert target.http.get("/status/200?delay=0.3").status_code == 200

        @pytest.mark.writes
        @pytest.mark.parametrize("n", range(4))
        def test_write(target, n):
            assert target.http.post("/echo", json={"n": n}).status_code == 200
        """
    )
    result = run(pytester, "steal", "-n", "2", "--dist", "worksteal", "--allow-writes")
    result.assert_outcomes(passed=34)
    assert http_target.recorder.count("/echo", "POST") == 4
    # The reads ran ahead on their workers; the writes, in order.
    result.stdout.fnmatch_lines(["*: 34 probes in * s: 34 passed (30 ran at once)"])


def test_dist_each_is_refused_saying_what_to_run_instead(suite, pytester, http_target):
    # Every probe on every worker: two results for one probe in one run, of
    # which a run keeps one. Refused before anything is sent.
    suite(test_one="def test_one(target):\n    target.http.get('/status/200')\n")
    result = run(pytester, "each", "-n", "2", "--dist", "each")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --dist each runs every probe on every worker, and a run keeps one*"]
    )
    assert "docs/agents.md" in result.stderr.str()
    assert http_target.recorder.count("/status/200") == 0
    assert not (pytester.path / "each.db").exists()


# Workers whose environment is not the controller's (as on ssh hosts): the
# switch below gives them their own API_KEY.
WORKERS_OWN_ENV = """
import os

if os.environ.get("PYTEST_XDIST_WORKER") and os.environ.get("WORKERS_API_KEY"):
    os.environ["API_KEY"] = os.environ["WORKERS_API_KEY"]
"""


def fingerprints(path: Path) -> list[tuple[int, str, str | None]]:
    """(run id, state, fingerprint) of API_KEY in each stored run, oldest first."""
    with sqlite3.connect(path) as conn:
        return list(
            conn.execute(
                "SELECT run_id, state, fingerprint FROM sleuth_settings "
                "WHERE name = 'API_KEY' ORDER BY run_id"
            )
        )


def test_a_setting_the_workers_saw_otherwise_keeps_no_fingerprint(
    suite, pytester, http_target, monkeypatch
):
    monkeypatch.setenv("API_KEY", SECRET)
    suite(
        test_key="""
        def test_api_key(target):
            assert target.setting("API_KEY")

        def test_status(target):
            assert target.http.get("/status/200").status_code == 200
        """
    )
    pytester.makeconftest(WORKERS_OWN_ENV)
    plain = run(pytester, "h")
    shared = run(pytester, "h", "-n", "2")  # the workers see what this host sees
    monkeypatch.setenv("WORKERS_API_KEY", "another-key-on-the-workers")
    split = run(pytester, "h", "-n", "2")

    assert plain.ret == shared.ret == split.ret == 0
    assert "read again on this host" not in shared.stdout.str()
    split.stdout.fnmatch_lines(
        [
            "*setting API_KEY read again on this host differs from what the "
            "probes on pytest-xdist worker gw? saw: the history keeps what the "
            "probes saw, without a fingerprint, for this run (docs/xdist.md)",
            "since the last run in which everything passed (run 2, *):",
            "  settings (1):",
            "    API_KEY: value not compared (run 3 kept no fingerprint of it)",
        ]
    )
    # The first two runs read the same value: one fingerprint. The third's
    # probe saw another value, which this host never read: no fingerprint
    # rather than this host's, which would say the value had not changed.
    (_, *plain_seen), (_, *shared_seen), (_, *split_seen) = fingerprints(
        pytester.path / "h.db"
    )
    assert plain_seen[1] is not None
    assert shared_seen == plain_seen == ["present", plain_seen[1]]
    assert split_seen == ["present", None]
    # The history does not call that unknown value a change, nor hide it.
    with sqlite3.connect(pytester.path / "h.db") as conn:
        sources = list(
            conn.execute(
                "SELECT run_id, source, state, fingerprint FROM sleuth_setting_sources "
                "WHERE name = 'API_KEY' ORDER BY run_id"
            )
        )
    assert [s[1:] for s in sources][-1] == ("environment", "present", None)
    assert SECRET not in split.stdout.str()
    # Its history names the run whose value it could not compare.
    history = pytester.run(
        sys.executable, "-m", "sleuth", "history", "API_KEY", "--history", "h.db"
    )
    history.stdout.fnmatch_lines(
        [
            "  environment: present, wins; unchanged since * (run 1, *); "
            "run 3 kept no fingerprint of it (a change of value is dated from "
            "the next run that did)"
        ]
    )


def test_the_apps_own_settings_function_seen_alike_is_not_called_otherwise(
    suite, pytester, http_target, monkeypatch
):
    # A probe calling the app's own function asks that source alone (on a
    # miss, nothing else); the controller, reading the name again, asks every
    # source in order. Where both give the same, nothing is said, and the
    # history keeps the fingerprint.
    monkeypatch.setenv("PYTHONPATH", str(pytester.path))
    suite(
        f"""
        targets:
          local:
            base_url: {http_target.url}
            sources:
              - env
              - app: myapp:get_setting
        """,
        test_app="""
        import pytest
        from myapp import get_setting

        @pytest.mark.parametrize("name", ["FEATURE_FLAG_X", "MISSING_ONE"])
        def test_setting(name):
            get_setting(name)

        def test_other():
            pass
        """,
    )
    (pytester.path / "myapp.py").write_text(
        "VALUES = {'FEATURE_FLAG_X': 'on'}\n\n"
        "def get_setting(name):\n"
        "    return VALUES.get(name)\n"
    )
    shared = run(pytester, "app", "-n", "2")
    assert shared.ret == 0, shared.stdout.str()
    assert "read again on this host" not in shared.stdout.str()
    with sqlite3.connect(pytester.path / "app.db") as conn:
        kept = dict(conn.execute("SELECT name, fingerprint FROM sleuth_settings"))
    assert set(kept) == {"FEATURE_FLAG_X", "MISSING_ONE"}
    assert kept["FEATURE_FLAG_X"] is not None
