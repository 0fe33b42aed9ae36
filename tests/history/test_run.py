"""The history in a run: failure lines, the summary, the CLI, and robustness."""

from __future__ import annotations

import datetime as _dt
import json
import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from sleuth.cli.commands import group as main
from sleuth.history.buffer import RunBuffer, run_rows
from sleuth.history.model import RunRow
from sleuth.history.schema import SCHEMA_VERSION
from sleuth.history.store import HistoryStore, new_run_key
from tests.conftest import require_service
from tests.history.helpers import (
    CANARY_DSN_PASSWORD,
    CANARY_KEY,
    history_file_bytes,
    join_closing_threads,
    make_record,
    write_suite,
)

EARLIER = _dt.datetime(2026, 1, 2, 3, 4, tzinfo=_dt.UTC)


def cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_a_broken_endpoint_and_a_changed_setting_are_dated_and_diffed(
    pytester, http_target
):
    write_suite(pytester, http_target.url)
    first = pytester.runpytest()
    first.assert_outcomes(passed=3)
    first.stdout.fnmatch_lines(
        [
            "history: run 1 recorded in .sleuth/history.db (1 run of local kept; "
            "keeping the last 1000 runs)",
            "no earlier run in which everything passed, to compare with",
        ]
    )

    # The deploy: the flag is turned off and the items endpoint breaks.
    write_suite(pytester, http_target.url, flag="off", path="/status/503")
    second = pytester.runpytest()
    second.assert_outcomes(passed=1, failed=1, errors=1)
    second.stdout.fnmatch_lines(
        [
            "*_ ERROR at call of test_items _*",
            "*- sleuth evidence -*",
            "GET */status/503 -> 503 Service Unavailable*",
            "  body: down for *",
            "history: last passed: run 1, ??:?? (just now); failing since this run",
        ]
    )
    second.stdout.fnmatch_lines(
        [
            "what failed:",
            "  test_api.py::test_feature_flag_is_on",
            "      assert 'off' == 'on'",
            "      last passed: run 1, ??:?? (just now); failing since this run",
            "  test_api.py::test_items",
            "*",
            "      last passed: run 1, ??:?? (just now); failing since this run",
            "history: run 2 recorded in .sleuth/history.db (2 runs of local kept;*",
            "since the last run in which everything passed (run 1, ??:??, just now):",
            "  probes that now fail (2):",
            "    test_api.py::test_feature_flag_is_on (passed -> failed)",
            "    test_api.py::test_items (passed -> error)",
            "  settings (1):",
            "    FEATURE_FLAG_X: value changed",
        ]
    )

    third = pytester.runpytest()
    third.assert_outcomes(passed=1, failed=1, errors=1)
    third.stdout.fnmatch_lines(
        ["history: last passed: run 1, ??:?? (just now); failing since run 2, ??:??"]
    )

    runs = json.loads(cli("history", "--json"))["runs"]
    assert [(r["id"], r["exit_status"], r["counts"]) for r in runs] == [
        (3, 1, {"error": 1, "failed": 1, "passed": 1}),
        (2, 1, {"error": 1, "failed": 1, "passed": 1}),
        (1, 0, {"passed": 3}),
    ]
    table = cli("history")
    assert "runs, newest first" in table
    assert "1 failed, 1 error, 1 passed" in table  # as the run said it

    flag = json.loads(cli("history", "FEATURE_FLAG_X", "--json"))
    assert [(p["run"], p["source"], p["change"]) for p in flag["points"]] == [
        (3, "dotenv deploy.env", ""),
        (2, "dotenv deploy.env", "value changed"),
        (1, "dotenv deploy.env", "first seen in dotenv deploy.env"),
    ]
    text = cli("history", "FEATURE_FLAG_X")
    assert "FEATURE_FLAG_X: value changed between run 1 (" in text

    items = json.loads(cli("history", "test_items", "--json"))
    assert items["probe"] == "test_api.py::test_items"
    assert [p["outcome"] for p in items["points"]] == ["error", "error", "passed"]

    diff = json.loads(cli("diff", "--json"))
    assert (diff["a"]["id"], diff["b"]["id"]) == (1, 3)
    assert [(f["probe_id"], f["after"]) for f in diff["flipped"]] == [
        ("test_api.py::test_feature_flag_is_on", "failed"),
        ("test_api.py::test_items", "error"),
    ]
    assert [(s["name"], s["change"]) for s in diff["settings"]] == [
        ("FEATURE_FLAG_X", "value changed")
    ]
    text = cli("diff")
    assert text.splitlines()[0].startswith("run 1 (")
    assert "everything passed) -> run 3 (" in text
    assert "  test_api.py::test_items (passed -> error)" in text
    assert "  FEATURE_FLAG_X: value changed" in text
    same = json.loads(cli("diff", "2", "3", "--json"))
    assert same["flipped"] == same["settings"] == same["new_probes"] == []

    # Not a byte of any planted secret in the store: values, URLs, bodies, messages.
    data = history_file_bytes(pytester.path / ".sleuth")
    assert b"down for ***" in data  # the body excerpt was kept, scrubbed
    for canary in (CANARY_KEY, CANARY_DSN_PASSWORD):
        assert canary.encode() not in data


def test_no_history_writes_and_reads_nothing(suite, pytester):
    suite(test_a="def test_a(target):\n    assert False\n")
    result = pytester.runpytest("--no-history")
    result.assert_outcomes(failed=1)
    assert not (pytester.path / ".sleuth").exists()
    assert "history:" not in result.stdout.str()


def test_agent_and_keep_options_and_the_config_key(suite, pytester):
    suite(
        config="targets:\n  local: {}\nhistory:\n  url: runs/h.db\n  keep: 2\n",
        test_a="def test_a(target):\n    pass\n",
    )
    for _ in range(3):
        pytester.runpytest("--agent", "eu-west").assert_outcomes(passed=1)
    result = pytester.runpytest("--sleuth-history-keep", "2")
    result.stdout.fnmatch_lines(
        [
            "history: run 4 recorded in runs/h.db (2 runs of local kept; keeping the "
            "last 2 runs)"
        ]
    )
    runs = json.loads(cli("history", "--json"))["runs"]
    assert [(r["id"], r["agent"]) for r in runs] == [
        (4, runs[0]["agent"]),
        (3, "eu-west"),
    ]
    assert not (pytester.path / ".sleuth").exists()


def test_bad_history_keep_is_a_usage_error(suite, pytester):
    suite(test_a="def test_a(target):\n    pass\n")
    result = pytester.runpytest("--history-keep", "3x")
    assert result.ret == 4
    result.stderr.fnmatch_lines(
        [
            "*--history-keep: invalid history retention '3x': expected a number of runs,"
            " e.g. 200, or an age, e.g. 30d, 12h or 2w*"
        ]
    )


FAILING = "def test_a(target):\n    assert False\n"


def one_warning(result) -> str:
    lines = [line for line in result.outlines if "history: the store" in line]
    assert len(lines) == 1, result.outlines
    return str(lines[0])


def test_a_read_only_store_warns_once_and_the_result_is_unchanged(suite, pytester):
    suite(test_a=FAILING, test_b="def test_b(target):\n    assert False\n")
    pytester.runpytest()  # creates the store
    store = pytester.path / ".sleuth" / "history.db"
    result = pytester.runpytest("--history", f"sqlite:///{store}?mode=ro")
    assert result.ret == pytester.runpytest("--no-history").ret == 1
    result.assert_outcomes(failed=2)
    line = one_warning(result)
    assert (
        "could not be written (OperationalError: attempt to write a readonly " in line
    )
    assert line.endswith(
        "this run is not recorded. Its result is unaffected; --no-history turns the "
        "history off."
    )
    # the failures still said when they last passed (reading works)
    result.stdout.fnmatch_lines(["history: never passed in the 1 run kept"])


def test_a_store_that_cannot_be_created_warns_once(suite, pytester):
    suite(test_a=FAILING)
    result = pytester.runpytest("--history", "/proc/sleuth-history/history.db")
    result.assert_outcomes(failed=1)
    assert result.ret == 1
    assert "could not be opened (" in one_warning(result)


def test_a_postgres_store_that_is_down_keeps_the_run_in_the_buffer(
    suite, pytester, closed_port
):
    suite(test_a=FAILING)
    url = f"postgresql://app:hunter22@127.0.0.1:{closed_port}/history"
    result = pytester.runpytest("--history", url)
    result.assert_outcomes(failed=1)
    assert result.ret == 1
    buffers = list((pytester.path / ".sleuth").glob("history-buffer-*.db"))
    assert len(buffers) == 1
    assert "hunter22" not in buffers[0].name
    result.stdout.fnmatch_lines(
        [
            f"history: postgresql://app:***@127.0.0.1:{closed_port}/history "
            f"unreachable (connection refused); run kept in .sleuth/{buffers[0].name}, "
            "written when the store is back"
        ]
    )
    assert "hunter22" not in result.stdout.str()
    assert b"hunter22" not in buffers[0].read_bytes()


@pytest.mark.services
def test_a_postgres_store_that_refuses_the_login_warns_once(suite, pytester):
    """Waiting would not mend a refused login: no buffer, one warning."""
    suite(test_a=FAILING)
    url = "postgresql://no_such_role_x:hunter22@127.0.0.1:5432/postgres"
    require_service("PostgreSQL", "127.0.0.1", 5432)
    result = pytester.runpytest("--history", url)
    result.assert_outcomes(failed=1)
    line = one_warning(result)
    assert "the store postgresql://no_such_role_x:***@127.0.0.1:5432/postgres" in line
    assert "could not be opened (OperationalError: " in line
    assert "hunter22" not in result.stdout.str()
    assert not list((pytester.path / ".sleuth").glob("history-buffer-*"))


def test_a_run_killed_with_sigkill_leaves_earlier_runs_intact(suite, pytester):
    suite(test_a="def test_a(target):\n    pass\n")
    pytester.runpytest().assert_outcomes(passed=1)
    pytester.makepyfile(
        test_kill="""
        import os, signal

        def test_kill(target):
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    killed = pytester.runpytest_subprocess()
    assert killed.ret == -9
    pytester.path.joinpath("test_kill.py").unlink()
    pytester.makepyfile(test_a="def test_a(target):\n    assert False\n")
    after = pytester.runpytest()
    after.assert_outcomes(failed=1)
    after.stdout.fnmatch_lines(
        ["history: last passed: run 1, ??:?? (just now); failing since this run"]
    )
    runs = json.loads(cli("history", "--json"))["runs"]
    assert [r["exit_status"] for r in runs] == [1, 0]
    with sqlite3.connect(pytester.path / ".sleuth" / "history.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_two_runs_finishing_at_once_both_land(suite, pytester):
    suite(
        test_a=textwrap.dedent(
            """
            import pytest

            @pytest.mark.parametrize("n", range(200))
            def test_a(target, n):
                pass
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    procs = [
        subprocess.Popen(
            [*command, "--agent", f"runner-{i}"],
            cwd=pytester.path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(2)
    ]
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out
        assert "history: the store" not in out
    runs = json.loads(cli("history", "--json"))["runs"]
    assert sorted(r["agent"] for r in runs) == ["runner-0", "runner-1"]
    assert all(r["counts"] == {"passed": 200} for r in runs)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["history"],
            "no history yet at .sleuth/history.db: it is written by each run of the "
            "suite (sleuth run), unless --no-history is given.",
            id="no-runs-yet",
        ),
        pytest.param(
            ["history", "--history", "nowhere.db"],
            "no history yet at nowhere.db",
            id="no-such-store",
        ),
    ],
)
def test_cli_without_a_store_says_what_to_do(suite, pytester, args, message):
    suite(test_a="def test_a(target):\n    pass\n")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert message in result.output


def test_cli_outside_a_suite_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLEUTH_HISTORY", raising=False)
    result = CliRunner().invoke(main, ["diff"])
    assert result.exit_code == 1
    assert "Error: no sleuth.yaml (nor pyproject.toml with [tool.sleuth]) in " in (
        result.output
    )
    assert "or name the store with --history URL or SLEUTH_HISTORY." in result.output


def test_sleuth_history_alone_names_the_store_outside_a_suite(
    suite, pytester, tmp_path_factory, monkeypatch
):
    # An agent's page or a look at the shared store from anywhere: the URL
    # comes from the environment (never the command line, docs/agents.md).
    suite(test_a="def test_a(target):\n    pass\n")
    assert pytester.runpytest("-p", "no:cacheprovider").ret == 0
    store = pytester.path / ".sleuth" / "history.db"
    assert store.exists()
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("SLEUTH_HISTORY", str(store))
    result = CliRunner().invoke(main, ["history"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "1 passed" in result.output


def test_cli_names_unknown_ambiguous_and_missing_things(suite, pytester):
    suite(
        test_a=textwrap.dedent(
            """
            import pytest

            @pytest.mark.parametrize("n", [1, 2])
            def test_probe(target, n):
                assert target.setting("FEATURE_FLAG_X") is None
            """
        )
    )
    pytester.runpytest().assert_outcomes(passed=2)

    def error(*args: str) -> str:
        result = CliRunner().invoke(main, list(args))
        assert result.exit_code == 1
        return result.output

    assert "Did you mean 'FEATURE_FLAG_X'?" in error("history", "FEATURE_FLAG")
    assert "in the history (2 probes, 1 setting)." in error("history", "FEATURE_FLAG")
    assert "'test_probe' matches 2 probes; give one of them in full:" in error(
        "history", "test_probe"
    )
    assert "no run 9 in the history; 'sleuth history' lists the runs kept" in error(
        "diff", "9", "1"
    )
    pytester.makepyfile(test_a="def test_probe(target):\n    assert False\n")
    pytester.runpytest()
    pytester.runpytest()
    assert "no probe, setting or latency differs" in cli("diff", "2")
    out = cli("diff")
    assert "probes new in run 3 (1):" in out
    join_closing_threads()
    pytester.path.joinpath(".sleuth", "history.db").unlink()
    pytester.runpytest()
    assert "no run before run 1 (of 1 kept) in which everything passed" in error("diff")


def test_a_run_with_a_sqlite_history_does_not_import_sqlalchemy(suite, pytester):
    suite(test_a="def test_a(target):\n    pass\n")
    pytester.runpytest().assert_outcomes(passed=1)  # the store exists now
    code = (
        "import sys, pytest\n"
        "code = pytest.main(['-q', '-p', 'no:cacheprovider'])\n"
        "print('sqlalchemy loaded:', 'sqlalchemy' in sys.modules)\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout
    assert "history: run 2 recorded in .sleuth/history.db" in done.stdout
    assert "sqlalchemy loaded: False" in done.stdout


def test_a_store_from_a_newer_sleuth_warns_once_and_is_left_alone(suite, pytester):
    suite(test_a=FAILING)
    pytester.runpytest()
    store = pytester.path / ".sleuth" / "history.db"
    with sqlite3.connect(store) as conn:
        conn.execute("UPDATE sleuth_meta SET value = '99' WHERE key = 'schema_version'")
    result = pytester.runpytest()
    assert result.ret == 1
    assert (
        "could not be opened (StoreError: the store has schema version 99, newer than "
        f"this sleuth understands ({SCHEMA_VERSION}): upgrade sleuth, or use another store); this run "
        "is not recorded." in one_warning(result)
    )
    with sqlite3.connect(store) as conn:
        assert conn.execute("SELECT count(*) FROM sleuth_runs").fetchone() == (1,)


def test_json_and_markdown_say_what_changed_since_the_last_passing_run(
    pytester, http_target
):
    write_suite(pytester, http_target.url)
    pytester.runpytest().assert_outcomes(passed=3)
    write_suite(pytester, http_target.url, flag="off")
    result = pytester.runpytest("--sleuth-json=run.json", "--sleuth-report=run.md")
    result.assert_outcomes(passed=2, failed=1)
    changes = json.loads((pytester.path / "run.json").read_text())["changes"]
    assert (changes["a"]["id"], changes["b"]["id"]) == (1, 2)
    assert [(s["name"], s["change"]) for s in changes["settings"]] == [
        ("FEATURE_FLAG_X", "value changed")
    ]
    assert [f["probe_id"] for f in changes["flipped"]] == [
        "test_api.py::test_feature_flag_is_on"
    ]
    report = (pytester.path / "run.md").read_text()
    section = report.split("## What changed since the last passing run\n", 1)[1]
    assert "- settings (1): FEATURE_FLAG_X: value changed" in section.split("##", 1)[0]
    assert "off" not in section.split("##", 1)[0]  # what changed, never to what


def test_history_and_diff_read_the_store_without_the_suites_env_values(
    pytester, http_target, monkeypatch
):
    # The suite needs a token and a URL from the environment to run; reading
    # its history afterwards, where neither is set, must not.
    pytester.makefile(
        ".yaml",
        sleuth=textwrap.dedent(
            """
            targets:
              local:
                base_url: ${env:SLEUTH_T_BASE_URL}
                headers: {Authorization: "Bearer ${env:SLEUTH_T_TOKEN}"}
            history:
              keep: 50
            """
        ),
    )
    pytester.makepyfile(test_a="def test_a(target):\n    pass\n")
    monkeypatch.setenv("SLEUTH_T_BASE_URL", http_target.url)
    monkeypatch.setenv("SLEUTH_T_TOKEN", "canary-token-0a9b8c")
    pytester.runpytest().assert_outcomes(passed=1)
    pytester.runpytest().assert_outcomes(passed=1)
    monkeypatch.delenv("SLEUTH_T_BASE_URL")
    monkeypatch.delenv("SLEUTH_T_TOKEN")

    runs = json.loads(cli("history", "--json"))["runs"]
    assert [r["id"] for r in runs] == [2, 1]
    assert "test_a.py::test_a" in cli("history", "test_a")
    assert cli("diff").splitlines()[-1] == "no probe, setting or latency differs"
    # A run needs them, and says so.
    pytester.runpytest().stderr.fnmatch_lines(["*${env:SLEUTH_T_BASE_URL}*"])


def test_a_history_url_from_an_unset_env_value_is_one_line(pytester, monkeypatch):
    pytester.makefile(".yaml", sleuth="history: ${env:SLEUTH_T_HISTORY_URL}\n")
    monkeypatch.delenv("SLEUTH_T_HISTORY_URL", raising=False)
    result = CliRunner().invoke(main, ["history"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: sleuth.yaml line 1: ${env:SLEUTH_T_")
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_a_green_subset_run_is_never_the_baseline_of_a_wider_run(pytester, http_target):
    write_suite(pytester, http_target.url)
    pytester.runpytest().assert_outcomes(passed=3)  # run 1: everything, green
    write_suite(pytester, http_target.url, flag="off")  # the deploy
    # run 2: a subset, during the incident; green, but it never read the flag.
    pytester.runpytest("-k", "test_items").assert_outcomes(passed=1, deselected=2)
    third = pytester.runpytest()  # run 3: everything again
    third.assert_outcomes(passed=2, failed=1)
    third.stdout.fnmatch_lines(
        [
            "history: last passed: run 1, ??:?? (just now); failing since this run",
            "since the last run in which everything passed (run 1, ??:??, just now):",
            "  probes that now fail (1):",
            "    test_api.py::test_feature_flag_is_on (passed -> failed)",
            "  settings (1):",
            "    FEATURE_FLAG_X: value changed",
        ]
    )
    assert "probes new in run 3" not in third.stdout.str()

    diff = json.loads(cli("diff", "--json"))
    assert (diff["a"]["id"], diff["b"]["id"]) == (1, 3)
    assert diff["new_probes"] == []
    assert [(s["name"], s["change"]) for s in diff["settings"]] == [
        ("FEATURE_FLAG_X", "value changed")
    ]
    # A subset run is stored with its selection; named as run A, what it
    # left out is said so, not listed as new.
    subset = json.loads(cli("diff", "1", "2", "--json"))
    assert "-k test_items" in subset["b"]["selection"]
    backwards = json.loads(cli("diff", "2", "3", "--json"))
    assert backwards["new_probes"] == []
    assert backwards["not_run_in_a"] == [
        "test_api.py::test_database_url_is_set",
        "test_api.py::test_feature_flag_is_on",
    ]
    assert "probes run 2 did not run (a subset), so not compared (2):" in cli(
        "diff", "2", "3"
    )


def test_a_run_with_only_a_green_subset_before_it_says_so(pytester, http_target):
    # The incident's first runs: a green `-k`, then everything. "No earlier
    # run in which everything passed" would be false: run 1 did, in front of
    # the engineer; it is just not a baseline for the wider run.
    write_suite(pytester, http_target.url)
    pytester.runpytest("-k", "test_items").assert_outcomes(passed=1, deselected=2)
    wider = pytester.runpytest()
    wider.assert_outcomes(passed=3)
    wider.stdout.fnmatch_lines(
        [
            "history: run 2 recorded in *",
            "no earlier run in which everything passed ran all of this run's probes, "
            "to compare with (run 1 passed, but ran only some of them: a subset is "
            "never the baseline)",
        ]
    )
    # Once a full run has passed, the next compares with it as before.
    third = pytester.runpytest()
    third.stdout.fnmatch_lines(
        ["since the last run in which everything passed (run 2, *"]
    )
    assert "a subset is never the baseline" not in third.stdout.str()


@pytest.mark.services
def test_runs_held_in_the_buffer_keep_a_later_run_behind_them(suite, pytester, pg_url):
    # A buffered run the store cannot take (here its rows were damaged, not a
    # network fault): the next run must not overtake it, or the agent's runs
    # would take ids out of the order they ran, and timelines order by id.
    suite(test_a="def test_a(target):\n    pass\n")
    pytester.runpytest("--history", pg_url).assert_outcomes(passed=1)
    # The buffer this agent keeps for the store (made by the run, holding
    # the store's key).
    [path] = (pytester.path / ".sleuth").glob("history-buffer-*.db")
    buffer = RunBuffer(path)
    record = make_record({"test_a.py::test_a": "failed"}, started_at=EARLIER)
    rows = run_rows(record, key=None, agent="eu-1", git_revision=None, store_url=pg_url)
    held = new_run_key()
    buffer.add(rows, run_key=held, key_id=None)
    with sqlite3.connect(buffer.path) as db:
        db.execute(
            "UPDATE buffered_runs SET rows = 'damaged' WHERE run_key = ?", (held,)
        )

    result = pytester.runpytest("--history", pg_url, "--agent", "eu-1")
    result.assert_outcomes(passed=1)
    out = result.stdout.str()
    assert "could not be written to" in out
    assert "run kept in .sleuth/" in out
    assert "behind the runs that could not be written" in out
    assert "recorded in" not in out
    assert [run.id for run in stored_runs(pg_url)] == [1]
    assert buffer.count() == 2

    # Mended (as a person would, after `sleuth history --flush` said why):
    # the held run and the one behind it are written first, in order.
    buffer.remove(held)
    buffer.add(rows, run_key=held, key_id=None)
    with sqlite3.connect(buffer.path) as db:  # the held run first again
        db.execute("UPDATE buffered_runs SET seq = -1 WHERE run_key = ?", (held,))
    result = pytester.runpytest("--history", pg_url, "--agent", "eu-1")
    result.assert_outcomes(passed=1)
    assert "2 runs kept in .sleuth/" in result.stdout.str()
    runs = stored_runs(pg_url)
    assert [run.id for run in runs] == [1, 2, 3, 4]
    assert runs[1].started_at == EARLIER
    assert [run.started_at for run in runs[1:]] == sorted(
        run.started_at for run in runs[1:]
    )
    assert buffer.count() == 0


def stored_runs(url: str) -> list[RunRow]:
    # psycopg 3, as a run names it (SQLAlchemy's default driver may differ).
    store = HistoryStore.open(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        return sorted(store.runs(limit=20), key=lambda run: run.id)
    finally:
        store.close()


def test_a_setting_held_differently_by_two_agents_or_targets_is_no_change(tmp_path):
    # eu-1 and us-1 each hold their own REGION, run after run; staging and
    # prod each their own FLAG. None of it ever changed.
    url = f"sqlite:///{tmp_path}/h.db"
    store = HistoryStore.open(url)
    try:
        for _ in range(2):
            for agent, region in [("eu-1", "eu"), ("us-1", "us")]:
                record = make_record(
                    {"t::a": "passed"},
                    settings={"REGION": ("environment", "present", region)},
                    sources={"REGION": [("environment", "present", region)]},
                )
                store.write_run(record, agent=agent)
        for target, flag in [("prod", "on"), ("staging", "off")]:
            record = make_record(
                {"t::a": "passed"},
                target=target,
                settings={"FLAG": ("environment", "present", flag)},
            )
            store.write_run(record, agent="eu-1")
    finally:
        store.close()

    region = json.loads(cli("history", "REGION", "--history", url, "--json"))
    assert [(p["agent"], p["change"]) for p in region["points"]] == [
        ("us-1", ""),
        ("eu-1", ""),
        ("us-1", "first seen in environment"),
        ("eu-1", "first seen in environment"),
    ]
    [environment] = region["sources"]
    assert environment["changes"] == []
    table = cli("history", "REGION", "--history", url)
    assert "value changed" not in table
    assert "unchanged since" in table

    result = CliRunner().invoke(main, ["history", "FLAG", "--history", url])
    assert result.exit_code == 1
    assert (
        "FLAG is in the runs of 2 targets (prod, staging), each with a timeline "
        "of its own: add --target prod"
    ) in result.output
    prod = json.loads(
        cli("history", "FLAG", "--history", url, "--target", "prod", "--json")
    )
    assert [p["change"] for p in prod["points"]] == ["first seen in environment"]
