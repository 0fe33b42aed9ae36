"""A DSN is an address with, at most, one secret in it: its password.

Against the machine's PostgreSQL: a DSN without a password, read from a
setting whose name looks secret (PG_DSN), is shown whole in every message,
and does not mask other probes' messages about the same address; one with a
password has the password masked everywhere, the terminal and the history.
(The history masks every setting value, DSN or not: docs/history.md.)
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.conftest import outcomes, require_service
from tests.history.helpers import history_file_bytes
from tests.integration.conftest import service_url

pytestmark = pytest.mark.services

ADMIN = service_url("postgres", "postgresql://postgres@127.0.0.1:5432/test")
PASSWORD = "canary-dsnpw-4411"  # noqa: S105 (a planted test secret; trust auth ignores it)

SUITE = """
targets:
  local:
    sources: [env, {dotenv: deploy.env}]
"""
TABLE = """
postgres:
  - {dsn: "${setting:PG_DSN}"}
  - {dsn: "@ADDRESS@_no_such_db"}
"""


def _suite(pytester: pytest.Pytester, dsn: str) -> None:
    """PG_DSN for one probe; another on a database whose DSN begins with it."""
    pytester.makefile(".yaml", sleuth=SUITE)
    (pytester.path / "deploy.env").write_text(f"PG_DSN={dsn}\n")
    probes = pytester.mkdir("probes")
    (probes / "db.yaml").write_text(TABLE.replace("@ADDRESS@", dsn))


def test_a_dsn_without_a_password_is_shown_whole(pytester):
    require_service("PostgreSQL", "127.0.0.1", 5432)
    _suite(pytester, ADMIN)
    result = pytester.runpytest("-p", "no:cacheprovider", "--sleuth-json=run.json")
    result.assert_outcomes(passed=1, errors=1)
    text = result.stdout.str()
    # The other probe on that address says which address, unmasked.
    assert f"postgres {ADMIN}_no_such_db: database" in text
    assert "***" not in text
    report = (pytester.path / "run.json").read_text()
    assert f"postgres check {ADMIN}" in report  # the passing probe's request
    assert "***" not in report


def test_a_dsn_with_a_password_has_the_password_masked_everywhere(pytester):
    require_service("PostgreSQL", "127.0.0.1", 5432)
    parts = urlsplit(ADMIN)
    user, host = parts.username or "postgres", parts.hostname
    with_password = (
        f"{parts.scheme}://{user}:{PASSWORD}@{host}:{parts.port}{parts.path}"
    )
    _suite(pytester, with_password)
    result = pytester.runpytest("-p", "no:cacheprovider", "-rA")
    # The local server trusts loopback: the password unused is a warning.
    assert outcomes(result) == {"warned": 1, "errors": 1}
    text = result.stdout.str()
    assert PASSWORD not in text
    masked = f"{parts.scheme}://{user}:***@{host}:{parts.port}{parts.path}"
    assert f"postgres {masked}_no_such_db: database" in text
    assert PASSWORD.encode() not in history_file_bytes(pytester.path / ".sleuth")
