"""Skips for what a machine lacks turn into failures where CI requires it all."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.required import REQUIRE_SERVICES_ENV
from tests.workerproc import started_worker


@pytest.fixture
def one_core() -> Iterator[None]:
    """This thread confined to one core, as on a one-core machine."""
    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("no CPU affinity on this platform")
    cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cores)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, cores)


def test_on_one_core_the_http_worker_tests_skip(one_core, monkeypatch):
    monkeypatch.delenv(REQUIRE_SERVICES_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="one core: sleuth runs without"):
        started_worker().__enter__()


def test_on_one_core_the_http_worker_tests_fail_where_services_are_required(
    one_core, monkeypatch
):
    monkeypatch.setenv(REQUIRE_SERVICES_ENV, "1")
    with pytest.raises(pytest.fail.Exception) as failed:
        started_worker().__enter__()
    assert str(failed.value) == (
        "one core: sleuth runs without an HTTP worker here, "
        "and SLEUTH_REQUIRE_SERVICES=1 forbids skipping"
    )
