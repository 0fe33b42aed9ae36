"""Every probe has a deadline; a hung target never stalls the run."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest


@pytest.mark.usefixtures("http_transport")  # in-process and worker
def test_probe_past_its_deadline_says_what_it_was_waiting_on(
    suite, pytester, http_target
):
    suite(
        test_slow="""
        import pytest

        @pytest.mark.probe(timeout=1)
        def test_hangs(target):
            target.http.get("/hang")

        def test_fine(target):
            assert target.http.get("/status/200").status_code == 200
        """
    )
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest(f"--junitxml={junit}")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            f"*ProbeTimeout: timed out after 1.0 s waiting for GET {http_target.url}/hang*"
        ]
    )
    assert junit.exists()
    failures = [
        c for c in ET.parse(junit).iter("testcase") if c.find("failure") is not None
    ]
    assert [c.get("name") for c in failures] == ["test_hangs"]


@pytest.mark.usefixtures("http_transport")  # in-process and worker
def test_a_port_that_never_answers_does_not_stall_the_run(suite, pytester, silent_port):
    suite(
        f"""
        targets:
          silent:
            base_url: http://127.0.0.1:{silent_port}
            timeout: 1s
        """,
        test_silent="""
        import pytest

        @pytest.mark.parametrize("n", range(3))
        def test_silent(target, n):
            target.http.get(f"/anything/{n}")
        """,
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(
        [
            f"*timed out after 1.0 s*waiting for GET http://127.0.0.1:{silent_port}/anything/0*"
        ]
    )


def test_timeout_precedence_marker_over_cli_over_env_over_config(
    suite, pytester, http_target, monkeypatch
):
    suite(
        f"""
        timeout: 9s
        targets:
          local:
            base_url: {http_target.url}
        """,
        test_t="""
        import pytest

        @pytest.mark.probe(timeout=0.5)
        def test_marker(target):
            target.http.get("/hang")

        def test_default(target):
            target.http.get("/hang")
        """,
    )
    monkeypatch.setenv("SLEUTH_TIMEOUT", "0.7")
    result = pytester.runpytest("--sleuth-timeout", "0.6")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*sleuth: timeout 0.6 s (--sleuth-timeout)*",
            "*test_marker*",
            "*timed out after 0.5 s*",
            "*test_default*",
            "*timed out after 0.6 s*",
        ]
    )
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(
        ["*sleuth: timeout 0.7 s (SLEUTH_TIMEOUT environment variable)*"]
    )


def test_a_probe_stuck_in_its_own_code_is_abandoned_at_its_deadline(suite, pytester):
    suite(
        test_stuck="""
        import threading
        import pytest

        STOP = threading.Event()

        @pytest.mark.probe(timeout=0.5)
        @pytest.mark.parametrize("n", [1])
        def test_stuck(n):
            STOP.wait(30)  # not waiting on the target: sleuth cannot cancel this
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*timed out after 0.5 s (timeout from @pytest.mark.probe); it was not waiting on the target: its own code was still running*"
        ]
    )


@pytest.mark.usefixtures("http_transport")  # in-process and worker
def test_async_probe_past_its_deadline_is_cancelled(suite, pytester, http_target):
    suite(
        test_async="""
        import asyncio
        import pytest

        @pytest.mark.probe(timeout=0.5)
        async def test_hangs(target):
            await target.ahttp.get("/hang")

        @pytest.mark.probe(timeout=0.5)
        async def test_sleeps(target):
            await asyncio.sleep(30)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            f"*timed out after 0.5 s waiting for GET {http_target.url}/hang*",
            "*test_sleeps*",
            "*timed out after 0.5 s (timeout from @pytest.mark.probe); it was not waiting on the target*",
        ]
    )


@pytest.mark.usefixtures("http_transport")  # in-process and worker
def test_run_budget_bounds_every_probe_and_the_run_still_reports(
    suite, pytester, http_target
):
    suite(
        test_budget="""
        import pytest

        @pytest.mark.parametrize("n", range(3))
        def test_hang(target, n):
            target.http.get(f"/hang?n={n}")

        def test_after(target, tmp_path):
            target.http.get("/status/200")
        """
    )
    junit = pytester.path / "junit.xml"
    # 3 s: time for the three requests to go out on a loaded machine.
    result = pytester.runpytest("--budget", "3s", f"--junitxml={junit}")
    result.assert_outcomes(errors=4)
    result.stdout.fnmatch_lines(
        [
            "*timed out after * s waiting for GET*/hang?n=0 (the run budget ran out)*",
            "*not run: the run budget of 3 s (--budget) was spent before pytest reached it*",
        ]
    )
    assert len(list(ET.parse(junit).iter("testcase"))) == 4


@pytest.mark.usefixtures("http_transport")  # in-process and worker
def test_request_timeout_from_the_target_config_is_named(suite, pytester, http_target):
    suite(
        f"""
        timeout: 10s
        targets:
          local:
            base_url: {http_target.url}
            timeout: 0.5s
        """,
        test_t="""
        def test_hang(target):
            target.http.get("/hang")
        """,
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*timed out after 0.5 s waiting for GET*/hang (timeout from target 'local' in sleuth.yaml)*"
        ]
    )


def test_a_probe_the_budget_never_started_is_no_fault_of_the_target(suite, pytester):
    # One worker, and a first probe stuck in its own code until the budget
    # ends it: the second never gets a worker, so it never reaches the target.
    suite(
        test_budget="""
        import threading

        def test_stuck(target):
            threading.Event().wait(6)  # past the budget, not much longer

        def test_waiting(target):
            pass  # never started: its body does not matter
        """
    )
    out = pytester.path / "run.json"
    result = pytester.runpytest(
        # 2 s: time for test_stuck to start on a loaded machine.
        "--budget",
        "2s",
        "--sleuth-workers",
        "1",
        f"--sleuth-json={out}",
    )
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*not started: the run budget of 2 s ran out before a worker was free*",
            "*likely root causes:*",
            "*the run's budget: spent before the probes started*",
        ]
    )
    result.stdout.no_fnmatch_line("*TargetUnreachable*")
    document = json.loads(out.read_text())
    categories = {p["id"].split("::")[1]: p["category"] for p in document["probes"]}
    assert categories == {"test_stuck": "timeout", "test_waiting": "budget"}
    assert [c["label"] for c in document["root_causes"]] == ["the run's budget"]
