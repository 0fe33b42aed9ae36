"""Run options: marker > CLI > environment > config file > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from sleuth.errors import ConfigError
from sleuth.suite.config import load_suite_config
from sleuth.suite.options import DEFAULT_TIMEOUT_S, DEFAULT_WORKERS, resolve


@pytest.fixture
def suite_config(tmp_path: Path):
    def make(text: str):
        (tmp_path / "sleuth.yaml").write_text(text)
        return load_suite_config(
            tmp_path / "sleuth.yaml", environ={"HOST": "h.example"}
        )

    return make


def test_defaults(suite_config):
    options = resolve(suite_config("targets:\n  a: {}\n"), cli={}, environ={})
    assert (options.timeout_s, options.timeout_origin) == (DEFAULT_TIMEOUT_S, "default")
    assert (options.workers, options.budget_s) == (DEFAULT_WORKERS, None)
    assert not options.allow_writes


def test_cli_beats_env_beats_target_beats_suite(suite_config):
    config = suite_config("timeout: 4s\ntargets:\n  a:\n    timeout: 3s\n")
    assert resolve(config, cli={}, environ={}).timeout_origin.startswith(
        "target 'a' in "
    )
    options = resolve(config, cli={}, environ={"SLEUTH_TIMEOUT": "2"})
    assert (options.timeout_s, options.timeout_origin) == (
        2.0,
        "SLEUTH_TIMEOUT environment variable",
    )
    options = resolve(config, cli={"timeout": "1s"}, environ={"SLEUTH_TIMEOUT": "2"})
    assert (options.timeout_s, options.timeout_origin) == (1.0, "--sleuth-timeout")
    config = suite_config("timeout: 4s\ntargets:\n  a: {}\n")
    assert resolve(config, cli={}, environ={}).timeout_origin.endswith("sleuth.yaml")


def test_target_choice(suite_config):
    config = suite_config("default_target: b\ntargets:\n  a: {}\n  b: {}\n")
    assert resolve(config, cli={}, environ={}).target.name == "b"
    assert resolve(config, cli={}, environ={"SLEUTH_TARGET": "a"}).target.name == "a"
    assert (
        resolve(config, cli={"target": "b"}, environ={"SLEUTH_TARGET": "a"}).target.name
        == "b"
    )


def test_targets_inherit_top_level_defaults_and_env_is_interpolated(suite_config):
    config = suite_config(
        "base_url: https://${env:HOST}\nheaders: {X-A: '1'}\ntargets:\n"
        "  a: {}\n  b:\n    base_url: http://other\n    headers: {X-B: '2'}\n"
    )
    assert config.targets["a"].base_url == "https://h.example"
    assert config.targets["b"].base_url == "http://other"
    assert dict(config.targets["b"].headers) == {"X-A": "1", "X-B": "2"}


def test_env_default_value_is_used_when_unset(suite_config):
    config = suite_config("base_url: ${env:NOT_SET_X:-http://fallback}\n")
    assert config.targets["default"].base_url == "http://fallback"


def test_setting_references_are_left_for_later(suite_config):
    config = suite_config("headers: {Authorization: 'Bearer ${setting:API_TOKEN}'}\n")
    assert (
        config.targets["default"].headers["Authorization"]
        == "Bearer ${setting:API_TOKEN}"
    )


def test_budget_and_workers(suite_config):
    config = suite_config("budget: 30s\nworkers: 64\n")
    options = resolve(config, cli={}, environ={})
    assert (options.budget_s, options.workers) == (30.0, 64)
    options = resolve(config, cli={"budget": "5s", "workers": "8"}, environ={})
    assert (options.budget_s, options.budget_origin, options.workers) == (
        5.0,
        "--budget",
        8,
    )


def test_unknown_target_lists_choices(suite_config):
    config = suite_config("targets:\n  prod: {}\n")
    with pytest.raises(
        ConfigError,
        match=r"^--sleuth-target: unknown target 'prdo'. Targets in the config: prod. Did you mean 'prod'\?$",
    ):
        resolve(config, cli={"target": "prdo"}, environ={})
