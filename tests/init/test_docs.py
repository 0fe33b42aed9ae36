"""docs/init.md: its examples are what sleuth init writes, and they run."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.init.conftest import Served, sleuth_init, sleuth_run

DOC = Path(__file__).parents[2] / "docs" / "init.md"
_DATE = re.compile(r"written by sleuth init on \d{4}-\d\d-\d\d \d\d:\d\d UTC")


def block(lang: str, first_line: str) -> str:
    for text in re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(), re.DOTALL):
        if text.startswith(first_line):
            return str(text)
    raise AssertionError(f"no {lang} block starting {first_line!r} in {DOC}")


def undated(text: str) -> str:
    return _DATE.sub("written by sleuth init on DATE", text)


def test_the_openapi_example_is_what_sleuth_init_writes_and_it_runs(
    shop_api: Served, tmp_path: Path
):
    (tmp_path / "openapi.yaml").write_text(block("yaml", "# openapi.yaml\n"))
    result = sleuth_init(tmp_path, "--openapi", "openapi.yaml", "--dir", "probes-suite")
    assert result.exit_code == 0, result.output
    suite = tmp_path / "probes-suite"
    config = (suite / "sleuth.yaml").read_text()
    assert undated(config) == undated(block("yaml", "# The suite's config"))
    table = (suite / "probes" / "api.yaml").read_text()
    assert undated(table) == undated(block("yaml", "# Probes of the API's"))
    # The test app answers the same paths (and ignores the token).
    base = "base_url: https://shop.example.com/api"
    (suite / "sleuth.yaml").write_text(
        config.replace(base, f"base_url: {shop_api.url}")
    )
    run = sleuth_run(suite, "-rs", env={"BEARER_AUTH": "probe-51Hq"})
    assert run.returncode == 0, run.stdout + run.stderr
    shown = block("console", "$ cd probes-suite").splitlines()
    assert shown[1].split()[:2] == ["probes/api.yaml", "..s."]
    assert "probes/api.yaml ..s." in run.stdout
    assert shown[2].split(" ", 3)[3] in run.stdout  # the skip's reason


@pytest.fixture
def model_app(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "shop_app").mkdir()
    (tmp_path / "shop_app" / "__init__.py").write_text("")
    (tmp_path / "shop_app" / "settings.py").write_text(
        block("python", "# shop_app/settings.py\n")
    )
    yield tmp_path
    for name in [n for n in sys.modules if n.partition(".")[0] == "shop_app"]:
        del sys.modules[name]
    if str(tmp_path) in sys.path:
        sys.path.remove(str(tmp_path))


def test_the_settings_example_is_what_sleuth_init_writes(model_app: Path):
    result = sleuth_init(model_app, "--settings", "shop_app.settings:Settings")
    assert result.exit_code == 0, result.output
    written = (model_app / "probes" / "settings.yaml").read_text()
    shown = block("yaml", "# probes/settings.yaml\n").removeprefix(
        "# probes/settings.yaml\n"
    )
    assert written.endswith(shown)
    assert "SHOP_NAME" in written.split("\nsettings:")[0]  # listed as not checked


def test_the_mistakes_shown_are_sleuth_init_s(shop_api: Served, tmp_path: Path):
    text = DOC.read_text()
    (tmp_path / "sleuth.yaml").write_text("")
    exists = sleuth_init(tmp_path, "--openapi", f"{shop_api.url}/openapi.json")
    assert exists.output.replace(str(tmp_path), "/srv/probes") in text
    not_spec = sleuth_init(tmp_path, "--openapi", f"{shop_api.url}/health")
    shown = not_spec.output.replace(shop_api.url, "http://127.0.0.1:8000")
    assert shown in text
