"""Skips that CI turns into failures: ``SLEUTH_REQUIRE_SERVICES=1`` forbids them.

A test that needs something this machine may lack (a service, a server
program, a second core) skips with the reason; ``.ci/run`` sets the variable,
so CI cannot pass by skipping.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

REQUIRE_SERVICES_ENV = "SLEUTH_REQUIRE_SERVICES"


def skip_unless_required(message: str) -> NoReturn:
    """Skip saying ``message``; under ``SLEUTH_REQUIRE_SERVICES=1``, fail instead."""
    __tracebackhide__ = True
    if os.environ.get(REQUIRE_SERVICES_ENV) == "1":
        pytest.fail(f"{message}, and {REQUIRE_SERVICES_ENV}=1 forbids skipping")
    pytest.skip(message)
