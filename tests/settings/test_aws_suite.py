"""A probe suite reading AWS Secrets Manager and SSM, run whole by pytest.

moto's real server holds the secrets; the suite's tables and Python probes
read them through sleuth.yaml's sources. The evidence names each source with
its version and change date, max_age is judged from that date, and no secret
value appears in any output.
"""

from __future__ import annotations

import datetime
import json
import re
import textwrap
from pathlib import Path

import pytest

from sleuth import _timing as timing
from tests.awsserver import client, post, use_aws
from tests.plugin.tables_helpers import write_table

DOCS = Path(__file__).parents[2] / "docs"

SECRETS = {
    "json": "aws-json-value-5d81",
    "stripe": "sk_live_aws-plain-77c3",
    "ssm": "aws-ssm-secure-09e4",
}

SUITE = """
targets:
  prod:
    sources:
      - env
      - aws-secrets: {secret_id: prod/shop, region: eu-west-1}
      - aws-secrets: {secret_id: prod/shop/stripe, name: STRIPE_KEY, region: eu-west-1}
      - aws-ssm: {path: /prod/shop/, region: eu-west-1}
"""

TABLE = """
settings:
  API_KEY: {max_age: 90d}
  STRIPE_KEY: {matches: "^sk_live_"}
  DB_PASSWORD: {non_empty: true}
  FEATURE_FLAG_X: {}
  FROM_ENV: {max_age: 90d}
"""

PROBES = """
def test_printed_and_compared(target):
    key = target.setting("API_KEY")
    print("the key is", key, "and the password", target.setting("DB_PASSWORD"))
    assert key == "expected"


def test_stripe_key_checked_from_python(target):
    assert target.check_setting("STRIPE_KEY", matches="^sk_live_", max_age="30d")
"""


@pytest.fixture
def shop(moto_url, pytester, monkeypatch, tmp_path):
    """The suite, its secrets in moto, and the run's clock 120 days ahead."""
    post(moto_url, "/moto-api/reset")
    use_aws(monkeypatch, moto_url, tmp_path)
    monkeypatch.setenv("FROM_ENV", "plain")
    secrets = client("secretsmanager", moto_url)
    secrets.create_secret(
        Name="prod/shop",
        SecretString=json.dumps({"API_KEY": "old", "LOG_LEVEL": "info"}),
    )
    rotated = secrets.put_secret_value(
        SecretId="prod/shop",
        SecretString=json.dumps({"API_KEY": SECRETS["json"], "LOG_LEVEL": "info"}),
    )
    secrets.create_secret(Name="prod/shop/stripe", SecretString=SECRETS["stripe"])
    client("ssm", moto_url).put_parameter(
        Name="/prod/shop/DB_PASSWORD", Value=SECRETS["ssm"], Type="SecureString"
    )
    real_utcnow = timing.utcnow
    monkeypatch.setattr(
        timing, "utcnow", lambda: real_utcnow() + datetime.timedelta(days=120)
    )
    pytester.makefile(".yaml", sleuth=SUITE)
    write_table(pytester, TABLE, name="settings")
    pytester.makepyfile(test_probes=textwrap.dedent(PROBES))
    return rotated["VersionId"]


def test_a_suite_reads_aws_secrets_and_never_shows_them(pytester, shop):
    result = pytester.runpytest(
        "-rA", "--junitxml=junit.xml", "--sleuth-json=run.json",
        "--sleuth-report=incident.md",
    )  # fmt: skip
    result.assert_outcomes(passed=2, failed=5)
    day = (timing.utcnow()).strftime("%Y-%m-%d")  # the shifted clock: 120 days on
    real_day = (timing.utcnow() - datetime.timedelta(days=120)).strftime("%Y-%m-%d")
    assert day != real_day
    result.stdout.fnmatch_lines_random(
        [
            f"*CheckFailed: API_KEY: present but changed 120 days ago ({real_day}), "
            f"max_age 90d (from aws-secrets prod/shop (eu-west-1))",
            "*CheckFailed: FROM_ENV: present but max_age 90d cannot be judged: "
            "environment does not say when a value changed (aws-secrets and aws-ssm "
            "do) (from environment)",
            "*CheckFailed: STRIPE_KEY: present but changed 120 days ago *, max_age 30d "
            "(from aws-secrets prod/shop/stripe (eu-west-1))",
            "*the key is *** and the password ****",
            "PASSED settings.yaml::setting STRIPE_KEY",
            "PASSED settings.yaml::setting DB_PASSWORD",
            # The evidence: each AWS answer with its version and change date.
            f"*FEATURE_FLAG_X: missing. Looked in environment: absent; aws-secrets "
            f"prod/shop (eu-west-1): absent (not a key of the secret, version {shop}, "
            f"changed 120 days ago ({real_day} *)); aws-secrets prod/shop/stripe "
            f"(eu-west-1): absent (it holds only STRIPE_KEY); aws-ssm /prod/shop/ "
            f"(eu-west-1): absent (no parameter /prod/shop/FEATURE_FLAG_X among 1 "
            f"under it)*",
        ]
    )
    document = json.loads((pytester.path / "run.json").read_text())
    answers = [
        answer
        for probe in document["probes"]
        for lookup in probe["evidence"]["settings"]
        if lookup["name"] == "API_KEY"
        for answer in lookup["answers"]
        if answer["source"].startswith("aws-secrets prod/shop ")
    ]
    assert answers
    assert {a["version"] for a in answers} == {shop}
    assert all(a["changed_at"].startswith(real_day) for a in answers)
    assert f"version {shop}" in (pytester.path / "incident.md").read_text()
    outputs = {
        "terminal": result.stdout.str() + result.stderr.str(),
        "junit": (pytester.path / "junit.xml").read_text(),
        "json": (pytester.path / "run.json").read_text(),
        "markdown": (pytester.path / "incident.md").read_text(),
    }
    for where, text in outputs.items():
        for kind, value in SECRETS.items():
            assert value not in text, (where, kind)


def test_a_missing_secret_is_one_root_cause(pytester, moto_url, monkeypatch, tmp_path):
    post(moto_url, "/moto-api/reset")
    use_aws(monkeypatch, moto_url, tmp_path)
    pytester.makefile(
        ".yaml",
        sleuth="targets:\n  prod:\n    sources:\n"
        "      - aws-secrets: {secret_id: prod/gone, region: eu-west-1}\n",
    )
    write_table(pytester, "settings:\n  required: [A, B, C]\n", name="settings")
    result = pytester.runpytest()
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        [
            "*likely root causes:*",
            "*1. settings source aws-secrets prod/gone (eu-west-1) (sleuth.yaml line 4): "
            "not found: no prod/gone in eu-west-1 (ResourceNotFoundException). Check "
            "the name and the region (3 probes failed the same way)*",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def _block(fence: str, first_line: str) -> str:
    text = (DOCS / "settings.md").read_text()
    for block in re.findall(rf"```{fence}\n(.*?)```", text, re.DOTALL):
        if block.startswith(first_line):
            return str(block)
    raise AssertionError(f"no {fence} example starting {first_line!r} in settings.md")


def test_the_docs_example_runs_as_the_docs_say(
    pytester, moto_url, monkeypatch, tmp_path
):
    post(moto_url, "/moto-api/reset")
    use_aws(monkeypatch, moto_url, tmp_path)
    secrets = client("secretsmanager", moto_url)
    secrets.create_secret(
        Name="prod/shop", SecretString=json.dumps({"DATABASE_PASSWORD": "docs-pw-31"})
    )
    secrets.create_secret(Name="prod/shop/stripe", SecretString="sk_live_docs-32")
    client("ssm", moto_url).put_parameter(
        Name="/prod/shop/CACHE_HOST", Value="cache-docs-33", Type="SecureString"
    )
    real_utcnow = timing.utcnow
    monkeypatch.setattr(
        timing, "utcnow", lambda: real_utcnow() + datetime.timedelta(days=120)
    )
    pytester.makefile(".yaml", sleuth=_block("yaml", "# sleuth.yaml\ntargets:"))
    write_table(
        pytester, _block("yaml", "# probes/secrets.yaml"), name="probes/secrets"
    )
    pytester.makepyfile(test_docs=_block("python", "def test_stripe_key_was_rotated"))
    result = pytester.runpytest("-rA")
    result.assert_outcomes(passed=1, failed=3)
    shown = (
        "E   sleuth.errors.CheckFailed: STRIPE_KEY: present but changed 120 days ago"
    )
    assert shown in (DOCS / "settings.md").read_text()
    real_day = real_utcnow().strftime("%Y-%m-%d")
    result.stdout.fnmatch_lines_random(
        [
            f"E *{shown[4:]} ({real_day}), max_age 90d (from aws-secrets prod/shop/stripe "
            f"(eu-west-1))",
            "*CheckFailed: DATABASE_PASSWORD: present but changed 120 days ago *",
            "PASSED probes/secrets.yaml::setting CACHE_HOST",
        ]
    )
    out = result.stdout.str()
    assert not re.search(r"docs-pw-31|sk_live_docs|cache-docs", out)
