"""Where a target's settings come from, and the lookup that asks each source.

A source answers one question, "what do you have for NAME?", with present,
empty, absent or error, and can list the names it knows (for "did you mean").
Sources are tried in the configured order; every answer is kept, so a missing
setting is reported with every place it was looked for. One module per source.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from sleuth._evidence import SettingLookup, SettingState, SourceAnswer, SourceState
from sleuth.engine import imports
from sleuth.settings import conflict
from sleuth.settings.held import HeldBySource, keyed_fingerprint
from sleuth.suite.sources import SOURCES, SourceSpec


@dataclasses.dataclass(frozen=True, slots=True)
class Found:
    """One source's answer. ``value`` is set only when ``state`` is present/empty."""

    state: SourceState
    value: Any = None
    detail: str = ""
    broken: str = ""  # the source could not be read at all: why (see SourceAnswer)
    version: str = ""  # the value's version, where the source has versions
    changed_at: datetime.datetime | None = None  # when it last changed, if known
    secret: bool = False  # a secret whatever its source says (a SecretStr field)

    @classmethod
    def of(cls, value: Any, *, detail: str = "") -> Found:
        if value is None:
            return cls("absent", detail=detail)
        if isinstance(value, str) and not value.strip():
            return cls("empty", value, detail=detail)
        return cls("present", value, detail=detail)

    @property
    def setting_state(self) -> SettingState:
        """The answer as a lookup takes it: an error is no answer (absent)."""
        return "absent" if self.state == "error" else self.state


class SourceUnavailable(Exception):
    """A source could not be read at all: for every name, not just this one.

    Its message says why, in words that follow the source's label:
    ``cannot be imported (ModuleNotFoundError: No module named 'my_appp')``.
    """


class SettingSource(Protocol):
    label: str
    is_secret: bool

    def lookup(self, name: str) -> Found: ...

    def names(self) -> Iterable[str]: ...


def build_source(spec: SourceSpec, *, root: Path) -> SettingSource:
    """Instantiate the source a config entry describes."""
    module_name, _, class_name = SOURCES[spec.kind].partition(":")
    factory = getattr(imports.load(module_name), class_name)
    source: SettingSource = factory(spec, root=root)
    return source


SecretHook = Callable[[str, Any, SettingSource], None]


class SettingsResolver:
    """Looks names up across sources, in order. Safe to call from many threads.

    Args:
        on_value: told of every value any source returns (the secret registry
            listens here, so a value is known before it can be printed).
    """

    def __init__(
        self, sources: list[SettingSource], *, on_value: SecretHook | None = None
    ) -> None:
        self.sources = sources
        self._on_value = on_value
        self._lock = threading.Lock()
        # What the run read, for the history: the last lookup of each name, and
        # the value each used. Values stay in memory; only digests leave.
        self.looked_up: dict[str, SettingLookup] = {}
        self._used: dict[str, Any] = {}
        # Every value any source gave for a name (the one used and those it
        # shadowed), so the history can mask each wherever it appears.
        self._seen: dict[str, set[str]] = {}
        # Each source's answer and value, for the history's per-source timeline.
        self.held = HeldBySource()
        # Keys the fingerprints in conflict notes; made for this run, never shown.
        self._conflict_key = os.urandom(32)

    def lookup(self, name: str) -> tuple[Any, SettingLookup]:
        """The value of the first source that has ``name``, and the full story."""
        answers: list[SourceAnswer] = []
        chosen: tuple[Found, SettingSource] | None = None
        # Every source is asked, not only up to the first that has it: they
        # are local and cheap, and a later one holding another value is news.
        held: list[tuple[str, Any]] = []
        for source in self.sources:
            found = _ask(source, name)
            answers.append(_answer(source, found))
            if found.state in ("present", "empty"):
                self.tell(name, found.value, source, secret=found.secret)
                held.append((source.label, found.value))
                if chosen is None:
                    chosen = (found, source)
        self.held.keep(name, answers, held)
        if chosen is None:
            with self._lock:
                self._used.pop(name, None)
            lookup = SettingLookup(
                name=name,
                answers=tuple(answers),
                found_in=None,
                state="absent",
                close_names=self.close_names(name),
            )
            with self._lock:
                self.looked_up[name] = lookup
            return None, lookup
        found, source = chosen
        close = self.close_names(name) if found.state != "present" else ()
        lookup = SettingLookup(
            name=name,
            answers=tuple(answers),
            found_in=source.label,
            state=found.setting_state,
            close_names=close,
            conflict=conflict.note(held, key=self._conflict_key),
        )
        with self._lock:
            self.looked_up[name] = lookup
            self._used[name] = found.value
        return found.value, lookup

    def answered(self, name: str, source: SettingSource, found: Found) -> SettingLookup:
        """Keep an answer the app got from ``source`` by itself, as ``lookup`` would.

        A probe calling the app's own settings function asked one source, so
        the story has that one answer; on a miss, close names from all sources.
        When it got a value, the other sources are asked too (quietly: not in
        the answers) so that one holding another value is noted.
        """
        differ = ""
        asked = [_answer(source, found)]
        held: list[tuple[str, Any]] = []
        if found.state in ("present", "empty"):
            self.tell(name, found.value, source, secret=found.secret)
            held.append((source.label, found.value))
            for other in self.sources:
                if other is source:
                    continue
                also = _ask(other, name)
                asked.append(_answer(other, also))
                if also.state in ("present", "empty"):
                    self.tell(name, also.value, other, secret=also.secret)
                    held.append((other.label, also.value))
            differ = conflict.note(held, key=self._conflict_key, called=True)
        self.held.keep(name, asked, held)
        lookup = SettingLookup(
            name=name,
            answers=(_answer(source, found),),
            found_in=source.label if found.state in ("present", "empty") else None,
            state=found.setting_state,
            close_names=self.close_names(name) if found.state != "present" else (),
            conflict=differ,
        )
        with self._lock:
            self.looked_up[name] = lookup
            if lookup.found_in is None:
                self._used.pop(name, None)
            else:
                self._used[name] = found.value
        return lookup

    def tell(
        self, name: str, value: Any, source: SettingSource, *, secret: bool = False
    ) -> None:
        """A value ``source`` gave for ``name``: kept for the history's masking,
        and told to ``on_value`` (the secret registry) before anyone can print it.
        ``secret``: the value is one whatever its source is (a SecretStr field)."""
        self._remember(name, value)
        if self._on_value is not None:
            if secret and not source.is_secret:
                source = _SecretView(source.label)
            self._on_value(name, value, source)

    def _remember(self, name: str, value: Any) -> None:
        text = (
            value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        )
        with self._lock:
            self._seen.setdefault(name, set()).add(text)

    def seen_values(self) -> dict[str, tuple[str, ...]]:
        """Every value the sources gave, by setting name: held in memory only."""
        with self._lock:
            return {name: tuple(sorted(v)) for name, v in self._seen.items()}

    def fingerprint(self, key: bytes, name: str) -> str | None:
        """HMAC-SHA256 of the value ``name`` last had, keyed; None if it had none."""
        with self._lock:
            if name not in self._used:
                return None
            value = self._used[name]
        return keyed_fingerprint(key, value)

    def view(self, key: bytes, name: str) -> dict[str, Any]:
        """How this process sees ``name``, keyed: the state and fingerprint of
        the value it used, and each source's it asked (by source label).

        An xdist worker's and its controller's, keyed with the run's own key,
        compare (``plugin/distributed.py``); no value can be read back.
        """
        with self._lock:
            lookup = self.looked_up.get(name)
        return {
            "used": [
                lookup.state if lookup is not None else None,
                self.fingerprint(key, name),
            ],
            "sources": {
                h.source: [h.state, h.fingerprint]
                for h in self.held.fingerprints(key, name)
            },
        }

    def close_names(self, name: str) -> tuple[str, ...]:
        """Names that exist in some source and look like ``name``: typos, case."""
        known: dict[str, str] = {}
        for source in self.sources:
            try:
                for candidate in source.names():
                    known.setdefault(candidate, source.label)
            except Exception:  # noqa: S112 (a source that cannot list names offers none)
                continue
        known.pop(name, None)
        folded = {candidate.upper(): candidate for candidate in known}
        matches = difflib.get_close_matches(name.upper(), list(folded), n=3, cutoff=0.8)
        return tuple(f"{folded[m]} ({known[folded[m]]})" for m in matches)


@dataclasses.dataclass(slots=True)
class _SecretView:
    """A source as the secret registry sees it when one of its values is secret."""

    label: str
    is_secret: bool = True

    def lookup(self, name: str) -> Found:
        return Found("absent")

    def names(self) -> Iterable[str]:
        return ()


def _answer(source: SettingSource, found: Found) -> SourceAnswer:
    return SourceAnswer(
        source=source.label,
        state=found.state,
        detail=found.detail,
        broken=found.broken,
        where=getattr(source, "where", "") if found.broken else "",
        version=found.version,
        changed_at=found.changed_at,
    )


def _ask(source: SettingSource, name: str) -> Found:
    try:
        return source.lookup(name)
    except SourceUnavailable as exc:
        return Found("error", detail=str(exc), broken=str(exc))
    except Exception as exc:  # a broken source is an answer, not a crash
        return Found("error", detail=f"{type(exc).__name__}: {exc}")
