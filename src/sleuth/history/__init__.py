"""The run history: every run stored, so a failure can say when it last worked.

SQLite under the suite's ``.sleuth/`` by default, PostgreSQL for a team
(``--history postgresql://...``). Setting values are never stored, only keyed
fingerprints of them. Importing this package is cheap; ``store`` (SQLAlchemy)
loads when the history is first read or written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sleuth.history.options import HistoryOptions, Retention, resolve_history

if TYPE_CHECKING:
    from sleuth.history.recorder import RunHistory

__all__ = ["HistoryOptions", "Retention", "RunHistory", "resolve_history"]


def __getattr__(name: str) -> Any:
    # The recorder (with the model and the timeline) loads only for a run
    # that records: ``--no-history`` and xdist's workers read the options alone.
    if name == "RunHistory":
        from sleuth.history.recorder import RunHistory

        return RunHistory
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
