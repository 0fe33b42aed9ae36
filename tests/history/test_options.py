from __future__ import annotations

from pathlib import Path

import pytest

from sleuth.errors import ConfigError
from sleuth.history.options import (
    DEFAULT_KEEP_RUNS,
    mask_url,
    parse_keep,
    resolve_history,
    store_url,
)
from sleuth.suite.config import load_suite_config


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # config files are named relative to the cwd


def suite_at(tmp_path: Path, text: str = "targets:\n  local: {}\n"):
    (tmp_path / "sleuth.yaml").write_text(text)
    return load_suite_config(tmp_path / "sleuth.yaml")


def resolve(tmp_path: Path, text: str = "targets:\n  local: {}\n", **cli):
    return resolve_history(
        suite_at(tmp_path, text), cli=cli, environ=cli.pop("environ", {}), cwd=tmp_path
    )


@pytest.mark.parametrize(
    ("value", "runs", "age_s"),
    [
        pytest.param("200", 200, None, id="runs"),
        pytest.param(30, 30, None, id="int"),
        pytest.param("30d", None, 30 * 86400, id="days"),
        pytest.param("12h", None, 12 * 3600, id="hours"),
        pytest.param("2w", None, 14 * 86400, id="weeks"),
        pytest.param(" 90 min ", None, 90 * 60, id="minutes"),
    ],
)
def test_keep_is_a_run_count_or_an_age(value, runs, age_s):
    keep = parse_keep(value, where="--history-keep")
    assert (keep.runs, keep.max_age_s) == (runs, age_s)


@pytest.mark.parametrize("value", ["0", "-3", "30x", "", "d", True, "1.5"])
def test_bad_keep_says_where_and_both_forms(value):
    with pytest.raises(ConfigError) as info:
        parse_keep(value, where="--history-keep")
    assert str(info.value) == (
        f"--history-keep: invalid history retention {value!r}: expected a number "
        f"of runs, e.g. 200, or an age, e.g. 30d, 12h or 2w"
    )


def test_default_store_is_beside_the_suite_config(tmp_path):
    options = resolve(tmp_path)
    assert options.url == f"sqlite:///{tmp_path}/.sleuth/history.db"
    assert options.origin == "default"
    assert options.keep.runs == DEFAULT_KEEP_RUNS
    assert options.agent  # the host name


def test_command_line_beats_environment_beats_config(tmp_path):
    config = "targets:\n  local: {}\nhistory:\n  url: cfg.db\n  keep: 5\n  agent: cfg\n"
    env = {"SLEUTH_HISTORY": "env.db", "SLEUTH_HISTORY_KEEP": "7", "SLEUTH_AGENT": "e"}
    options = resolve(tmp_path, config, environ=dict(env))
    assert options.url == f"sqlite:///{tmp_path}/env.db"
    assert options.origin == "SLEUTH_HISTORY environment variable"
    assert (options.keep.runs, options.agent) == (7, "e")
    options = resolve(
        tmp_path, config, history="cli.db", keep="9", agent="c", environ=dict(env)
    )
    assert options.url == f"sqlite:///{tmp_path}/cli.db"
    assert (options.keep.runs, options.agent, options.agent_origin) == (
        9,
        "c",
        "--agent",
    )
    options = resolve(tmp_path, config)
    assert options.url == f"sqlite:///{tmp_path}/cfg.db"
    assert options.origin == "sleuth.yaml line 3"
    assert (options.keep.runs, options.agent) == (5, "cfg")


@pytest.mark.parametrize("text", ["history: false\n", "history: {url: off}\n"])
def test_config_can_turn_the_history_off(tmp_path, text):
    options = resolve(tmp_path, "targets:\n  local: {}\n" + text)
    assert not options.enabled
    assert resolve(tmp_path, "targets:\n  local: {}\n" + text, history="x.db").enabled


@pytest.mark.parametrize("word", ["off", "false", "no"])
def test_history_off_in_the_environment_or_on_the_command_line(tmp_path, word):
    options = resolve(tmp_path, environ={"SLEUTH_HISTORY": word})
    assert not options.enabled
    assert options.origin == "SLEUTH_HISTORY environment variable"
    assert not resolve(tmp_path, history=word).enabled


def test_no_history_wins_over_everything(tmp_path):
    options = resolve(tmp_path, history="x.db", no_history=True)
    assert not options.enabled
    assert options.display_url == "(off)"


def test_unknown_history_key_names_the_line_and_the_valid_keys(tmp_path):
    with pytest.raises(ConfigError) as info:
        resolve(tmp_path, "targets:\n  local: {}\nhistory:\n  kep: 30d\n")
    assert str(info.value) == (
        "sleuth.yaml line 4: unknown key 'kep' in history. Valid keys: agent, keep, "
        "url. Did you mean 'keep'?"
    )


def test_history_of_the_wrong_kind_is_explained(tmp_path):
    with pytest.raises(ConfigError) as info:
        resolve(tmp_path, "targets:\n  local: {}\nhistory: [1]\n")
    assert "history must be a URL, false, or a mapping with url:, keep:, agent:" in str(
        info.value
    )


def test_bad_keep_in_config_names_the_line(tmp_path):
    with pytest.raises(ConfigError, match=r"^sleuth.yaml line 4: invalid history"):
        resolve(tmp_path, "targets:\n  local: {}\nhistory:\n  keep: forever\n")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("postgresql://u@h/db", "postgresql+psycopg://u@h/db", id="pg"),
        pytest.param("postgres://u@h/db", "postgresql+psycopg://u@h/db", id="short"),
        pytest.param("h.db", "sqlite:////base/h.db", id="relative-file"),
        pytest.param("/abs/h.db", "sqlite:////abs/h.db", id="absolute-file"),
        pytest.param("sqlite:///rel/h.db", "sqlite:////base/rel/h.db", id="sqlite-rel"),
        pytest.param("sqlite:////abs/h.db", "sqlite:////abs/h.db", id="sqlite-abs"),
        pytest.param(
            "sqlite:///h.db?mode=ro", "sqlite:////base/h.db?mode=ro", id="sqlite-query"
        ),
    ],
)
def test_store_urls(raw, expected):
    assert store_url(raw, base=Path("/base"), where="--history") == expected


def test_unknown_store_kind_lists_the_kinds_and_hides_the_password():
    with pytest.raises(ConfigError) as info:
        store_url("mysql://app:s3cret@db/x", base=Path("/"), where="--history")
    message = str(info.value)
    assert "s3cret" not in message
    assert message == (
        "--history: history store 'mysql://app:***@db/x': unknown kind 'mysql'. "
        "Expected a PostgreSQL URL (postgresql://user@host/db), a SQLite URL "
        "(sqlite:///path/history.db) or a file path"
    )


def test_in_memory_sqlite_is_refused():
    with pytest.raises(ConfigError, match="is in memory: it would be lost"):
        store_url("sqlite://", base=Path("/"), where="--history")


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://app:s3cret@db:5432/x", "postgresql://app:***@db:5432/x"),
        ("postgresql://app@db/x", "postgresql://app@db/x"),
        (
            "postgresql://db/x?user=a&password=s3cret",
            "postgresql://db/x?user=a&password=***",
        ),
        ("postgresql://app:s3cret@db:notaport/x", "postgresql://app:***@db:notaport/x"),
    ],
)
def test_store_passwords_are_masked(url, masked):
    assert mask_url(url) == masked
