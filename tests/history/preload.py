"""Modules the history tests load before any in-process pytester run.

pytester's in-process runs put ``sys.modules`` back as they found it, so a
module first imported inside such a run is imported again, as a second copy,
by the next one; SQLAlchemy's registries do not survive being doubled (its
PostgreSQL dialect warns, and its inspection registry loses track). Loaded
once here, they stay.
"""

from __future__ import annotations

import contextlib

import sqlalchemy.dialects.sqlite

import sleuth.history.migrations
import sleuth.history.store
import sleuth.history.views  # noqa: F401

with contextlib.suppress(ImportError):  # psycopg is an extra
    import sqlalchemy.dialects.postgresql.psycopg  # noqa: F401
