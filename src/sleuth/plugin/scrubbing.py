"""Scrubs secrets from everything pytest reports, before anyone else sees it.

A plugin object registered for a sleuth run. It rewrites test ids
that carry a secret at collection, masks secret parametrize values in ids, and
scrubs every test and collection report as it is made (failure text,
tracebacks, ``--showlocals``, captured output and logs, sections, user
properties), so the terminal, JUnit XML, pytest-html, pytest-json-report and
any other reporter receive clean reports. Warnings and log records are
scrubbed too; the terminal stream itself is scrubbed in ``capture``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Generator
from typing import Any

import pytest

from sleuth._compat import pytest as pytest_compat
from sleuth.redact import MASK, SCALAR_TYPES, SecretRegistry

_MAX_DEPTH = 64
_EMPTY = frozenset({list, tuple, dict, str})


def _same(items: list[Any], original: list[Any] | tuple[Any, ...]) -> bool:
    return all(new is old for new, old in zip(items, original, strict=True))


class ScrubbingPlugin:
    def __init__(self, registry: SecretRegistry) -> None:
        self.registry = registry
        self.log_filter = ScrubLogFilter(registry)

    # -- ids ------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_make_parametrize_id(
        self, config: pytest.Config, val: object, argname: str
    ) -> str | None:
        if self.registry.is_secret(val):
            return MASK
        if isinstance(val, str) and self.registry.contains_secret(val):
            return self.registry.scrub(val)
        return None

    # A wrapper, tryfirst: rename before -k, -m and --lf look at the items.
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_collection_modifyitems(
        self, items: list[pytest.Item]
    ) -> Generator[None]:
        for item in items:
            self._rename(item)
        return (yield)

    def _rename(self, item: pytest.Item) -> None:
        name = self.registry.scrub(item.name)
        if name == item.name and self.registry.scrub(item.nodeid) == item.nodeid:
            return
        pytest_compat.rename_item(
            item, name=name, nodeid=self.registry.scrub(item.nodeid)
        )

    # -- reports --------------------------------------------------------------

    @pytest.hookimpl(wrapper=True, tryfirst=True)  # outermost: after all others edit it
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        self.scrub_report(report, item.config)
        return report

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_make_collect_report(
        self, collector: pytest.Collector
    ) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
        report = yield
        self.scrub_report(report, collector.config)
        return report

    def scrub_report(
        self, report: pytest.TestReport | pytest.CollectReport, config: pytest.Config
    ) -> None:
        """Mask every secret in ``report``'s attributes, in place.

        Plain values (sections, user properties, keywords, location, a skip's
        reason) are walked and reassigned. A failure's ``longrepr`` is a tree of
        pytest's own objects: it goes out through the hook pytest and xdist
        serialize reports with, is scrubbed as plain data, and comes back as a
        new tree, so no object pytest made is changed behind its back.
        """
        if not len(self.registry):
            return  # no secret known: nothing to look for
        for key, value in list(vars(report).items()):
            if key == "result":  # a collect report's collected nodes: renamed above
                continue
            kind = type(value)
            if value is None or kind in SCALAR_TYPES or (not value and kind in _EMPTY):
                continue  # durations, times, no sections: half of a report
            if key == "longrepr" and hasattr(value, "toterminal"):
                walked = self._scrub_longrepr(report, config)
            else:
                walked = self._walk(value, 0)
            if walked is not value:
                setattr(report, key, walked)

    def _scrub_longrepr(
        self, report: pytest.TestReport | pytest.CollectReport, config: pytest.Config
    ) -> object:
        """``report.longrepr`` with secrets masked; the same object when clean."""
        longrepr = report.longrepr
        if not self._may_hold_secret(longrepr, 0):
            return longrepr  # most failures: no secret, nothing to rebuild
        data = config.hook.pytest_report_to_serializable(config=config, report=report)
        serialized = data.get("longrepr") if isinstance(data, dict) else None
        if serialized is None:  # a report type no plugin serializes: as text
            text = str(longrepr)
            scrubbed_text = self.registry.scrub(text)
            return longrepr if scrubbed_text == text else scrubbed_text
        scrubbed = self._walk(serialized, 0)
        if scrubbed is serialized:
            return longrepr
        if isinstance(scrubbed, str):  # a TerminalRepr pytest sends as its text
            return scrubbed
        rebuilt = config.hook.pytest_report_from_serializable(
            config=config, data={**data, "longrepr": scrubbed}
        )
        return rebuilt.longrepr

    def _may_hold_secret(self, value: Any, depth: int) -> bool:
        """Whether ``value`` holds a secret, or may: a quick read-only look.

        It sees into strings, containers and dataclasses (pytest's repr
        classes are), and answers "may" for any other object, so that
        ``_scrub_longrepr`` serializes it to be sure. Reading only, it spares
        serializing every clean failure (about 0.3 ms each).
        """
        if isinstance(value, str):
            return self.registry.scrub(value) != value
        if value is None or type(value) in SCALAR_TYPES:
            return False
        if depth > _MAX_DEPTH:
            return True
        if isinstance(value, list | tuple):
            if self.registry.known_clean(value):
                return False
            return any(self._may_hold_secret(v, depth + 1) for v in value)
        if isinstance(value, dict):
            return any(
                self._may_hold_secret(k, depth + 1)
                or self._may_hold_secret(v, depth + 1)
                for k, v in value.items()
            )
        if dataclasses.is_dataclass(value) and hasattr(value, "__dict__"):
            return self._may_hold_secret(vars(value), depth + 1)
        return True

    def _walk(self, value: Any, depth: int) -> Any:
        """``value`` with secrets masked; the same object when there were none.

        Strings, lists, tuples and dicts are walked; any other object is left
        as it is. Returning the same object spares rebuilding every keyword
        dict and location tuple of every report (three per probe): most hold
        no secret.
        """
        if isinstance(value, str):
            return self.registry.scrub(value)
        if value is None or type(value) in SCALAR_TYPES:
            return value
        if depth > _MAX_DEPTH:
            return value
        known_clean = self.registry.known_clean
        if isinstance(value, dict):
            if known_clean(value) and known_clean(value.values()):
                return value  # a report's keywords, seen in an earlier report
        elif isinstance(value, list | tuple) and known_clean(value):
            return value
        if isinstance(value, list):
            items = [self._walk(v, depth + 1) for v in value]
            return value if _same(items, value) else items
        if isinstance(value, tuple) and not hasattr(value, "_fields"):
            items = [self._walk(v, depth + 1) for v in value]
            return value if _same(items, value) else tuple(items)
        if isinstance(value, dict):
            pairs = [
                (self._walk(k, depth + 1), self._walk(v, depth + 1))
                for k, v in value.items()
            ]
            unchanged = all(
                new_k is k and new_v is v
                for (new_k, new_v), (k, v) in zip(pairs, value.items(), strict=True)
            )
            return value if unchanged else dict(pairs)
        return value

    # -- assertions, warnings, logs ----------------------------------------------

    def pytest_assertrepr_compare(
        self, config: pytest.Config, op: str, left: object, right: object
    ) -> list[str] | None:
        if not (self.registry.is_secret(left) or self.registry.is_secret(right)):
            return None
        shown = [
            repr(MASK) if self.registry.is_secret(v) else repr(v) for v in (left, right)
        ]
        return [
            f"{shown[0]} {op} {shown[1]}",
            "(a secret is involved: its value is not shown)",
        ]

    @pytest.hookimpl(tryfirst=True)  # before the terminal reporter keeps it
    def pytest_warning_recorded(self, warning_message: Any) -> None:
        message = warning_message.message
        text = str(message)
        scrubbed = self.registry.scrub(text)
        if scrubbed != text:
            try:
                warning_message.message = type(message)(scrubbed)
            except Exception:
                warning_message.message = UserWarning(scrubbed)

    def guard_log_handlers(self) -> None:
        """Scrub records on their way to every handler on the root logger."""
        for handler in logging.getLogger().handlers:
            if self.log_filter not in handler.filters:
                handler.addFilter(self.log_filter)

    def unguard_log_handlers(self) -> None:
        for handler in logging.getLogger().handlers:
            handler.removeFilter(self.log_filter)


class ScrubLogFilter(logging.Filter):
    """Formats a record's message (and traceback) early, scrubbed."""

    def __init__(self, registry: SecretRegistry) -> None:
        super().__init__()
        self.registry = registry

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True  # let logging report its own formatting error
        scrubbed = self.registry.scrub(message)
        if scrubbed != message or record.args:
            record.msg, record.args = scrubbed, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.registry.scrub(record.exc_text)
        return True
