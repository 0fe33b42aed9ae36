"""What ``sleuth init`` says when it cannot write a suite."""

from __future__ import annotations

from sleuth.errors import SleuthError


class InitError(SleuthError):
    """A spec, settings model or file ``sleuth init`` cannot use; the message says
    what, where and what to do."""
