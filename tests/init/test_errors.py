"""What sleuth init says when it cannot write a suite: exit 4, one sentence
saying what, where and what to do, no traceback, and nothing half-written."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sleuth.init.errors import InitError
from sleuth.init.spec import load_spec
from tests.init.conftest import Served, sleuth_init


def test_an_existing_sleuth_yaml_is_not_overwritten(shop_api: Served, tmp_path):
    (tmp_path / "sleuth.yaml").write_text("targets: {mine: {}}\n")
    result = sleuth_init(tmp_path, "--openapi", f"{shop_api.url}/openapi.json")
    assert result.exit_code == 4
    assert result.output == (
        f"sleuth.yaml already exists in {tmp_path}: sleuth init does not overwrite "
        f"a suite. Move it away, or give --force to replace it.\n"
    )
    assert (tmp_path / "sleuth.yaml").read_text() == "targets: {mine: {}}\n"
    assert not (tmp_path / "probes").exists()  # nothing half-written


def test_force_replaces_the_files(shop_api: Served, tmp_path):
    (tmp_path / "sleuth.yaml").write_text("targets: {mine: {}}\n")
    result = sleuth_init(
        tmp_path, "--openapi", f"{shop_api.url}/openapi.json", "--force"
    )
    assert result.exit_code == 0, result.output
    assert "mine" not in (tmp_path / "sleuth.yaml").read_text()


def test_a_url_that_is_not_a_spec(shop_api: Served, tmp_path):
    result = sleuth_init(tmp_path, "--openapi", f"{shop_api.url}/health")
    assert result.exit_code == 4
    assert result.output.startswith(f"{shop_api.url}/health is not an OpenAPI ")
    assert "Give the URL of the OpenAPI document itself" in result.output


def test_a_url_that_answers_404(shop_api: Served, tmp_path):
    result = sleuth_init(tmp_path, "--openapi", f"{shop_api.url}/swagger.json")
    assert result.exit_code == 4
    assert result.output.startswith(
        f"{shop_api.url}/swagger.json answered 404 Not Found, not an OpenAPI document."
    )


def test_a_refused_connection(closed_port: int, tmp_path):
    url = f"http://127.0.0.1:{closed_port}/openapi.json"
    result = sleuth_init(tmp_path, "--openapi", url)
    assert result.exit_code == 4
    assert result.output.startswith(f"{url} could not be fetched: ")
    assert "Connection refused" in result.output
    assert "Traceback" not in result.output


def test_a_server_that_never_answers_times_out(silent_port: int, tmp_path):
    url = f"http://127.0.0.1:{silent_port}/openapi.json"
    started = time.monotonic()
    with pytest.raises(InitError, match=r"did not answer within 0\.5 s") as info:
        load_spec(url, cwd=tmp_path, timeout_s=0.5)
    assert time.monotonic() - started < 3
    assert str(info.value).startswith(url)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        pytest.param("<html>hi</html>: [", "is neither JSON nor YAML", id="garbage"),
        pytest.param('{"openapi": "3.1.0"}', "has no paths", id="no-paths"),
        pytest.param('{"swagger": "1.2"}', "is Swagger 1.2: sleuth reads", id="1.2"),
        pytest.param("name: x\n", "is not an OpenAPI document", id="other-yaml"),
    ],
)
def test_a_file_that_is_not_a_spec(tmp_path: Path, text: str, said: str):
    (tmp_path / "api.json").write_text(text)
    result = sleuth_init(tmp_path, "--openapi", "api.json", "--dir", "suite")
    assert result.exit_code == 4
    assert result.output.startswith("api.json ")
    assert said in result.output
    assert not (tmp_path / "suite").exists()


def test_a_missing_file(tmp_path):
    result = sleuth_init(tmp_path, "--openapi", "openapi.yaml")
    assert result.exit_code == 4
    assert result.output.startswith("there is no file 'openapi.yaml' (looked at ")


def test_a_ref_that_does_not_resolve(tmp_path):
    (tmp_path / "api.yaml").write_text(
        "openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths:\n"
        "  /a:\n    get:\n      parameters: [{$ref: '#/components/parameters/Nope'}]\n"
        "      responses: {'200': {description: ok}}\n"
    )
    result = sleuth_init(tmp_path, "--openapi", "api.yaml", "--base-url", "http://x")
    assert result.exit_code == 4
    assert result.output.startswith(
        "api.yaml: the reference '#/components/parameters/Nope' does not resolve"
    )


def test_a_spec_file_without_a_server_needs_base_url(tmp_path):
    (tmp_path / "api.json").write_text(
        '{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}}'
    )
    result = sleuth_init(tmp_path, "--openapi", "api.json")
    assert result.exit_code == 4
    assert result.output == (
        "api.json names no server the API is at (no servers: or host:); give it "
        "with --base-url https://api.example.com\n"
    )


def test_nothing_to_write_from(tmp_path):
    result = sleuth_init(tmp_path)
    assert result.exit_code == 4
    assert "--openapi URL-or-FILE, --settings module:Class or --env-example" in (
        result.output
    )


@pytest.mark.parametrize(
    ("ref", "said"),
    [
        pytest.param("nope", "name the model as module:Class", id="no-colon"),
        pytest.param("no_such_mod:Settings", "cannot import no_such_mod", id="module"),
        pytest.param("json:Nope", "json has no Nope", id="attr"),
        pytest.param("json:dumps", "is not a pydantic-settings model", id="not-model"),
    ],
)
def test_a_settings_model_that_cannot_be_used(tmp_path, ref: str, said: str):
    result = sleuth_init(tmp_path, "--settings", ref)
    assert result.exit_code == 4
    assert result.output.startswith(f"--settings {ref!r}: ")
    assert said in result.output
