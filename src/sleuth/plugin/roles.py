"""Which part of a pytest-xdist run this process plays: worker, controller, or
neither. Asked at configure time by every run, so it imports nothing of
xdist's or of ``distributed.py`` (which loads only under xdist)."""

from __future__ import annotations

import pytest

from sleuth.errors import ConfigError


def is_worker(config: pytest.Config) -> bool:
    """Is this process an xdist worker (it runs tests for a controller)?"""
    return hasattr(config, "workerinput")


def is_controller(config: pytest.Config) -> bool:
    """Does this process hand its tests to xdist workers (``-n 2``, ``--tx``)?"""
    return not is_worker(config) and getattr(config.option, "dist", "no") != "no"


def refuse_each(config: pytest.Config) -> None:
    """``--dist each`` runs every test on every worker: one run of sleuth keeps
    one result per probe, and which worker's it would be is no one's choice.

    Raises:
        ConfigError: saying what to run instead.
    """
    if getattr(config.option, "dist", "no") == "each":
        raise ConfigError(
            "--dist each runs every probe on every worker, and a run keeps one "
            "result per probe: the others' would be lost. To probe from several "
            "places, run sleuth there as agents, one history for all "
            "(docs/agents.md); to spread the probes over workers, use "
            "--dist load, loadgroup or worksteal (docs/xdist.md)"
        )
