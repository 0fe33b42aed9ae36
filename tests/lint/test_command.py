"""``sleuth lint``: its three formats, its exit codes, and no secret in any output."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from sleuth.cli.commands import group
from tests.lint.helpers import AWS_KEY, GITHUB_TOKEN, PASSWORD, write_suite

FOUND = {
    "test_api.py": f"""\
        KEY = "{AWS_KEY}"


        def test_creates_a_user(target):
            assert target.http.post("/users", json={{}}).status_code == 201
    """,
    "deploy.env": f"DATABASE_URL=postgresql://app:{PASSWORD}@db-1/orders\n",
}


def lint(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(group, ["lint", *args], prog_name="sleuth")
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def suite(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return write_suite(tmp_path, FOUND)


def test_text_names_file_line_and_rule(suite):
    code, out, _ = lint()
    assert code == 1
    assert out.splitlines() == [
        "deploy.env:1: password-in-url: a URL or DSN with a password is written "
        "here: this file travels with the suite. Read the value from the "
        "deployment (a dotenv: source pointing at the deployed file, a secret "
        "store, ${env:NAME}) instead",
        "test_api.py:1: secret: an AWS access key id is written here: read it "
        "from a settings source instead (${setting:NAME} in YAML, "
        "target.setting(NAME) in Python)",
        "test_api.py:5: write-without-mark: POST in test_creates_a_user, which is "
        "not marked @pytest.mark.writes: mark it (it then runs only with "
        "--allow-writes), or list it under writes: in sleuth.yaml",
        "3 findings in 3 files. Silence one on its line with '# sleuth: allow RULE'.",
    ]


def test_json_lists_each_finding(suite):
    code, out, _ = lint("--format", "json")
    assert code == 1
    report = json.loads(out)
    assert report["version"] == 1
    assert report["files"] == 3
    assert [(f["file"], f["line"], f["rule"]) for f in report["findings"]] == [
        ("deploy.env", 1, "password-in-url"),
        ("test_api.py", 1, "secret"),
        ("test_api.py", 5, "write-without-mark"),
    ]


def test_github_format_is_workflow_annotations(suite):
    code, out, _ = lint("--format", "github")
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 3
    assert lines[2].startswith(
        "::error file=test_api.py,line=5,title=sleuth lint%3A write-without-mark::"
        "POST in test_creates_a_user"
    )


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_no_secret_value_in_any_format(suite, fmt):
    _, out, err = lint("--format", fmt)
    for secret in (AWS_KEY, PASSWORD):
        assert secret not in out + err


def test_clean_suite_exits_0(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_suite(tmp_path, {"test_ok.py": "def test_ok(target):\n    assert target\n"})
    assert lint() == (0, "2 files checked: nothing found.\n", "")


def test_a_path_argument_lints_that_folder(suite, tmp_path):
    write_suite(tmp_path / "other", {})
    assert lint(str(tmp_path / "other"))[0] == 0


BROKEN = "targets:\n  prod: {base_url: [\n"


def test_unreadable_config_exits_4_with_the_line_sleuth_run_gives(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    write_suite(
        tmp_path, {"sleuth.yaml": BROKEN, "test_x.py": "def test_x():\n    assert 1\n"}
    )
    code, out, err = lint()
    assert (code, out) == (4, "")
    run = subprocess.run(
        [sys.executable, "-m", "sleuth", "run", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},  # this sleuth
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 4
    assert err.startswith("ERROR: sleuth.yaml line 3")
    assert err.strip() in run.stderr.splitlines()


def test_a_table_that_does_not_parse_exits_4(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_suite(tmp_path, {"probes.yaml": "http:\n\t- GET /: 200\n"})
    code, _, err = lint()
    assert code == 4
    assert err == (
        "ERROR: probes.yaml line 2, column 1: tabs are not allowed for "
        "indentation: indent with spaces\n"
    )


def test_a_probe_module_that_does_not_parse_exits_4(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_suite(tmp_path, {"test_x.py": "def test_x(:\n"})
    code, _, err = lint()
    assert code == 4
    assert err.startswith("ERROR: test_x.py line 1: invalid Python: ")


def test_help_lists_the_rules():
    _, out, _ = lint("--help")
    assert "# sleuth: allow RULE" in out
    assert "write-without-mark" in out


def test_lint_is_imported_by_the_lint_command_alone():
    code = (
        "import sys, sleuth, sleuth.plugin, sleuth.cli.commands, sleuth.cli\n"
        "print(sorted(m for m in sys.modules if m.startswith('sleuth.lint')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[]"


def test_a_path_that_is_not_there_exits_4(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert lint("nowhere") == (4, "", "ERROR: no such file or folder: nowhere\n")


def test_a_secret_in_the_config_says_to_use_a_setting(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = (
        "targets:\n  prod:\n    base_url: https://api.example.com\n"
        f'    headers: {{Authorization: "Bearer {GITHUB_TOKEN}"}}\n'
    )
    write_suite(tmp_path, {"sleuth.yaml": config})
    code, out, _ = lint()
    assert code == 1
    assert out.splitlines()[0] == (
        "sleuth.yaml:4: secret: a GitHub token is written here: read it from a "
        "settings source instead (${setting:NAME} in YAML, target.setting(NAME) "
        "in Python)"
    )
    assert GITHUB_TOKEN not in out


def test_budget_option_stands_for_the_config_budget(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    probe = (
        "import pytest\n\n\n@pytest.mark.probe(timeout=20)\n"
        "def test_x(target):\n    assert target\n"
    )
    write_suite(tmp_path, {"test_x.py": probe})
    assert lint()[0] == 0
    code, out, _ = lint("--budget", "15s")
    assert code == 1
    assert out.splitlines()[0] == (
        "test_x.py:4: timeout-over-budget: timeout 20 s is longer than the run's "
        "budget of 15 s (--budget): the run ends before it could expire. Lower "
        "it, or raise the budget"
    )


def test_a_bad_budget_exits_4(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_suite(tmp_path, {})
    code, _, err = lint("--budget", "soon")
    assert code == 4
    assert err.startswith("ERROR: --budget: ")
