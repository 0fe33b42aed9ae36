"""sleuth init --settings (a pydantic-settings model) and --env-example: the
critical-settings table, run green against the settings the app would read."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from sleuth.rows import load_table
from tests.init.conftest import sleuth_init, sleuth_run

MODEL = """
from enum import Enum
from typing import Literal

from pydantic import BaseModel, Field, HttpUrl, PostgresDsn, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Region(str, Enum):
    eu = "eu-west-1"
    us = "us-east-1"


class Cache(BaseModel):
    host: str
    port: int = 6379


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SHOP_", env_file="deploy.env", env_nested_delimiter="__"
    )

    database_url: PostgresDsn = Field(description="the orders database")
    stripe_key: SecretStr
    webhook_url: HttpUrl
    workers: int = 4
    debug: bool = False
    log_level: Literal["debug", "info"] = "info"
    region: Region
    cache: Cache
    name: str = "shop"
"""

ENV = {
    "SHOP_DATABASE_URL": "postgresql://app:pw-8Hq2@db-1:5432/orders",
    "SHOP_STRIPE_KEY": "sk_live_51Hq",
    "SHOP_WEBHOOK_URL": "https://hooks.shop.internal/in",
    "SHOP_REGION": "eu-west-1",
    "SHOP_CACHE__HOST": "cache-1",
}


@pytest.fixture
def shop_app(tmp_path: Path) -> Iterator[Path]:
    package = tmp_path / "shop_app"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(textwrap.dedent(MODEL))
    yield tmp_path
    # sleuth init imported it in this process, from the suite's folder.
    for name in [n for n in sys.modules if n.partition(".")[0] == "shop_app"]:
        del sys.modules[name]
    if str(tmp_path) in sys.path:
        sys.path.remove(str(tmp_path))


def test_the_settings_table_from_a_model(shop_app: Path):
    result = sleuth_init(shop_app, "--settings", "shop_app.settings:Settings")
    assert result.exit_code == 0, result.output
    text = (shop_app / "probes" / "settings.yaml").read_text()
    table = yaml.safe_load(text)["settings"]
    assert table == {
        "SHOP_DATABASE_URL": {"type": "url"},
        "SHOP_STRIPE_KEY": {"not_placeholder": True},
        "SHOP_WEBHOOK_URL": {"url": ["http", "https"]},
        "SHOP_WORKERS": {"type": "int", "required": False},
        "SHOP_DEBUG": {"type": "bool", "required": False},
        "SHOP_LOG_LEVEL": {"one_of": ["debug", "info"], "required": False},
        "SHOP_REGION": {"one_of": ["eu-west-1", "us-east-1"]},
        "required": ["SHOP_CACHE__HOST"],
        "SHOP_CACHE__PORT": {"type": "int", "required": False},
    }
    lines = text.splitlines()
    assert lines[2] == "#   sleuth init --settings shop_app.settings:Settings"
    assert (
        "  SHOP_DATABASE_URL: {type: url}                               "
        "# the orders database" in lines
    )
    assert (
        "# Not checked (they have defaults and no type to check): SHOP_NAME." in lines
    )
    config = yaml.safe_load((shop_app / "sleuth.yaml").read_text())
    assert config["targets"]["prod"]["sources"] == ["env", {"dotenv": "deploy.env"}]
    assert len(load_table(shop_app / "probes" / "settings.yaml", display="t")) == 9


def test_the_model_s_table_runs_green_with_its_settings_set(shop_app: Path):
    sleuth_init(shop_app, "--settings", "shop_app.settings:Settings")
    run = sleuth_run(shop_app, env=ENV)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "9 passed" in run.stdout
    for secret in ("pw-8Hq2", "sk_live_51Hq"):
        assert secret not in run.stdout + run.stderr


def test_the_model_s_table_fails_on_a_bad_setting(shop_app: Path):
    sleuth_init(shop_app, "--settings", "shop_app.settings:Settings")
    run = sleuth_run(shop_app, env={**ENV, "SHOP_REGION": "mars", "SHOP_WORKERS": "x"})
    assert run.returncode == 1
    assert "2 failed, 7 passed" in run.stdout


def test_the_settings_table_from_an_env_example(tmp_path: Path):
    (tmp_path / ".env.example").write_text(
        "DATABASE_URL=postgresql://user:changeme@localhost/app\n"
        "API_KEY=changeme\nWORKERS=4\nDEBUG=false\nREGION=\n"
    )
    result = sleuth_init(tmp_path, "--env-example", ".env.example")
    assert result.exit_code == 0, result.output
    table = yaml.safe_load((tmp_path / "probes" / "settings.yaml").read_text())
    assert table["settings"] == {
        "required": ["REGION"],
        "DATABASE_URL": {"type": "url"},
        "API_KEY": {"not_placeholder": True},
        "WORKERS": {"type": "int"},
        "DEBUG": {"type": "bool"},
    }
    config = yaml.safe_load((tmp_path / "sleuth.yaml").read_text())
    assert config["targets"]["prod"]["sources"] == ["env", {"dotenv": ".env"}]
    (tmp_path / ".env").write_text(
        "DATABASE_URL=postgresql://app:pw-8Hq2@db-1/orders\nAPI_KEY=key-51Hq7\n"
        "WORKERS=8\nDEBUG=no\nREGION=eu\n"
    )
    run = sleuth_run(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "5 passed" in run.stdout
    (tmp_path / ".env").write_text(
        "DATABASE_URL=postgresql://app:pw-8Hq2@db-1/orders\nAPI_KEY=changeme\n"
        "WORKERS=8\nDEBUG=no\n"
    )
    run = sleuth_run(tmp_path)
    assert run.returncode == 1
    assert "2 failed, 3 passed" in run.stdout  # the placeholder, and REGION missing
