"""Likely root causes: each fault named once, and only where it lies.

Real runs against real servers: the tests' HTTP target, a closed port, a port
that never answers, and settings sources broken in each way one can be.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import require_service


def causes_of(result: pytest.RunResult) -> list[str]:
    """The numbered lines under ``likely root causes:``, without their numbers."""
    lines = result.stdout.lines
    if "likely root causes:" not in lines:
        return []
    start = lines.index("likely root causes:") + 1
    found = []
    for line in lines[start:]:
        numbered = re.match(r"^  \d+\. (.*)$", line)
        if numbered is None:
            break
        found.append(numbered[1])
    return found


def test_a_closed_port_seen_by_every_kind_of_probe_is_one_cause(
    suite, pytester, http_target, closed_port
):
    require_service("postgres", "127.0.0.1", 5432)  # its driver, not the server
    suite(
        f"""
        targets:
          local:
            base_url: {http_target.url}
            timeout: 5s
            services:
              postgres:
                orders: {{dsn: "postgresql://postgres@127.0.0.1:{closed_port}/test"}}
              tcp:
                broker: {{host: 127.0.0.1, port: {closed_port}}}
        """,
        test_one=f"""
        import pytest

        @pytest.mark.db
        def test_database(target):
            target.postgres("orders").check()

        def test_broker_port(target):
            target.tcp("broker").check()

        @pytest.mark.parametrize("path", ["/a", "/b"])
        def test_straight_at_the_port(target, path):
            target.http.get("http://127.0.0.1:{closed_port}" + path)

        @pytest.mark.needs("db")
        @pytest.mark.parametrize("n", range(2))
        def test_orders(target, n):
            target.postgres("orders").check()

        def test_the_api_is_fine(target):
            assert target.http.get("/status/200").status_code == 200
        """,
    )
    pytester.makeini("[pytest]\nmarkers = db: the database probes")
    out = pytester.path / "run.json"
    result = pytester.runpytest(f"--sleuth-json={out}")
    assert causes_of(result) == [
        f"db: connection refused by 127.0.0.1:{closed_port} "
        f"(blocks 2 probes; 3 more failed the same way)"
    ]
    [cause] = json.loads(out.read_text())["root_causes"]
    assert cause["category"] == "refused"
    assert len(cause["probes"]) == 4
    assert len(cause["blocks"]) == 2


def test_a_host_that_answers_is_not_blamed_for_one_endpoint(
    suite, pytester, http_target, silent_port
):
    suite(
        test_mixed=f"""
        import pytest

        @pytest.mark.parametrize("n", range(5))
        def test_health(target, n):
            assert target.http.get(f"/status/200?n={{n}}").status_code == 200

        @pytest.mark.probe(timeout=0.5)
        @pytest.mark.parametrize("q", ["a", "b"])
        def test_search(target, q):
            target.http.get("/hang?q=" + q)

        @pytest.mark.parametrize("n", range(2))
        def test_orders(target, n):
            assert target.http.get(f"/status/503?n={{n}}").status_code == 200

        @pytest.mark.probe(timeout=0.5)
        @pytest.mark.parametrize("path", ["/x", "/y"])
        def test_silent_host(target, path):
            target.http.get("http://127.0.0.1:{silent_port}" + path)
        """
    )
    result = pytester.runpytest()
    host = http_target.url.removeprefix("http://")
    causes = causes_of(result)
    assert sorted(causes) == sorted(
        [
            "GET /hang: no answer in 0.5 s (2 probes failed the same way)",
            "GET /status/503: answering 503 (2 probes failed the same way)",
            f"127.0.0.1:{silent_port}: no answer in time "
            f"(2 probes failed the same way)",
        ]
    )
    assert not any(host in cause for cause in causes)


def test_a_host_that_answers_nothing_well_is_the_cause(suite, pytester, http_target):
    suite(
        test_down="""
        import pytest

        @pytest.mark.parametrize("path", ["/status/503?a", "/status/502?b", "/status/500"])
        def test_pages(target, path):
            assert target.http.get(path).status_code == 200
        """
    )
    host = http_target.url.removeprefix("http://")
    assert causes_of(pytester.runpytest()) == [
        f"{host}: answering 5xx (3 probes failed the same way)"
    ]


def test_refused_writes_are_never_the_hosts_fault(suite, pytester, http_target):
    suite(
        test_writes="""
        import pytest

        @pytest.mark.parametrize("n", range(4))
        def test_post(target, n):
            target.http.post(f"/echo?n={n}", json={"n": n})
        """
    )
    pytester.makefile(
        ".yaml",
        probes="http:\n  - POST /echo: 200\n  - PUT /echo: 200\n  - DELETE /echo: 200\n",
    )
    out = pytester.path / "run.json"
    result = pytester.runpytest(f"--sleuth-json={out}")
    assert causes_of(result) == [
        "sleuth's read-only rule: writes refused before sending; nothing reached "
        "the target, not its fault (7 probes)"
    ]
    [cause] = json.loads(out.read_text())["root_causes"]
    assert cause["category"] == "write-refused"
    assert http_target.recorder.total() == 0


def test_refused_writes_come_after_the_targets_faults(
    suite, pytester, http_target, closed_port
):
    suite(
        test_both=f"""
        import pytest

        @pytest.mark.parametrize("n", range(5))
        def test_post(target, n):
            target.http.post(f"/echo?n={{n}}")

        @pytest.mark.parametrize("n", range(2))
        def test_refused(target, n):
            target.http.get(f"http://127.0.0.1:{closed_port}/?n={{n}}")
        """
    )
    causes = causes_of(pytester.runpytest())
    assert [cause.split(":")[0] for cause in causes] == [
        "127.0.0.1",
        "sleuth's read-only rule",
    ]


BROKEN_SOURCES = """
targets:
  local:
    sources:
      - env
      - {app: my_appp.config:get_setting}
      - {dotenv: deploy.env}
      - {file: settings.yaml}
"""


def test_a_broken_settings_source_is_one_cause_named_once(pytester):
    pytester.makefile(".yaml", sleuth=BROKEN_SOURCES)
    (pytester.path / "settings.yaml").write_text("x: [1, 2\ny: 3\n")
    pytester.makefile(
        ".yaml", probes="settings:\n  required: [DATABASE_URL, CACHE_HOST, API_KEY]\n"
    )
    pytester.makepyfile(
        test_settings="""
        def test_flag(target):
            assert target.setting("FEATURE_FLAG_X") is not None

        def test_path_is_found_all_the_same(target):
            assert target.setting("PATH")
        """
    )
    out = pytester.path / "run.json"
    result = pytester.runpytest(f"--sleuth-json={out}")
    result.assert_outcomes(passed=1, failed=4)
    assert causes_of(result) == [
        "settings source app my_appp.config:get_setting (sleuth.yaml line 5): "
        "cannot be imported (ModuleNotFoundError: No module named 'my_appp') "
        "(4 probes failed the same way)",
        f"settings source dotenv deploy.env (sleuth.yaml line 6): no file at "
        f"{pytester.path / 'deploy.env'} (4 probes failed the same way)",
        "settings source file settings.yaml (sleuth.yaml line 7): does not parse "
        "as YAML (line 2, column 2: expected ',' or ']', but got ':') "
        "(4 probes failed the same way)",
    ]
    # Each failure refers to the broken sources in a few words, not the whole story.
    document = json.loads(out.read_text())
    for probe in document["probes"]:
        if probe["outcome"] == "failed":
            assert probe["diagnosis"].count("(see likely root causes)") == 3
            assert "ModuleNotFoundError" not in probe["diagnosis"]
    assert {c["category"] for c in document["root_causes"]} == {"failed"}


def test_a_missing_source_is_a_cause_only_of_settings_it_left_missing(pytester):
    # PATH is found in the environment: the missing dotenv file does not matter
    # to it; NOPE_NOT_SET is in neither, so the missing file is named for it.
    pytester.makefile(
        ".yaml", sleuth="targets:\n  local:\n    sources: [env, {dotenv: none.env}]\n"
    )
    pytester.makefile(".yaml", probes="settings:\n  required: [PATH, NOPE_NOT_SET]\n")
    pytester.makepyfile(test_x="def test_x(target):\n    assert False, 'plain'\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=2)
    assert causes_of(result) == [
        f"settings source dotenv none.env (sleuth.yaml line 3): no file at "
        f"{pytester.path / 'none.env'} (1 probe failed)"
    ]


def test_rank_never_puts_sleuths_faults_or_refused_writes_on_a_host():
    from sleuth._evidence import Category, Exchange, ProbeOutcome, ProbeRecord
    from sleuth.reports.causes import rank

    def record(
        n: int, outcome: ProbeOutcome, category: Category, request: str
    ) -> ProbeRecord:
        return ProbeRecord(
            probe_id=f"p{n}",
            outcome=outcome,
            category=category,
            diagnosis=f"{request}: something",
            exchanges=[Exchange(kind="http", request=request, error="x")],
        )

    at = "GET http://10.0.0.1:8080/x"
    records = [
        # A write refused in a fixture is an error outcome: still not the host's.
        record(1, "error", "write-refused", "POST http://10.0.0.1:8080/x"),
        record(2, "failed", "write-refused", "POST http://10.0.0.1:8080/y"),
        record(3, "error", "sleuth", at),
        record(4, "error", "sleuth", at),
        record(5, "error", "refused", "GET http://10.0.0.2:80/"),
        record(6, "error", "refused", "GET http://10.0.0.2:80/a"),
    ]
    causes = rank(records)
    assert [(c.label, c.category, c.probes) for c in causes] == [
        ("10.0.0.2:80", "refused", ("p5", "p6")),
        ("sleuth", "sleuth", ("p3", "p4")),
        ("sleuth's read-only rule", "write-refused", ("p1", "p2")),
    ]
    assert not any("10.0.0.1" in c.line() for c in causes)
