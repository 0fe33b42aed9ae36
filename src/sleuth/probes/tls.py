"""``target.tls``: is a server's certificate valid, for this name, and for how long.

Python's ssl on the engine's loop does the handshake the way clients do (chain
and host name verified against the system's CAs, or ``ca_file``). When that
fails, a second handshake without verification fetches the certificate
anyway, so the failure can say what is wrong with it: expired on which day,
issued for which names, by whom. cryptography reads the certificate.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import ssl
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict

from sleuth import _certificate as certificates, _timing as timing
from sleuth._certificate import day as _day
from sleuth.engine.context import ProbeContext
from sleuth.errors import CheckFailed, ProbeError, TargetUnreachable
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
    translate_os_error,
    under,
)
from sleuth.suite.units import (
    TLS_VERSIONS,
    parse_days,
    parse_duration,
    parse_flag,
    parse_tls_version,
)

if TYPE_CHECKING:
    from sleuth.probes import ProbeEnv

KIND = "tls"
DEFAULT_PORT = 443
_THRESHOLDS = {
    "min_days_left": lambda v, where, what: parse_days(v, where=where, what=what),
    "warn_days_left": lambda v, where, what: parse_days(v, where=where, what=what),
    "min_version": lambda v, where, what: parse_tls_version(v, where=where, what=what),
    "verify": lambda v, where, what: parse_flag(v, where=where, what=what),
    "max_handshake_time": lambda v, where, what: parse_duration(
        v, where=where, what=what
    ),
}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TlsHealth:
    """What the handshake and the certificate showed."""

    host: str
    port: int
    server_name: str
    version: str  # "TLSv1.3"
    cipher: str
    subject: str
    issuer: str
    names: tuple[str, ...]  # "DNS:api.example.com", "IP:192.0.2.1"
    not_before: _dt.datetime
    not_after: _dt.datetime
    days_left: float
    verified: bool  # chain and host name, as a client would check them
    verify_error: str | None
    hostname_matches: bool
    handshake_s: float
    warnings: tuple[str, ...] = ()
    verify_code: int | None = None  # OpenSSL's, when verification failed
    purposes: tuple[str, ...] = ()  # the extended key usages: "serverAuth", ...


class TlsProbeOptions(TypedDict, total=False):
    """The options of ``target.tls(...)`` and of ``services: tls:``."""

    host: str
    port: int | str  # 443 by default
    server_name: str  # the name to ask for (SNI), the host by default
    ca_file: str  # the CA bundle to verify against, the system's by default


class TlsProbe(DependencyProbe[TlsHealth]):
    """``target.tls(host="api.example.com").check(min_days_left=14)``.

    ``check()`` does the handshake and fails on an untrusted chain, a host
    name mismatch or an expired certificate (category "tls"; ``verify=False``
    still fails on expiry), and on figures past ``min_days_left``,
    ``min_version`` or ``max_handshake_time`` (category "unhealthy"). Under
    ``warn_days_left`` it passes, with a warning in ``TlsHealth.warnings`` and
    in the evidence.
    """

    kind: ClassVar[str] = KIND
    drivers: ClassVar[tuple[str, ...]] = ("cryptography.x509",)
    address_keys: ClassVar[frozenset[str]] = frozenset(TlsProbeOptions.__annotations__)
    check_keys: ClassVar[frozenset[str]] = frozenset(_THRESHOLDS)
    thresholds: ClassVar[Mapping[str, Parser]] = _THRESHOLDS

    def __init__(self, env: ProbeEnv, name: str | None = None, /, **options: Any):
        opts, where = helper_options(env, KIND, name, options, self.address_keys)
        self._env = env
        self.host = str(require(opts, "host", kind=KIND, where=where))
        self.port = port_option(
            opts.get("port") or DEFAULT_PORT, kind=KIND, where=where
        )
        self.server_name = str(opts.get("server_name") or self.host)
        self.ca_file: str | None = opts.get("ca_file")
        sni = f" ({self.server_name})" if self.server_name != self.host else ""
        self.display = f"{self.host}:{self.port}{sni}"

    def __repr__(self) -> str:
        return f"<TlsProbe {self.display}>"

    def certificate(self) -> TlsHealth:
        """The handshake's figures without judging them, for custom assertions."""
        __tracebackhide__ = True
        return self._run(lambda ctx: self._read(ctx, {}))

    async def acertificate(self) -> TlsHealth:
        """``certificate()`` for ``async def`` probes."""
        __tracebackhide__ = True
        return await self._arun(lambda ctx: self._read(ctx, {}))

    async def _check(self, ctx: ProbeContext, limits: Mapping[str, Any]) -> TlsHealth:
        __tracebackhide__ = True
        health = await self._read(ctx, limits)
        certificate_problems = _certificate_problems(
            health, verify=limits.get("verify", True)
        )
        problems = certificate_problems + _threshold_problems(health, limits)
        if problems:
            hint = (
                "Renew or reissue the certificate, or give ca_file: for a private CA."
                if certificate_problems
                else "Renew the certificate, or upgrade the server's TLS settings."
            )
            raise CheckFailed(
                f"tls {self.display}: {'; '.join(problems)}. {hint}",
                target=self.display,
                category="tls" if certificate_problems else "unhealthy",
            )
        return health

    async def _read(self, ctx: ProbeContext, limits: Mapping[str, Any]) -> TlsHealth:
        __tracebackhide__ = True
        request = f"tls handshake {self.display}"
        started = timing.perf_counter()
        health = await step(
            ctx,
            self._handshake(),
            kind=KIND,
            request=request,
            translate=self.translate_error,
        )
        warn = limits.get("warn_days_left")
        if warn is not None and 0 <= health.days_left < warn:
            health = dataclasses.replace(
                health,
                warnings=(
                    f"certificate expires in {health.days_left:.1f} days "
                    f"({_day(health.not_after)}), under warn_days_left {warn:g}",
                ),
            )
        figures: dict[str, object] = {
            "protocol": f"{health.version} {health.cipher}",
            "subject": health.subject,
            "issuer": health.issuer,
            "names": ", ".join(health.names) or "(none)",
            "not after": f"{_day(health.not_after)} ({health.days_left:.1f} days left)",
            "verified": "yes" if health.verified else f"no: {health.verify_error}",
        }
        for warning in health.warnings:
            figures["warning"] = warning
            # Degraded, not wrong: the probe passes, reported as warned.
            ctx.warn(f"tls {self.display}: {warning}")
        record(
            ctx,
            kind=KIND,
            request=request,
            started=started,
            answer=health.version,
            figures=figures,
            phases_ms={"handshake": ms(health.handshake_s)},
        )
        return health

    async def _handshake(self) -> TlsHealth:
        x509 = load("cryptography.x509", kind=KIND, package="cryptography", extra="tls")
        verifying = ssl.create_default_context(cafile=self.ca_file)
        started = timing.perf_counter()
        try:
            der, version, cipher = await self._fetch(verifying)
            verified, verify_error, code = True, None, None
        except ssl.SSLCertVerificationError as exc:
            verified = False
            code, verify_error = certificates.verify_failure(exc)
            # Again without verification, only to read what the server sends.
            der, version, cipher = await self._fetch(certificates.unverified_context())
        took = timing.perf_counter() - started
        cert = certificates.read_certificate(der, x509)
        return TlsHealth(
            host=self.host,
            port=self.port,
            server_name=self.server_name,
            version=version,
            cipher=cipher,
            subject=cert.subject,
            issuer=cert.issuer,
            names=cert.names,
            not_before=cert.not_before,
            not_after=cert.not_after,
            days_left=cert.days_left(),
            verified=verified,
            verify_error=verify_error,
            hostname_matches=code not in certificates.NAME_MISMATCH
            and certificates.matches(self.server_name, cert.names),
            handshake_s=took,
            verify_code=code,
            purposes=cert.purposes,
        )

    async def _fetch(self, context: ssl.SSLContext) -> tuple[bytes, str, str]:
        return await certificates.fetch(self.host, self.port, self.server_name, context)

    def translate_error(self, exc: BaseException) -> ProbeError:
        """The one place handshake failures become sleuth's errors."""
        what = f"tls {self.display}"
        if isinstance(exc, ssl.SSLError) and not isinstance(
            exc, ssl.SSLCertVerificationError
        ):
            reason = str(getattr(exc, "reason", None) or exc)
            return TargetUnreachable(
                f"{what}: {certificates.handshake_failure(reason)}",
                target=self.display,
                category="tls",
            )
        translated = translate_os_error(exc, what=what, host=self.host, port=self.port)
        if translated is not None:
            translated.target = self.display
            return translated
        return other_error(exc, what=what)


def _certificate_problems(health: TlsHealth, *, verify: bool) -> list[str]:
    cert = certificates.Certificate(
        subject=health.subject,
        issuer=health.issuer,
        names=health.names,
        not_before=health.not_before,
        not_after=health.not_after,
        purposes=health.purposes,
    )
    return certificates.problems(
        cert,
        server_name=health.server_name,
        verify_code=None if health.verified else health.verify_code,
        verify_error=health.verify_error,
        check_chain=verify,
    )


def _threshold_problems(health: TlsHealth, limits: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    days = limits.get("min_days_left")
    if days is not None and 0 <= health.days_left < days:
        problems.append(
            under(
                "the certificate expires in",
                f"{health.days_left:.1f} days ({_day(health.not_after)})",
                "min_days_left",
                f"{days:g}",
            )
        )
    version = limits.get("min_version")
    if version is not None and _rank(health.version) < _rank(version):
        problems.append(under("protocol", health.version, "min_version", version))
    problems += too_slow(
        "handshake time", health.handshake_s, "max_handshake_time", limits
    )
    return problems


def _rank(version: str) -> int:
    return TLS_VERSIONS.index(version) if version in TLS_VERSIONS else -1
