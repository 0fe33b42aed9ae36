"""Generated broken configs and tables: exit 4, one line, no traceback, no secret.

Hypothesis mutates a valid sleuth.yaml and a valid probe table (random bytes,
truncation, wrong values, indentation, tabs, tags, aliases to nowhere, deep
nesting, huge scalars, ``${env:...}`` of a planted secret), then appends a
line that certainly breaks the file, and runs the suite in-process. Every run
must end the way a user mistake ends: exit code 4 and one ``ERROR:`` line
naming the file (and its line, where there is one), never a traceback, never
the secret. sleuth.yaml is run twice, so its kept parse (``.sleuth/``) is
checked to say exactly what the first parse said.

Derandomized, so CI sees the same examples each time; about 40 s for both.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from sleuth.errors import ConfigError
from sleuth.history import resolve_history
from sleuth.rows import load_table
from sleuth.suite.config import load_suite_config
from sleuth.suite.interpolation import BUG_WORDS
from sleuth.suite.options import resolve
from tests.plugin.config_helpers import (
    CANARY,
    CANARY_NAME,
    SECRET_REF,
    check_one_line_error,
)

CONFIG = f"""\
x-common: &common
  timeout: 2s
  headers: {{X-Probe: sleuth, Authorization: "Bearer {SECRET_REF}"}}
default_target: prod
budget: 30s
workers: 8
secret_words: [PIN]
not_secret: [PUBLIC_KEY_ID]
sources: [env]
http:
  max_in_flight_per_host: 5
targets:
  prod:
    <<: *common
    base_url: http://127.0.0.1:9
    sources:
      - env: {{prefix: SHOP_}}
  staging:
    <<: *common
    base_url: "http://127.0.0.1:9/{SECRET_REF}"
    http: {{max_in_flight: 10}}
"""

SUITE = "targets:\n  local:\n    base_url: http://127.0.0.1:9\n    timeout: 2s\n"

TABLE = f"""\
x-row: &row
  timeout: 2s
  tags: [smoke]
http:
  - GET /health: 200
  - <<: *row
    name: users
    request: GET /users/123
    headers: {{X-Token: "{SECRET_REF}"}}
    params: {{q: gadget, page: 2}}
    expect: {{status: [200, 204], max_latency: 1s, json: {{id: 123}}}}
  - {{request: "GET /items", expect: {{body_contains: ok, header: {{X-A: {{matches: b}}}}}}}}
settings:
  required: [DATABASE_URL]
  API_KEY: {{secret: true}}
  PORT: {{type: int}}
tcp:
  - {{name: broker port, host: 127.0.0.1, port: 9, max_connect_time: 200ms}}
"""

# Values a careless or hostile edit puts where a value was.
ODD_VALUES = [
    "[1, 2]", "{a: 1}", "~", "true", "-5", "0", "1e999", ".nan", ".inf",
    "2026-13-45", "2026-01-01", "!Ref x", "!!python/object:os.system x",
    "!!python/name:os.system", "!!binary ???", "!!int abc", "!!bool maybe",
    "!!timestamp x", "!!float x", "!!set {a, b}", "!!omap [a: 1]", "*nowhere",
    "&a [*a]", "&m {<<: *m}", "{<<: 5}", "{<<: [*common, 3]}", "<<", "=",
    "${env:}", "${env:SLEUTH_TEST_CANARY_TOKEN", SECRET_REF, f"x{SECRET_REF}y",
    f"GET /{SECRET_REF}", f"http://user:{SECRET_REF}@127.0.0.1:9",
    "${env:SLEUTH_TEST_NOT_SET}", "${vault:X}", "${setting:}", "${:x}",
    "5 parsecs", "'", '"', "[", "{", "|", ">", "- a", "? [a]", "? {a: 1}",
    "'\\x00'", "\"\\ud800\"", "99999999999999999999999999999999999",
    "1" * 5000, "!Ref [a, b]", "*common", "{*common: 1}",
    # YAML that reads well, with values wrong for the key they land on.
    "GET /x", "http://[::1", "ftp://x", "-1s", "10k", "200", "2xx", "[200, 700]",
    "{matches: '('}", "{type: integer}", "{a: {b: {c: 1}}}", "[{}]", "[[]]", "''",
    "' '", "-1", "1.5", "{status: 999}", "{request: 42}", "[env, {dotenvv: x}]",
    "{app: x}", "[~]", "{~: 1}", "0x1F", "1_000", "-.inf", "yes", "null", "10%",
    "512MB", "{X-A: {exists: maybe}}", "[a, 1]", "{1: 2}", "[smoke, skip]",
    "{json_schema: {type: banana}}", "{json: {data..id: 1}}", "{body_matches: '['}",
]  # fmt: skip

# Lines that break any file they end, at column 0 after everything else.
BREAKERS = [
    "zz_unknown_key: 1",
    "timeout: !Ref 5s",
    "zz: *nowhere",
    "zz:\n\t- tabbed",
    "zz: \udcff\udcfe",  # the bytes 0xff 0xfe: not UTF-8
    "zz: [1, 2",
    f"timeout: {SECRET_REF}",
    f"zz_{SECRET_REF}: 1",
    "<<: 5",
    "zz: !!python/object/apply:os.system [echo hi]",
    "zz: &x [*x]",
    "zz: \x00",
    "---\nsecond: document",
    # A "billion laughs": each level names the one below ten times (10^9 values).
    "\n".join(
        ["zz_l0: &l0 [a, a, a, a, a, a, a, a, a, a]"]
        + [f"zz_l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
    ),
    # Nested past sleuth's 50 levels, and past libyaml's 1,000.
    "zz:\n" + "".join(f"{'  ' * (i + 1)}k{i}:\n" for i in range(60)) + "  end: 1",
    "zz: " + "[" * 1_100 + "]" * 1_100,
]  # fmt: skip


odd_value: st.SearchStrategy[str] = st.one_of(
    st.sampled_from(ODD_VALUES),
    # The planted secret, alone or in a longer value, where any value was.
    st.builds(
        "'{}{}{}'".format,
        st.sampled_from(["", "x", "GET /", "http://u:"]),
        st.just(SECRET_REF),
        st.text(max_size=3),
    ),
    st.text(max_size=20),
    st.integers(1_000, 200_000).map(lambda n: "x" * n),
    st.integers(40, 1_200).map(lambda n: "[" * n + "]" * n),
    st.integers(40, 400).map(lambda n: "{a: " * n + "1" + "}" * n),
)
breaker = st.one_of(
    st.sampled_from(BREAKERS),
    st.integers(10_000, 300_000).map(lambda n: f"{'k' * n}: 1"),
)


@st.composite
def broken(draw: st.DrawFn, text: str) -> tuple[bytes, bool]:
    """``text`` mutated a few times, and whether only its values were changed.

    Values only: the file may still be YAML whose values sleuth checks one by
    one; the caller then breaks it where it is checked last. Otherwise
    anything goes, and a line that breaks it for certain ends it.
    """
    lines = text.splitlines()
    values_only = draw(st.booleans())
    edits = ["value"] if values_only else [*EDITS]
    for _ in range(draw(st.integers(1 if values_only else 0, 4))):
        where = draw(st.integers(0, len(lines) - 1))
        edited = draw(edit(lines[where], draw(st.sampled_from(edits))))
        lines[where : where + 1] = [] if edited is None else edited.split("\n")
    mutated = "\n".join(lines)
    if not values_only and draw(st.booleans()):
        mutated = mutated[: draw(st.integers(0, len(mutated)))]
    if draw(st.integers(0, 9)) == 0:
        mutated = "\ufeff" + mutated
    if not values_only:
        mutated += "\n" + draw(breaker)
    # surrogateescape turns the random bytes that are not UTF-8 back into bytes.
    return f"{mutated}\n".encode("utf-8", "surrogateescape"), values_only


EDITS = ("value", "indent", "tab", "duplicate", "delete", "insert", "bytes")


@st.composite
def edit(draw: st.DrawFn, line: str, how: str) -> str | None:
    """``line`` edited ``how``; None deletes it."""
    if how == "value" and ": " in line:
        return line[: line.index(": ") + 2] + draw(odd_value)
    if how == "indent":
        shift = draw(st.integers(-3, 3))
        return " " * max(0, shift) + line[max(0, -shift) :]
    if how == "tab":
        return "\t" + line.lstrip(" ")
    if how == "duplicate":
        return f"{line}\n{line}"
    if how == "delete":
        return None
    if how == "insert":
        indent = line[: len(line) - len(line.lstrip(" "))]
        return f"{indent}{draw(st.sampled_from(BREAKERS))}\n{line}"
    if how == "bytes":
        at = draw(st.integers(0, len(line)))
        junk = draw(st.binary(min_size=1, max_size=6))
        return line[:at] + junk.decode("utf-8", "surrogateescape") + line[at:]
    return line


FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


@pytest.fixture
def planted(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    """A secret in the environment, which the texts refer to; and a .sleuth/."""
    monkeypatch.setenv(CANARY_NAME, CANARY)
    (pytester.path / ".sleuth").mkdir()
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-q", "-p", "no:cacheprovider", "--no-history", *args)


# Checked after the whole config: what ends a run whose config is still good.
UNKNOWN_TARGET = "--sleuth-target"


@FUZZ
@given(broken=broken(CONFIG))
def test_a_broken_config_is_one_line_and_exit_4(planted, broken):
    text, values_only = broken
    path = planted.path / "sleuth.yaml"
    path.write_bytes(text)
    args = (UNKNOWN_TARGET, "zz_nowhere") if values_only else ()
    error = check_one_line_error(
        run(planted, *args), "sleuth.yaml", or_option=args[0] if args else None
    )
    if error.startswith(f"ERROR: {UNKNOWN_TARGET}: "):
        return
    # Again, from the parse the run kept in .sleuth/ (if it got that far).
    with pytest.raises(ConfigError) as again:
        load_suite_config(path)
    assert error == f"ERROR: {again.value}"


@FUZZ
@given(broken=broken(TABLE))
def test_a_broken_table_is_one_line_and_exit_4(planted, broken):
    text, values_only = broken
    if values_only:  # sections are checked in order: this one last
        text += b"zz_unknown_section: []\n"
    (planted.path / "sleuth.yaml").write_text(SUITE)
    (planted.path / "api.yaml").write_bytes(text)
    check_one_line_error(run(planted), "api.yaml")


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into ``value``: where a wrong value or key can go."""
    inner: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            inner += _paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            inner += _paths(item, (*path, i))
    return [path, *inner]


def _with(doc: Any, path: tuple[Any, ...], new: Any, *, as_key: bool) -> Any:
    """``doc`` with the value at ``path`` (or its key) replaced by ``new``."""
    if not path:
        return new
    if isinstance(doc, dict):
        head, *rest = path
        return {
            (new if as_key and not rest and key == head else key): (
                _with(value, tuple(rest), new, as_key=as_key) if key == head else value
            )
            for key, value in doc.items()
        }
    return [
        _with(value, path[1:], new, as_key=as_key) if i == path[0] else value
        for i, value in enumerate(doc)
    ]


# Values of every type YAML has, nested a little; texts that mean something.
plain_value = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.dates()
    | st.text(max_size=12)
    | st.sampled_from(["GET /x", "2xx", "1s", "-1s", "env", "smoke", "${env:}"])
    | st.sampled_from([SECRET_REF, f"GET /{SECRET_REF}", "${setting:X}"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.text(max_size=8) | st.integers() | st.none(), inner, max_size=3
        )
    ),
    max_leaves=6,
)
CONFIG_DOC = yaml.safe_load(CONFIG)
TABLE_DOC = yaml.safe_load(TABLE)


@settings(FUZZ, max_examples=1_000)
@given(
    kind=st.sampled_from(["config", "table"]),
    data=st.data(),
    new=plain_value,
    as_key=st.booleans(),
)
def test_any_value_or_key_anywhere_is_read_or_refused_in_one_line(
    planted, kind, data, new, as_key
):
    """Well-formed YAML, wrong values: loading says ConfigError, nothing else.

    In-process and without a run, so it tries many more: each file's every
    value and key, replaced by a value of any type.
    """
    doc = CONFIG_DOC if kind == "config" else TABLE_DOC
    path = data.draw(st.sampled_from(_paths(doc)))
    if as_key and (not path or isinstance(new, list | dict)):
        as_key = False
    text = yaml.safe_dump(_with(doc, path, new, as_key=as_key), allow_unicode=True)
    try:
        if kind == "config":
            (planted.path / "sleuth.yaml").write_text(text)
            suite = load_suite_config(planted.path / "sleuth.yaml")
            resolve(suite, cli={}, environ={})
            resolve_history(suite, cli={}, environ={}, cwd=planted.path)
        else:
            (planted.path / "api.yaml").write_text(text)
            load_table(planted.path / "api.yaml", display="api.yaml")
    except ConfigError as exc:
        message = str(exc)
    else:
        return
    assert len(message.splitlines()) == 1
    assert CANARY not in message
    assert BUG_WORDS not in message


@pytest.mark.parametrize(("name", "text"), [("sleuth.yaml", CONFIG), ("api", TABLE)])
def test_the_texts_before_mutation_are_valid(planted, name, text):
    """What makes a mutated text fail is the mutation, not the text."""
    if name == "sleuth.yaml":
        (planted.path / name).write_text(text)
    else:
        (planted.path / "sleuth.yaml").write_text(SUITE)
        (planted.path / "api.yaml").write_text(text)
    result = planted.runpytest("--collect-only", "-q", "--no-history")
    assert result.ret in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED)
    assert not [line for line in result.errlines if line.strip()]
