"""Exceptions sleuth raises, and what each means for the person reading it.

The tree::

    SleuthError                   base class; never raised itself
    ├─ ConfigError                bad option, env var, sleuth.yaml or table -> exit 4
    ├─ MissingDriver              an optional extra is not installed
    ├─ WriteRefused               a probe tried to write without permission
    ├─ SleuthFault                sleuth failed itself (its HTTP worker), not the target
    ├─ BudgetSpent                the run's budget ran out before the probe started
    ├─ StoreError                 the history store cannot be used as it is
    ├─ HistoryUnavailable         ``sleuth history`` / ``diff`` found no history to read
    └─ ProbeError                 the probe ran; the target is not healthy
       ├─ TargetUnreachable       DNS, connect, TLS, reset, auth: no answer
       │  └─ ProbeTimeout         no answer before the deadline
       └─ CheckFailed             an answer, but the wrong one

Messages follow one recipe: what failed, the target (redacted), what was seen,
what was expected, where a setting came from, and what to do next.
"""

from __future__ import annotations

# Type checkers take it as True; importing typing would cost ``import sleuth`` 8 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from sleuth._evidence import Category

__all__ = [
    "BudgetSpent",
    "CheckFailed",
    "ConfigError",
    "HistoryUnavailable",
    "MissingDriver",
    "ProbeError",
    "ProbeTimeout",
    "SleuthError",
    "SleuthFault",
    "StoreError",
    "TargetUnreachable",
    "WriteRefused",
]


class SleuthError(Exception):
    """Base class of every error sleuth raises on purpose."""


class ConfigError(SleuthError):
    """The configuration is wrong: a file, an option, an environment variable.

    ``where`` names the origin ("sleuth.yaml line 4", "SLEUTH_TIMEOUT").
    """

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where


class MissingDriver(SleuthError):
    """A probe needs a client library that is not installed."""

    def __init__(self, *, kind: str, package: str, extra: str) -> None:
        super().__init__(
            f"The {kind} probe needs the '{package}' package. "
            f"Install it with: pip install 'sleuth[{extra}]'"
        )
        self.kind = kind
        self.package = package


class WriteRefused(SleuthError):
    """A probe asked to change the target while the run is read-only."""

    def __init__(self, message: str, *, method: str, url: str) -> None:
        super().__init__(message)
        self.method = method
        self.url = url


class SleuthFault(SleuthError):
    """sleuth itself failed, not the target: its HTTP worker process stopped.

    Category ``sleuth`` in every report, and ranked as sleuth's own cause,
    never as a fault of the host the request was for.
    """

    category: Category = "sleuth"


class BudgetSpent(SleuthError):
    """The run's budget (``--budget``) ran out before the probe started.

    The probe never ran, so nothing is known of the target: category
    ``budget`` in every report, never ranked as a fault of the target.
    """

    category = "budget"


class StoreError(SleuthError):
    """The history store cannot be used as it is: a newer schema, a missing driver."""


class HistoryUnavailable(SleuthError):
    """``sleuth history`` or ``sleuth diff`` cannot read a history.

    None found, none yet, or the store is unreachable; the message says where
    it looked and what to do.
    """


class ProbeError(SleuthError):
    """The probe ran and the target did not answer as it should.

    ``category`` is a short stable word for reports: ``dns``, ``refused``,
    ``timeout``, ``tls``, ``reset``, ``auth``, ``http-5xx``, ``other``...
    (``sleuth._evidence.Category`` lists them).
    """

    category: Category = "other"

    def __init__(
        self,
        message: str,
        *,
        target: str | None = None,
        category: Category | None = None,
    ) -> None:
        super().__init__(message)
        self.target = target
        if category is not None:
            self.category = category


class TargetUnreachable(ProbeError):
    """No answer at all: the name did not resolve, the connection failed."""


class ProbeTimeout(TargetUnreachable):
    """The probe's deadline passed while it was waiting on something."""

    category: Category = "timeout"

    def __init__(
        self, message: str, *, target: str | None = None, waiting_on: str | None = None
    ) -> None:
        super().__init__(message, target=target)
        self.waiting_on = waiting_on


class CheckFailed(ProbeError):
    """The target answered, but the answer is not what was expected."""

    category: Category = "failed"
