"""``settings:`` rows: a setting must be there, and may have to look right.

    settings:
      required: [DATABASE_URL, CACHE_HOST]
      API_KEY: {secret: true}
      PORT: {type: int}
      LOG_LEVEL: {one_of: [debug, info, warning], required: false}
      STRIPE_KEY: {matches: "^sk_live_", not_placeholder: true}

One probe per setting name, each a ``settings.rules.SettingRule`` (the rule
``target.check_setting`` holds a setting to as well): this module reads the
rules from YAML and checks them with the file and line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sleuth.errors import ConfigError
from sleuth.rows.expect import compile_regex
from sleuth.rows.table import PathT, Row, Table, read_common
from sleuth.settings.checks import SettingChecks
from sleuth.settings.rules import TYPES, SettingRule
from sleuth.suite.units import parse_days
from sleuth.suite.validate import did_you_mean, kind_of

if TYPE_CHECKING:
    pass

CHECK_KEYS = ("non_empty", "one_of", "url", "not_placeholder", "max_age")
RULE_KEYS = frozenset(
    {"required", "secret", "matches", "type", "needs", "tags", *CHECK_KEYS}
)


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
