"""Which value wins: a name several sources hold with different values.

The lookup returns the first source's value; when a later source holds a
different one, the evidence says so, with a short fingerprint of each value so
the reader can see which sources agree, never the values themselves:
``environment and dotenv deploy.env differ (fingerprints 3fa1 vs 9c0e); the
first source, environment, wins``.

The fingerprints are keyed with a key made for the run and never shown, so a
fingerprint of a guessable value (``true``, ``1``) cannot be matched against
a list of guesses; they compare within one run, not across runs (the history
keeps its own keyed fingerprints for that).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

SHORT = 4  # hex characters shown, lengthened only when two differing values share them


def as_text(value: Any) -> str:
    """A value as the app would compare it: the environment's values are text."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def note(held: Sequence[tuple[str, Any]], *, key: bytes, called: bool = False) -> str:
    """The conflict note for ``held`` (source label, value) in lookup order, or "".

    Identical values (as text) in several sources are not a conflict; sources
    without a value are not in ``held``. ``called``: the probe called the first
    one (the app's own function) itself, so its value is the one it got,
    whatever the order of the sources.
    """
    texts = [as_text(value) for _, value in held]
    if len(set(texts)) < 2:
        return ""
    digests = [
        hmac.new(key, text.encode("utf-8", "replace"), hashlib.sha256).hexdigest()
        for text in texts
    ]
    prints = _shortest(digests, texts)
    labels = [label for label, _ in held]
    if len(labels) == 2:
        sources = f"{labels[0]} and {labels[1]}"
        shown = f"{prints[0]} vs {prints[1]}"
    else:
        sources = f"{', '.join(labels[:-1])} and {labels[-1]}"
        shown = ", ".join(prints)
    wins = (
        f"the probe called {labels[0]} itself, so its value wins"
        if called
        else f"the first source, {labels[0]}, wins"
    )
    return f"{sources} differ (fingerprints {shown}); {wins}"


def _shortest(digests: list[str], texts: list[str]) -> list[str]:
    """The shortest prefixes (at least ``SHORT``) that tell differing values apart."""
    length = SHORT
    while length < len(digests[0]):
        prefixes = [d[:length] for d in digests]
        clash = any(
            prefixes[i] == prefixes[j] and texts[i] != texts[j]
            for i in range(len(texts))
            for j in range(i)
        )
        if not clash:
            break
        length += 2
    return [d[:length] for d in digests]
