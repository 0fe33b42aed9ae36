"""Setting checks beyond "present": non_empty, one_of, url, not_placeholder,
and matches from Python. A failure names the setting, the check and why, never
the value, in any output."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.plugin.tables_helpers import records, with_records, write_table

SUITE = """
targets:
  prod:
    sources: [env, {dotenv: deploy.env}]
"""

# Secret-named values: none may appear in any output, whole or in part.
DEPLOY_ENV = """\
LOG_LEVEL=info
BAD_LEVEL=verbose-lvl-4410
WEBHOOK_URL=https://hooks.shop.internal/in
PLAIN_URL=http://hooks.shop.internal/in
BROKEN_URL=http://[::1
NOT_A_URL=hooks-internal-7731
REAL_TOKEN=tok-real-5512
API_TOKEN=CHANGEME-tok-8823
SIGNING_KEY=<your-signing-key-6619>
OAUTH_SECRET=xxxx
CALLBACK_SECRET=https://api.example.com/cb-7714
BLANK_SECRET=\"   \"
STRIPE_KEY=sk_test_9981abc
GOOD_STRIPE_KEY=sk_live_5543def
"""

TABLE = """
settings:
  LOG_LEVEL: {one_of: [debug, info, warning]}
  BAD_LEVEL: {one_of: [debug, info, warning]}
  WEBHOOK_URL: {url: [https]}
  PLAIN_URL: {url: [https]}
  BROKEN_URL: {url: true}
  NOT_A_URL: {url: true}
  REAL_TOKEN: {not_placeholder: true, non_empty: true}
  API_TOKEN: {not_placeholder: true}
  SIGNING_KEY: {not_placeholder: true}
  OAUTH_SECRET: {not_placeholder: true}
  CALLBACK_SECRET: {not_placeholder: true}
  BLANK_SECRET: {non_empty: true}
  OPTIONAL_LEVEL: {required: false, one_of: [debug]}
"""

SECRET_PARTS = (
    "verbose-lvl-4410",
    "hooks-internal-7731",
    "tok-real-5512",
    "tok-8823",
    "signing-key-6619",
    "cb-7714",
    "sk_test_9981",
    "9981abc",
    "5543def",
)

PROBES = """
import re

def test_stripe_key_is_live(target):
    target.check_setting("STRIPE_KEY", matches="^sk_live_")

def test_good_stripe_key_is_live(target):
    value = target.check_setting("GOOD_STRIPE_KEY", matches=re.compile("^sk_live_"))
    assert value == "sk_live_5543def"

def test_python_one_of(target):
    target.check_setting("BAD_LEVEL", one_of=["debug", "info"])

def test_python_optional_absent(target):
    assert target.check_setting("NOWHERE", required=False, url=True) is None
"""


def make_suite(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", sleuth=SUITE)
    pytester.path.joinpath("deploy.env").write_text(DEPLOY_ENV)
    write_table(pytester, TABLE, name="settings")
    pytester.makepyfile(test_python_checks=PROBES)
    with_records(pytester)


def test_each_check_passes_and_fails_and_never_shows_the_value(pytester):
    make_suite(pytester)
    result = pytester.runpytest(
        "-v", "--junitxml", "junit.xml", "--sleuth-json", "run.json"
    )
    outcomes = {k.split("::")[1]: v["outcome"] for k, v in records(pytester).items()}
    assert sorted(n for n, o in outcomes.items() if o == "passed") == [
        "setting LOG_LEVEL",
        "setting OPTIONAL_LEVEL",
        "setting REAL_TOKEN",
        "setting WEBHOOK_URL",
        "test_good_stripe_key_is_live",
        "test_python_optional_absent",
    ]
    assert sorted(n for n, o in outcomes.items() if o == "failed") == [
        "setting API_TOKEN",
        "setting BAD_LEVEL",
        "setting BLANK_SECRET",
        "setting BROKEN_URL",
        "setting CALLBACK_SECRET",
        "setting NOT_A_URL",
        "setting OAUTH_SECRET",
        "setting PLAIN_URL",
        "setting SIGNING_KEY",
        "test_python_one_of",
        "test_stripe_key_is_live",
    ]
    placeholder = "looks like a placeholder (changeme, TODO, xxx, <...> or example.com)"
    result.stdout.fnmatch_lines_random(
        [
            "*CheckFailed: BAD_LEVEL: present but is not one of debug, info, warning "
            "(from dotenv deploy.env)",
            "*CheckFailed: PLAIN_URL: present but is a URL whose scheme is not https "
            "(from dotenv deploy.env)",
            "*CheckFailed: BROKEN_URL: present but does not parse as a URL (from *",
            "*CheckFailed: NOT_A_URL: present but is not a URL with a scheme and a "
            "host (from *",
            f"*CheckFailed: API_TOKEN: present but {placeholder} (from *",
            f"*CheckFailed: SIGNING_KEY: present but {placeholder} (from *",
            f"*CheckFailed: OAUTH_SECRET: present but {placeholder} (from *",
            f"*CheckFailed: CALLBACK_SECRET: present but {placeholder} (from *",
            # Sources call a blank value empty before any check runs.
            "*CheckFailed: BLANK_SECRET: empty in dotenv deploy.env. Looked in *",
            "*CheckFailed: STRIPE_KEY: present but does not match ^sk_live_ (from "
            "dotenv deploy.env)",
            "*CheckFailed: BAD_LEVEL: present but is not one of debug, info (from *",
        ]
    )
    outputs = {
        "terminal": result.stdout.str() + result.stderr.str(),
        "junit": (pytester.path / "junit.xml").read_text(),
        "json": (pytester.path / "run.json").read_text(),
    }
    json.loads(outputs["json"])  # written whole
    assert "STRIPE_KEY" in outputs["junit"]
    for where, text in outputs.items():
        for part in SECRET_PARTS:
            assert part not in text, (where, part)


APP_CONFIG = """
VALUES = {"HOSTS": [], "PORTS": [5432], "FLAGS": {}}

def get_setting(name):
    return VALUES.get(name)
"""


def test_non_empty_fails_an_empty_list_from_the_apps_function(pytester):
    pytester.makefile(
        ".yaml", sleuth="targets:\n  prod:\n    sources: [{app: appcfg:get_setting}]\n"
    )
    pytester.makepyfile(appcfg=APP_CONFIG)
    write_table(
        pytester,
        "settings:\n  HOSTS: {non_empty: true}\n  PORTS: {non_empty: true}\n"
        "  FLAGS: {non_empty: true}\n",
        name="settings",
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines_random(
        [
            "*CheckFailed: HOSTS: present but is empty (non_empty) (from app *",
            "*CheckFailed: FLAGS: present but is empty (non_empty) (from app *",
            "*setting PORTS PASSED*",
        ]
    )


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        pytest.param(
            "{one_of: debug}",
            "one_of must be a list of values such as [debug, info], found str 'debug'",
            id="one-of-not-a-list",
        ),
        pytest.param(
            "{one_of: []}",
            "one_of must be a list of values such as [debug, info], found a list",
            id="one-of-empty",
        ),
        pytest.param(
            "{one_of: [{a: 1}]}",
            "one_of must be a list of values such as [debug, info], found a list",
            id="one-of-mapping-inside",
        ),
        pytest.param(
            "{url: https}",
            "url must be true or a list of schemes such as [https], found str 'https'",
            id="url-a-string",
        ),
        pytest.param(
            "{non_empty: yes please}",
            "non_empty must be true or false",
            id="non-empty-not-a-flag",
        ),
        pytest.param(
            "{not_placeholder: 1}",
            "not_placeholder must be true or false",
            id="not-placeholder-not-a-flag",
        ),
        pytest.param(
            "{not_placeholdr: true}",
            "unknown key 'not_placeholdr' in the rules of setting 'API_KEY'. Valid "
            "keys: *. Did you mean 'not_placeholder'?",
            id="unknown-check",
        ),
        pytest.param(
            '{matches: "^(sk_"}',
            "*regular expression*",
            id="bad-regex",
        ),
    ],
)
def test_a_bad_check_is_a_config_error_with_file_and_line(pytester, rules, message):
    pytester.makefile(".yaml", sleuth=SUITE)
    write_table(
        pytester,
        f"settings:\n  LOG_LEVEL: {{one_of: [info]}}\n  API_KEY: {rules}\n",
        name="probes",
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output
    result.stderr.fnmatch_lines([f"ERROR: probes.yaml line 3: {message}"])


DOCS = Path(__file__).parents[2] / "docs"


def _block(doc: str, fence: str, first_line: str) -> str:
    text = (DOCS / doc).read_text()
    for block in re.findall(rf"```{fence}\n(.*?)```", text, re.DOTALL):
        if block.startswith(first_line):
            return str(block)
    raise AssertionError(f"no {fence} example starting {first_line!r} in {doc}")


def test_the_docs_examples_fail_as_the_docs_say(pytester):
    pytester.makefile(".yaml", sleuth=SUITE)
    env = _block("tables.md", "dotenv", "# deploy.env")
    pytester.path.joinpath("deploy.env").write_text(env)
    write_table(pytester, _block("tables.md", "yaml", "# probes/settings.yaml"))
    pytester.makepyfile(
        test_docs_python=_block("settings.md", "python", "def test_payments")
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=5)
    shown = [
        line
        for line in (DOCS / "tables.md").read_text().splitlines()
        if line.startswith("CheckFailed: ") and ": present but " in line
    ]
    assert len(shown) == 4
    python_shown = "E   sleuth.errors.CheckFailed: STRIPE_KEY: present but does not "
    assert python_shown in (DOCS / "settings.md").read_text()
    result.stdout.fnmatch_lines_random(
        [f"*{line}" for line in shown] + [f"E *{python_shown[4:]}*"]
    )
    out = result.stdout.str()
    assert "sk_test_51Hq" not in out
    assert "changeme" not in out.replace("(changeme, TODO", "")
