"""The run history: every run stored, so a failure can say when it last worked.

SQLite under the suite's ``.sleuth/`` by default, PostgreSQL for a team
(``--history postgresql://...``). Setting values are never stored, only keyed
fingerprints of them. Importing this package is cheap; ``store`` (SQLAlchemy)
loads when the history is first read or written.
"""

from __future__ import annotations

from sleuth.history.options import HistoryOptions, Retention, resolve_history
from sleuth.history.recorder import RunHistory

__all__ = ["HistoryOptions", "Retention", "RunHistory", "resolve_history"]
