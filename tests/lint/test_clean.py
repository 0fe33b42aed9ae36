"""What lint must not flag: the suites shipped with sleuth, and safe look-alikes."""

from __future__ import annotations

from pathlib import Path

import pytest

import sleuth
from sleuth.lint import lint_suite
from tests.lint.helpers import write_suite

REPO = Path(__file__).parents[2]


@pytest.mark.parametrize(
    "suite",
    [
        pytest.param(REPO / "examples", id="examples"),
        pytest.param(Path(sleuth.__file__).parent / "demo" / "suite", id="demo"),
    ],
)
def test_the_shipped_suites_lint_clean(suite, monkeypatch):
    monkeypatch.chdir(REPO)
    report = lint_suite(suite)
    assert report.findings == ()
    assert report.files >= 4
    # Each stand-in deploy.env's DSN password, silenced with its reason.
    assert report.silenced == (2 if suite.name == "examples" else 1)


SAFE = {
    "sleuth.yaml": """\
        targets:
          prod:
            base_url: ${env:API_URL:-https://api.example.com}
            headers: {Authorization: "Bearer ${setting:API_TOKEN}"}
            services:
              postgres: {dsn: "postgresql://app:${setting:DB_PASSWORD}@db-1:5432/orders"}
        writes:
          - test_safe.py::test_intended_write
          - test_safe.py::test_some_cases_write[/users-POST-*]
    """,
    "test_safe.py": """\
        import subprocess

        import pytest
        import requests

        pytestmark = pytest.mark.smoke


        def check_health(answer):
            assert answer.status_code == 200


        @pytest.mark.parametrize("name", ["API_TOKEN", "DB_PASSWORD"])
        @pytest.mark.parametrize("token", [pytest.param("tok-3f9a7c21e5d4", id="t1")])
        def test_settings(target, name, token):
            assert target.setting(name)


        @pytest.mark.parametrize("token", ["tok-3f9a7c21e5d4"], ids=["t1"])
        def test_given_ids(target, token):
            target.check_setting("API_TOKEN")


        def test_a_command_that_must_succeed(target):
            subprocess.run(["dig", "api.example.com"], check=True, timeout=5)


        def test_a_helper_checks(target):
            check_health(target.http.get("/health", timeout=2))


        @pytest.mark.writes
        def test_marked_write(target):
            assert target.http.post("/users", json={}).status_code == 201


        def test_intended_write(target):
            assert target.http.delete("/users/1").status_code == 204


        @pytest.mark.parametrize("method", ["POST"])
        def test_some_cases_write(target, method):
            assert target.http.request("POST", "/users").status_code == 201


        def test_reads(target):
            answer = requests.get("https://api.example.com/items", timeout=2)
            answer.raise_for_status()
            assert target.http.get(f"https://api.example.com/{answer.url}").ok
            assert target.http.get("/x", params={"method": "delete"}).ok


        def test_dsn_from_a_setting(target):
            dsn = f"postgresql://app:{target.setting('DB_PASSWORD')}@db-1/orders"
            assert dsn
    """,
    "probes.yaml": """\
        http:
          - GET /health: 200
          - {name: health again, request: GET /health}
          - {request: POST /users, json: {}, writes: true, expect: {status: 201}}
          - GET https://api.example.com/items: 200
        settings:
          required: [DATABASE_URL]
          FLAG: {required: false, type: bool}
        postgres:
          - {dsn: "${setting:DATABASE_URL}"}
    """,
    "deploy.env": "DATABASE_URL=postgresql://app@db-1/orders\nLOG_LEVEL=info\n",
}


def test_safe_look_alikes_are_not_flagged(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_suite(tmp_path, SAFE)
    report = lint_suite(tmp_path)
    assert [(f.file, f.line, f.rule) for f in report.findings] == []
    assert report.files == 4


def test_probe_modules_are_read_never_imported(tmp_path, monkeypatch):
    """A module that would fail, or act, on import is linted all the same."""
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "imported"
    write_suite(
        tmp_path,
        {
            "conftest.py": f"open({str(marker)!r}, 'w').close()\n",
            "test_x.py": "import no_such_module\n\n\ndef test_x():\n    pass\n",
        },
    )
    findings = lint_suite(tmp_path).findings
    assert [(f.file, f.rule) for f in findings] == [("test_x.py", "asserts-nothing")]
    assert not marker.exists()


def test_a_folder_of_suites_is_linted_each_under_its_own_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_suite(tmp_path / "one", {})
    other = "targets:\n  prod:\n    base_url: https://other.example.com\n"
    probe = (
        "def test_x(target):\n"
        "    assert target.http.get('https://other.example.com/').ok\n"
    )
    write_suite(tmp_path / "two", {"sleuth.yaml": other, "test_x.py": probe})
    write_suite(tmp_path / "one", {"test_x.py": probe})
    findings = lint_suite(tmp_path).findings
    assert [(f.file, f.rule) for f in findings] == [("one/test_x.py", "unknown-host")]


def test_hosts_named_by_services_are_known(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = """\
        targets:
          prod:
            base_url: ${env:API_URL}
            services:
              postgres: {dsn: "host=db-1 port=5432 dbname=orders"}
              redis: {host: Cache-1, port: 6379}
              amqp: {url: "amqp://mq-1:5672/"}
    """
    probe = """\
        def test_hosts(target):
            for url in ("http://db-1/", "http://cache-1:8080/", "https://mq-1/api"):
                assert target.http.get(url).ok
            assert target.http.get("http://db-1:9187/metrics").ok
            assert target.http.get("https://{host}/x").ok
            assert target.http.get("https://elsewhere.example.org/").ok
    """
    write_suite(tmp_path, {"sleuth.yaml": config, "test_hosts.py": probe})
    findings = lint_suite(tmp_path).findings
    # The loop's URLs are in a tuple, not a call: only written requests count.
    assert [(f.line, f.rule, f.message.split(",")[0]) for f in findings] == [
        (6, "unknown-host", "reaches elsewhere.example.org")
    ]
