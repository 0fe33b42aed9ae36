"""The version, in one place: pyproject.toml reads it from here (hatch)."""

from __future__ import annotations

__version__ = "0.1.0"
