"""Shared pieces of the tests of broken configs and tables: what a user mistake ends as."""

from __future__ import annotations

import re
import sys

import pytest

from sleuth.suite.interpolation import BUG_WORDS

# A secret planted in the environment for a test; it must never be output.
CANARY_NAME = "SLEUTH_TEST_CANARY_TOKEN"
CANARY = "canary-7f3a9c1e-never-in-output"
SECRET_REF = "${env:SLEUTH_TEST_CANARY_TOKEN}"  # noqa: S105 (a reference, planted)

# Errors about a whole file, with no line to name.
_FILE_LEVEL = (
    "targets and no default_target",
    "larger than",
    "is a directory",
    "is not a file",
    "cannot read the file",
)
_NAMED = re.compile(r"^ERROR: (?P<file>\S+?\.yaml)(?P<line> line \d+(, column \d+)?)?")


def check_one_line_error(
    result: pytest.RunResult, file: str, *, or_option: str | None = None
) -> str:
    """The run ended as a user mistake: exit 4, one line naming ``file``.

    With ``or_option``, the line may name that command-line option instead.
    """
    output = "\n".join(result.outlines + result.errlines)
    assert "Traceback" not in output
    assert "INTERNALERROR" not in output
    assert CANARY not in output
    assert BUG_WORDS not in output  # the safety net caught what should not be
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output[-2000:]
    errors = [line for line in result.errlines if line.strip()]
    assert len(errors) == 1, errors
    if or_option is not None and errors[0].startswith(f"ERROR: {or_option}: "):
        return errors[0]
    named = _NAMED.match(errors[0])
    assert named is not None, errors[0]
    assert named["file"] == file, errors[0]
    if named["line"] is None:
        assert any(words in errors[0] for words in _FILE_LEVEL), errors[0]
    return errors[0]


def run_suite(pytester: pytest.Pytester, runner: str) -> pytest.RunResult:
    """Run the suite in pytester's folder: in-process pytest, or `sleuth run`."""
    args = ("-q", "-p", "no:cacheprovider", "--no-history")
    if runner == "pytest":
        return pytester.runpytest(*args)
    return pytester.run(sys.executable, "-m", "sleuth", "run", *args, timeout=120)
