"""The outputs for people and machines: JSON, Markdown, Prometheus, Nagios."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBES = """
import pytest

@pytest.mark.parametrize("name", ["DEPLOY_REGION", "FEATURE_FLAG_X"])
def test_settings(target, name):
    assert target.setting(name) is not None

def test_orders(target):
    assert target.http.get("/status/500?body=KeyError").status_code == 200

def test_health(target):
    assert target.http.get("/status/200").status_code == 200
"""


@pytest.fixture
def probes(suite, pytester, monkeypatch):
    monkeypatch.setenv("DEPLOY_REGION", "eu-west-1")
    monkeypatch.setenv("DB_PASSWORD", "pw-in-env-2291")
    suite(test_probes=PROBES)
    return pytester


def test_json_document(probes):
    result = probes.runpytest("--sleuth-json", "out/run.json")
    result.assert_outcomes(passed=2, failed=1, errors=1)
    document = json.loads((probes.path / "out" / "run.json").read_text())
    assert document["schema"] == "sleuth.run/1"
    assert document["run"]["counts"] == {"passed": 2, "failed": 1, "error": 1}
    assert document["run"]["exit_status"] == 1
    orders = next(p for p in document["probes"] if p["name"] == "test_orders")
    assert (orders["outcome"], orders["category"]) == ("error", "http-5xx")
    assert orders["evidence"]["exchanges"][0]["status"] == 500
    assert orders["evidence"]["exchanges"][0]["body_excerpt"] == "KeyError"
    assert {"name": "DEPLOY_REGION", "source": "environment", "state": "present"} in (
        document["settings"]
    )


def test_markdown_incident_report(probes):
    probes.runpytest("--sleuth-report", "incident.md")
    report = (probes.path / "incident.md").read_text()
    assert report.startswith("# sleuth: 2 of 4 probes failing on local\n")
    assert "\n1 failed, 1 error, 2 passed in " in report
    assert "## Failures (2)" in report
    assert "- `test_probes.py::test_orders`: error (http-5xx): GET http://127" in report
    assert "<details><summary>Evidence of 2 of 2 failures</summary>" in report
    assert "Settings: 2 settings read; not set: `FEATURE_FLAG_X` absent." in report
    assert "eu-west-1" not in report  # settings show where, never what
    assert "\nRun: started " in report


def test_markdown_incident_report_full(probes):
    probes.runpytest("--sleuth-report", "incident.md", "--sleuth-report-full")
    report = (probes.path / "incident.md").read_text()
    assert "### `test_probes.py::test_orders`" in report
    assert "error (http-5xx)" in report
    assert "| `FEATURE_FLAG_X` | - | absent |" in report
    assert "| `DEPLOY_REGION` | environment | present |" in report
    assert "eu-west-1" not in report
    assert "## How this run was made" in report


def test_prometheus_metrics_parse_as_prometheus_reads_them(probes):
    from prometheus_client.parser import text_string_to_metric_families

    probes.runpytest("--sleuth-metrics", "sleuth.prom")
    text = (probes.path / "sleuth.prom").read_text()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    success = {
        s.labels["probe"]: (s.value, s.labels["category"])
        for s in families["sleuth_probe_success"].samples
    }
    assert success["test_probes.py::test_orders"] == (0.0, "http-5xx")
    assert success["test_probes.py::test_health"] == (1.0, "")
    assert all(
        s.labels["target"] == "local" for s in families["sleuth_probe_success"].samples
    )
    durations = families["sleuth_probe_duration_seconds"].samples
    assert len(durations) == 4
    assert all(s.value >= 0 for s in durations)
    counts = {s.labels["outcome"]: s.value for s in families["sleuth_probes"].samples}
    assert counts == {"passed": 2.0, "failed": 1.0, "error": 1.0}
    assert not list(probes.path.glob(".sleuth.prom.*"))  # written through a rename


@pytest.mark.parametrize(
    ("select", "code", "line"),
    [
        (
            "test_health",
            0,
            "SLEUTH OK - 1 probe healthy on local | probes=1 failing=0 degraded=0 duration=*s",
        ),
        (
            "test_orders or test_health",
            2,
            "SLEUTH CRITICAL - 1 of 2 probes failing on local: test_probes.py::test_orders: GET http://127.0.0.1:*/status/500?body=KeyError -> 500 Internal Server Error*| probes=2 failing=1*",
        ),
        (
            "nothing_matches",
            3,
            "SLEUTH UNKNOWN - the run ended with pytest exit status 5",
        ),
    ],
)
def test_nagios_exit_codes_and_the_status_line_first(probes, select, code, line):
    result = probes.runpytest_subprocess("--sleuth-exit", "nagios", "-k", select)
    assert result.ret == code
    result.stdout.fnmatch_lines([line])
    assert result.outlines[0].startswith("SLEUTH ")  # nothing of pytest's before it


def _sleuth_run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.run(
        sys.executable, "-m", "sleuth", "run", "-p", "no:cacheprovider", *args,
        timeout=120,
    )  # fmt: skip


def test_nagios_unknown_on_a_config_error_is_the_only_output(pytester):
    pytester.makefile(".yaml", sleuth="timeout: soon\n")
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = _sleuth_run(pytester, "--sleuth-exit", "nagios")
    assert result.ret == 3
    assert result.outlines == [
        "SLEUTH UNKNOWN - sleuth.yaml line 1: invalid timeout 'soon': expected seconds, "
        "e.g. 2.5, 2s or 150ms"
    ]
    assert result.errlines == []  # no "Exit: ...", no "! _pytest.outcomes.Exit"


def test_nagios_unknown_on_a_bad_table_is_the_only_output(pytester):
    pytester.makefile(".yaml", sleuth="timeout: 2s\n")
    pytester.makefile(".yaml", api="http:\n  - GETT /x: 200\n")
    result = _sleuth_run(pytester, "--no-history", "--sleuth-exit", "nagios")
    assert result.ret == 3
    assert result.outlines == [
        "SLEUTH UNKNOWN - api.yaml line 2: unknown HTTP method 'GETT'. Methods: "
        "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT. Did you mean 'GET'?"
    ]
    assert result.errlines == []


def test_an_invalid_exit_mode_is_one_line(pytester):
    pytester.makefile(".yaml", sleuth="timeout: 2s\n")
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = _sleuth_run(pytester, "--sleuth-exit", "nagois")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.outlines == []
    assert [line for line in result.errlines if line] == [
        "ERROR: --sleuth-exit 'nagois': expected pytest or nagios. Did you mean "
        "'nagios'?"
    ]


def test_an_output_that_cannot_be_written_warns_and_changes_nothing(probes):
    (probes.path / "blocked").write_text("a file where a directory should be")
    result = probes.runpytest("--sleuth-json", "blocked/run.json", "-k", "health")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*sleuth: could not write blocked/run.json*"])


def test_sleuth_run_passes_the_output_options(probes):
    result = subprocess.run(
        [sys.executable, "-m", "sleuth", "run", "-q", "-p", "no:cacheprovider",
         "--sleuth-json", "r.json", "-k", "health"],
        cwd=probes.path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads((probes.path / "r.json").read_text())["run"]["counts"] == {
        "passed": 1
    }


def test_the_outputs_are_built_from_the_run_result_alone():
    """No session behind them: a RunResult made by hand is all the section needs."""
    import dataclasses
    import datetime

    from sleuth._evidence import ProbeRecord, RunRecord
    from sleuth.plugin.outputs import OutputsPlugin, RunResult, summary_lines

    record = RunRecord(
        target="prod",
        base_url="https://api.example",
        started_at=datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC),
        duration_s=1.5,
        exit_status=1,
        selection=[],
        sleuth_version="0",
        probes=[
            ProbeRecord(probe_id="t.py::ok", outcome="passed", duration_s=0.25),
            ProbeRecord(probe_id="t.py::bad", outcome="failed", diagnosis="no"),
        ],
        settings=[],
    )
    result = RunResult(
        record=record,
        ran_ahead=2,
        allow_writes=False,
        own_trouble=("sleuth's HTTP worker stopped",),
        failure_history={"t.py::bad": "failing since run 3"},
        history_lines=("history: run 4 recorded",),
    )
    lines = summary_lines(result)
    assert lines[:2] == [
        "target prod https://api.example: 2 probes in 1.50 s: 1 failed, 1 passed "
        "(2 ran at once)",
        "sleuth's HTTP worker stopped",
    ]
    assert "failing since run 3" in "\n".join(lines)
    assert lines[-1] == "history: run 4 recorded"
    plugin = OutputsPlugin()
    plugin.take(result)
    assert plugin.result is result
    nothing_ran = dataclasses.replace(record, probes=[])
    empty = dataclasses.replace(result, record=nothing_ran)
    assert summary_lines(empty) == []  # no section, not even the history's lines


def test_redaction_is_on_from_configure_to_unconfigure(probes):
    """The run's registry is active for everything in the run (a client's
    redact.register reaches it) and gone after it, in the same process."""
    from sleuth import redact

    probes.makepyfile(
        test_canary="""
        from sleuth import redact

        def test_registered_secret_is_masked():
            redact.register("canary-value-5512")
            assert redact.scrub("pw canary-value-5512") == "pw ***"
        """
    )
    result = probes.runpytest_inprocess("test_canary.py")
    result.assert_outcomes(passed=1)
    assert redact.scrub("pw canary-value-5512") == "pw canary-value-5512"
