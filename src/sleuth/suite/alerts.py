"""``alerts:`` in sleuth.yaml: where ``sleuth watch`` says that a probe changed state.

Only read here; ``sleuth.watch.alerts`` decides and delivers. A receiver's URL
may hold ``${setting:NAME}`` (filled in when the watch starts) and is treated
as a secret: a Slack webhook's path is its credential.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from sleuth.errors import ConfigError
from sleuth.suite.units import parse_duration, parse_positive_int
from sleuth.suite.validate import PathT, check_keys, did_you_mean, expect_type
from sleuth.suite.yamlfile import Lines

RECEIVER_KINDS = ("alertmanager", "slack", "webhook")
DEFAULT_AFTER = 2  # consecutive results before a change counts
DEFAULT_RECEIVER_TIMEOUT_S = 5.0
_ALERTS_KEYS = {"after", "page_url", "to"}
_RECEIVER_KEYS = {"url", "timeout"}
_EXAMPLE = "a mapping such as {after: 2, to: [{slack: {url: ...}}]}"
_HTTP_URL = re.compile(r"^https?://[^/\s]+")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ReceiverConfig:
    """One place alerts go: its kind and URL (a template: may hold ``${setting:}``)."""

    kind: str  # one of RECEIVER_KINDS
    url: str
    timeout_s: float = DEFAULT_RECEIVER_TIMEOUT_S
    where: str = ""

    def __repr__(self) -> str:  # the URL is a secret: never in a repr
        return f"ReceiverConfig(kind={self.kind!r}, where={self.where!r})"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AlertsConfig:
    """What ``alerts:`` says."""

    receivers: tuple[ReceiverConfig, ...]
    after: int = DEFAULT_AFTER
    page_url: str | None = None
    where: str = ""


def parse_alerts(raw: Any, lines: Lines, path: PathT = ("alerts",)) -> AlertsConfig:
    """Check ``alerts:`` and build its config.

    Raises:
        ConfigError: naming the file and line, and what to write instead.
    """
    body = expect_type(
        raw, dict, path=path, lines=lines, what="alerts", example=_EXAMPLE
    )
    check_keys(body, _ALERTS_KEYS, path=path, lines=lines, what="alerts")
    after = DEFAULT_AFTER
    if body.get("after") is not None:
        after = parse_positive_int(
            body["after"], where=lines.where((*path, "after")), what="after"
        )
    page_url = body.get("page_url")
    if page_url is not None:
        expect_type(
            page_url,
            str,
            path=(*path, "page_url"),
            lines=lines,
            what="page_url",
            example="the status page's URL, e.g. https://status.example.com",
        )
        _check_url(page_url, "page_url", where=lines.where((*path, "page_url")))
        page_url = page_url.rstrip("/")
    to = body.get("to")
    if to is None:
        raise ConfigError(
            "alerts has no to: say where alerts go, e.g. "
            "to: [{slack: {url: '${setting:SLACK_WEBHOOK_URL}'}}]",
            where=lines.where(path),
        )
    expect_type(
        to,
        list,
        path=(*path, "to"),
        lines=lines,
        what="alerts' to",
        example="a list of receivers such as - webhook: {url: https://...}",
    )
    receivers = tuple(
        _receiver(item, (*path, "to", i), lines) for i, item in enumerate(to)
    )
    if not receivers:
        raise ConfigError(
            "alerts' to is empty: name at least one receiver "
            f"({', '.join(RECEIVER_KINDS)}), or remove alerts:",
            where=lines.where((*path, "to")),
        )
    return AlertsConfig(
        receivers=receivers, after=after, page_url=page_url, where=lines.where(path)
    )


def _receiver(item: Any, path: PathT, lines: Lines) -> ReceiverConfig:
    example = (
        f"a mapping with one of {', '.join(RECEIVER_KINDS)}, e.g. webhook: {{url: ...}}"
    )
    expect_type(item, dict, path=path, lines=lines, what="a receiver", example=example)
    if len(item) != 1:
        raise ConfigError(
            f"a receiver is one kind ({', '.join(RECEIVER_KINDS)}), "
            f"found {len(item)} keys: write each as its own list item",
            where=lines.where(path),
        )
    ((kind, options),) = item.items()
    kind = str(kind)
    if kind not in RECEIVER_KINDS:
        raise ConfigError(
            f"unknown receiver kind {kind!r}. Kinds: {', '.join(RECEIVER_KINDS)}."
            f"{did_you_mean(kind, RECEIVER_KINDS)}",
            where=lines.where((*path, kind)),
        )
    at = (*path, kind)
    if isinstance(options, str):
        options = {"url": options}
    expect_type(
        options,
        dict,
        path=at,
        lines=lines,
        what=f"{kind}",
        example="a mapping such as {url: https://...}",
    )
    check_keys(options, _RECEIVER_KEYS, path=at, lines=lines, what=kind)
    url = options.get("url")
    if url is None:
        raise ConfigError(
            f"{kind} has no url: e.g. {kind}: {{url: {_url_example(kind)}}}",
            where=lines.where(at),
        )
    expect_type(
        url,
        str,
        path=(*path, kind, "url"),
        lines=lines,
        what=f"{kind}'s url",
        example=f"a URL such as {_url_example(kind)}",
    )
    if not url.startswith("${"):  # a whole reference is checked once filled in
        _check_url(url, f"{kind}'s url", where=lines.where((*at, "url")))
    timeout_s = DEFAULT_RECEIVER_TIMEOUT_S
    if options.get("timeout") is not None:
        timeout_s = parse_duration(
            options["timeout"], where=lines.where((*at, "timeout")), what="timeout"
        )
    return ReceiverConfig(
        kind=kind, url=url, timeout_s=timeout_s, where=lines.where((*at, "url"))
    )


def check_receiver_url(url: str, *, kind: str, where: str) -> None:
    """A filled-in receiver URL is http(s); the message never quotes it."""
    _check_url(url, f"{kind}'s url", where=where)


def _check_url(url: str, what: str, *, where: str) -> None:
    if not _HTTP_URL.match(url):
        # Not quoted: a receiver's URL is a credential.
        raise ConfigError(
            f"{what} is not an http:// or https:// URL, e.g. https://hooks.example.com/...",
            where=where,
        )


def _url_example(kind: str) -> str:
    examples: Mapping[str, str] = {
        "alertmanager": "http://127.0.0.1:9093",
        "slack": "'${setting:SLACK_WEBHOOK_URL}'",
        "webhook": "https://hooks.example.com/sleuth",
    }
    return examples[kind]
