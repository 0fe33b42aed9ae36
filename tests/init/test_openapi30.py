"""sleuth init from an OpenAPI 3.0 file written by hand: $refs to components
and to another file resolved, server variables filled, security inherited."""

from __future__ import annotations

import shutil
from pathlib import Path

from sleuth.rows import load_table
from tests.init.conftest import Served, sleuth_init, sleuth_run
from tests.init.shopapi import API_KEY

SPECS = Path(__file__).parent / "specs"


def test_a_3_0_file_with_refs_becomes_a_suite_that_runs_green(
    shop_api: Served, tmp_path: Path
):
    for name in ("shop-3.0.yaml", "shared-3.0.yaml"):
        shutil.copy(SPECS / name, tmp_path / name)
    result = sleuth_init(
        tmp_path, "--openapi", "shop-3.0.yaml", "--base-url", shop_api.url
    )
    assert result.exit_code == 0, result.output
    # The spec's YAML files are in the suite: kept from being read as tables.
    conftest = (tmp_path / "conftest.py").read_text()
    assert "collect_ignore = ['shop-3.0.yaml', 'shared-3.0.yaml']" in conftest
    text = (tmp_path / "probes" / "api.yaml").read_text()
    assert "# from shop-3.0.yaml (Shop by hand 3.0, OpenAPI 3.0.3):" in text
    assert "  - GET /items/7:      200  # One item" in text  # the schema's example
    assert "  - GET /colours/blue: 200" in text  # the enum, from the other file
    assert "    params: {q: gadget}\n    expect: 2xx" in text  # the default
    assert "    headers: {X-API-Key: '${setting:API_KEY}'}\n    expect: 203" in text
    assert "  # DELETE /items/{item_id}: not probed, a write" in text
    rows = load_table(tmp_path / "probes" / "api.yaml", display="probes/api.yaml")
    assert [(r.id, r.skip) for r in rows] == [
        ("GET /health", None),
        ("GET /items/7", None),
        ("GET /colours/blue", None),
        ("GET /search", None),
        ("GET /stock", None),
        (
            "HEAD /files/{name}",
            "path parameter name has no example, enum or default in the spec; "
            "fill it in and remove skip",
        ),
    ]

    run = sleuth_run(tmp_path, env={"API_KEY": API_KEY})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "5 passed, 1 skipped" in run.stdout
    assert set(shop_api.methods()) == {"GET"}


def test_the_server_variables_make_the_base_url(tmp_path: Path):
    for name in ("shop-3.0.yaml", "shared-3.0.yaml"):
        shutil.copy(SPECS / name, tmp_path / name)
    result = sleuth_init(tmp_path, "--openapi", "shop-3.0.yaml")
    assert result.exit_code == 0, result.output
    assert (
        "    base_url: https://shop.invalid\n" in (tmp_path / "sleuth.yaml").read_text()
    )


def test_a_spec_and_an_env_example_make_one_suite(shop_api: Served, tmp_path: Path):
    for name in ("shop-3.0.yaml", "shared-3.0.yaml"):
        shutil.copy(SPECS / name, tmp_path / name)
    (tmp_path / ".env.example").write_text("API_KEY=changeme\nWORKERS=4\n")
    result = sleuth_init(
        tmp_path,
        "--openapi",
        "shop-3.0.yaml",
        "--env-example",
        ".env.example",
        "--base-url",
        shop_api.url,
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:4] == [
        "wrote sleuth.yaml",
        "wrote probes/api.yaml",
        "wrote conftest.py",
        "wrote probes/settings.yaml",
    ]
    config = (tmp_path / "sleuth.yaml").read_text()
    assert (
        "# from shop-3.0.yaml (Shop by hand 3.0, OpenAPI 3.0.3) and .env.example:"
        in config
    )
    (tmp_path / ".env").write_text(f"API_KEY={API_KEY}\nWORKERS=8\n")
    run = sleuth_run(tmp_path)  # the API key from .env, for the table's header too
    assert run.returncode == 0, run.stdout + run.stderr
    assert "7 passed, 1 skipped" in run.stdout
    assert API_KEY not in run.stdout + run.stderr
