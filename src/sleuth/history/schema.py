"""The schema version the store's queries are written for.

Its own module so that the store (which must stay cheap to import) and the
migrations (which load SQLAlchemy, and whose steps reach this version) share
it without importing each other.
"""

from __future__ import annotations

SCHEMA_VERSION = 6
