"""What the SQL guard tests share: forms, and what each layer must do with one.

A form is a sneaky text with the layer that stops it on its own, besides the
guard: SESSION (the read-only transaction, or one statement per call), ROLE (a
role or user with no grants beyond reading), or None (never sent with the guard
off: it would change the shared server). Each check runs a form through a
helper's ``query()`` and compares what a separate connection sees before and
after; ``seen`` reads that.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest

from sleuth._evidence import classify
from sleuth.errors import CheckFailed, WriteRefused
from sleuth.probes._sql_guard import SqlGuard, Statement
from tests.integration.conftest import in_probe

SESSION, ROLE = "session", "role"

Seen = Callable[[], dict[str, Any]]
Query = Callable[[], object]


def form(sql: str, id: str, stopped_by: str | None = SESSION) -> Any:
    """A parameter ``(sql, layer)`` for tests parametrized over ("sql", "layer")."""
    return pytest.param(sql, stopped_by, id=id)


def stopped_by(forms: list[Any], layer: str | None) -> list[Any]:
    return [f for f in forms if f.values[1] == layer]


def guard_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let every text through the guard, to see what the layers under it do."""

    def let_through(self: SqlGuard, sql: str, **_: Any) -> Statement:
        return Statement(keyword=self.first_keyword(sql))

    monkeypatch.setattr(SqlGuard, "refuse_unless_read", let_through)


def check_refused(query: Query, seen: Seen, *, shown: str, server_said: str) -> None:
    """Refused, reported as a write-refused failure, and nothing changed."""
    before = seen()
    with in_probe() as ctx, pytest.raises(WriteRefused) as caught:
        query()
    assert seen() == before
    assert classify(caught.value, exchanges=ctx.exchanges) == (
        "failed",
        "write-refused",
    )
    message = str(caught.value)
    assert message.startswith(f"{shown}: ")
    if message.endswith("Nothing was sent."):  # the guard, before connecting
        assert " refused: " in message
        assert ctx.exchanges == []
    else:  # the server, inside the read-only transaction
        assert f"the server refused a write: {server_said}" in message
        assert ctx.exchanges[-1].error == message


def check_session_alone(query: Query, seen: Seen) -> None:
    """With the guard off: the server refuses it (read-only, one statement a
    call), or it runs and changes nothing that outlives the session."""
    before = seen()
    with in_probe(), contextlib.suppress(WriteRefused, CheckFailed):
        query()
    assert seen() == before


def check_no_grant(query: Query, seen: Seen) -> str:
    """With the guard off, as a role without grants: refused, nothing changed.
    Returns the server's words."""
    before = seen()
    with in_probe(), pytest.raises(CheckFailed) as caught:
        query()
    assert seen() == before
    return str(caught.value)


def check_gets_through(query: Query, seen: Seen) -> None:
    """With the guard off, as a superuser: the form really changes something."""
    before = seen()
    with in_probe(), contextlib.suppress(CheckFailed):
        query()
    assert seen() != before
