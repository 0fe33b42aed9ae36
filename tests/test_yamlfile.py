"""YAML with line numbers: anchors, merge keys, and the limits of what a file can do."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import yaml

from sleuth.errors import ConfigError
from sleuth.suite import yamlvalues
from sleuth.suite.textfile import MAX_FILE_BYTES
from sleuth.suite.yamlfile import load, loads


def parse(text: str):
    return loads(textwrap.dedent(text).lstrip("\n"), display="f.yaml")


def error(text: str, **kwargs) -> str:
    with pytest.raises(ConfigError) as caught:
        loads(textwrap.dedent(text).lstrip("\n"), display="f.yaml", **kwargs)
    return str(caught.value)


# -- merge keys -------------------------------------------------------------


def test_keys_written_in_the_mapping_win_over_merged_ones():
    data, _ = parse(
        """
        base: &base {a: 1, b: 2}
        first: {b: 3, <<: *base}
        last: {<<: *base, b: 3}
        """
    )
    assert data["first"] == {"b": 3, "a": 1}
    assert data["last"] == {"a": 1, "b": 3}


def test_an_earlier_merged_mapping_wins_over_a_later_one():
    data, _ = parse(
        """
        x: &x {k: from-x, only_x: 1}
        y: &y {k: from-y, only_y: 2}
        both: {<<: [*x, *y]}
        """
    )
    assert data["both"] == {"k": "from-x", "only_x": 1, "only_y": 2}


def test_a_merged_mapping_may_merge_another():
    data, _ = parse(
        """
        base: &base {timeout: 2s, retries: 1}
        common: &common {<<: *base, retries: 2}
        row: {<<: *common, name: users}
        """
    )
    assert data["row"] == {"timeout": "2s", "retries": 2, "name": "users"}


def test_merged_values_keep_the_line_they_are_written_on_and_say_how_they_came():
    _, lines = parse(
        """
        common: &common
          timeout: 2s
          headers: {X-A: b}
        targets:
          prod:
            <<: *common
            timeout: 3s
        """
    )
    assert lines.where(("targets", "prod", "headers", "X-A")) == (
        "f.yaml line 3 (via <<: at line 6)"
    )
    assert lines.where(("targets", "prod", "timeout")) == "f.yaml line 7"


def test_aliases_of_scalars_and_lists_are_values_like_any_other():
    data, lines = parse(
        """
        short: &short 2s
        hosts: &hosts [a, b]
        timeout: *short
        targets: *hosts
        """
    )
    assert data == {
        "short": "2s",
        "hosts": ["a", "b"],
        "timeout": "2s",
        "targets": ["a", "b"],
    }
    assert lines.where(("timeout",)) == "f.yaml line 3 (via an alias at line 3)"
    assert lines.where(("targets", 1)) == "f.yaml line 2 (via an alias at line 4)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "a: {<<: 5}\n",
            "f.yaml line 1, column 9: <<: merges mappings: write <<: *name (a "
            "mapping marked &name) or <<: [*first, *second]",
            id="merge-a-number",
        ),
        pytest.param(
            "x: &x {a: 1}\ny: {<<: [*x, [1]]}\n",
            "f.yaml line 2, column 14: <<: merges mappings*",
            id="merge-a-list-in-the-list",
        ),
        pytest.param(
            "x: &x {a: 1}\ny:\n  <<: *x\n  <<: *x\n",
            "f.yaml line 4, column 3: <<: appears twice in this mapping; merge "
            "several mappings with one: <<: [*first, *second]",
            id="merge-twice",
        ),
        pytest.param(
            "x: &x\n  a: 1\n  <<: *x\n",
            "f.yaml line 3, column 3: <<: merges the mapping it is part of, so it "
            "would never end; merge another mapping",
            id="merge-itself",
        ),
        pytest.param(
            "x: &x [1, *x]\n",
            "f.yaml line 1, column 4: an alias here names the value it is part of,"
            " so it would never end; alias another value",
            id="alias-itself",
        ),
        pytest.param(
            "x: *nowhere\n",
            "f.yaml line 1, column 4: invalid YAML: an alias (*name) here names no "
            "anchor (&name) written before it",
            id="alias-to-nowhere",
        ),
    ],
)
def test_a_bad_merge_or_alias_names_its_line(text, message):
    assert _matches(error(text), message), error(text)


def _matches(seen: str, pattern: str) -> bool:
    """``pattern`` with ``*`` for any text (and ``[`` meaning itself)."""
    parts = (re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(".*".join(parts), seen) is not None


def test_a_billion_laughs_is_refused_quickly_not_expanded():
    levels = ["l0: &l0 [a, a, a, a, a, a, a, a, a, a]"] + [
        f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)
    ]
    message = error("\n".join(levels) + "\n")
    assert message.endswith(
        f"aliases and merge keys here expand to more than "
        f"{yamlvalues.MAX_ALIAS_VALUES:,} values; reuse smaller pieces, or write "
        f"them out"
    )


def test_laughs_through_merge_keys_are_refused_too():
    levels = ["m0: &m0 {a: 1, b: 2}"] + [
        f"m{i}: &m{i} {{<<: [{', '.join([f'*m{i - 1}'] * 10)}], k{i}: 1}}"
        for i in range(1, 9)
    ]
    assert "expand to more than" in error("\n".join(levels) + "\n")


# -- what sleuth does not read ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "timeout: !Ref 5s\n",
            "f.yaml line 1, column 10: unknown tag '!Ref': sleuth reads plain YAML "
            "(text, numbers, true/false, lists, mappings). Remove the tag, or "
            "quote the value",
            id="custom-tag",
        ),
        pytest.param(
            "run: !!python/object/apply:os.system [echo hi]\n",
            "f.yaml line 1, column 6: unknown tag '!!python/object/apply:os.system'*",
            id="python-tag",
        ),
        pytest.param(
            "a: !!set {x, y}\n",
            "f.yaml line 1, column 4: unknown tag '!!set'*",
            id="set",
        ),
        pytest.param(
            "when: 2026-13-45\n",
            "f.yaml line 1, column 7: cannot read '2026-13-45' as a date: month must "
            "be in 1..12. Quote it to keep it as text",
            id="impossible-date",
        ),
        pytest.param(
            "n: " + "1" * 5000 + "\n",
            "f.yaml line 1, column 4: cannot read '1111111111111111111111111111111111"
            "111111...' as a whole number. Quote it to keep it as text",
            id="5000-digits",
        ),
        pytest.param(
            "a: !!bool maybe\n",
            "f.yaml line 1, column 4: cannot read 'maybe' as true or false*",
            id="bool-tag",
        ),
        pytest.param(
            "a:\n\tb: 1\n",
            "f.yaml line 2, column 1: tabs are not allowed for indentation: indent "
            "with spaces",
            id="tab-indent",
        ),
        pytest.param(
            "a:\n  b: 1\n  \tc: 2\n",
            "f.yaml line 3, column 3: tabs are not allowed for indentation: indent "
            "with spaces",
            id="tab-after-spaces",
        ),
        pytest.param(
            "a: b\x07c\n",
            "f.yaml line 1, column 5: invalid YAML: the character #x0007 is not "
            "allowed in YAML text; remove it",
            id="control-character",
        ),
        pytest.param(
            "a: é\x00\n",
            "f.yaml line 1, column 5: invalid YAML: the character #x0000*",
            id="nul-after-non-ascii",
        ),
        pytest.param(
            "x: &a 1\ny: &a 2\n",
            "f.yaml line 2, column 4: invalid YAML: found duplicate anchor; first "
            "occurrence at line 1, second occurrence",
            id="duplicate-anchor",
        ),
        pytest.param(
            "a: 1\na: 2\n",
            "f.yaml line 2, column 1: key 'a' appears twice; keep one",
            id="duplicate-key",
        ),
        pytest.param(
            "? [a]\n: 1\n",
            "f.yaml line 1, column 3: a key must be a plain value, not a list or "
            "mapping",
            id="list-key",
        ),
    ],
)
def test_what_sleuth_does_not_read_is_named_with_line_and_column(text, message):
    assert _matches(error(text), message), error(text)


def test_merge_and_value_indicators_alone_are_text():
    data, _ = parse("a: <<\nb: =\n")
    assert data == {"a": "<<", "b": "="}


@pytest.mark.parametrize("flow", [True, False])
def test_nesting_deeper_than_the_limit_is_refused(flow):
    depth = yamlvalues.MAX_DEPTH + 5
    if flow:
        text = "a: " + "[" * depth + "]" * depth + "\n"
    else:
        text = "".join(f"{'  ' * i}k{i}:\n" for i in range(depth)) + "  " * depth + "x"
    assert "values nested more than 50 levels deep" in error(text)


def test_nesting_at_the_limit_is_read():
    depth = yamlvalues.MAX_DEPTH
    data, _ = loads("[" * depth + "]" * depth, display="f.yaml")
    for _ in range(depth - 1):
        data = data[0]
    assert data == []


def test_the_pure_python_parser_does_not_let_recursion_escape():
    # Without libyaml, PyYAML composes nodes by recursion: deep enough, it
    # would raise RecursionError from inside the parser.
    message = error("a: " + "[" * 5000 + "]" * 5000 + "\n", loader=yaml.SafeLoader)
    assert message.startswith("f.yaml line 1, column ")
    assert "nested too deeply" in message


# -- files ----------------------------------------------------------------------


def test_a_byte_order_mark_is_dropped(tmp_path: Path):
    path = tmp_path / "f.yaml"
    path.write_bytes(b"\xef\xbb\xbftimeout: 2s\n")
    data, lines = load(path)
    assert data == {"timeout": "2s"}
    assert lines.where(("timeout",)) == "f.yaml line 1"


def test_bytes_that_are_not_utf8_are_named_by_line_and_column(tmp_path: Path):
    path = tmp_path / "f.yaml"
    path.write_bytes(b"a: 1\nnam\xc3\xa9: \xff\n")  # the byte after "namé: "
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value) == (
        "f.yaml line 2, column 7: the file is not UTF-8 text: byte 0xff cannot be "
        "read. Save the file as UTF-8"
    )


def test_a_file_over_the_cap_is_refused_before_parsing(tmp_path: Path):
    path = tmp_path / "f.yaml"
    path.write_bytes(b"a: " + b"x" * MAX_FILE_BYTES + b"\n")
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value) == (
        "f.yaml: the file is larger than 4 MB, the most sleuth reads as a config "
        "or probe table: is it the file you meant? Split a table that large into "
        "several files"
    )


def test_a_directory_is_named_as_one(tmp_path: Path):
    (tmp_path / "f.yaml").mkdir()
    with pytest.raises(ConfigError, match=r"^f\.yaml: is a directory, not a file"):
        load(tmp_path / "f.yaml")


def test_merges_and_notes_read_the_same_from_the_kept_parse(tmp_path: Path):
    (tmp_path / ".sleuth").mkdir()
    path = tmp_path / "sleuth.yaml"
    path.write_text("x: &x {a: 1, t: &t 2s}\ny: {<<: *x, b: *t}\n")
    first = load(path, keep=True)
    kept = load(path, keep=True)
    assert (
        kept[0]
        == first[0]
        == {"x": {"a": 1, "t": "2s"}, "y": {"a": 1, "t": "2s", "b": "2s"}}
    )
    assert kept[1].by_path() == first[1].by_path()
    assert kept[1].notes_by_path() == first[1].notes_by_path()
    assert kept[1].where(("y", "t")) == "sleuth.yaml line 1 (via <<: at line 2)"


def test_a_bug_while_reading_is_still_one_line_with_secrets_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # The safety net, for what no test found: a bug stands in for one here.
    from sleuth.suite import config as config_module
    from sleuth.suite.config import load_suite_config
    from sleuth.suite.interpolation import BUG_WORDS

    def broken(data, lines, **kwargs):
        raise TypeError(f"cannot use {data['timeout']}\nsecond line")

    monkeypatch.setattr(config_module, "_build_suite", broken)
    path = tmp_path / "sleuth.yaml"
    path.write_text("timeout: ${env:API_TOKEN}\n")
    with pytest.raises(ConfigError) as caught:
        load_suite_config(path, environ={"API_TOKEN": "tok-3f9a-secret"})
    assert str(caught.value) == (
        f"{path}: {BUG_WORDS} while reading this file (TypeError: cannot use *** "
        f"second line). Please report it, with the file"
    )
    assert isinstance(caught.value.__cause__, TypeError)
