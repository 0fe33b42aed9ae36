"""The secret registry, and the one scrubber every output goes through.

Secrets are registered as they are seen: settings whose name looks secret or
whose source is secret, passwords in URLs and DSNs, sensitive header values,
and whatever a suite hands to ``sleuth.secret()``. The scrubber replaces each
with ``***`` wherever it appears as text, in its common encodings too
(URL-quoted, JSON- and repr-escaped, base64, ``user:password`` in base64).

Values too weak to scrub as text (shorter than 4 characters, or common words
such as ``true`` or ``admin``) are masked only where they stand as a secret's
value: ``NAME=value``, ``'NAME': 'value'``, reprs, test ids.

Registries are per run. Code anywhere (a probe, a driver helper) registers
through ``register()``, which reaches every active run's registry: that list is
the one piece of module state sleuth keeps, because secrets must be registrable
without plumbing a run object through user code.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import urllib.parse
from collections.abc import Iterable
from typing import Any

MASK = "***"
MIN_SCRUB_LENGTH = 4
# The clean-text memo (SecretRegistry._clean): short texts only, and at most
# ~5 MB of them (a run of 500 probes keeps ~2,000, 60 KB).
_CLEAN_TEXT_MAX_LEN = 256
_CLEAN_TEXTS_MAX = 20_000
SCALAR_TYPES = frozenset({int, float, bool})  # nothing to scrub in these
DEFAULT_SECRET_WORDS = (
    "AUTH", "COOKIE", "CREDENTIAL", "DSN", "KEY", "PASS", "PASSWD", "PASSWORD",
    "PRIVATE", "SECRET", "SESSION", "TOKEN",
)  # fmt: skip
# Header names whose values are secrets (lowercase; substrings count too).
SECRET_HEADER_WORDS = (
    "api-key", "apikey", "auth", "authorization", "cookie", "password", "secret",
    "session", "token",
)  # fmt: skip
COMMON_WORDS = frozenset(
    """true false yes no on off none null nil admin administrator root user users guest
    test testing demo default public private secret password passwd changeme example
    localhost enabled disabled enable disable staging stage prod production dev
    development debug info warn warning error local main master value empty unknown
    http https""".split()  # noqa: SIM905 (a word list reads best as words)
)
_URL_USERINFO = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<user>[^:/@\s]*):(?P<password>[^@/\s]+)@"
)


class Secret(str):
    """A string whose repr is masked: what ``target.setting`` returns for secrets.

    It compares, formats and prints as the real value (so probes can use it);
    only its repr, which pytest shows in assertions and ``--showlocals``, hides it.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(MASK)


def looks_secret(name: str, words: Iterable[str] = DEFAULT_SECRET_WORDS) -> bool:
    """Does a setting's name look like it holds a secret (API_KEY, DB_PASSWORD)?"""
    upper = name.upper()
    return any(word in upper for word in words)


def is_secret_header(name: str) -> bool:
    lower = name.lower()
    return any(word in lower for word in SECRET_HEADER_WORDS)


def is_weak(value: str) -> bool:
    """Too short or too common to scrub as free text without wrecking the output."""
    return len(value) < MIN_SCRUB_LENGTH or value.strip().lower() in COMMON_WORDS


def mask_url(url: str) -> str:
    """``postgres://app:pw@db/orders`` -> ``postgres://app:***@db/orders``.

    Unchanged when the URL has no password.
    """
    try:
        parts = urllib.parse.urlsplit(url)
        password = parts.password
    except ValueError:  # a bad port or bracket: mask by pattern instead
        return _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", url)
    if password is None:
        return _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", url)
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}"))


# URL schemes of databases and brokers: in such a URL (a DSN) only the password
# is a secret; the rest says where the dependency is, which every message about
# it must show. Other URLs (a webhook's path, a token in a query) stay whole.
DSN_SCHEMES = frozenset(
    """postgres postgresql postgresql+psycopg postgresql+psycopg2 mysql mysql+pymysql
    mariadb redis rediss amqp amqps mongodb mongodb+srv nats tls mqtt mqtts""".split()  # noqa: SIM905 (a word list reads best as words)
)
# A libpq key=value DSN: host=db-1 port=5432 dbname=orders ...
_KEYWORD_DSN = re.compile(r"^\s*(?:host|hostaddr|dbname|port|user)\s*=", re.IGNORECASE)
# password=secret (or password='a secret') in a libpq key=value DSN or a query.
_KEYWORD_PASSWORD = re.compile(
    r"(?P<head>\bpassword\s*=\s*)(?P<value>'(?:[^'\\]|\\.)*'|[^\s&]+)", re.IGNORECASE
)


def is_dsn(text: str) -> bool:
    """A database or broker address (URL or libpq ``key=value``): its password
    is a secret, the rest of it is not."""
    scheme, sep, _ = text.strip().partition("://")
    if sep:
        return scheme.lower() in DSN_SCHEMES
    return bool(_KEYWORD_DSN.match(text))


def mask_dsn(dsn: str) -> str:
    """``dsn`` (a URL or a libpq ``key=value`` string) with its passwords as ``***``.

    Covers ``user:password@`` in a URL and ``password=`` in a ``key=value``
    string or a URL's query.
    """
    return _KEYWORD_PASSWORD.sub(rf"\g<head>{MASK}", mask_url(dsn))


class SecretRegistry:
    """The secrets of one run. Safe to use from many threads."""

    def __init__(
        self,
        *,
        secret_words: Iterable[str] = DEFAULT_SECRET_WORDS,
        min_length: int = MIN_SCRUB_LENGTH,
    ) -> None:
        self.secret_words = tuple(w.upper() for w in secret_words)
        # Values shorter than this are masked only where they stand beside
        # their name (see is_weak); the history asks for longer ones.
        self.min_length = min_length
        self._lock = threading.Lock()
        self._values: set[str] = set()  # every secret value, weak ones included
        self._texts: set[str] = set()  # what is scrubbed as text, encodings included
        self._named_weak: dict[str, set[str]] = {}  # setting name -> weak values
        self._pattern: re.Pattern[str] | None = None
        self._weak_patterns: list[re.Pattern[str]] | None = None
        # Short texts found clean since the last secret came: a run scrubs the
        # same ids, keywords and paths again and again (three reports per
        # probe, the history's rows). Replaced, not cleared, when a secret
        # comes, so a scrub that began before it adds to the old set only.
        self._clean: set[str] = set()

    # -- registering --------------------------------------------------------

    def add(self, value: object, *, name: str | None = None) -> None:
        """Register a secret value (and, for a URL, the password in it)."""
        if value is None or isinstance(value, bool):
            return
        text = (
            value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        )
        if not text.strip():
            return
        self.add_urls_in(text)
        with self._lock:
            if text in self._values:
                return
            self._values.add(text)
            if len(text) < self.min_length or is_weak(text):
                if name:
                    self._named_weak.setdefault(name, set()).add(text)
                    self._weak_patterns = None
                    self._clean = set()
                return
            self._texts.update(_encodings(text))
            self._pattern = None
            self._clean = set()

    def add_setting(
        self, name: str, value: object, *, secret_source: bool = False
    ) -> None:
        """A setting was read: keep it if its name or source says secret; keep any
        password in it either way (``DATABASE_URL`` is not a secret name).

        A DSN (``PG_DSN=postgresql://app@db/orders``) is an address whatever
        its name says: only its password is kept, so a DSN without one is
        shown whole, and so is every other probe's message about that address.
        """
        if value is None:
            return
        if isinstance(value, str) and is_dsn(value):
            self.add_urls_in(value)
        elif secret_source or looks_secret(name, self.secret_words):
            self.add(value, name=name)
        elif isinstance(value, str):
            self.add_urls_in(value)

    def add_header(self, name: str, value: str) -> None:
        """A header is about to be sent: keep its value if the name is sensitive."""
        if not is_secret_header(name):
            self.add_urls_in(value)
            return
        self.add(value, name=name)
        scheme, _, credentials = value.partition(" ")
        if credentials:
            self.add(credentials, name=name)
            if scheme.lower() == "basic":
                try:
                    decoded = base64.b64decode(credentials, validate=True).decode(
                        "utf-8"
                    )
                except ValueError:
                    return
                self.add(decoded.partition(":")[2], name=name)
                self._add_forms({credentials, credentials.rstrip("=")})

    def add_urls_in(self, text: str) -> None:
        """Register the password of every ``scheme://user:password@`` in ``text``,
        and of every ``password=...`` (libpq DSNs, query strings)."""
        if "password" in text.lower():
            for match in _KEYWORD_PASSWORD.finditer(text):
                value = match["value"]
                self.add(value[1:-1] if value.startswith("'") else value)
        if "@" not in text or "://" not in text:
            return
        for match in _URL_USERINFO.finditer(text):
            password = urllib.parse.unquote(match["password"])
            self.add(password)
            self.add(match["password"])
            user = urllib.parse.unquote(match["user"])
            if user and not is_weak(password):
                # What a client sends for it: Basic base64(user:password).
                self._add_forms(
                    _encodings(f"{user}:{password}") - {f"{user}:{password}"}
                )

    def _add_forms(self, forms: set[str]) -> None:
        with self._lock:
            if not forms <= self._texts:
                self._texts.update(forms)
                self._pattern = None
                self._clean = set()

    # -- asking ---------------------------------------------------------------

    def is_secret(self, value: object) -> bool:
        if isinstance(value, Secret):
            return True
        if not isinstance(value, str | bytes):
            return False
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        with self._lock:
            return text in self._values

    def contains_secret(self, text: str) -> bool:
        return self.scrub(text) != text

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)

    # -- scrubbing --------------------------------------------------------------

    def scrub(self, text: str) -> str:
        """``text`` with every registered secret replaced by ``***``."""
        if not text or (not self._texts and not self._named_weak):
            return text  # nothing registered: the common case, made cheap
        clean = self._clean  # taken before the patterns (see __init__)
        if text in clean:
            return text
        pattern, weak_patterns = self._patterns()
        scrubbed = text
        if pattern is not None:
            scrubbed = pattern.sub(MASK, scrubbed)
            if "..." in scrubbed or "\u2026" in scrubbed:
                scrubbed = _mask_cut_secrets(scrubbed, self._texts)
        for weak in weak_patterns:
            scrubbed = weak.sub(lambda m: m["lead"] + MASK, scrubbed)
        if (
            scrubbed == text
            and len(text) <= _CLEAN_TEXT_MAX_LEN
            and len(clean) < _CLEAN_TEXTS_MAX
        ):
            clean.add(text)
        return scrubbed

    def known_clean(self, values: Iterable[object]) -> bool:
        """Whether ``values`` holds only numbers, None and texts already found
        clean: a quick look that spares walking what was scrubbed before."""
        clean = self._clean
        for value in values:
            if type(value) is str:
                if value not in clean:
                    return False
            elif value is not None and type(value) not in SCALAR_TYPES:
                return False
        return True

    def scrub_any(self, value: Any) -> Any:
        """Scrub strings inside lists, tuples and dicts (keys too); others as-is."""
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, list):
            return [self.scrub_any(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.scrub_any(v) for v in value)
        if isinstance(value, dict):
            return {self.scrub_any(k): self.scrub_any(v) for k, v in value.items()}
        return value

    def _patterns(self) -> tuple[re.Pattern[str] | None, list[re.Pattern[str]]]:
        pattern, weak = self._pattern, self._weak_patterns
        if (pattern is not None or not self._texts) and weak is not None:
            return pattern, weak  # built, and nothing added since: no lock needed
        with self._lock:
            if self._pattern is None and self._texts:
                # Longest first, so a secret containing another is masked whole.
                alternatives = sorted(self._texts, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(t) for t in alternatives))
            if self._weak_patterns is None:
                self._weak_patterns = [
                    _weak_value_pattern(name, values)
                    for name, values in sorted(self._named_weak.items())
                ]
            return self._pattern, self._weak_patterns


# Where pytest (saferepr, a truncated explanation) or a terminal shortens a
# long text, a secret may be cut: its start before the ellipsis, its end
# after. Whole secrets are masked first; these are the pieces left.
_ELLIPSES = ("...", "\u2026")
# A lone piece this long or longer is masked; shorter ones only when the other
# side of the same ellipsis holds a piece of the same secret.
CUT_PIECE_MIN = 3


def _mask_cut_secrets(text: str, secrets: Iterable[str]) -> str:
    """``'ca...xdist-5f0c2a'`` (``canary-xdist-5f0c2a`` cut short) as ``'***'``;
    a lone start or end of a secret beside an ellipsis as ``***``."""
    secrets = tuple(secrets)
    out: list[str] = []
    done = 0  # text[:done] is in out
    for ellipsis in _ELLIPSES:
        if out:  # the first ellipsis kind changed the text: scan the result
            text, out, done = "".join(out) + text[done:], [], 0
        at = text.find(ellipsis)
        while at != -1:
            end = at + len(ellipsis)
            head = tail = 0  # the longest start of a secret before, end after
            whole, pair = 0, (0, 0)  # a start and an end of one secret around it
            for secret in secrets:
                k = _start_before(text, at, secret, floor=done)
                m = _end_after(text, end, secret)
                head, tail = max(head, k), max(tail, m)
                if k and m and k + m >= max(whole + 1, CUT_PIECE_MIN):
                    whole = k + m
                    pair = (k, m)
            if whole:
                k, m = pair
                out += [text[done : at - k], MASK]
                done = end + m
            else:
                if head >= CUT_PIECE_MIN:
                    out += [text[done : at - head], MASK]
                    done = at
                if tail >= CUT_PIECE_MIN:
                    out += [text[done:end], MASK]
                    done = end + tail
            at = text.find(ellipsis, max(end, done))
    if not out:
        return text
    return "".join(out) + text[done:]


def _start_before(text: str, at: int, secret: str, *, floor: int) -> int:
    """The longest proper start of ``secret`` that ``text[:at]`` ends with."""
    for k in range(min(len(secret) - 1, at - floor), 0, -1):
        if text.startswith(secret[:k], at - k):
            return k
    return 0


def _end_after(text: str, at: int, secret: str) -> int:
    """The longest proper end of ``secret`` that ``text[at:]`` starts with."""
    for m in range(min(len(secret) - 1, len(text) - at), 0, -1):
        if text.startswith(secret[len(secret) - m :], at):
            return m
    return 0


def _weak_value_pattern(name: str, values: set[str]) -> re.Pattern[str]:
    """``NAME=value``, ``NAME: value``, ``'NAME': 'value'``, and a settings
    rule's ``setting NAME (from SOURCE) is 'value'``: a weak secret in place."""
    choices = "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))
    quoted = re.escape(name)
    lead = rf"\b{quoted}\b['\"]?\s*[=:]\s*['\"]?|\b{quoted} \(from [^)]*\) is '"
    return re.compile(rf"(?P<lead>{lead})(?:{choices})(?![\w.-])")


def _encodings(text: str) -> set[str]:
    """The forms a secret commonly takes in output."""
    forms = {text}
    forms.add(urllib.parse.quote(text, safe=""))
    forms.add(urllib.parse.quote_plus(text))
    forms.add(json.dumps(text)[1:-1])
    forms.add(repr(text)[1:-1])
    raw = text.encode("utf-8")
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        forms.add(encoded.decode("ascii"))
        forms.add(encoded.decode("ascii").rstrip("="))
    return {f for f in forms if len(f) >= MIN_SCRUB_LENGTH}


# -- the active runs' registries ------------------------------------------------

_ACTIVE: list[SecretRegistry] = []
_ACTIVE_LOCK = threading.Lock()


def activate(registry: SecretRegistry) -> None:
    with _ACTIVE_LOCK:
        _ACTIVE.append(registry)


def deactivate(registry: SecretRegistry) -> None:
    with _ACTIVE_LOCK:
        if registry in _ACTIVE:
            _ACTIVE.remove(registry)


def register(value: object, *, name: str | None = None) -> None:
    """Register a secret with every active run (a no-op outside a sleuth run)."""
    with _ACTIVE_LOCK:
        registries = list(_ACTIVE)
    for registry in registries:
        registry.add(value, name=name)


def register_url(url: str) -> str:
    """Register the password in ``url`` and return the URL with it masked."""
    with _ACTIVE_LOCK:
        registries = list(_ACTIVE)
    for registry in registries:
        registry.add_urls_in(url)
    return mask_url(url)


def scrub(text: str) -> str:
    """Scrub with every active run's registry."""
    with _ACTIVE_LOCK:
        registries = list(_ACTIVE)
    for registry in registries:
        text = registry.scrub(text)
    return text


def secret(value: str) -> Secret:
    """Mark ``value`` as a secret for this run: it is masked in every output.

    Returns it as a ``Secret`` string, usable as the plain value.
    """
    register(value)
    return value if isinstance(value, Secret) else Secret(value)
