"""``http:`` rows: one request each, and what its answer must be.

Shorthand ``- GET /users/123: 200`` (the value is the status, or an ``expect``
mapping; ``- GET /health`` alone expects 2xx), or the full form with
``request:`` and the keys in ``ROW_KEYS``. Rows run as ``async`` bodies on the
engine's loop through ``target.ahttp``: same deadlines, caps, retries and
read-only guard as Python probes.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sleuth._evidence import AUTH_STATUSES, Category
from sleuth.engine import context as _context
from sleuth.errors import CheckFailed
from sleuth.rows.expect import Expect, Status, parse_expect
from sleuth.rows.table import PathT, Row, Table, read_common, row_list
from sleuth.suite.tlsoptions import TlsOptions, parse_tls
from sleuth.suite.validate import did_you_mean, kind_of

if TYPE_CHECKING:
    from sleuth.http.response import Response
    from sleuth.target import Target

METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
ROW_KEYS = frozenset(
    {"request", "headers", "params", "json", "body", "expect", "writes", "tls"}
    | {"name", "timeout", "retries", "needs", "tags", "skip"}
)
_REQUEST = re.compile(r"^\s*([A-Za-z]+)\s+(\S+)\s*$")
_EXAMPLE = "- GET /health: 200"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class HttpRow:
    """A request to send and the expectations its answer must meet."""

    method: str
    url: str
    expect: Expect
    where: str
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    json: Any = None
    has_json: bool = False
    body: str | None = None
    tls: TlsOptions | None = None  # over the target's

    async def run(self, target: Target) -> None:
        """Send the request; fail on an unmet expectation, note a warned one."""
        __tracebackhide__ = True
        response = await target.ahttp.request(
            self.method, self._resolve(target, self.url), **self._kwargs(target)
        )
        failures = self.expect.failures(response)
        if failures:
            raise CheckFailed(
                "\n".join(failures),
                target=response.url,
                category=_category(response, self.expect),
            )
        ctx = _context.current.get()
        if self.expect.warn is not None and ctx is not None:
            for warning in self.expect.warn.failures(response):
                ctx.warn(warning)

    def _kwargs(self, target: Target) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if self.headers:
            kwargs["headers"] = {
                k: self._resolve(target, v) for k, v in self.headers.items()
            }
        if self.params:
            kwargs["params"] = self._resolve(target, self.params)
        if self.has_json:
            kwargs["json"] = self._resolve(target, self.json)
        if self.body is not None:
            kwargs["content"] = self._resolve(target, self.body)
        if self.tls is not None:
            kwargs["tls"] = self.tls
        return kwargs

    def _resolve(self, target: Target, value: Any) -> Any:
        """``value`` with ``${setting:NAME}`` replaced in every string in it."""
        if isinstance(value, str):
            return (
                target.interpolate(value, where=self.where) if "${" in value else value
            )
        if isinstance(value, list):
            return [self._resolve(target, v) for v in value]
        if isinstance(value, dict):
            return {k: self._resolve(target, v) for k, v in value.items()}
        return value


def _category(response: Response, expect: Expect) -> Category:
    """A wrong status is categorized as a Python probe's is (``evidence.classify``):
    a 5xx is the server's fault, a 401/403/407 a refused login; anything
    else is a wrong answer."""
    if expect.status.accepts(response.status_code):
        return "failed"
    if response.status_code >= 500:
        return "http-5xx"
    return "auth" if response.status_code in AUTH_STATUSES else "failed"


def parse_rows(body: Any, path: PathT, table: Table) -> list[Row]:
    items = row_list(body, path, table, example=_EXAMPLE)
    return [_parse_row(item, (*path, i), table) for i, item in enumerate(items)]


def _parse_row(item: Any, path: PathT, table: Table) -> Row:
    if isinstance(item, str):
        method, url = _request_line(item, path, table)
        return _row(method, url, Expect(status=Status(("2xx",))), {}, path, table)
    if not isinstance(item, dict) or not item:
        raise table.fail(
            path, f"an http row is a request such as {_EXAMPLE!r} or a mapping with "
            f"request:, found {kind_of(item)}",
        )  # fmt: skip
    if len(item) == 1:
        key, value = next(iter(item.items()))
        if key not in ROW_KEYS and _REQUEST.match(str(key)):  # shorthand
            at = (*path, str(key))
            method, url = _request_line(table.with_env(str(key), at), at, table)
            expect = (
                Expect(status=Status(("2xx",)))
                if value is None
                else parse_expect(value, at, table)
            )
            return _row(method, url, expect, {}, path, table)
    table.check_keys(item, ROW_KEYS, path, "an http row")
    if "request" not in item:
        raise table.fail(
            path, "an http row needs request:, e.g. request: GET /users/123"
        )
    method, url = _request_line(item["request"], (*path, "request"), table)
    expect = (
        parse_expect(item["expect"], (*path, "expect"), table)
        if item.get("expect") is not None
        else Expect(status=Status(("2xx",)))
    )
    return _row(method, url, expect, item, path, table)


def _request_line(text: Any, path: PathT, table: Table) -> tuple[str, str]:
    match = _REQUEST.match(text) if isinstance(text, str) else None
    if match is None:
        raise table.fail(
            path, f"a request is a method and a path or URL, e.g. 'GET /users/123', "
            f"found {kind_of(text)}",
        )  # fmt: skip
    method, url = match.group(1).upper(), match.group(2)
    if method not in METHODS:
        raise table.fail(
            path,
            f"unknown HTTP method {match.group(1)!r}. Methods: {', '.join(METHODS)}."
            f"{did_you_mean(method, METHODS)}",
        )
    if not url.startswith(("/", "http://", "https://", "${")):
        raise table.fail(
            path,
            f"{url!r} is neither a path (/users/123) nor an http:// or https:// URL",
        )
    return method, url


def _row(
    method: str,
    url: str,
    expect: Expect,
    item: Mapping[str, Any],
    path: PathT,
    table: Table,
) -> Row:
    common = read_common(item, path, table)
    if "json" in item and item.get("body") is not None:
        raise table.fail(
            (*path, "body"), "give json: or body:, not both (json: sends JSON)"
        )
    writes = item.get("writes", False)
    if not isinstance(writes, bool):
        raise table.fail((*path, "writes"), "writes must be true or false")
    body = item.get("body")
    if body is not None and not isinstance(body, str):
        raise table.fail(
            (*path, "body"), f"body must be text; for JSON use json:. Found "
            f"{kind_of(body)}",
        )  # fmt: skip
    where = table.where(path)
    spec = HttpRow(
        method=method,
        url=url,
        expect=expect,
        where=where,
        headers=_string_map(item.get("headers"), (*path, "headers"), table),
        params=_params(item.get("params"), (*path, "params"), table),
        json=item.get("json"),
        has_json="json" in item,
        body=body,
        tls=_tls(item.get("tls"), (*path, "tls"), table),
    )
    return Row(
        id=common.name or f"{method} {url}",
        section="http",
        line=table.line(path),
        where=where,
        body=spec.run,
        timeout_s=common.timeout_s,
        retries=common.retries,
        writes=writes,
        needs=common.needs,
        tags=common.tags,
        skip=common.skip,
    )


def _tls(raw: Any, path: PathT, table: Table) -> TlsOptions | None:
    """A row's ``tls:``; its paths are relative to the table's folder."""
    if raw is None:
        return None
    return parse_tls(
        raw,
        root=table.directory,
        where=lambda key: table.where(path if key is None else (*path, key)),
    )


def _string_map(raw: Any, path: PathT, table: Table) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(
        isinstance(v, str | int | float) and not isinstance(v, bool)
        for v in raw.values()
    ):
        raise table.fail(
            path, f"headers must map names to text, e.g. {{Accept: application/json}}; "
            f"found {kind_of(raw)}",
        )  # fmt: skip
    return {str(k): str(v) for k, v in raw.items()}


def _params(raw: Any, path: PathT, table: Table) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise table.fail(
            path, f"params must map names to values, e.g. {{q: gadget, page: 2}}; "
            f"found {kind_of(raw)}",
        )  # fmt: skip
    params: dict[str, Any] = {}
    for key, value in raw.items():
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str | int | float) for v in values):
            raise table.fail(
                (*path, str(key)), f"param {key!r} must be text, a number or a list "
                f"of them, found {kind_of(value)}",
            )  # fmt: skip
        text = [str(v).lower() if isinstance(v, bool) else str(v) for v in values]
        params[str(key)] = text if isinstance(value, list) else text[0]
    return params
