"""An OpenAPI document's operations as probe-table rows.

Only safe operations (GET, HEAD) become requests: each expects the spec's
documented 2xx (its 3xx when it documents no 2xx), with path and required
query and header parameters filled from the spec's examples, enums or
defaults, and an ``Accept`` header when the operation answers only in types
that are neither JSON nor text (an image, a PDF), since a server may refuse a
request that does not ask for one (406). One whose parameters cannot be filled is a row
skipped with the reason; one that needs auth sends a header read from a
``${setting:...}`` named after its security scheme. Every other operation is
a comment saying why it is not probed.
"""

from __future__ import annotations

import dataclasses
import re
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any

from sleuth.init import auth
from sleuth.init.spec import Spec

SAFE_METHODS = ("get", "head")
WRITE_METHODS = ("post", "put", "patch", "delete")
OTHER_METHODS = ("options", "trace")
_PATH_PARAM = re.compile(r"\{([^}/]+)\}")
_MISSING = object()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Probe:
    """One row to write: a request and its expected status, or a skip."""

    method: str  # "GET"
    path: str  # as the spec writes it: /items/{item_id}
    url: str  # filled in: /items/42 (the template when skipped)
    status: tuple[int, ...] | str | None  # (200,), "2xx", or None: any 2xx
    summary: str = ""
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    skip: str | None = None
    name: str | None = None  # when the request alone would not be a unique id
    settings: tuple[str, ...] = ()  # the settings its auth reads


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NotProbed:
    """An operation written as a comment: why it is not probed."""

    method: str
    path: str
    reason: str
    summary: str = ""


Entry = Probe | NotProbed


# Why an operation gets a comment rather than a row.
_NOT_PROBED = {
    **dict.fromkeys(WRITE_METHODS, "a write (sleuth probes are read-only)"),
    **dict.fromkeys(OTHER_METHODS, "sleuth init writes GET and HEAD rows only"),
}


def plan(spec: Spec) -> list[Entry]:
    """Every operation of ``spec``, in the document's order."""
    entries: list[Entry] = []
    ids: set[str] = set()
    for path, method, operation, shared in _operations(spec.data):
        summary = _summary(operation)
        why_not = _NOT_PROBED.get(method)
        if why_not:
            entries.append(
                NotProbed(
                    method=method.upper(), path=path, summary=summary, reason=why_not
                )
            )
            continue
        probe = _probe(spec, path, method, operation, shared, summary)
        row_id = f"{probe.method} {probe.url}"
        if row_id in ids:
            probe = dataclasses.replace(probe, name=f"{row_id} ({path})")
        ids.add(probe.name or row_id)
        entries.append(probe)
    return entries


def _operations(
    data: Mapping[str, Any],
) -> Iterator[tuple[str, str, dict[str, Any], list[Any]]]:
    paths = data.get("paths")
    if not isinstance(paths, dict):
        return
    for path, item in paths.items():
        if not isinstance(item, dict):
            continue
        shared = item.get("parameters") or []
        for method, operation in item.items():
            method = str(method).lower()
            if method in (*SAFE_METHODS, *WRITE_METHODS, *OTHER_METHODS):
                yield (
                    str(path),
                    method,
                    operation if isinstance(operation, dict) else {},
                    shared,
                )


def _summary(operation: Mapping[str, Any]) -> str:
    text = operation.get("summary") or operation.get("operationId") or ""
    line = " ".join(str(text).split())
    return line if len(line) <= 60 else line[:57] + "..."


def _probe(
    spec: Spec,
    path: str,
    method: str,
    operation: Mapping[str, Any],
    shared: list[Any],
    summary: str,
) -> Probe:
    skipped = Probe(
        method=method.upper(),
        path=path,
        url=path,
        summary=summary,
        status=_status(operation),
    )
    parameters = _parameters(shared, operation.get("parameters") or [])
    url, headers, params, reason = _fill(spec, path, parameters)
    if reason is not None:
        return dataclasses.replace(skipped, skip=reason)
    needs = auth.needed(spec, operation)
    if needs.reason is not None:
        return dataclasses.replace(skipped, skip=needs.reason)
    return dataclasses.replace(
        skipped,
        url=url,
        headers={
            **_accept(spec, operation, skipped.status),
            **headers,
            **needs.headers,
        },
        params={**params, **needs.params},
        settings=needs.settings,
    )


def _status(operation: Mapping[str, Any]) -> tuple[int, ...] | str | None:
    """The documented 2xx codes; else the documented 3xx; else None (any 2xx)."""
    codes = [str(code).strip().upper() for code in operation.get("responses") or {}]
    if "2XX" in codes:
        return "2xx"
    for low in (200, 300):
        found = sorted(
            int(code)
            for code in codes
            if code.isdigit() and low <= int(code) < low + 100
        )
        if found:
            return tuple(found)
    return None


def _accept(
    spec: Spec, operation: Mapping[str, Any], status: tuple[int, ...] | str | None
) -> dict[str, str]:
    """``{"Accept": ...}`` naming the media types the operation answers in, when
    none of them is JSON, text or anything; no header otherwise.

    Swagger 2.0 lists them in ``produces`` (the operation's, else the
    document's); OpenAPI 3 under each documented response's ``content``, here
    those of the statuses the row expects.
    """
    if spec.is_swagger:
        types = operation.get("produces", spec.data.get("produces")) or []
    else:
        responses = operation.get("responses") or {}
        expected = (
            {str(code) for code in status} if isinstance(status, tuple) else set()
        )
        types = []
        for code, response in responses.items():
            wanted = str(code) in expected or (
                not expected and str(code).upper().startswith("2")
            )
            if wanted and isinstance(response, dict):
                types.extend(response.get("content") or {})
    kinds = list(
        dict.fromkeys(str(kind).strip() for kind in types if str(kind).strip())
    )
    if not kinds or any(_served_without_asking(kind) for kind in kinds):
        return {}
    return {"Accept": ", ".join(kinds)}


def _served_without_asking(media_type: str) -> bool:
    """JSON, text or anything: what a server answers a request that names none."""
    essence = media_type.split(";", 1)[0].strip().lower()
    return (
        essence in ("*/*", "application/json")
        or essence.endswith("+json")
        or essence.startswith("text/")
    )


def _parameters(shared: list[Any], own: list[Any]) -> list[dict[str, Any]]:
    """The operation's parameters over its path item's, by (name, in)."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for parameter in [*shared, *own]:
        if isinstance(parameter, dict) and "name" in parameter:
            merged[(str(parameter["name"]), str(parameter.get("in")))] = parameter
    return list(merged.values())


def _fill(
    spec: Spec, path: str, parameters: list[dict[str, Any]]
) -> tuple[str, dict[str, str], dict[str, Any], str | None]:
    """The path filled in, the headers and query to send, or why it cannot be."""
    by_name = {str(p["name"]): p for p in parameters if p.get("in") == "path"}
    url = path
    for name in _PATH_PARAM.findall(path):
        parameter = by_name.get(name)
        if parameter is None:
            return path, {}, {}, f"path parameter {name} is not described in the spec"
        value = _value(parameter, spec)
        if value is _MISSING:
            return path, {}, {}, _no_value("path", name)
        url = url.replace("{" + name + "}", urllib.parse.quote(_text(value), safe=""))
    headers: dict[str, str] = {}
    params: dict[str, Any] = {}
    for parameter in parameters:
        where, name = parameter.get("in"), str(parameter["name"])
        if where == "path" or not parameter.get("required"):
            continue
        if where == "header" and name.lower() == "authorization":
            continue  # auth, below
        value = _value(parameter, spec)
        if value is _MISSING:
            return path, {}, {}, _no_value(str(where), name)
        if where == "query":
            params[name] = (
                [_text(v) for v in value] if isinstance(value, list) else _text(value)
            )
        elif where == "header":
            headers[name] = _text(value)
        elif where == "cookie":
            headers["Cookie"] = f"{name}={_text(value)}"
        # body / formData on a GET: not sent
    return url, headers, params, None


def _no_value(where: str, name: str) -> str:
    return (
        f"{where} parameter {name} has no example, enum or default in the spec; "
        f"fill it in and remove skip"
    )


def _value(parameter: Mapping[str, Any], spec: Spec) -> Any:
    """An example, the first enum value, or the default: the first found."""
    candidates: list[Mapping[str, Any]] = [parameter]
    schema = parameter.get("schema")
    if isinstance(schema, dict):
        candidates.append(schema)
    if spec.is_swagger and isinstance(parameter.get("items"), dict):
        candidates.append(parameter["items"])
    for source in candidates:
        for key in ("example", "x-example"):
            if source.get(key) is not None and _usable(source[key]):
                return source[key]
        examples = source.get("examples")
        if isinstance(examples, dict):  # 3.x parameter: {name: {value: ...}}
            for example in examples.values():
                if isinstance(example, dict) and _usable(example.get("value")):
                    return example["value"]
        elif isinstance(examples, list):  # 3.1 schema: [value, ...]
            for example in examples:
                if _usable(example):
                    return example
    for source in candidates:
        enum = source.get("enum")
        if isinstance(enum, list):
            for choice in enum:
                if _usable(choice):
                    return choice
    for source in candidates:
        if _usable(source.get("default")):
            return source["default"]
    return _MISSING


def _usable(value: Any) -> bool:
    if isinstance(value, list):
        return bool(value) and all(_usable(v) for v in value)
    return isinstance(value, str | int | float) and str(value) != ""


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    return str(value)


def base_url(spec: Spec) -> str | None:
    """Where the spec says the API is, made absolute against the spec's own URL."""
    data = spec.data
    if spec.is_swagger:
        host = data.get("host")
        base_path = str(data.get("basePath") or "")
        if host:
            schemes = data.get("schemes") or []
            scheme = "https" if "https" in schemes or not schemes else str(schemes[0])
            url = f"{scheme}://{host}{base_path}"
        elif spec.url:
            url = urllib.parse.urljoin(spec.url, base_path or "/")
        else:
            return None
    else:
        servers = data.get("servers") or []
        server = servers[0] if servers and isinstance(servers[0], dict) else {}
        url = _server_url(server) if server else ""
        if not url.startswith(("http://", "https://")):
            if spec.url is None:
                return None
            url = urllib.parse.urljoin(spec.url, url or "/")
    return url.rstrip("/")


def _server_url(server: Mapping[str, Any]) -> str:
    url = str(server.get("url") or "")
    variables = server.get("variables") or {}
    for name, variable in variables.items():
        if isinstance(variable, dict) and "default" in variable:
            url = url.replace("{" + str(name) + "}", str(variable["default"]))
    return url
