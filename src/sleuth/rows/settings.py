"""``settings:`` rows: a setting must be there, and may have to look right.

    settings:
      required: [DATABASE_URL, CACHE_HOST]
      API_KEY: {secret: true}
      PORT: {type: int}
      LOG_LEVEL: {one_of: [debug, info, warning], required: false}
      STRIPE_KEY: {matches: "^sk_live_", not_placeholder: true}

One probe per setting name. A failed value check (matches, one_of, url,
not_placeholder, non_empty; see sleuth.setting_checks) never shows the value.
A failed type shows it only when nothing says it is secret: not the rule, not
its source, not its name (and URLs have their passwords masked even then).
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sleuth import timing
from sleuth.errors import CheckFailed, ConfigError
from sleuth.evidence import SettingLookup
from sleuth.redact import Secret, mask_dsn
from sleuth.rows import PathT, Row, Table, read_common
from sleuth.rows.expect import compile_regex
from sleuth.setting_checks import SettingChecks
from sleuth.units import parse_days, parse_duration
from sleuth.validate import did_you_mean, kind_of

if TYPE_CHECKING:
    from sleuth.target import Target

CHECK_KEYS = ("non_empty", "one_of", "url", "not_placeholder", "max_age")
RULE_KEYS = frozenset(
    {"required", "secret", "matches", "type", "needs", "tags", *CHECK_KEYS}
)
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


def parse_rows(body: Any, path: PathT, table: Table) -> list[Row]:
    if isinstance(body, list):
        body = {"required": body}
    if not isinstance(body, dict):
        raise table.fail(
            path, f"settings: must be a mapping such as {{required: [DATABASE_URL]}} "
            f"with rules per name, found {kind_of(body)}",
        )  # fmt: skip
    rows: dict[str, Row] = {}
    model = body.get("model")
    if model is not None:
        from sleuth.rows.settings_model import is_model_rule, parse_model_rows

        if is_model_rule(model):
            body = {k: v for k, v in body.items() if k != "model"}
            rows.update(
                (r.id, r) for r in parse_model_rows(model, (*path, "model"), table)
            )
    required = body.get("required", [])
    if not isinstance(required, list) or not all(
        isinstance(n, str) and n for n in required
    ):
        raise table.fail(
            (*path, "required"), f"required: must be a list of setting names, found "
            f"{kind_of(required)}",
        )  # fmt: skip
    for index, name in enumerate(required):
        rows[name] = _rule_row(name, {}, (*path, "required", index), table)
    for name, rules in body.items():
        if name == "required":
            continue
        at = (*path, str(name))
        if rules is None:
            rules = {}
        if not isinstance(rules, dict):
            raise table.fail(
                at,
                f"the rules of setting {name!r} must be a mapping of "
                f"{', '.join(sorted(RULE_KEYS))}, found {kind_of(rules)}."
                f"{did_you_mean(str(name), ['required'])}",
            )
        rows[str(name)] = _rule_row(str(name), rules, at, table)
    return list(rows.values())


def _rule_row(name: str, rules: dict[str, Any], path: PathT, table: Table) -> Row:
    table.check_keys(rules, RULE_KEYS, path, f"the rules of setting {name!r}")
    for flag in ("required", "secret"):
        if not isinstance(rules.get(flag, True), bool):
            raise table.fail((*path, flag), f"{flag} must be true or false")
    kind = rules.get("type")
    if kind is not None and (not isinstance(kind, str) or kind not in TYPES):
        raise table.fail(
            (*path, "type"),
            f"unknown type {kind!r}. Types: {', '.join(sorted(TYPES))}."
            f"{did_you_mean(str(kind), TYPES)}",
        )
    rule = SettingRule(
        name=name,
        required=rules.get("required", True),
        secret=rules.get("secret", False),
        type=kind,
        checks=_checks(rules, path, table),
    )
    common = read_common(rules, path, table, name_key=None)
    return Row(
        id=f"setting {name}",
        section="settings",
        line=table.line(path),
        where=table.where(path),
        body=rule.run,
        needs=common.needs,
        tags=common.tags,
    )


def _checks(rules: dict[str, Any], path: PathT, table: Table) -> SettingChecks:
    """The value checks of a row, each key validated where it is written."""
    pattern = rules.get("matches")
    if pattern is not None and not isinstance(pattern, str):
        raise table.fail((*path, "matches"), "matches must be a regular expression")
    for flag in ("non_empty", "not_placeholder"):
        if not isinstance(rules.get(flag, False), bool):
            raise table.fail((*path, flag), f"{flag} must be true or false")
    url = rules.get("url", False)
    if not isinstance(url, bool) and not (
        isinstance(url, list) and url and all(isinstance(s, str) and s for s in url)
    ):
        raise table.fail(
            (*path, "url"),
            f"url must be true or a list of schemes such as [https], found "
            f"{kind_of(url)}",
        )
    one_of = rules.get("one_of")
    if one_of is not None and not (
        isinstance(one_of, list)
        and one_of
        and all(isinstance(c, (str, int, float)) for c in one_of)
    ):
        raise table.fail(
            (*path, "one_of"),
            f"one_of must be a list of values such as [debug, info], found "
            f"{kind_of(one_of)}",
        )
    max_age = rules.get("max_age")
    if max_age is not None:
        try:
            parse_days(max_age, where="", what="max_age")
        except ConfigError as exc:
            raise table.fail((*path, "max_age"), str(exc)) from None
    return SettingChecks.build(
        max_age=max_age,
        non_empty=rules.get("non_empty", False),
        matches=compile_regex(pattern, (*path, "matches"), table) if pattern else None,
        one_of=one_of,
        url=url,
        not_placeholder=rules.get("not_placeholder", False),
    )
