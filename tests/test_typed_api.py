"""What ``target`` offers is typed: a user's suite type-checks under
``mypy --strict``, a wrong call is caught before the run, and at run time a
wrong call still fails with the error it always gave."""

from __future__ import annotations

import asyncio
import inspect
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import sleuth
from sleuth.engine import Engine
from sleuth.errors import ConfigError
from sleuth.http.client import AsyncHttpClient, RequestOptions
from sleuth.probes import KINDS
from sleuth.suite.config import empty_suite_config
from sleuth.suite.options import resolve
from sleuth.target import Target

SAMPLE = Path(__file__).with_name("typed_suite.py")
DOC = Path(__file__).parents[1] / "docs" / "writing-probes.md"


def docs_example() -> str:
    """The typed example of docs/writing-probes.md, as written there."""
    for block in re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL):
        if block.startswith("from sleuth import Response, Target"):
            return str(block)
    raise AssertionError(f"no typed example in {DOC}")


# Each line a wrong call a user could make, and what mypy must say about it.
WRONG = {
    'target.http.get("/health", header={"A": "b"})': (
        'Unexpected keyword argument "header" for "get" of "HttpClient"'
    ),
    'target.http.post("/search", timeout="5s")': (
        'Argument "timeout" to "post" of "HttpClient" has incompatible type "str"'
    ),
    'target.http.get("/health").status': '"Response" has no attribute "status"',
    'target.postgres(dns="postgresql://db-1/orders")': (
        'Unexpected keyword argument "dns" for "postgres" of "Target"'
    ),
    'target.redis(url="redis://cache-1").check().used_memory.upper()': (
        '"int" has no attribute "upper"'
    ),
    'target.tcp(host="db-1", port=5432.0)': (
        'Argument "port" to "tcp" of "Target" has incompatible type "float"'
    ),
    'target.postgres("orders").check().lag_s': (
        '"PostgresHealth" has no attribute "lag_s"'
    ),
    'target.postgress("orders")': '"Target" has no attribute "postgress"',
}


def test_a_typed_suite_passes_mypy_strict_and_wrong_calls_do_not(tmp_path: Path):
    doc = tmp_path / "doc_suite.py"
    doc.write_text(docs_example())
    wrong = tmp_path / "wrong_suite.py"
    body = "".join(f"    {line}\n" for line in WRONG)
    wrong.write_text(
        "from sleuth import Target\n\n\ndef test_wrong(target: Target) -> None:\n"
        + body
    )
    config = tmp_path / "mypy.ini"
    config.write_text(
        textwrap.dedent(
            f"""
            [mypy]
            # The sleuth being tested, not whichever one is installed.
            mypy_path = {Path(sleuth.__file__).parents[1]}
            # sleuth's own modules are checked by the project's mypy run.
            follow_imports = silent
            cache_dir = {tmp_path / "cache"}
            """
        )
    )
    # In a process of its own: mypy.api.run would leave this one with mypy's
    # recursion limit and gc thresholds (a later test's RecursionError vanished).
    files = [str(SAMPLE), str(doc), str(wrong)]
    checked = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file",
            str(config),
            *files,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    out, err, status = checked.stdout, checked.stderr, checked.returncode
    assert err == ""
    errors = [line for line in out.splitlines() if ": error: " in line]
    assert not [e for e in errors if e.startswith((str(SAMPLE), str(doc)))], out
    for number, (line, said) in enumerate(WRONG.items(), start=5):
        here = [e for e in errors if e.startswith(f"{wrong}:{number}: ")]
        assert any(said in e for e in here), f"{line}: {here or out}"
    assert status == 1


@pytest.fixture
def target() -> Iterator[Target]:
    engine = Engine(workers=1)
    options = resolve(empty_suite_config(Path(".")), cli={}, environ={})
    yield Target(options, engine)
    engine.close()


# Nothing is sent: a wrong keyword fails the call before a request is made.
URL = "http://127.0.0.1:9/health"


def test_a_misspelt_http_keyword_fails_as_it_always_did(target: Target):
    expected = "AsyncHttpClient.send() got an unexpected keyword argument 'header'"
    with pytest.raises(TypeError, match=re.escape(expected)):
        target.http.get(URL, header={"A": "b"})  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=re.escape(expected)):
        asyncio.run(target.ahttp.get(URL, header={"A": "b"}))  # type: ignore[call-arg]


def test_a_misspelt_dependency_option_is_the_config_error_it_was(target: Target):
    with pytest.raises(ConfigError) as caught:
        target.postgres(dns="postgresql://127.0.0.1/x")  # type: ignore[call-arg]
    assert str(caught.value) == (
        "target.postgres(...): unknown postgres option 'dns'. Valid options: "
        "database, dsn, host, password, port, url, user. Did you mean 'dsn'?"
    )


def test_a_misspelt_helper_names_the_ones_there_are(target: Target):
    with pytest.raises(AttributeError) as caught:
        target.postgress  # type: ignore[attr-defined]  # noqa: B018
    assert str(caught.value) == (
        "'Target' has no attribute 'postgress'. Dependency helpers: amqp, dns, "
        "mqtt, mysql, nats, postgres, redis, tcp, tls. Did you mean 'postgres'?"
    )


def test_the_request_keywords_are_the_ones_send_reads():
    send = inspect.signature(AsyncHttpClient.send).parameters
    keywords = {n for n, p in send.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert set(RequestOptions.__annotations__) == keywords


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_has_a_typed_method_returning_its_helper(kind: str):
    method = getattr(Target, kind)
    class_name = KINDS[kind].partition(":")[2]
    assert method.__annotations__["return"] == class_name
    options = method.__annotations__["options"]
    assert options == f"Unpack[{class_name}Options]"


def test_the_outcome_and_state_types_are_the_words_the_json_schema_allows():
    import json
    from typing import get_args

    from sleuth._evidence import Category, ProbeOutcome, SettingState
    from sleuth.reports.document import OUTCOMES
    from sleuth.reports.mdtext import OUTCOME_ORDER

    schema = json.loads(
        (Path(__file__).parents[1] / "docs/schema/run-1.json").read_text()
    )
    probe = schema["properties"]["probes"]["items"]["properties"]
    assert set(probe["outcome"]["enum"]) == set(get_args(ProbeOutcome))
    assert set(OUTCOMES) == set(OUTCOME_ORDER) == set(get_args(ProbeOutcome))
    said = probe["category"]["description"]
    words = {word for word in get_args(Category) if word}
    assert {w for w in words if re.search(rf"\b{re.escape(w)}\b", said)} == words
    settings = schema["properties"]["settings"]["items"]["properties"]
    assert set(settings["state"]["enum"]) == set(get_args(SettingState))
