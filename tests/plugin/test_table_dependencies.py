"""Rows of dependency kinds dispatch to the kind's helper class, keys checked.

The real kinds live on other branches; a small fake kind stands in, registered
in ``sleuth.probes.KINDS`` the way a real one is, and shares their shape:
``address_keys``, ``check_keys`` and ``check(**thresholds)``.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import pytest

from sleuth._evidence import Exchange
from sleuth.engine import context as _context
from sleuth.errors import CheckFailed, ConfigError
from sleuth.probes import KINDS
from tests.plugin.tables_helpers import write_table

CALLS: list[dict[str, Any]] = []
_LOCK = threading.Lock()


class FakeQueueProbe:
    """``target.fakeq(url="fakeq://host/orders?depth=12").check(max_depth=10)``."""

    kind: ClassVar[str] = "fakeq"
    address_keys: ClassVar[frozenset[str]] = frozenset({"url", "queue"})
    check_keys: ClassVar[frozenset[str]] = frozenset({"max_depth", "min_consumers"})

    def __init__(self, env, name=None, /, **options):
        if name is not None:
            options = {**env.service("fakeq", name), **options}
        self.options = {
            k: env.interpolate(v, "fakeq") if isinstance(v, str) else v
            for k, v in options.items()
        }

    def check(self, **thresholds):
        ctx = _context.current.get()
        with _LOCK:
            CALLS.append(
                {
                    "options": self.options,
                    "thresholds": thresholds,
                    "probe": ctx.probe_id if ctx else None,
                    "thread": threading.get_ident(),
                }
            )
        depth = int(self.options["url"].partition("depth=")[2] or 0)
        if ctx is not None:
            ctx.record(
                Exchange(kind="fakeq", request=f"depth of {self.options['url']}")
            )
        limit = thresholds.get("max_depth")
        if limit is not None:
            if not isinstance(limit, int):
                raise ConfigError(
                    f"invalid max_depth {limit!r}: expected a whole number",
                    where="fakeq check()",
                )
            if depth > limit:
                raise CheckFailed(
                    f"fakeq {self.options['url']}: depth {depth}, over max_depth {limit}",
                    category="unhealthy",
                )


class FakeDnsProbe:
    """A kind whose own address is a ``name``: its rows are named by ``id``."""

    kind: ClassVar[str] = "fakedns"
    address_keys: ClassVar[frozenset[str]] = frozenset({"name", "type"})
    check_keys: ClassVar[frozenset[str]] = frozenset({"expect"})

    def __init__(self, env, name=None, /, **options):
        self.options = options

    def check(self, **thresholds):
        with _LOCK:
            CALLS.append({"options": self.options, "thresholds": thresholds})


@pytest.fixture(autouse=True)
def fake_kinds(monkeypatch):
    monkeypatch.setitem(KINDS, "fakeq", f"{__name__}:FakeQueueProbe")
    monkeypatch.setitem(KINDS, "fakedns", f"{__name__}:FakeDnsProbe")
    CALLS.clear()


SUITE = """
targets:
  prod:
    services:
      fakeq:
        main: {url: "fakeq://mq-1/orders?depth=3"}
"""


def test_rows_call_the_kinds_helper_with_address_and_thresholds(pytester, monkeypatch):
    monkeypatch.setenv("QUEUE_URL", "fakeq://mq-2/billing?depth=25")
    pytester.makefile(".yaml", sleuth=SUITE)
    write_table(
        pytester,
        """
        fakeq:
          - main
          - {name: main is shallow, service: main, max_depth: 5}
          - {url: "${setting:QUEUE_URL}", max_depth: 10}
          - {name: billing consumers, url: "fakeq://mq-2/billing", queue: billing,
             min_consumers: 2, needs: [main]}
        fakedns:
          - {name: api.example.com, type: A, expect: [10.0.0.1]}
          - {id: api record, name: api.example.com}
        """,
        name="deps",
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=5, failed=1)
    assert "(6 ran at once)" in result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "deps.yaml::fakeq main PASSED*",
            "deps.yaml::main is shallow PASSED*",
            "deps.yaml::fakeq ${setting:QUEUE_URL} FAILED*",
            "deps.yaml::billing consumers PASSED*",
            "deps.yaml::fakedns name=api.example.com type=A PASSED*",
            "deps.yaml::api record PASSED*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "CheckFailed: fakeq fakeq://mq-2/billing?depth=25: depth 25, over "
            "max_depth 10",
            "row at deps.yaml line 4",
        ]
    )
    by_options = {str(sorted(c["options"].items())): c for c in CALLS}
    billing = by_options[
        str(sorted({"url": "fakeq://mq-2/billing", "queue": "billing"}.items()))
    ]
    assert billing["thresholds"] == {"min_consumers": 2}
    dns = [c for c in CALLS if "name" in c["options"]]
    assert {str(c["options"]) for c in dns} == {
        str({"name": "api.example.com", "type": "A"}),
        str({"name": "api.example.com"}),
    }
    # Rows run ahead on the engine's workers, each under its own probe context.
    # The rows ran ahead, on the engine's worker threads, not pytest's own.
    assert all(
        c["thread"] != threading.main_thread().ident for c in CALLS if "probe" in c
    )
    assert {c["probe"] for c in CALLS if "probe" in c} >= {
        "deps.yaml::billing consumers",
        "deps.yaml::fakeq ${setting:QUEUE_URL}",
    }


def test_two_rows_for_one_service_need_names(pytester):
    pytester.makefile(".yaml", sleuth=SUITE)
    write_table(pytester, "fakeq:\n  - main\n  - {service: main, max_depth: 5}\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: api.yaml line 3: two rows have the id 'fakeq main' (lines 2 and 3)*"]
    )


def test_tags_and_needs_of_dependency_rows_are_markers(pytester):
    pytester.makefile(".yaml", sleuth=SUITE)
    write_table(
        pytester,
        """
        fakeq:
          - {name: a, service: main, tags: [queues]}
          - {name: b, service: main, needs: main}
        """,
    )
    result = pytester.runpytest("-m", "queues", "-v")
    result.assert_outcomes(passed=1)
    pytester.makeconftest(
        """
        def pytest_collection_modifyitems(items):
            for item in items:
                mark = item.get_closest_marker("needs")
                print("NEEDS", item.name, mark.args if mark else None)
        """
    )
    result = pytester.runpytest("-s", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["NEEDS a None", "NEEDS b ('main',)"])


def test_an_unexpected_error_in_a_helper_shows_its_frames_not_the_runners(pytester):
    pytester.makefile(".yaml", sleuth=SUITE)
    write_table(pytester, "fakeq:\n  - {url: 'fakeq://mq/x?depth=deep'}\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "    def check(self, **thresholds):",
            ">       depth = int(*",
            "E       ValueError: invalid literal for int() with base 10: 'deep'",
        ]
    )
    out = result.stdout.str()
    assert "_pytest" not in out
    assert "engine.py" not in out


def test_a_bad_threshold_value_names_the_row(pytester):
    pytester.makefile(".yaml", sleuth=SUITE)
    write_table(pytester, "fakeq:\n  - {service: main, max_depth: lots}\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "ConfigError: api.yaml line 2: fakeq check(): invalid max_depth 'lots': "
            "expected a whole number"
        ]
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        pytest.param(
            "fakeq:\n  - {service: main, max_dept: 5}\n",
            "ERROR: api.yaml line 2: unknown key 'max_dept' in a fakeq row. Valid keys: "
            "max_depth, min_consumers, name, needs, queue, service, tags, timeout, url."
            " Did you mean 'max_depth'?",
            id="unknown-key",
        ),
        pytest.param(
            "fakeq:\n  - {max_depth: 5}\n",
            "ERROR: api.yaml line 2: a fakeq row needs service: (a name under services:"
            " fakeq: in sleuth.yaml) or its address: one of queue, url",
            id="no-address",
        ),
        pytest.param(
            "fakeq:\n  - {service: [main]}\n",
            "ERROR: api.yaml line 2: service must name a fakeq service of the target, "
            "found a list",
            id="bad-service",
        ),
        pytest.param(
            "fakeq:\n  - 5\n",
            "ERROR: api.yaml line 2: a fakeq row is a service name, or a mapping of "
            "max_depth, min_consumers, name, needs, queue, service, tags, timeout, url;"
            " found int 5",
            id="bad-row",
        ),
        pytest.param(
            "fakedns:\n  - {name: x, nmae: y}\n",
            "ERROR: api.yaml line 2: unknown key 'nmae' in a fakedns row. Valid keys: "
            "expect, id, name, needs, service, tags, timeout, type. Did you mean 'name'?",
            id="label-is-id-where-name-is-taken",
        ),
        pytest.param(
            "fakeqq:\n  - main\n",
            "ERROR: api.yaml line 1: unknown section 'fakeqq'. Sections: amqp, dns, "
            "fakedns, fakeq, http, mqtt, mysql, nats, postgres, redis, settings, tcp, "
            "tls. Did you mean 'fakeq'?",
            id="unknown-kind",
        ),
    ],
)
def test_bad_dependency_rows_are_usage_errors(pytester, table, message):
    pytester.makefile(".yaml", sleuth=SUITE)
    write_table(pytester, table)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
