"""What every source held for each name a run read, for the history.

The resolver asks every source for a name; the history keeps, per run, each
source's answer and a keyed fingerprint of its value, so ``sleuth history
NAME`` can say when the environment's value changed even while a dotenv file
shadowed it, or when a source gained or lost the name. Values stay here, in
memory; only their fingerprints, keyed with the store's key, leave.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from sleuth._evidence import SourceAnswer, SourceHeld

HAS_VALUE = frozenset({"present", "empty"})


def keyed_fingerprint(key: bytes, value: Any) -> str:
    """HMAC-SHA256 of a value (its text, or its bytes as they are), keyed."""
    data = value if isinstance(value, bytes) else str(value).encode("utf-8", "replace")
    return hmac.new(key, data, hashlib.sha256).hexdigest()


class HeldBySource:
    """The last lookup of each name: each source's answer and its value.

    Safe to call from many threads, as the resolver is.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_name: dict[str, tuple[tuple[str, str, Any], ...]] = {}

    def keep(
        self,
        name: str,
        answers: Iterable[SourceAnswer],
        values: Sequence[tuple[str, Any]],
    ) -> None:
        """Keep a lookup's ``answers`` (in the order asked) with ``values``: the
        (label, value) of each answer that had one, in the same order."""
        given = iter(values)
        held: list[tuple[str, str, Any]] = []
        for answer in answers:
            value = next(given)[1] if answer.state in HAS_VALUE else None
            held.append((answer.source, answer.state, value))
        with self._lock:
            self._by_name[name] = tuple(held)

    def fingerprints(self, key: bytes, name: str) -> tuple[SourceHeld, ...]:
        """Each source's state for ``name`` and its value's keyed fingerprint."""
        with self._lock:
            held = self._by_name.get(name, ())
        return tuple(
            SourceHeld(
                source=label,
                state=state,
                fingerprint=(
                    keyed_fingerprint(key, value) if state in HAS_VALUE else None
                ),
            )
            for label, state, value in held
        )
