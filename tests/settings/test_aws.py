"""aws-secrets and aws-ssm against moto's real server: boto3 sends real HTTP.

Each source is fetched once per run, within the probe's time left, and every
answer says why in a person's words: not found, access denied, no credentials,
timed out. Versions and change dates travel with each answer.
"""

from __future__ import annotations

import datetime
import json
import logging
import socket
import threading
import time
from pathlib import Path

import pytest

from sleuth._evidence import SourceAnswer
from sleuth.errors import ConfigError
from sleuth.settings import SettingsResolver, build_source
from sleuth.suite.sources import SourceSpec, build_source_specs
from sleuth.suite.yamlfile import load as load_yaml
from tests.awsserver import REGION, client, moto_server, post, use_aws
from tests.conftest import packages_loaded_by
from tests.integration.conftest import in_probe


@pytest.fixture
def aws(moto_url: str, monkeypatch, tmp_path) -> str:
    """moto emptied, and this process's AWS environment pointing at it."""
    post(moto_url, "/moto-api/reset")
    use_aws(monkeypatch, moto_url, tmp_path)
    return moto_url


def source(kind: str, location: str, **options):
    spec = SourceSpec(
        kind=kind,
        location=location,
        options={"region": REGION, **options},
        where="sleuth.yaml line 4",
    )
    return build_source(spec, root=Path("."))


def answer(src, name: str) -> SourceAnswer:
    found = src.lookup(name)
    return SourceAnswer(
        source=src.label,
        state=found.state,
        detail=found.detail,
        broken=found.broken,
        version=found.version,
        changed_at=found.changed_at,
    )


def test_a_json_secret_gives_each_key_as_a_setting(aws):
    secrets = client("secretsmanager", aws)
    made = secrets.create_secret(
        Name="prod/shop",
        SecretString=json.dumps({"DB_PASSWORD": "pw-1", "EMPTY": " ", "PORT": 5432}),
    )
    src = source("aws-secrets", "prod/shop")
    assert src.is_secret
    assert src.label == "aws-secrets prod/shop (eu-west-1)"
    assert list(src.names()) == []  # listing names never fetches
    found = src.lookup("DB_PASSWORD")
    assert (found.state, found.value) == ("present", "pw-1")
    assert found.version == made["VersionId"]
    assert isinstance(found.changed_at, datetime.datetime)
    assert src.lookup("PORT").value == 5432
    assert src.lookup("EMPTY").state == "empty"
    missing = src.lookup("CACHE_HOST")
    assert missing.state == "absent"
    assert missing.detail == "not a key of the secret"
    assert missing.version == made["VersionId"]  # the clue: which version lacks it
    assert sorted(src.names()) == ["DB_PASSWORD", "EMPTY", "PORT"]


def test_a_plain_secret_is_the_one_setting_it_is_named(aws):
    client("secretsmanager", aws).create_secret(
        Name="prod/shop/stripe", SecretString="sk_live_plain-8812"
    )
    src = source("aws-secrets", "prod/shop/stripe", name="STRIPE_KEY")
    assert src.lookup("STRIPE_KEY").value == "sk_live_plain-8812"
    other = src.lookup("DB_PASSWORD")
    assert (other.state, other.detail) == ("absent", "it holds only STRIPE_KEY")


def test_a_plain_secret_without_a_name_says_how_to_name_it(aws):
    client("secretsmanager", aws).create_secret(
        Name="prod/shop/stripe", SecretString="sk_live_plain-8812"
    )
    found = source("aws-secrets", "prod/shop/stripe").lookup("STRIPE_KEY")
    assert found.state == "error"
    assert found.broken == found.detail
    assert "is not a JSON object of settings" in found.detail
    assert "{secret_id: prod/shop/stripe, name: STRIPE_KEY}" in found.detail
    assert "sk_live" not in found.detail


def test_a_rotated_secret_shows_its_new_version_and_when_it_changed(aws):
    secrets = client("secretsmanager", aws)
    first = secrets.create_secret(Name="prod/shop", SecretString='{"KEY": "old-1"}')
    before = source("aws-secrets", "prod/shop").lookup("KEY")
    rotated = secrets.put_secret_value(
        SecretId="prod/shop", SecretString='{"KEY": "new-2"}'
    )
    after = source("aws-secrets", "prod/shop").lookup("KEY")  # the next run
    assert before.version == first["VersionId"]
    assert after.version == rotated["VersionId"] != first["VersionId"]
    assert after.value == "new-2"
    assert after.changed_at is not None
    now = after.changed_at + datetime.timedelta(minutes=14, seconds=5)
    text = answer(source("aws-secrets", "prod/shop"), "KEY").describe(now=now)
    stamp = after.changed_at.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    assert text == (
        f"aws-secrets prod/shop (eu-west-1): present (version {rotated['VersionId']}, "
        f"changed 14 minutes ago ({stamp}))"
    )


def test_a_missing_secret_is_not_found_for_every_name(aws):
    src = source("aws-secrets", "prod/nothing")
    found = src.lookup("DB_PASSWORD")
    assert found.state == "error"
    assert found.broken == (
        "not found: no prod/nothing in eu-west-1 (ResourceNotFoundException). "
        "Check the name and the region"
    )
    assert answer(src, "X").describe() == (
        "aws-secrets prod/nothing (eu-west-1): not found: no prod/nothing in "
        "eu-west-1 (see likely root causes)"
    )


def test_a_secret_is_fetched_once_per_run(aws):
    secrets = client("secretsmanager", aws)
    secrets.create_secret(Name="prod/shop", SecretString='{"A": "1", "B": "2"}')
    src = source("aws-secrets", "prod/shop")
    results: list[str] = []

    def ask() -> None:
        with in_probe():
            results.append(src.lookup("A").state)

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == ["present"] * 16
    # Gone from the manager now: this run still answers from its one fetch.
    secrets.delete_secret(SecretId="prod/shop", ForceDeleteWithoutRecovery=True)
    assert src.lookup("B").value == "2"  # deleted: only the one fetch has it
    assert source("aws-secrets", "prod/shop").lookup("B").state == "error"


def test_access_denied_names_the_action_to_allow(monkeypatch, tmp_path):
    # A server of its own: moto's IAM enforcement is switched on for all of it.
    with moto_server() as url:
        use_aws(monkeypatch, url, tmp_path)
        client("secretsmanager", url).create_secret(
            Name="prod/shop", SecretString='{"A": "1"}'
        )
        iam = client("iam", url)
        iam.create_user(UserName="prober")
        key = iam.create_access_key(UserName="prober")["AccessKey"]
        iam.put_user_policy(
            UserName="prober",
            PolicyName="parameters-only",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "ssm:GetParametersByPath",
                            "Resource": "*",
                        }
                    ],
                }
            ),
        )
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        post(url, "/moto-api/reset-auth", b"0")
        try:
            denied = source("aws-secrets", "prod/shop").lookup("A")
            allowed = source("aws-ssm", "/prod/shop/").lookup("A")
        finally:
            post(url, "/moto-api/reset-auth", b"1e9")
    assert denied.state == "error"
    assert denied.detail == (
        "access denied (User: arn:aws:iam::123456789012:user/prober is not "
        "authorized to perform: secretsmanager:GetSecretValue). Allow "
        "secretsmanager:GetSecretValue on prod/shop to the role or user the "
        "runner uses"
    )
    assert (allowed.state, allowed.detail) == (
        "absent",
        "no parameters under /prod/shop",
    )


def test_unknown_credentials_are_refused(aws, monkeypatch):
    post(aws, "/moto-api/reset-auth", b"0")
    try:
        found = source("aws-secrets", "prod/shop").lookup("A")
    finally:
        post(aws, "/moto-api/reset-auth", b"1e9")
    assert found.detail.startswith(
        "credentials refused (The security token included in the request is invalid.)"
    )


def test_no_credentials_says_where_boto3_looked(moto_url, monkeypatch, tmp_path):
    use_aws(monkeypatch, moto_url, tmp_path, keys=False)
    found = source("aws-ssm", "/prod/shop/").lookup("A")
    assert found.state == "error"
    assert found.detail.startswith("no credentials: boto3 found none (no AWS_PROFILE")
    assert "Traceback" not in found.detail


def test_no_region_says_where_to_give_one(aws):
    spec = SourceSpec(kind="aws-ssm", location="/p/", options={}, where="here")
    found = build_source(spec, root=Path(".")).lookup("A")
    assert found.detail == (
        "no region: say region: eu-west-1 on the source in sleuth.yaml, "
        "or set AWS_REGION"
    )


def test_a_silent_endpoint_times_out_within_the_probe_deadline(aws, silent_port):
    endpoint = f"http://127.0.0.1:{silent_port}"
    src = source("aws-secrets", "prod/shop", endpoint_url=endpoint)
    started = time.monotonic()
    with in_probe(timeout_s=1.0):
        found = src.lookup("A")
    took = time.monotonic() - started
    assert found.state == "error"
    assert found.detail.startswith("timed out")
    # The probe's deadline (1 s), not botocore's own (60 s to connect, 60 s to
    # read, retried). The upper margin is the shared machine's scheduling: the
    # fetch thread compiles boto3 (no .pyc here) while the prober waits, and a
    # CI run under load once saw 1.45 s.
    assert 0.9 < took < 3.0, took
    # The fetch ends on its own, bounded by botocore's timeouts: its words are
    # the answer for the rest of the run.
    later = src.lookup("A")
    assert later.detail.startswith(f"timed out: no answer from {endpoint} within ")
    assert later.detail.endswith(
        "s (2 attempts, within the probe's time left). Check the runner reaches "
        "it, or give the probe more time"
    )
    assert time.monotonic() - started < 8.0  # not botocore's 60 s


def test_a_lookup_waiting_on_another_probes_fetch_keeps_its_own_deadline(
    aws, silent_port
):
    src = source("aws-ssm", "/prod/", endpoint_url=f"http://127.0.0.1:{silent_port}")
    # The first probe's deadline is far from the second's, so that a loaded
    # machine's scheduling cannot blur which deadline the second one kept.
    first = threading.Thread(target=lambda: _lookup_in_probe(src, 4.0))
    first.start()
    _fetch_under_way()  # the first probe's
    started = time.monotonic()
    with in_probe(timeout_s=0.5):
        found = src.lookup("A")
    assert time.monotonic() - started < 2.5
    assert found.detail.startswith(
        "timed out after 0.5 s waiting for AWS SSM Parameter Store for aws-ssm /prod/"
    )
    assert found.detail.endswith(", fetched by another probe")
    first.join(timeout=10)


def _fetch_under_way(within_s: float = 10.0) -> None:
    from sleuth.settings.aws import FETCH_THREAD_PREFIX

    deadline = time.monotonic() + within_s
    while not any(
        t.name.startswith(FETCH_THREAD_PREFIX) for t in threading.enumerate()
    ):
        assert time.monotonic() < deadline, "no fetch started"
        time.sleep(0.01)


def _lookup_in_probe(src, timeout_s: float) -> None:
    with in_probe(timeout_s=timeout_s):
        src.lookup("A")


def test_a_refused_connection_names_the_endpoint(aws):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    found = source("aws-ssm", "/p/", endpoint_url=f"http://127.0.0.1:{port}").lookup(
        "A"
    )
    assert found.detail == (
        f"cannot connect to http://127.0.0.1:{port} (connection refused). Check "
        "the endpoint (endpoint_url, AWS_ENDPOINT_URL) and the network"
    )


def test_ssm_reads_every_parameter_under_the_path_decrypted(aws):
    ssm = client("ssm", aws)
    ssm.put_parameter(
        Name="/prod/shop/DB_PASSWORD", Value="pw-ssm-1", Type="SecureString"
    )
    ssm.put_parameter(Name="/prod/shop/db/host", Value="db-1", Type="String")
    ssm.put_parameter(Name="/prod/other/X", Value="not-ours", Type="String")
    ssm.put_parameter(
        Name="/prod/shop/DB_PASSWORD",
        Value="pw-ssm-2",
        Type="SecureString",
        Overwrite=True,
    )
    src = source("aws-ssm", "/prod/shop/")
    found = src.lookup("DB_PASSWORD")
    assert (found.value, found.version) == ("pw-ssm-2", "2")
    assert found.changed_at is not None
    assert src.lookup("db/host").value == "db-1"
    assert src.lookup("X").detail == "no parameter /prod/shop/X among 2 under it"
    assert sorted(src.names()) == ["DB_PASSWORD", "db/host"]


def test_ssm_reads_every_page_of_many_parameters(aws):
    ssm = client("ssm", aws)
    for i in range(57):  # six pages of ten
        ssm.put_parameter(Name=f"/prod/many/P{i:02}", Value=f"v{i}", Type="String")
    src = source("aws-ssm", "/prod/many")
    assert src.lookup("P56").value == "v56"
    assert len(list(src.names())) == 57


def test_an_empty_ssm_path_is_a_root_cause(aws):
    found = source("aws-ssm", "/prod/none/").lookup("A")
    assert (found.state, found.broken) == ("absent", "no parameters under /prod/none")


def test_the_resolver_says_where_each_aws_value_came_from(aws, monkeypatch):
    client("secretsmanager", aws).create_secret(
        Name="prod/shop", SecretString='{"API_KEY": "k-1"}'
    )
    client("ssm", aws).put_parameter(
        Name="/prod/shop/CACHE_HOST", Value="cache-1", Type="String"
    )
    told: list[tuple[str, bool]] = []
    resolver = SettingsResolver(
        [source("aws-secrets", "prod/shop"), source("aws-ssm", "/prod/shop/")],
        on_value=lambda name, value, src: told.append((name, src.is_secret)),
    )
    value, lookup = resolver.lookup("CACHE_HOST")
    assert value == "cache-1"
    assert lookup.found_in == "aws-ssm /prod/shop/ (eu-west-1)"
    assert told == [("CACHE_HOST", True)]  # every AWS value is a secret
    assert (
        "aws-secrets prod/shop (eu-west-1): absent (not a key of the secret, version"
        in (lookup.describe())
    )
    assert resolver.close_names("API_KE") == (
        "API_KEY (aws-secrets prod/shop (eu-west-1))",
    )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        pytest.param(
            "{aws-secrets: {secret_id: prod/shop, regoin: eu-west-1}}",
            "regoin",
            id="unknown-option",
        ),
        pytest.param(
            "{aws-ssm: {path: prod/shop/}}",
            "the aws-ssm path must start with '/', e.g. /prod/shop/, found 'prod/shop/'",
            id="relative-ssm-path",
        ),
        pytest.param(
            "{aws-secrets: {secret_id: prod/shop, region: 5}}",
            "region of the aws-secrets source must be a text such as eu-west-1, "
            "found int 5",
            id="region-not-text",
        ),
        pytest.param(
            "{aws-secrets: {region: eu-west-1}}",
            "the aws-secrets source needs {secret_id: prod/shop, region: eu-west-1}",
            id="no-secret-id",
        ),
    ],
)
def test_config_mistakes_say_what_to_write(tmp_path, entry, message):
    path = tmp_path / "sleuth.yaml"
    path.write_text(f"sources:\n  - {entry}\n")
    data, lines = load_yaml(path)
    with pytest.raises(ConfigError, match=r"sleuth\.yaml") as caught:
        build_source_specs(data["sources"], ("sources",), lines)
    assert message in str(caught.value)


def test_the_short_forms_read_as_the_docs_say(tmp_path):
    path = tmp_path / "sleuth.yaml"
    path.write_text(
        "sources:\n  - aws-secrets: prod/shop\n  - aws-ssm: /prod/shop/\n"
        "  - aws-secrets: prod/shop/stripe\n    name: STRIPE_KEY\n"
    )
    data, lines = load_yaml(path)
    specs = build_source_specs(data["sources"], ("sources",), lines)
    assert [(s.kind, s.location, dict(s.options)) for s in specs] == [
        ("aws-secrets", "prod/shop", {}),
        ("aws-ssm", "/prod/shop/", {}),
        ("aws-secrets", "prod/shop/stripe", {"name": "STRIPE_KEY"}),
    ]


def test_boto3_loads_only_when_a_setting_is_looked_up():
    loaded = packages_loaded_by(
        "import sleuth, sleuth.plugin\n"
        "from pathlib import Path\n"
        "from sleuth.settings import build_source\n"
        "from sleuth.suite.sources import SourceSpec\n"
        "for kind in ('aws-secrets', 'aws-ssm'):\n"
        "    spec = SourceSpec(kind=kind, location='/p/', options={}, where='')\n"
        "    list(build_source(spec, root=Path('.')).names())",
        {"boto3", "botocore"},
    )
    assert loaded == []


def test_botocore_debug_logs_of_a_fetch_never_carry_the_value(aws, caplog):
    caplog.set_level(logging.DEBUG)
    secrets = client("secretsmanager", aws)
    secrets.create_secret(Name="prod/shop", SecretString='{"A": "logged-pw-5150"}')
    secrets.get_secret_value(SecretId="prod/shop")  # the test's own call logs it
    assert "logged-pw-5150" in caplog.text
    caplog.clear()
    assert source("aws-secrets", "prod/shop").lookup("A").value == "logged-pw-5150"
    assert "logged-pw-5150" not in caplog.text


def test_ssm_stops_at_its_page_limit_and_says_so(aws, monkeypatch):
    from sleuth.settings import aws as aws_module

    monkeypatch.setattr(aws_module, "MAX_SSM_PAGES", 2)
    ssm = client("ssm", aws)
    for i in range(25):
        ssm.put_parameter(Name=f"/prod/many/P{i:02}", Value=f"v{i}", Type="String")
    found = source("aws-ssm", "/prod/many/").lookup("P00")
    assert found.state == "error"
    assert found.detail == (
        "too many parameters: 20 parameters read in 2 pages, and more remain "
        "under /prod/many. Give a narrower path"
    )
