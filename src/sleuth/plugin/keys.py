"""What the modules of the pytest side share to find the run and its fixture.

The hooks (``sleuth.plugin``), the session and the probe-table items all reach
the run's :class:`SleuthSession` through ``config.stash``, as pytest's junitxml
reaches its ``LogXML``. The key lives here, below all three, so that none of
them imports another to find it (they once did, through function-level imports
that hid a loop).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from sleuth.plugin.session import SleuthSession  # noqa: F401 (session_key's type)

session_key = pytest.StashKey["SleuthSession"]()

# The module that defines the ``target`` fixture (sleuth/plugin/__init__.py).
TARGET_FIXTURE_MODULE = "sleuth.plugin"


def is_target_fixture(fixturedef: pytest.FixtureDef[Any]) -> bool:
    """Is this sleuth's ``target`` fixture (not a suite's override of it)?"""
    func = fixturedef.func
    return (
        getattr(func, "__module__", None) == TARGET_FIXTURE_MODULE
        and func.__name__ == "target"
    )
