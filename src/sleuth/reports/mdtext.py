"""Text made safe to stand in Markdown, and counts said in words.

A diagnosis or a probe id is shown as written, whatever characters it holds:
Markdown must not turn ``a*b*c`` into emphasis, ``<html>`` into a tag or a
newline into a new paragraph that breaks a list. Only what would change the
rendering is escaped, so the raw text stays readable where it is pasted
unrendered.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sleuth._evidence import ProbeOutcome

# What starts Markdown syntax inside a line: "_" only at the edge of a word
# (FEATURE_FLAG_X renders as written), "&" only as an entity (&amp;), "<" as
# a tag. "#", ">" and list markers cannot start these lines (they follow
# "- " or "1. "), and no such text goes in a table.
_SPECIAL = re.compile(r"[\\`*<\[\]]|(?<!\w)_|_(?!\w)|&(?=#?\w+;)")
_BACKTICKS = re.compile(r"`+")

# The order outcomes are counted in, in every output: worst first.
OUTCOME_ORDER: tuple[ProbeOutcome, ...] = (
    "failed",
    "error",
    "blocked",
    "warned",
    "flaky",
    "passed",
    "skipped",
    "xfailed",
    "xpassed",
)
# outcome -> (one, many): "1 error", "24 errors", "3 failed".
_OUTCOME_WORDS = {
    "passed": ("passed", "passed"),
    "warned": ("warned", "warned"),
    "flaky": ("flaky", "flaky"),
    "failed": ("failed", "failed"),
    "error": ("error", "errors"),
    "blocked": ("blocked", "blocked"),
    "skipped": ("skipped", "skipped"),
    "xfailed": ("xfailed", "xfailed"),
    "xpassed": ("xpassed", "xpassed"),
}


def one_line(text: str, *, most: int | None = None) -> str:
    """``text`` on one line (newlines as ``; ``), cut at ``most`` characters."""
    flat = "; ".join(part.strip() for part in text.splitlines() if part.strip())
    if most is not None and len(flat) > most:
        return flat[: most - 1].rstrip() + "…"
    return flat


def plain(text: str) -> str:
    """``text`` on one line, rendered as written."""
    return _SPECIAL.sub(lambda m: "\\" + m.group(0), one_line(text))


def code(text: str) -> str:
    """``text`` as an inline code span, on one line, whatever backticks it holds."""
    flat = one_line(text)
    longest = max((len(run) for run in _BACKTICKS.findall(flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def counted(n: int, one: str, many: str | None = None) -> str:
    """``1 probe``, ``3 probes``."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def outcome_counts(counts: Mapping[str, int]) -> str:
    """``3 failed, 1 error, 10 passed``: in the order given (in_outcome_order)."""
    return ", ".join(
        f"{n} {_OUTCOME_WORDS.get(o, (o, o))[0 if n == 1 else 1]}"
        for o, n in counts.items()
    )


def in_outcome_order(counts: Mapping[str, int]) -> dict[str, int]:
    """``counts`` without zeros, worst outcome first (OUTCOME_ORDER)."""
    rank: dict[str, int] = {outcome: i for i, outcome in enumerate(OUTCOME_ORDER)}
    return {
        o: n
        for o, n in sorted(counts.items(), key=lambda c: rank.get(c[0], len(rank)))
        if n
    }


def outcome_words(outcome: str, category: str) -> str:
    """``error (refused)``; ``failed``, never ``failed (failed)``."""
    if not category or category == outcome:
        return outcome
    return f"{outcome} ({category})"


def fenced(text: str) -> list[str]:
    """``text`` as a fenced code block, whatever backtick fences it holds."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}text", *text.rstrip("\n").splitlines(), fence]
