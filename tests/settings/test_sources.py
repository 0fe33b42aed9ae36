"""Each settings source answers present, empty, absent or error, and lists names."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from sleuth.errors import ConfigError
from sleuth.settings import SettingsResolver, build_source
from sleuth.suite.sources import SourceSpec


def source(kind: str, location: str = "", root: Path | None = None, **options):
    spec = SourceSpec(
        kind=kind, location=location, options=options, where="sleuth.yaml line 3"
    )
    return build_source(spec, root=root or Path("."))


def test_env_source_reads_the_environment_with_a_prefix(monkeypatch):
    monkeypatch.setenv("APP_TOKEN", "t-1")
    monkeypatch.setenv("APP_EMPTY", " ")
    env = source("env", prefix="APP_")
    assert env.label == "environment (prefix APP_)"
    assert env.lookup("TOKEN").state == "present"
    assert env.lookup("TOKEN").value == "t-1"
    assert env.lookup("EMPTY").state == "empty"
    assert env.lookup("MISSING").state == "absent"
    assert "TOKEN" in env.names()


def test_dotenv_source(tmp_path):
    (tmp_path / ".env").write_text('A=1\nexport B="two words"\nC=\nD\n# E=5\n')
    dotenv = source("dotenv", ".env", root=tmp_path)
    assert dotenv.lookup("A").value == "1"
    assert dotenv.lookup("B").value == "two words"
    assert dotenv.lookup("C").state == "empty"
    assert dotenv.lookup("D").state == "empty"
    assert dotenv.lookup("E").state == "absent"
    assert sorted(dotenv.names()) == ["A", "B", "C", "D"]


def test_dotenv_source_without_its_file_says_where_it_looked(tmp_path):
    found = source("dotenv", "prod.env", root=tmp_path).lookup("A")
    assert found.state == "absent"
    assert found.detail == f"no file at {tmp_path / 'prod.env'}"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        pytest.param(
            "settings.yaml", "database:\n  url: pg://x\nflag: true\n", id="yaml"
        ),
        pytest.param(
            "settings.toml", 'flag = true\n\n[database]\nurl = "pg://x"\n', id="toml"
        ),
        pytest.param(
            "settings.json",
            json.dumps({"database": {"url": "pg://x"}, "flag": True}),
            id="json",
        ),
        pytest.param(
            "settings.ini",
            "[DEFAULT]\nflag = true\n\n[database]\nurl = pg://x\n",
            id="ini",
        ),
    ],
)
def test_config_file_sources_read_dotted_keys(tmp_path, name, text):
    (tmp_path / name).write_text(text)
    file = source("file", name, root=tmp_path)
    assert file.lookup("database.url").value == "pg://x"
    assert file.lookup("flag").state == "present"
    assert file.lookup("database.password").state == "absent"
    assert "database.url" in file.names()


def test_config_file_of_unknown_format_is_a_config_error(tmp_path):
    with pytest.raises(
        ConfigError,
        match=r"sleuth.yaml line 3: cannot tell the format of 'settings.xml'",
    ):
        source("file", "settings.xml", root=tmp_path)


def test_directory_source_reads_one_file_per_setting(tmp_path):
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "DB_PASSWORD").write_text("hunter2\n")
    (secrets / "EMPTY").write_text("")
    (secrets / "..data").mkdir()  # what a Kubernetes mount looks like
    directory = source("dir", "secrets", root=tmp_path)
    assert directory.is_secret
    assert directory.lookup("DB_PASSWORD").value == "hunter2"
    assert directory.lookup("EMPTY").state == "empty"
    assert directory.lookup("../etc/passwd").state == "absent"
    assert sorted(directory.names()) == ["DB_PASSWORD", "EMPTY"]


def test_app_source_calls_the_apps_own_function(tmp_path):
    package = tmp_path / "shop_app_for_test"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "config.py").write_text(
        textwrap.dedent(
            """
            SETTINGS = {"A": "1", "E": ""}

            def get_setting(name):
                if name == "BOOM":
                    raise RuntimeError("vault is down")
                if name == "K":
                    raise KeyError(name)
                return SETTINGS.get(name)
            """
        )
    )
    app = source("app", "shop_app_for_test.config:get_setting", root=tmp_path)
    assert app.lookup("A").value == "1"
    assert app.lookup("E").state == "empty"
    assert (app.lookup("Z").state, app.lookup("Z").detail) == (
        "absent",
        "returned None",
    )
    assert (app.lookup("K").state, app.lookup("K").detail) == (
        "absent",
        "raised KeyError",
    )
    resolver = SettingsResolver([app])
    value, lookup = resolver.lookup("BOOM")
    assert value is None
    assert lookup.answers[0].state == "error"
    assert lookup.answers[0].detail == "RuntimeError: vault is down"


def test_app_source_that_cannot_be_imported_is_a_broken_source(tmp_path):
    resolver = SettingsResolver([source("app", "no_such_module_x:get", root=tmp_path)])
    value, lookup = resolver.lookup("A")
    assert value is None
    [answer] = lookup.answers
    assert (answer.state, answer.broken) == (
        "error",
        "cannot be imported (ModuleNotFoundError: No module named 'no_such_module_x')",
    )
    # Said whole once, as a root cause; each lookup names it in a few words.
    assert lookup.describe() == (
        "A: missing. Looked in app no_such_module_x:get: cannot be imported "
        "(see likely root causes)."
    )


def test_a_source_that_cannot_be_read_says_so_once_for_every_name(tmp_path):
    (tmp_path / "bad.yaml").write_text("a: [1, 2\nb: 3\n")
    (tmp_path / "mod_not_callable.py").write_text("get = 1\n")
    sources = [
        source("dotenv", "missing.env", root=tmp_path),
        source("file", "bad.yaml", root=tmp_path),
        source("app", "mod_not_callable:get", root=tmp_path),
        source("app", "mod_not_callable:nope", root=tmp_path),
    ]
    broken = [a.broken for a in SettingsResolver(sources).lookup("A")[1].answers]
    assert broken[0] == f"no file at {tmp_path / 'missing.env'}"
    assert broken[1] == (
        "does not parse as YAML (line 2, column 2: expected ',' or ']', but got ':')"
    )
    assert broken[2] == "is not callable: get is a value"
    assert broken[3] == "has no 'nope': mod_not_callable imports, but nope is not in it"
    # Each broken source is broken for every name alike, not per name.
    assert [a.broken for a in SettingsResolver(sources).lookup("B")[1].answers] == (
        broken
    )


def test_resolver_tries_sources_in_order_and_keeps_every_answer(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("FEATURE_FLAGX=on\nCACHE_HOST=cache\n")
    monkeypatch.setenv("CACHE_HOST", "from-env")
    resolver = SettingsResolver(
        [source("env"), source("dotenv", ".env", root=tmp_path)]
    )
    value, lookup = resolver.lookup("CACHE_HOST")
    assert value == "from-env"
    assert lookup.found_in == "environment"
    assert [a.state for a in lookup.answers] == ["present", "present"]
    value, lookup = resolver.lookup("FEATURE_FLAG_X")
    assert value is None
    assert lookup.describe() == (
        "FEATURE_FLAG_X: missing. Looked in environment: absent; dotenv .env: absent. "
        "Close names that exist: FEATURE_FLAGX (dotenv .env)."
    )


def test_fingerprints_are_keyed_and_change_with_the_value(monkeypatch):
    resolver = SettingsResolver([source("env")])
    monkeypatch.setenv("SLEUTH_FP_TEST", "v1")
    resolver.lookup("SLEUTH_FP_TEST")
    first = resolver.fingerprint(b"key-1", "SLEUTH_FP_TEST")
    assert first is not None
    assert len(first) == 64
    assert resolver.fingerprint(b"key-2", "SLEUTH_FP_TEST") != first
    monkeypatch.setenv("SLEUTH_FP_TEST", "v2")
    resolver.lookup("SLEUTH_FP_TEST")
    assert resolver.fingerprint(b"key-1", "SLEUTH_FP_TEST") != first
    monkeypatch.delenv("SLEUTH_FP_TEST")
    resolver.lookup("SLEUTH_FP_TEST")
    assert resolver.fingerprint(b"key-1", "SLEUTH_FP_TEST") is None


def test_the_resolver_keeps_each_sources_answer_with_a_keyed_fingerprint(
    tmp_path, monkeypatch
):
    (tmp_path / ".env").write_text("CACHE_HOST=from-file\nEMPTY_ONE=\n")
    monkeypatch.setenv("CACHE_HOST", "from-env")
    resolver = SettingsResolver(
        [source("env"), source("dotenv", ".env", root=tmp_path)]
    )
    resolver.lookup("CACHE_HOST")
    env, file = resolver.held.fingerprints(b"key-1", "CACHE_HOST")
    assert (env.source, env.state, file.source, file.state) == (
        "environment",
        "present",
        "dotenv .env",
        "present",
    )
    # The winner's is the run's fingerprint of the value it used.
    assert env.fingerprint == resolver.fingerprint(b"key-1", "CACHE_HOST")
    assert file.fingerprint not in (None, env.fingerprint)
    assert resolver.held.fingerprints(b"key-2", "CACHE_HOST")[1] != file
    resolver.lookup("EMPTY_ONE")
    assert [
        (h.state, h.fingerprint is None)
        for h in resolver.held.fingerprints(b"k", "EMPTY_ONE")
    ] == [("absent", True), ("empty", False)]
    assert resolver.held.fingerprints(b"k", "NEVER_LOOKED_UP") == ()
