"""One thread at a time through the imports sleuth makes while probes run.

CPython 3.11 can fail an import when two threads import modules for the first
time at once (seen in CI as ``KeyError: 'encodings.unicode_escape'``, and as a
half-initialised module handed to a probe). sleuth loads the HTTP stack, probe
kinds, client libraries, settings sources and the application's settings
function lazily, often from probe threads; each of those goes through ``load``
(or holds ``LOCK``), so they never overlap one another. A probe body's own
imports are its own.
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType

# Reentrant: a module loaded through ``load`` may itself ``load`` another.
LOCK = threading.RLock()


def load(name: str) -> ModuleType:
    """``importlib.import_module(name)``, one thread at a time."""
    with LOCK:
        return importlib.import_module(name)
