"""``tls:`` options of HTTP requests: the CA to trust, verify or not, a client cert.

Given per target in sleuth.yaml, per row in a probe table, or per request
(``target.http.get(path, tls={...})``); a request's options override its
target's, key by key. Files are checked when the options are read, so that a
missing or unreadable file is a config error naming where it was written, not
a failed probe. The options are plain data: the HTTP worker process builds its
own ``ssl.SSLContext`` from them (``build_context``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sleuth.errors import ConfigError
from sleuth.suite.units import parse_flag
from sleuth.suite.validate import did_you_mean, kind_of

if TYPE_CHECKING:
    import ssl  # loaded by the functions that build contexts: not at start-up

KEYS = ("ca_file", "client_cert", "client_key", "verify")
_FILE_KEYS = ("ca_file", "client_cert", "client_key")
EXAMPLE = "a mapping such as {ca_file: certs/ca.pem, verify: true}"
# Says where a key (or the whole mapping, for None) was written.
Where = Callable[[str | None], str]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TlsOptions:
    """How a client does TLS; None leaves the default (the system's CAs)."""

    ca_file: str | None = None
    verify: bool | None = None  # None: verify, unless an outer level said not to
    client_cert: str | None = None
    client_key: str | None = None

    def over(self, outer: TlsOptions | None) -> TlsOptions:
        """These options, with what they leave unsaid taken from ``outer``."""
        if outer is None:
            return self
        mine = {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
        return dataclasses.replace(outer, **mine)

    @property
    def verifies(self) -> bool:
        return self.verify is not False


def parse_tls(
    raw: Any, *, root: Path, where: Where, inherited: TlsOptions | None = None
) -> TlsOptions:
    """Check a ``tls:`` mapping and its files; relative paths are under ``root``.

    Raises:
        ConfigError: for an unknown key, a wrong type, a file that cannot be
            read or holds no usable certificate or key, at ``where(key)``.
    """
    if isinstance(raw, TlsOptions):
        return raw.over(inherited)
    if not isinstance(raw, Mapping):
        raise ConfigError(
            f"tls must be {EXAMPLE}, found {kind_of(raw)}", where=where(None)
        )
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in KEYS:
            raise ConfigError(
                f"unknown key {key!r} in tls. Valid keys: {', '.join(KEYS)}."
                f"{did_you_mean(str(key), KEYS)}",
                where=where(str(key)),
            )
        if value is None:
            continue
        if key == "verify":
            values[key] = parse_flag(value, where=where(key), what="tls verify")
        else:
            values[key] = _readable_file(value, key, root=root, where=where)
    options = TlsOptions(**values).over(inherited)
    if options.client_key is not None and options.client_cert is None:
        raise ConfigError(
            "tls client_key needs client_cert: the certificate that goes with the key",
            where=where("client_key"),
        )
    _check_loads(options, where)
    return options


def build_context(options: TlsOptions) -> ssl.SSLContext:
    """The client context ``options`` describe (raises ssl.SSLError or OSError)."""
    import ssl

    context = ssl.create_default_context(cafile=options.ca_file)
    if not options.verifies:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if options.client_cert is not None:
        context.load_cert_chain(options.client_cert, options.client_key)
    return context


class Contexts:
    """Contexts built once per set of options, in the process that makes requests."""

    def __init__(self) -> None:
        self._built: dict[TlsOptions, ssl.SSLContext] = {}

    def get(self, options: TlsOptions | None) -> ssl.SSLContext | None:
        """The context for ``options``; None for the client's default."""
        if options is None or options == TlsOptions():
            return None
        context = self._built.get(options)
        if context is None:
            context = self._built[options] = build_context(options)
        return context


def describe(options: TlsOptions | None) -> str | None:
    """A line for the evidence when an answer came over unverified TLS."""
    if options is None or options.verifies:
        return None
    return "no (tls verify: false): the server's certificate was not checked"


def _readable_file(value: Any, key: str, *, root: Path, where: Where) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f"tls {key} must be a file path, found {kind_of(value)}", where=where(key)
        )
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = root / path
    try:
        with path.open("rb") as file:
            file.read(1)
    except FileNotFoundError:
        problem = "there is no such file"
    except IsADirectoryError:
        problem = "it is a directory, not a file"
    except OSError as exc:
        problem = f"it cannot be read ({exc.strerror or exc})"
    else:
        return str(path)
    raise ConfigError(f"tls {key} {value!r}: {problem} ({path})", where=where(key))


def _check_loads(options: TlsOptions, where: Where) -> None:
    """Load the files once now, so that one that is no PEM fails here."""
    import ssl

    if options.ca_file is not None:
        try:
            ssl.create_default_context(cafile=options.ca_file)
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(
                f"tls ca_file {options.ca_file}: {_why(exc, 'certificate')}",
                where=where("ca_file"),
            ) from None
    if options.client_cert is not None:
        try:
            ssl.create_default_context().load_cert_chain(
                options.client_cert, options.client_key
            )
        except (ssl.SSLError, OSError) as exc:
            key = "client_key" if options.client_key is not None else "client_cert"
            raise ConfigError(
                f"tls client_cert {options.client_cert}"
                + (
                    f" with client_key {options.client_key}"
                    if options.client_key
                    else ""
                )
                + f": {_why(exc, 'certificate and its private key')}",
                where=where(key),
            ) from None


def _why(exc: BaseException, expected: str) -> str:
    reason = str(getattr(exc, "reason", None) or exc)
    if reason == "KEY_VALUES_MISMATCH":
        return "the key is not the certificate's own (KEY_VALUES_MISMATCH)"
    return f"cannot be used ({reason}): it must hold a PEM {expected}"
