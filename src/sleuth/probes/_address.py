"""Where a server is, from a URL and the options given over it (mysql, redis).

``mysql://app:secret@db-1:3306/shop`` plus ``port=3307`` is db-1:3307. The
password is kept for connecting and never shown: ``display`` masks it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sleuth.errors import ConfigError
from sleuth.probes._dependency import port_option
from sleuth.redact import mask_dsn

_TRUE = {"1", "true", "yes", "on", "required", "verify_ca", "verify_identity"}
# URL query keys that ask for TLS (MySQL's ssl-mode=REQUIRED, ...).
_TLS_QUERY_KEYS = ("tls", "ssl", "ssl-mode", "ssl_mode", "sslmode")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class UrlAddress:
    """A server's address: what to connect to, and how to show it."""

    scheme: str  # the plain scheme shown: "mysql", "redis"
    host: str
    port: int
    user: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)
    path: str = ""  # the database: a name (mysql) or a number (redis)
    tls: bool = False

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def display(self) -> str:
        """``mysql://app:***@db-1:3306/shop``: never the password."""
        user = (self.user or "") + (":***" if self.password else "")
        scheme = (
            f"{self.scheme}s" if self.tls and self.scheme == "redis" else self.scheme
        )
        return f"{scheme}://{user}{'@' if user else ''}{self.server}/{self.path}"


def parse_address(
    options: Mapping[str, Any],
    *,
    kind: str,
    where: str,
    schemes: Mapping[str, bool],
    default_port: int,
    path_key: str,
    example: str,
) -> UrlAddress:
    """The address in ``url=`` (or ``dsn=``) with ``host=``, ``port=``,
    ``user=``, ``password=``, ``{path_key}=`` and ``tls=`` over it.

    ``schemes`` maps each accepted scheme to whether it means TLS
    (``rediss``); ``+driver`` suffixes (``mysql+pymysql``) are ignored.

    Raises:
        ConfigError: for a URL that is not one, naming ``example``.
    """
    fields: dict[str, Any] = {"host": "localhost", "port": default_port}
    url = str(options.get("url") or options.get("dsn") or "")
    scheme = next(iter(schemes))
    if url:
        parts = urlsplit(url)
        scheme = parts.scheme.split("+")[0]
        try:
            port = parts.port
        except ValueError:
            port = -1
        if scheme not in schemes or not parts.hostname or port == -1:
            raise ConfigError(
                f"invalid {kind} url {mask_dsn(url)!r}: expected e.g. {example}",
                where=where,
            )
        query = {k.lower(): v[-1].lower() for k, v in parse_qs(parts.query).items()}
        fields.update(
            host=parts.hostname,
            port=port or default_port,
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            path=unquote(parts.path.strip("/")),
            tls=schemes[scheme] or any(query.get(k) in _TRUE for k in _TLS_QUERY_KEYS),
        )
    for option, field in (("host", "host"), ("user", "user"), ("password", "password")):
        if options.get(option) is not None:
            fields[field] = str(options[option])
    if options.get(path_key) is not None:
        fields["path"] = str(options[path_key])
    if options.get("port") is not None:
        fields["port"] = port_option(options["port"], kind=kind, where=where)
    if options.get("tls") is not None:
        fields["tls"] = str(options["tls"]).lower() in _TRUE
    plain = next(name for name, tls in schemes.items() if not tls)
    return UrlAddress(scheme=plain, **fields)
