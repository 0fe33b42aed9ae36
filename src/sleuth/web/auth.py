"""Who may read the page: a bearer token, or a user and a password hash.

``--auth bearer:ENVVAR`` reads the token from the environment (never from the
command line, where ``ps`` shows it); ``--auth basic:USER:HASH`` takes a hash
made by ``sleuth serve --hash-password``: scrypt (hashlib) with a random salt.
Every comparison is constant-time. ``/healthz`` stays open: it says only
whether the suite passes, for load balancers and uptime checks.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import os
import secrets
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from sleuth.errors import SleuthError

# scrypt's cost: about 50 ms and 16 MiB a check (OWASP's floor is N=2**17
# with r=8 for interactive logins; a page refreshed every 30 s is not one,
# and a check is remembered, see Auth.allows).
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
_PREFIX = "scrypt"
OPEN_PATHS = frozenset({"/healthz"})

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class AuthError(SleuthError):
    """An --auth value that cannot be used."""


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$16384$8$1$SALT$HASH`` (base64), for ``--auth basic:USER:HASH``."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    return "$".join(
        [_PREFIX, str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest)]
    )


def check_password(password: str, hashed: str) -> bool:
    """Does ``password`` match ``hashed`` (made by ``hash_password``)?"""
    _kind, n, r, p, salt, digest = _parse_hash(hashed)
    found = hashlib.scrypt(
        password.encode(),
        salt=salt,
        n=n,
        r=r,
        p=p,
        dklen=len(digest),
        maxmem=2 * 128 * r * (n + p + 2),
    )
    return hmac.compare_digest(found, digest)


def _parse_hash(hashed: str) -> tuple[str, int, int, int, bytes, bytes]:
    parts = hashed.split("$")
    try:
        if len(parts) != 6 or parts[0] != _PREFIX:
            raise ValueError
        n, r, p = (int(x) for x in parts[1:4])
        return parts[0], n, r, p, _unb64(parts[4]), _unb64(parts[5])
    except (ValueError, binascii.Error):
        raise AuthError(
            "the password hash is not one 'sleuth serve --hash-password' makes "
            "(scrypt$N$r$p$salt$hash)"
        ) from None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Auth:
    """A way in: ``bearer`` with its token, or ``basic`` with user and hash."""

    scheme: str
    token: str = dataclasses.field(default="", repr=False)
    user: str = ""
    password_hash: str = dataclasses.field(default="", repr=False)
    # Credentials already checked, as keyed digests: scrypt runs once per
    # client, not once per refresh. The key is made per process.
    _accepted: set[bytes] = dataclasses.field(default_factory=set, repr=False)
    _key: bytes = dataclasses.field(
        default_factory=lambda: secrets.token_bytes(32), repr=False
    )

    def allows(self, header: str | None) -> bool:
        """Does this ``Authorization`` header let its sender in?"""
        scheme, _, value = (header or "").partition(" ")
        value = value.strip()
        if self.scheme == "bearer":
            return scheme.lower() == "bearer" and hmac.compare_digest(
                value.encode(), self.token.encode()
            )
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = (
                base64.b64decode(value, validate=True).decode().partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            return False
        seen = hmac.new(self._key, value.encode(), hashlib.sha256).digest()
        if seen in self._accepted:
            return True
        good_user = hmac.compare_digest(user.encode(), self.user.encode())
        good = check_password(password, self.password_hash) and good_user
        if good:
            self._accepted.add(seen)
        return good

    @property
    def challenge(self) -> str:
        return (
            'Bearer realm="sleuth"'
            if self.scheme == "bearer"
            else 'Basic realm="sleuth"'
        )


def parse_auth(text: str, *, environ: Mapping[str, str] | None = None) -> Auth:
    """``bearer:ENVVAR`` or ``basic:USER:HASH`` as an ``Auth``.

    Raises:
        AuthError: saying what is wrong and what to give instead.
    """
    environ = os.environ if environ is None else environ
    scheme, _, rest = text.partition(":")
    if scheme == "bearer":
        if not rest or not rest.replace("_", "").isalnum():
            raise AuthError(
                "--auth bearer: needs the name of an environment variable holding "
                "the token (--auth bearer:SLEUTH_TOKEN), never the token itself"
            )
        token = environ.get(rest, "")
        if not token:
            raise AuthError(
                f"--auth bearer:{rest}: the environment variable {rest} is unset "
                f"or empty; export the token in it first"
            )
        return Auth(scheme="bearer", token=token)
    if scheme == "basic":
        user, _, hashed = rest.partition(":")
        if not user or not hashed:
            raise AuthError(
                "--auth basic: needs a user and a password hash: --auth "
                "basic:USER:HASH (make the hash with 'sleuth serve --hash-password')"
            )
        _parse_hash(hashed)
        return Auth(scheme="basic", user=user, password_hash=hashed)
    raise AuthError(
        f"--auth {scheme or text!r} is not known: give bearer:ENVVAR or basic:USER:HASH"
    )


class AuthMiddleware:
    """Answers 401 to a request without the right credentials (not /healthz)."""

    def __init__(self, app: App, *, auth: Auth) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        header = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"),
            None,
        )
        if self.auth.allows(header):
            await self.app(scope, receive, send)
            return
        from starlette.responses import PlainTextResponse

        response = PlainTextResponse(
            "authentication required\n",
            status_code=401,
            headers={"WWW-Authenticate": self.auth.challenge},
        )
        await response(scope, receive, send)
