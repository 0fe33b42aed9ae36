"""Shares, sizes and limits as people write them in thresholds."""

from __future__ import annotations

import pytest

from sleuth.errors import ConfigError
from sleuth.suite.units import (
    Limit,
    format_bytes,
    parse_bytes,
    parse_limit,
    parse_percent,
)


@pytest.mark.parametrize(
    ("value", "share"),
    [
        pytest.param("80%", 0.8, id="percent"),
        pytest.param(" 12.5 % ", 0.125, id="spaces-fraction"),
        pytest.param(0.8, 0.8, id="float"),
        pytest.param("0.8", 0.8, id="float-string"),
        pytest.param(1, 1.0, id="one"),
        pytest.param("100%", 1.0, id="all"),
    ],
)
def test_percent_reads_shares(value, share):
    assert parse_percent(value, where="here", what="max_x") == pytest.approx(share)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("150%", id="over-100"),
        pytest.param(0, id="zero"),
        pytest.param("0%", id="zero-percent"),
        pytest.param(80, id="whole-number"),
        pytest.param("lots", id="word"),
        pytest.param(True, id="bool"),
    ],
)
def test_percent_rejects_with_example(value):
    with pytest.raises(ConfigError) as caught:
        parse_percent(value, where="probes/db.yaml line 3", what="max_x")
    assert str(caught.value) == (
        f"probes/db.yaml line 3: invalid max_x {value!r}: expected a share above 0 "
        f"and at most 100%, e.g. 80% or 0.8"
    )


@pytest.mark.parametrize(
    ("value", "size"),
    [
        pytest.param(1048576, 1048576, id="int"),
        pytest.param("512MB", 512 * 1024**2, id="mb"),
        pytest.param("512 mb", 512 * 1024**2, id="lower-space"),
        pytest.param("1.5G", int(1.5 * 1024**3), id="g"),
        pytest.param("64KiB", 64 * 1024, id="kib"),
        pytest.param("100b", 100, id="bytes"),
        pytest.param("2tb", 2 * 1024**4, id="tb"),
    ],
)
def test_bytes_are_1024_based(value, size):
    assert parse_bytes(value, where="here", what="max_memory_used") == size


@pytest.mark.parametrize("value", ["5 apples", "", 0, "-1MB", 1.5, None])
def test_bytes_rejects_with_example(value):
    with pytest.raises(ConfigError) as caught:
        parse_bytes(value, where="here", what="max_memory_used")
    assert str(caught.value) == (
        f"here: invalid max_memory_used {value!r}: expected a size in bytes above "
        f"zero, e.g. 512MB, 1.5GB or 1048576"
    )


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (12, "12 bytes"),
        (1024, "1 KB"),
        (1016928, "993.1 KB"),
        (512 * 1024**2, "512 MB"),
        (int(1.5 * 1024**3), "1.5 GB"),
    ],
)
def test_format_bytes(amount, text):
    assert format_bytes(amount) == text


@pytest.mark.parametrize(
    ("value", "unit", "limit"),
    [
        pytest.param("80%", "count", Limit(share=0.8), id="percent"),
        pytest.param(0.8, "count", Limit(share=0.8), id="fraction"),
        pytest.param("0.5", "count", Limit(share=0.5), id="fraction-string"),
        pytest.param(90, "count", Limit(amount=90), id="count"),
        pytest.param("90", "count", Limit(amount=90), id="count-string"),
        pytest.param(1, "count", Limit(amount=1), id="one-is-a-count"),
        pytest.param("10k", "count", Limit(amount=10_000), id="count-k"),
        pytest.param("512MB", "bytes", Limit(amount=512 * 1024**2, unit="bytes")),
        pytest.param("75%", "bytes", Limit(share=0.75, unit="bytes"), id="share-bytes"),
    ],
)
def test_limit_is_a_share_or_an_amount(value, unit, limit):
    assert parse_limit(value, where="here", what="max_x", unit=unit) == limit


def test_limit_given_as_limit_is_kept():
    limit = Limit(share=0.5)
    assert parse_limit(limit, where="here", what="max_x") is limit


@pytest.mark.parametrize(
    ("value", "unit", "example"),
    [
        pytest.param("lots", "count", "90", id="word"),
        pytest.param(0, "count", "90", id="zero"),
        pytest.param("512MB", "count", "90", id="size-for-a-count"),
        pytest.param(2.5, "count", "90", id="float-over-one"),
        pytest.param("many", "bytes", "512MB", id="word-bytes"),
    ],
)
def test_limit_rejects_naming_both_forms(value, unit, example):
    with pytest.raises(ConfigError) as caught:
        parse_limit(value, where="here", what="max_x", unit=unit)
    message = str(caught.value)
    if isinstance(value, float):  # read as a share, and a share is at most 1
        assert "expected a share above 0 and at most 100%" in message
        return
    assert message == (
        f"here: invalid max_x {value!r}: expected a share of the server's maximum, "
        f"e.g. 80% or 0.8, or an amount above zero, e.g. {example}"
    )


def test_limit_resolves_against_the_maximum():
    assert Limit(share=0.8).of(100) == pytest.approx(80)
    assert Limit(amount=90).of(100) == 90
    assert Limit(amount=90).of(None) == 90
    assert Limit(share=0.8).of(None) is None
    assert Limit(share=0.8).of(0) is None


@pytest.mark.parametrize(
    ("limit", "text"),
    [
        (Limit(share=0.8), "80%"),
        (Limit(share=0.125), "12.5%"),
        (Limit(amount=90), "90"),
        (Limit(amount=512 * 1024**2, unit="bytes"), "512 MB"),
    ],
)
def test_limit_reads_as_written(limit, text):
    assert str(limit) == text
