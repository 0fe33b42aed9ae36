"""The run history: every run stored, so a failure can say when it last worked.

SQLite under the suite's ``.sleuth/`` by default, PostgreSQL for a team
(``--history postgresql://...``). Setting values are never stored, only keyed
fingerprints of them. Importing this package is cheap; ``store`` (SQLAlchemy)
loads when the history is first read or written.
"""

from __future__ import annotations

# Not the recorder (``sleuth.history.recorder.RunHistory``, with the model and
# the timeline): a run without a history (``--no-history``, an xdist worker)
# reads these options and loads nothing more of the history.
from sleuth.history.options import HistoryOptions, Retention, resolve_history

__all__ = ["HistoryOptions", "Retention", "resolve_history"]
