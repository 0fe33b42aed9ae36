"""Files sleuth cannot read end as one line and exit 4, in pytest and `sleuth run`.

sleuth.yaml and probe tables alike: unknown tags, bytes that are not UTF-8, a
file too large, nesting too deep, tabs, half-written references, bad units,
alias bombs, a directory or an unreadable file where a config should be. And
what should simply work does: a byte order mark, an empty file, anchors and
merge keys, with errors that name the line a merged value is written on.
"""

from __future__ import annotations

import shutil
import sys

import pytest

from sleuth.suite.textfile import MAX_FILE_BYTES
from tests.plugin.config_helpers import (
    CANARY,
    CANARY_NAME,
    SECRET_REF,
    check_one_line_error,
    run_suite,
)
from tests.plugin.tables_helpers import write_table

SUITE = "targets:\n  local:\n    timeout: 2s\n"
LAUGHS = "\n".join(
    ["x-l0: &l0 [a, a, a, a, a, a, a, a, a, a]"]
    + [f"x-l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
)
DEEPER = "x-a: " + "[" * 2000 + "]" * 2000 + "\n"


def libyaml_limits_depth() -> bool:
    """Does the C loader sleuth uses refuse 1,000 levels by itself?"""
    import yaml

    loader = getattr(yaml, "CSafeLoader", None)
    if loader is None:
        return False
    try:
        yaml.compose(DEEPER, Loader=loader)
    except yaml.YAMLError:
        return True
    return False


DEEP = "x-deep:\n" + "".join(f"{'  ' * (i + 1)}k{i}:\n" for i in range(60)) + "  e: 1"


@pytest.fixture(params=["pytest", "sleuth run"])
def runner(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(CANARY_NAME, CANARY)
    return str(request.param)


# What a config and a table both may hold, and the line that says so (after
# "ERROR: <file> ").
BOTH = [
    pytest.param(
        b"x-a: !Ref 5s\n",
        " line 1, column 6: unknown tag '!Ref': sleuth reads plain YAML (text, "
        "numbers, true/false, lists, mappings). Remove the tag, or quote the value",
        id="unknown-tag",
    ),
    pytest.param(
        b"x-a: !!python/object/apply:os.system [echo pwned]\n",
        " line 1, column 6: unknown tag '!!python/object/apply:os.system'*",
        id="python-tag",
    ),
    pytest.param(
        b"x-a: 1\nx-b: caf\xe9\n",
        " line 2, column 9: the file is not UTF-8 text: byte 0xe9 cannot be read. "
        "Save the file as UTF-8",
        id="latin-1",
    ),
    pytest.param(
        b"x-a: '" + b"x" * MAX_FILE_BYTES + b"'\n",
        ": the file is larger than 4 MB, the most sleuth reads as a config or probe "
        "table: is it the file you meant? Split a table that large into several "
        "files",
        id="huge",
    ),
    pytest.param(
        DEEP.encode(),
        " line 52, column 103: values nested more than 50 levels deep; a config or "
        "probe table needs only a few. Flatten it",
        id="deep",
    ),
    pytest.param(
        DEEPER.encode(),
        # libyaml (0.2.5 as built into PyYAML 6.0.1 and later) stops at 1,000
        # levels itself, and its words are made plain; without that limit
        # (PyYAML 6.0's build), sleuth's own stops it, at the 51st level.
        " line 1, column 1005: invalid YAML: values nested more than 1,000 levels "
        "deep; a config or probe table needs only a few"
        if libyaml_limits_depth()
        else " line 1, column 56: values nested more than 50 levels deep; a config "
        "or probe table needs only a few. Flatten it",
        id="deeper-than-libyaml",
    ),
    pytest.param(
        b"x-a:\n\tb: 1\n",
        " line 2, column 1: tabs are not allowed for indentation: indent with spaces",
        id="tabs",
    ),
    pytest.param(
        b"x-a: b\x1bc\n",
        " line 1, column 7: invalid YAML: the character #x001b is not allowed in "
        "YAML text; remove it",
        id="control-character",
    ),
    pytest.param(
        LAUGHS.encode(),
        " line 5, column 7: aliases and merge keys here expand to more than 100,000 "
        "values; reuse smaller pieces, or write them out",
        id="billion-laughs",
    ),
    pytest.param(
        b"x-a: &a [1, *a]\n",
        " line 1, column 6: an alias here names the value it is part of, so it "
        "would never end; alias another value",
        id="alias-in-itself",
    ),
    pytest.param(
        b"x-a: 1\nx-a: 2\n",
        " line 2, column 1: key 'x-a' appears twice; keep one",
        id="duplicate-key",
    ),
    pytest.param(
        b"x-a: *common\n",
        " line 1, column 6: invalid YAML: an alias (*name) here names no anchor "
        "(&name) written before it",
        id="alias-to-nowhere",
    ),
]


@pytest.mark.parametrize(("text", "message"), BOTH)
def test_a_config_sleuth_cannot_read_is_one_line(pytester, runner, text, message):
    (pytester.path / "sleuth.yaml").write_bytes(text)
    pytester.makepyfile(test_x="def test_x(target):\n    pass\n")
    line = check_one_line_error(run_suite(pytester, runner), "sleuth.yaml")
    assert pytester_fnmatch(line, f"ERROR: sleuth.yaml{message}"), line


@pytest.mark.parametrize(("text", "message"), BOTH)
def test_a_table_sleuth_cannot_read_is_one_line(pytester, runner, text, message):
    (pytester.path / "sleuth.yaml").write_text(SUITE)
    (pytester.path / "api.yaml").write_bytes(text)
    line = check_one_line_error(run_suite(pytester, runner), "api.yaml")
    assert pytester_fnmatch(line, f"ERROR: api.yaml{message}"), line


def pytester_fnmatch(line: str, pattern: str) -> bool:
    """fnmatch's ``*`` only: ``[`` in a message means itself."""
    import re

    parts = (re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(".*".join(parts), line) is not None


@pytest.mark.parametrize(
    ("config", "message"),
    [
        pytest.param(
            "timeout: ${env:}\n",
            "ERROR: sleuth.yaml line 1: '${env:}' is not a whole reference: write "
            "${env:NAME}, ${env:NAME:-default} or ${setting:NAME}",
            id="empty-reference",
        ),
        pytest.param(
            "targets:\n  prod:\n    headers: {X-A: '${setting:TOKEN'}\n",
            "ERROR: sleuth.yaml line 3: '${setting:TOKEN' is not a whole reference*",
            id="unclosed-reference",
        ),
        pytest.param(
            "timeout: 5 parsecs\n",
            "ERROR: sleuth.yaml line 1: invalid timeout '5 parsecs': expected "
            "seconds, e.g. 2.5, 2s or 150ms",
            id="bad-unit",
        ),
        pytest.param(
            "timeout: .inf\n",
            "ERROR: sleuth.yaml line 1: invalid timeout inf: expected seconds, e.g. "
            "2.5, 2s or 150ms",
            id="no-deadline",
        ),
        pytest.param(
            f"timeout: {SECRET_REF}\n",
            "ERROR: sleuth.yaml line 1: invalid timeout '***': expected seconds, e.g. "
            "2.5, 2s or 150ms",
            id="secret-masked",
        ),
        pytest.param(
            "x-common: &common\n  timeout: soon\ntargets:\n  prod:\n    <<: *common\n",
            "ERROR: sleuth.yaml line 2 (via <<: at line 5): invalid timeout 'soon': "
            "expected seconds, e.g. 2.5, 2s or 150ms",
            id="merged-value",
        ),
        pytest.param(
            "targets:\n  prod:\n    <<: [1, 2]\n",
            "ERROR: sleuth.yaml line 3, column 10: <<: merges mappings*",
            id="merge-no-mapping",
        ),
        pytest.param(
            "- targets\n",
            "ERROR: sleuth.yaml line 1: expected a mapping of keys such as targets: "
            "and timeout:, found a list",
            id="a-list",
        ),
    ],
)
def test_config_values_that_cannot_be_used_are_one_line(
    pytester, runner, config, message
):
    pytester.makefile(".yaml", sleuth=config)
    line = check_one_line_error(run_suite(pytester, runner), "sleuth.yaml")
    assert pytester_fnmatch(line, message), line


def test_a_directory_named_sleuth_yaml_is_named(pytester, runner):
    (pytester.path / "sleuth.yaml").mkdir()
    result = run_suite(pytester, runner)
    line = check_one_line_error(result, "sleuth.yaml")
    assert line == (
        "ERROR: sleuth.yaml: is not a file (a directory, or a device): sleuth reads "
        "its suite's config from a file by this name. Rename it, or pass "
        "--sleuth-config PATH"
    )


@pytest.mark.parametrize("name", ["sleuth.yaml", "api.yaml"])
def test_an_unreadable_file_is_named(pytester, name):
    # The tests run as root, which reads any file: setpriv drops the two
    # capabilities that let it, so the mode bits apply as to anyone else.
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) is not installed")
    (pytester.path / "sleuth.yaml").write_text(SUITE)
    path = pytester.path / name
    path.write_text(path.read_text() if path.exists() else "http: []\n")
    path.chmod(0)
    drop = "-dac_override,-dac_read_search"
    result = pytester.run(
        setpriv, f"--inh-caps={drop}", f"--bounding-set={drop}",
        sys.executable, "-m", "sleuth", "run", "-q", "-p", "no:cacheprovider",
        "--no-history", timeout=120,
    )  # fmt: skip
    line = check_one_line_error(result, name)
    assert line == (
        f"ERROR: {name}: cannot read the file: Permission denied. Check that it "
        f"exists and that the user running sleuth may read it"
    )


def test_a_byte_order_mark_and_an_empty_file_simply_work(pytester, runner):
    (pytester.path / "sleuth.yaml").write_bytes(b"\xef\xbb\xbf" + SUITE.encode())
    (pytester.path / "empty.yaml").write_bytes(b"")
    (pytester.path / "bom.yaml").write_bytes(
        b"\xef\xbb\xbfsettings:\n  required: [PATH]\n"
    )
    result = run_suite(pytester, runner)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.stdout.fnmatch_lines(["*1 passed*"])


def test_merge_keys_and_aliases_work_in_config_and_tables(
    pytester, runner, http_target
):
    pytester.makefile(
        ".yaml",
        sleuth=f"""
x-common: &common
  base_url: {http_target.url}
  timeout: 3s
  headers: &headers {{X-Probe: sleuth}}
targets:
  local:
    <<: *common
    timeout: 4s
""",
    )
    write_table(
        pytester,
        """
        x-row: &row
          timeout: 2s
          expect: {status: 200}
        http:
          - <<: *row
            request: GET /status/200
          - <<: *row
            name: teapot
            request: GET /status/418
            expect: {status: 418}
        """,
    )
    result = run_suite(pytester, runner)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.stdout.fnmatch_lines(["*2 passed*"])
    assert http_target.recorder.count("/status/418") == 1


def test_an_error_in_a_merged_row_names_where_it_is_written_and_merged(
    pytester, runner
):
    (pytester.path / "sleuth.yaml").write_text(SUITE)
    write_table(
        pytester,
        """
        x-row: &row
          timeout: 2s
          expect: {stauts: 200}
        http:
          - request: GET /ok
          - <<: *row
            request: GET /x
        """,
    )
    line = check_one_line_error(run_suite(pytester, runner), "api.yaml")
    assert line.startswith(
        "ERROR: api.yaml line 3 (via <<: at line 6): unknown key 'stauts' in expect."
    )
