"""The suite's configuration: sleuth.yaml, or ``[tool.sleuth]`` in pyproject.toml.

It names the targets (base URL, headers, timeout, where settings come from) and
the suite's defaults. Values may refer to ``${env:NAME}``, replaced when the file
is read, and to ``${setting:NAME}``, replaced when a probe first needs it. Every
mistake is reported with the file, the line, the valid choices and a guess.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sleuth.errors import ConfigError
from sleuth.suite import yamlfile
from sleuth.suite.discovery import CONFIG_FILE, PYPROJECT_FILE
from sleuth.suite.interpolation import FilledIn, interpolate_env
from sleuth.suite.sources import SourceSpec, build_source_specs, env_source_spec
from sleuth.suite.tlsoptions import TlsOptions, parse_tls
from sleuth.suite.units import parse_duration, parse_positive_int
from sleuth.suite.validate import (
    PathT,
    check_keys,
    did_you_mean,
    expect_type,
    kind_of,
    without_extensions,
)
from sleuth.suite.yamlfile import Lines

if TYPE_CHECKING:
    from sleuth.suite.alerts import AlertsConfig

_TARGET_KEYS = {
    "base_url",
    "headers",
    "timeout",
    "sources",
    "services",
    "http",
    "tls",
}
_HTTP_KEYS = {"max_in_flight", "max_in_flight_per_host"}
_TOP_KEYS = _TARGET_KEYS | {
    "alerts",
    "default_target",
    "targets",
    "budget",
    "workers",
    "secret_words",
    "not_secret",
    "history",
    "writes",
}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class HttpLimits:
    """Politeness caps of ``http:``: requests in flight, in all and per host.

    None leaves the default of ``sleuth.http.client``.
    """

    max_in_flight: int | None = None
    max_in_flight_per_host: int | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TargetConfig:
    """A system under investigation: where it is and how to read its settings."""

    name: str
    base_url: str | None = None
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    timeout_s: float | None = None
    sources: tuple[SourceSpec, ...] = ()
    services: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    http: HttpLimits = HttpLimits()
    tls: TlsOptions | None = None  # for HTTP requests; None: the client's default
    where: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SuiteConfig:
    """What one config file says, checked and with ``${env:...}`` replaced."""

    file: Path | None
    root: Path
    targets: Mapping[str, TargetConfig]
    default_target: str | None = None
    timeout_s: float | None = None
    budget_s: float | None = None
    workers: int | None = None
    # Words that make a setting's name secret, beyond redact.DEFAULT_SECRET_WORDS,
    # and setting names that are never secret whatever their name says.
    secret_words: tuple[str, ...] = ()
    not_secret: frozenset[str] = frozenset()
    # Node-id patterns (``*`` and ``?``) of probes that count as marked
    # @pytest.mark.writes: writes the suite intends, without editing it.
    writes: tuple[str, ...] = ()
    # Where `sleuth watch` says that a probe changed state (docs/alerts.md).
    alerts: AlertsConfig | None = None
    raw: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    lines: Lines = dataclasses.field(default_factory=lambda: Lines(CONFIG_FILE))

    @property
    def display(self) -> str:
        return self.lines.file


def load_suite_config(
    path: Path,
    *,
    environ: Mapping[str, str] | None = None,
    only: Iterable[str] | None = None,
) -> SuiteConfig:
    """Read and check a config file.

    ``only`` keeps those top-level keys and drops the rest before anything is
    interpolated: ``sleuth history`` reads the store's address alone, so the
    targets' ``${env:...}`` values need not be set.

    Raises:
        ConfigError: naming the file, the line and what to write instead.
    """
    environ = os.environ if environ is None else environ
    display = _display_name(path)
    with FilledIn(display) as filled_in:
        if path.name == PYPROJECT_FILE:
            data, lines = _load_pyproject(path, display)
        else:
            data, lines = yamlfile.load(path, display=display, keep=True)
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(
                f"expected a mapping of keys such as targets: and timeout:, "
                f"found {kind_of(data)}",
                where=lines.where(()),
            )
        data = without_extensions(data)
        if only is not None:
            data = {key: data[key] for key in only if key in data}
        data = interpolate_env(data, (), lines, environ, on_value=filled_in)
        return _build_suite(data, lines, file=path, root=path.parent)


def empty_suite_config(root: Path) -> SuiteConfig:
    """The configuration of a run with no config file: one target, no base URL."""
    default = TargetConfig(name="default", sources=(env_source_spec("defaults"),))
    return SuiteConfig(
        file=None,
        root=root,
        targets={"default": default},
        lines=Lines("no config file"),  # as the header says where the suite is from
    )


def _display_name(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _load_pyproject(path: Path, display: str) -> tuple[Any, Lines]:
    import tomllib

    from sleuth.suite.textfile import read_config_text

    text = read_config_text(path, display=display)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", where=display) from None
    return document.get("tool", {}).get("sleuth", {}), _toml_lines(text, display)


def _toml_lines(text: str, display: str) -> Lines:
    """Best-effort line numbers for ``[tool.sleuth]``: tomllib keeps none."""
    lines = Lines(display)
    table: PathT = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        header = re.match(r"^\[+\s*tool\.sleuth(?:\.([^\]]+))?\s*\]+", line)
        if header:
            table = tuple(
                part.strip().strip("\"'")
                for part in (header.group(1) or "").split(".")
                if part
            )
            lines.set(table, number)
        elif line.startswith("["):
            table = ("\0",)  # another table: its keys are not ours
        elif (key := re.match(r"^([A-Za-z0-9_\-\"']+)\s*=", line)) and table != ("\0",):
            lines.set((*table, key.group(1).strip("\"'")), number)
    return lines


def _build_suite(
    data: dict[str, Any], lines: Lines, *, file: Path, root: Path
) -> SuiteConfig:
    check_keys(data, _TOP_KEYS, path=(), lines=lines, what="the suite config")
    defaults = _build_target(
        "defaults", data, (), lines, parent=None, root=root, check=False
    )
    targets: dict[str, TargetConfig] = {}
    raw_targets = data.get("targets")
    if raw_targets is not None:
        expect_type(
            raw_targets,
            dict,
            path=("targets",),
            lines=lines,
            what="targets",
            example="a mapping of target names, e.g. prod: {base_url: ...}",
        )
        for name, body in raw_targets.items():
            path = ("targets", str(name))
            body = {} if body is None else body
            expect_type(
                body,
                dict,
                path=path,
                lines=lines,
                what=f"target {name!r}",
                example="a mapping with base_url:, headers:, timeout:, sources:",
            )
            check_keys(
                body, _TARGET_KEYS, path=path, lines=lines, what=f"target {name!r}"
            )
            targets[str(name)] = _build_target(
                str(name), body, path, lines, parent=defaults, root=root
            )
    if not targets:
        targets["default"] = dataclasses.replace(defaults, name="default")
    default_target = data.get("default_target")
    if default_target is not None:
        expect_type(
            default_target,
            str,
            path=("default_target",),
            lines=lines,
            what="default_target",
            example="the name of a target",
        )
        if default_target not in targets:
            raise ConfigError(
                unknown_target_message(default_target, targets),
                where=lines.where(("default_target",)),
            )
    return SuiteConfig(
        file=file,
        root=root,
        targets=targets,
        default_target=default_target,
        timeout_s=_optional_duration(data, "timeout", (), lines),
        budget_s=_optional_duration(data, "budget", (), lines),
        workers=(
            parse_positive_int(
                data["workers"], where=lines.where(("workers",)), what="workers"
            )
            if "workers" in data
            else None
        ),
        secret_words=_string_list(data, "secret_words", lines),
        not_secret=frozenset(_string_list(data, "not_secret", lines)),
        writes=_string_list(
            data,
            "writes",
            lines,
            example=("a list of node-id patterns", "a pattern such as test_api.py::*"),
        ),
        alerts=_alerts(data, lines),
        raw=data,
        lines=lines,
    )


def _alerts(data: Mapping[str, Any], lines: Lines) -> AlertsConfig | None:
    """``alerts:`` read, when there is one (only `sleuth watch` acts on it)."""
    if data.get("alerts") is None:
        return None
    from sleuth.suite.alerts import parse_alerts

    return parse_alerts(data["alerts"], lines)


def _string_list(
    data: Mapping[str, Any],
    key: str,
    lines: Lines,
    *,
    example: tuple[str, str] = ("a list of names", "a name"),
) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        return ()
    expect_type(value, list, path=(key,), lines=lines, what=key, example=example[0])
    for i, item in enumerate(value):
        expect_type(
            item,
            str,
            path=(key, i),
            lines=lines,
            what=f"{key} entries",
            example=example[1],
        )
    return tuple(value)


def unknown_target_message(name: str, targets: Iterable[str]) -> str:
    names = sorted(targets)
    return (
        f"unknown target {name!r}. Targets in the config: {', '.join(names)}."
        f"{did_you_mean(name, names)}"
    )


def _optional_duration(
    body: Mapping[str, Any], key: str, path: PathT, lines: Lines
) -> float | None:
    if body.get(key) is None:
        return None
    return parse_duration(body[key], where=lines.where((*path, key)), what=key)


def _build_target(
    name: str,
    body: Mapping[str, Any],
    path: PathT,
    lines: Lines,
    *,
    parent: TargetConfig | None,
    root: Path,
    check: bool = True,
) -> TargetConfig:
    base_url = body.get("base_url", parent.base_url if parent else None)
    if base_url is not None:
        expect_type(
            base_url,
            str,
            path=(*path, "base_url"),
            lines=lines,
            what="base_url",
            example="a URL such as https://api.example.com",
        )
        if not re.match(r"^https?://[^/\s]+", base_url):
            raise ConfigError(
                f"base_url {base_url!r} is not an http:// or https:// URL, "
                f"e.g. https://api.example.com",
                where=lines.where((*path, "base_url")),
            )
    headers = dict(parent.headers) if parent else {}
    if body.get("headers") is not None:
        raw = expect_type(
            body["headers"],
            dict,
            path=(*path, "headers"),
            lines=lines,
            what="headers",
            example="a mapping of header names to values",
        )
        for key, value in raw.items():
            expect_type(
                value,
                str | int,
                path=(*path, "headers", str(key)),
                lines=lines,
                what=f"header {key!r}",
                example="a string",
            )
            headers[str(key)] = str(value)
    timeout_s = _optional_duration(body, "timeout", path, lines)
    if timeout_s is None and parent is not None:
        timeout_s = parent.timeout_s
    if body.get("sources") is not None:
        sources = build_source_specs(body["sources"], (*path, "sources"), lines)
    elif parent is not None:
        sources = parent.sources
    else:
        sources = (env_source_spec(lines.where(path)),)
    services = dict(parent.services) if parent else {}
    if body.get("services") is not None:
        services.update(
            expect_type(
                body["services"],
                dict,
                path=(*path, "services"),
                lines=lines,
                what="services",
                example="a mapping of service kinds",
            )
        )
    return TargetConfig(
        name=name,
        base_url=base_url.rstrip("/") if base_url else None,
        headers=headers,
        timeout_s=timeout_s,
        sources=sources,
        services=services,
        http=_build_http(body.get("http"), (*path, "http"), lines, parent),
        tls=_build_tls(body.get("tls"), (*path, "tls"), lines, parent, root),
        where=lines.where(path),
    )


def _build_http(
    raw: Any, path: PathT, lines: Lines, parent: TargetConfig | None
) -> HttpLimits:
    inherited = parent.http if parent is not None else HttpLimits()
    if raw is None:
        return inherited
    expect_type(
        raw,
        dict,
        path=path,
        lines=lines,
        what="http",
        example="a mapping such as {max_in_flight_per_host: 50}",
    )
    check_keys(raw, _HTTP_KEYS, path=path, lines=lines, what="http")
    caps = {
        key: parse_positive_int(raw[key], where=lines.where((*path, key)), what=key)
        for key in _HTTP_KEYS
        if raw.get(key) is not None
    }
    return dataclasses.replace(inherited, **caps)


def _build_tls(
    raw: Any, path: PathT, lines: Lines, parent: TargetConfig | None, root: Path
) -> TlsOptions | None:
    inherited = parent.tls if parent is not None else None
    if raw is None:
        return inherited
    return parse_tls(
        raw,
        root=root,
        where=lambda key: lines.where(path if key is None else (*path, key)),
        inherited=inherited,
    )
