"""A bad probe table is one clear message: file, line, valid keys, a guess; exit 4."""

from __future__ import annotations

import pytest

from tests.plugin.tables_helpers import write_table


def run_bad(suite, pytester, table: str, *args: str):
    suite()
    write_table(pytester, table)
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output
    assert "sleuth/rows" not in output  # no frames of ours, just the message
    return result


@pytest.mark.parametrize(
    ("table", "message"),
    [
        pytest.param(
            "htp:\n  - GET /x: 200\n",
            "ERROR: api.yaml line 1: unknown section 'htp'. Sections: amqp, dns, http, "
            "mqtt, mysql, nats, postgres, redis, settings, tcp, tls. Did you mean 'http'?",
            id="unknown-section",
        ),
        pytest.param(
            "- GET /x: 200\n",
            "ERROR: api.yaml line 1: a probe table is a mapping of sections such as "
            "http:, settings: or postgres:, found a list",
            id="not-a-mapping",
        ),
        pytest.param(
            "http:\n  GET /x: 200\n",
            "ERROR: api.yaml line 1: http: must be a list of rows, e.g. - GET /health: "
            "200; found a mapping",
            id="section-not-a-list",
        ),
        pytest.param(
            "http:\n  - GET /ok: 200\n  - request: GET /x\n    expct: {status: 200}\n",
            "ERROR: api.yaml line 4: unknown key 'expct' in an http row. Valid keys: "
            "body, expect, headers, json, name, needs, params, request, retries, skip, "
            "tags, timeout, tls, writes. Did you mean 'expect'?",
            id="unknown-row-key",
        ),
        pytest.param(
            "http:\n  - name: users\n    expect: {status: 200}\n",
            "ERROR: api.yaml line 2: an http row needs request:, e.g. request: GET "
            "/users/123",
            id="no-request",
        ),
        pytest.param(
            "http:\n  - GTE /x: 200\n",
            "ERROR: api.yaml line 2: unknown HTTP method 'GTE'. Methods: DELETE, GET, "
            "HEAD, OPTIONS, PATCH, POST, PUT. Did you mean 'GET'?",
            id="unknown-method",
        ),
        pytest.param(
            "http:\n  - GET users: 200\n",
            "ERROR: api.yaml line 2: 'users' is neither a path (/users/123) nor an "
            "http:// or https:// URL",
            id="not-a-path",
        ),
        pytest.param(
            "http:\n  - request: 42\n",
            "ERROR: api.yaml line 2: a request is a method and a path or URL, e.g. "
            "'GET /users/123', found int 42",
            id="bad-request",
        ),
        pytest.param(
            "http:\n  - 42\n",
            "ERROR: api.yaml line 2: an http row is a request such as '- GET /health: "
            "200' or a mapping with request:, found int 42",
            id="bad-row",
        ),
        pytest.param(
            "http:\n  - GET /x: 2xy\n",
            "ERROR: api.yaml line 2: invalid status '2xy': expected a code such as 200, "
            "a class such as 2xx, a list such as [200, 204], or any",
            id="bad-status-class",
        ),
        pytest.param(
            "http:\n  - GET /x: [200, 700]\n",
            "ERROR: api.yaml line 2: invalid status 700: expected a code such as 200*",
            id="bad-status-code",
        ),
        pytest.param(
            "http:\n  - request: GET /x\n    expect:\n      stauts: 200\n",
            "ERROR: api.yaml line 4: unknown key 'stauts' in expect. Valid keys: "
            "body_contains, body_matches, header, json, json_schema, max_latency, "
            "status, warn, warn_over. Did you mean 'status'?",
            id="unknown-expect-key",
        ),
        pytest.param(
            "http:\n  - request: GET /x\n    expect: {warn: {warn_over: 1s}}\n",
            "ERROR: api.yaml line 3: unknown key 'warn_over' in a warn: block. Valid "
            "keys: body_contains, body_matches, header, json, json_schema, max_latency,"
            " status.",
            id="warn-in-warn",
        ),
        pytest.param(
            "http:\n  - request: GET /x\n    expect: {max_latency: fast}\n",
            "ERROR: api.yaml line 3: invalid max_latency 'fast': expected seconds, "
            "e.g. 2.5, 2s or 150ms",
            id="bad-latency",
        ),
        pytest.param(
            "http:\n  - request: GET /x\n    expect:\n      body_matches: '('\n",
            "ERROR: api.yaml line 4: invalid regular expression '(': missing ), "
            "unterminated subpattern at position 0",
            id="bad-regex",
        ),
        pytest.param(
            "http:\n  - request: GET /x\n    expect: {header: [a]}\n",
            "ERROR: api.yaml line 3: header must map header names to a value or "
            "{matches: regex}, e.g. {Content-Type: {matches: json}}; found a list",
            id="bad-header",
        ),
        pytest.param(
            "http:\n  - request: GET /x\n    expect:\n      json: {data..id: 1}\n",
            "ERROR: api.yaml line 4: invalid JMESPath 'data..id': *Parse error at "
            "column 5*. Paths look like data.id, items?0?.name or length(items)",
            id="bad-jmespath",
        ),
        pytest.param(
            "http:\n  - request: GET /x\n    expect: {json: 5}\n",
            "ERROR: api.yaml line 3: json must be a list of JMESPath paths that must "
            "exist, or a mapping of paths to values, e.g. {data.id: 123}; found int 5",
            id="bad-json",
        ),
        pytest.param(
            "http:\n  - request: GET /x\n    expect: {json_schema: {type: banana}}\n",
            "ERROR: api.yaml line 3: invalid json_schema: 'banana' is not valid under "
            "any of the given schemas",
            id="bad-schema",
        ),
        pytest.param(
            "http:\n  - request: GET /x\n    expect: {json_schema: nope.json}\n",
            "ERROR: api.yaml line 3: json_schema file 'nope.json' not found at *nope.json",
            id="schema-file-missing",
        ),
        pytest.param(
            "http:\n  - request: GET /x\n    tags: [not ok]\n",
            "ERROR: api.yaml line 3: tag 'not ok' cannot be a pytest marker: use "
            "letters, digits and _, e.g. smoke or payments_api",
            id="bad-tag",
        ),
        pytest.param(
            "http:\n  - request: GET /x\n    tags: [skip]\n",
            "ERROR: api.yaml line 3: tag 'skip' is a marker pytest or sleuth already "
            "gives a meaning to; pick another name",
            id="reserved-tag",
        ),
        pytest.param(
            "http:\n  - request: GET /x\n    needs: [1]\n",
            "ERROR: api.yaml line 3: needs must be a name or a list of names, e.g. "
            "[postgres, redis], found a list",
            id="bad-needs",
        ),
        pytest.param(
            "http:\n  - request: GET /x\n    retries: 50\n",
            "ERROR: api.yaml line 3: invalid retries 50: expected a whole number from "
            "0 to 10, e.g. 2",
            id="too-many-retries",
        ),
        pytest.param(
            "http:\n  - request: GET /x\n    timeout: -1\n",
            "ERROR: api.yaml line 3: invalid timeout -1: expected more than zero "
            "seconds, e.g. 2s",
            id="bad-timeout",
        ),
        pytest.param(
            "http:\n  - request: POST /x\n    json: {a: 1}\n    body: text\n",
            "ERROR: api.yaml line 4: give json: or body:, not both (json: sends JSON)",
            id="json-and-body",
        ),
        pytest.param(
            "http:\n  - request: POST /x\n    writes: yes please\n",
            "ERROR: api.yaml line 3: writes must be true or false",
            id="bad-writes",
        ),
        pytest.param(
            "http:\n  - request: GET /x\n    headers: {Accept: [a]}\n",
            "ERROR: api.yaml line 3: headers must map names to text, e.g. {Accept: "
            "application/json}; found a mapping",
            id="bad-headers",
        ),
        pytest.param(
            "http:\n  - GET /x: 200\n  - GET /x: 200\n",
            "ERROR: api.yaml line 3: two rows have the id 'GET /x' (lines 2 and 3): "
            "give one a name: so each can be selected and reported on its own",
            id="duplicate-id",
        ),
        pytest.param(
            "http:\n  - GET /x: 200\n   - GET /y: 200\n",
            "ERROR: api.yaml line 3, column 4: invalid YAML: while parsing a block collection at line 2, did not find expected '-' indicator",
            id="bad-yaml",
        ),
        pytest.param(
            "http:\n  - GET ${env:SLEUTH_TEST_UNSET}: 200\n",
            "ERROR: api.yaml line 2: ${env:SLEUTH_TEST_UNSET} has no value: the "
            "environment variable SLEUTH_TEST_UNSET is not set. Set it, or give a "
            "default: ${env:SLEUTH_TEST_UNSET:-value}",
            id="unset-env",
        ),
        pytest.param(
            "http:\n  - GET /x: []\n",
            "ERROR: api.yaml line 2: status must name at least one code, e.g. [[]200, "
            "204]",
            id="empty-status-list",
        ),
        pytest.param(
            "http:\n  - {}\n",
            "ERROR: api.yaml line 2: an http row is a request such as '- GET /health: "
            "200' or a mapping with request:, found a mapping",
            id="empty-row",
        ),
        pytest.param(
            "http:\n  - {request: GET /x, name: ''}\n",
            "ERROR: api.yaml line 2: name must be a non-empty string, found str ''",
            id="empty-name",
        ),
        pytest.param(
            "http:\n  - request: GET /x\n    params: [q]\n",
            "ERROR: api.yaml line 3: params must map names to values, e.g. {q: gadget, "
            "page: 2}; found a list",
            id="params-not-a-mapping",
        ),
        pytest.param(
            "http:\n  - request: GET /x\n    params: {q: {a: 1}}\n",
            "ERROR: api.yaml line 3: param 'q' must be text, a number or a list of "
            "them, found a mapping",
            id="bad-param",
        ),
        pytest.param(
            "http:\n  - request: POST /x\n    body: {a: 1}\n",
            "ERROR: api.yaml line 3: body must be text; for JSON use json:. Found a "
            "mapping",
            id="body-not-text",
        ),
        pytest.param(
            "http:\n  - request: GET /x\n    expect: {header: {X: {exists: maybe}}}\n",
            "ERROR: api.yaml line 3: exists must be true or false",
            id="bad-exists",
        ),
        pytest.param(
            "http:\n  - request: GET /x\n    expect: {header: {X: {matches: 5}}}\n",
            "ERROR: api.yaml line 3: matches must be a regular expression",
            id="matches-not-text",
        ),
        pytest.param(
            "http:\n  - request: GET /x\n    expect: {body_contains: [1]}\n",
            "ERROR: api.yaml line 3: body_contains must be a string or a list of "
            "strings, found a list",
            id="bad-body-contains",
        ),
        pytest.param(
            "http:\n  - request: GET /x\n    expect: {json_schema: 5}\n",
            "ERROR: api.yaml line 3: json_schema must be a schema (a mapping) or the "
            "path of a JSON or YAML file holding one; found int 5",
            id="schema-not-a-mapping",
        ),
        pytest.param(
            "settings:\n  LOG_LEVEL: {matches: '('}\n",
            "ERROR: api.yaml line 2: invalid regular expression '(': missing ), "
            "unterminated subpattern at position 0",
            id="settings-bad-regex",
        ),
        pytest.param(
            "settings:\n  LOG_LEVEL: {matches: 5}\n",
            "ERROR: api.yaml line 2: matches must be a regular expression",
            id="settings-matches-not-text",
        ),
        pytest.param(
            "settings:\n  required: [A]\n  PORT: {tpye: int}\n",
            "ERROR: api.yaml line 3: unknown key 'tpye' in the rules of setting 'PORT'. "
            "Valid keys: matches, max_age, needs, non_empty, not_placeholder, one_of, required, "
            "secret, tags, type, url. Did you mean 'type'?",
            id="settings-unknown-rule",
        ),
        pytest.param(
            "settings:\n  PORT: {type: integer}\n",
            "ERROR: api.yaml line 2: unknown type 'integer'. Types: bool, duration, "
            "email, int, url. Did you mean 'int'?",
            id="settings-unknown-type",
        ),
        pytest.param(
            "settings:\n  PORT: {type: [int]}\n",
            "ERROR: api.yaml line 2: unknown type ['int']. Types: bool, duration, "
            "email, int, url. Did you mean 'int'?",
            id="settings-type-a-list",
        ),
        pytest.param(
            "settings:\n  requried: [A, B]\n",
            "ERROR: api.yaml line 2: the rules of setting 'requried' must be a mapping "
            "of matches, max_age, needs, non_empty, not_placeholder, one_of, required, secret, "
            "tags, type, url, found a list. Did you mean 'required'?",
            id="settings-typo-required",
        ),
        pytest.param(
            "settings:\n  required: DATABASE_URL\n",
            "ERROR: api.yaml line 2: required: must be a list of setting names, found "
            "str 'DATABASE_URL'",
            id="settings-required-not-a-list",
        ),
        pytest.param(
            "settings:\n  API_KEY: {secret: maybe}\n",
            "ERROR: api.yaml line 2: secret must be true or false",
            id="settings-bad-flag",
        ),
        pytest.param(
            "settings: 5\n",
            "ERROR: api.yaml line 1: settings: must be a mapping such as {required: "
            "[DATABASE_URL]} with rules per name, found int 5",
            id="settings-not-a-mapping",
        ),
    ],
)
def test_bad_table_is_a_usage_error_naming_file_and_line(
    suite, pytester, table, message
):
    result = run_bad(suite, pytester, table)
    result.stderr.fnmatch_lines([message])


def test_every_bad_table_is_reported_and_nothing_runs(suite, pytester, http_target):
    suite()
    write_table(pytester, "http:\n  - GET /status/200: 200\n", name="good")
    write_table(pytester, "htp: []\n", name="one")
    write_table(pytester, "http:\n  - GET /x: 999\n", name="two")
    result = pytester.runpytest("-k", "good")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: one.yaml line 1: unknown section 'htp'*", "ERROR: two.yaml line 2:*"]
    )
    assert http_target.recorder.total() == 0


def test_collect_only_reports_a_bad_table_too(suite, pytester):
    result = run_bad(suite, pytester, "http:\n  - GET /x: 2xy\n", "--collect-only")
    result.stderr.fnmatch_lines(["ERROR: api.yaml line 2: invalid status '2xy'*"])


def test_a_table_in_a_subfolder_is_named_by_its_path(suite, pytester):
    suite()
    write_table(pytester, "http:\n  - GET /x: 2xy\n", name="probes/api")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: probes/api.yaml line 2: invalid status*"])


def test_a_schema_file_that_is_not_json_names_itself(suite, pytester):
    suite()
    (pytester.path / "bad.json").write_text("{not json")
    write_table(
        pytester, "http:\n  - {request: GET /x, expect: {json_schema: bad.json}}\n"
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: api.yaml line 2: json_schema file 'bad.json' is not JSON: Expecting*"]
    )
