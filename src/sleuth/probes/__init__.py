"""Dependency probes: one module per kind, loaded when a probe first uses it.

``target.postgres("orders")`` finds ``postgres`` in ``KINDS``, imports its
module, and builds the helper with a ``ProbeEnv`` (the engine, the target's
config, settings interpolation) plus the name or address the probe gave.
A new kind is one module here (its options a ``<Kind>ProbeOptions`` TypedDict),
one line in ``KINDS``, one typed method on ``Target`` (so that editors and mypy
know what it returns; tests/test_typed_api.py checks each kind has one), and
one extra in pyproject.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sleuth.engine import imports
from sleuth.errors import ConfigError
from sleuth.suite.validate import did_you_mean

if TYPE_CHECKING:
    from sleuth.engine import Engine
    from sleuth.suite.config import TargetConfig

# kind -> "module:Class". Keep sorted; one line per kind.
KINDS: dict[str, str] = {
    "amqp": "sleuth.probes.amqp:AmqpProbe",
    "dns": "sleuth.probes.dns:DnsProbe",
    "mqtt": "sleuth.probes.mqtt:MqttProbe",
    "mysql": "sleuth.probes.mysql:MysqlProbe",
    "nats": "sleuth.probes.nats:NatsProbe",
    "postgres": "sleuth.probes.postgres:PostgresProbe",
    "redis": "sleuth.probes.redis:RedisProbe",
    "tcp": "sleuth.probes.tcp:TcpProbe",
    "tls": "sleuth.probes.tls:TlsProbe",
}


def load_kind(kind: str) -> Callable[..., Any]:
    """The helper class of ``kind`` (its module is imported now)."""
    if kind not in KINDS:
        known = ", ".join(sorted(KINDS)) or "none"
        raise ConfigError(
            f"unknown probe kind {kind!r}. Known kinds: {known}."
            f"{did_you_mean(kind, KINDS)}"
        )
    module_name, _, class_name = KINDS[kind].partition(":")
    factory: Callable[..., Any] = getattr(imports.load(module_name), class_name)
    return factory


def preload(kinds: Iterable[str]) -> None:
    """Load the client libraries of ``kinds`` now, before any probe's clock starts.

    The run calls it with the kinds its selected table rows use; a Python
    probe's kind loads on the probe's own thread (``DependencyProbe.preload``).
    """
    for kind in sorted(set(kinds) & KINDS.keys()):
        helper = load_kind(kind)
        preload_kind = getattr(helper, "preload", None)
        if preload_kind is not None:
            preload_kind()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ProbeEnv:
    """What a dependency helper gets from the target it hangs off."""

    engine: Engine
    target: TargetConfig
    default_timeout_s: float
    suite_display: str
    # Replaces ${setting:NAME} (and nothing else) in a string; raises ConfigError.
    interpolate: Callable[[str, str], str]

    def service(self, kind: str, name: str) -> Mapping[str, Any]:
        """The options of ``services: {kind: {name: {...}}}`` in the target's config.

        Raises:
            ConfigError: when there is no such entry, listing the ones there are.
        """
        entries = self.target.services.get(kind) or {}
        if not isinstance(entries, Mapping) or name not in entries:
            names = sorted(entries) if isinstance(entries, Mapping) else []
            listed = ", ".join(names) if names else "none"
            raise ConfigError(
                f"target {self.target.name!r} has no {kind} service named {name!r}. "
                f"Its {kind} services: {listed}.{did_you_mean(name, names)} "
                f"Add it under services: {kind}: {name}: in {self.suite_display}, or "
                f"give the address directly.",
                where=self.target.where,
            )
        entry = entries[name]
        if isinstance(entry, str):
            return {"url": entry}
        if not isinstance(entry, Mapping):
            raise ConfigError(
                f"services: {kind}: {name}: must be a URL or a mapping of options",
                where=self.target.where,
            )
        return entry
