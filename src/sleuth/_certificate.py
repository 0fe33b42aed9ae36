"""What is wrong with a server's certificate, in plain words.

Shared by ``target.tls`` and by HTTP requests over TLS, so that a bad
certificate reads the same whichever probe met it: expired on which day,
issued for which names, by whom, for what use. When verification fails, a
second handshake without verification fetches the certificate anyway, and
cryptography reads it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as _dt
import ipaddress
import ssl
from typing import Any

from sleuth import _timing as timing

# OpenSSL's verify codes that have a plainer explanation than its message.
EXPIRED, NOT_YET_VALID = 10, 9
NAME_MISMATCH = frozenset({62, 64})  # host name, IP address
UNTRUSTED = frozenset({2, 18, 19, 20, 21})
WRONG_PURPOSE = 26  # "unsupported certificate purpose": key usage not for a server
# Extended key usages by their usual names (RFC 5280), for messages.
_PURPOSES = {
    "1.3.6.1.5.5.7.3.1": "serverAuth",
    "1.3.6.1.5.5.7.3.2": "clientAuth",
    "1.3.6.1.5.5.7.3.3": "codeSigning",
    "1.3.6.1.5.5.7.3.4": "emailProtection",
    "1.3.6.1.5.5.7.3.8": "timeStamping",
    "1.3.6.1.5.5.7.3.9": "OCSPSigning",
}
# A server's alerts that say it did not accept the client's certificate.
_CLIENT_CERT_REFUSED = (
    "ALERT_UNKNOWN_CA",
    "ALERT_BAD_CERTIFICATE",
    "ALERT_CERTIFICATE_UNKNOWN",
    "ALERT_CERTIFICATE_EXPIRED",
    "ALERT_UNSUPPORTED_CERTIFICATE",
)
# The second, unverified handshake of a diagnosis gets at most this long.
DIAGNOSIS_TIMEOUT_S = 2.0


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Certificate:
    """What a certificate says about itself."""

    subject: str
    issuer: str
    names: tuple[str, ...]  # "DNS:api.example.com", "IP:192.0.2.1"
    not_before: _dt.datetime
    not_after: _dt.datetime
    purposes: tuple[str, ...] = ()  # its extended key usages: "serverAuth", ...

    def days_left(self) -> float:
        return (self.not_after - timing.utcnow()).total_seconds() / 86400


def read_certificate(der: bytes, x509: Any) -> Certificate:
    """The certificate in ``der``, read with ``cryptography.x509``."""
    cert = x509.load_der_x509_certificate(der)
    return Certificate(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        names=_names(cert, x509),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        purposes=_purposes(cert, x509),
    )


def problems(
    cert: Certificate,
    *,
    server_name: str,
    verify_code: int | None,
    verify_error: str | None,
    check_chain: bool = True,
) -> list[str]:
    """What is wrong with ``cert`` for ``server_name``, one phrase per problem.

    Expiry is always a problem; the rest only when ``check_chain`` (a client
    that verifies). ``verify_code`` and ``verify_error`` are OpenSSL's, from
    the verifying handshake (None when it succeeded).
    """
    found: list[str] = []
    days_left = cert.days_left()
    if days_left < 0:
        found.append(
            f"the certificate expired {-days_left:.1f} days ago "
            f"(not after {day(cert.not_after)})"
        )
    if not check_chain or verify_code is None:
        return found
    if verify_code in NAME_MISMATCH or not matches(server_name, cert.names):
        found.append(
            f"the certificate is for {', '.join(cert.names) or cert.subject}, "
            f"not {server_name}"
        )
    if verify_code in UNTRUSTED:
        found.append(
            f"the certificate chain is not trusted: {verify_error}; "
            f"issuer {cert.issuer}"
        )
    elif verify_code == NOT_YET_VALID:
        found.append(f"the certificate is not valid before {day(cert.not_before)}")
    elif verify_code == WRONG_PURPOSE:
        found.append(
            f"the certificate is not for a TLS server: its key usage allows "
            f"{', '.join(cert.purposes) or 'other uses'}, not serverAuth"
        )
    elif verify_code != EXPIRED and verify_code not in NAME_MISMATCH:
        found.append(f"the certificate does not verify: {verify_error}")
    return found


def verify_failure(exc: ssl.SSLCertVerificationError) -> tuple[int, str]:
    """OpenSSL's code and message, as ``problems`` takes them."""
    return exc.verify_code, f"{exc.verify_message} (code {exc.verify_code})"


def unverified_context() -> ssl.SSLContext:
    """A context that takes any certificate: only to read what the server sends."""
    loose = ssl.create_default_context()
    loose.check_hostname = False
    loose.verify_mode = ssl.CERT_NONE
    return loose


async def fetch(
    host: str, port: int, server_name: str, context: ssl.SSLContext
) -> tuple[bytes, str, str]:
    """One handshake: the server's certificate (DER), protocol and cipher."""
    _reader, writer = await asyncio.open_connection(
        host, port, ssl=context, server_hostname=server_name
    )
    try:
        tls = writer.get_extra_info("ssl_object")
        der = tls.getpeercert(binary_form=True) if tls is not None else None
        if not der:
            raise ssl.SSLError("the server sent no certificate")
        cipher = tls.cipher()
        return der, str(tls.version()), str(cipher[0]) if cipher else "?"
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await writer.wait_closed()


async def diagnose(
    exc: BaseException, *, host: str, port: int, server_name: str
) -> str:
    """Why verification failed, as ``target.tls`` would say it.

    Fetches the certificate again without verifying it. Without cryptography
    (the ``tls`` extra), or if that handshake fails too, it is OpenSSL's words.
    """
    if not isinstance(exc, ssl.SSLCertVerificationError):
        return f"the certificate does not verify: {exc}"
    code, error = verify_failure(exc)
    try:
        from cryptography import x509
    except ImportError:
        return (
            f"the certificate does not verify: {error} (install sleuth[tls] for "
            f"the certificate's dates, names and issuer)"
        )
    try:
        async with asyncio.timeout(DIAGNOSIS_TIMEOUT_S):
            der, _version, _cipher = await fetch(
                host, port, server_name, unverified_context()
            )
        cert = read_certificate(der, x509)
    except Exception:  # the server went, or sent something unreadable
        return f"the certificate does not verify: {error}"
    found = problems(
        cert, server_name=server_name, verify_code=code, verify_error=error
    )
    return "; ".join(found) or f"the certificate does not verify: {error}"


async def alert_after_handshake(
    host: str, port: int, server_name: str, context: ssl.SSLContext
) -> str | None:
    """The reason of an alert the server sends right after the handshake, if any.

    In TLS 1.3 a server that wants a client certificate says so only once the
    handshake is over, and a client that was writing its request by then sees
    a broken pipe instead. A second handshake, then a wait for the server's
    first bytes (no request is sent), reads the alert.
    """
    try:
        async with asyncio.timeout(DIAGNOSIS_TIMEOUT_S):
            reader, writer = await asyncio.open_connection(
                host, port, ssl=context, server_hostname=server_name
            )
            try:
                await reader.read(1)
            finally:
                writer.close()
    except ssl.SSLError as exc:
        return str(getattr(exc, "reason", None) or exc)
    except Exception:  # noqa: S110 (no alert to tell: the first error stands)
        pass
    return None


def handshake_failure(reason: str) -> str:
    """A failed handshake (not a certificate that did not verify), in plain words."""
    upper = reason.upper()
    if reason == "WRONG_VERSION_NUMBER":
        return (
            f"the TLS handshake failed: {reason}. The server did not answer in "
            f"TLS: is it a plain-text port?"
        )
    if "CERTIFICATE_REQUIRED" in upper:
        return (
            f"the server asks for a client certificate and none was sent "
            f"({reason}). Give tls: {{client_cert: ..., client_key: ...}}."
        )
    if any(alert in upper for alert in _CLIENT_CERT_REFUSED):
        return (
            f"the server refused the client certificate ({reason}). Is it signed "
            f"by a CA the server trusts, and still valid?"
        )
    hint = ""
    if "PROTOCOL" in upper or "VERSION" in upper:
        hint = (
            " The server and this runner share no protocol version (this runner "
            "accepts TLS 1.2 and later)."
        )
    return f"the TLS handshake failed: {reason}.{hint}"


def matches(server_name: str, names: tuple[str, ...]) -> bool:
    """Whether a certificate's names cover ``server_name`` (RFC 6125, simply)."""
    try:
        address = ipaddress.ip_address(server_name)
    except ValueError:
        address = None
    for name in names:
        kind, _, value = name.partition(":")
        if kind == "IP" and address is not None:
            if ipaddress.ip_address(value) == address:
                return True
        elif kind == "DNS" and address is None and _dns_match(value, server_name):
            return True
    return False


def day(moment: _dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _dns_match(pattern: str, host: str) -> bool:
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == host


def _names(cert: Any, x509: Any) -> tuple[str, ...]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return ()
    dns = [f"DNS:{n}" for n in san.value.get_values_for_type(x509.DNSName)]
    ips = [f"IP:{a}" for a in san.value.get_values_for_type(x509.IPAddress)]
    return tuple(dns + ips)


def _purposes(cert: Any, x509: Any) -> tuple[str, ...]:
    try:
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        return ()
    return tuple(
        _PURPOSES.get(oid.dotted_string, oid.dotted_string) for oid in usage.value
    )
