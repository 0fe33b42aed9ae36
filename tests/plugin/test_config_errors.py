"""A bad config is one clear message: file, line, choices; exit 4; no traceback."""

from __future__ import annotations

import pytest

TEST = {"test_x": "def test_x(target):\n    pass\n"}


def run_bad(pytester: pytest.Pytester, config: str, *args: str) -> pytest.RunResult:
    pytester.makefile(".yaml", sleuth=config)
    pytester.makepyfile(**TEST)
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
    return result


@pytest.mark.parametrize(
    ("config", "message"),
    [
        pytest.param(
            "targets:\n  prod:\n    base_url: [http://x\n",
            "*sleuth.yaml line 4, column 1: invalid YAML: while parsing a flow sequence at line 3, did not find expected *",
            id="bad-yaml",
        ),
        pytest.param(
            "targets:\n  prod:\n    base_url: http://x\n    timout: 2s\n",
            "*sleuth.yaml line 4: unknown key 'timout' in target 'prod'. Valid keys: base_url, headers, http, services, sources, timeout, tls. Did you mean 'timeout'?*",
            id="unknown-key",
        ),
        pytest.param(
            "tagrets:\n  prod: {}\n",
            "*sleuth.yaml line 1: unknown key 'tagrets' in the suite config.*Did you mean 'targets'?*",
            id="unknown-top-key",
        ),
        pytest.param(
            "timeout: soon\n",
            "*sleuth.yaml line 1: invalid timeout 'soon': expected seconds, e.g. 2.5, 2s or 150ms*",
            id="bad-duration",
        ),
        pytest.param(
            "targets:\n  prod:\n    headers: [a, b]\n",
            "*sleuth.yaml line 3: headers must be a mapping of header names to values, found a list*",
            id="wrong-type",
        ),
        pytest.param(
            "targets:\n  prod:\n    base_url: ftp://x\n",
            "*sleuth.yaml line 3: base_url 'ftp://x' is not an http:// or https:// URL*",
            id="bad-url",
        ),
        pytest.param(
            "default_target: prd\ntargets:\n  prod: {}\n  staging: {}\n",
            "*sleuth.yaml line 1: unknown target 'prd'. Targets in the config: prod, staging. Did you mean 'prod'?*",
            id="unknown-default-target",
        ),
        pytest.param(
            "targets:\n  prod:\n    base_url: ${env:SLEUTH_TEST_NOT_SET}\n",
            "*sleuth.yaml line 3: ${env:SLEUTH_TEST_NOT_SET} has no value: the environment variable SLEUTH_TEST_NOT_SET is not set. Set it, or give a default: ${env:SLEUTH_TEST_NOT_SET:-value}*",
            id="missing-env",
        ),
        pytest.param(
            "targets:\n  prod:\n    sources: [env, {dotenvv: .env}]\n",
            "*sleuth.yaml line 3: unknown settings source 'dotenvv'. Known sources: app, aws-secrets, aws-ssm, dir, dotenv, env, file, model. Did you mean 'dotenv'?*",
            id="unknown-source",
        ),
        pytest.param(
            "targets:\n  prod:\n    sources:\n      - app: my_app.config.get_setting\n",
            "*sleuth.yaml line 4: the app source takes 'module:function', e.g. my_app.config:get_setting*",
            id="bad-app-source",
        ),
        pytest.param(
            "targets:\n  prod:\n    sources:\n      - model: {class: shop_app.Settings}\n",
            "*sleuth.yaml line 4: the model source takes a pydantic-settings class as 'module:Class', e.g. shop_app.settings:Settings, found 'shop_app.Settings'*",
            id="bad-model-source",
        ),
        pytest.param(
            "targets:\n  prod:\n    base_url: ${vault:X}\n",
            "*unknown reference ${vault:...}*Known kinds: env, setting.*",
            id="unknown-reference",
        ),
        pytest.param(
            "timeout: 1s\ntimeout: 2s\n",
            "*sleuth.yaml line 2, column 1: key 'timeout' appears twice; keep one*",
            id="duplicate-key",
        ),
        pytest.param(
            "targets:\n  a: {}\n  b: {}\n",
            "*2 targets and no default_target: pick one with --target NAME*Targets: a, b.*",
            id="no-default",
        ),
        pytest.param(
            "http:\n  max_inflight_per_host: 5\n",
            "*sleuth.yaml line 2: unknown key 'max_inflight_per_host' in http. Valid keys: max_in_flight, max_in_flight_per_host. Did you mean 'max_in_flight_per_host'?*",
            id="http-unknown-key",
        ),
        pytest.param(
            "targets:\n  prod:\n    http: {max_in_flight_per_host: 0}\n",
            "*sleuth.yaml line 3: invalid max_in_flight_per_host 0: expected a whole number above zero, e.g. 64*",
            id="http-cap-zero",
        ),
        pytest.param(
            "http: 5\n",
            "*sleuth.yaml line 1: http must be a mapping such as {max_in_flight_per_host: 50}, found int 5*",
            id="http-not-a-mapping",
        ),
    ],
)
def test_bad_config_is_a_usage_error_naming_file_and_line(pytester, config, message):
    result = run_bad(pytester, config)
    result.stderr.fnmatch_lines([message])


def test_unknown_target_on_the_command_line(pytester):
    result = run_bad(
        pytester, "targets:\n  prod: {}\n  staging: {}\n", "--sleuth-target", "stagng"
    )
    result.stderr.fnmatch_lines(
        [
            "*--sleuth-target: unknown target 'stagng'. Targets in the config: prod, staging. Did you mean 'staging'?*"
        ]
    )


def test_unknown_target_from_the_environment(pytester, monkeypatch):
    monkeypatch.setenv("SLEUTH_TARGET", "qa")
    result = run_bad(pytester, "targets:\n  prod: {}\n")
    result.stderr.fnmatch_lines(
        ["*SLEUTH_TARGET environment variable: unknown target 'qa'*"]
    )


def test_bad_timeout_from_the_environment_names_it(pytester, monkeypatch):
    monkeypatch.setenv("SLEUTH_TIMEOUT", "abc")
    result = run_bad(pytester, "targets:\n  prod: {}\n")
    result.stderr.fnmatch_lines(
        [
            "*SLEUTH_TIMEOUT environment variable: invalid timeout 'abc': expected seconds, e.g. 2.5, 2s or 150ms*"
        ]
    )


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        (
            "--sleuth-timeout",
            "0",
            "*--sleuth-timeout: invalid timeout '0': expected more than zero seconds*",
        ),
        ("--budget", "x", "*--budget: invalid budget 'x'*"),
        (
            "--sleuth-workers",
            "many",
            "*--sleuth-workers: invalid workers 'many': expected a whole number above zero*",
        ),
    ],
)
def test_bad_option_values(pytester, option, value, message):
    result = run_bad(pytester, "targets:\n  prod: {}\n", option, value)
    result.stderr.fnmatch_lines([message])


def test_bad_probe_marker_is_a_usage_error(pytester):
    pytester.makefile(".yaml", sleuth="targets:\n  prod: {}\n")
    pytester.makepyfile(
        test_m="import pytest\n\n@pytest.mark.probe(timeout='forever')\ndef test_m():\n    pass\n"
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*@pytest.mark.probe on test_m.py::test_m: invalid timeout 'forever'*"]
    )


def test_missing_config_file_option(pytester):
    pytester.makepyfile(**TEST)
    result = pytester.runpytest("--sleuth-config", "nope.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--sleuth-config: no such file: *nope.yaml*"])


def test_pyproject_tool_sleuth_is_a_suite_config(pytester, http_target):
    pytester.makepyprojecttoml(
        f"""
        [tool.sleuth]
        timeout = "3s"

        [tool.sleuth.targets.local]
        base_url = "{http_target.url}"
        """
    )
    pytester.makepyfile(
        test_p="def test_p(target):\n    assert target.http.get('/status/200').status_code == 200\n"
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*sleuth: timeout 3 s (target 'local' in pyproject.toml)*"]
    )


def test_pyproject_errors_name_the_line(pytester):
    pytester.makepyprojecttoml(
        """
        [project]
        name = "x"

        [tool.sleuth]
        timeout = "2s"
        workerz = 4
        """
    )
    pytester.makepyfile(**TEST)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*pyproject.toml line 6: unknown key 'workerz' in the suite config.*Did you mean 'workers'?*"
        ]
    )


def test_without_a_suite_the_plugin_stays_out_of_the_way(pytester):
    pytester.makepyfile(test_plain="def test_plain():\n    assert 1\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "sleuth" not in result.stdout.str().replace("sleuth-", "")


def test_target_without_a_suite_says_how_to_make_one(pytester):
    pytester.makepyfile(**TEST)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*the target fixture needs a sleuth suite: no sleuth.yaml*Create one (see docs/config.md) or pass --sleuth-config PATH*"
        ]
    )
