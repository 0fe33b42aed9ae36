"""A team's history on the real PostgreSQL: the incident scenario, and no secret in it."""

from __future__ import annotations

import json
import subprocess

import pytest
from click.testing import CliRunner

from sleuth.cli.commands import group as main
from tests.history.helpers import (
    CANARY_DSN_PASSWORD,
    CANARY_KEY,
    write_suite,
)

pytestmark = pytest.mark.services


def cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_incident_on_a_shared_postgres_history(pytester, http_target, pg_url):
    write_suite(pytester, http_target.url)
    pytester.runpytest("--history", pg_url, "--agent", "eu-west").assert_outcomes(
        passed=3
    )
    write_suite(pytester, http_target.url, flag="off", path="/status/503")
    broken = pytester.runpytest("--history", pg_url, "--agent", "eu-west")
    broken.assert_outcomes(passed=1, failed=1, errors=1)
    broken.stdout.fnmatch_lines(
        [
            "history: last passed: run 1, ??:?? (just now); failing since this run",
            f"history: run 2 recorded in {pg_url} (2 runs of local kept;*",
            "since the last run in which everything passed (run 1, ??:??, just now):",
            "  probes that now fail (2):",
            "  settings (1):",
            "    FEATURE_FLAG_X: value changed",
        ]
    )
    runs = json.loads(cli("history", "--history", pg_url, "--json"))["runs"]
    assert [(r["id"], r["agent"]) for r in runs] == [(2, "eu-west"), (1, "eu-west")]
    diff = json.loads(cli("diff", "--history", pg_url, "--json"))
    assert [s["name"] for s in diff["settings"]] == ["FEATURE_FLAG_X"]
    assert [f["probe_id"] for f in diff["flipped"]] == [
        "test_api.py::test_feature_flag_is_on",
        "test_api.py::test_items",
    ]
    flag = json.loads(cli("history", "FEATURE_FLAG_X", "--history", pg_url, "--json"))
    assert [p["change"] for p in flag["points"]] == [
        "value changed",
        "first seen in dotenv deploy.env",
    ]
    # Each source on its own: the environment asked, absent, in both runs.
    assert [(s["source"], s["role"], s["changes"]) for s in flag["sources"]] == [
        ("environment", "no value", []),
        ("dotenv deploy.env", "wins", [{"run": 2, "change": "changed"}]),
    ]

    # Another agent's first run, as broken: eu-west's green run is not its
    # baseline (its settings are its own, not changed ones), nor its last pass.
    elsewhere = pytester.runpytest("--history", pg_url, "--agent", "us-east")
    elsewhere.assert_outcomes(passed=1, failed=1, errors=1)
    elsewhere.stdout.fnmatch_lines(
        [
            "no earlier run from agent us-east in which everything passed, "
            "to compare with (other agents' runs are not: *",
        ]
    )
    assert "value changed" not in elsewhere.stdout.str()
    assert "last passed" not in elsewhere.stdout.str()

    dump = subprocess.run(
        ["pg_dump", "--data-only", pg_url],  # noqa: S607 (the client on PATH)
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    assert b"down for ***" in dump  # the failing probe's body, scrubbed
    assert b"FEATURE_FLAG_X" in dump
    for canary in (CANARY_KEY, CANARY_DSN_PASSWORD):
        assert canary.encode() not in dump


def test_a_search_path_in_the_url_puts_the_tables_in_that_schema(pytester, pg_url):
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA team_history")
    pytester.makefile(".yaml", sleuth="targets:\n  local: {}\n")
    pytester.makepyfile(test_a="def test_a(target):\n    pass\n")
    url = f"{pg_url}?options=-csearch_path%3Dteam_history"
    pytester.runpytest("--history", url).assert_outcomes(passed=1)
    with psycopg.connect(pg_url) as conn:
        tables = conn.execute(
            "SELECT table_schema, count(*) FROM information_schema.tables "
            "WHERE table_name LIKE 'sleuth_%' GROUP BY table_schema"
        ).fetchall()
        runs = conn.execute("SELECT count(*) FROM team_history.sleuth_runs").fetchone()
    assert tables == [("team_history", 7)]  # setting sources, alerts, alert outbox too
    assert runs == (1,)
