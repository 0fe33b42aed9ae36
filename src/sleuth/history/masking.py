"""What the history masks beyond the run's secrets: every setting value it read.

The history keeps a keyed fingerprint of each setting, never its value, and
that holds for values nobody marked secret (``CACHE_HOST=10.99.88.77``) too:
a settings rule's message (``setting CACHE_HOST (from dotenv .env) is
'10.99.88.77'``), a request to ``redis://10.99.88.77:6379``, a body that
echoes it. Values of ``MIN_LENGTH`` characters or more are masked wherever
they appear, in their common encodings; shorter or common ones (``on``,
``5432``, ``localhost``) only where they stand beside their name, since
masking them everywhere would mask half of every message (and a fingerprint
of such a value is as guessable as the value).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sleuth.redact import SecretRegistry

MIN_LENGTH = 6

Scrub = Callable[[str], str]


def history_scrub(scrub: Scrub, setting_values: Mapping[str, tuple[str, ...]]) -> Scrub:
    """``scrub`` (the run's secrets), then every setting value the run read."""
    if not setting_values:
        return scrub
    values = SecretRegistry(min_length=MIN_LENGTH)
    for name, seen in setting_values.items():
        for value in seen:
            values.add(value, name=name)

    def scrub_all(text: str) -> str:
        return values.scrub(scrub(text))

    return scrub_all
