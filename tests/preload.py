"""Modules loaded once, before any in-process pytester run.

pytester's in-process runs put ``sys.modules`` back as they found it, so a
module first imported inside such a run is imported again, as a second copy,
by the next one. Libraries with C parts or registries do not survive being
doubled: PyYAML's C parser keeps the first copy's node classes, psycopg's
binary module raises the first copy's exception classes, cryptography's Rust
bindings refuse the second copy's curve objects (so ``except`` on the
second copy's misses them), aiohttp's C response parser raises the first copy's
HttpProcessingError, which the second copy's client then cannot read (its
words lost), and SQLAlchemy's dialect and inspection registries lose track. sleuth's run modules too: doubled, the second of two in-process
runs lost its probes' HTTP evidence (the full suite hid it, by importing them
in an earlier test module; a file run alone, or under xdist, did not). Loaded
once here, they stay.
"""

from __future__ import annotations

import contextlib
import http.client  # noqa: F401 (the class sleuth/clients hooks)

import aiohttp  # noqa: F401
import cryptography.hazmat.primitives.asymmetric.ec
import cryptography.hazmat.primitives.hashes
import cryptography.hazmat.primitives.serialization
import cryptography.x509.oid  # noqa: F401
import requests  # noqa: F401 (doubled, its sessions refuse its first cookie jars)
import sqlalchemy.dialects.sqlite
import urllib3  # noqa: F401
import yaml  # noqa: F401

import sleuth.clients.aiohttp_hook  # (the hooks the run installs)
import sleuth.clients.httpx_hook
import sleuth.clients.psycopg_hook
import sleuth.clients.redis_hook
import sleuth.clients.stdlib
import sleuth.http.client
import sleuth.http.sync
import sleuth.plugin.session  # (the plugin's run modules: engine, context, ...)
import sleuth.settings.app  # (appfunction's isinstance: one AppSource class)
import sleuth.settings.appfunction
import sleuth.settings.aws
import sleuth.settings.model  # noqa: F401 (rows' isinstance: one ModelSource class)

with contextlib.suppress(ImportError):  # drivers are extras
    import psycopg  # noqa: F401
    import pydantic_settings  # noqa: F401 (pydantic-core, for the model source)
    import sqlalchemy.dialects.postgresql.psycopg  # noqa: F401
