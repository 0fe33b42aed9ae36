"""What an HTTP row expects of the answer, read from ``expect:`` and checked.

JSON paths are JMESPath (the ``jmespath`` package): it has a written
specification with a shared compliance suite, so ``data.items[0].id`` means
the same here as in the AWS CLI's ``--query`` that many on-call engineers
already type; it has functions (``length(items)``) and no dependencies, and the
package is stable and small. JSONPath implementations in Python still differ
from each other on filters and on what a missing path returns. JMESPath gives
null for a missing path, so "exists" means "is not null".

Schemas are checked with ``jsonschema``, imported only when a table uses one.
"""

from __future__ import annotations

import dataclasses
import json as _json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sleuth import _bodytext as bodytext
from sleuth.errors import ConfigError
from sleuth.suite.units import parse_duration
from sleuth.suite.validate import kind_of

if TYPE_CHECKING:
    from sleuth.http.response import Response
    from sleuth.rows.table import PathT, Table

CHECK_KEYS = frozenset(
    {"status", "max_latency", "header", "body_contains", "body_matches", "json"}
    | {"json_schema"}
)
EXPECT_KEYS = CHECK_KEYS | {"warn_over", "warn"}
_STATUS_CLASS = re.compile(r"^[1-5]xx$")
_OPERATORS = frozenset({"equals", "matches", "exists"})
EXCERPT_CHARS = 120


@dataclasses.dataclass(frozen=True, slots=True)
class Status:
    """Codes and classes (``2xx``) an answer may have; empty means any."""

    allowed: tuple[int | str, ...]

    def accepts(self, code: int) -> bool:
        return not self.allowed or any(
            code == want if isinstance(want, int) else str(code)[0] == want[0]
            for want in self.allowed
        )

    def describe(self) -> str:
        return " or ".join(str(want) for want in self.allowed) or "any"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Match:
    """One comparison: equal to a value, match a regex, or (not) exist."""

    equals: Any = None
    has_equals: bool = False
    pattern: re.Pattern[str] | None = None
    exists: bool | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Expect:
    """The checks of one ``expect:`` block (or of its ``warn:`` block)."""

    status: Status
    max_latency_s: float | None = None
    latency_key: str = "max_latency"  # the key it was written as, for the message
    headers: tuple[tuple[str, Match], ...] = ()
    body_contains: tuple[str, ...] = ()
    body_matches: tuple[re.Pattern[str], ...] = ()
    json: tuple[tuple[str, Any, Match], ...] = ()  # (path, compiled, match)
    json_schema: Mapping[str, Any] | None = None
    warn: Expect | None = None

    def failures(self, response: Response) -> list[str]:
        """What is wrong with ``response``, each as a sentence; empty if all is well.

        A wrong status is the only failure reported when it happens: the other
        checks would just describe an error page.
        """
        asked = f"{response.request.method} {response.url}"
        if not self.status.accepts(response.status_code):
            tries = (
                f" (after {response.attempt} attempts)" if response.attempt > 1 else ""
            )
            return [
                f"{asked}: status {response.status_code} {response.reason_phrase}, "
                f"expected {self.status.describe()}{tries}"
            ]
        found: list[str] = []
        latency_s = response.elapsed.total_seconds()
        if self.max_latency_s is not None and latency_s > self.max_latency_s:
            found.append(
                f"{asked}: answered in {latency_s * 1000:.0f} ms, over "
                f"{self.latency_key} {self.max_latency_s * 1000:.0f} ms"
            )
        for name, match in self.headers:
            problem = _compare(match, response.headers.get(name))
            if problem:
                found.append(f"{asked}: header {name} {problem}")
        text = response.text
        for needle in self.body_contains:
            if needle not in text:
                found.append(
                    f"{asked}: the body does not contain {needle!r}; "
                    f"{_body_shown(response)}"
                )
        for pattern in self.body_matches:
            if not pattern.search(text):
                found.append(
                    f"{asked}: the body does not match /{pattern.pattern}/; "
                    f"{_body_shown(response)}"
                )
        if self.json or self.json_schema is not None:
            found.extend(self._json_failures(asked, response))
        return found

    def _json_failures(self, asked: str, response: Response) -> list[str]:
        try:
            document = _json.loads(response.content)
        except ValueError:
            kind = response.headers.get("content-type", "no content-type")
            return [
                f"{asked}: the body is not JSON ({kind}), expected JSON for the "
                f"json checks; {_body_shown(response)}"
            ]
        found = []
        for path, compiled, match in self.json:
            problem = _compare(match, compiled.search(document), json_value=True)
            if problem:
                found.append(f"{asked}: JSON {path} {problem}")
        if self.json_schema is not None:
            problem = _schema_problem(self.json_schema, document)
            if problem:
                found.append(f"{asked}: the body does not match json_schema: {problem}")
        return found


def _compare(match: Match, actual: Any, *, json_value: bool = False) -> str:
    """Why ``actual`` fails ``match`` (``is 'x', expected 'y'``), or ``""``."""
    if match.exists is False:
        return "" if actual is None else f"is {_show(actual)}, expected it absent"
    if actual is None:
        return (
            "is missing (absent or null), expected it to exist"
            if match.exists
            else f"is missing, expected {_expected(match)}"
        )
    if match.has_equals and not _same(actual, match.equals):
        return f"is {_show(actual)}, expected {_show(match.equals)}"
    if match.pattern is not None:
        text = actual if isinstance(actual, str) else _json.dumps(actual)
        if not match.pattern.search(text):
            return f"is {_show(actual)}, expected it to match /{match.pattern.pattern}/"
    return ""


def _expected(match: Match) -> str:
    if match.has_equals:
        return _show(match.equals)
    if match.pattern is not None:
        return f"a value matching /{match.pattern.pattern}/"
    return "a value"


def _same(actual: Any, expected: Any) -> bool:
    """JSON equality: 1 equals 1.0, but true is not 1 (as Python would say)."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected
    if isinstance(actual, list) and isinstance(expected, list):
        return len(actual) == len(expected) and all(
            _same(a, e) for a, e in zip(actual, expected, strict=True)
        )
    if isinstance(actual, dict) and isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(
            _same(actual[k], expected[k]) for k in actual
        )
    return bool(actual == expected)


def _show(value: Any) -> str:
    text = _json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "..."


def _body_shown(response: Response) -> str:
    """``it begins '...'``, or what a binary body is (never its mojibake)."""
    content_type = response.headers.get("content-type")
    if bodytext.is_binary(response.content, content_type):
        return f"it is a {bodytext.describe_binary(response.content, content_type)}"
    return f"it begins {_excerpt(response.text)}"


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return repr(flat[:EXCERPT_CHARS] + ("..." if len(flat) > EXCERPT_CHARS else ""))


def _schema_problem(schema: Mapping[str, Any], document: Any) -> str:
    import jsonschema

    validator = jsonschema.validators.validator_for(schema)(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is None:
        return ""
    return f"at {error.json_path}: {error.message}"


# -- reading expect: ---------------------------------------------------------


def parse_expect(raw: Any, path: PathT, table: Table, *, warn: bool = False) -> Expect:
    """An ``expect:`` mapping (or a bare status) read and checked."""
    if not isinstance(raw, dict):
        return Expect(status=parse_status(raw, path, table))
    keys = CHECK_KEYS if warn else EXPECT_KEYS
    table.check_keys(raw, keys, path, "a warn: block" if warn else "expect")

    def at(key: str) -> PathT:
        return (*path, key)

    status = (
        parse_status(raw["status"], at("status"), table)
        if "status" in raw
        else Status(() if warn else ("2xx",))
    )
    warn_block = (
        parse_expect(raw["warn"], at("warn"), table, warn=True)
        if "warn" in raw
        else None
    )
    if raw.get("warn_over") is not None:
        over = _duration(raw["warn_over"], at("warn_over"), table)
        base = warn_block or Expect(status=Status(()))
        warn_block = dataclasses.replace(
            base, max_latency_s=over, latency_key="warn_over"
        )
    return Expect(
        status=status,
        max_latency_s=(
            _duration(raw["max_latency"], at("max_latency"), table)
            if raw.get("max_latency") is not None
            else None
        ),
        headers=_headers(raw.get("header"), at("header"), table),
        body_contains=_strings(raw.get("body_contains"), at("body_contains"), table),
        body_matches=tuple(
            compile_regex(p, at("body_matches"), table)
            for p in _strings(raw.get("body_matches"), at("body_matches"), table)
        ),
        json=_json_paths(raw.get("json"), at("json"), table),
        json_schema=_schema(raw.get("json_schema"), at("json_schema"), table),
        warn=warn_block,
    )


def parse_status(raw: Any, path: PathT, table: Table) -> Status:
    """``200``, ``"2xx"``, ``[200, 204]``, or ``any``."""
    if raw == "any":
        return Status(())
    items = raw if isinstance(raw, list) else [raw]
    allowed: list[int | str] = []
    for item in items:
        if isinstance(item, str) and item.strip().isdigit():
            item = int(item)
        if isinstance(item, int) and not isinstance(item, bool) and 100 <= item <= 599:
            allowed.append(item)
        elif isinstance(item, str) and _STATUS_CLASS.match(item.strip().lower()):
            allowed.append(item.strip().lower())
        else:
            raise table.fail(
                path,
                f"invalid status {item!r}: expected a code such as 200, a class such "
                f"as 2xx, a list such as [200, 204], or any",
            )
    if not allowed:
        raise table.fail(path, "status must name at least one code, e.g. [200, 204]")
    return Status(tuple(allowed))


def _duration(raw: Any, path: PathT, table: Table) -> float:
    return parse_duration(raw, where=table.where(path), what=str(path[-1]))


def _strings(raw: Any, path: PathT, table: Table) -> tuple[str, ...]:
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    if not all(isinstance(item, str) and item for item in items):
        raise table.fail(
            path, f"{path[-1]} must be a string or a list of strings, found "
            f"{kind_of(raw)}",
        )  # fmt: skip
    return tuple(items)


def compile_regex(pattern: str, path: PathT, table: Table) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise table.fail(
            path, f"invalid regular expression {pattern!r}: {exc}"
        ) from None


def _match(raw: Any, path: PathT, table: Table) -> Match:
    """A value to equal, or ``{equals: x}``, ``{matches: re}``, ``{exists: bool}``."""
    if not (isinstance(raw, dict) and raw and set(raw) <= _OPERATORS):
        return Match(equals=raw, has_equals=True)
    exists = raw.get("exists")
    if exists is not None and not isinstance(exists, bool):
        raise table.fail((*path, "exists"), "exists must be true or false")
    pattern = raw.get("matches")
    if pattern is not None and not isinstance(pattern, str):
        raise table.fail((*path, "matches"), "matches must be a regular expression")
    return Match(
        equals=raw.get("equals"),
        has_equals="equals" in raw,
        pattern=compile_regex(pattern, (*path, "matches"), table) if pattern else None,
        exists=exists,
    )


def _headers(raw: Any, path: PathT, table: Table) -> tuple[tuple[str, Match], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise table.fail(
            path, f"header must map header names to a value or {{matches: regex}}, "
            f"e.g. {{Content-Type: {{matches: json}}}}; found {kind_of(raw)}",
        )  # fmt: skip
    headers = []
    for name, want in raw.items():
        match = _match(want, (*path, str(name)), table)
        if match.has_equals:
            match = dataclasses.replace(match, equals=str(match.equals))
        headers.append((str(name), match))
    return tuple(headers)


def _json_paths(
    raw: Any, path: PathT, table: Table
) -> tuple[tuple[str, Any, Match], ...]:
    if raw is None:
        return ()
    if isinstance(raw, list):
        raw = {item: {"exists": True} for item in _strings(raw, path, table)}
    if not isinstance(raw, dict):
        raise table.fail(
            path, f"json must be a list of JMESPath paths that must exist, or a "
            f"mapping of paths to values, e.g. {{data.id: 123}}; found {kind_of(raw)}",
        )  # fmt: skip
    import jmespath
    import jmespath.exceptions

    checks = []
    for expression, want in raw.items():
        at = (*path, str(expression))
        try:
            compiled = jmespath.compile(str(expression))
        except jmespath.exceptions.JMESPathError as exc:
            message = " ".join(str(exc).split())
            raise table.fail(
                at,
                f"invalid JMESPath {expression!r}: {message}. Paths look like "
                f"data.id, items[0].name or length(items)",
            ) from None
        checks.append((str(expression), compiled, _match(want, at, table)))
    return tuple(checks)


def _schema(raw: Any, path: PathT, table: Table) -> Mapping[str, Any] | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = _schema_file(raw, path, table)
    if not isinstance(raw, dict):
        raise table.fail(
            path, f"json_schema must be a schema (a mapping) or the path of a JSON "
            f"or YAML file holding one; found {kind_of(raw)}",
        )  # fmt: skip
    import jsonschema

    try:
        jsonschema.validators.validator_for(raw).check_schema(raw)
    except jsonschema.exceptions.SchemaError as exc:
        raise table.fail(path, f"invalid json_schema: {exc.message}") from None
    return raw


def _schema_file(name: str, path: PathT, table: Table) -> Any:
    from sleuth.suite import yamlfile

    file = Path(table.directory, name)
    if not file.is_file():
        raise table.fail(path, f"json_schema file {name!r} not found at {file}")
    try:
        if file.suffix == ".json":
            return _json.loads(file.read_text(encoding="utf-8"))
        return yamlfile.load(file, display=name)[0]
    except ValueError as exc:
        raise table.fail(
            path, f"json_schema file {name!r} is not JSON: {exc}"
        ) from None
    except ConfigError as exc:
        raise table.fail(path, f"json_schema file {exc}") from None
