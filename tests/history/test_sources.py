"""``sleuth history NAME`` per source: real runs, each source's changes dated,
which one wins as the evidence says, and never a value in sight."""

from __future__ import annotations

import json
import textwrap

import pytest
from click.testing import CliRunner

from sleuth.cli.commands import group as main
from sleuth.history.store import HistoryStore
from tests.history.helpers import raw_store

ENV_FIRST = "env-flag-value-1187"
ENV_SECOND = "env-flag-value-2290"
DOTENV_VALUE = "dotenv-flag-value-3345"
APP_VALUE = "app-flag-value-4471"
VALUES = (ENV_FIRST, ENV_SECOND, DOTENV_VALUE, APP_VALUE)

SUITE = """
targets:
  local:
    sources: [env, {dotenv: deploy.env}]
"""

PROBE = """
def test_flag_is_set(target):
    assert target.setting("SHOPH_FLAG") is not None
"""


def cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def run(pytester: pytest.Pytester, store_url: str) -> None:
    pytester.runpytest("--history", store_url).assert_outcomes(passed=1)


def test_each_source_is_dated_on_its_own_and_the_winner_matches_the_evidence(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, store_url: str
) -> None:
    if store_url.startswith("sqlite:///"):
        store_url = f"sqlite:///{pytester.path}/.sleuth/history.db"
    pytester.makefile(".yaml", sleuth=SUITE)
    pytester.makepyfile(test_flag=PROBE)
    dotenv = pytester.path / "deploy.env"
    monkeypatch.setenv("SHOPH_FLAG", ENV_FIRST)
    dotenv.write_text(f"SHOPH_FLAG={DOTENV_VALUE}\n")
    run(pytester, store_url)  # run 1: both hold it, the environment wins
    monkeypatch.setenv("SHOPH_FLAG", ENV_SECOND)
    run(pytester, store_url)  # run 2: the environment's value changes
    dotenv.write_text("OTHER=1\n")
    run(pytester, store_url)  # run 3: the dotenv file loses the name

    data = json.loads(cli("history", "SHOPH_FLAG", "--json", "--history", store_url))
    sources = {s["source"]: s for s in data["sources"]}
    assert list(sources) == ["environment", "dotenv deploy.env"]
    env, file = sources["environment"], sources["dotenv deploy.env"]
    assert env["role"] == "wins"
    assert env["changes"] == [{"run": 2, "change": "changed"}]
    assert file["role"] == "no value"
    assert file["changes"] == [{"run": 3, "change": "disappeared"}]
    assert [p["state"] for p in file["points"]] == ["present", "present", "absent"]
    # The winner per source agrees with the run's own record of who won.
    winners = {p["run"]: p for p in data["points"]}
    for point in env["points"]:
        assert point["fingerprint"] == winners[point["run"]]["fingerprint"]
        assert winners[point["run"]]["source"] == "environment"
    assert file["points"][0]["fingerprint"] != env["points"][0]["fingerprint"]

    # Run 1's evidence said the same: the two differ and the environment wins.
    store = HistoryStore.open(store_url)
    try:
        (lookup,) = store.evidence(1, "test_flag.py::test_flag_is_set")["settings"]
    finally:
        store.close()
    assert lookup["conflict"].startswith("environment and dotenv deploy.env differ")
    assert lookup["conflict"].endswith("the first source, environment, wins")

    text = cli("history", "SHOPH_FLAG", "--history", store_url)
    lines = [line.strip() for line in text.splitlines()]
    assert "SHOPH_FLAG by source (runs 1 to 3):" in lines
    env_line = next(line for line in lines if line.startswith("environment: "))
    assert env_line.startswith(
        f"environment: present (print {env['points'][-1]['fingerprint'][:8]}), wins; "
        "changed "
    )
    assert "(run 2, just now)" in env_line
    file_line = next(line for line in lines if line.startswith("dotenv deploy.env: "))
    assert file_line.startswith("dotenv deploy.env: absent; disappeared ")
    assert "(run 3, just now)" in file_line
    stored = raw_store(pytester, store_url)
    assert b"dotenv deploy.env" in stored
    for value in VALUES:
        assert value not in text
        assert value not in json.dumps(data)
        assert value.encode() not in stored


APP_SUITE = """
targets:
  local:
    sources: [env, {app: shoph_app.config:get_setting}]
"""

APP_PROBE = """
from shoph_app.config import get_setting


def test_flag_is_set():
    assert get_setting("SHOPH_FLAG") is not None
"""


def test_a_probe_calling_the_app_function_keeps_every_source_it_asked(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, store_url: str
) -> None:
    pytester.makefile(".yaml", sleuth=APP_SUITE)
    app = pytester.path / "shoph_app"
    app.mkdir()
    app.joinpath("__init__.py").write_text("")
    app.joinpath("config.py").write_text(
        textwrap.dedent(
            f"""
            def get_setting(name):
                return {{"SHOPH_FLAG": {APP_VALUE!r}}}.get(name)
            """
        )
    )
    pytester.makepyfile(test_flag=APP_PROBE)
    monkeypatch.setenv("SHOPH_FLAG", ENV_FIRST)
    run(pytester, store_url)
    monkeypatch.setenv("SHOPH_FLAG", ENV_SECOND)
    run(pytester, store_url)

    data = json.loads(cli("history", "SHOPH_FLAG", "--json", "--history", store_url))
    roles = {s["source"]: (s["role"], s["changes"]) for s in data["sources"]}
    # The probe called the app itself, so its value won, as the evidence says;
    # the environment, asked beside it, changed under it.
    assert roles == {
        "app shoph_app.config:get_setting": ("wins", []),
        "environment": (
            "differs from app shoph_app.config:get_setting, which wins",
            [{"run": 2, "change": "changed"}],
        ),
    }
    assert {p["source"] for p in data["points"]} == {"app shoph_app.config:get_setting"}
    for value in VALUES:
        assert value not in json.dumps(data)
