"""A failure's text is scrubbed without changing the objects pytest made.

The scrubber rebuilds a report's ``longrepr`` through pytest's public report
serialization hooks (see ``ScrubbingPlugin._scrub_longrepr``): the text comes
out masked, and everything a reporter reads of it is still there.
"""

from __future__ import annotations

import re

import pytest

from sleuth.redact import CUT_PIECE_MIN

SUITE = "targets:\n  local:\n    base_url: http://127.0.0.1:9\n"
TOKEN = "canary-report-4b81d2"  # noqa: S105 (planted, must never be output)

FAILING = f"""
import pytest, sleuth

TOKEN = sleuth.secret("{TOKEN}")

def helper(value):
    raise ValueError(f"refused {{value}}")

def test_fails():
    key = TOKEN
    try:
        helper(key)
    except ValueError as error:
        raise KeyError(f"lookup of {{key}}") from error

def test_passes():
    pass
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".yaml", sleuth=SUITE)
    return pytester


def test_a_failures_text_is_masked_and_keeps_its_shape(suite):
    suite.makepyfile(test_fail=FAILING)
    result = suite.runpytest_subprocess(
        "-p", "no:cacheprovider", "--no-history", "-l", "--color=yes",
        "--junitxml=junit.xml",
    )  # fmt: skip
    result.assert_outcomes(passed=1, errors=1)  # sleuth: an error, not a failure
    shown = result.stdout.str()
    junit = (suite.path / "junit.xml").read_text()
    assert TOKEN not in shown
    assert TOKEN not in junit
    plain = re.sub(r"\x1b\[[0-9;]*m", "", shown)
    # The chain, the locals, and each error line, masked.
    assert "The above exception was the direct cause" in plain
    assert "key        = '***'" in plain
    assert re.search(r"^E +ValueError: refused \*\*\*$", plain, re.MULTILINE)
    assert re.search(r"^E +KeyError: 'lookup of \*\*\*'$", plain, re.MULTILINE)
    # Error lines are still drawn in red: the rebuilt text is pytest's own
    # repr objects, not a string.
    assert re.search(r"\x1b\[1m\x1b\[31mE +KeyError: 'lookup of \*\*\*'", shown)
    # JUnit's message is the crash line (reprcrash), kept by the rebuild.
    assert "message=\"KeyError: 'lookup of ***'\"" in junit


def test_a_collection_errors_text_is_masked(suite):
    suite.makepyfile(
        test_broken=f"""
        import sleuth

        TOKEN = sleuth.secret("{TOKEN}")
        raise RuntimeError(f"cannot collect with {{TOKEN}}")
        """
    )
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", "--no-history")
    result.assert_outcomes(errors=1)
    assert TOKEN not in result.stdout.str()
    result.stdout.fnmatch_lines(["E   RuntimeError: cannot collect with ***"])


def test_a_secret_pytest_cut_short_in_an_assertion_shows_no_piece(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pytest shortens each side of a comparison in the middle
    # ("{'token': 'ca...report-4b81d2'}"): neither end of the secret may show,
    # in the terminal, in JUnit, or in the JSON. On CI (CI or BUILD_NUMBER set)
    # pytest shows comparisons whole, so the run here is made as off CI.
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("BUILD_NUMBER", raising=False)
    suite.makepyfile(
        test_cut=f"""
        import sleuth

        TOKEN = sleuth.secret("{TOKEN}")

        def test_compares():
            answer = {{"token": str(TOKEN)}}
            assert answer == {{"token": "x"}}
        """
    )
    result = suite.runpytest_subprocess(
        "-p", "no:cacheprovider", "--no-history", "--junitxml=junit.xml",
        "--sleuth-json=run.json",
    )  # fmt: skip
    result.assert_outcomes(failed=1)
    shown = result.stdout.str()
    assert "..." in shown  # pytest did cut the comparison short
    outputs = {
        "terminal": shown,
        "junit": (suite.path / "junit.xml").read_text(),
        "json": (suite.path / "run.json").read_text(),
    }
    for where, text in outputs.items():
        for n in range(CUT_PIECE_MIN, len(TOKEN)):
            assert TOKEN[-n:] not in text, (where, n)
            assert TOKEN[:n] not in text or n < 7, (where, n)  # 'canary' is a word
