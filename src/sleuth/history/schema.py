"""The store's tables as they are now (schema version ``SCHEMA_VERSION``).

Queries are written against these. How a store gets here from an older
version is ``migrations.py``; a change to a table here needs a migration there.
Table names carry a ``sleuth_`` prefix so a team can keep them in a database
that holds other things.
"""

from __future__ import annotations

import sqlalchemy as sa

SCHEMA_VERSION = 2

metadata = sa.MetaData()

meta = sa.Table(
    "sleuth_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

runs = sa.Table(
    "sleuth_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("target", sa.String(200), nullable=False),
    sa.Column("base_url", sa.Text),
    sa.Column("agent", sa.String(200), nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False),  # naive UTC
    sa.Column("duration_s", sa.Float, nullable=False),
    sa.Column("sleuth_version", sa.String(64), nullable=False),
    sa.Column("git_revision", sa.String(64)),
    sa.Column("exit_status", sa.Integer, nullable=False),
    sa.Column("selection", sa.Text, nullable=False),  # a JSON list of strings
)

results = sa.Table(
    "sleuth_results",
    metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("sleuth_runs.id"), primary_key=True),
    sa.Column("probe_id", sa.Text, primary_key=True),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("duration_s", sa.Float, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("evidence", sa.Text, nullable=False),  # JSON, scrubbed
    # v2: the failure category (dns, refused, timeout, http-5xx, ...)
    sa.Column("category", sa.String(32), nullable=False, server_default=""),
)

settings = sa.Table(
    "sleuth_settings",
    metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("sleuth_runs.id"), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("source", sa.Text),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("fingerprint", sa.String(64)),  # HMAC-SHA256, hex; never the value
)

# v2: a failure's "last passed" line and the timelines read one probe or one
# setting across runs; without these every such read scans every result.
sa.Index("ix_sleuth_results_probe", results.c.probe_id, results.c.run_id)
sa.Index("ix_sleuth_settings_name", settings.c.name, settings.c.run_id)
sa.Index("ix_sleuth_runs_target", runs.c.target, runs.c.id)
