"""``settings:`` rows: present, secret where it should be, of the right shape."""

from __future__ import annotations

from tests.plugin.tables_helpers import records, with_records, write_table

SUITE = """
targets:
  prod:
    sources: [env, {dotenv: deploy.env}, {dir: secrets}]
"""

DEPLOY_ENV = """\
DATABASE_URL=postgresql://app:db-pw-5521@db-1:5432/orders
CACHE_HOST=cache.internal
LEAKED_TOKEN=tok-leak-8812
PORT=8080
BAD_PORT=eighty
DEBUG=yes
FLAG=maybe
HOME_URL=https://shop.example.com/home
CALLBACK_URL=not a url
REQUEST_TIMEOUT=30s
BAD_TIMEOUT=soon
ALERT_EMAIL=ops@example.com
BAD_EMAIL=ops-at-example
LOG_LEVEL=verbose
DB_PASSWORD=short-pw-77
BACKUP_URL=postgresql://backup:bk-pw-3131@db-2/orders
EMPTY_ONE=
"""

TABLE = """
settings:
  required: [DATABASE_URL, CACHE_HOST, MISSING_ONE]
  API_KEY: {secret: true}
  LEAKED_TOKEN: {secret: true}
  PORT: {type: int}
  BAD_PORT: {type: int}
  DEBUG: {type: bool}
  FLAG: {type: bool}
  HOME_URL: {type: url}
  CALLBACK_URL: {type: url}
  REQUEST_TIMEOUT: {type: duration}
  BAD_TIMEOUT: {type: duration}
  ALERT_EMAIL: {type: email}
  BAD_EMAIL: {type: email}
  LOG_LEVEL: {matches: "^(debug|info|warning)$"}
  DB_PASSWORD: {matches: "^.{16,}$"}
  BACKUP_URL: {matches: "^mysql://"}
  OPTIONAL_PORT: {required: false, type: int}
  EMPTY_ONE:
"""


def make_suite(pytester):
    pytester.makefile(".yaml", sleuth=SUITE)
    pytester.path.joinpath("deploy.env").write_text(DEPLOY_ENV)
    secrets = pytester.path / "secrets"
    secrets.mkdir()
    secrets.joinpath("API_KEY").write_text("dir-key-9931\n")
    write_table(pytester, TABLE, name="settings")
    with_records(pytester)


def test_settings_rows_hold_each_setting_to_its_rules(pytester):
    make_suite(pytester)
    result = pytester.runpytest("-v")
    outcomes = {k.split("::")[1]: v["outcome"] for k, v in records(pytester).items()}
    failed = sorted(name for name, outcome in outcomes.items() if outcome == "failed")
    assert failed == [
        "setting BACKUP_URL",
        "setting BAD_EMAIL",
        "setting BAD_PORT",
        "setting BAD_TIMEOUT",
        "setting CALLBACK_URL",
        "setting DB_PASSWORD",
        "setting EMPTY_ONE",
        "setting FLAG",
        "setting LEAKED_TOKEN",
        "setting LOG_LEVEL",
        "setting MISSING_ONE",
    ]
    assert len(outcomes) == 20
    result.stdout.fnmatch_lines_random(
        [
            "CheckFailed: MISSING_ONE: missing. Looked in environment: absent; dotenv "
            "deploy.env: absent; dir secrets: absent.",
            "CheckFailed: EMPTY_ONE: empty in dotenv deploy.env. Looked in *",
            "CheckFailed: setting LEAKED_TOKEN (from dotenv deploy.env) is marked secret"
            " but dotenv deploy.env is not a secret source. Keep it in a secret store "
            "(a dir: mount such as /run/secrets, or a source marked secret: true), not "
            "in plain config.",
            "CheckFailed: setting BAD_PORT (from dotenv deploy.env) is 'eighty', not a "
            "valid int: expected a whole number, e.g. 8080",
            "CheckFailed: setting FLAG (from dotenv deploy.env) is 'maybe', not a valid "
            "bool: expected true/false, yes/no, on/off or 1/0",
            "CheckFailed: setting CALLBACK_URL (from dotenv deploy.env) is 'not a url', "
            "not a valid url: expected a URL with a scheme and a host",
            "CheckFailed: setting BAD_TIMEOUT (from dotenv deploy.env) is 'soon', not a "
            "valid duration: expected a duration such as 30s, 150ms or 2.5",
            "CheckFailed: setting BAD_EMAIL (from dotenv deploy.env) is "
            "'ops-at-example', not a valid email: expected an address such as "
            "ops@example.com",
            # A failed check never shows the value, secret-named or not.
            "CheckFailed: LOG_LEVEL: present but does not match ^(debug|info|warning)$"
            " (from dotenv deploy.env)",
            "CheckFailed: DB_PASSWORD: present but does not match ^.{16,}$ (from "
            "dotenv deploy.env)",
            "CheckFailed: BACKUP_URL: present but does not match ^mysql:// (from "
            "dotenv deploy.env)",
        ]
    )
    out = result.stdout.str()
    for secret in (
        "dir-key-9931",
        "tok-leak-8812",
        "short-pw-77",
        "bk-pw-3131",
        "verbose",
    ):
        assert secret not in out


def test_settings_rows_are_selected_like_any_probe(pytester):
    make_suite(pytester)
    result = pytester.runpytest("-k", "PORT", "-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["settings.yaml::setting OPTIONAL_PORT PASSED*"])


def test_a_list_of_settings_is_short_for_required(pytester):
    pytester.makefile(".yaml", sleuth=SUITE)
    pytester.path.joinpath("deploy.env").write_text("CACHE_HOST=c\n")
    write_table(pytester, "settings: [CACHE_HOST, NOPE]\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*NOPE: missing.*"])
