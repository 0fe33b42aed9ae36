"""sleuth: probe suites for live production systems, inside pytest.

Importing sleuth is cheap: client libraries load when a probe first needs them.
(PYTEST_DONT_REWRITE: ``sleuth run`` imports this package before pytest starts;
it holds no test asserts to rewrite.)
"""

from __future__ import annotations

from sleuth.errors import (
    CheckFailed,
    ConfigError,
    MissingDriver,
    ProbeError,
    ProbeTimeout,
    SleuthError,
    TargetUnreachable,
    WriteRefused,
)


def __getattr__(name: str) -> object:
    # Loaded on first use: the plugin imports this package in every pytest run.
    if name == "__version__":
        from sleuth._version import __version__

        return __version__
    if name in ("Secret", "secret"):
        from sleuth import redact

        return getattr(redact, name)
    raise AttributeError(f"module 'sleuth' has no attribute {name!r}")


__all__ = [
    "CheckFailed",
    "ConfigError",
    "MissingDriver",
    "ProbeError",
    "ProbeTimeout",
    "Secret",
    "SleuthError",
    "TargetUnreachable",
    "WriteRefused",
    "secret",
]
