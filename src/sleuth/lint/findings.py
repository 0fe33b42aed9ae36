"""What ``sleuth lint`` reports: findings, the rules they break, and silencing.

A finding names a file, a line, a rule and what to do. One is silenced by a
comment naming its rule, on its line or alone on the line above it:
``# sleuth: allow write-without-mark`` (several: ``allow secret, unknown-host``).
Messages never quote a secret: they say what kind of value is there, not the value.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping

# Every rule, with the one line the docs and ``sleuth lint --help`` show.
RULES: Mapping[str, str] = {
    "asserts-nothing": "a probe with no assert, no check and no table expectation",
    "write-without-mark": "a POST, PUT, PATCH or DELETE in a probe not marked writes",
    "secret": "a known key format written into the suite (AWS, GitHub, Slack, "
    "Stripe, private key, JWT)",
    "password-in-url": "a URL or DSN with a password written into the suite",
    "no-timeout": "timeout=None: a probe that may wait forever",
    "timeout-over-budget": "a timeout longer than the run's budget",
    "unknown-host": "a probe that reaches a host no target names",
    "duplicate-row": "a probe table row written twice",
    "secret-in-test-id": "a parametrize value that would carry a secret into a test id",
    "unknown-rule": "a '# sleuth: allow' comment naming no rule: it silences nothing",
}
_ALLOW = re.compile(
    r"#\s*sleuth:\s*allow\s+(?P<rules>[a-z][a-z\-]*(?:\s*,\s*[a-z\-]+)*)"
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One mistake in a suite, where it is written."""

    file: str  # as shown: relative to the working directory where possible
    line: int
    rule: str
    message: str

    def sort_key(self) -> tuple[str, int, str]:
        return (self.file, self.line, self.rule)


def allowed_rules(line: str) -> frozenset[str]:
    """The rules a ``# sleuth: allow ...`` comment on ``line`` names."""
    match = _ALLOW.search(line)
    if match is None:
        return frozenset()
    return frozenset(r.strip() for r in match["rules"].split(","))


def is_silenced(lines: list[str], line: int, rule: str) -> bool:
    """Whether ``rule`` is allowed on ``line`` (1-based), or by a comment alone
    on the line above it (for dotenv files, and lines too long for one more word)."""
    if 1 <= line <= len(lines) and rule in allowed_rules(lines[line - 1]):
        return True
    if 2 <= line <= len(lines) + 1:
        above = lines[line - 2].strip()
        return above.startswith("#") and rule in allowed_rules(above)
    return False


def unknown_rules(lines: Iterable[str]) -> list[tuple[int, str]]:
    """``(line, name)`` of each allow comment naming no rule (a typo)."""
    found = []
    for number, text in enumerate(lines, start=1):
        for rule in sorted(allowed_rules(text)):
            if rule not in RULES:
                found.append((number, rule))
    return found
