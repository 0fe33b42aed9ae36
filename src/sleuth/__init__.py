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

# Type checkers take it as True (importing typing would cost 8 ms here).
TYPE_CHECKING = False
if TYPE_CHECKING:  # loaded on first use below; named here for type checkers
    from sleuth.http.response import Response
    from sleuth.redact import Secret, secret
    from sleuth.target import Target
del TYPE_CHECKING  # not part of the API

# Loaded on first use: name -> the module that defines it.
_LAZY = {
    "Response": "sleuth.http.response",
    "Secret": "sleuth.redact",
    "Target": "sleuth.target",
    "secret": "sleuth.redact",
}


def __getattr__(name: str) -> object:
    # Loaded on first use: the plugin imports this package in every pytest run.
    if name == "__version__":
        from sleuth._version import __version__

        return __version__
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sleuth' has no attribute {name!r}")


__all__ = [
    "CheckFailed",
    "ConfigError",
    "MissingDriver",
    "ProbeError",
    "ProbeTimeout",
    "Response",
    "Secret",
    "SleuthError",
    "Target",
    "TargetUnreachable",
    "WriteRefused",
    "secret",
]
