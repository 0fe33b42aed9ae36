"""Selected probes start at once; pytest reports them in order, as if run there."""

from __future__ import annotations

import gc
import re
import sys
import xml.etree.ElementTree as ET

import pytest

SEED_STYLE = """
    import pytest

    @pytest.mark.parametrize("path", [f"/status/200?together=20&n={i}" for i in range(20)])
    def test_endpoints(target, path):
        assert target.http.get(path).status_code == 200
"""


@pytest.mark.usefixtures("http_transport")  # in-process and worker
def test_selected_probes_all_run_at_once(suite, pytester, http_target):
    suite(test_seed=SEED_STYLE)
    result = pytester.runpytest()
    result.assert_outcomes(passed=20)
    # Counted at the server: all 20 requests were in flight together.
    assert http_target.recorder.max_in_flight == 20
    result.stdout.fnmatch_lines(["*20 probes in*20 passed (20 ran at once)*"])


def test_in_order_option_runs_one_probe_at_a_time(suite, pytester, http_target):
    suite(test_seed=SEED_STYLE.replace("range(20)", "range(3)"))
    result = pytester.runpytest("--sleuth-in-order")
    result.assert_outcomes(passed=3)
    assert http_target.recorder.max_in_flight == 1


@pytest.mark.usefixtures("http_transport")  # in-process and worker
def test_deselected_probes_never_send_a_request(suite, pytester, http_target):
    suite(
        test_seed="""
        import pytest

        @pytest.mark.parametrize("code", [200, 201, 202, 203, 204, 205])
        def test_status(target, code):
            target.http.get(f"/status/{code}")

        @pytest.mark.parametrize("n", range(4))
        def test_other(target, n):
            target.http.get(f"/status/299?n={n}")
        """
    )
    result = pytester.runpytest("-k", "test_status and (201 or 204)")
    result.assert_outcomes(passed=2)
    assert http_target.recorder.total() == 2
    assert http_target.recorder.count("/status/201") == 1
    assert http_target.recorder.count("/status/204") == 1


def test_node_ids_and_marks_select_too(suite, pytester, http_target):
    suite(
        test_seed="""
        import pytest

        @pytest.mark.slowpath
        def test_a(target):
            target.http.get("/status/200")

        def test_b(target):
            target.http.get("/status/201")

        def test_c(target):
            target.http.get("/status/202")
        """
    )
    pytester.makeini("[pytest]\nmarkers = slowpath: a mark")
    result = pytester.runpytest("test_seed.py::test_c", "-m", "not slowpath")
    result.assert_outcomes(passed=1)
    assert http_target.recorder.total() == 1
    assert http_target.recorder.count("/status/202") == 1


def test_last_failed_reruns_only_failures_at_the_server(suite, pytester, http_target):
    suite(
        test_seed="""
        import pytest

        @pytest.mark.parametrize("code", [200, 500, 200, 503])
        def test_status(target, code):
            assert target.http.get(f"/status/{code}").status_code == 200
        """
    )
    pytester.runpytest().assert_outcomes(passed=2, errors=2)
    http_target.recorder.reset()
    result = pytester.runpytest("--lf")
    result.assert_outcomes(errors=2)
    assert http_target.recorder.total() == 2
    assert http_target.recorder.count("/status/200") == 0


def test_failure_text_is_what_plain_pytest_prints(suite, pytester):
    # This probe runs ahead on a worker thread; its failure is replayed. The
    # same file run without sleuth must print the same failure section.
    suite(
        test_math="""
        import pytest

        @pytest.mark.parametrize("n", [1, 2, 3])
        def test_n(n):
            values = {"n": n, "double": n * 2}
            assert values["double"] == 4, f"n={n} is not 2"
        """
    )
    with_sleuth = pytester.runpytest("-p", "no:cacheprovider")
    without = pytester.runpytest("-p", "no:sleuth", "-p", "no:cacheprovider")
    with_sleuth.assert_outcomes(passed=1, failed=2)
    without.assert_outcomes(passed=1, failed=2)

    def failures(lines: list[str]) -> list[str]:
        start = lines.index(next(x for x in lines if "FAILURES" in x))
        end = lines.index(
            next(x for x in lines[start:] if "sleuth" in x or "short test" in x)
        )
        return lines[start:end]

    assert failures(with_sleuth.outlines) == failures(without.outlines)
    with_sleuth.stdout.fnmatch_lines(
        ["*AssertionError: n=1 is not 2*", "*assert 2 == 4*"]
    )


def test_skip_xfail_and_fail_inside_probes_keep_their_meaning(suite, pytester):
    suite(
        test_marks="""
        import pytest

        @pytest.mark.parametrize("n", [1])
        def test_skips(n):
            pytest.skip("not today")

        @pytest.mark.xfail(reason="known")
        @pytest.mark.parametrize("n", [1])
        def test_xfails(n):
            assert n == 2

        @pytest.mark.skip(reason="never run")
        def test_skipped_by_mark(target):
            raise AssertionError("must not run ahead")
        """
    )
    result = pytester.runpytest("-rsx")
    result.assert_outcomes(skipped=2, xfailed=1)
    result.stdout.fnmatch_lines(["*not today*", "*never run*"])


def test_tests_with_function_fixtures_run_in_order_and_still_probe(
    suite, pytester, http_target
):
    suite(
        test_mixed="""
        def test_uses_tmp_path(target, tmp_path):
            (tmp_path / "x").write_text("1")
            assert target.http.get("/status/200").status_code == 200

        def test_plain(target):
            assert target.http.get("/status/201").status_code == 201
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*2 probes*(1 ran at once)*"])


def test_session_fixtures_are_shared_with_probes_running_ahead(suite, pytester):
    suite(
        conftest="""
        import pytest

        CALLS = []

        @pytest.fixture(scope="session")
        def token():
            CALLS.append(1)
            return "abc"
        """,
        test_session="""
        import pytest
        from conftest import CALLS

        @pytest.mark.parametrize("n", range(5))
        def test_token(token, n):
            assert token == "abc"
            assert len(CALLS) == 1
        """,
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["*(5 ran at once)*"])


@pytest.mark.parametrize("warnings", [[], ["-W", "error"]], ids=["shown", "errors"])
def test_a_session_fixture_made_for_a_later_probe_draws_no_pytest_warning(
    suite, pytester, warnings
):
    # pytest 9 warns when a fixture is asked for through the request of a test
    # it has not set up yet, which is how a probe running ahead gets its
    # session fixtures; under -W error the probe ran in order instead.
    suite(
        conftest="""
        import pytest

        @pytest.fixture(scope="session")
        def token():
            return "abc"
        """,
        test_later="""
        def test_first(target):
            pass

        def test_token_later(target, token):
            assert token == "abc"

        def test_in_order(target, tmp_path):
            assert tmp_path.is_dir()
        """,
    )
    result = pytester.runpytest(*warnings)
    result.assert_outcomes(passed=3, warnings=0)
    result.stdout.fnmatch_lines(["*3 probes*(2 ran at once)*"])


@pytest.mark.usefixtures("http_transport")  # in-process and worker
def test_async_probes_run_on_the_loop(suite, pytester, http_target):
    suite(
        test_async="""
        import asyncio
        import pytest

        @pytest.mark.parametrize("n", range(10))
        async def test_async(target, n):
            response = await target.ahttp.get(f"/status/200?delay=0.3&n={n}")
            assert response.status_code == 200

        async def test_in_order(target, tmp_path):
            r1, r2 = await asyncio.gather(
                target.ahttp.get("/status/201"), target.ahttp.get("/status/202")
            )
            assert (r1.status_code, r2.status_code) == (201, 202)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=11)
    assert http_target.recorder.max_in_flight >= 10


def test_a_blocking_call_in_an_async_probe_is_refused(suite, pytester):
    suite(
        test_async="""
        async def test_blocks(target):
            target.http.get("/status/200")
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*would stall every other probe*await target.ahttp.get*"]
    )


def test_reported_durations_are_each_probes_own(suite, pytester):
    suite(
        test_slow="""
        import pytest

        @pytest.mark.parametrize("n", range(3))
        def test_slow(target, n):
            target.http.get(f"/status/200?delay=0.5&n={n}")
        """
    )
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest(f"--junitxml={junit}", "--durations=0")
    result.assert_outcomes(passed=3)
    times = [float(case.get("time", "0")) for case in ET.parse(junit).iter("testcase")]
    # All three ran together; the second and third were already done when pytest
    # reached them, yet each reports the half second its own request took.
    assert len(times) == 3
    assert all(t >= 0.5 for t in times), times
    durations = [
        float(m.group(1))
        for line in result.outlines
        if (m := re.match(r"^(\d+\.\d+)s call ", line))
    ]
    assert len(durations) == 3
    assert all(d >= 0.5 for d in durations), durations


def test_probe_output_and_logs_stay_with_their_probe(suite, pytester):
    suite(
        test_output="""
        import logging
        import time
        import pytest

        @pytest.mark.parametrize("n", range(4))
        def test_talks(n):
            time.sleep(0.05 * (4 - n))
            print(f"stdout of probe {n}")
            logging.getLogger("probe").warning("log of probe %d", n)
        """
    )
    result = pytester.runpytest("-rP")
    result.assert_outcomes(passed=4)
    text = result.stdout.str()
    for n in range(4):
        section = text.split(f"test_talks[{n}]", 1)[1].split("test_talks[", 1)[0]
        assert f"stdout of probe {n}" in section
        assert f"log of probe {n}" in section
        others = [m for m in range(4) if m != n]
        assert not any(f"probe {m}" in section for m in others)


@pytest.mark.parametrize("capture", ["fd", "no"])
def test_while_pytest_captures_a_phase_sys_stdout_routes_probe_output(
    suite, pytester, capture
):
    """Between pytest's capture resuming (which swaps ``sys.stdout``) and the
    hooks inside it, a probe running ahead on another thread may print: the
    stream it finds must route its output to it, not to the test pytest is at.
    A hook wrapper placed right there (inside pytest's capture wrapper, outside
    sleuth's own) records the stream it sees in every phase."""
    suite(
        test_output="""
        import pytest

        @pytest.mark.parametrize("n", range(3))
        def test_talks(n):
            print(f"stdout of probe {n}")
        """
    )
    pytester.makeconftest(
        """
        import sys
        import pytest

        SEEN = []

        # trylast, and registered before sleuth's session (a conftest is):
        # inside pytest's capture wrapper, outside sleuth's own (pluggy calls
        # a later-registered trylast wrapper inside an earlier one).
        @pytest.hookimpl(wrapper=True, trylast=True)
        def pytest_runtest_setup(item):
            SEEN.append(type(sys.stdout).__name__)
            return (yield)

        @pytest.hookimpl(wrapper=True, trylast=True)
        def pytest_runtest_call(item):
            SEEN.append(type(sys.stdout).__name__)
            return (yield)

        @pytest.hookimpl(wrapper=True, trylast=True)
        def pytest_runtest_teardown(item):
            SEEN.append(type(sys.stdout).__name__)
            return (yield)

        def pytest_unconfigure(config):
            (config.rootpath / "seen.txt").write_text(" ".join(SEEN))
        """
    )
    result = pytester.runpytest(f"--capture={capture}", "-rP")
    result.assert_outcomes(passed=3)
    seen = (pytester.path / "seen.txt").read_text().split()
    assert seen == ["RoutingStream"] * 9, seen
    text = result.stdout.str()
    for n in range(3):
        if capture == "no":  # printed as it ran, replayed in order
            assert f"stdout of probe {n}" in text
            continue
        section = text.split(f"test_talks[{n}]", 1)[1].split("test_talks[", 1)[0]
        assert f"stdout of probe {n}" in section


def test_plain_pytest_and_sleuth_run_give_the_same_outcomes(suite, pytester):
    suite(test_seed=SEED_STYLE.replace("range(20)", "range(2)"))
    plain = pytester.runpytest_subprocess()
    plain.assert_outcomes(passed=2)
    via_cli = pytester.run(sys.executable, "-m", "sleuth", "run", "-q")
    via_cli.assert_outcomes(passed=2)
    via_cli.stdout.fnmatch_lines(["*sleuth*", "*2 probes*"])


@pytest.mark.parametrize("flag", ["-x", "--maxfail=1"])
def test_exitfirst_stops_reporting_after_the_first_failure(suite, pytester, flag):
    suite(
        test_x="""
        import pytest

        @pytest.mark.parametrize("code", [500, 200, 200])
        def test_status(target, code):
            assert target.http.get(f"/status/{code}").status_code == 200
        """
    )
    result = pytester.runpytest(flag)
    result.assert_outcomes(errors=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_garbage_collection_pauses_for_the_run_and_is_back_on_after(suite, pytester):
    # Off while probes run, what was built before frozen (bench/PROFILE.md);
    # both undone once pytest is done, for a process that goes on.
    suite(
        test_gc="""
        import gc

        def test_collector_waits_while_probes_run():
            assert not gc.isenabled()
            assert gc.get_freeze_count() > 0
        """
    )
    assert gc.isenabled()
    frozen_before = gc.get_freeze_count()
    pytester.runpytest().assert_outcomes(passed=1)
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen_before == 0
