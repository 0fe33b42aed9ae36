"""docs/lint.md: its example suite gives the output shown, and its silencing
examples silence."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from sleuth.cli.commands import group
from sleuth.lint import lint_suite
from tests.lint.helpers import write_suite

DOC = (Path(__file__).parents[2] / "docs" / "lint.md").read_text()


def block(language: str, first_line: str) -> str:
    for found in re.findall(rf"```{language}\n(.*?)```", DOC, re.DOTALL):
        if found.startswith(first_line):
            return str(found)
    raise AssertionError(f"no {language} block starting {first_line!r}")


def test_the_example_gives_the_output_shown(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("sleuth.yaml", "test_api.py", "probes.yaml"):
        language = "python" if name.endswith(".py") else "yaml"
        (tmp_path / name).write_text(block(language, f"# {name}\n"))
    result = CliRunner().invoke(group, ["lint"], prog_name="sleuth")
    shown = block("console", "$ sleuth lint\n").removeprefix("$ sleuth lint\n")
    assert result.exit_code == 1
    assert result.stdout == shown


def test_the_silencing_examples_silence(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dotenv = re.search(r"```\n(# sleuth: allow .*?)```", DOC, re.DOTALL)
    assert dotenv is not None
    write_suite(
        tmp_path,
        {
            "test_api.py": block("python", "def test_sign_up(target):  # sleuth"),
            "probes.yaml": block("yaml", "http:\n  - POST /cache/flush"),
            "deploy.env": dotenv.group(1),
        },
    )
    report = lint_suite(tmp_path)
    assert (report.findings, report.silenced) == ((), 4)
