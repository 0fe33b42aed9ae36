"""Checks a setting's value must pass, each saying why without quoting it.

A setting's value may be a secret, so a failed check never shows the value
nor a part of it: only the check and what it wanted ("does not match
^sk_live_", "is not one of debug, info"). Shared by ``settings:`` table rows
and ``target.check_setting`` in Python.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import urllib.parse
from collections.abc import Sequence, Sized
from typing import Any

# Placeholders left in by a template or a copy-paste; matched case-insensitively.
_PLACEHOLDER_WHOLE = re.compile(
    r"^(change[-_ ]?me|todo|fixme|tbd|x{3,}|<[^<>]*>)$", re.IGNORECASE
)
_PLACEHOLDER_PART = re.compile(
    r"change[-_]?me|<[^<>\s]+>|(^|[^a-z0-9-])example\.(com|org|net)\b", re.IGNORECASE
)
PLACEHOLDERS = "changeme, TODO, xxx, <...> or example.com"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SettingChecks:
    """What a present value must be. Each failure is a reason, never the value."""

    non_empty: bool = False
    pattern: re.Pattern[str] | None = None
    one_of: tuple[str, ...] | None = None
    url: bool = False
    schemes: tuple[str, ...] = ()
    not_placeholder: bool = False
    max_age_days: float | None = None
    max_age: str = ""  # as written, for messages: "90d"

    @classmethod
    def build(
        cls,
        *,
        non_empty: bool = False,
        matches: str | re.Pattern[str] | None = None,
        one_of: Sequence[object] | None = None,
        url: bool | Sequence[str] = False,
        not_placeholder: bool = False,
        max_age: str | float | datetime.timedelta | None = None,
    ) -> SettingChecks:
        """From the same keywords a table row uses. Raises ``ValueError`` or
        ``re.error`` on a check that cannot be run."""
        if one_of is not None:
            if isinstance(one_of, str) or not one_of:
                raise ValueError("one_of must be a non-empty list of values")
            choices: tuple[str, ...] | None = tuple(_as_text(c) for c in one_of)
        else:
            choices = None
        schemes: tuple[str, ...] = ()
        if not isinstance(url, bool):
            if isinstance(url, str) or not url:
                raise ValueError("url must be true or a non-empty list of schemes")
            schemes = tuple(str(s).lower() for s in url)
        pattern = re.compile(matches) if isinstance(matches, str) else matches
        return cls(
            non_empty=non_empty,
            pattern=pattern,
            one_of=choices,
            url=bool(url),
            schemes=schemes,
            not_placeholder=not_placeholder,
            **_max_age(max_age),
        )

    def failures(
        self, text: str, value: Any = None, *, default: str | None = None
    ) -> list[str]:
        """Why ``text`` (``value`` as text) fails, one reason per failed check
        ([] when it passes). ``default``: the settings model's default for
        the field the value came from, a placeholder too when it is still that."""
        why: list[str] = []
        if self.non_empty and _is_empty(text, value):
            why.append("is empty (non_empty)")
        if self.pattern is not None and not self.pattern.search(text):
            why.append(f"does not match {self.pattern.pattern}")
        if self.one_of is not None and text.strip() not in self.one_of:
            why.append(f"is not one of {', '.join(self.one_of)}")
        if self.url:
            problem = _url_problem(text.strip(), self.schemes)
            if problem:
                why.append(problem)
        if self.not_placeholder and _is_placeholder(text.strip()):
            why.append(f"looks like a placeholder ({PLACEHOLDERS})")
        elif self.not_placeholder and default is not None and text == default:
            why.append("is still the settings model's default (not_placeholder)")
        return why

    def age_failure(
        self,
        changed_at: datetime.datetime | None,
        *,
        source: str,
        now: datetime.datetime,
    ) -> str:
        """Why a value last changed at ``changed_at`` (by ``source``'s word)
        fails ``max_age``; "" when it passes or there is no such check. A
        source that does not say when its values change cannot pass it."""
        if self.max_age_days is None:
            return ""
        if changed_at is None:
            return (
                f"max_age {self.max_age} cannot be judged: {source} does not say "
                f"when a value changed (aws-secrets and aws-ssm do)"
            )
        age_s = (now - changed_at).total_seconds()
        if age_s <= self.max_age_days * 86400:
            return ""
        # The largest unit that reads as a whole number of at least two.
        size, unit = next(
            ((size, unit) for size, unit in _AGE_UNITS if age_s >= 2 * size),
            (1, "seconds"),
        )
        ago = f"{int(age_s // size)} {unit}"
        day = changed_at.astimezone(datetime.UTC).strftime("%Y-%m-%d")
        return f"changed {ago} ago ({day}), max_age {self.max_age}"


_AGE_UNITS = ((86400, "days"), (3600, "hours"), (60, "minutes"))


def _max_age(value: str | float | datetime.timedelta | None) -> dict[str, Any]:
    """``max_age`` in days and as written; ``ValueError`` on one that is not."""
    from sleuth.errors import ConfigError
    from sleuth.suite.units import parse_days

    if value is None:
        return {}
    if isinstance(value, datetime.timedelta):
        days = value.total_seconds() / 86400
        return {"max_age_days": days, "max_age": f"{days:g}d"}
    try:
        days = parse_days(value, where="", what="max_age")
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    return {
        "max_age_days": days,
        "max_age": value if isinstance(value, str) else f"{value:g}d",
    }


def _is_empty(text: str, value: Any) -> bool:
    # Sources already call a blank string "empty"; an app function may return
    # an empty list or mapping, which is "present" to them.
    if isinstance(value, Sized) and not isinstance(value, (str, bytes)):
        return len(value) == 0
    return not text.strip()


def _as_text(choice: object) -> str:
    if isinstance(choice, bool):
        return "true" if choice else "false"
    if isinstance(choice, (str, int, float)):
        return str(choice)
    raise ValueError(f"one_of values must be strings or numbers, found {choice!r}")


def _url_problem(text: str, schemes: tuple[str, ...]) -> str:
    try:
        parts = urllib.parse.urlsplit(text)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        return "does not parse as a URL"
    if not parts.scheme or not parts.netloc or " " in text:
        return "is not a URL with a scheme and a host"
    if schemes and parts.scheme.lower() not in schemes:
        return f"is a URL whose scheme is not {' or '.join(schemes)}"
    return ""


def _is_placeholder(text: str) -> bool:
    return bool(_PLACEHOLDER_WHOLE.match(text) or _PLACEHOLDER_PART.search(text))
