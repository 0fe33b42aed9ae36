"""HTTP probe tables: one pytest item per row, run like any probe."""

from __future__ import annotations

import json

import pytest

from tests.plugin.tables_helpers import records, with_records, write_table


def test_shorthand_rows_check_the_status(suite, pytester, http_target):
    suite()
    write_table(
        pytester,
        """
        http:
          - GET /status/200: 200
          - GET /status/204: [200, 204]
          - GET /status/201: 2xx
          - GET /status/202
          - GET /status/404: 200
          - GET /status/503: 2xx
          - GET /status/418: any
        """,
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=5, failed=1, errors=1)
    url = http_target.url
    result.stdout.fnmatch_lines(
        [
            "api.yaml::GET /status/200 PASSED*",
            "api.yaml::GET /status/404 FAILED*",
            "api.yaml::GET /status/503 ERROR*",
            f"CheckFailed: GET {url}/status/503: status 503 Service Unavailable, "
            f"expected 2xx",
            "row at api.yaml line 7",
            f"CheckFailed: GET {url}/status/404: status 404 Not Found, expected 200",
            "row at api.yaml line 6",
        ]
    )
    # The row is the code: no traceback into sleuth under the failure.
    assert "sleuth/http/client.py" not in result.stdout.str()
    assert http_target.recorder.count("/status/503") == 1  # no retry unless asked


def test_full_form_sends_headers_params_and_settings(
    suite, pytester, http_target, monkeypatch
):
    monkeypatch.setenv("PROBE_TOKEN", "tok-4411")
    suite()
    write_table(
        pytester,
        """
        http:
          - name: echo with everything
            request: GET /echo
            headers: {X-Probe: table, X-Token: "${setting:PROBE_TOKEN}"}
            params: {q: gadget, page: 2, tag: [a, b]}
            expect:
              json:
                method: GET
                headers."x-probe": table
                headers."x-token": tok-4411
                query.q: gadget
                query.page: "2"
        """,
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["api.yaml::echo with everything PASSED*"])


def test_writes_need_the_row_flag_and_allow_writes_checked_at_the_server(
    suite, pytester, http_target
):
    suite()
    write_table(
        pytester,
        """
        http:
          - request: POST /echo
            json: {username: probe}
            writes: true
            expect: {json: {method: POST, body: '{"username": "probe"}'}}
          - request: PUT /echo
            body: plain text
            writes: true
            expect: {json: {body: plain text}}
          - request: DELETE /echo
        """,
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        [
            f"WriteRefused: POST {http_target.url}/echo refused: *this run does not "
            f"have --allow-writes. Nothing was sent."
        ]
    )
    assert http_target.recorder.total() == 0

    result = pytester.runpytest("--allow-writes")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*DELETE*refused*this probe is not marked @pytest.mark.writes (nor named under writes: in the suite's config). Nothing*"
        ]
    )
    assert http_target.recorder.count("/echo", "POST") == 1
    assert http_target.recorder.count("/echo", "PUT") == 1
    assert http_target.recorder.count("/echo", "DELETE") == 0


EXPECT_ROWS = """
http:
  - {name: latency ok, request: GET /users/123, expect: {max_latency: 5s}}
  - {name: latency over, request: "GET /status/200?delay=0.3", expect: {max_latency: 100ms}}
  - name: headers ok
    request: GET /users/123
    expect: {header: {X-Version: 1.2.3, Content-Type: {matches: ^application/json}}}
  - {name: header differs, request: GET /users/123, expect: {header: {X-Version: "2.0"}}}
  - {name: header no match, request: GET /users/123, expect: {header: {Content-Type: {matches: xml}}}}
  - {name: header missing, request: GET /users/123, expect: {header: {X-Nope: a}}}
  - {name: header absent ok, request: GET /users/123, expect: {header: {X-Nope: {exists: false}}}}
  - {name: contains ok, request: GET /users/123, expect: {body_contains: [Ada, admin]}}
  - {name: contains no, request: GET /users/123, expect: {body_contains: Grace}}
  - {name: matches ok, request: GET /users/123, expect: {body_matches: '"id":\\s*123'}}
  - {name: matches no, request: GET /users/123, expect: {body_matches: '"name":"Bob"'}}
  - name: json ok
    request: GET /users/123
    expect:
      json:
        data.id: 123
        data.name: Ada
        data.active: true
        data.score: 1.5
        length(tags): 2
        tags[0]: admin
        data.name: {matches: ^A}
        next: {exists: false}
  - {name: json exists, request: GET /users/123, expect: {json: [data.id, tags]}}
  - {name: json differs, request: GET /users/123, expect: {json: {data.id: 124}}}
  - {name: json missing, request: GET /users/123, expect: {json: [data.email]}}
  - {name: json bool is not 1, request: GET /users/123, expect: {json: {data.active: 1}}}
  - {name: json not json, request: GET /status/200, expect: {json: {a: 1}}}
  - name: schema ok
    request: GET /users/123
    expect: {json_schema: schemas/user.json}
  - name: schema no
    request: GET /users/123
    expect:
      json_schema:
        type: object
        properties: {data: {type: object, properties: {id: {type: string}}}}
  # held 50 ms by the server: over 10 ms however fast the machine (a 1 ms
  # bound was not crossed by a loopback answer in CI)
  - {name: warn over, request: GET /status/200?delay=0.05, expect: {warn_over: 10ms}}
  - name: warn block
    request: GET /users/123
    expect: {warn: {header: {Cache-Control: max-age=60}}}
"""

USER_SCHEMA = {
    "type": "object",
    "required": ["data", "tags"],
    "properties": {
        "data": {
            "type": "object",
            "required": ["id", "name"],
            "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
        },
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}


def test_every_expect_key_passes_and_fails_with_what_was_expected(
    suite, pytester, http_target
):
    suite()
    with_records(pytester)
    (pytester.path / "schemas").mkdir()
    (pytester.path / "schemas" / "user.json").write_text(json.dumps(USER_SCHEMA))
    # a duplicate key in a YAML mapping is an error: keep the regex check apart
    write_table(pytester, EXPECT_ROWS.replace("        data.name: {matches: ^A}\n", ""))
    result = pytester.runpytest("-v")
    u = f"GET {http_target.url}/users/123"
    result.stdout.fnmatch_lines_random(
        [
            f"*GET {http_target.url}/status/200?delay=0.3: answered in * ms, over "
            f"max_latency 100 ms",
            f"*{u}: header X-Version is '1.2.3', expected '2.0'",
            f"*{u}: header Content-Type is 'application/json', expected it to match /xml/",
            f"*{u}: header X-Nope is missing, expected 'a'",
            f"*{u}: the body does not contain 'Grace'; it begins "
            f'\'{{"data":{{"id":123,*',
            f'*{u}: the body does not match /"name":"Bob"/; it begins *',
            f"*{u}: JSON data.id is 123, expected 124",
            f"*{u}: JSON data.email is missing (absent or null), expected it to exist",
            f"*{u}: JSON data.active is true, expected 1",
            f"*GET {http_target.url}/status/200: the body is not JSON (text/plain; "
            f"charset=utf-8), expected JSON for the json checks; it begins 'status 200'",
            f"*{u}: the body does not match json_schema: at $.data.id: 123 is not of "
            f"type 'string'",
        ]
    )
    outcomes = {k.split("::")[1]: v for k, v in records(pytester).items()}
    failed = {name for name, r in outcomes.items() if r["outcome"] == "failed"}
    assert failed == {
        "latency over",
        "header differs",
        "header no match",
        "header missing",
        "contains no",
        "matches no",
        "json differs",
        "json missing",
        "json bool is not 1",
        "json not json",
        "schema no",
    }
    # warn_over and warn: blocks do not fail the probe; they are kept as warnings.
    assert outcomes["warn over"]["outcome"] == "warned"
    held = f"GET {http_target.url}/status/200?delay=0.05"
    assert outcomes["warn over"]["warnings"][0].startswith(f"{held}: answered in ")
    assert outcomes["warn over"]["warnings"][0].endswith(" ms, over warn_over 10 ms")
    assert outcomes["warn block"]["warnings"] == [
        f"{u}: header Cache-Control is 'no-store', expected 'max-age=60'"
    ]
    assert outcomes["json ok"]["warnings"] == []


def test_json_path_can_match_a_regex(suite, pytester, http_target):
    suite()
    write_table(
        pytester,
        """
        http:
          - {request: GET /users/1, expect: {json: {data.name: {matches: ^A}}}}
          - {request: GET /users/2, expect: {json: {data.name: {matches: ^B}}}}
        """,
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            f"*{http_target.url}/users/2: JSON data.name is 'Ada', expected it to match /^B/"
        ]
    )


TAGGED = """
http:
  - {request: GET /status/200?n=1, name: smoke one, tags: [smoke]}
  - {request: GET /status/200?n=2, name: smoke and slow, tags: [smoke, slow]}
  - {request: GET /status/200?n=3, name: untagged}
"""


def test_tags_are_markers_for_dash_m_even_with_strict_markers(
    suite, pytester, http_target
):
    suite()
    write_table(pytester, TAGGED)
    result = pytester.runpytest("-m", "smoke and not slow", "--strict-markers", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["api.yaml::smoke one PASSED*"])
    assert http_target.recorder.total() == 1  # deselected rows never reach it


def test_k_selects_rows_by_their_ids(suite, pytester, http_target):
    suite()
    write_table(pytester, TAGGED)
    result = pytester.runpytest("-k", "smoke and not slow or untagged", "-v")
    result.assert_outcomes(passed=2)
    assert http_target.recorder.total() == 2


def test_a_node_id_runs_one_row(suite, pytester, http_target):
    suite()
    write_table(
        pytester,
        """
        http:
          - GET /status/200: 200
          - GET /status/404: 200
        """,
    )
    result = pytester.runpytest("api.yaml::GET /status/404")
    result.assert_outcomes(failed=1)
    assert http_target.recorder.count("/status/404") == 1
    assert http_target.recorder.count("/status/200") == 0


def test_last_failed_reruns_only_the_failed_rows(suite, pytester, http_target):
    suite()
    write_table(
        pytester,
        """
        http:
          - GET /status/200: 200
          - GET /status/500: 200
          - GET /status/404: 200
        """,
    )
    pytester.runpytest().assert_outcomes(passed=1, failed=1, errors=1)
    http_target.recorder.reset()
    result = pytester.runpytest("--lf", "-v")
    result.assert_outcomes(failed=1, errors=1)
    result.stdout.fnmatch_lines(["*rerun previous 2 failures*"])
    assert http_target.recorder.count("/status/200") == 0
    assert http_target.recorder.count("/status/500") == 1


def test_rows_run_at_once_checked_at_the_server(suite, pytester, http_target):
    suite()
    rows = "\n".join(f"  - GET /status/200?together=20&n={i}: 200" for i in range(20))
    write_table(pytester, f"http:\n{rows}\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=20)
    assert http_target.recorder.max_in_flight == 20
    result.stdout.fnmatch_lines(["*20 probes in*20 passed (20 ran at once)*"])


def test_500_rows_to_one_host_are_all_in_flight_by_default(
    suite, pytester, http_target
):
    # The run and this server share one process (and its GIL): on a slow or
    # loaded machine the 500 take seconds to arrive (4.1 s seen in CI).
    suite(
        f"""
        targets:
          local:
            base_url: {http_target.url}
            timeout: 40s
        """
    )
    rows = "\n".join(
        f"  - GET /status/200?together=500&within=30&n={i}: 200" for i in range(500)
    )
    write_table(pytester, f"http:\n{rows}\n")
    result = pytester.runpytest("-q")
    result.assert_outcomes(passed=500)
    # The default caps (500 per host) let every one of them be in flight at once.
    assert http_target.recorder.max_in_flight == 500


def test_a_rows_timeout_is_its_deadline_named_by_file_and_line(
    suite, pytester, http_target
):
    suite()
    write_table(
        pytester,
        """
        http:
          - GET /status/200: 200
          - request: GET /hang
            timeout: 1s
        """,
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            f"*timed out after 1.0 s waiting for GET {http_target.url}/hang "
            f"(timeout from api.yaml line 3)*"
        ]
    )


def test_rows_in_order_run_one_at_a_time(suite, pytester, http_target):
    suite()
    rows = "\n".join(f"  - GET /status/200?delay=0.1&n={i}: 200" for i in range(3))
    write_table(pytester, f"http:\n{rows}\n", name="probes/api")
    result = pytester.runpytest("--sleuth-in-order", "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        ["probes/api.yaml::GET /status/200?delay=0.1&n=0 PASS*"]
    )
    assert http_target.recorder.max_in_flight == 1


def test_a_plain_pytest_run_collects_no_yaml(pytester):
    write_table(pytester, "http:\n  - GET /x: 200\n")
    pytester.makefile(".yml", other="not: [a, table\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    assert "api.yaml" not in result.stdout.str()


def test_files_read_by_settings_sources_are_not_tables(suite, pytester, http_target):
    suite(
        f"""
        targets:
          local:
            base_url: {http_target.url}
            sources: [env, {{file: config/app.yaml}}, {{dir: secrets}}]
        """
    )
    (pytester.path / "config").mkdir()
    (pytester.path / "config" / "app.yaml").write_text("database:\n  pool: 5\n")
    (pytester.path / "secrets").mkdir()
    (pytester.path / "secrets" / "extra.yaml").write_text("token: x\n")
    write_table(pytester, "settings:\n  required: [database.pool]\n")
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["api.yaml::setting database.pool PASSED*"])
