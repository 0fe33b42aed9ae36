"""Which hosts a suite's targets name, and the host a written URL reaches."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Iterator
from typing import Any

_HOST_KEY = re.compile(r"\bhost\s*=\s*([^\s&]+)")


def host_of(url: str) -> str | None:
    """The host of an absolute ``http(s)://`` or ``ws(s)://`` URL, else None."""
    scheme, sep, _ = url.partition("://")
    if not sep or scheme.lower() not in {"http", "https", "ws", "wss"}:
        return None
    try:
        host = urllib.parse.urlsplit(url).hostname
    except ValueError:
        return None
    if not host or "{" in host or "$" in host:
        return None  # a placeholder: which host it is, is for the run to know
    return host.lower()


def hosts_in(value: Any) -> Iterator[str]:
    """Every host written in a config value: URLs, DSNs, ``host:`` keys."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in {"host", "hostname"} and isinstance(item, str):
                yield item.lower()
            yield from hosts_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from hosts_in(item)
    elif isinstance(value, str):
        if "://" in value:
            try:
                host = urllib.parse.urlsplit(value.strip()).hostname
            except ValueError:
                host = None
            if host:
                yield host.lower()
        for match in _HOST_KEY.finditer(value):
            yield match.group(1).strip("'\"").lower()


def known_hosts(values: Iterable[Any]) -> frozenset[str]:
    return frozenset(host for value in values for host in hosts_in(value))
