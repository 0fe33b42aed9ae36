"""Secrets written into a suite: well-known key formats and URLs with passwords.

A small set of patterns that have one meaning wherever they appear (the
prefixes the issuers chose so that scanners can find them), rather than a
general detector: detect-secrets 1.5 took 0.85-1.25 s on examples/ and the demo
suite, most of it its own start-up, and flagged the example dotenv files'
``API_KEY=example-key-not-a-secret`` by its name alone. Passwords in URLs and
DSNs are found by ``sleuth.redact``, as every output masks them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

from sleuth.redact import mask_dsn

# (what it is, pattern). Each pattern is specific enough to need no entropy test.
KEY_FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b")),
    (
        "a GitHub token",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_\w{22,255})\b"),
    ),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    (
        "a Slack webhook URL",
        re.compile(r"https://hooks\.slack\.com/services/T\w+/B\w+/\w+"),
    ),
    ("a Stripe secret key", re.compile(r"\b[sr]k_(?:live|test)_[0-9A-Za-z]{16,}\b")),
    (
        "a private key",
        re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    ),
    (
        "a JSON Web Token",
        re.compile(r"\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}"),
    ),
)
# Something shaped like a URL or a libpq DSN's password=, to hand to mask_dsn.
_URL_LIKE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"`<>]+|\bpassword\s*=\s*\S+")
# A password that is a placeholder, not a value: ${setting:...}, {}, %s, ***, <pw>.
_PLACEHOLDER = re.compile(r"^(?:\$\{.*\}|\{.*\}|%s|%\(\w+\)s|\*+|<[^>]*>|\$\w+)$")


def key_formats_in(text: str) -> Iterator[str]:
    """What known key formats ``text`` holds (their kinds, never their values)."""
    for kind, pattern in KEY_FORMATS:
        if pattern.search(text):
            yield kind


def has_password_in_url(text: str) -> bool:
    """Whether ``text`` holds a URL or DSN with a password written out."""
    for match in _URL_LIKE.finditer(text):
        candidate = match.group(0).rstrip(".,;)")
        masked = mask_dsn(candidate)
        if masked == candidate:
            continue
        if not _placeholder_only(candidate, masked):
            return True
    return False


def _placeholder_only(candidate: str, masked: str) -> bool:
    """Whether each password ``mask_dsn`` found is a placeholder such as ``${...}``."""
    # The masked text splits the original around each password.
    parts = masked.split("***")
    rest = candidate
    for before, after in itertools.pairwise(parts):
        rest = rest[len(before) :]
        end = rest.find(after) if after else len(rest)
        if end < 0:
            return False
        password = rest[:end]
        if not _PLACEHOLDER.match(password):
            return False
        rest = rest[end:]
    return True


def secrets_in(text: str) -> Iterator[tuple[str, str]]:
    """``(rule, what)`` for each kind of secret written in ``text``."""
    for kind in key_formats_in(text):
        yield "secret", f"{kind} is written here"
    if has_password_in_url(text):
        yield "password-in-url", "a URL or DSN with a password is written here"


def scan_lines(
    text: str, *, settings_file: bool = False
) -> Iterator[tuple[int, str, str]]:
    """``(line, rule, message)`` for every secret in a YAML or dotenv file.

    ``settings_file``: a file settings are read from (a dotenv file, the
    config), which goes wherever the suite goes: the advice differs.
    """
    advice = SETTINGS_FILE_ADVICE if settings_file else ADVICE
    for number, line in enumerate(text.splitlines(), start=1):
        for rule, what in secrets_in(line):
            yield number, rule, f"{what}: {advice}"


ADVICE = (
    "read it from a settings source instead (${setting:NAME} in YAML, "
    "target.setting(NAME) in Python)"
)
SETTINGS_FILE_ADVICE = (
    "this file travels with the suite. Read the value from the deployment "
    "(a dotenv: source pointing at the deployed file, a secret store, "
    "${env:NAME}) instead"
)
