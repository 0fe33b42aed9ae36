"""A name two sources hold with different values: the evidence says which
sources differ and which wins, with fingerprints, never the values."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.history.helpers import history_file_bytes

SCHEMA = Path(__file__).parents[2] / "docs" / "schema" / "run-1.json"

ENV_VALUE = "env-flag-7731"
DOTENV_VALUE = "dotenv-flag-2264"

SUITE = """
    targets:
      prod:
        sources:
          - env: {prefix: SHOPW_}
          - dotenv: deploy.env
"""

# The probe checks it got the environment's value through a digest, so the
# value itself is not in the source pytest quotes in a failure; then it fails
# on purpose, so the terminal shows the evidence.
PROBE = """
import hashlib

def test_flag(target):
    value = target.setting("FEATURE_FLAG_X")
    assert hashlib.sha256(str(value).encode()).hexdigest() == "{digest}"
    assert False, "show the evidence"
"""

NOTE = re.compile(
    r"environment \(prefix SHOPW_\) and dotenv deploy\.env differ "
    r"\(fingerprints ([0-9a-f]{4,}) vs ([0-9a-f]{4,})\); "
    r"the first source, environment \(prefix SHOPW_\), wins"
)


def _suite(pytester: pytest.Pytester, dotenv_line: str) -> None:
    pytester.makefile(".yaml", sleuth=SUITE)
    pytester.path.joinpath("deploy.env").write_text(dotenv_line)
    digest = hashlib.sha256(ENV_VALUE.encode()).hexdigest()
    pytester.makepyfile(test_flag=PROBE.replace("{digest}", digest))


def _run(pytester: pytest.Pytester, *extra: str) -> tuple[str, dict[str, Any]]:
    result = pytester.runpytest(
        "--sleuth-json", "run.json", "--junitxml", "junit.xml", "--no-history", *extra
    )
    result.assert_outcomes(failed=1)
    # Failed on purpose, not on the digest: the returned value is the env one.
    result.stdout.fnmatch_lines(["*AssertionError: show the evidence*"])
    document = json.loads((pytester.path / "run.json").read_text())
    import jsonschema

    jsonschema.validate(document, json.loads(SCHEMA.read_text()))
    (lookup,) = document["probes"][0]["evidence"]["settings"]
    return result.stdout.str() + result.stderr.str(), lookup


def _outputs(pytester: pytest.Pytester, terminal: str) -> str:
    return "\n".join(
        [
            terminal,
            (pytester.path / "run.json").read_text(),
            (pytester.path / "junit.xml").read_text(),
            (pytester.path / "report.md").read_text(),
        ]
    )


def test_env_and_dotenv_differ_the_evidence_says_so_without_the_values(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPW_FEATURE_FLAG_X", ENV_VALUE)
    _suite(pytester, f"FEATURE_FLAG_X={DOTENV_VALUE}\n")
    terminal, lookup = _run(pytester, "--sleuth-report", "report.md")

    match = NOTE.search(terminal)
    assert match, terminal
    env_print, dotenv_print = match.groups()
    assert env_print != dotenv_print
    assert lookup["found_in"] == "environment (prefix SHOPW_)"
    assert NOTE.fullmatch(lookup["conflict"]), lookup
    assert lookup["conflict"] == match.group(0)
    everything = _outputs(pytester, terminal)
    # Markdown escapes the underscore in the label; the note is there whole.
    assert (
        f"dotenv deploy.env differ (fingerprints {env_print} vs {dotenv_print}); "
        "the first source, environment (prefix SHOPW\\_), wins"
    ) in (pytester.path / "report.md").read_text()
    for value in (ENV_VALUE, DOTENV_VALUE):
        assert value not in everything


def test_the_note_is_kept_in_the_history_without_the_values(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPW_FEATURE_FLAG_X", ENV_VALUE)
    _suite(pytester, f"FEATURE_FLAG_X={DOTENV_VALUE}\n")
    store = f"sqlite:///{pytester.path}/.sleuth/history.db"
    result = pytester.runpytest("--history", store)
    result.assert_outcomes(failed=1)
    stored = history_file_bytes(pytester.path / ".sleuth")
    assert NOTE.search(stored.decode("utf-8", "replace")), stored[-2000:]
    for value in (ENV_VALUE, DOTENV_VALUE):
        assert value.encode() not in stored


@pytest.mark.parametrize(
    "dotenv_line",
    [f"FEATURE_FLAG_X={ENV_VALUE}\n", "OTHER=1\n"],
    ids=["same-value", "absent-in-dotenv"],
)
def test_no_note_when_values_agree_or_only_one_source_has_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dotenv_line: str
) -> None:
    monkeypatch.setenv("SHOPW_FEATURE_FLAG_X", ENV_VALUE)
    _suite(pytester, dotenv_line)
    terminal, lookup = _run(pytester)
    assert "setting FEATURE_FLAG_X: found in environment (prefix SHOPW_)" in terminal
    assert "differ" not in terminal
    assert lookup["conflict"] == ""


APP_SUITE = """
    targets:
      prod:
        sources:
          - env: {prefix: SHOPW_}
          - app: shopw_app.config:get_setting
"""

APP_PROBE = """
import hashlib

from shopw_app.config import get_setting


def test_flag():
    value = get_setting("FEATURE_FLAG_X")
    assert hashlib.sha256(value.encode()).hexdigest() == "{digest}"
    assert False, "show the evidence"
"""

APP_VALUE = "app-flag-5309"


def test_a_probe_calling_the_app_function_is_told_the_environment_differs(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPW_FEATURE_FLAG_X", ENV_VALUE)
    pytester.makefile(".yaml", sleuth=APP_SUITE)
    app = pytester.path / "shopw_app"
    app.mkdir()
    app.joinpath("__init__.py").write_text("")
    app.joinpath("config.py").write_text(
        f"def get_setting(name):\n    return {{'FEATURE_FLAG_X': {APP_VALUE!r}}}"
        ".get(name)\n"
    )
    digest = hashlib.sha256(APP_VALUE.encode()).hexdigest()
    pytester.makepyfile(test_flag=APP_PROBE.replace("{digest}", digest))
    terminal, lookup = _run(pytester)
    # The probe got the app's value, though the environment is listed first.
    assert lookup["found_in"] == "app shopw_app.config:get_setting"
    assert re.fullmatch(
        r"app shopw_app\.config:get_setting and environment \(prefix SHOPW_\) "
        r"differ \(fingerprints [0-9a-f]{4,} vs [0-9a-f]{4,}\); the probe called "
        r"app shopw_app\.config:get_setting itself, so its value wins",
        lookup["conflict"],
    ), lookup
    assert lookup["conflict"] in terminal
    for value in (ENV_VALUE, APP_VALUE):
        assert value not in terminal
        assert value not in (pytester.path / "run.json").read_text()
        assert value not in (pytester.path / "junit.xml").read_text()
