"""The version, in one place: pyproject.toml reads it from here (hatch)."""

from __future__ import annotations

__version__ = "0.1.0"
# What sleuth's requests say they are, so that a target's owners can tell
# probes from their users.
USER_AGENT = f"sleuth/{__version__}"
