"""No setting value is stored in the history in clear, secret-looking name or not.

A suite reads plain settings (a host, a short flag) and uses them in every
place that ends in a stored column: a settings rule's message, a request line
and a body excerpt in the evidence, an assertion message, a probe id. The
store's raw bytes (the SQLite file, a ``pg_dump`` of the PostgreSQL store) are
then searched for each value; the fingerprints still tell a change.
"""

from __future__ import annotations

import urllib.parse

import pytest
from click.testing import CliRunner

from sleuth.cli.commands import group as main
from tests.history.helpers import raw_store

HOST = "10.99.88.77"
REGION = "eu-west-canary-3"
SUITE = """
targets:
  local:
    base_url: {url}
    timeout: 5s
    sources: [env, {{dotenv: .env}}]
"""
TABLE = """
settings:
  CACHE_HOST: {type: int}   # a type failure shows a non-secret value
  FEATURE_FLAG_X: {type: int}
"""
PROBES = """
import pytest
from click.testing import CliRunner

from sleuth.cli.commands import group as main
from tests.history.helpers import raw_store

@pytest.mark.parametrize("region", ["eu-west-canary-3"])
def test_region(target, region):
    assert target.setting("REGION") == region

def test_cache_host_reaches_the_api(target):
    host = target.setting("CACHE_HOST")
    response = target.http.get("/status/503", params={"body": "cache " + host})
    assert response.status_code == 200, f"{host} answered {response.status_code}"
"""


def _suite(pytester: pytest.Pytester, url: str, *, host: str = HOST) -> None:
    pytester.makefile(".yaml", sleuth=SUITE.format(url=url))
    (pytester.path / ".env").write_text(
        f"CACHE_HOST={host}\nFEATURE_FLAG_X=on\nREGION={REGION}\n"
    )
    probes = pytester.path / "probes"
    probes.mkdir(exist_ok=True)
    (probes / "settings.yaml").write_text(TABLE)
    pytester.makepyfile(test_cache=PROBES)


def _forms(value: str) -> list[bytes]:
    return [value.encode(), urllib.parse.quote(value, safe="").encode()]


def test_setting_values_are_masked_in_every_stored_column(
    pytester, http_target, store_url
):
    if store_url.startswith("sqlite:///"):
        store_url = f"sqlite:///{pytester.path}/.sleuth/history.db"
    _suite(pytester, http_target.url)
    first = pytester.runpytest("--history", store_url, "-p", "no:cacheprovider")
    first.assert_outcomes(passed=1, failed=2, errors=1)
    # The terminal says the values: the person running it may see them.
    first.stdout.fnmatch_lines(
        [f"*setting CACHE_HOST (from dotenv .env) is '{HOST}', not a valid int*"]
    )
    _suite(pytester, http_target.url, host="10.99.88.78")
    second = pytester.runpytest("--history", store_url, "-p", "no:cacheprovider")
    second.assert_outcomes(passed=1, failed=2, errors=1)
    diff = CliRunner().invoke(main, ["diff", "1", "2", "--history", store_url])
    assert "  CACHE_HOST: value changed" in diff.output.splitlines(), diff.output

    stored = raw_store(pytester, store_url)
    assert b"setting CACHE_HOST (from dotenv .env) is '***'" in stored
    assert b"setting FEATURE_FLAG_X (from dotenv .env) is '***'" in stored
    assert b"test_region[***]" in stored
    assert b"cache ***" in stored  # the body excerpt, kept and masked
    for value in (HOST, "10.99.88.78", REGION):
        for form in _forms(value):
            assert form not in stored, form
    assert b"is 'on'" not in stored
