"""One suite per rule: the rule finds its mistake, and a comment naming it silences it.

In each suite, ``{allow}`` marks where the silencing comment goes (at the end
of the finding's line) and ``{above}`` where it goes alone on the line above.
Found: both are removed. Silenced: the comment names the rule.
"""

from __future__ import annotations

import dataclasses

import pytest

from sleuth.lint import RULES, lint_suite
from tests.lint.helpers import (
    AWS_KEY,
    GITHUB_TOKEN,
    JWT,
    PASSWORD,
    PRIVATE_KEY,
    SLACK_TOKEN,
    STRIPE_KEY,
    write_suite,
)

BUDGET_CONFIG = """\
budget: 10s
targets:
  prod:
    base_url: https://api.example.com
    timeout: 5s{allow}
"""


@dataclasses.dataclass(frozen=True)
class Case:
    rule: str
    files: dict[str, str]
    where: str  # file:line of the finding


CASES = [
    pytest.param(
        Case(
            "asserts-nothing",
            {
                "test_a.py": """\
                    def test_reads_a_setting(target):{allow}
                        target.setting("X")
                """
            },
            "test_a.py:1",
        ),
        id="asserts-nothing-python",
    ),
    pytest.param(
        Case(
            "asserts-nothing",
            {
                "probes.yaml": """\
                    settings:
                      required: [DATABASE_URL]
                      FLAG: {required: false}{allow}
                """
            },
            "probes.yaml:3",
        ),
        id="asserts-nothing-table",
    ),
    *[
        pytest.param(
            Case(
                "write-without-mark",
                {
                    "test_w.py": f"""\
                        import httpx
                        import requests
                        from my_app import api


                        def test_write(target):
                            response = {call}{{allow}}
                            assert response.status_code == 201
                    """
                },
                "test_w.py:7",
            ),
            id=f"write-without-mark-{name}",
        )
        for name, call in [
            ("target-http", 'target.http.post("/users", json={})'),
            ("target-request", 'target.http.request("DELETE", "/users/1")'),
            ("requests", 'requests.put("https://api.example.com/u", timeout=2)'),
            ("httpx-client", 'httpx.Client().patch("https://api.example.com/u")'),
            ("helper", 'api.call("POST", "/users", json={})'),
        ]
    ],
    pytest.param(
        Case(
            "write-without-mark",
            {
                "test_s.py": """\
                    import aiohttp


                    async def test_write():
                        async with aiohttp.ClientSession() as session:
                            response = await session.delete("https://api.example.com/u"){allow}
                        assert response.status == 204
                """
            },
            "test_s.py:6",
        ),
        id="write-without-mark-aiohttp-session",
    ),
    pytest.param(
        Case(
            "write-without-mark",
            {
                "test_seed.py": """\
                    import pytest
                    from my_app import api


                    @pytest.mark.parametrize("endpoint, method", [
                        ("/users", "POST"),
                        ("/users/123", "GET"),
                    ])
                    def test_api_endpoints(endpoint, method):
                        response = api.call(method, endpoint){allow}
                        assert response.status_code < 300
                """
            },
            "test_seed.py:10",
        ),
        id="write-without-mark-parametrized-method",
    ),
    pytest.param(
        Case(
            "write-without-mark",
            {"probes.yaml": "http:\n  - POST /users: 201{allow}\n"},
            "probes.yaml:2",
        ),
        id="write-without-mark-table",
    ),
    *[
        pytest.param(
            Case(
                "secret",
                {
                    "test_k.py": f'KEY = "{value}"{{allow}}\n\n\ndef test_x():\n    assert KEY\n'
                },
                "test_k.py:1",
            ),
            id=f"secret-python-{name}",
        )
        for name, value in [
            ("aws", AWS_KEY),
            ("github", GITHUB_TOKEN),
            ("slack", SLACK_TOKEN),
            ("stripe", STRIPE_KEY),
            ("private-key", PRIVATE_KEY),
            ("jwt", JWT),
        ]
    ],
    pytest.param(
        Case(
            "secret",
            {
                "test_c.py": f"""\
                    def test_x(target):
                        # the token was {GITHUB_TOKEN}{{allow}}
                        assert target.setting("GITHUB_TOKEN")
                """
            },
            "test_c.py:2",
        ),
        id="secret-python-comment",
    ),
    pytest.param(
        Case(
            "secret",
            {
                "probes.yaml": f"""\
                    http:
                      - {{request: GET /me, headers: {{Authorization: "Bearer {JWT}"}}}}{{allow}}
                """
            },
            "probes.yaml:2",
        ),
        id="secret-yaml",
    ),
    pytest.param(
        Case(
            "secret",
            {"deploy.env": f"A=1\n{{above}}GITHUB_TOKEN={GITHUB_TOKEN}\n"},
            "deploy.env:2",
        ),
        id="secret-dotenv",
    ),
    pytest.param(
        Case(
            "password-in-url",
            {
                "probes.yaml": f"""\
                    postgres:
                      - {{dsn: "postgresql://app:{PASSWORD}@api.example.com/orders"}}{{allow}}
                """
            },
            "probes.yaml:2",
        ),
        id="password-in-url-yaml",
    ),
    pytest.param(
        Case(
            "password-in-url",
            {
                "test_p.py": f"""\
                    DSN = "redis://:{PASSWORD}@api.example.com:6379/0"{{allow}}


                    def test_x():
                        assert DSN
                """
            },
            "test_p.py:1",
        ),
        id="password-in-url-python",
    ),
    pytest.param(
        Case(
            "password-in-url",
            {".env": f"{{above}}DATABASE_URL=postgresql://app:{PASSWORD}@db/orders\n"},
            ".env:1",
        ),
        id="password-in-url-dotenv",
    ),
    pytest.param(
        Case(
            "no-timeout",
            {
                "test_t.py": """\
                    import requests


                    def test_slow():
                        answer = requests.get("https://api.example.com/", timeout=None){allow}
                        assert answer.ok
                """
            },
            "test_t.py:5",
        ),
        id="no-timeout",
    ),
    pytest.param(
        Case(
            "timeout-over-budget",
            {
                "sleuth.yaml": BUDGET_CONFIG.replace("{allow}", ""),
                "test_t.py": """\
                    import pytest


                    @pytest.mark.probe(timeout="1m"){allow}
                    def test_slow(target):
                        assert target.http.get("/").status_code == 200
                """,
            },
            "test_t.py:4",
        ),
        id="timeout-over-budget-python",
    ),
    pytest.param(
        Case(
            "timeout-over-budget",
            {
                "sleuth.yaml": BUDGET_CONFIG.replace("{allow}", ""),
                "probes.yaml": "http:\n  - {request: GET /, timeout: 90}{allow}\n",
            },
            "probes.yaml:2",
        ),
        id="timeout-over-budget-table",
    ),
    pytest.param(
        Case(
            "timeout-over-budget",
            {"sleuth.yaml": BUDGET_CONFIG.replace("5s", "30s")},
            "sleuth.yaml:5",
        ),
        id="timeout-over-budget-config",
    ),
    pytest.param(
        Case(
            "unknown-host",
            {
                "test_h.py": """\
                    def test_elsewhere(target):
                        answer = target.http.get("https://elsewhere.example.org/x"){allow}
                        assert answer.status_code == 200
                """
            },
            "test_h.py:2",
        ),
        id="unknown-host-python",
    ),
    pytest.param(
        Case(
            "unknown-host",
            {
                "probes.yaml": "http:\n  - GET https://elsewhere.example.org/: 200{allow}\n"
            },
            "probes.yaml:2",
        ),
        id="unknown-host-table",
    ),
    pytest.param(
        Case(
            "duplicate-row",
            {
                "probes.yaml": """\
                    http:
                      - GET /health: 200
                      - GET /users/1: 200
                      - GET /health: 200{allow}
                """
            },
            "probes.yaml:4",
        ),
        id="duplicate-row-http",
    ),
    pytest.param(
        Case(
            "duplicate-row",
            {
                "probes.yaml": """\
                    settings:
                      required: [DATABASE_URL, CACHE_HOST, DATABASE_URL]{allow}
                """
            },
            "probes.yaml:2",
        ),
        id="duplicate-row-settings",
    ),
    pytest.param(
        Case(
            "secret-in-test-id",
            {
                "test_i.py": """\
                    import pytest


                    @pytest.mark.parametrize("token", [
                        "tok-3f9a7c21e5d4",{allow}
                    ])
                    def test_token_works(target, token):
                        assert target.http.get("/", headers={"X-Token": token}).status_code == 200
                """
            },
            "test_i.py:5",
        ),
        id="secret-in-test-id",
    ),
]


def _variant(files: dict[str, str], rule: str | None) -> dict[str, str]:
    allow = f"  # sleuth: allow {rule}" if rule else ""
    above = f"# sleuth: allow {rule}\n" if rule else ""
    return {
        name: text.replace("{allow}", allow).replace("{above}", above)
        for name, text in files.items()
    }


@pytest.mark.parametrize("case", CASES)
def test_rule_finds_its_mistake(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_suite(tmp_path, _variant(case.files, None))
    findings = lint_suite(tmp_path).findings
    assert [(f"{f.file}:{f.line}", f.rule) for f in findings] == [
        (case.where, case.rule)
    ]


@pytest.mark.parametrize("case", CASES)
def test_a_comment_naming_the_rule_silences_it(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_suite(tmp_path, _variant(case.files, case.rule))
    report = lint_suite(tmp_path)
    assert report.findings == ()
    assert report.silenced == 1


def test_a_comment_naming_another_rule_silences_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_suite(
        tmp_path,
        {
            "test_a.py": "def test_x(target):  # sleuth: allow secret\n    target.setting('X')\n"
        },
    )
    assert [f.rule for f in lint_suite(tmp_path).findings] == ["asserts-nothing"]


def test_an_allow_comment_with_a_misspelt_rule_is_a_finding(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_suite(
        tmp_path,
        {
            "test_a.py": "def test_x(target):  # sleuth: allow assert-nothing\n    target.setting('X')\n"
        },
    )
    findings = lint_suite(tmp_path).findings
    assert [(f.line, f.rule) for f in findings] == [
        (1, "asserts-nothing"),
        (1, "unknown-rule"),
    ]
    assert "'# sleuth: allow assert-nothing' names no rule" in findings[1].message


def test_every_rule_has_a_suite_that_finds_it():
    tested = {c.rule for param in CASES for c in param.values if isinstance(c, Case)}
    assert tested | {"unknown-rule"} == set(RULES)
