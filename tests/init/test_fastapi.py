"""sleuth init from a FastAPI app's OpenAPI 3.1 document, then sleuth run.

The app serves its document at /openapi.json; the suite written from it runs
green against the app, and the app saw only GET and HEAD requests.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from sleuth.rows import load_table
from sleuth.suite.config import load_suite_config
from tests.init.conftest import Served, sleuth_init, sleuth_run
from tests.init.shopapi import API_KEY, TOKEN

AUTH = {"OAUTH2_PASSWORD_BEARER": TOKEN, "API_KEY_HEADER": API_KEY}


def test_the_suite_from_the_app_s_openapi_runs_green_with_gets_only(
    shop_api: Served, tmp_path: Path
):
    result = sleuth_init(tmp_path, "--openapi", f"{shop_api.url}/openapi.json")
    assert result.exit_code == 0, result.output
    assert "wrote sleuth.yaml" in result.output
    assert "wrote probes/api.yaml" in result.output
    fetched = shop_api.methods()

    run = sleuth_run(tmp_path, "-v", "-rs", env=AUTH)
    out = run.stdout
    assert run.returncode == 0, out + run.stderr
    assert "6 passed, 1 skipped" in out
    assert "probes/api.yaml::GET /items/42 PASSED" in out
    assert "probes/api.yaml::GET /colours/red PASSED" in out
    assert "probes/api.yaml::GET /me PASSED" in out
    assert "path parameter name has no example, enum or default" in out
    methods = shop_api.methods()
    assert set(methods) == {"GET"}, methods
    assert methods["GET"] == fetched["GET"] + 6  # the spec, then one per row
    assert TOKEN not in out + run.stderr
    assert API_KEY not in out + run.stderr


def test_without_the_token_the_auth_rows_fail_as_auth(shop_api: Served, tmp_path):
    sleuth_init(tmp_path, "--openapi", f"{shop_api.url}/openapi.json")
    wrong = {"OAUTH2_PASSWORD_BEARER": "wrong-token", "API_KEY_HEADER": "wrong-key"}
    run = sleuth_run(tmp_path, env=wrong)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "4 passed, 1 skipped, 2 errors" in run.stdout  # auth: refused logins
    assert "[auth] GET " in run.stdout
    assert "/me: status 401 Unauthorized, expected 200" in run.stdout
    assert "/stock: status 403 Forbidden, expected 203" in run.stdout


def test_the_table_says_how_it_was_made_and_why_rows_are_not_run(
    shop_api: Served, tmp_path
):
    url = f"{shop_api.url}/openapi.json"
    sleuth_init(tmp_path, "--openapi", url, "--target", "shop")
    table = (tmp_path / "probes" / "api.yaml").read_text()
    lines = table.splitlines()
    assert lines[0].startswith("# Probes of the API's safe operations, written by ")
    assert lines[1] == f"# from {url} (Shop 1.2.0, OpenAPI 3.1.0):"
    assert lines[2] == f"#   sleuth init --openapi {url} --target shop"
    assert "  - GET /health:      200  # Is the shop up" in lines
    assert "  - GET /items/42:    200  # Read Item" in lines
    assert "  - GET /colours/red: 200  # Colour" in lines
    assert (
        "  # POST /items (Create Item): not probed, a write (sleuth probes are read-only)"
        in lines
    )
    assert (
        "  # DELETE /items/{item_id} (Delete Item): not probed, a write (sleuth probes "
        "are read-only)" in lines
    )
    assert "    headers: {X-API-Key: '${setting:API_KEY_HEADER}'}" in lines
    assert "    expect: 203" in lines
    assert (
        "    headers: {Authorization: 'Bearer ${setting:OAUTH2_PASSWORD_BEARER}'}"
        in lines
    )
    assert "    params: {q: gadget}" in lines
    # It reads back with sleuth's own readers, row for row.
    rows = load_table(tmp_path / "probes" / "api.yaml", display="probes/api.yaml")
    assert [row.id for row in rows] == [
        "GET /health",
        "GET /items/42",
        "GET /colours/red",
        "GET /files/{name}",
        "GET /search",
        "GET /me",
        "GET /stock",
    ]
    assert [row.skip is not None for row in rows].count(True) == 1
    suite = load_suite_config(tmp_path / "sleuth.yaml", environ={})
    assert suite.default_target == "shop"
    assert suite.targets["shop"].base_url == shop_api.url
    config = yaml.safe_load((tmp_path / "sleuth.yaml").read_text())
    assert config["targets"]["shop"]["sources"] == ["env"]
    header = (tmp_path / "sleuth.yaml").read_text().replace("\n# ", " ")
    assert "read these settings (from sources: below): API_KEY_HEADER," in header
    assert "OAUTH2_PASSWORD_BEARER." in header
