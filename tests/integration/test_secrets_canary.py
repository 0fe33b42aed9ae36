"""The canary matrix: no planted secret appears in any byte a run produces.

Distinct canary values are planted through every way a secret reaches a suite
(environment, dotenv, config file, secrets directory, the app's function, read
through target.setting and called by the probe itself, the app's settings
model, valid and invalid, a URL password, headers, a parametrize value,
sleuth.secret()) and used by failing
probes in every way that puts text on screen (print, logging, an assertion, an
exception of httpx and of psycopg, a warning, --showlocals). The suite is run
with every reporter; then every byte of output and every file the runs wrote
is searched for each canary and its common encodings.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
import urllib.parse
from pathlib import Path

import pytest

from sleuth.http import worker as http_worker
from tests.awsserver import aws_environ, client, post
from tests.conftest import require_service
from tests.required import skip_unless_required

CANARIES = {
    "env": "canary-env-7f3a91",
    "dotenv": "canary-dotenv-c41d09",
    "file": "canary-file-88ab2e",
    "dir": "canary-dir-5e6f10",
    "app": "canary-app-91c3aa",
    "app_direct": "canary-appdirect-5b7e21",
    "url_password": "canary-urlpw-0d2e77",
    "header": "canary-header-3b9f42",
    "basic": "canary-basic-6a1c55",
    "param": "canary-param-2c7d19",
    "manual": "canary-manual-44e0b8",
    "aws_secret": "canary-awssm-6e1f20",
    "aws_ssm": "canary-awsssm-3a7c58",
    "weak": "admin",
    "model": "canary-model-3d8e5f",  # a SecretStr field whose name says nothing
    "model_invalid": "canary-modelbad-8c1f02",  # rejected by an int field
}
BASIC = base64.b64encode(f"probe:{CANARIES['basic']}".encode()).decode()

SLEUTH_YAML = """
    targets:
      prod:
        base_url: {url}
        timeout: 5s
        headers:
          X-Client-Ref: ${{env:PROBE_CLIENT_REF}}
          Authorization: Basic ${{env:PROBE_BASIC}}
        sources:
          - env
          - dotenv: deploy.env
          - file: settings.yaml
          - dir: mounted
          - app: shop_cfg.config:get_setting
          - aws-secrets: {{secret_id: prod/shop, region: eu-west-1}}
          - aws-ssm: {{path: /prod/shop/, region: eu-west-1}}
          - model: shop_cfg.settings:Settings
"""
# Planted in moto's server, not in the suite's files (see aws_canaries).
IN_AWS = {"aws_secret", "aws_ssm"}

PROBES = """
    import logging
    import os
    import warnings

    import httpx
    import pytest

    import sleuth
    from shop_cfg.config import get_setting

    log = logging.getLogger("shop")


    def test_printed_and_logged(target):
        token = target.setting("CANARY_API_TOKEN")
        password = target.setting("DB_PASSWORD")
        print("token is", token, "and password", password)
        log.warning("db password %s, token %r", password, token)
        warnings.warn(f"deprecated token {token}")
        assert password == "something-else"


    def test_compared_in_an_assertion(target):
        assert target.setting("signing_material") == "expected-material"


    def test_dsn_used(target):
        dsn = target.setting("DATABASE_URL")
        assert dsn.startswith("mysql://"), dsn


    def test_httpx_exception(target):
        key = target.setting("service.api_key")
        httpx.get(f"{target.base_url}/status/404?key={key}", timeout=5).raise_for_status()


    def test_database_driver_exception(target):
        import psycopg

        secret = target.setting("APP_SECRET")
        with psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres", connect_timeout=5) as conn:
            conn.execute("select %s::int", [secret])


    @pytest.mark.parametrize("token", [os.environ["CANARY_PARAM_TOKEN"]])
    def test_parametrized_with_a_secret(target, token):
        assert target.http.get("/echo").status_code == 500, f"token {token} rejected"


    def test_headers_sent(target):
        answer = target.http.get("/echo").json()
        assert answer["headers"]["x-client-ref"] == "nope", answer


    def test_registered_by_hand(target):
        value = sleuth.secret(os.environ["MANUAL_VALUE"])
        raise RuntimeError(f"cannot use {value} with {os.environ['MANUAL_VALUE']}")


    def test_url_in_a_request(target):
        dsn = target.setting("DATABASE_URL")
        target.http.get(f"{target.base_url}/status/503?dsn={dsn}").raise_for_status()


    def test_app_function_value_printed_logged_compared():
        # The app's own function, called directly: sleuth never looked API_KEY up.
        key = get_setting("API_KEY")
        print("app key is", key)
        log.warning("app key %s", key)
        assert key == "expected-key"


    def test_app_function_value_raised():
        raise RuntimeError(f"the app's key {get_setting('API_KEY')} was refused")


    def test_aws_secrets_printed_logged_compared(target):
        stored = target.setting("AWS_STORED_TOKEN")
        parameter = target.setting("SSM_PARAM_TOKEN")
        print("stored", stored, "parameter", parameter)
        log.warning("aws %s, ssm %r", stored, parameter)
        assert stored == parameter

    def test_model_field_printed_and_compared(target):
        ref = target.setting("merchant_ref")
        print("merchant ref is", ref)
        assert ref == "expected-ref"


    def test_weak_secret_shown_as_value(target):
        value = target.setting("ADMIN_PASSWORD")
        print(f"ADMIN_PASSWORD={value}; the admin user is admin")
        assert value == "root", {"ADMIN_PASSWORD": value}
"""


MODEL = """
    from pydantic import SecretStr
    from pydantic_settings import BaseSettings, SettingsConfigDict


    class Settings(BaseSettings):
        model_config = SettingsConfigDict(
            env_prefix="SHOP_", env_file="shop.env", secrets_dir="shop_secrets"
        )

        merchant_ref: SecretStr
        workers: int = 4
"""


def encodings(value: str) -> set[str]:
    raw = value.encode()
    return {
        value,
        urllib.parse.quote(value, safe=""),
        base64.b64encode(raw).decode().rstrip("="),
    }


@pytest.fixture
def aws_canaries(moto_url):
    """The AWS canaries, stored in moto's Secrets Manager and SSM."""
    post(moto_url, "/moto-api/reset")
    client("secretsmanager", moto_url).create_secret(
        Name="prod/shop",
        SecretString=json.dumps({"AWS_STORED_TOKEN": CANARIES["aws_secret"]}),
    )
    client("ssm", moto_url).put_parameter(
        Name="/prod/shop/SSM_PARAM_TOKEN",
        Value=CANARIES["aws_ssm"],
        Type="SecureString",
    )
    return moto_url


@pytest.fixture
def canary_suite(tmp_path, http_target, aws_canaries):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "sleuth.yaml").write_text(
        textwrap.dedent(SLEUTH_YAML.format(url=http_target.url))
    )
    (suite / "deploy.env").write_text(
        f"DB_PASSWORD={CANARIES['dotenv']}\n"
        f"DATABASE_URL=postgresql://app:{CANARIES['url_password']}@127.0.0.1:5432/test\n"
        f"ADMIN_PASSWORD={CANARIES['weak']}\n"
    )
    (suite / "settings.yaml").write_text(f"service:\n  api_key: {CANARIES['file']}\n")
    (suite / "mounted").mkdir()
    (suite / "mounted" / "signing_material").write_text(CANARIES["dir"] + "\n")
    (suite / "shop_cfg").mkdir()
    (suite / "shop_cfg" / "__init__.py").write_text("")
    (suite / "shop_cfg" / "config.py").write_text(
        "VALUES = {"
        f"'APP_SECRET': {CANARIES['app']!r}, 'API_KEY': {CANARIES['app_direct']!r}"
        "}\n\n\ndef get_setting(name):\n    return VALUES.get(name)\n"
    )
    (suite / "shop_cfg" / "settings.py").write_text(textwrap.dedent(MODEL))
    (suite / "shop.env").write_text(f"SHOP_MERCHANT_REF={CANARIES['model']}\n")
    (suite / "shop_secrets").mkdir()
    (suite / "shop_secrets" / "shop_workers").write_text(CANARIES["model_invalid"])
    (suite / "model.yaml").write_text("settings: {model: shop_cfg.settings:Settings}\n")
    (suite / "test_probes.py").write_text(textwrap.dedent(PROBES))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLEUTH_", "AWS_"))}
    env.update(
        CANARY_API_TOKEN=CANARIES["env"],
        CANARY_PARAM_TOKEN=CANARIES["param"],
        PROBE_CLIENT_REF=CANARIES["header"],
        PROBE_BASIC=BASIC,
        MANUAL_VALUE=CANARIES["manual"],
        **aws_environ(aws_canaries, tmp_path),
        # The suite's app, and the sleuth this test imports.
        PYTHONPATH=os.pathsep.join([str(suite), *sys.path]),
    )
    return suite, env


RUNS = {
    "reporters": [
        "-rA", "--showlocals", "-vv", "--junitxml=out/junit.xml",
        "--html=out/report.html", "--self-contained-html",
        "--json-report", "--json-report-file=out/report.json",
        "--log-file=out/run.log", "--log-file-level=DEBUG",
        "--sleuth-json=out/sleuth.json", "--sleuth-report=out/incident.md",
        "--sleuth-metrics=out/sleuth.prom",
    ],
    "no-capture": ["-s", "-rA"],
    "live-logs": ["--log-cli-level=DEBUG", "-rA", "--tb=long"],
    "collect-only": ["--collect-only", "-q"],
    "last-failed": ["--lf", "-rA", "--tb=native"],
    "nagios": ["--sleuth-exit", "nagios"],
}  # fmt: skip
# The commands that read the history the runs above wrote (.sleuth/history.db,
# searched as a file too).
COMMANDS = {
    "history": ["history"],
    "history of a setting": ["history", "DB_PASSWORD"],
    "history of a probe": ["history", "test_printed_and_logged", "--json"],
    "diff": ["diff", "1", "2", "--json"],
}


def planted(suite: Path, env: dict[str, str]) -> dict[Path, bytes]:
    """The suite's files as planted (each canary is in them or in ``env``)."""
    inputs = {p: p.read_bytes() for p in suite.rglob("*") if p.is_file()}
    sources = [*inputs.values(), *(v.encode() for v in env.values())]
    for kind, canary in CANARIES.items():
        form = BASIC if kind == "basic" else canary
        assert kind in IN_AWS or any(form.encode() in data for data in sources), kind
    return inputs


def run(suite: Path, env: dict[str, str], argv: list[str]) -> tuple[bytes, bytes]:
    (suite / "out").mkdir(exist_ok=True)
    result = subprocess.run(argv, cwd=suite, env=env, capture_output=True, timeout=180)
    assert b"Traceback" not in result.stderr, result.stderr.decode()[-2000:]
    return result.stdout, result.stderr


def assert_failures_shown_masked(
    stdout: bytes, *, warnings: str = "1 warning, "
) -> None:
    """The probes did fail, and showed what they were given, masked."""
    text = stdout.decode()
    # The model adds a probe printing a field, a row for the model as a whole
    # (failed), and one per field: one valid (passed), one invalid (failed).
    assert f"11 failed, 1 passed, {warnings}5 errors" in text, text[-3000:]
    assert "for url 'http://127.0.0.1:" in text
    assert "key=***" in text
    assert 'invalid input syntax for type integer: "***"' in text
    assert "test_parametrized_with_a_secret[***]" in text
    assert "ADMIN_PASSWORD=***; the admin user is admin" in text
    assert "RuntimeError: cannot use *** with ***" in text
    assert "token is *** and password ***" in text
    assert "db password ***, token '***'" in text
    assert "UserWarning: deprecated token ***" in text
    assert "assert '***' == 'expected-material'" in text
    assert "postgresql://app:***@127.0.0.1:5432/test" in text
    # The app's function, called by the probes themselves.
    assert "app key is ***" in text
    assert "app key ***" in text
    assert "assert '***' == 'expected-key'" in text
    assert "RuntimeError: the app's key *** was refused" in text
    assert "setting API_KEY: found in app shop_cfg.config:get_setting" in text
    # Secrets Manager and SSM, read through target.setting.
    assert "stored *** parameter ***" in text
    assert "aws ***, ssm '***'" in text
    assert "setting SSM_PARAM_TOKEN: found in aws-ssm /prod/shop/ (eu-west-1)" in text
    assert "merchant ref is ***" in text
    assert (
        "workers (model shop_cfg.settings:Settings): invalid (from secrets dir" in text
    )


def files_written(suite: Path, inputs: dict[Path, bytes]) -> dict[str, bytes]:
    return {
        str(path.relative_to(suite)): path.read_bytes()
        for path in suite.rglob("*")
        if path.is_file() and inputs.get(path) != path.read_bytes()
    }


def leaks(outputs: dict[str, bytes]) -> list[str]:
    """Where any canary (or a common encoding of it) appears in ``outputs``."""
    found = [
        f"{where}: {kind} ({form!r})"
        for kind, canary in CANARIES.items()
        if kind != "weak"
        for form in encodings(canary) | ({BASIC} if kind == "basic" else set())
        for where, data in outputs.items()
        if form.encode() in data
    ]
    weak = f"ADMIN_PASSWORD={CANARIES['weak']}".encode()
    found += [
        f"{where}: weak value as ADMIN_PASSWORD"
        for where, data in outputs.items()
        if weak in data
    ]
    return found


def test_no_canary_in_any_output(canary_suite):
    require_service("PostgreSQL", "127.0.0.1", 5432)
    suite, env = canary_suite
    inputs = planted(suite, env)

    outputs: dict[str, bytes] = {}
    for name, args in RUNS.items():
        stdout, stderr = run(suite, env, [sys.executable, "-m", "pytest", *args])
        outputs[f"{name}: stdout"] = stdout
        outputs[f"{name}: stderr"] = stderr
        if name == "reporters":
            assert_failures_shown_masked(stdout)
    for name, args in COMMANDS.items():
        result = subprocess.run(
            [sys.executable, "-m", "sleuth", *args],
            cwd=suite, env=env, capture_output=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        outputs[f"sleuth {name}: stdout"] = result.stdout
        outputs[f"sleuth {name}: stderr"] = result.stderr
    outputs.update(files_written(suite, inputs))

    assert {
        "out/junit.xml",
        "out/report.html",
        "out/report.json",
        "out/run.log",
        "out/sleuth.json",
        "out/incident.md",
        "out/sleuth.prom",
        ".sleuth/history.db",
    } <= set(outputs)
    assert any(".pytest_cache" in name for name in outputs)
    found = leaks(outputs)
    assert found == [], "\n".join(found)
    if os.environ.get("CANARY_OUTPUTS_FILE"):
        Path(os.environ["CANARY_OUTPUTS_FILE"]).write_text("\n".join(sorted(outputs)))
    # 14 canaries x (6 runs and 4 commands, stdout and stderr, + the files written).
    assert len(outputs) >= 30, sorted(outputs)


# What each `sleuth run` below writes, and the options that write it.
SLEUTH_RUN_FILES = {
    "out/junit.xml": "--junitxml=out/junit.xml",
    "out/sleuth.json": "--sleuth-json=out/sleuth.json",
    "out/incident.md": "--sleuth-report=out/incident.md",
    "out/sleuth.prom": "--sleuth-metrics=out/sleuth.prom",
}


def sleuth_run(
    suite: Path, env: dict[str, str], witness: str, *args: str
) -> dict[str, bytes]:
    """`sleuth run ARGS` on the canary suite with ``witness``'s plugin loaded
    (a file the test wrote before planting); its outputs, failures checked.
    """
    inputs = planted(suite, env)
    stdout, stderr = run(
        suite,
        env,
        [
            sys.executable, "-m", "sleuth", "run", *args, "-p", witness, "-rA",
            "--showlocals", *SLEUTH_RUN_FILES.values(),
        ],
    )  # fmt: skip
    outputs = {"stdout": stdout, "stderr": stderr, **files_written(suite, inputs)}
    assert {*SLEUTH_RUN_FILES, ".sleuth/history.db"} <= set(outputs)
    return outputs


# Loaded into the `sleuth run` below (-p): says whether the run handed its
# HTTP requests to the worker process `sleuth run` started.
WORKER_WITNESS = """
import json

from sleuth.http import worker as http_worker


def pytest_unconfigure(config):
    handle = http_worker.offered(config.pluginmanager.get_plugins())
    with open("out/worker-used.json", "w") as f:
        json.dump({"claimed": bool(handle and handle.claimed)}, f)
"""


def test_no_canary_in_any_output_of_sleuth_run_with_its_http_worker(canary_suite):
    # The requests, and the answers and errors that come back, cross a
    # socket to another process and are pickled on the way: the same canaries
    # must stay out of every output all the same.
    require_service("PostgreSQL", "127.0.0.1", 5432)
    if http_worker._cores() < 2:
        skip_unless_required("one core: `sleuth run` starts no HTTP worker here")
    suite, env = canary_suite
    (suite / "worker_witness.py").write_text(textwrap.dedent(WORKER_WITNESS))
    outputs = sleuth_run(suite, env, "worker_witness")
    assert_failures_shown_masked(outputs["stdout"])
    history = subprocess.run(
        [sys.executable, "-m", "sleuth", "history", "test_printed_and_logged"],
        cwd=suite, env=env, capture_output=True, timeout=120,
    )  # fmt: skip
    assert history.returncode == 0, history.stdout + history.stderr
    outputs["sleuth history: stdout"] = history.stdout
    assert json.loads(outputs["out/worker-used.json"]) == {"claimed": True}
    found = leaks(outputs)
    assert found == [], "\n".join(found)


def test_secret_parametrize_ids_are_masked_and_still_selectable(canary_suite):
    suite, env = canary_suite
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-k", "parametrized"],
        cwd=suite,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "test_probes.py::test_parametrized_with_a_secret[***]" in result.stdout
    assert CANARIES["param"] not in result.stdout


def test_no_canary_in_an_agents_buffer_nor_in_the_store_it_is_flushed_to(
    canary_suite,
):
    """A shared store that is away: the run's buffered rows, the buffer's
    name and the run's lines hold no canary and not the store's password;
    neither does the store once the buffer is written to it."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    from tests.history.helpers import postgres_database, raw_store
    from tests.integration.tcpproxy import TcpProxy

    suite, env = canary_suite
    inputs = planted(suite, env)
    store_password = "canary-storepw-71e4c2"  # noqa: S105 (a planted test secret)
    proxy = TcpProxy(("127.0.0.1", 5432))
    outputs: dict[str, bytes] = {}
    with postgres_database() as url:
        user, _, rest = url.split("://", 1)[1].partition("@")
        database = rest.split("/", 1)[1]
        shared = (
            f"postgresql://{user}:{store_password}@127.0.0.1:{proxy.port}/{database}"
        )
        env = {**env, "SLEUTH_HISTORY": shared}
        argv = [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider"]
        outputs["store away: stdout"], outputs["store away: stderr"] = run(
            suite, env, argv
        )
        assert (
            b"unreachable (connection refused); run kept in"
            in (outputs["store away: stdout"])
        )
        outputs.update(files_written(suite, inputs))
        assert any("history-buffer-" in name for name in outputs), sorted(outputs)
        try:
            proxy.start()
            outputs["store back: stdout"], outputs["store back: stderr"] = run(
                suite, env, argv
            )
        finally:
            proxy.stop()
        assert (
            b"while the store was unreachable written to it first"
            in (outputs["store back: stdout"])
        )
        outputs["the store (pg_dump)"] = raw_store(None, url)
    found = leaks(outputs)
    found += [
        where for where, data in outputs.items() if store_password.encode() in data
    ]
    found += [name for name in outputs if store_password in name]
    assert found == [], "\n".join(found)


# Loaded into the `sleuth run -n 2` below (-p): keeps every record a worker
# sent the controller, as it arrived there and as it left the worker.
TRAVELLED_WITNESS = """
def pytest_runtest_logreport(report):
    data = getattr(report, "sleuth_record", None)
    if data is not None:
        with open("out/travelled.txt", "a") as f:
            f.write(repr(data) + "\\\\n")
"""


def test_no_canary_in_any_output_of_a_run_under_xdist(canary_suite):
    # Each worker's records and reports cross to the controller, which
    # builds the outputs and the history from them (docs/xdist.md).
    require_service("PostgreSQL", "127.0.0.1", 5432)
    suite, env = canary_suite
    (suite / "travelled_witness.py").write_text(textwrap.dedent(TRAVELLED_WITNESS))
    outputs = sleuth_run(suite, env, "travelled_witness", "-n", "2")
    # The probe's warning is raised on a thread while it runs ahead: pytest
    # counts it when its worker is inside a test then, as a run without
    # xdist nearly always is; else it is shown, masked, as the probe's stderr.
    stdout = outputs["stdout"]
    warned = "1 warning, " if b"1 warning, 5 errors" in stdout else ""
    assert_failures_shown_masked(stdout, warnings=warned)
    assert "out/travelled.txt" in outputs
    found = leaks(outputs)
    assert found == [], "\n".join(found)
