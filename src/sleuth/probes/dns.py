"""``target.dns``: what a name resolves to, compared with what it should.

dnspython's async resolver on the engine's loop, asking the system's name
servers or the one given (``server``/``port``). Records are compared after
light normalisation: case and trailing dots of names, the spelling of IPv6
addresses, and the quoting of TXT strings do not count as differences.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict

from sleuth import _timing as timing
from sleuth.engine.context import ProbeContext
from sleuth.errors import CheckFailed, ConfigError, ProbeError, TargetUnreachable
from sleuth.probes._dependency import (
    DependencyProbe,
    Parser,
    helper_options,
    load,
    ms,
    other_error,
    port_option,
    record,
    require,
    step,
    too_slow,
    unhealthy,
)
from sleuth.suite.units import parse_duration

if TYPE_CHECKING:
    from sleuth.probes import ProbeEnv

KIND = "dns"
DEFAULT_TYPE = "A"
_THRESHOLDS = {
    "expect": lambda v, where, what: _record_list(v, where, what),
    "contains": lambda v, where, what: _record_list(v, where, what),
    "max_resolve_time": lambda v, where, what: parse_duration(
        v, where=where, what=what
    ),
}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DnsHealth:
    """The answer to one question: the records (sorted), their TTL, the time."""

    name: str
    type: str
    server: str  # "127.0.0.1:5353", or "system" for the resolv.conf servers
    records: tuple[str, ...]
    ttl: int
    resolve_s: float


class DnsProbeOptions(TypedDict, total=False):
    """The options of ``target.dns(...)`` and of ``services: dns:``."""

    name: str  # the name to resolve
    type: str  # the record type: A (default), AAAA, CNAME, MX...
    server: str  # a resolver to ask instead of the system's
    port: int | str  # the resolver's port, 53 by default


class DnsProbe(DependencyProbe[DnsHealth]):
    """``target.dns(name="api.example.com").check(expect=["192.0.2.10"])``.

    ``check()`` resolves the name and fails unless the records are what is
    expected: ``expect`` exactly these (any order), ``contains`` at least
    these (category "unhealthy"). No such name, no records of the type, or a
    failing server fail with category "dns"; no answer, with "timeout".
    """

    kind: ClassVar[str] = KIND
    drivers: ClassVar[tuple[str, ...]] = ("dns.asyncresolver",)
    address_keys: ClassVar[frozenset[str]] = frozenset(DnsProbeOptions.__annotations__)
    check_keys: ClassVar[frozenset[str]] = frozenset(_THRESHOLDS)
    thresholds: ClassVar[Mapping[str, Parser]] = _THRESHOLDS

    def __init__(self, env: ProbeEnv, name: str | None = None, /, **options: Any):
        opts, where = helper_options(env, KIND, name, options, self.address_keys)
        self._env = env
        self.name = str(require(opts, "name", kind=KIND, where=where))
        self.type = str(opts.get("type") or DEFAULT_TYPE).upper()
        self.server: str | None = opts.get("server")
        self.port = port_option(opts.get("port") or 53, kind=KIND, where=where)
        if self.server is not None:
            try:
                ipaddress.ip_address(self.server)
            except ValueError:
                raise ConfigError(
                    f"dns server {self.server!r} is not an IP address: give the "
                    f"name server's address, e.g. server: 192.0.2.53",
                    where=where,
                ) from None
        self.server_display = (
            "system" if self.server is None else _host_port(self.server, self.port)
        )
        self.display = f"{self.name} {self.type} @{self.server_display}"

    def __repr__(self) -> str:
        return f"<DnsProbe {self.display}>"

    def resolve(self) -> tuple[str, ...]:
        """The records the name resolves to, sorted and normalised."""
        __tracebackhide__ = True
        return self._run(self._records)

    async def aresolve(self) -> tuple[str, ...]:
        """``resolve()`` for ``async def`` probes."""
        __tracebackhide__ = True
        return await self._arun(self._records)

    async def _records(self, ctx: ProbeContext) -> tuple[str, ...]:
        return (await self._resolve(ctx)).records

    async def _check(self, ctx: ProbeContext, limits: Mapping[str, Any]) -> DnsHealth:
        __tracebackhide__ = True
        health = await self._resolve(ctx)
        problems: list[str] = []
        got = set(health.records)
        shown = ", ".join(health.records)
        expected = limits.get("expect")
        if expected is not None:
            wanted = {_normal(r, self.type) for r in expected}
            if got != wanted:
                problems.append(
                    f"resolves to {shown}, expected {', '.join(sorted(wanted))}"
                    + _difference(got, wanted)
                )
        contained = limits.get("contains")
        if contained is not None:
            missing = sorted({_normal(r, self.type) for r in contained} - got)
            if missing:
                problems.append(f"resolves to {shown}, missing {', '.join(missing)}")
        problems += too_slow(
            "resolve time", health.resolve_s, "max_resolve_time", limits
        )
        if problems:
            raise unhealthy(
                KIND,
                self.display,
                problems,
                "Check the zone's records, and which server this runner asks.",
            )
        return health

    async def _resolve(self, ctx: ProbeContext) -> DnsHealth:
        __tracebackhide__ = True
        request = f"dns {self.type} {self.name} @{self.server_display}"
        started = timing.perf_counter()
        health = await step(
            ctx,
            self._ask(max(ctx.remaining(), 0.05)),
            kind=KIND,
            request=request,
            translate=self.translate_error,
        )
        record(
            ctx,
            kind=KIND,
            request=request,
            started=started,
            answer=f"{len(health.records)} records",
            figures={"records": ", ".join(health.records), "ttl": health.ttl},
            phases_ms={"resolve": ms(health.resolve_s)},
        )
        return health

    async def _ask(self, timeout_s: float) -> DnsHealth:
        asyncresolver = load(
            "dns.asyncresolver", kind=KIND, package="dnspython", extra="dns"
        )
        resolver = asyncresolver.Resolver(configure=self.server is None)
        if self.server is not None:
            resolver.nameservers = [self.server]
            resolver.port = self.port
        # Past the probe's deadline, so that the deadline (and its message) wins.
        resolver.lifetime = resolver.timeout = timeout_s + 1
        started = timing.perf_counter()
        answer = await resolver.resolve(self.name, self.type, search=False)
        took = timing.perf_counter() - started
        records = tuple(sorted(_normal(_text(rr), self.type) for rr in answer))
        return DnsHealth(
            name=self.name,
            type=self.type,
            server=self.server_display,
            records=records,
            ttl=int(answer.rrset.ttl) if answer.rrset is not None else 0,
            resolve_s=took,
        )

    def translate_error(self, exc: BaseException) -> ProbeError:
        """The one place dnspython's errors become sleuth's, with a category."""
        what = f"dns {self.display}"
        name = type(exc).__name__
        if name == "NXDOMAIN":
            return CheckFailed(
                f"{what}: the name {self.name} does not exist (NXDOMAIN). Check the "
                f"spelling, and that the record was published in the zone.",
                target=self.display,
                category="dns",
            )
        if name == "NoAnswer":
            return CheckFailed(
                f"{what}: the name {self.name} exists but has no {self.type} records",
                target=self.display,
                category="dns",
            )
        if name == "NoNameservers":
            return TargetUnreachable(
                f"{what}: no name server answered usefully ({_first_line(exc)})",
                target=self.display,
                category="dns",
            )
        if name in ("LifetimeTimeout", "Timeout"):
            return TargetUnreachable(
                f"{what}: no answer from {self.server_display} in time",
                target=self.display,
                category="timeout",
            )
        if name in ("NoResolverConfiguration",):
            return TargetUnreachable(
                f"{what}: this runner has no name servers configured; give server:",
                target=self.display,
                category="dns",
            )
        if _module_of(exc).startswith("dns.") and name in (
            "EmptyLabel",
            "LabelTooLong",
            "NameTooLong",
            "UnknownRdatatype",
        ):
            return CheckFailed(
                f"{what}: cannot ask: {name} ({exc})", target=self.display
            )
        return other_error(exc, what=what)


def _record_list(value: object, where: str, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(
        f"invalid {what} {value!r}: expected a record or a list of records, "
        f"e.g. [192.0.2.10, 192.0.2.11]",
        where=where,
    )


def _text(rdata: Any) -> str:
    strings = getattr(rdata, "strings", None)
    if strings is not None:  # TXT: the strings joined, without quotes
        return b"".join(strings).decode(errors="replace")
    return str(rdata.to_text())


def _normal(text: str, rdtype: str) -> str:
    if rdtype in ("TXT", "SPF"):
        return text.strip().strip('"')
    tokens = []
    for token in text.split():
        try:
            token = str(ipaddress.ip_address(token))
        except ValueError:
            token = token.rstrip(".").lower()
        tokens.append(token)
    return " ".join(tokens)


def _difference(got: set[str], wanted: set[str]) -> str:
    parts = []
    if extra := sorted(got - wanted):
        parts.append(f"unexpected {', '.join(extra)}")
    if missing := sorted(wanted - got):
        parts.append(f"missing {', '.join(missing)}")
    return f" ({'; '.join(parts)})" if parts else ""


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _module_of(exc: BaseException) -> str:
    return type(exc).__module__ or ""
