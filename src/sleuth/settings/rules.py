"""A setting held to a rule: present (unless optional), of a type, passing checks.

One rule for the two ways a suite states it: a ``settings:`` table row
(``rows.settings`` reads it from YAML) and ``target.check_setting`` in Python.
A failed value check never shows the value (see ``checks``); a failed type
shows it only when nothing says it is secret: not the rule, not its source,
not its name (and URLs have their passwords masked even then).
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sleuth import _timing as timing
from sleuth._evidence import SettingLookup
from sleuth.errors import CheckFailed, ConfigError
from sleuth.redact import Secret, mask_dsn
from sleuth.settings.checks import SettingChecks
from sleuth.suite.units import parse_duration

if TYPE_CHECKING:
    from sleuth.target import Target

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/\s]+")
_BOOLS = frozenset({"true", "false", "yes", "no", "on", "off", "1", "0"})
# Names that usually hold credentials: their values are never shown.
_SECRET_NAME = re.compile(
    r"pass|pwd|secret|token|key|credential|auth|private|cookie|session|dsn",
    re.IGNORECASE,
)


def _is_int(text: str) -> str:
    return (
        "" if re.fullmatch(r"[+-]?\d+", text.strip()) else "a whole number, e.g. 8080"
    )


def _is_bool(text: str) -> str:
    return "" if text.strip().lower() in _BOOLS else "true/false, yes/no, on/off or 1/0"


def _is_url(text: str) -> str:
    return "" if _URL.match(text.strip()) else "a URL with a scheme and a host"


def _is_email(text: str) -> str:
    return "" if _EMAIL.match(text.strip()) else "an address such as ops@example.com"


def _is_duration(text: str) -> str:
    try:
        parse_duration(text, where="", what="duration")
    except ConfigError:
        return "a duration such as 30s, 150ms or 2.5"
    return ""


# type -> a check returning "" when the text is one, else what was expected.
TYPES: dict[str, Callable[[str], str]] = {
    "bool": _is_bool,
    "duration": _is_duration,
    "email": _is_email,
    "int": _is_int,
    "url": _is_url,
}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SettingRule:
    """What one setting must be: present (unless optional), typed, matching."""

    name: str
    required: bool = True
    secret: bool = False
    type: str | None = None
    checks: SettingChecks = dataclasses.field(default_factory=SettingChecks)

    def run(self, target: Target) -> None:
        """Look the setting up (recorded as evidence) and hold it to the rule."""
        __tracebackhide__ = True
        self.check(target)

    def check(self, target: Target) -> Any:
        """The setting's value once it passes the rule (None when optional and
        absent); ``CheckFailed`` naming the rule otherwise."""
        __tracebackhide__ = True
        value, lookup = target.explain_setting(self.name)
        if lookup.is_missing:
            if self.required or lookup.state == "empty":
                raise CheckFailed(lookup.describe(), target=self.name)
            return None
        source = next(
            (s for s in target.settings.sources if s.label == lookup.found_in), None
        )
        from_secret_source = source is not None and source.is_secret
        found = f"setting {self.name} (from {lookup.found_in})"
        if self.secret and not from_secret_source:
            raise CheckFailed(
                f"{found} is marked secret but {lookup.found_in} is not a secret "
                f"source. Keep it in a secret store (a dir: mount such as "
                f"/run/secrets, or a source marked secret: true), not in plain config.",
                target=self.name,
            )
        text = (
            value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        )
        hidden = (
            self.secret
            or from_secret_source
            or bool(_SECRET_NAME.search(self.name))
            or isinstance(value, Secret)  # the registry knows it: a SecretStr field
        )
        shown = "set (value not shown: secret)" if hidden else f"{_show(text)}"
        if self.type is not None:
            wanted = TYPES[self.type](text)
            if wanted:
                raise CheckFailed(
                    f"{found} is {shown}, not a valid {self.type}: expected {wanted}",
                    target=self.name,
                )
        default_of = getattr(source, "default_text", None)  # a settings model's
        default = default_of(self.name) if callable(default_of) else None
        failures = self.checks.failures(text, value, default=default)
        aged = self.checks.age_failure(
            _changed_at(lookup), source=str(lookup.found_in), now=timing.utcnow()
        )
        failures += [aged] if aged else []
        if failures:
            # Never the value, secret or not: only the checks and what they wanted.
            raise CheckFailed(
                f"{self.name}: present but {'; '.join(failures)} "
                f"(from {lookup.found_in})",
                target=self.name,
            )
        return value


def _changed_at(lookup: SettingLookup) -> datetime.datetime | None:
    """When the value used last changed, if its source says (a secrets manager)."""
    return next(
        (a.changed_at for a in lookup.answers if a.source == lookup.found_in), None
    )


def _show(text: str) -> str:
    masked = mask_dsn(text)
    return repr(masked if len(masked) <= 80 else masked[:80] + "...")
